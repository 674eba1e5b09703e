# Two commands on a fresh machine: `make demo` and `make test`. Both install everything
# they need from the lockfile first (uv, bytecode compiled).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_COMPILE_BYTECODE := 1

.PHONY: env manifest demo test lint format clean

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --compile-bytecode --reinstall-package nrr-pipeline
	@touch $@

env: $(VENV)/.installed

# The dbt manifest Dagster loads the dbt assets from (target/ is never committed).
manifest: env
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .

demo: manifest
	$(BIN)/nrr demo

lint: env
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests

test: manifest lint
	$(BIN)/pytest

format: env
	$(BIN)/ruff format pipeline tests
	$(BIN)/ruff check --fix pipeline tests

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs .nrr extracts
