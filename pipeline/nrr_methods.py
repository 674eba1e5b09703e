"""rpt_nrr_methods: the common ways of quoting NRR, side by side on the same data (issue 15).

One row per quarter x slice of rpt_nrr_quarterly x method. Each method is a small named
function returning the same columns per quarter index and slice (quarter_index, dimension,
dimension_value, numerator_arr, denominator_arr, customers_in_base, retained_customers,
nrr, grr), like functime's point metrics; `nrr_methods` puts them on one grid. The inputs are
exactly those of rpt_nrr_quarterly (the bridge's S, E, C, Ch; int_customer_restated_arr's
TTM pairs, in constant currency at q's rate), so `quarterly_bridge` and `ttm_cohort` are
today's nrr/grr and ttm_nrr/ttm_grr, to the last bit. Money stays Decimal (only summed);
ratios are floats. Definitions with worked examples: docs/definitions.md, "Retention methods".

What the columns mean per method:
- numerator_arr / denominator_arr: the two ARR sums whose ratio is `nrr`, for the methods
  that are one ratio of money (quarterly_bridge, ttm_cohort, ttm_cohort_min_arr,
  reverse_cohort). Null for ttm_cohort_4q_average and compounded_quarterly (a mean and a
  product of four ratios: no single pair of sums gives them; the four quarters' sums are in
  those quarters' ttm_cohort and quarterly_bridge rows) and for logo_retention (a ratio of
  counts: retained_customers / customers_in_base). Null too where a TTM method has no base.
- customers_in_base / retained_customers: the customers the ratio is over and those of them
  with ARR > 0 at q (the quarter's end); null for the mean and the product; 0 for a TTM
  method without a base.
- grr: the gross form (the ARR kept, never more than each customer's base, over the base)
  of quarterly_bridge, ttm_cohort, ttm_cohort_min_arr and reverse_cohort; the mean or product
  of the GRRs for the mean and the product; null for logo_retention.

The monthly method `ttm_weighted_monthly` (the denominator-weighted mean of the twelve monthly
TTM ratios ending at the quarter's last month) reads the monthly grain's TTM sums
(retention.ttm_sums with grain MONTH): numerator_arr / denominator_arr are the sums of the
twelve months' numerators and denominators, customers_in_base / retained_customers are null
(the same customer is counted in up to twelve months). When months are not built
(NRR_PERIODS=quarter) its rows are there with null figures, and its definition says so.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from pipeline.retention import (
    MONEY,
    MONTH,
    QUARTER_COLUMNS,
    SLICE_KEY,
    TTM_BASE,
    _ratio,
    _with_quarter_index,
)

# Every method, in the order people read them, with its one-line definition. The
# rpt_nrr_methods suite's set of methods is this list (validation.suite_lists).
# `{min_arr}` is NRR_METHOD_MIN_ARR.
NRR_METHODS: dict[str, str] = {
    "ttm_cohort": (
        "sum ARR(q) / sum ARR(q-4) over customers with ARR(q-4) > 0, both at q's rate; "
        "GRR sum min(ARR(q), ARR(q-4)) / sum ARR(q-4). The headline."
    ),
    "quarterly_bridge": (
        "(S + E - C - Ch) / S for the quarter, over customers with ARR at its start; "
        "GRR (S - C - Ch) / S."
    ),
    "ttm_cohort_4q_average": (
        "The mean of ttm_cohort NRR (and GRR) over q-3 .. q; none until all four exist."
    ),
    "compounded_quarterly": (
        "The product of the quarterly_bridge NRRs (and GRRs) of q-3 .. q; none until all "
        "four exist."
    ),
    "ttm_weighted_monthly": (
        "The twelve monthly TTM ratios (sum ARR(m) / sum ARR(m-12)) ending at q's last month "
        "(the as-of month while q runs), weighted by their denominators: the sum of their "
        "numerators / the sum of their denominators; GRR likewise. Needs "
        "NRR_PERIODS=quarter,month (null otherwise) and all twelve ratios."
    ),
    "ttm_cohort_min_arr": (
        "ttm_cohort over customers whose ARR(q-4), at q's rate, is at least {min_arr} "
        "(NRR_METHOD_MIN_ARR, reporting currency)."
    ),
    "reverse_cohort": (
        "sum ARR(q) / sum ARR(q-4) over customers with ARR > 0 at both q and q-4: churned "
        "customers leave the base, so it flatters; GRR likewise."
    ),
    "logo_retention": (
        "Customers with ARR > 0 at q among those with ARR > 0 at q-4 (a count); no GRR."
    ),
}
# How many quarters the mean and the product span (q-3 .. q).
WINDOW_QUARTERS = 4
KEY = ("quarter_index", *SLICE_KEY)
METHOD_COLUMNS = (
    "numerator_arr",
    "denominator_arr",
    "customers_in_base",
    "retained_customers",
    "nrr",
    "grr",
)


def definitions(min_arr: Decimal) -> dict[str, str]:
    """The one-line definition of each method, NRR_METHOD_MIN_ARR filled in."""
    return {m: text.replace("{min_arr}", f"{min_arr:,}") for m, text in NRR_METHODS.items()}


def _method_frame(frame: pl.LazyFrame, **columns: pl.Expr) -> pl.LazyFrame:
    """The method columns (missing ones null) with their types, after the key."""
    types = {
        "numerator_arr": MONEY,
        "denominator_arr": MONEY,
        "customers_in_base": pl.Int64,
        "retained_customers": pl.Int64,
        "nrr": pl.Float64,
        "grr": pl.Float64,
    }
    return frame.select(
        *KEY,
        *[columns.get(c, pl.lit(None)).cast(t).alias(c) for c, t in types.items()],
    )


def bridge_totals(bridge: pl.LazyFrame, quarters: pl.LazyFrame) -> pl.LazyFrame:
    """The bridge per quarter index and slice: the grid of rpt_nrr_quarterly."""
    return _with_quarter_index(bridge, quarters)


# The TTM bases beyond ttm_cohort's (every customer with ARR(q-4) > 0), summed in the same
# pass as it (retention.ttm_sums): ttm_cohort_min_arr's and reverse_cohort's.
MIN_ARR_BASE = "min_arr"
BOTH_BASE = "both"


def min_arr_base(min_arr: Decimal) -> pl.Expr:
    """ttm_cohort_min_arr's base: ARR(q-4), at q's rate as compared, at least min_arr."""
    return pl.col("base_arr") >= pl.lit(min_arr).cast(MONEY)


def both_snapshots_base() -> pl.Expr:
    """reverse_cohort's base: ARR > 0 at q as well (churned customers leave it)."""
    return pl.col("end_arr") > 0


