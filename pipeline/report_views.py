"""What finance sees: the published marts shaped into the workbook's and page's views.

Both outputs are built from these views, so they never disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipeline.dbt_project import slice_dimensions
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
# The NRR-by-quarter view's columns (slice aside), as the workbook and the page show them.
NRR_COLUMNS = (
    "quarter_label",
    "is_complete",
    "starting_arr",
    "expansion_arr",
    "contraction_arr",
    "churn_arr",
    "nrr",
    "grr",
    "ttm_nrr",
    "ttm_grr",
)
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
# The bridge in reading order: the previous quarter's end, the currency effect, this
# quarter's start, the movements, the end (contraction and churn shown negative).
BRIDGE_STEPS = (
    "previous_end_arr",
    "fx_arr",
    "start_arr",
    "new_arr",
    "reactivation_arr",
    "expansion_arr",
    "contraction_arr",
    "churn_arr",
    "end_arr",
)
# The steps that are levels (a waterfall's totals), not movements (step_kind 'total' in
# fct_arr_bridge_steps).
BRIDGE_TOTALS = ("previous_end_arr", "start_arr", "end_arr")
TOP_MOVERS = 10

# What the workbook and the page call each column (one mapping for both); a column not
# listed is shown by its name with spaces (age columns: "age 3" -> "Age 3").
COLUMN_LABELS = {
    "arr_at_risk": "ARR at risk",
    "arr_scheduled_to_end": "ARR scheduled to end",
    "arr_ending_soon": "ARR ending soon",
    "usage_arr_previous": "Usage ARR, previous quarter",
    "usage_arr_latest": "Usage ARR, latest",
    "contraction_arr_last_quarter": "Contraction ARR, last quarter",
    "product_churn_arr_last_quarter": "Product churn ARR, last quarter",
    "quarter_label": "Quarter",
    "quarter_start": "Quarter start",
    "snapshot_date": "Snapshot date",
    "is_complete": "Complete",
    "dimension": "Slice by",
    "dimension_value": "Slice",
    "previous_end_arr": "Previous quarter end",
    "fx_arr": "FX",
    "start_arr": "Start ARR",
    "starting_arr": "Start ARR",
    "new_arr": "New",
    "reactivation_arr": "Reactivation",
    "expansion_arr": "Expansion",
    "contraction_arr": "Contraction",
    "churn_arr": "Churn",
    "lost_arr": "Contraction + churn",
    "end_arr": "End ARR",
    "bridge_check": "Check (0)",
    "starting_customers": "Customers at start",
    "ending_customers": "Customers at end",
    "nrr": "NRR",
    "grr": "GRR",
    "ttm_nrr": "TTM NRR",
    "ttm_grr": "TTM GRR",
    "method": "Method",
    "numerator_arr": "Numerator ARR",
    "denominator_arr": "Denominator ARR",
    "customers_in_base": "Customers in base",
    "retained_customers": "Retained customers",
    "definition": "Definition",
    "seat_arr": "Seats",
    "tier_arr": "Tier",
    "price_arr": "Price",
    "usage_arr": "Usage",
    "cross_sell_arr": "Cross-sell",
    "product_churn_arr": "Product churn",
    "cohort_quarter": "Cohort",
    "customer_id": "Customer ID",
    "customer_name": "Customer",
    "csm_owner": "CSM",
    "segment": "Segment",
    "region": "Region",
    "industry": "Industry",
    "movement": "Movement",
    "change": "Change",
    "metric": "Metric",
    "previous_value": "Previous value",
    "new_value": "New value",
    "difference": "Difference",
    "previous_ratio": "Previous ratio",
    "new_ratio": "New ratio",
    "ratio_difference": "Ratio difference",
    "previous_as_of": "Previous as of",
    "delivery_date": "Delivery",
    "source_file": "File",
    "extract": "Extract",
    "row_number": "Row",
    "reason": "Reason",
    "detail": "Detail",
    "raw_record": "Row as delivered",
    "arr_at_stake": "ARR at stake",
    "unvalued": "Cannot be valued",
    "name": "Setting",
    "value": "Value",
    "suite": "Suite",
    "expectation": "Expectation",
    "target": "Column",
    "observed": "Observed",
    "success": "Passed",
}
# How a slice dimension is named in the page's selector and the workbook's pivots.
DIMENSION_LABELS = {"all": "All customers", "csm_owner": "CSM"}


def label(column: str) -> str:
    """The column as the workbook's and the page's headers show it."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


