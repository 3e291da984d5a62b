# The whole set-up from a fresh clone:   make test   |   make demo
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Optional: an index to take torch from, e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

.PHONY: help test test-fast demo lint bench clean
.DEFAULT_GOAL := help

help:
	@echo "make test   create $(VENV) if missing, install graphnn[test], run ruff and the test suite"
	@echo "make test-fast  the same without the slow tests (whole commands, examples, benchmarks)"
	@echo "make demo   create $(VENV) if missing, install graphnn[examples], run the main job"
	@echo "make bench  install the peers (deepstruct with --no-deps) and run the benchmarks"
	@echo "make clean  remove $(VENV) and build/test leftovers"

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first.  Plain `pip install torch` on a machine without a GPU can download a multi-GB
# CUDA build; when pip can take a CPU build without downloading (a local wheel in its
# find-links), take that one.  Otherwise torch is resolved normally, from TORCH_INDEX if given.
$(VENV)/.torch: | $(PY)
	@if [ -n "$(TORCH_INDEX)" ]; then \
	  $(PIP) install --index-url "$(TORCH_INDEX)" 'torch>=2.11'; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
	  echo "GPU found: torch is resolved from the index"; \
	elif $(PIP) install --quiet --no-index --no-deps 'torch>=2.11' >/dev/null 2>&1; then \
	  echo "took a local CPU build of torch $$($(PY) -c 'from importlib.metadata import version; print(version("torch"))')"; \
	else \
	  echo "no local CPU build of torch: it is resolved from the index"; \
	fi
	@touch $@

$(VENV)/.installed-%: pyproject.toml $(VENV)/.torch
	$(PIP) install --quiet --disable-pip-version-check -e '.[$*]'
	@touch $@

# deepstruct 0.10 pins networkx<3, numpy<2 and torch<2 but runs on today's versions, so it is
# installed without its pins, beside graphnn: the tests check graphnn.compat against it and the
# benchmarks time it side by side.
$(VENV)/.peers: $(VENV)/.installed-test
	$(PIP) install --quiet --disable-pip-version-check --no-deps 'deepstruct==0.10.0'
	@touch $@

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# pytest exits with 5 when it collects no tests; like every non-zero status it fails the target.
# GRAPHNN_REQUIRE_PEERS=1: a peer the tests compare against must import (no silent skips).
test: lint $(VENV)/.peers
	GRAPHNN_REQUIRE_PEERS=1 $(PY) -m pytest

# For development: every test but those marked slow (pytest -m "not slow"); CI runs `make test`.
test-fast: lint $(VENV)/.peers
	GRAPHNN_REQUIRE_PEERS=1 $(PY) -m pytest -m "not slow"

demo: $(VENV)/.installed-examples
	$(PY) -m graphnn demo --out demo-output

# spconv's CPU build (the sparse-convolution peer) needs cumm < 0.8; it is a benchmark peer only.
$(VENV)/.bench-peers: $(VENV)/.peers
	$(PIP) install --quiet --disable-pip-version-check -e '.[bench]'
	@touch $@

# One runner, python -m benchmarks: every benchmarks/bench_*.py in its own process, then one
# ratio table; it gives bench_voxelize OMP_NUM_THREADS=1 unless the environment sets it.
bench: $(VENV)/.bench-peers
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis demo-output
