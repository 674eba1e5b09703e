"""Quarterly NRR/GRR, TTM and cohort retention: the spec's worked examples and properties."""

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.dbt_project import slice_dimensions
from pipeline.retention import cohort_retention, nrr_quarterly, ttm_sums
from tests.unit.histories import bridge_frame, history_frames

d = Decimal


def reports(arr, segments=None):
    movements, quarters, restated = history_frames(arr, segments)
    return (
        nrr_quarterly(
            bridge_frame(movements), quarters, ttm_sums(movements, quarters, restated)
        ).collect(),
        cohort_retention(movements, quarters, restated).collect(),
    )


def quarter(report: pl.DataFrame, label: str, dimension="all", value="all") -> dict:
    rows = report.filter(
        (pl.col("quarter_label") == label)
        & (pl.col("dimension") == dimension)
        & (pl.col("dimension_value") == value)
    ).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_seed_example_nrr_95_grr_75():
    # Start 100,000; expansion 20,000; downgrades 10,000; churn 15,000.
    nrr, _ = reports(
        {
            "expands": [50_000, 70_000],
            "downgrades": [30_000, 20_000],
            "churns": [15_000, 0],
            "flat": [5_000, 5_000],
        }
    )
    row = quarter(nrr, "FY2024-Q2")
    assert row["starting_arr"] == Decimal("100000")
    assert (row["expansion_arr"], row["contraction_arr"], row["churn_arr"]) == (
        Decimal("20000"),
        Decimal("10000"),
        Decimal("15000"),
    )
    assert row["nrr"] == pytest.approx(0.95)
    assert row["grr"] == pytest.approx(0.75)


def test_expansion_with_nothing_lost_is_nrr_120_grr_100():
    nrr, _ = reports({"a": [60_000, 80_000], "b": [40_000, 40_000]})
    row = quarter(nrr, "FY2024-Q2")
    assert (row["nrr"], row["grr"]) == (pytest.approx(1.2), pytest.approx(1.0))


def test_new_and_reactivated_arr_are_never_in_nrr():
    nrr, _ = reports({"old": [100, 100], "new": [0, 900]})
    assert quarter(nrr, "FY2024-Q2")["nrr"] == pytest.approx(1.0)


def test_churn_then_reactivation_keeps_the_original_cohort():
    # 12,000 -> 0 (churn) and back to 6,000 two quarters later.
    nrr, cohorts = reports({"r": [12_000, 0, 0, 6_000]})
    assert quarter(nrr, "FY2024-Q2")["churn_arr"] == Decimal("12000")
    assert quarter(nrr, "FY2024-Q2")["nrr"] == pytest.approx(0.0)
    only_cohort = cohorts.filter(pl.col("dimension") == "all")
    assert only_cohort["cohort_quarter"].unique().to_list() == ["FY2024-Q1"]
    assert only_cohort.select(
        "age", "active_customers", "arr", "net_retention", "logo_retention"
    ).rows() == [
        (0, 1, Decimal("12000"), 1.0, 1.0),
        (1, 0, Decimal("0"), 0.0, 0.0),
        (2, 0, Decimal("0"), 0.0, 0.0),
        (3, 1, Decimal("6000"), 0.5, 1.0),
    ]


def test_a_slice_without_starting_arr_has_null_nrr_and_grr():
    nrr, _ = reports({"a": [0, 100]})
    row = quarter(nrr, "FY2024-Q2")
    assert row["starting_arr"] == 0
    assert (row["nrr"], row["grr"]) == (None, None)


def test_ttm_compares_with_four_quarters_earlier_over_customers_then_active():
    nrr, _ = reports(
        {
            "grows": [100, 100, 100, 100, 150],
            "churned": [100, 100, 0, 0, 0],
            "shrinks": [200, 200, 200, 200, 50],
            "later": [0, 500, 500, 500, 500],  # not in the base four quarters back
        }
    )
    row = quarter(nrr, "FY2025-Q1")
    assert row["ttm_starting_arr"] == Decimal("400")
    assert row["ttm_arr"] == Decimal("200")
    assert row["ttm_nrr"] == pytest.approx(200 / 400)
    assert row["ttm_grr"] == pytest.approx((100 + 0 + 50) / 400)
    assert quarter(nrr, "FY2024-Q4")["ttm_nrr"] is None  # no quarter four back yet


def test_slices_come_from_the_customer():
    nrr, cohorts = reports(
        {"a": [100, 200], "b": [100, 50], "c": [100, 100]},
        segments={"a": "SMB", "b": "SMB", "c": None},
    )
    assert quarter(nrr, "FY2024-Q2", "segment", "SMB")["nrr"] == pytest.approx(1.25)
    assert quarter(nrr, "FY2024-Q2", "segment", "")["nrr"] == pytest.approx(1.0)
    smb = cohorts.filter((pl.col("dimension") == "segment") & (pl.col("dimension_value") == "SMB"))
    assert smb.select("age", "customers", "arr").rows() == [
        (0, 2, Decimal("200")),
        (1, 2, Decimal("250")),
    ]


