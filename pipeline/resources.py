"""Dagster resources: the run settings and the DuckDB warehouse."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from pipeline.landing import loaded_delivery
from pipeline.locking import acquire_home_lock, release_home_lock
from pipeline.settings import Settings

# A tuning knob, not a report setting: it changes how fast, never what is computed. dbt's
# profile reads the same variable.
MEMORY_LIMIT_VARIABLE = "NRR_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


class NrrSettingsResource(dg.ConfigurableResource):
    """The NRR_* settings of this run (see README, "Settings")."""

    extracts_dir: str
    home: str
    reporting_currency: str = "USD"
    fiscal_year_start_month: int = 1
    rollup: str = "ultimate_parent"
    quarantine_arr_threshold: str = "0"
    quarantine_unvalued_rows_threshold: int = 0
    as_of: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "NrrSettingsResource":
        return cls(
            extracts_dir=str(settings.extracts_dir.resolve()),
            home=str(settings.home.resolve()),
            reporting_currency=settings.reporting_currency,
            fiscal_year_start_month=settings.fiscal_year_start_month,
            rollup=settings.rollup,
            quarantine_arr_threshold=str(settings.quarantine_arr_threshold),
            quarantine_unvalued_rows_threshold=settings.quarantine_unvalued_rows_threshold,
            as_of=settings.as_of.isoformat() if settings.as_of else "",
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Hold the home's run lock for the whole run: DuckDB has one writer per file."""
        acquire_home_lock(Path(self.home))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        release_home_lock(Path(self.home))

    def settings(self) -> Settings:
        return Settings(
            extracts_dir=Path(self.extracts_dir),
            home=Path(self.home),
            reporting_currency=self.reporting_currency,
            fiscal_year_start_month=self.fiscal_year_start_month,
            rollup=self.rollup,
            quarantine_arr_threshold=Decimal(self.quarantine_arr_threshold),
            quarantine_unvalued_rows_threshold=self.quarantine_unvalued_rows_threshold,
            as_of=date.fromisoformat(self.as_of) if self.as_of else None,
        )


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


@contextmanager
def parquet_scans(
    con: duckdb.DuckDBPyConnection, tables: dict[str, str], folder: Path
) -> Iterator[dict[str, pl.LazyFrame]]:
    """Warehouse tables as lazy Parquet scans (written to `folder`, removed on exit, so
    collect inside): Polars then reads only the columns a plan uses, in batches, instead of
    holding whole tables in memory."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        frames = {}
        for name, table in tables.items():
            path = folder / f"{name}.parquet"
            con.execute(f"copy {table} to '{path}' (format parquet)")
            frames[name] = pl.scan_parquet(path)
        yield frames
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def loaded_delivery_date(con: duckdb.DuckDBPyConnection) -> date:
    """The delivery date of the extracts currently in the raw tables."""
    return loaded_delivery(con)[0]


def run_as_of(settings: Settings, con: duckdb.DuckDBPyConnection) -> date:
    """NRR_AS_OF when set, else the date of the loaded delivery."""
    return settings.as_of or loaded_delivery_date(con)
