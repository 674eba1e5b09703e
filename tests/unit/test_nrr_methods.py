"""rpt_nrr_methods: each retention method on one hand-made history, figures computed by hand.

Nine quarters, FY2024-Q1 (index 0) .. FY2026-Q1 (index 8), one currency (so restating at a
later rate changes nothing), ARR per quarter:

    index      0    1    2    3    4    5    6    7    8
    A (Ent)  100  100  100  100  120  120  150  150  150   expands twice
    B (Ent)  200  200  200  200  200  100  100  100  100   contracts
    C (SMB)   50   50   50    0    0    0    0    0    0   churns at 3
    D (SMB)    0   80   80   80   80   80    0   40   40   new at 1, churns at 6, back at 7
    E (SMB)    0    0    0    0    0  300  300  300  300   new at 5

The bridge (customers with ARR at the quarter's start; new and reactivated ARR never count):

    index  S    E   C    Ch   NRR          GRR
    0      0    -   -    -    none         none
    1    350    0   0    0    1            1
    2    430    0   0    0    1            1
    3    430    0   0   50    380/430      380/430
    4    380   20   0    0    400/380      1
    5    400    0 100    0    300/400      300/400
    6    600   30   0   80    550/600      520/600
    7    550    0   0    0    1            1            (D's 40 is reactivation)
    8    590    0   0    0    1            1

TTM at q over customers with ARR(q-4) > 0 (base), ARR(q) and min(ARR(q), ARR(q-4)):

    q  base                 sum base  ARR(q)                   sum   kept               sum
    4  A100 B200 C50          350    A120 B200 C0              320   100+200+0          300
    5  A100 B200 C50 D80      430    A120 B100 C0 D80          300   100+100+0+80       280
    6  A100 B200 C50 D80      430    A150 B100 C0 D0           250   100+100+0+0        200
    7  A100 B200 D80          380    A150 B100 D40             290   100+100+40         240
    8  A120 B200 D80          400    A150 B100 D40             290   120+100+40         260
"""

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from pipeline.nrr_methods import (
    KEY,
    NRR_METHODS,
    compounded_quarterly,
    logo_retention,
    method_bases,
    nrr_methods,
    quarterly_bridge,
    reverse_cohort,
    ttm_cohort,
    ttm_cohort_4q_average,
    ttm_cohort_min_arr,
    ttm_weighted_monthly,
)
from pipeline.retention import MONTH, nrr_quarterly, ttm_sums
from tests.unit.histories import bridge_frame, history_frames, quarters_frame

ARR = {
    "A": [100, 100, 100, 100, 120, 120, 150, 150, 150],
    "B": [200, 200, 200, 200, 200, 100, 100, 100, 100],
    "C": [50, 50, 50, 0, 0, 0, 0, 0, 0],
    "D": [0, 80, 80, 80, 80, 80, 0, 40, 40],
    "E": [0, 0, 0, 0, 0, 300, 300, 300, 300],
}
SEGMENTS = {"A": "Ent", "B": "Ent", "C": "SMB", "D": "SMB", "E": "SMB"}
MIN_ARR = Decimal(100)
d = Decimal


@pytest.fixture(scope="module")
def inputs():
    movements, quarters, restated = history_frames(ARR, SEGMENTS)
    return bridge_frame(movements), movements, quarters, restated


def all_slice(frame: pl.LazyFrame) -> dict[int, dict]:
    """quarter_index -> the method's row for all/all."""
    rows = frame.filter(pl.col("dimension") == "all").sort("quarter_index").collect()
    return {row["quarter_index"]: row for row in rows.iter_rows(named=True)}


def ratios(rows: dict[int, dict], column: str) -> dict[int, float | None]:
    return {index: row[column] for index, row in sorted(rows.items())}


def sums_at(inputs, min_arr: Decimal) -> pl.LazyFrame:
    """The TTM sums of both reports (retention.ttm_sums with the methods' bases)."""
    _, movements, quarters, restated = inputs
    return ttm_sums(movements, quarters, restated, method_bases(min_arr))


@pytest.fixture(scope="module")
def sums(inputs):
    return sums_at(inputs, MIN_ARR)


def report_inputs(inputs):
    """rpt_nrr_quarterly's and rpt_nrr_methods' inputs: the bridge, the quarters, the sums."""
    bridge, _, quarters, _ = inputs
    return bridge, quarters, sums_at(inputs, MIN_ARR)


