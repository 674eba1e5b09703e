"""Dagster resources: the run settings and the DuckDB warehouse."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from pipeline.landing import loaded_delivery
from pipeline.locking import acquire_home_lock, release_home_lock
from pipeline.settings import Settings, settings_from_record

# A tuning knob, not a report setting: it changes how fast, never what is computed. dbt's
# profile reads the same variable.
MEMORY_LIMIT_VARIABLE = "NRR_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


class NrrSettingsResource(dg.ConfigurableResource):
    """The NRR_* settings of this run (see README, "Settings"), as text: Settings.as_record
    and settings_from_record convert, so a new setting needs no change here beyond its field."""

    extracts_dir: str
    home: str
    reporting_currency: str = "USD"
    fiscal_year_start_month: str = "1"
    rollup: str = "ultimate_parent"
    quarantine_arr_threshold: str = "0"
    quarantine_unvalued_rows_threshold: str = "0"
    as_of: str = ""
    schedule_timezone: str = "UTC"
    earliest_date: str = ""
    future_tolerance_days: str = ""
    max_file_bytes: str = ""
    max_row_bytes: str = ""
    share_with: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "NrrSettingsResource":
        return cls(**settings.as_record())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Hold the home's run lock for the whole run: DuckDB has one writer per file."""
        acquire_home_lock(Path(self.home))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        release_home_lock(Path(self.home))

    def settings(self) -> Settings:
        return settings_from_record(self.model_dump())


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
