"""Report-level suites on hand-made frames: each expectation passes on good numbers and
fails, naming what it checks, on numbers broken by hand."""

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline.restatements import PreviousReport
from pipeline.validation import (
    BRIDGE_SUMS_QUERY,
    COHORT_DECOMPOSITION_QUERY,
    REPORT_AGREES_QUERY,
    SuiteRunner,
    check_records,
    least_rows,
    read_frame,
    record_outcome,
    row_count_findings,
    row_count_frame,
    validation_query,
)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    # These tests read each outcome, not the rendered site: no Data Docs per failing suite.
    return SuiteRunner(tmp_path_factory.mktemp("gx"), docs_on_failure=False)


def failed(outcome) -> set[tuple[str, str]]:
    return {(f["expectation"], f["target"]) for f in outcome.failures}


# fct_arr_bridge: two quarters, the `all` slice and two segments. Q1: Enterprise keeps two
# customers (200.000001 -> 250), SMB loses one (churn) and wins one (new): 99.999999 -> 80.
BRIDGE_ROWS = """
    ('FY2026-Q1', date '2025-10-01', 'all', 'all', 300.000000, 330, 0, 3, 3, 1, 1, 0),
    ('FY2026-Q1', date '2025-10-01', 'segment', 'Enterprise', 200.000001, 250, 0, 2, 2, 0, 0, 0),
    ('FY2026-Q1', date '2025-10-01', 'segment', 'SMB', 99.999999, 80, 0, 1, 1, 1, 1, 0),
    ('FY2026-Q2', date '2026-01-01', 'all', 'all', 340, 120, 10, 3, 2, 0, 2, 1),
    ('FY2026-Q2', date '2026-01-01', 'segment', 'Enterprise', 264, 120, 14, 2, 2, 0, 1, 1),
    ('FY2026-Q2', date '2026-01-01', 'segment', 'SMB', 76, 0, -4, 1, 0, 0, 1, 0)
"""


def bridge(mutation: str | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        f"""create table fct_arr_bridge as
        select quarter_label, quarter_start, dimension, dimension_value,
               cast(start_arr as decimal(38, 6)) as start_arr,
               cast(end_arr as decimal(38, 6)) as end_arr,
               cast(fx_arr as decimal(38, 6)) as fx_arr,
               starting_customers, ending_customers, new_customers, churn_customers,
               reactivation_customers
        from (values {BRIDGE_ROWS}) as t(quarter_label, quarter_start, dimension,
            dimension_value, start_arr, end_arr, fx_arr, starting_customers, ending_customers,
            new_customers, churn_customers, reactivation_customers)"""
    )
    if mutation:
        con.execute(mutation)
    return con


def test_the_bridge_frame_holds_the_slices_sums_beside_the_totals():
    frame = read_frame(bridge(), BRIDGE_SUMS_QUERY)
    assert frame.shape[0] == 4  # two quarters x (all, segment)
    q1_segment = frame.iloc[1]
    assert (q1_segment["quarter_label"], q1_segment["dimension"]) == ("FY2026-Q1", "segment")
    assert str(q1_segment["start_arr"]) == "300.000000"  # 200.000001 + 99.999999, exactly
    assert q1_segment["bridged_ending_customers"] == 3  # 3 - 1 churned + 1 new + 0 back


def test_the_bridge_suite_passes_when_slices_add_up(runner):
    outcome = runner.validate("fct_arr_bridge", read_frame(bridge(), BRIDGE_SUMS_QUERY))
    assert outcome.success, outcome.summary()
    assert outcome.evaluated == 7