arr_value = st.sampled_from([0, 0, 0, 100, 250.5, 999.99, 1000, 12_345.678901])


@st.composite
def histories(draw):
    quarters = draw(st.integers(min_value=1, max_value=9))
    customers = draw(st.integers(min_value=1, max_value=7))
    arr = {
        f"c{i}": draw(st.lists(arr_value, min_size=quarters, max_size=quarters))
        for i in range(customers)
    }
    segments = {c: draw(st.sampled_from(["SMB", "Enterprise", None])) for c in arr}
    return arr, segments


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_retention_properties_hold_on_random_histories(history):
    arr, segments = history
    movements, quarters, restated = history_frames(arr, segments)
    nrr = nrr_quarterly(
        bridge_frame(movements), quarters, ttm_sums(movements, quarters, restated)
    ).collect()
    cohorts = cohort_retention(movements, quarters, restated).collect()

    for row in nrr.iter_rows(named=True):
        if row["grr"] is not None:
            assert row["grr"] <= 1 + 1e-12
            assert row["grr"] <= row["nrr"] + 1e-12
        assert (row["nrr"] is None) == (row["starting_arr"] == 0)
        if row["ttm_grr"] is not None:
            assert row["ttm_grr"] <= 1 + 1e-12
            assert row["ttm_grr"] <= row["ttm_nrr"] + 1e-12

    # Totals tie to the movement table, per quarter and slice.
    movement_rows = movements.collect()
    if movement_rows.height:
        totals = movement_rows.group_by("quarter_label").agg(
            pl.col("start_arr", "expansion_arr", "contraction_arr", "churn_arr").sum()
        )
        report = nrr.filter(pl.col("dimension") == "all").select(
            "quarter_label", "starting_arr", "expansion_arr", "contraction_arr", "churn_arr"
        )
        assert sorted(report.rows()) == sorted(totals.rows())
        assert set(nrr["quarter_label"]) == set(movement_rows["quarter_label"])

    age_zero = cohorts.filter(pl.col("age") == 0)
    assert (age_zero["net_retention"] == 1.0).all()
    assert (age_zero["gross_retention"] == 1.0).all()
    assert (age_zero["logo_retention"] == 1.0).all()
    assert (cohorts["gross_retention"] <= 1 + 1e-12).all()
    assert (cohorts["gross_retention"] <= cohorts["net_retention"] + 1e-12).all()
    assert (cohorts["active_customers"] <= cohorts["customers"]).all()
    # The decomposition adds up exactly on every row, and gross retention is its kept part.
    decomposed = (
        pl.col("starting_arr")
        + pl.col("expansion_arr")
        - pl.col("contraction_arr")
        - pl.col("churn_arr")
    )
    assert cohorts.filter(pl.col("arr") != decomposed).is_empty()
    kept = cohorts.filter(pl.col("starting_arr") > 0).select(
        "gross_retention",
        kept=(pl.col("starting_arr") - pl.col("contraction_arr") - pl.col("churn_arr")).cast(
            pl.Float64
        )
        / pl.col("starting_arr").cast(pl.Float64),
    )
    assert kept["gross_retention"].to_list() == pytest.approx(kept["kept"].to_list())
    assert (cohorts["reactivated_customers"] <= cohorts["active_customers"]).all()
    assert (age_zero["reactivated_customers"] == 0).all()


def test_a_segment_literally_named_blank_is_not_the_no_value_slice():
    from pipeline.report_views import labelled_slices
    from pipeline.retention import customer_slices

    movements = pl.LazyFrame(
        {
            "customer_id": ["A", "B"],
            **{dimension: ["NA", "NA"] for dimension in slice_dimensions()},
            "segment": ["(blank)", None],
        }
    )
    slices = customer_slices(movements).filter(pl.col("dimension") == "segment").collect()
    assert sorted(slices.select("customer_id", "dimension_value").rows()) == [
        ("A", "(blank)"),
        ("B", ""),
    ]
    shown = labelled_slices(pl.DataFrame({"dimension_value": ["", "SMB"]}))
    assert shown["dimension_value"].to_list() == ["(blank)", "SMB"]


