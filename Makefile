# interestlab: `make` lists the targets. The README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
AS_OF ?= 2026-11-15
CUSTOMERS ?= 20000
SEED ?= 42
export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-fast lint format ui lab bench docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

setup: $(BIN)/.installed ## create .venv with the pinned dependencies (constraints.txt)

demo: setup ## set up, generate the synthetic bank and run the whole pipeline on it
	$(BIN)/interestlab demo --customers $(CUSTOMERS) --seed $(SEED) --as-of $(AS_OF)

test: setup ## set up and run the whole test suite (incl. slow end-to-end tests)
	$(BIN)/python -m pytest

test-fast: setup ## run the tests without the slow end-to-end ones
	$(BIN)/python -m pytest -m "not slow"

lint: setup ## ruff lint + format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup ## format the code with ruff
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

ui: setup ## serve the MLflow UI for model-risk reviewers on 127.0.0.1:5000
	$(BIN)/interestlab ui

lab: setup ## open the project in JupyterLab with the project's kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --no-browser

bench: setup ## run the benchmarks at a small size (see bench/README.md for full size)
	$(BIN)/python bench/run_all.py --customers 20000

docs: setup ## regenerate docs/data-contract.md from the contract
	$(BIN)/interestlab contract --markdown > docs/data-contract.md

clean: ## remove generated data, runs and the MLflow store (keeps .venv)
	rm -rf data runs bench/out mlruns/mlflow.db mlruns/artifacts