@pytest.mark.parametrize(
    ("mutation", "failures"),
    [
        # One millionth missing from a segment's start ARR.
        (
            "update fct_arr_bridge set start_arr = 199.999999 where dimension_value = 'Enterprise'"
            " and quarter_label = 'FY2026-Q1'",
            {("expect_column_pair_values_to_be_equal", "start_arr vs all_start_arr")},
        ),
        (
            "update fct_arr_bridge set end_arr = 81 where dimension_value = 'SMB'"
            " and quarter_label = 'FY2026-Q1'",
            {("expect_column_pair_values_to_be_equal", "end_arr vs all_end_arr")},
        ),
        (
            "update fct_arr_bridge set fx_arr = 0 where dimension_value = 'SMB'"
            " and quarter_label = 'FY2026-Q2'",
            {("expect_column_pair_values_to_be_equal", "fx_arr vs all_fx_arr")},
        ),
        (
            "update fct_arr_bridge set starting_customers = 4, churn_customers = 3"
            " where dimension = 'all' and quarter_label = 'FY2026-Q2'",
            {
                (
                    "expect_column_pair_values_to_be_equal",
                    "starting_customers vs all_starting_customers",
                )
            },
        ),
        (
            "update fct_arr_bridge set ending_customers = 1, churn_customers = 2"
            " where dimension_value = 'Enterprise' and quarter_label = 'FY2026-Q2'",
            {
                (
                    "expect_column_pair_values_to_be_equal",
                    "ending_customers vs all_ending_customers",
                )
            },
        ),
        # A churned customer not counted as churned: the customers do not bridge.
        (
            "update fct_arr_bridge set churn_customers = 0"
            " where dimension = 'all' and quarter_label = 'FY2026-Q1'",
            {
                (
                    "expect_column_pair_values_to_be_equal",
                    "ending_customers vs bridged_ending_customers",
                )
            },
        ),
        ("delete from fct_arr_bridge", {("expect_table_row_count_to_be_between", "table")}),
    ],
)
def test_the_bridge_suite_fails_when_an_identity_breaks(runner, mutation, failures):
    outcome = runner.validate("fct_arr_bridge", read_frame(bridge(mutation), BRIDGE_SUMS_QUERY))
    assert not outcome.success
    assert failed(outcome) == failures


# rpt_nrr_quarterly beside fct_arr_bridge. FY2026-Q1 all: S 200, E 30, C 10, Ch 20:
# NRR = 200 / 200 = 1.0, GRR = 170 / 200 = 0.85. FY2026-Q1 region EMEA: S 0 (new only): none.
def report_and_bridge(mutation: str | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        """create table fct_arr_bridge as
        select quarter_label, date '2025-10-01' as quarter_start, dimension, dimension_value,
               cast(s as decimal(38, 6)) as start_arr, cast(e as decimal(38, 6)) as expansion_arr,
               cast(c as decimal(38, 6)) as contraction_arr,
               cast(ch as decimal(38, 6)) as churn_arr
        from (values ('FY2026-Q1', 'all', 'all', 200, 30, 10, 20),
                     ('FY2026-Q1', 'region', 'EMEA', 0, 0, 0, 0)) as t(quarter_label, dimension,
                     dimension_value, s, e, c, ch)"""
    )
    con.execute(
        """create table rpt_nrr_quarterly as
        select quarter_label, quarter_start, dimension, dimension_value,
               start_arr as starting_arr, expansion_arr, contraction_arr, churn_arr,
               case when start_arr > 0 then cast(1.0 as double) end as nrr,
               case when start_arr > 0 then cast(0.85 as double) end as grr
        from fct_arr_bridge"""
    )
    if mutation:
        con.execute(mutation)
    return con


SUITE = "rpt_nrr_quarterly__agrees_with_bridge"


def test_the_report_suite_passes_when_report_and_bridge_agree(runner):
    frame = read_frame(report_and_bridge(), REPORT_AGREES_QUERY)
    assert frame["nrr_gap"].tolist() == [0.0, 0.0]
    outcome = runner.validate(SUITE, frame)
    assert outcome.success, outcome.summary()
    assert outcome.evaluated == 7