def test_the_reports_cut_by_the_declared_slice_dimensions_only(monkeypatch):
    import pipeline.retention as retention

    monkeypatch.setattr(retention, "slice_dimensions", lambda: ("industry",))
    # Seed example again: every customer is in industry "NA" (histories' value), so that
    # slice has the total's figures; segment is no longer a slice.
    nrr, cohorts = reports(
        {"e": [50_000, 70_000], "d": [30_000, 20_000], "c": [15_000, 0], "f": [5_000, 5_000]},
        segments={"e": "SMB", "d": "SMB", "c": None, "f": None},
    )
    assert set(nrr["dimension"]) == set(cohorts["dimension"]) == {"all", "industry"}
    row = quarter(nrr, "FY2024-Q2", "industry", "NA")
    assert (row["starting_arr"], row["nrr"], row["grr"]) == (
        Decimal("100000"),
        pytest.approx(0.95),
        pytest.approx(0.75),
    )


# Cohort decomposition. FY2024-Q1 cohort: A, B, C; FY2024-Q2 cohort: D. ARR by quarter index:
#   A  100 100 120 150      expands
#   B  200 200 100 100      contracts
#   C   50   0   0  60      churns, comes back at 3
#   D    0  80   0  40      new at 1, churns at 2, back at 3 (below its start)
DECOMPOSED = {
    "A": [100, 100, 120, 150],
    "B": [200, 200, 100, 100],
    "C": [50, 0, 0, 60],
    "D": [0, 80, 0, 40],
}


def test_cohort_arr_is_split_into_expansion_contraction_and_churn():
    _, cohorts = reports(DECOMPOSED)
    rows = cohorts.filter(pl.col("dimension") == "all").select(
        "cohort_quarter",
        "age",
        "starting_arr",
        "expansion_arr",
        "contraction_arr",
        "churn_arr",
        "arr",
        "reactivated_customers",
    )
    assert rows.rows() == [
        # FY2024-Q1: start A100 + B200 + C50 = 350.
        ("FY2024-Q1", 0, d(350), d(0), d(0), d(0), d(350), 0),
        # C churns: 350 - 50 = 300.
        ("FY2024-Q1", 1, d(350), d(0), d(0), d(50), d(300), 0),
        # A +20; B -100; C -50: 350 + 20 - 100 - 50 = 220.
        ("FY2024-Q1", 2, d(350), d(20), d(100), d(50), d(220), 0),
        # A +50; B -100; C back at 60 against its 50: +10, and reactivated (0 at 1 and 2):
        # 350 + 60 - 100 - 0 = 310 = 150 + 100 + 60.
        ("FY2024-Q1", 3, d(350), d(60), d(100), d(0), d(310), 1),
        # FY2024-Q2: D 80.
        ("FY2024-Q2", 0, d(80), d(0), d(0), d(0), d(80), 0),
        ("FY2024-Q2", 1, d(80), d(0), d(0), d(80), d(0), 0),
        # D back at 40 against its 80: a contraction of 40, reactivated.
        ("FY2024-Q2", 2, d(80), d(0), d(40), d(0), d(40), 1),
    ]
    # Unchanged figures beside them: FY2024-Q1 at age 3 keeps A100 + B100 + C50 of 350.
    q1 = cohorts.filter((pl.col("dimension") == "all") & (pl.col("cohort_quarter") == "FY2024-Q1"))
    assert q1["gross_retention"][3] == pytest.approx(250 / 350)
    assert q1["net_retention"][3] == pytest.approx(310 / 350)


def test_reactivated_customers_count_members_back_after_a_zero_snapshot():
    # R: 0 at 1, back at 2 and 3 (counted at both ages); F: never zero; Z: 0 at 2 and 3
    # (not back); L: back at 3 only after two zero quarters.
    _, cohorts = reports(
        {"R": [10, 0, 10, 20], "F": [10, 5, 10, 10], "Z": [10, 10, 0, 0], "L": [10, 0, 0, 5]}
    )
    rows = cohorts.filter(pl.col("dimension") == "all")
    assert rows.select("age", "active_customers", "reactivated_customers").rows() == [
        (0, 4, 0),
        (1, 2, 0),  # F, Z active; none back
        (2, 2, 1),  # R back; F active
        (3, 3, 2),  # R and L back; F active
    ]


def test_the_decomposition_compares_both_snapshots_at_the_later_rate():
    # X: 1,000 EUR a year; EUR 0.10 at index 0 and 0.11 at index 1: ARR 100 then 110 USD,
    # with nothing changed but the rate. Restated at index 1's rate its start is 110 too.
    movements, quarters, restated = history_frames({"X": [100, 110]})
    restated = pl.concat(
        [
            restated.filter(pl.col("rate_index") != 1),
            pl.LazyFrame(
                {"customer_id": ["X"], "snapshot_index": [0], "rate_index": [1], "arr": [d(110)]},
                schema=restated.collect_schema(),
            ),
        ]
    )
    cohorts = cohort_retention(movements, quarters, restated).collect()
    age_one = cohorts.filter((pl.col("dimension") == "all") & (pl.col("age") == 1))
    assert age_one.select("starting_arr", "expansion_arr", "contraction_arr", "arr").rows() == [
        (d(110), d(0), d(0), d(110))
    ]