@pytest.fixture(scope="module")
def totals(inputs):
    bridge, _, quarters, _ = inputs
    from pipeline.nrr_methods import bridge_totals

    return bridge_totals(bridge, quarters)


def test_quarterly_bridge(totals):
    rows = all_slice(quarterly_bridge(totals))
    assert ratios(rows, "nrr") == {
        0: None,
        1: 1.0,
        2: 1.0,
        3: pytest.approx(380 / 430),
        4: pytest.approx(400 / 380),
        5: 0.75,
        6: pytest.approx(550 / 600),
        7: 1.0,
        8: 1.0,
    }
    assert ratios(rows, "grr") == {
        0: None,
        1: 1.0,
        2: 1.0,
        3: pytest.approx(380 / 430),
        4: 1.0,
        5: 0.75,
        6: pytest.approx(520 / 600),
        7: 1.0,
        8: 1.0,
    }
    # Q6: S 600 (A120, B100, D80, E300); D churns: 4 in the base, 3 kept.
    six = rows[6]
    assert (six["numerator_arr"], six["denominator_arr"]) == (d(550), d(600))
    assert (six["customers_in_base"], six["retained_customers"]) == (4, 3)


def test_ttm_cohort(sums):
    rows = all_slice(ttm_cohort(sums))
    assert sorted(rows) == [4, 5, 6, 7, 8]  # no base before four quarters of history
    assert [(r["numerator_arr"], r["denominator_arr"]) for r in rows.values()] == [
        (d(320), d(350)),
        (d(300), d(430)),
        (d(250), d(430)),
        (d(290), d(380)),
        (d(290), d(400)),
    ]
    assert ratios(rows, "nrr") == pytest.approx(
        {4: 320 / 350, 5: 300 / 430, 6: 250 / 430, 7: 290 / 380, 8: 290 / 400}
    )
    assert ratios(rows, "grr") == pytest.approx(
        {4: 300 / 350, 5: 280 / 430, 6: 200 / 430, 7: 240 / 380, 8: 260 / 400}
    )
    # Q6: A, B, C, D in the base; C and D have no ARR at 6.
    assert (rows[6]["customers_in_base"], rows[6]["retained_customers"]) == (4, 2)


def test_ttm_cohort_4q_average(sums):
    rows = all_slice(ttm_cohort_4q_average(ttm_cohort(sums)))
    # Defined once ttm_cohort exists at q-3 .. q: from index 7 (4, 5, 6, 7).
    assert {i for i, r in rows.items() if r["nrr"] is not None} == {7, 8}
    assert rows[7]["nrr"] == pytest.approx((320 / 350 + 300 / 430 + 250 / 430 + 290 / 380) / 4)
    assert rows[7]["nrr"] == pytest.approx(0.739128, abs=1e-6)
    assert rows[8]["nrr"] == pytest.approx((300 / 430 + 250 / 430 + 290 / 380 + 290 / 400) / 4)
    assert rows[7]["grr"] == pytest.approx((300 / 350 + 280 / 430 + 200 / 430 + 240 / 380) / 4)
    assert rows[8]["grr"] == pytest.approx((280 / 430 + 200 / 430 + 240 / 380 + 260 / 400) / 4)
    # A mean of four ratios: no single pair of sums, no single base.
    assert {
        (r["numerator_arr"], r["denominator_arr"], r["customers_in_base"]) for r in rows.values()
    } == {(None, None, None)}


def test_compounded_quarterly(totals):
    rows = all_slice(compounded_quarterly(quarterly_bridge(totals)))
    # Index 0 has no bridge NRR (S = 0), so the product exists from index 4 (1 .. 4).
    assert {i for i, r in rows.items() if r["nrr"] is not None} == {4, 5, 6, 7, 8}
    # 4: 1 x 1 x 380/430 x 400/380 = 400/430; 5: 1 x 380/430 x 400/380 x 3/4 = 300/430;
    # 6: 380/430 x 400/380 x 3/4 x 550/600 = 275/430; 7: 400/380 x 3/4 x 550/600 x 1 =
    # 275/380; 8: 3/4 x 550/600 x 1 x 1 = 0.6875.
    assert ratios(rows, "nrr") == pytest.approx(
        {0: None, 1: None, 2: None, 3: None, 4: 400 / 430, 5: 300 / 430}
        | {6: 275 / 430, 7: 275 / 380, 8: 0.6875}
    )
    # GRR: 4: 380/430; 5: 380/430 x 3/4 = 285/430; 6: 380/430 x 3/4 x 520/600 = 247/430;
    # 7: 3/4 x 520/600 = 0.65; 8: the same 0.65.
    assert ratios(rows, "grr") == pytest.approx(
        {0: None, 1: None, 2: None, 3: None, 4: 380 / 430, 5: 285 / 430}
        | {6: 247 / 430, 7: 0.65, 8: 0.65}
    )