def method_bases(min_arr: Decimal) -> dict[str, pl.Expr]:
    """The bases retention.ttm_sums must add up for the methods, by name."""
    return {MIN_ARR_BASE: min_arr_base(min_arr), BOTH_BASE: both_snapshots_base()}


def quarterly_bridge(totals: pl.LazyFrame) -> pl.LazyFrame:
    """(S + E - C - Ch) / S and (S - C - Ch) / S from the bridge; customers_in_base are the
    customers with ARR at the start, retained_customers those of them not churned."""
    s, e, c, ch = (
        pl.col(n) for n in ("start_arr", "expansion_arr", "contraction_arr", "churn_arr")
    )
    return _method_frame(
        totals,
        numerator_arr=s + e - c - ch,
        denominator_arr=s,
        customers_in_base=pl.col("starting_customers"),
        retained_customers=pl.col("starting_customers") - pl.col("churn_customers"),
        nrr=_ratio(s + e - c - ch, s),
        grr=_ratio(s - c - ch, s),
    )


def _cohort_ratios(sums: pl.LazyFrame, base: str) -> pl.LazyFrame:
    """sum end_arr / sum base_arr and sum kept_arr / sum base_arr over one base of ttm_sums;
    no money where the base has no customer."""
    in_base = pl.col(f"{base}_customers") > 0
    numerator = pl.when(in_base).then(pl.col(f"{base}_end_arr"))
    denominator = pl.when(in_base).then(pl.col(f"{base}_base_arr"))
    return _method_frame(
        sums,
        numerator_arr=numerator,
        denominator_arr=denominator,
        customers_in_base=pl.col(f"{base}_customers"),
        retained_customers=pl.col(f"{base}_retained_customers"),
        nrr=_ratio(numerator, denominator),
        grr=_ratio(pl.col(f"{base}_kept_arr"), denominator),
    )


