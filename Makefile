# The lab's two commands: `make lab` and `make test`. Both create .venv when missing and are
# quick when it is already set up (the install step is skipped while pyproject.toml is unchanged).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch (an unpinned torch pulls a multi-GB CUDA build).
TORCH := torch==2.13.0
PORT ?= 8888
# JupyterLab refuses to run as root without --allow-root (containers, CI).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test install bench clean site

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install "$(TORCH)"
	$(BIN)/python -m pip install -e ".[test,bench,docs]"
	$(BIN)/defocus-lab warmup
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --config=jupyter_server_config.py --notebook-dir=notebooks --port=$(PORT) $(ROOT_FLAG)

# The notebook stages (nbval, then the browser) run the same notebooks top to bottom: they share
# a results cache made fresh for each run (defocus_lab/_cache.py), so the browser's run-all reads
# the tables nbval computed (and nbval the Table I row the paper-number tests computed, the one
# unit test that hands its result on: tests/test_paper_numbers.py); nbval also carries the figure probe (tests/figure_probe.py)
# and keeps the executed notebooks for the site, built before the browser stage tests it. Every
# stage runs under a pinned memory budget (tests/conftest.py for the tests/ stages).
RESULTS_CACHE := .pytest_cache/defocus-lab-results
# nbval's run of the notebooks, kept with its outputs for the site (tests/executed_notebooks.py):
# `make site` after `make test` executes nothing again.
EXECUTED := build/executed

test: $(STAMP)
	rm -rf $(RESULTS_CACHE)
	DEFOCUS_LAB_RESULTS_CACHE=$(CURDIR)/$(RESULTS_CACHE) $(BIN)/python -m pytest -m "not browser" tests
	$(BIN)/python -m pytest --doctest-modules defocus_lab
	DEFOCUS_LAB_MEMORY_GB=4 DEFOCUS_LAB_RESULTS_CACHE=$(CURDIR)/$(RESULTS_CACHE) PYTHONPATH=tests \
		DEFOCUS_LAB_EXECUTED_DIR=$(CURDIR)/$(EXECUTED) \
		$(BIN)/python -m pytest -p figure_probe -p executed_notebooks --nbval-lax -p no:warnings notebooks
	DEFOCUS_LAB_EXECUTED_DIR=$(CURDIR)/$(EXECUTED) $(BIN)/python docs/build_site.py
	DEFOCUS_LAB_RESULTS_CACHE=$(CURDIR)/$(RESULTS_CACHE) $(BIN)/python -m pytest -m browser tests/browser

# The static site: build/site/index.html (docs/build_site.py). Takes the notebooks executed by the
# last `make test` when current (same cells, package code, data setting), executes them otherwise (350 s on 2 cores with the data).
site: $(STAMP)
	DEFOCUS_LAB_EXECUTED_DIR=$(CURDIR)/$(EXECUTED) $(BIN)/python docs/build_site.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_propagation.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts build