@pytest.mark.parametrize(
    ("mutation", "failures"),
    [
        (
            "update rpt_nrr_quarterly set starting_arr = 200.000001 where dimension = 'all'",
            {("expect_column_pair_values_to_be_equal", "starting_arr vs bridge_start_arr")},
        ),
        (
            "update rpt_nrr_quarterly set expansion_arr = 31 where dimension = 'all'",
            {("expect_column_pair_values_to_be_equal", "expansion_arr vs bridge_expansion_arr")},
        ),
        (
            "update rpt_nrr_quarterly set contraction_arr = 0 where dimension = 'all'",
            {
                (
                    "expect_column_pair_values_to_be_equal",
                    "contraction_arr vs bridge_contraction_arr",
                )
            },
        ),
        (
            "update rpt_nrr_quarterly set churn_arr = 19 where dimension = 'all'",
            {("expect_column_pair_values_to_be_equal", "churn_arr vs bridge_churn_arr")},
        ),
        (
            "update rpt_nrr_quarterly set nrr = 1.01 where dimension = 'all'",
            {("expect_column_values_to_be_between", "nrr_gap")},
        ),
        (
            "update rpt_nrr_quarterly set grr = 0.8500001 where dimension = 'all'",
            {("expect_column_values_to_be_between", "grr_gap")},
        ),
        # A ratio where the bridge has no starting ARR.
        (
            "update rpt_nrr_quarterly set grr = 0 where dimension = 'region'",
            {("expect_column_values_to_be_between", "grr_gap")},
        ),
        # A slice of the bridge missing from the report.
        (
            "delete from rpt_nrr_quarterly where dimension = 'region'",
            {
                ("expect_column_pair_values_to_be_equal", f"{m} vs bridge_{b}")
                for m, b in (
                    ("starting_arr", "start_arr"),
                    ("expansion_arr", "expansion_arr"),
                    ("contraction_arr", "contraction_arr"),
                    ("churn_arr", "churn_arr"),
                )
            },
        ),
    ],
)
def test_the_report_suite_fails_when_report_and_bridge_disagree(runner, mutation, failures):
    frame = read_frame(report_and_bridge(mutation), REPORT_AGREES_QUERY)
    outcome = runner.validate(SUITE, frame)
    assert not outcome.success
    assert failed(outcome) == failures


@pytest.mark.parametrize(
    ("previous", "least"), [(100, 90), (11, 10), (10, 9), (7, 7), (1, 1), (0, 0)]
)
def test_least_rows_allows_ten_percent_fewer_rounded_up(previous, least):
    assert least_rows(previous) == least


SETTINGS = {"reporting_currency": "USD", "fiscal_year_start_month": "10", "rollup": "parent"}
TABLES = {
    "fct_arr_movements": "movements",
    "rpt_nrr_quarterly": "quarterly",
    "quarantine": "quarantined",
}


def previous_report(tmp_path: Path, movements: int, quarterly: int, **settings):
    """A published folder with Parquet files of the given row counts."""
    folder = tmp_path / "2026-06-30"
    folder.mkdir()
    con = duckdb.connect()
    for name, rows in (("fct_arr_movements", movements), ("rpt_nrr_quarterly", quarterly)):
        con.execute(f"copy (select range as n from range({rows})) to '{folder / name}.parquet'")
    recorded = {**SETTINGS, **settings}
    return PreviousReport(folder=folder, as_of="2026-06-30", manifest={"report_settings": recorded})


def warehouse(movements: int, quarterly: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"create table movements as select range as n from range({movements})")
    con.execute(f"create table quarterly as select range as n from range({quarterly})")
    con.execute("create table quarantined as select range as n from range(0)")
    return con


AS_OF = date(2026, 9, 30)


def test_the_first_report_has_no_row_counts_to_compare(runner):
    frame, note = row_count_frame(warehouse(90, 12), TABLES, None, SETTINGS, AS_OF)
    assert note == "First report: no previous report to compare row counts with."
    assert frame["table_name"].tolist() == ["fct_arr_movements", "rpt_nrr_quarterly"]
    assert frame["rows"].tolist() == [90, 12]
    assert frame["previous_rows"].isna().all()
    assert runner.validate("report__row_counts", frame).success


def test_ten_percent_fewer_rows_pass(runner, tmp_path):
    previous = previous_report(tmp_path, movements=100, quarterly=10)
    frame, note = row_count_frame(warehouse(90, 9), TABLES, previous, SETTINGS, AS_OF)
    assert note == "Row counts compared with the previous report (as of 2026-06-30)."
    assert frame["previous_rows"].tolist() == [100, 10]
    assert frame["least_rows"].tolist() == [90, 9]
    assert runner.validate("report__row_counts", frame).success
    assert row_count_findings(frame, previous.as_of) == []


