"""Retention reports: NRR/GRR with TTM, and cohort retention (metrics.md), per period grain.

Pure Polars, LazyFrame -> LazyFrame, collected once by the caller. Inputs come from the
dbt marts: the ARR bridge (the quarterly S, E, C, Ch per slice: summed once, in dbt), the
movement table, the fiscal quarters, and the restated ARR pairs (a customer's ARR at an
earlier snapshot converted at a later quarter's rate). No currency arithmetic happens here:
amounts are only summed, so they reconcile exactly with the movement table. Money stays
Decimal; only the ratios are floats. The slice dimensions and the TTM lookback are the dbt
project's vars (pipeline.dbt_project), so both engines cut and look back the same way.

Every function takes the grain (QUARTER by default, or MONTH: the monthly marts of
NRR_PERIODS=quarter,month): which index, label and date columns the marts and the reports
have, and how many periods back TTM looks. rpt_nrr_monthly and rpt_cohort_retention_monthly
come from the very functions that make rpt_nrr_quarterly and rpt_cohort_retention.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.dbt_project import period_grains, slice_dimensions, ttm_lookback_periods

# A customer with no value for a dimension is in the slice '': no delivered value can be
# blank (landing reads blank as missing), so it never merges with a value such as "(blank)".
BLANK_SLICE_VALUE = ""
MONEY = pl.Decimal(38, 6)


@dataclass(frozen=True)
class Grain:
    """A reporting grain as the marts spell it (var period_grains, as the dbt macro
    period_grain reads it): the spine's index, label and date columns, the cohort column,
    and the dbt models holding the grain's spine, movements, bridge and restated pairs."""

    name: str  # quarter | month (var period_grains)
    index: str
    number: str
    label: str
    start: str
    end: str
    cohort: str
    spine: str
    movements: str
    bridge: str
    restated: str

    @property
    def columns(self) -> tuple[str, ...]:
        """The period columns every report row starts with."""
        return (
            "fiscal_year",
            self.number,
            self.label,
            self.start,
            self.end,
            "snapshot_date",
            "is_complete",
        )

    @property
    def lookback(self) -> int:
        """TTM compares a period with the snapshot this many periods back: 4 quarters, 12
        months (var ttm_lookback_months, declared once in dbt_project.yml)."""
        return ttm_lookback_periods(self.name)


def grain(name: str) -> Grain:
    """A grain as dbt_project.yml declares it (var period_grains, read by the dbt macro
    period_grain too)."""
    declared = period_grains()[name]
    models = declared["models"]
    return Grain(
        name=declared["name"],
        **{field: declared[field] for field in ("index", "number", "label", "start", "end")},
        cohort=declared["cohort"],
        **{step: models[step] for step in ("spine", "movements", "bridge", "restated")},
    )


QUARTER = grain("quarter")
MONTH = grain("month")
QUARTER_COLUMNS = QUARTER.columns
SLICE_KEY = ("dimension", "dimension_value")
# The reports this module builds (written to the warehouse's main schema), each published with
# every report in this row order; the monthly ones (MONTHLY_REPORTS) only when NRR_PERIODS
# builds months (report_tables).
REPORT_TABLES = {
    "rpt_nrr_quarterly": "quarter_start, dimension, dimension_value",
    "rpt_cohort_retention": "cohort_quarter, age, dimension, dimension_value",
    "rpt_nrr_methods": "quarter_start, dimension, dimension_value, method",
    "rpt_nrr_monthly": "month_start, dimension, dimension_value",
    "rpt_cohort_retention_monthly": "cohort_month, age, dimension, dimension_value",
    "rpt_account_watchlist": "customer_id",
}
MONTHLY_REPORTS = ("rpt_nrr_monthly", "rpt_cohort_retention_monthly")


def report_tables(months: bool = False) -> dict[str, str]:
    """REPORT_TABLES built by a night: the monthly reports only when months are built."""
    return {
        name: order
        for name, order in REPORT_TABLES.items()
        if months or name not in MONTHLY_REPORTS
    }


def customer_dimensions(movements: pl.LazyFrame) -> pl.LazyFrame:
    """customer_id and its value of each slice dimension (BLANK_SLICE_VALUE when it has none):
    the one place a customer's slices are decided."""
    dimensions = slice_dimensions()
    return movements.group_by("customer_id").agg(
        pl.col(d).first().fill_null(BLANK_SLICE_VALUE) for d in dimensions
    )


