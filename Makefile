# ocrstack: one entry point for people and CI.
#   make serve   set up a virtualenv and serve OCR on 127.0.0.1:8080 (single mode, bundled models)
#   make test    run the whole test suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.ocrstack-installed
PACKAGES := synth ctpn crnn service

.PHONY: venv serve test test-fast lint clean

$(STAMP): requirements/*.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements/dev.txt
	$(PIP) install --quiet --no-deps -r requirements/no-deps.txt
	$(PIP) install --quiet --no-deps $(addprefix -e ./,$(PACKAGES))
	touch $@

venv: $(STAMP)

serve: venv
	OCR_MODE=single OCR_HOST=127.0.0.1 OCR_PORT=8080 OCR_MODEL_DIR=$(CURDIR)/models $(VENV)/bin/ocr-service

test: venv
	$(PY) -m pytest

test-fast: venv
	$(PY) -m pytest -m "not slow"

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build */build */*.egg-info