def test_ttm_cohort_min_arr(sums, inputs):
    # Only customers with ARR(q-4) >= 100 (C's 50 and D's 80 are out).
    rows = all_slice(ttm_cohort_min_arr(sums))
    assert [
        (i, r["numerator_arr"], r["denominator_arr"], r["customers_in_base"])
        for i, r in rows.items()
    ] == [
        (4, d(320), d(300), 2),  # A 100 -> 120, B 200 -> 200
        (5, d(220), d(300), 2),  # A 100 -> 120, B 200 -> 100
        (6, d(250), d(300), 2),  # A 100 -> 150, B 200 -> 100
        (7, d(250), d(300), 2),  # base at 3: A 100, B 200 (D 80 out)
        (8, d(250), d(320), 2),  # base at 4: A 120, B 200
    ]
    assert ratios(rows, "nrr") == pytest.approx(
        {4: 320 / 300, 5: 220 / 300, 6: 250 / 300, 7: 250 / 300, 8: 250 / 320}
    )
    assert ratios(rows, "grr") == pytest.approx(
        {4: 1.0, 5: 200 / 300, 6: 200 / 300, 7: 200 / 300, 8: 220 / 320}
    )
    # The threshold is inclusive: at 120 only A (120 at index 4) and B are in the base at 8.
    at_120 = all_slice(ttm_cohort_min_arr(sums_at(inputs, Decimal(120))))
    assert at_120[8]["denominator_arr"] == d(320)
    assert at_120[4]["denominator_arr"] == d(200)  # A's 100 at index 0 is below 120


def test_reverse_cohort(sums):
    # Customers with ARR > 0 at both q and q-4: churned ones leave the base.
    rows = all_slice(reverse_cohort(sums))
    assert [
        (i, r["numerator_arr"], r["denominator_arr"], r["customers_in_base"])
        for i, r in rows.items()
    ] == [
        (4, d(320), d(300), 2),  # A, B (C churned)
        (5, d(300), d(380), 3),  # A, B, D
        (6, d(250), d(300), 2),  # A, B (C and D churned)
        (7, d(290), d(380), 3),  # A, B, D (D back)
        (8, d(290), d(400), 3),
    ]
    assert ratios(rows, "grr") == pytest.approx(
        {4: 1.0, 5: 280 / 380, 6: 200 / 300, 7: 240 / 380, 8: 260 / 400}
    )
    ttm = all_slice(ttm_cohort(sums))
    assert all(rows[i]["nrr"] >= ttm[i]["nrr"] for i in rows)  # it flatters


def test_logo_retention(sums):
    rows = all_slice(logo_retention(sums))
    assert [(i, r["retained_customers"], r["customers_in_base"]) for i, r in rows.items()] == [
        (4, 2, 3),  # A, B of A, B, C
        (5, 3, 4),  # A, B, D of A, B, C, D
        (6, 2, 4),  # A, B
        (7, 3, 3),
        (8, 3, 3),
    ]
    assert ratios(rows, "nrr") == pytest.approx({4: 2 / 3, 5: 3 / 4, 6: 2 / 4, 7: 1.0, 8: 1.0})
    assert {(r["grr"], r["numerator_arr"], r["denominator_arr"]) for r in rows.values()} == {
        (None, None, None)
    }
    # By slice: SMB's base at 5 is C and D (ARR at 1), D is kept.
    smb = logo_retention(sums).filter(
        (pl.col("dimension") == "segment") & (pl.col("dimension_value") == "SMB")
    )
    assert smb.filter(pl.col("quarter_index") == 5).collect()["nrr"].to_list() == [0.5]