def ttm_cohort(sums: pl.LazyFrame) -> pl.LazyFrame:
    """sum ARR(q) / sum ARR(q-4) over customers with ARR(q-4) > 0 (rpt_nrr_quarterly's
    ttm_nrr, ttm_grr). sums: retention.ttm_sums with method_bases."""
    return _cohort_ratios(sums, TTM_BASE)


def ttm_cohort_min_arr(sums: pl.LazyFrame) -> pl.LazyFrame:
    """ttm_cohort over customers with ARR(q-4) >= min_arr (min_arr_base)."""
    return _cohort_ratios(sums, MIN_ARR_BASE)


def reverse_cohort(sums: pl.LazyFrame) -> pl.LazyFrame:
    """ttm_cohort over customers with ARR > 0 at both q and q-4: churned customers leave the
    base, so its NRR is never below ttm_cohort's (it flatters)."""
    return _cohort_ratios(sums, BOTH_BASE)


def logo_retention(sums: pl.LazyFrame) -> pl.LazyFrame:
    """Customers with ARR > 0 at q among those with ARR > 0 at q-4; no money, no GRR."""
    base, retained = pl.col(f"{TTM_BASE}_customers"), pl.col(f"{TTM_BASE}_retained_customers")
    return _method_frame(
        sums, customers_in_base=base, retained_customers=retained, nrr=_ratio(retained, base)
    )


def _over_window(ratios: pl.LazyFrame, combine: str) -> pl.LazyFrame:
    """Per quarter index and slice of `ratios`, the mean or the product of nrr and of grr
    over the WINDOW_QUARTERS quarters ending at it (oldest first, so the float result never
    depends on row order); null unless the slice has the ratio in every one of them."""
    window = ratios.select(*KEY, nrr_0="nrr", grr_0="grr")
    for back in range(1, WINDOW_QUARTERS):
        earlier = ratios.select(
            (pl.col("quarter_index") + back).alias("quarter_index"),
            *SLICE_KEY,
            pl.col("nrr").alias(f"nrr_{back}"),
            pl.col("grr").alias(f"grr_{back}"),
        )
        window = window.join(earlier, on=KEY, how="left")

    def combined(ratio: str) -> pl.Expr:
        values = [pl.col(f"{ratio}_{back}") for back in reversed(range(WINDOW_QUARTERS))]
        if combine == "mean":
            value = values[0]
            for v in values[1:]:
                value = value + v
            return value / WINDOW_QUARTERS
        value = values[0]
        for v in values[1:]:
            value = value * v
        return value  # null when any quarter's ratio is null

    return _method_frame(window, nrr=combined("nrr"), grr=combined("grr"))


def ttm_cohort_4q_average(ttm: pl.LazyFrame) -> pl.LazyFrame:
    """The mean of ttm_cohort's NRR (and GRR) over q-3 .. q (ttm: ttm_cohort's rows)."""
    return _over_window(ttm, "mean")


def compounded_quarterly(quarterly: pl.LazyFrame) -> pl.LazyFrame:
    """The product of quarterly_bridge's NRRs (and GRRs) over q-3 .. q (quarterly: its rows)."""
    return _over_window(quarterly, "product")


