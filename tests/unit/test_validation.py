"""What a suite reads: values only of the columns its expectations inspect."""

import duckdb
import pytest

from pipeline.contracts import QUARANTINE_REASONS
from pipeline.validation import (
    EXPECTATIONS_DIR,
    read_frame,
    suite_columns,
    suite_definition,
    validation_query,
)


def test_the_raw_suite_reads_the_lineage_values_and_only_the_names_of_the_rest():
    assert suite_columns("raw__billing_charges") == {
        "_delivery_date",
        "_source_file",
        "_row_number",
    }
    con = duckdb.connect()
    con.execute(
        "create table charges as select 7 as _row_number, 'f.csv' as _source_file, "
        "date '2026-09-30' as _delivery_date, '12.00' as amount"
    )
    columns = [row[:2] for row in con.execute("describe charges").fetchall()]
    frame = read_frame(con, validation_query("raw__billing_charges", "charges", columns))
    assert list(frame.columns) == ["_row_number", "_source_file", "_delivery_date", "amount"]
    assert frame["_row_number"].tolist() == [7]
    assert frame["_source_file"].tolist() == ["f.csv"]
    assert frame["amount"].isna().all()


def test_money_reaches_pandas_as_float():
    con = duckdb.connect()
    con.execute("create table q as select cast(6000.125 as decimal(38, 6)) as arr_at_stake")
    columns = [row[:2] for row in con.execute("describe q").fetchall()]
    frame = read_frame(con, validation_query("raw__quarantine", "q", columns))
    assert frame["arr_at_stake"].dtype == "float64"
    assert frame["arr_at_stake"].tolist() == [6000.125]


def test_compound_and_pair_expectations_count_as_reading_their_columns():
    assert {"cohort_quarter", "age", "dimension", "dimension_value"} <= suite_columns(
        "rpt_cohort_retention"
    )
    assert {"customers", "active_customers"} <= suite_columns("rpt_cohort_retention")
    assert {"extract", "row_number", "arr_at_stake"} <= suite_columns("raw__quarantine")


def test_named_lists_are_filled_in_from_the_code():
    (reasons,) = [
        e["kwargs"]["value_set"]
        for e in suite_definition("raw__quarantine")["expectations"]
        if e["kwargs"].get("column") == "reason" and "value_set" in e["kwargs"]
    ]
    assert reasons == sorted({r for rs in QUARANTINE_REASONS.values() for r in rs})
    assert "$QUARANTINE_REASONS" in (EXPECTATIONS_DIR / "raw__quarantine.json").read_text()


def test_no_suite_validates_the_movement_table():
    """Its row-level invariants are dbt tests (docs/reliability.md, "Checks: who checks
    what"); a suite would copy millions of rows into pandas to repeat them."""
    assert not (EXPECTATIONS_DIR / "fct_arr_movements.json").exists()


@pytest.mark.spark  # needs the spark extra: runs in .venv-spark (make test, make test-spark)
def test_great_expectations_loads_in_a_worker_process_with_pyspark_installed():
    """pyspark (the spark extra) exits a process whose __main__ has no file, as a Dagster or
    pytest-xdist worker's has not, when Great Expectations imports it: `python -c` is such a
    process. Imported through validation, Great Expectations never touches pyspark."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed (make test-spark installs the spark extra)")

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        return done.stdout.strip()

    assert run("import great_expectations; print('loaded')") == ""  # the failure it avoids
    guarded = "from pipeline.validation import import_great_expectations as i; i(); print('ok')"
    assert run(guarded) == "ok"
    assert run(f"import pyspark; {guarded}") == "ok"  # pyspark loaded before, by anything


def test_a_suite_at_the_month_grain_is_the_same_suite_on_the_monthly_columns():
    quarterly = suite_definition("rpt_nrr_quarterly")
    monthly = suite_definition("rpt_nrr_quarterly@month")
    assert len(monthly["expectations"]) == len(quarterly["expectations"])
    columns = monthly["expectations"][0]["kwargs"]["column_set"]
    assert columns[:7] == [
        "fiscal_year",
        "fiscal_month",
        "month_label",
        "month_start",
        "month_end",
        "snapshot_date",
        "is_complete",
    ]
    assert not {"quarter_label", "fiscal_quarter"} & suite_columns("rpt_nrr_quarterly@month")
    assert {"cohort_month", "month_label"} <= suite_columns("rpt_cohort_retention@month")
    assert "cohort_quarter" not in suite_columns("rpt_cohort_retention@month")
    # Only the period columns change: the rest of each expectation is the quarterly one.
    rename = {"quarter_label": "month_label", "fiscal_quarter": "fiscal_month"}
    rename |= {"quarter_start": "month_start", "quarter_end": "month_end"}
    for ours, theirs in zip(quarterly["expectations"], monthly["expectations"], strict=True):
        assert ours["type"] == theirs["type"]
        for key, value in ours["kwargs"].items():
            if isinstance(value, str):
                assert theirs["kwargs"][key] == rename.get(value, value)