def customer_slices(movements: pl.LazyFrame) -> pl.LazyFrame:
    """customer_id, dimension, dimension_value: each customer in all/all and its own slices."""
    customers = customer_dimensions(movements)
    parts = [
        customers.select("customer_id", dimension=pl.lit("all"), dimension_value=pl.lit("all"))
    ]
    parts += [
        customers.select("customer_id", dimension=pl.lit(d), dimension_value=pl.col(d))
        for d in slice_dimensions()
    ]
    return pl.concat(parts)


def sum_by_slice(
    rows: pl.LazyFrame, movements: pl.LazyFrame, keys: list[str], sums: dict[str, pl.Expr]
) -> pl.LazyFrame:
    """Per key and slice, the additive aggregates `sums` (sums and counts) of per-customer
    `rows`: the same figures as joining each row to every slice of its customer
    (customer_slices) and grouping, computed without copying the rows once per slice: the
    rows are grouped once by every dimension at a time, and each slice is summed from those
    groups."""
    dimensions = slice_dimensions()
    names = list(sums)
    return (
        rows.join(customer_dimensions(movements), on="customer_id")
        .group_by(*keys, *dimensions)
        .agg(**sums)
        .with_columns(pl.lit("all").alias("all"))
        # One row per group and slice it belongs to (read once: unpivot, not one branch per
        # slice), then each slice summed.
        .unpivot(
            on=["all", *dimensions],
            index=[*keys, *names],
            variable_name="dimension",
            value_name="dimension_value",
        )
        .group_by(*keys, *SLICE_KEY)
        .agg(pl.col(names).sum())
    )


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator as a float; null where the denominator is 0 or missing."""
    return (
        pl.when(denominator > 0)
        .then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))
        .otherwise(None)
    )


def _smaller(a: str, b: str) -> pl.Expr:
    return pl.when(pl.col(a) < pl.col(b)).then(pl.col(a)).otherwise(pl.col(b))


def _decomposed(start: str = "starting_arr", end: str = "end_arr") -> dict[str, pl.Expr]:
    """A member's end ARR against its start ARR as expansion (end > start), contraction
    (0 < end < start) and churn (end = 0: all of start), so that start + expansion -
    contraction - churn = end exactly, and start - contraction - churn = min(start, end)."""
    zero = pl.lit(0).cast(MONEY)
    s, e = pl.col(start), pl.col(end)
    return {
        "expansion_arr": pl.when(e > s).then(e - s).otherwise(zero),
        "contraction_arr": pl.when((e > 0) & (e < s)).then(s - e).otherwise(zero),
        "churn_arr": pl.when(e == 0).then(s).otherwise(zero),
    }


def _with_quarter_index(
    movements: pl.LazyFrame, quarters: pl.LazyFrame, grain: Grain = QUARTER
) -> pl.LazyFrame:
    """Rows labelled by period (movements, bridge) with the grain's index beside the label."""
    return movements.join(quarters.select(grain.label, grain.index), on=grain.label)


def ttm_pairs(
    movements: pl.LazyFrame,
    quarters: pl.LazyFrame,
    restated: pl.LazyFrame,
    grain: Grain = QUARTER,
) -> pl.LazyFrame:
    """customer_id, the period index (quarter_index, month_index), base_arr, end_arr,
    kept_arr: every customer with ARR > 0 twelve months before q (grain.lookback: 4 quarters,
    12 months), its ARR then (base_arr) and at q (end_arr, 0 when it has none), both at q's
    rate, and the smaller of the two (kept_arr).

    The base of TTM NRR/GRR and of the TTM methods of rpt_nrr_methods."""
    lookback = grain.lookback
    year_ago = restated.filter(
        (pl.col("rate_index") == pl.col("snapshot_index") + lookback) & (pl.col("arr") > 0)
    ).select("customer_id", pl.col("rate_index").alias(grain.index), base_arr="arr")
    return (
        year_ago.join(
            _with_quarter_index(movements, quarters, grain).select(
                "customer_id", grain.index, "end_arr"
            ),
            on=["customer_id", grain.index],
            how="left",
        )
        .with_columns(pl.col("end_arr").fill_null(pl.lit(0).cast(MONEY)))
        .with_columns(kept_arr=_smaller("end_arr", "base_arr"))
    )


# ttm_sums' base of every TTM pair: the customers with ARR > 0 four quarters back.
TTM_BASE = "ttm"
# What ttm_sums adds up per base (columns {base}_{part}).
TTM_PARTS = ("base_arr", "end_arr", "kept_arr", "customers", "retained_customers")