def test_a_sudden_drop_in_rows_fails_naming_both_counts(runner, tmp_path):
    previous = previous_report(tmp_path, movements=1000, quarterly=10)
    frame, _ = row_count_frame(warehouse(899, 10), TABLES, previous, SETTINGS, AS_OF)
    outcome = runner.validate("report__row_counts", frame)
    assert not outcome.success
    assert failed(outcome) == {
        ("expect_column_pair_values_a_to_be_greater_than_b", "rows vs least_rows")
    }
    assert outcome.failures[0]["unexpected_count"] == 1
    assert row_count_findings(frame, previous.as_of) == [
        "fct_arr_movements has 899 rows, the previous report (as of 2026-06-30) had 1,000: "
        "more than 10 % fewer blocks publishing"
    ]


def test_row_counts_of_reports_that_are_not_comparable_are_not_compared(runner, tmp_path):
    previous = previous_report(tmp_path, movements=1000, quarterly=10, rollup="account")
    frame, note = row_count_frame(warehouse(10, 1), TABLES, previous, SETTINGS, AS_OF)
    assert note == (
        "Row counts not compared with the previous report: the customer roll-up account -> parent."
    )
    assert frame["previous_rows"].isna().all()
    assert runner.validate("report__row_counts", frame).success


def test_a_report_as_of_an_earlier_date_is_not_compared(tmp_path):
    previous = previous_report(tmp_path, movements=1000, quarterly=10)
    frame, note = row_count_frame(warehouse(10, 1), TABLES, previous, SETTINGS, date(2026, 3, 31))
    assert note == (
        "Row counts not compared: the previous report is as of 2026-06-30, later than this "
        "one (2026-03-31)."
    )
    assert frame["previous_rows"].isna().all()


def test_publishing_reads_the_last_record_of_each_check(runner, tmp_path):
    frame, _ = row_count_frame(warehouse(1, 1), TABLES, None, SETTINGS, AS_OF)
    outcome = runner.validate("report__row_counts", frame)
    record_outcome(tmp_path, outcome)
    record_outcome(tmp_path, outcome)  # a check run twice counts once
    assert check_records(tmp_path) == [
        {"suite": "report__row_counts", "success": True, "evaluated": 2, "failed": 0}
    ]
    saved = json.loads((tmp_path / "report__row_counts.json").read_text())
    assert saved["success"] is True  # the full result stays, published as evidence


# rpt_nrr_methods and the cohort decomposition, on the reports of test_nrr_methods' history.
def methods_and_cohorts(*mutations: str) -> duckdb.DuckDBPyConnection:
    """A warehouse holding main.rpt_nrr_methods and main.rpt_cohort_retention as the Polars
    reports compute them on test_nrr_methods' hand-made history, then the mutations."""
    from pipeline.nrr_methods import method_bases, nrr_methods
    from pipeline.retention import cohort_retention, ttm_sums
    from tests.unit.histories import bridge_frame, history_frames
    from tests.unit.test_nrr_methods import ARR, MIN_ARR, SEGMENTS

    movements, quarters, restated = history_frames(ARR, SEGMENTS)
    sums = ttm_sums(movements, quarters, restated, method_bases(MIN_ARR))
    methods = nrr_methods(bridge_frame(movements), quarters, sums, MIN_ARR)
    cohorts = cohort_retention(movements, quarters, restated)
    con = duckdb.connect()
    for name, frame in (("rpt_nrr_methods", methods), ("rpt_cohort_retention", cohorts)):
        con.register(f"{name}_frame", frame.collect().to_arrow())
        con.execute(f"create table main.{name} as select * from {name}_frame")
    for mutation in mutations:
        con.execute(mutation)
    return con


def methods_frame(con):
    columns = [row[:2] for row in con.execute("describe main.rpt_nrr_methods").fetchall()]
    return read_frame(con, validation_query("rpt_nrr_methods", "main.rpt_nrr_methods", columns))


def test_the_methods_suite_passes_on_the_report(runner):
    outcome = runner.validate("rpt_nrr_methods", methods_frame(methods_and_cohorts()))
    assert outcome.success, outcome.summary()
    assert outcome.evaluated == 21


