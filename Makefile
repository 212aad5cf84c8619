# ocrstack: one entry point for people and CI.
#   make serve   set up a virtualenv and serve OCR on 127.0.0.1:8080 (single mode, bundled models)
#   make test    run the whole test suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.ocrstack-installed
PACKAGES := synth ctpn dbnet crnn service tests/support

.PHONY: venv serve test test-fast lint images bundle clean

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
	$(VENV)/bin/ocr-service  # the service's own defaults: mode single, 127.0.0.1:8080, this checkout's models/

# Two workers (tests/conftest.py says how the suite is split): CI's 2 cores, and the Molecule
# scenarios mostly wait. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: venv
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: venv
	$(VENV)/bin/pytest -m "not slow"

images:
	docker/build --flavour cpu --standin --lb

# One offline bundle for an air-gapped site (bundle/README.md): the images this machine has built,
# the models, the source, the controller's wheels and the collections, with a manifest.
#   make bundle [BUNDLE_DIR=dist/ocrstack-bundle-<release>] [BUNDLE_ARGS="--flavour cpu ..."]
BUNDLE_DIR ?= dist/ocrstack-bundle-$(shell tr -d '[:space:]' < VERSION)
bundle: venv
	$(PY) bundle/build --out $(BUNDLE_DIR) $(BUNDLE_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build dist */build */*.egg-info

# ansible-core 2.16 lane (CentOS 7 targets): a small separate venv for the syntax-check test.
VENV_ANSIBLE216 ?= .venv-ansible216
$(VENV_ANSIBLE216)/.installed: requirements/ansible-core-2.16.txt
	$(PYTHON) -m venv $(VENV_ANSIBLE216)
	$(VENV_ANSIBLE216)/bin/pip install --quiet -r requirements/ansible-core-2.16.txt
	touch $@

.PHONY: venv-ansible216 molecule-images
venv-ansible216: $(VENV_ANSIBLE216)/.installed

# Molecule platform images (built from the local debian:bookworm); the molecule tests build them too.
molecule-images:
	molecule/_images/build.sh