def ttm_sums(
    movements: pl.LazyFrame,
    quarters: pl.LazyFrame,
    restated: pl.LazyFrame,
    bases: dict[str, pl.Expr] | None = None,
    grain: Grain = QUARTER,
) -> pl.LazyFrame:
    """One pass over the TTM pairs (ttm_pairs) in every slice of their customer: per period
    index (grain.index) and slice, for the base of every pair (TTM_BASE) and each further
    named base (a condition on base_arr and end_arr, e.g. rpt_nrr_methods' min-ARR base),
    the sums a TTM ratio is made of: {base}_base_arr, {base}_end_arr, {base}_kept_arr,
    {base}_customers and {base}_retained_customers (those with ARR > 0 at q).

    rpt_nrr_quarterly's TTM columns and every TTM method of rpt_nrr_methods read this one
    frame, so the pairs are joined to the slices and summed once per run."""
    # Every pair has base_arr > 0 (ttm_pairs): written as a column condition, it is counted per row.
    conditions = {TTM_BASE: pl.col("base_arr") > 0, **(bases or {})}
    zero = pl.lit(0).cast(MONEY)
    sums: dict[str, pl.Expr] = {}
    for base, condition in conditions.items():
        for part in ("base_arr", "end_arr", "kept_arr"):
            sums[f"{base}_{part}"] = pl.when(condition).then(pl.col(part)).otherwise(zero).sum()
        sums[f"{base}_customers"] = condition.sum().cast(pl.Int64)
        sums[f"{base}_retained_customers"] = (
            (condition & (pl.col("end_arr") > 0)).sum().cast(pl.Int64)
        )
    return sum_by_slice(
        ttm_pairs(movements, quarters, restated, grain), movements, [grain.index], sums
    )


def nrr_quarterly(
    bridge: pl.LazyFrame, quarters: pl.LazyFrame, ttm: pl.LazyFrame, grain: Grain = QUARTER
) -> pl.LazyFrame:
    """rpt_nrr_quarterly (rpt_nrr_monthly with grain MONTH: the same rules with fiscal
    months as periods, TTM twelve months back): one row per row of the bridge (period and
    slice with at least one movement row); `ttm` is ttm_sums' frame at the same grain.

    Quarterly NRR = (S + E - C - Ch) / S and GRR = (S - C - Ch) / S over customers with
    start > 0, with S, E, C, Ch the bridge's start, expansion, contraction and churn ARR
    (start_arr is 0 for a customer without ARR at the start, so its sum is S). TTM NRR at q =
    sum ARR(q) / sum ARR(q-4) over customers with ARR(q-4) > 0, TTM GRR = sum min(ARR(q),
    ARR(q-4)) / sum ARR(q-4), both snapshots at q's rate (q-4: grain.lookback periods back).
    """
    quarterly = _with_quarter_index(bridge, quarters, grain).select(
        grain.index,
        *SLICE_KEY,
        starting_arr=pl.col("start_arr"),
        expansion_arr=pl.col("expansion_arr"),
        contraction_arr=pl.col("contraction_arr"),
        churn_arr=pl.col("churn_arr"),
    )
    ttm_columns = ttm.select(
        grain.index,
        *SLICE_KEY,
        ttm_starting_arr=pl.col(f"{TTM_BASE}_base_arr"),
        ttm_arr=pl.col(f"{TTM_BASE}_end_arr"),
        ttm_retained_arr=pl.col(f"{TTM_BASE}_kept_arr"),
    )
    s, e, c, ch = (
        pl.col(n) for n in ("starting_arr", "expansion_arr", "contraction_arr", "churn_arr")
    )
    return (
        quarterly.join(ttm_columns, on=[grain.index, *SLICE_KEY], how="left")
        .join(quarters, on=grain.index)
        .select(
            *grain.columns,
            *SLICE_KEY,
            pl.col("starting_arr", "expansion_arr", "contraction_arr", "churn_arr").cast(MONEY),
            nrr=_ratio(s + e - c - ch, s),
            grr=_ratio(s - c - ch, s),
            ttm_starting_arr=pl.col("ttm_starting_arr").cast(MONEY),
            ttm_arr=pl.col("ttm_arr").cast(MONEY),
            ttm_nrr=_ratio(pl.col("ttm_arr"), pl.col("ttm_starting_arr")),
            ttm_grr=_ratio(pl.col("ttm_retained_arr"), pl.col("ttm_starting_arr")),
        )
        .sort(grain.start, *SLICE_KEY)
    )


