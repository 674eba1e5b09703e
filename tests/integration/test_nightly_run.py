"""`nrr run` end to end on generated data: exit codes, idempotence, rejection, identities."""

import shutil
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from pipeline.cli import EXIT_OK, EXIT_REJECTED, main
from pipeline.landing import read_json_lines
from pipeline.nrr_methods import NRR_METHODS
from tests.shared_runs import copy_run

pytestmark = pytest.mark.integration


def table(home, name: str) -> pl.DataFrame:
    """A warehouse table's rows in a fixed order (tables themselves have none)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        frame = con.sql(f"select * from {name}").pl()
    finally:
        con.close()
    return frame.sort(frame.columns)


@pytest.fixture(scope="module")
def first_run(sample_once, tmp_path_factory):
    """The sample delivery run in a fresh home: a copy of the session's run of it."""
    root, code = sample_once
    home = copy_run(root, tmp_path_factory.mktemp("first-run")) / "home"
    return home, code


@pytest.fixture(scope="module")
def sample_extracts(first_run):
    """The sample delivery, where first_run's home recorded it (beside the home)."""
    home, _ = first_run
    return home.parent / "extracts"


def test_run_succeeds_and_builds_the_marts(first_run):
    home, code = first_run
    assert code == EXIT_OK
    movements = table(home, "fct_arr_movements")
    assert movements.height > 300
    assert set(movements["movement"]) >= {"new", "expansion", "contraction", "churn", "flat"}
    assert table(home, "fct_arr_bridge").filter(pl.col("dimension") == "all").height == 12


def test_quarantine_holds_the_broken_rows_with_reasons(first_run):
    home, _ = first_run
    quarantine = table(home, "main.quarantine").sort("extract", "row_number")
    assert quarantine.select("extract", "reason").rows() == [
        ("billing_charges", "bad_date"),
        ("crm_accounts", "unknown_parent"),
        ("fx_rates", "duplicate_fx_rate"),
        ("fx_rates", "bad_fx_rate"),
    ]
    staged = table(home, "stg_billing__charges")
    raw = table(home, "raw.billing_charges")
    assert staged.height == raw.height - 1  # exactly the quarantined row is left out


def test_delivery_is_archived_with_checksums(first_run):
    home, _ = first_run
    archived = sorted(p.name for p in (home / "archive" / "2026-09-30").rglob("*.csv"))
    assert archived == [
        "account_signals.csv",
        "billing_charges.csv",
        "crm_accounts.csv",
        "fx_rates.csv",
    ]
    receipts = read_json_lines(home / "archive" / "2026-09-30" / "receipts.jsonl")
    assert [r["status"] for r in receipts] == ["accepted"]
    assert sorted(f["file"] for f in receipts[0]["files"]) == archived


def test_identities_hold_on_every_row_and_total(first_run):
    home, _ = first_run
    m = table(home, "fct_arr_movements")
    bridge_rhs = (
        pl.col("start_arr")
        + pl.col("new_arr")
        + pl.col("reactivation_arr")
        + pl.col("expansion_arr")
        - pl.col("contraction_arr")
        - pl.col("churn_arr")
    )
    assert m.filter(pl.col("end_arr") != bridge_rhs).is_empty()
    motions = (
        pl.col("cross_sell_arr")
        + pl.col("product_churn_arr")
        + pl.col("seat_arr")
        + pl.col("tier_arr")
        + pl.col("price_arr")
        + pl.col("usage_arr")
    )
    retained = m.filter((pl.col("start_arr") > 0) & (pl.col("end_arr") > 0))
    assert retained.filter(motions != pl.col("end_arr") - pl.col("start_arr")).is_empty()
    assert (
        m.filter((pl.col("start_arr") == 0) | (pl.col("end_arr") == 0))
        .filter(motions != 0)
        .is_empty()
    )
    totals = (
        m.group_by("quarter_label")
        .agg(pl.col("start_arr", "end_arr", "fx_arr").sum())
        .sort("quarter_label")
    )
    previous_end = Decimal(0)
    for label, start, end, fx in totals.rows():
        assert previous_end + fx == start, label
        previous_end = end
    all_slice = (
        table(home, "fct_arr_bridge").filter(pl.col("dimension") == "all").sort("quarter_label")
    )
    assert all_slice["end_arr"].to_list() == totals["end_arr"].to_list()


