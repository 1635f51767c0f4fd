# sapiens2 — two commands on a fresh machine: `make test` and `make quickstart` (both install first).
PYTHON_BOOTSTRAP ?= python3.11
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=
ifndef CLONE_DIR
CLONE_DIR := $(shell mktemp -d -u /tmp/sapiens2-clone.XXXXXX)
endif

.PHONY: install test test-clean-clone quickstart equivalence clean-venv

install: $(STAMP)

# Order matters (see README "Install"): torch pair from local files -> build tools -> OpenMMLab stack
# -> mmpose without its unbuildable chumpy requirement -> xtcocotools compiled against numpy 2 -> our package.
$(STAMP): setup.py requirements/*.txt
	test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip<26"
	$(PIP) install -q -r requirements/torch.txt
	$(PIP) install -q -r requirements/build.txt
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/deploy.txt
	$(PIP) install -q --no-deps mmpose==1.3.2
	$(PY) -c "import xtcocotools.coco" 2>/dev/null || \
	    $(PIP) install -q --no-binary xtcocotools --no-build-isolation xtcocotools==1.14.3
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(PY) -c "import torch, torchvision, mmengine, mmpose.codecs, mmseg.evaluation, mmpretrain, xtcocotools.coco, sapiens2"
	touch $(STAMP)

# PYTHONPATH: the suite tests this checkout's package, whichever checkout the environment was installed from.
test: install
	PYTHONPATH=$(CURDIR) $(PY) -m pytest tests $(PYTEST_ARGS)

# The suite in a fresh clone of the committed tree with nothing beside it (what a user's `git clone` has), run with
# this checkout's environment (no second install). .ci/run uses it.
test-clean-clone: install
	git clone -q --no-hardlinks $(CURDIR) $(CLONE_DIR)
	cd $(CLONE_DIR) && PYTHONPATH=$(CLONE_DIR) $(abspath $(PY)) -m pytest tests $(PYTEST_ARGS); \
	    status=$$?; rm -rf $(CLONE_DIR); exit $$status

# Release-equivalence fixtures only (tests/data/official_equivalence).
equivalence: install
	PYTHONPATH=$(CURDIR) $(PY) -m pytest -q tests/test_official_equivalence.py

quickstart: install
	bash tools/quickstart.sh

clean-venv:
	rm -rf $(VENV)
