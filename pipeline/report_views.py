"""What finance sees: the published marts shaped into the workbook's and page's views.

Both outputs are built from these views, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from pipeline.nrr_methods import NRR_METHODS
from pipeline.retention import BLANK_SLICE_VALUE

# NRR benchmark bands (lower bound inclusive).
BANDS = (
    (None, 0.90, "below 90%: structural problem"),
    (0.90, 1.00, "90-100%: retention without growth"),
    (1.00, 1.10, "100-110%: healthy"),
    (1.10, 1.20, "110-120%: strong"),
    (1.20, 1.30, "120-130%: elite"),
    (1.30, None, "130% and above: exceptional"),
)
RATIO_METRICS = ("nrr", "grr", "ttm_nrr", "ttm_grr")
BRIDGE_COLUMNS = (
    "start_arr",
    "new_arr",
    "reactivation_arr",
    "expansion_arr",
    "contraction_arr",
    "churn_arr",
    "fx_arr",
    "end_arr",
)
MOTION_COLUMNS = (
    "seat_arr",
    "tier_arr",
    "price_arr",
    "usage_arr",
    "cross_sell_arr",
    "product_churn_arr",
)
TOP_MOVERS = 10
# Where the full quarantine is when a view shows only part of it.
QUARANTINE_FILES = "quarantine.parquet (and table quarantine in marts.duckdb)"


def band(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    for low, high, label in BANDS:
        if (low is None or ratio >= low) and (high is None or ratio < high):
            return label
    raise AssertionError("bands cover every ratio")


def _utf16_units(text: str) -> int:
    """Length as Excel counts it (UTF-16 code units: an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def cut_text(text: str, limit: int, full_text_in: str) -> str:
    """text when it fits in `limit` UTF-16 units; else as much of its start as fits with a
    visible marker that gives the full length and where the full text is."""
    if len(text) <= limit // 2 or _utf16_units(text) <= limit:
        return text
    marker = f"… [truncated: {len(text):,} characters in total; full text in {full_text_in}]"
    room = limit - _utf16_units(marker)
    head = text[:room]
    while (excess := _utf16_units(head) - room) > 0:
        head = head[: len(head) - excess]
    return head + marker


def first_rows(frame: pl.DataFrame, limit: int) -> tuple[pl.DataFrame, str]:
    """At most `limit` rows of the quarantine, and a note saying how many more there are and
    where they are ("" when every row is shown)."""
    if frame.height <= limit:
        return frame, ""
    return frame.head(limit), (
        f"Showing the first {limit:,} of {frame.height:,} quarantined rows; the other "
        f"{frame.height - limit:,} are in {QUARANTINE_FILES} in this report's folder."
    )


@dataclass(frozen=True)
class ReportViews:
    headline_quarter: str
    summary: list[tuple[str, object, str]]  # label, value, kind: text | money | percent
    bridge: pl.DataFrame
    nrr: pl.DataFrame
    methods: pl.DataFrame  # every NRR method in the headline quarter, all customers
    motions: pl.DataFrame
    cohorts: dict[str, pl.DataFrame]
    top_expanding: pl.DataFrame
    top_contracting: pl.DataFrame
    quarantine: pl.DataFrame
    restatements: pl.DataFrame
    restatements_note: str
    settings: pl.DataFrame


def _triangle(cohorts: pl.DataFrame, value: str) -> pl.DataFrame:
    """cohort_quarter x age, one column per age."""
    total = cohorts.filter(pl.col("dimension") == "all")
    if total.is_empty():
        return pl.DataFrame({"cohort_quarter": []}, schema={"cohort_quarter": pl.String})
    wide = total.pivot(on="age", index="cohort_quarter", values=value, sort_columns=True)
    return wide.rename({c: f"age {c}" for c in wide.columns if c != "cohort_quarter"}).sort(
        "cohort_quarter"
    )


RATIO_COLUMNS = {
    "previous_value": "previous_ratio",
    "new_value": "new_ratio",
    "difference": "ratio_difference",
}


# How people see the slice of customers with no value (BLANK_SLICE_VALUE, '' in the marts).
BLANK_LABEL = "(blank)"


def labelled_slices(frame: pl.DataFrame) -> pl.DataFrame:
    """dimension_value as people read it: the no-value slice labelled (blank)."""
    return frame.with_columns(
        pl.when(pl.col("dimension_value") == BLANK_SLICE_VALUE)
        .then(pl.lit(BLANK_LABEL))
        .otherwise(pl.col("dimension_value"))
        .alias("dimension_value")
    )


def _restatements_for_display(restatements: pl.DataFrame) -> pl.DataFrame:
    """Money changes stay Decimal; ratio changes (NRR, GRR) move to float columns, so the
    workbook and the page show them as percentages, not as currency."""
    ratio = pl.col("metric").is_in(RATIO_METRICS)
    return labelled_slices(restatements).select(
        "quarter_label",
        "dimension",
        "dimension_value",
        "metric",
        "change",
        *[pl.when(ratio).then(None).otherwise(pl.col(c)).alias(c) for c in RATIO_COLUMNS],
        *[
            pl.when(ratio).then(pl.col(c).cast(pl.Float64)).alias(shown)
            for c, shown in RATIO_COLUMNS.items()
        ],
        "previous_as_of",
    )


def load_views(con: duckdb.DuckDBPyConnection, currency: str) -> ReportViews:
    """Read the published tables (in con) into the report's views."""

    def table(sql: str) -> pl.DataFrame:
        return con.sql(sql).pl()

    nrr = table(
        "select * from rpt_nrr_quarterly order by quarter_start, dimension, dimension_value"
    )
    totals = nrr.filter(pl.col("dimension") == "all")
    complete = totals.filter(pl.col("is_complete"))
    headline = (complete if complete.height else totals).tail(1)
    quarter = headline["quarter_label"][0] if headline.height else "n/a"
    row = headline.row(0, named=True) if headline.height else {}
    bridge = table(
        "select quarter_label, snapshot_date, is_complete, "
        + ", ".join(BRIDGE_COLUMNS)
        + ", starting_customers, ending_customers "
        "from fct_arr_bridge where dimension = 'all' order by quarter_start"
    )
    end_arr = bridge.filter(pl.col("quarter_label") == quarter)["end_arr"]
    summary = [
        ("Headline quarter (latest complete)", quarter, "text"),
        ("TTM NRR", row.get("ttm_nrr"), "percent"),
        ("TTM NRR benchmark band", band(row.get("ttm_nrr")), "text"),
        ("TTM GRR", row.get("ttm_grr"), "percent"),
        ("Quarterly NRR", row.get("nrr"), "percent"),
        ("Quarterly NRR benchmark band", band(row.get("nrr")), "text"),
        ("Quarterly GRR", row.get("grr"), "percent"),
        (f"ARR at quarter end ({currency})", end_arr[0] if end_arr.len() else None, "money"),
    ]
    methods = table(
        f"""select quarter_label, method, nrr, grr, numerator_arr, denominator_arr,
                   customers_in_base, retained_customers, definition
            from rpt_nrr_methods
            where quarter_label = '{quarter}' and dimension = 'all' and dimension_value = 'all'"""
    )
    cohorts = table("select * from rpt_cohort_retention")
    settings = table("select * from report_settings")
    movers = table(f"""
        select m.customer_id, c.customer_name, m.csm_owner, m.segment, m.movement,
               m.start_arr, m.end_arr, m.expansion_arr, m.contraction_arr + m.churn_arr as lost_arr
        from fct_arr_movements as m left join dim_customers as c using (customer_id)
        where m.quarter_label = '{quarter}'""")
    return ReportViews(
        headline_quarter=quarter,
        summary=summary,
        bridge=bridge,
        nrr=labelled_slices(nrr).select(
            "quarter_label",
            "dimension",
            "dimension_value",
            "is_complete",
            "starting_arr",
            "expansion_arr",
            "contraction_arr",
            "churn_arr",
            "nrr",
            "grr",
            "ttm_nrr",
            "ttm_grr",
        ),
        methods=methods.sort(
            pl.col("method").replace_strict(
                {m: i for i, m in enumerate(NRR_METHODS)}, default=len(NRR_METHODS)
            ),
            "method",
        ),
        motions=table(
            "select quarter_label, "
            + ", ".join(MOTION_COLUMNS)
            + " from fct_arr_bridge where dimension = 'all' order by quarter_start"
        ),
        cohorts={
            name: _triangle(cohorts, column)
            for name, column in (
                ("net", "net_retention"),
                ("gross", "gross_retention"),
                ("logo", "logo_retention"),
            )
        },
        top_expanding=movers.filter(pl.col("expansion_arr") > 0)
        .sort("expansion_arr", descending=True)
        .head(TOP_MOVERS),
        top_contracting=movers.filter(pl.col("lost_arr") > 0)
        .sort("lost_arr", descending=True)
        .head(TOP_MOVERS),
        quarantine=table("select * from quarantine order by extract, row_number"),
        restatements=_restatements_for_display(table("select * from restatements")),
        restatements_note=settings.filter(pl.col("name") == "restatements")["value"].first() or "",
        settings=settings,
    )