def test_the_report_has_every_method_on_the_quarterly_grid(inputs):
    report = nrr_methods(*report_inputs(inputs), MIN_ARR).collect()
    quarterly = nrr_quarterly(*report_inputs(inputs)).collect()
    assert report.height == quarterly.height * len(NRR_METHODS)
    assert set(report["method"]) == set(NRR_METHODS)
    assert report.columns == [
        "fiscal_year",
        "fiscal_quarter",
        "quarter_label",
        "quarter_start",
        "quarter_end",
        "snapshot_date",
        "is_complete",
        "dimension",
        "dimension_value",
        "method",
        "numerator_arr",
        "denominator_arr",
        "customers_in_base",
        "retained_customers",
        "nrr",
        "grr",
        "definition",
    ]
    assert report.schema["numerator_arr"] == pl.Decimal(38, 6)
    row = report.filter(
        (pl.col("quarter_label") == "FY2026-Q1")
        & (pl.col("dimension") == "all")
        & (pl.col("method") == "ttm_cohort_min_arr")
    ).row(0, named=True)
    assert row["nrr"] == pytest.approx(250 / 320)
    assert "at least 100 (NRR_METHOD_MIN_ARR" in row["definition"]
    # Before four quarters of history the TTM methods have an empty base: 0 customers.
    first = report.filter(
        (pl.col("quarter_label") == "FY2024-Q1") & (pl.col("method") == "logo_retention")
    )
    assert first["customers_in_base"].to_list() == [0] * first.height


def test_quarterly_bridge_and_ttm_cohort_are_the_quarterly_reports_figures(inputs):
    report = nrr_methods(*report_inputs(inputs), MIN_ARR).collect()
    quarterly = nrr_quarterly(*report_inputs(inputs)).collect()
    key = ["quarter_label", "dimension", "dimension_value"]
    for method, columns in (
        ("quarterly_bridge", ("nrr", "grr")),
        ("ttm_cohort", ("ttm_nrr", "ttm_grr")),
    ):
        methods = report.filter(pl.col("method") == method).select(*key, "nrr", "grr")
        joined = quarterly.select(*key, *columns).join(methods, on=key, how="full", coalesce=True)
        assert joined.height == quarterly.height
        for ours, theirs in zip(("nrr", "grr"), columns, strict=True):
            # Equal to the last bit, nulls included.
            assert joined[ours].to_list() == joined[theirs].to_list(), method


# ttm_weighted_monthly on a monthly history, computed by hand. Twenty-five calendar months,
# January 2024 (index 0) .. January 2026 (24), as-of 2026-01-15 (month 24 and quarter 8,
# FY2026-Q1, both unfinished, with the same snapshot):
#
#     month      0-5   6-11   12-17   18-24
#     A (Ent)    100    100     100     160
#     B (SMB)    200      0       0       0    churns at 6
#     C (SMB)      0     50      50      50    new at 6
#
# Monthly TTM at m (base: ARR(m-12) > 0): for m = 12..17 the base is A 100 + B 200 = 300, ARR(m)
# = 100, kept 100; for m = 18..24 the base is A 100 + C 50 = 150, ARR(m) = 210, kept 150.
# Quarter 7 (FY2025-Q4) ends with month 23: months 12..23, six of each kind:
#     NRR = (6 x 100 + 6 x 210) / (6 x 300 + 6 x 150) = 1860 / 2700
#     GRR = (6 x 100 + 6 x 150) / 2700 = 1500 / 2700
# (the plain mean of the twelve ratios would be (6/3 + 6 x 1.4) / 12 = 0.8667: the weights
# matter). Quarter 8 runs: its month is the as-of month 24, so months 13..24, five of the
# first kind and seven of the second:
#     NRR = (5 x 100 + 7 x 210) / (5 x 300 + 7 x 150) = 1970 / 2550
#     GRR = (5 x 100 + 7 x 150) / 2550 = 1550 / 2550
# Quarters 0..6 end with months 2..20: some of their twelve months have no base (m < 12), so
# the method has no figure there. By slice at quarter 7: Ent (A) 1560 / 1200 and GRR
# 1200 / 1200; SMB (B then C) (6 x 0 + 6 x 50) / (6 x 200 + 6 x 50) = 300 / 1500, GRR the same.
MONTHLY_ARR = {
    "A": [100] * 18 + [160] * 7,
    "B": [200] * 6 + [0] * 19,
    "C": [0] * 6 + [50] * 19,
}
MONTHLY_SEGMENTS = {"A": "Ent", "B": "SMB", "C": "SMB"}
AS_OF = date(2026, 1, 15)


