# ocrstack: one entry point for people and CI.
#   make serve   set up a virtualenv and serve OCR on 127.0.0.1:8080 (single mode, bundled models)
#   make test    run the whole test suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.ocrstack-installed
PACKAGES := synth ctpn crnn service

.PHONY: venv serve test test-fast lint images clean

$(STAMP): requirements/*.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements/dev.txt
	$(PIP) install --quiet --no-deps -r requirements/no-deps.txt
	# compat mode: a .pth entry per package folder, so `import crnn` finds the package and not the
	# same-named project folder when Python runs from the repository root.
	$(PIP) install --quiet --no-deps --config-settings editable_mode=compat $(addprefix -e ./,$(PACKAGES))
	touch $@

venv: $(STAMP)

serve: venv
	OCR_MODE=single OCR_HOST=127.0.0.1 OCR_PORT=8080 OCR_MODEL_DIR=$(CURDIR)/models $(VENV)/bin/ocr-service

test: venv
	$(VENV)/bin/pytest

test-fast: venv
	$(VENV)/bin/pytest -m "not slow"

images:
	docker/build --flavour cpu --standin

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build */build */*.egg-info