@pytest.mark.parametrize(
    ("mutation", "failures"),
    [
        (
            "update rpt_nrr_methods set method = 'ttm_blended' where method = 'reverse_cohort'",
            {
                ("expect_column_values_to_be_in_set", "method"),
                ("expect_column_distinct_values_to_equal_set", "method"),
            },
        ),
        (
            "delete from rpt_nrr_methods where method = 'logo_retention'",
            {("expect_column_distinct_values_to_equal_set", "method")},
        ),
        (
            # Enterprise at FY2025-Q1: A and B keep all 300 of their base (NRR 320 / 300).
            "update rpt_nrr_methods set grr = 1.01 where method = 'ttm_cohort' and grr = 1",
            {("expect_column_values_to_be_between", "grr")},
        ),
        (
            "update rpt_nrr_methods set grr = nrr + 0.01"
            " where method = 'reverse_cohort' and nrr < 0.9",
            {("expect_column_pair_values_a_to_be_greater_than_b", "nrr vs grr")},
        ),
        # Logo retention is a share of customers, and has no gross form.
        (
            "update rpt_nrr_methods set nrr = 1.5 where method = 'logo_retention' and nrr = 1",
            {("expect_column_values_to_be_between", "nrr")},
        ),
        (
            "update rpt_nrr_methods set grr = 0.5 where method = 'logo_retention' and nrr = 1",
            {("expect_column_values_to_be_null", "grr")},
        ),
        (
            "update rpt_nrr_methods set retained_customers = customers_in_base + 1"
            " where method = 'ttm_cohort' and customers_in_base > 0",
            {
                (
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    "customers_in_base vs retained_customers",
                )
            },
        ),
        (
            "insert into rpt_nrr_methods select * from rpt_nrr_methods limit 1",
            {
                (
                    "expect_compound_columns_to_be_unique",
                    "quarter_label, dimension, dimension_value, method",
                )
            },
        ),
    ],
)
def test_the_methods_suite_fails_naming_what_broke(runner, mutation, failures):
    outcome = runner.validate("rpt_nrr_methods", methods_frame(methods_and_cohorts(mutation)))
    assert not outcome.success
    assert failed(outcome) == failures


def test_the_cohort_decomposition_suite_passes_when_the_parts_add_up(runner):
    frame = read_frame(methods_and_cohorts(), COHORT_DECOMPOSITION_QUERY)
    assert len(frame) > 0 and (frame["decomposition_gap"] == 0).all()
    outcome = runner.validate("rpt_cohort_retention__decomposes", frame)
    assert outcome.success, outcome.summary()


def test_a_millionth_missing_from_a_cohorts_parts_fails_the_decomposition_suite(runner):
    con = methods_and_cohorts(
        "update rpt_cohort_retention set expansion_arr = expansion_arr - 0.000001"
        " where cohort_quarter = 'FY2024-Q1' and age = 4 and dimension = 'all'"
    )
    outcome = runner.validate(
        "rpt_cohort_retention__decomposes", read_frame(con, COHORT_DECOMPOSITION_QUERY)
    )
    assert not outcome.success
    assert failed(outcome) == {("expect_column_values_to_be_between", "decomposition_gap")}
    assert outcome.failures[0]["finding"].startswith("1 of ")


def cohort_frame(con):
    columns = [row[:2] for row in con.execute("describe main.rpt_cohort_retention").fetchall()]
    query = validation_query("rpt_cohort_retention", "main.rpt_cohort_retention", columns)
    return read_frame(con, query)


def test_the_cohort_suite_checks_the_new_columns(runner):
    outcome = runner.validate("rpt_cohort_retention", cohort_frame(methods_and_cohorts()))
    assert outcome.success, outcome.summary()
    broken = methods_and_cohorts(
        "update rpt_cohort_retention set reactivated_customers = active_customers + 1"
        " where age = 7 and dimension = 'all'",
        "update rpt_cohort_retention set churn_arr = -1 where age = 2 and dimension = 'all'",
    )
    outcome = runner.validate("rpt_cohort_retention", cohort_frame(broken))
    assert failed(outcome) == {
        ("expect_column_values_to_be_between", "churn_arr"),
        (
            "expect_column_pair_values_a_to_be_greater_than_b",
            "active_customers vs reactivated_customers",
        ),
    }