def test_the_methods_report_quotes_the_quarterly_reports_figures(first_run):
    """quarterly_bridge and ttm_cohort are rpt_nrr_quarterly's nrr/grr and ttm_nrr/ttm_grr
    to the last bit, on every quarter and slice of the generated delivery."""
    home, _ = first_run
    quarterly = table(home, "rpt_nrr_quarterly")
    methods = table(home, "rpt_nrr_methods")
    key = ["quarter_label", "dimension", "dimension_value"]
    assert methods.height == quarterly.height * len(NRR_METHODS)
    for method, nrr, grr in (
        ("quarterly_bridge", "nrr", "grr"),
        ("ttm_cohort", "ttm_nrr", "ttm_grr"),
    ):
        rows = methods.filter(pl.col("method") == method).select(
            *key, method_nrr="nrr", method_grr="grr"
        )
        joined = quarterly.select(*key, nrr, grr).join(rows, on=key, how="full", coalesce=True)
        assert joined.height == quarterly.height, method
        for ours, theirs in (("method_nrr", nrr), ("method_grr", grr)):
            assert joined[ours].to_list() == joined[theirs].to_list(), (method, theirs)
    ttm = methods.filter(pl.col("method") == "ttm_cohort")
    assert ttm["nrr"].drop_nulls().len() > 0  # the delivery has TTM figures to compare
    assert (
        ttm.select(pl.col("denominator_arr").alias("ttm_starting_arr"), *key)
        .join(quarterly.select("ttm_starting_arr", *key), on=key)
        .filter(pl.col("ttm_starting_arr") != pl.col("ttm_starting_arr_right"))
        .is_empty()
    )


def test_cohort_arr_decomposes_exactly_on_every_row(first_run):
    home, _ = first_run
    cohorts = table(home, "rpt_cohort_retention")
    parts = (
        pl.col("starting_arr")
        + pl.col("expansion_arr")
        - pl.col("contraction_arr")
        - pl.col("churn_arr")
    )
    assert cohorts.filter(pl.col("arr") != parts).is_empty()
    assert cohorts["churn_arr"].sum() > 0 and cohorts["expansion_arr"].sum() > 0


def test_cohort_never_changes_and_new_happens_once(first_run):
    home, _ = first_run
    m = table(home, "fct_arr_movements")
    assert (
        m.group_by("customer_id")
        .agg(pl.col("cohort_quarter").n_unique())
        .filter(pl.col("cohort_quarter") > 1)
        .is_empty()
    )
    news = m.filter(pl.col("movement") == "new")
    assert news["customer_id"].is_unique().all()
    assert (news["quarter_label"] == news["cohort_quarter"]).all()


def test_running_the_same_delivery_again_changes_nothing(first_run, sample_extracts):
    home, _ = first_run
    before = {
        name: table(home, name)
        for name in (
            "raw.billing_charges",
            "main.quarantine",
            "fct_arr_movements",
            "fct_arr_bridge",
        )
    }
    assert main(["run", "--extracts", str(sample_extracts), "--home", str(home)]) == EXIT_OK
    for name, frame in before.items():
        assert table(home, name).equals(frame), name


def test_rejected_delivery_leaves_the_warehouse_untouched(
    first_run, sample_extracts, tmp_path, capsys
):
    home, _ = first_run
    extracts = tmp_path / "extracts"
    shutil.copytree(sample_extracts, extracts)
    broken = extracts / "2026-10-01"
    shutil.copytree(extracts / "2026-09-30", broken)
    crm = pl.read_csv(broken / "crm_accounts.csv", infer_schema=False).drop("segment")
    crm.write_csv(broken / "crm_accounts.csv")
    before = {name: table(home, name) for name in ("raw.delivery_log", "fct_arr_movements")}

    code = main(["run", "--extracts", str(extracts), "--home", str(home)])

    assert code == EXIT_REJECTED
    message = capsys.readouterr().err
    assert "crm_accounts.csv in delivery 2026-10-01 lacks required column(s) segment" in message
    assert "Traceback" not in message
    for name, frame in before.items():
        assert table(home, name).equals(frame), name


def test_a_missing_delivery_folder_is_a_clear_error(tmp_path, capsys):
    code = main(["run", "--extracts", str(tmp_path / "nowhere"), "--home", str(tmp_path / "h")])
    assert code == EXIT_REJECTED
    assert "No delivery folder named YYYY-MM-DD" in capsys.readouterr().err