def ttm_weighted_monthly(
    grid: pl.LazyFrame,
    quarters: pl.LazyFrame,
    months: pl.LazyFrame | None = None,
    monthly_sums: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Per quarter and slice, the twelve monthly TTM pairs ending at the quarter's last month
    (the month with the quarter's snapshot date: its last month, or the as-of month while it
    runs): sum of their numerators (ARR(m)) / sum of their denominators (ARR(m-12)), i.e. the
    monthly TTM ratios' mean weighted by their denominators; GRR the kept ARR likewise. Null
    unless the slice has a TTM base in each of the twelve months, and everywhere when months
    are not built (months and monthly_sums None). monthly_sums: retention.ttm_sums at grain
    MONTH; grid: the quarter indexes and slices of the report."""
    if months is None or monthly_sums is None:
        return _method_frame(grid)
    window = MONTH.lookback  # twelve monthly ratios: the months of one TTM span
    last_months = quarters.select("quarter_index", "snapshot_date").join(
        months.select(MONTH.index, "snapshot_date"), on="snapshot_date"
    )
    spans = last_months.join(
        pl.LazyFrame({"back": list(range(window))}, schema={"back": pl.Int64}), how="cross"
    ).select("quarter_index", (pl.col(MONTH.index) - pl.col("back")).alias(MONTH.index))
    ratios = monthly_sums.filter(pl.col(f"{TTM_BASE}_customers") > 0).select(
        MONTH.index,
        *SLICE_KEY,
        numerator=pl.col(f"{TTM_BASE}_end_arr"),
        denominator=pl.col(f"{TTM_BASE}_base_arr"),
        kept=pl.col(f"{TTM_BASE}_kept_arr"),
    )
    summed = (
        spans.join(ratios.with_columns(pl.col(MONTH.index).cast(pl.Int64)), on=MONTH.index)
        .group_by(KEY)
        .agg(
            pl.col("numerator", "denominator", "kept").sum(),
            months=pl.len(),
        )
    )
    every_month = pl.col("months") == window
    numerator = pl.when(every_month).then(pl.col("numerator"))
    denominator = pl.when(every_month).then(pl.col("denominator"))
    return _method_frame(
        summed,
        numerator_arr=numerator,
        denominator_arr=denominator,
        nrr=_ratio(numerator, denominator),
        grr=_ratio(pl.when(every_month).then(pl.col("kept")), denominator),
    )


def nrr_methods(
    bridge: pl.LazyFrame,
    quarters: pl.LazyFrame,
    sums: pl.LazyFrame,
    min_arr: Decimal,
    months: pl.LazyFrame | None = None,
    monthly_sums: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """rpt_nrr_methods: every method on the grid of rpt_nrr_quarterly (its quarters and
    slices), one row per method, with its definition. sums: retention.ttm_sums with
    method_bases(min_arr); months and monthly_sums (int_fiscal_months and retention.ttm_sums
    at grain MONTH) when months are built, for ttm_weighted_monthly."""
    totals = bridge_totals(bridge, quarters)
    grid = totals.select(KEY)
    quarterly = quarterly_bridge(totals)
    ttm = ttm_cohort(sums)
    computed = {
        "ttm_cohort": ttm,
        "quarterly_bridge": quarterly,
        "ttm_cohort_4q_average": ttm_cohort_4q_average(grid.join(ttm, on=KEY, how="left")),
        "compounded_quarterly": compounded_quarterly(quarterly),
        "ttm_weighted_monthly": ttm_weighted_monthly(grid, quarters, months, monthly_sums),
        "ttm_cohort_min_arr": ttm_cohort_min_arr(sums),
        "reverse_cohort": reverse_cohort(sums),
        "logo_retention": logo_retention(sums),
    }
    counted = {"ttm_cohort", "ttm_cohort_min_arr", "reverse_cohort", "logo_retention"}
    texts = definitions(min_arr)
    rows = [
        grid.join(frame, on=KEY, how="left").with_columns(
            *(
                [pl.col("customers_in_base", "retained_customers").fill_null(0)]
                if method in counted
                else []
            ),
            method=pl.lit(method),
            definition=pl.lit(texts[method]),
        )
        for method, frame in ((m, computed[m]) for m in NRR_METHODS)
    ]
    return (
        pl.concat(rows)
        .join(quarters, on="quarter_index")
        .select(*QUARTER_COLUMNS, *SLICE_KEY, "method", *METHOD_COLUMNS, "definition")
        .sort("quarter_start", *SLICE_KEY, "method")
    )
