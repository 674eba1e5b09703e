# Two commands on a fresh machine: `make demo` and `make test`. Both install everything
# they need from the lockfile first (uv, bytecode compiled).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The Spark equivalence test's own environment (the `spark` extra): pyspark never enters
# .venv, so Great Expectations never imports it in a pipeline run.
SPARK_VENV := .venv-spark
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_COMPILE_BYTECODE := 1
export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: uv env spark-env manifest browser demo ui test test-fast test-spark bench lint format clean

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv

# The environment exactly as uv.lock says, without the spark extra (quick when nothing
# changed; uv sync removes what the lockfile's selection does not hold, pyspark included).
env: uv
	$(UV) sync --frozen --compile-bytecode

spark-env: uv
	UV_PROJECT_ENVIRONMENT=$(SPARK_VENV) $(UV) sync --frozen --compile-bytecode --extra spark

# The dbt manifest Dagster loads the dbt assets from (target/ is never committed). Its saved
# parse (target/partial_parse.msgpack) is copied into every new home, and dbt reuses it there
# when the profile matches: nrr-dbt opens the warehouse by this file name (pipeline/dbt_child.py).
manifest: env
	cd dbt_project && NRR_WAREHOUSE_PATH=warehouse.duckdb ../$(BIN)/dbt parse --quiet --profiles-dir .

# Debian's Chromium for the report page test (the test skips, saying why, without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "Chromium could not be installed: the page test will be skipped."

demo: manifest
	@$(BIN)/nrr demo

# The Dagster UI and daemon (the 02:00 schedule) on ./.nrr's instance, on 127.0.0.1:3000.
ui: manifest
	$(BIN)/nrr ui

lint: env
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/ruff format --check pipeline tests benchmarks

# The whole suite, the Spark equivalence test included (Java 17 is on the machine). Each
# pipeline run keeps about one core busy and waits on subprocesses part of the time, so the
# suite runs on three pytest workers over the two cores, one test
# file per worker at a time (module fixtures stay shared); the Spark test runs beside them
# in its own environment (its JVM mostly waits on its own) and its log follows.
test: manifest lint browser spark-env
	@$(SPARK_VENV)/bin/pytest -m spark -p no:cacheprovider > .spark-test.log 2>&1 & spark=$$!; \
	$(BIN)/pytest -n 3 --dist loadfile --durations=15; suite=$$?; \
	wait $$spark; spark_status=$$?; \
	echo "--- Spark equivalence test (make test-spark) ---"; cat .spark-test.log; \
	test $$suite -eq 0 -a $$spark_status -eq 0

test-spark: manifest spark-env
	$(SPARK_VENV)/bin/pytest -m spark -p no:cacheprovider

# The unit tests only (no pipeline run, no dbt build): under a minute.
test-fast: env
	$(BIN)/pytest -m "not integration and not slow and not spark" -n 2 -p no:cacheprovider -q

# 10k, 100k and 1M customers over 5 years; writes .bench/results.json (see docs/performance.md).
bench: manifest
	$(BIN)/python -m benchmarks.bench --workdir .bench

format: env
	$(BIN)/ruff format pipeline tests benchmarks
	$(BIN)/ruff check --fix pipeline tests benchmarks

clean:
	rm -rf $(VENV) $(SPARK_VENV) .spark-test.log dbt_project/target dbt_project/logs .nrr extracts .bench metastore_db spark-warehouse derby.log