def cohort_retention(
    movements: pl.LazyFrame,
    quarters: pl.LazyFrame,
    restated: pl.LazyFrame,
    grain: Grain = QUARTER,
) -> pl.LazyFrame:
    """rpt_cohort_retention: one row per cohort, slice with a member, and age 0..last quarter
    (rpt_cohort_retention_monthly with grain MONTH: monthly cohorts, age in months).

    starting_arr is the cohort's ARR at its first snapshot restated at each age's rate, so
    net, gross and logo retention compare like with like. Each member's ARR at age p against
    its starting ARR (both at the rate of k+p) is split into expansion_arr, contraction_arr
    and churn_arr, so arr = starting_arr + expansion_arr - contraction_arr - churn_arr on
    every row; reactivated_customers are members with ARR > 0 at k+p after a zero snapshot
    since k.
    """
    indexed = _with_quarter_index(movements, quarters, grain)
    # A customer's first zero snapshot after its cohort's: the first movement row ending at 0
    # (a churn row; rows exist only where start or end is > 0, and the snapshot before the
    # first zero after k is > 0).
    first_zero = (
        indexed.filter(pl.col("end_arr") == 0)
        .group_by("customer_id")
        .agg(first_zero_index=pl.col(grain.index).min())
    )
    members = (
        indexed.group_by("customer_id")
        .agg(pl.col(grain.cohort).first())
        .join(
            quarters.select(
                pl.col(grain.label).alias(grain.cohort),
                pl.col(grain.index).alias("cohort_index"),
            ),
            on=grain.cohort,
        )
    )
    ages = members.join_where(
        quarters.select(grain.index), pl.col(grain.index) >= pl.col("cohort_index")
    )
    observed = (
        ages.join(
            indexed.select("customer_id", grain.index, "end_arr"),
            on=["customer_id", grain.index],
            how="left",
        )
        .join(
            restated.select(
                "customer_id",
                pl.col("snapshot_index").alias("cohort_index"),
                pl.col("rate_index").alias(grain.index),
                pl.col("arr").alias("starting_arr"),
            ),
            on=["customer_id", "cohort_index", grain.index],
            how="left",
        )
        .join(first_zero, on="customer_id", how="left")
        .with_columns(
            pl.col("end_arr", "starting_arr").fill_null(pl.lit(0).cast(MONEY)),
        )
        .with_columns(kept_arr=_smaller("end_arr", "starting_arr"), **_decomposed())
        .with_columns(
            reactivated=(pl.col("end_arr") > 0)
            & (pl.col("first_zero_index") < pl.col(grain.index)).fill_null(False)
        )
    )
    sums = {
        "customers": pl.len().cast(pl.Int64),
        "active_customers": (pl.col("end_arr") > 0).sum().cast(pl.Int64),
        "starting_arr": pl.col("starting_arr").sum(),
        "arr": pl.col("end_arr").sum(),
        "retained_arr": pl.col("kept_arr").sum(),
        "expansion_arr": pl.col("expansion_arr").sum(),
        "contraction_arr": pl.col("contraction_arr").sum(),
        "churn_arr": pl.col("churn_arr").sum(),
        "reactivated_customers": pl.col("reactivated").sum().cast(pl.Int64),
    }
    return (
        sum_by_slice(observed, movements, [grain.cohort, "cohort_index", grain.index], sums)
        .join(quarters.select(grain.index, grain.label, "snapshot_date"), on=grain.index)
        .select(
            grain.cohort,
            age=(pl.col(grain.index) - pl.col("cohort_index")).cast(pl.Int64),
            **{grain.label: pl.col(grain.label)},
            snapshot_date=pl.col("snapshot_date"),
            dimension=pl.col("dimension"),
            dimension_value=pl.col("dimension_value"),
            customers=pl.col("customers"),
            active_customers=pl.col("active_customers"),
            starting_arr=pl.col("starting_arr").cast(MONEY),
            arr=pl.col("arr").cast(MONEY),
            net_retention=_ratio(pl.col("arr"), pl.col("starting_arr")),
            gross_retention=_ratio(pl.col("retained_arr"), pl.col("starting_arr")),
            logo_retention=_ratio(pl.col("active_customers"), pl.col("customers")),
            expansion_arr=pl.col("expansion_arr").cast(MONEY),
            contraction_arr=pl.col("contraction_arr").cast(MONEY),
            churn_arr=pl.col("churn_arr").cast(MONEY),
            reactivated_customers=pl.col("reactivated_customers"),
        )
        .sort(grain.cohort, "age", *SLICE_KEY)
    )
