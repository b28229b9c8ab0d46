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

.PHONY: lab test install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install "$(TORCH)"
	$(BIN)/python -m pip install -e ".[test,bench]"
	$(BIN)/defocus-lab warmup
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --config=jupyter_server_config.py --notebook-dir=notebooks --port=$(PORT) $(ROOT_FLAG)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not browser" tests
	$(BIN)/python -m pytest --doctest-modules defocus_lab
	DEFOCUS_LAB_MEMORY_GB=4 PYTHONPATH=tests $(BIN)/python -m pytest -p figure_probe --nbval-lax -p no:warnings notebooks
	$(BIN)/python -m pytest -m browser tests/browser

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_propagation.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