@pytest.fixture(scope="module")
def monthly():
    movements, months, restated = history_frames(MONTHLY_ARR, MONTHLY_SEGMENTS, grain=MONTH)
    months = months.with_columns(
        snapshot_date=pl.when(pl.col("month_index") == 24)
        .then(pl.lit(AS_OF))
        .otherwise(pl.col("snapshot_date")),
        is_complete=pl.col("month_index") < 24,
    )
    quarters = (
        quarters_frame(9)
        .lazy()
        .with_columns(
            snapshot_date=pl.when(pl.col("quarter_index") == 8)
            .then(pl.lit(AS_OF))
            .otherwise(pl.col("snapshot_date")),
            is_complete=pl.col("quarter_index") < 8,
        )
    )
    monthly_sums = ttm_sums(movements, months, restated, grain=MONTH)
    grid = quarters.select("quarter_index").join(
        pl.LazyFrame({"dimension": ["all"], "dimension_value": ["all"]}), how="cross"
    )
    return grid, quarters, months, monthly_sums


def test_ttm_weighted_monthly_weights_the_twelve_monthly_ratios_by_their_denominators(monthly):
    grid, quarters, months, monthly_sums = monthly
    frame = ttm_weighted_monthly(grid, quarters, months, monthly_sums)
    # On the report's grid (as nrr_methods puts it): quarters without any monthly base too.
    rows = all_slice(grid.join(frame, on=list(KEY), how="left"))
    assert ratios(rows, "nrr") == {
        **dict.fromkeys(range(7), None),
        7: pytest.approx(1860 / 2700),
        8: pytest.approx(1970 / 2550),
    }
    assert ratios(rows, "grr") == {
        **dict.fromkeys(range(7), None),
        7: pytest.approx(1500 / 2700),
        8: pytest.approx(1550 / 2550),
    }
    assert (rows[7]["numerator_arr"], rows[7]["denominator_arr"]) == (d(1860), d(2700))
    assert (rows[8]["numerator_arr"], rows[8]["denominator_arr"]) == (d(1970), d(2550))
    assert rows[7]["customers_in_base"] is None and rows[7]["retained_customers"] is None
    by_segment = {
        row["dimension_value"]: row
        for row in frame.filter((pl.col("quarter_index") == 7) & (pl.col("dimension") == "segment"))
        .collect()
        .iter_rows(named=True)
    }
    assert by_segment["Ent"]["nrr"] == pytest.approx(1560 / 1200)
    assert by_segment["Ent"]["grr"] == pytest.approx(1.0)
    assert by_segment["SMB"]["nrr"] == pytest.approx(300 / 1500)
    assert by_segment["SMB"]["grr"] == pytest.approx(300 / 1500)
    assert (by_segment["SMB"]["numerator_arr"], by_segment["SMB"]["denominator_arr"]) == (
        d(300),
        d(1500),
    )


def test_the_monthly_ttm_ratio_at_a_month_is_the_rule_of_ttm_cohort_twelve_months_back(monthly):
    _, _, months, monthly_sums = monthly
    # rpt_nrr_monthly's TTM columns come from the same function as the quarterly report's.
    rows = {
        row["month_index"]: row
        for row in monthly_sums.filter(pl.col("dimension") == "all").collect().iter_rows(named=True)
    }
    assert sorted(rows) == list(range(12, 25))  # a base from month 12 on: 12 months back
    assert (rows[12]["ttm_base_arr"], rows[12]["ttm_end_arr"]) == (d(300), d(100))
    assert (rows[24]["ttm_base_arr"], rows[24]["ttm_end_arr"]) == (d(150), d(210))
    assert (rows[24]["ttm_customers"], rows[24]["ttm_retained_customers"]) == (2, 2)


def test_without_months_ttm_weighted_monthly_is_there_with_no_figures(inputs):
    report = nrr_methods(*report_inputs(inputs), MIN_ARR).collect()
    weighted = report.filter(pl.col("method") == "ttm_weighted_monthly")
    assert weighted.height == nrr_quarterly(*report_inputs(inputs)).collect().height
    for column in ("numerator_arr", "denominator_arr", "customers_in_base", "nrr", "grr"):
        assert weighted[column].null_count() == weighted.height, column
    assert set(weighted["definition"]) == {NRR_METHODS["ttm_weighted_monthly"]}
    assert "Needs NRR_PERIODS=quarter,month" in NRR_METHODS["ttm_weighted_monthly"]