def dimension_label(dimension: str) -> str:
    return DIMENSION_LABELS.get(dimension, label(dimension))


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
    summary: list[tuple[str, object, str]]  # label, value, kind: text | money | percent | integer
    bridge: pl.DataFrame  # all customers, BRIDGE_STEPS in reading order (losses negative)
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
    currency: str = "USD"
    as_of: str = ""
    delivery: str = ""
    bridge_slices: pl.DataFrame = field(default_factory=pl.DataFrame)  # every slice
    cohort_slices: pl.DataFrame = field(default_factory=pl.DataFrame)  # every slice, long
    movers: pl.DataFrame = field(default_factory=pl.DataFrame)  # top movers of every slice
    quality: pl.DataFrame = field(default_factory=pl.DataFrame)  # one row per expectation
    watchlist: pl.DataFrame = field(default_factory=pl.DataFrame)  # by CSM, most at risk first
    csm_books: pl.DataFrame = field(default_factory=pl.DataFrame)  # each CSM's last 4 quarters


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


_COUNTS = ("starting_customers", "ending_customers")


def axis_floor(levels: list[Decimal]) -> Decimal:
    """Where a waterfall's value axis starts: a round number half the levels' spread below
    the lowest level (0 when that is not above 0), so movements are visible next to levels."""
    if not levels:
        return Decimal(0)
    low, high = min(levels), max(levels)
    spread = high - low or abs(high) / 10 or Decimal(1)
    floor = low - spread / 2
    if floor <= 0:
        return Decimal(0)
    step = Decimal(10) ** (len(str(int(spread))) - 1)
    return (floor // step) * step


def bridge_check(row: dict) -> Decimal:
    """start + new + reactivation + expansion + contraction + churn - end of a reading-order
    row (losses negative): 0 when the bridge adds up."""
    steps = ("start_arr", "new_arr", "reactivation_arr", "expansion_arr", "contraction_arr")
    return sum((row[c] for c in (*steps, "churn_arr")), Decimal(0)) - row["end_arr"]


def _movers(con: duckdb.DuckDBPyConnection, quarter: str) -> pl.DataFrame:
    """The headline quarter's top expanding and top losing (contraction or churn) customers
    of every slice: dimension, dimension_value, list (expanding | losing), rank, the
    customer, their CSM and amounts."""
    dimensions = slice_dimensions()
    frame = con.sql(f"""
        select m.customer_id, c.customer_name, m.movement,
               {", ".join(f"coalesce(m.{d}, '') as {d}" for d in dimensions)},
               m.start_arr, m.end_arr, m.expansion_arr, m.contraction_arr + m.churn_arr as lost_arr
        from fct_arr_movements as m left join dim_customers as c using (customer_id)
        where m.quarter_label = '{quarter}'
          and (m.expansion_arr > 0 or m.contraction_arr + m.churn_arr > 0)""").pl()
    parts = []
    for dimension in ("all", *dimensions):
        value = pl.lit("all") if dimension == "all" else pl.col(dimension)
        sliced = frame.with_columns(
            pl.lit(dimension).alias("dimension"), value.alias("dimension_value")
        )
        for name, amount in (("expanding", "expansion_arr"), ("losing", "lost_arr")):
            parts.append(
                sliced.filter(pl.col(amount) > 0)
                .sort(amount, "customer_id", descending=[True, False])
                .group_by("dimension_value", maintain_order=True)
                .head(TOP_MOVERS)
                .with_columns(pl.lit(name).alias("list"))
            )
    columns = [
        "dimension",
        "dimension_value",
        "list",
        "customer_id",
        "customer_name",
        "csm_owner" if "csm_owner" in dimensions else pl.lit("").alias("csm_owner"),
        "movement",
        "start_arr",
        "end_arr",
        "expansion_arr",
        "lost_arr",
    ]
    if not parts:
        return pl.DataFrame()
    return labelled_slices(pl.concat([p.select(columns) for p in parts]))


def quality_rows(folder: Path | None) -> pl.DataFrame:
    """Every expectation of the run's suites (the result files the checks saved in folder):
    suite, expectation, target column, what was observed and whether it passed."""
    rows = []
    for path in sorted(folder.glob("*.json")) if folder and folder.exists() else []:
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for item in result.get("results", []) if isinstance(result, dict) else []:
            config = item.get("expectation_config") or {}
            kwargs = config.get("kwargs") or {}
            target = (
                kwargs.get("column")
                or kwargs.get("column_list")
                or (
                    f"{kwargs['column_A']} vs {kwargs['column_B']}"
                    if "column_A" in kwargs
                    else "table"
                )
            )
            outcome = item.get("result") or {}
            if outcome.get("unexpected_count") is not None:
                observed = (
                    f"{outcome['unexpected_count']:,} of {outcome.get('element_count') or 0:,} "
                    "rows unexpected"
                )
            elif "observed_value" in outcome:
                observed = str(outcome["observed_value"])
            elif (item.get("exception_info") or {}).get("raised_exception"):
                observed = "could not be evaluated"
            else:
                observed = ""
            rows.append(
                {
                    "suite": path.stem,
                    "expectation": str(config.get("type", "")),
                    "target": target if isinstance(target, str) else ", ".join(map(str, target)),
                    "observed": observed,
                    "success": bool(item.get("success")),
                }
            )
    schema = {
        "suite": pl.String,
        "expectation": pl.String,
        "target": pl.String,
        "observed": pl.String,
        "success": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)


# The watchlist as CSMs read it: who, how much, the verdicts, then each signal beside its
# evidence (rpt_account_watchlist; docs/definitions.md, "Account watchlist").
WATCHLIST_COLUMNS = (
    "csm_owner", "customer_id", "customer_name", "segment", "region", "industry", "end_arr",
    "needs_intervention",
    "risk_signals", "arr_at_risk", "expansion_signals", "sprint_rank",
    "usage_down", "usage_up", "usage_arr_previous", "usage_arr_latest",
    "seats_down", "seats_up_two_quarters", "seats_previous", "seats_latest",
    "contracted_last_quarter", "contraction_arr_last_quarter", "product_churn_arr_last_quarter",
    "arr_ending_soon", "arr_scheduled_to_end", "first_scheduled_end",
    "cross_sell_candidate", "products_held",
)  # fmt: skip
# Quarters of each CSM's book shown (the latest complete ones).
BOOK_QUARTERS = 4


def watchlist_view(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """rpt_account_watchlist by CSM, those needing intervention and most ARR at risk first."""
    return (
        con.sql(f"select {', '.join(WATCHLIST_COLUMNS)} from rpt_account_watchlist")
        .pl()
        .sort(
            ["csm_owner", "needs_intervention", "arr_at_risk", "end_arr", "customer_id"],
            descending=[False, True, True, True, False],
            nulls_last=True,
        )
    )


def csm_books_view(nrr: pl.DataFrame) -> pl.DataFrame:
    """Each CSM's book (the csm_owner slice of rpt_nrr_quarterly) over the last BOOK_QUARTERS
    complete quarters."""
    books = nrr.filter(pl.col("dimension") == "csm_owner", pl.col("is_complete"))
    quarters = books.select("quarter_start").unique().sort("quarter_start").tail(BOOK_QUARTERS)
    return (
        labelled_slices(books.join(quarters, on="quarter_start"))
        .sort("dimension_value", "quarter_start")
        .select(pl.col("dimension_value").alias("csm_owner"), *NRR_COLUMNS)
    )


def load_views(
    con: duckdb.DuckDBPyConnection, currency: str, validations: Path | None = None
) -> ReportViews:
    """Read the published tables (in con) into the report's views; validations is the folder
    of the run's check results (the data-quality section), when the checks ran."""

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
    # The bridge in reading order is the published mart fct_arr_bridge_steps (previous end =
    # start - fx, losses negative: the rule is written once, in dbt), one column per step.
    steps = ", ".join(
        f"max(case when steps.step = '{step.removesuffix('_arr')}' then steps.amount end) as {step}"
        for step in BRIDGE_STEPS
    )
    bridge_slices = table(
        "select bridge.quarter_start, bridge.quarter_label, bridge.snapshot_date, "
        f"bridge.is_complete, bridge.dimension, bridge.dimension_value, {steps}, "
        f"{', '.join(f'bridge.{c}' for c in _COUNTS)} "
        "from fct_arr_bridge as bridge inner join fct_arr_bridge_steps as steps "
        "using (quarter_label, dimension, dimension_value) "
        "group by all order by bridge.quarter_start, bridge.dimension, bridge.dimension_value"
    ).drop("quarter_start")
    bridge = bridge_slices.filter(pl.col("dimension") == "all").drop("dimension", "dimension_value")
    headline_bridge = bridge.filter(pl.col("quarter_label") == quarter)
    end_arr = headline_bridge["end_arr"]
    settings = table("select * from report_settings")
    recorded = dict(settings.select("name", "value").iter_rows())
    quarantine = table("select * from quarantine order by extract, row_number")
    summary = [
        ("As of", recorded.get("as_of", ""), "text"),
        ("Delivery", recorded.get("delivery_date", ""), "text"),
        ("Reporting currency", currency, "text"),
        ("Fiscal year starts in month", recorded.get("fiscal_year_start_month", ""), "text"),
        ("Customers rolled up to", recorded.get("rollup", "").replace("_", " "), "text"),
        ("Headline quarter (latest complete)", quarter, "text"),
        ("TTM NRR", row.get("ttm_nrr"), "percent"),
        ("TTM NRR benchmark band", band(row.get("ttm_nrr")), "text"),
        ("TTM GRR", row.get("ttm_grr"), "percent"),
        ("Quarterly NRR", row.get("nrr"), "percent"),
        ("Quarterly NRR benchmark band", band(row.get("nrr")), "text"),
        ("Quarterly GRR", row.get("grr"), "percent"),
        (f"ARR at quarter end ({currency})", end_arr[0] if end_arr.len() else None, "money"),
        (
            "Customers at quarter end",
            headline_bridge["ending_customers"][0] if headline_bridge.height else None,
            "integer",
        ),
        ("Quarantined rows", quarantine.height, "integer"),
        (
            f"Quarantined ARR at stake ({currency})",
            quarantine["arr_at_stake"].sum() if quarantine.height else Decimal(0),
            "money",
        ),
    ]
    methods = table(
        f"""select quarter_label, method, nrr, grr, numerator_arr, denominator_arr,
                   customers_in_base, retained_customers, definition
            from rpt_nrr_methods
            where quarter_label = '{quarter}' and dimension = 'all' and dimension_value = 'all'"""
    )
    cohorts = table("select * from rpt_cohort_retention")
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
            "quarter_label", "dimension", "dimension_value", *NRR_COLUMNS[1:]
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
        quarantine=quarantine,
        restatements=_restatements_for_display(table("select * from restatements")),
        restatements_note=recorded.get("restatements") or "",
        settings=settings,
        currency=currency,
        as_of=recorded.get("as_of", ""),
        delivery=recorded.get("delivery_date", ""),
        bridge_slices=labelled_slices(bridge_slices),
        cohort_slices=labelled_slices(
            cohorts.select(
                "dimension",
                "dimension_value",
                "cohort_quarter",
                "age",
                "net_retention",
                "gross_retention",
                "logo_retention",
            ).sort("dimension", "dimension_value", "cohort_quarter", "age")
        ),
        movers=_movers(con, quarter),
        quality=quality_rows(validations),
        watchlist=watchlist_view(con),
        csm_books=csm_books_view(nrr),
    )
