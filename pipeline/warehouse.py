"""The working DuckDB warehouse: one connection helper, its memory limit, and the run's as-of.
No Dagster here: the steps in pipeline.defs, the CLI and publishing all use these."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import duckdb

from pipeline.landing import loaded_delivery
from pipeline.settings import Settings

# A tuning knob, not a report setting: it changes how fast, never what is computed. dbt's
# profile reads the same variable.
MEMORY_LIMIT_VARIABLE = "NRR_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


def duckdb_config() -> dict[str, str]:
    """DuckDB's own default memory limit is 80 % of the machine; beyond ours it spills to disk."""
    return {"memory_limit": os.environ.get(MEMORY_LIMIT_VARIABLE, DEFAULT_MEMORY_LIMIT)}


@contextmanager
def warehouse(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working warehouse, always closed: DuckDB has one writer per file."""
    settings.home.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(settings.warehouse_path),
        read_only=read_only,
        config=duckdb_config(),
    )
    try:
        yield con
    finally:
        con.close()


def loaded_delivery_date(con: duckdb.DuckDBPyConnection) -> date:
    """The delivery date of the extracts currently in the raw tables."""
    return loaded_delivery(con)[0]


def run_as_of(settings: Settings, con: duckdb.DuckDBPyConnection) -> date:
    """NRR_AS_OF when set, else the date of the loaded delivery."""
    return settings.as_of or loaded_delivery_date(con)
