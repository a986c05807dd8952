# Quick start from a fresh clone, nothing activated:
#   make demo   the main job on the embedded digits (report in $(DEMO_DIR))
#   make test   the test suite (what .ci/run runs)
# Each creates $(VENV) with $(PYTHON) or reuses it, and installs the pins of
# requirements.txt and the package into it when requirements.txt or
# pyproject.toml changed since the last install; otherwise pip does not run.

PYTHON ?= python3
VENV ?= .venv
DEMO_DIR ?= /tmp/asvit_pipeline

# TensorFlow 2.20 has wheels for Python 3.9-3.13; the pinned matplotlib and
# scikit-learn need 3.11 or newer.
SUPPORTED_PYTHONS := 3.11 3.12 3.13

INSTALLED := $(VENV)/.installed
# The interpreter $(VENV) was created from, or is about to be.
BASE_PYTHON = $(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,$(PYTHON))
BASE_VERSION = $(shell $(BASE_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)

.PHONY: demo test

demo: $(INSTALLED)
	$(VENV)/bin/python -m asvit_tf.pipeline --output_dir=$(DEMO_DIR)

test: $(INSTALLED)
	$(VENV)/bin/python -m pytest -q tests

# One line when the interpreter cannot run the pins.
PYTHON_NEEDED = asvit-tf needs Python $(firstword $(SUPPORTED_PYTHONS))-$(lastword $(SUPPORTED_PYTHONS)); $(BASE_PYTHON) is $(or $(BASE_VERSION),not found). $(if $(wildcard $(VENV)/bin/python),Remove $(VENV) and run,Run) again with PYTHON=python$(firstword $(SUPPORTED_PYTHONS)) or a path to a supported python

$(INSTALLED): requirements.txt pyproject.toml
	$(if $(filter $(SUPPORTED_PYTHONS),$(BASE_VERSION)),,$(error $(PYTHON_NEEDED)))
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -r requirements.txt
	$(VENV)/bin/python -m pip install --no-deps -e .
	touch $@
