"""The dbt tests that took over the movement table's Great Expectations suite fail on rows
broken by hand, each on its own row, and pass on a good row (docs/reliability.md, "Checks:
who checks what")."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline.dbt_project import DBT_PROJECT_DIR, dbt_vars, slice_dimensions
from pipeline.settings import Settings

pytestmark = pytest.mark.integration

MONEY = (
    "start_arr",
    "end_arr",
    "new_arr",
    "reactivation_arr",
    "expansion_arr",
    "contraction_arr",
    "churn_arr",
    "fx_arr",
    "cross_sell_arr",
    "product_churn_arr",
    "seat_arr",
    "tier_arr",
    "price_arr",
    "usage_arr",
)
# One row per customer, FY2026-Q1 (Oct-Dec 2025). Each broken row keeps end = start + new +
# reactivation + expansion - contraction - churn and motions = expansion - contraction, so
# it breaks one rule only (fiscal_quarter 5 also breaks the label's format).
GOOD = {"start_arr": 100, "end_arr": 100}
BROKEN = {
    "start": {"start_arr": -10, "end_arr": 0, "expansion_arr": 10, "cross_sell_arr": 10},
    "end": {"start_arr": 0, "end_arr": -10, "contraction_arr": 10, "product_churn_arr": -10},
    "new": {"start_arr": 10, "end_arr": 0, "new_arr": -10},
    "reactivation": {"start_arr": 10, "end_arr": 0, "reactivation_arr": -10},
    "expansion": {"start_arr": 10, "end_arr": 0, "expansion_arr": -10, "seat_arr": -10},
    "contraction": {"start_arr": 10, "end_arr": 20, "contraction_arr": -10, "seat_arr": 10},
    "churn": {"start_arr": 10, "end_arr": 20, "churn_arr": -10},
    "cross_sell": {"start_arr": 10, "end_arr": 10, "cross_sell_arr": -5, "seat_arr": 5},
    "product_churn": {"start_arr": 10, "end_arr": 10, "product_churn_arr": 5, "seat_arr": -5},
    "quarter_5": {"fiscal_quarter": 5},
    "label": {"quarter_label": "'FY2026Q1'"},
    "snapshot": {"snapshot_date": "date '2025-09-30'"},
}


def row(customer: str, values: dict) -> str:
    columns = {
        "customer_id": f"'{customer}'",
        "fiscal_year": 2026,
        "fiscal_quarter": 1,
        "quarter_label": "'FY2026-Q1'",
        "quarter_start": "date '2025-10-01'",
        "quarter_end": "date '2025-12-31'",
        "snapshot_date": "date '2025-12-31'",
        "is_complete": "true",
        **{m: 0 for m in MONEY},
        "movement": "'flat'",
        "cohort_quarter": "'FY2025-Q1'",
        **{dimension: "null" for dimension in slice_dimensions()},
        **values,
    }
    parts = [
        f"cast({v} as decimal(38, 6)) as {k}" if k in MONEY else f"{v} as {k}"
        for k, v in columns.items()
    ]
    return f"select {', '.join(parts)}"


def failing_tests(warehouse: Path, tmp_path: Path) -> dict[str, int]:
    """dbt's data tests of fct_arr_movements against `warehouse`: failing rows per test."""
    dbt = Path(sys.executable).parent / "dbt"
    target = tmp_path / "target"
    completed = subprocess.run(
        [
            str(dbt),
            "test",
            "--select",
            "fct_arr_movements,test_type:data",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            json.dumps(dbt_vars(Settings(), date(2026, 9, 30))),
        ],
        env={**os.environ, "NRR_WAREHOUSE_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert len(results) == 41, completed.stdout[-3000:]  # 28 kept + 13 taken over
    assert {r["status"] for r in results} <= {"pass", "fail"}, completed.stdout[-3000:]
    return {r["unique_id"].split(".")[2]: r["failures"] for r in results if r["status"] == "fail"}


def test_each_taken_over_rule_fails_on_its_own_broken_row(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    rows = [row("good", GOOD)] + [row(name, values) for name, values in BROKEN.items()]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create table fct_arr_movements as {' union all '.join(rows)}")
    assert failing_tests(warehouse, tmp_path) == {
        **{
            f"between_fct_arr_movements_{name}_arr__0": 1
            for name in ("start", "end", "new", "reactivation", "expansion")
            + ("contraction", "churn", "cross_sell", "product_churn")
        },
        "between_fct_arr_movements_fiscal_quarter__4__1": 1,
        "quarter_label_format_fct_arr_movements_quarter_label": 2,  # quarter 5, the label
        "not_before_fct_arr_movements_snapshot_date__quarter_start": 1,
    }


def test_an_empty_movement_table_fails_and_a_good_row_passes(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create table fct_arr_movements as {row('good', GOOD)} limit 0")
    assert failing_tests(warehouse, tmp_path / "empty") == {"has_rows_fct_arr_movements_": 1}
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"insert into fct_arr_movements {row('good', GOOD)}")
    assert failing_tests(warehouse, tmp_path / "good") == {}
