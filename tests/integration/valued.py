"""A small delivery through the row rules (Python) and dbt's models up to the quarantine: how
tests see what dbt makes of rows the row rules passed or rejected (the customer-level rules,
the ARR at stake, the unvalued flags, the gate's basis, a delivery without ARR)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipeline.dbt_project import DBT_PROJECT_DIR, dbt_environment
from pipeline.gate import no_arr_rejection, store_quarantine
from pipeline.landing import DeliveryRejected
from pipeline.quarantine import RuleContext, build_quarantine
from pipeline.settings import Settings
from tests.unit.factories import account, landed, rate

CONTEXT = RuleContext("USD", 1, date(2026, 9, 30))
# What dbt's `quarantine`, its basis and `delivery_arr` need; `run`, not `build`: the marts'
# tests are not these tests' business (a delivery without ARR fails them).
GATE_MODELS = ("+quarantine", "+quarantine_basis", "+delivery_arr")


@dataclass(frozen=True)
class Valued:
    table: pl.DataFrame  # dbt's quarantine, ordered by extract and row number
    valid_arr: Decimal  # the gate's basis: the marts' valid ARR at as-of
    first_charge_start: date | None  # where the report's quarters start (delivery_arr)
    rejection: DeliveryRejected | None  # why the delivery is rejected (None: it has ARR)

    def row(self, extract: str, row_number: int) -> dict:
        found = self.table.filter(
            (pl.col("extract") == extract) & (pl.col("row_number") == row_number)
        )
        assert found.height == 1, (extract, row_number, self.table)
        return found.row(0, named=True)

    def stake(self, row_number: int, extract: str = "billing_charges") -> tuple:
        row = self.row(extract, row_number)
        return row["reason"], row["arr_at_stake"], row["unvalued"]


def run_gate_models(warehouse: Path, as_of: date, target: Path) -> None:
    """dbt run of the models the gate reads, on `warehouse`: from the warehouse's folder, by
    its file name, settings as environment variables and the project's saved parse copied in,
    as the pipeline runs dbt (pipeline/dbt_child.py), so dbt parses nothing again."""
    (target / "target").mkdir(parents=True, exist_ok=True)
    saved_parse = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
    if saved_parse.exists():
        shutil.copy(saved_parse, target / "target" / saved_parse.name)
    environment = dbt_environment(Settings(home=warehouse.parent), as_of, os.getpid())
    environment["NRR_WAREHOUSE_PATH"] = warehouse.name
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "run",
            "--select",
            *GATE_MODELS,
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target / "target"),
            "--log-path",
            str(target / "logs"),
        ],
        env={**os.environ, **environment},
        cwd=warehouse.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]


def valued_in_dbt(tmp_path: Path, charges, accounts=None, rates=None, context=CONTEXT) -> Valued:
    """The row rules on the rows, their tables stored as the quarantine step stores them, then
    dbt's models up to the quarantine."""
    result = build_quarantine(
        landed("billing_charges", charges),
        landed("crm_accounts", accounts if accounts is not None else [account()]),
        landed("fx_rates", rates if rates is not None else [rate()]),
        context,
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        # landed() frames carry the raw columns the quarantine model reads raw_record from.
        con.register("raw_charges", landed("billing_charges", charges).collect())
        con.execute("create table raw.billing_charges as select * from raw_charges")
        store_quarantine(con, result.rejects, result.checked)
    run_gate_models(warehouse, context.as_of, tmp_path)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        table = con.sql("select * from main.quarantine order by extract, row_number").pl()
        valid_arr = con.execute("select valid_arr from main.quarantine_basis").fetchone()[0]
        rejection = no_arr_rejection(con, context.as_of)
        first_start = con.execute("select first_charge_start from main.delivery_arr").fetchone()
    return Valued(table, valid_arr, first_start[0], rejection)
