"""nrr_report.html: one self-contained dashboard page (plotly.js inlined, no network at view
time), rendered from templates/report.html.j2 with Jinja2.

A slice selector (all customers, each segment, region, CSM, industry) switches the KPI
cards, the charts and the slice's tables in the browser: the figures of every slice are
embedded as JSON (aggregates, and at most TOP_MOVERS customers per list and slice), and the
page's script writes them with textContent, never as HTML. Server-rendered tables are
HTML-escaped cell by cell, so an account named `<script>…` is shown, never run. The page
stays small whatever the delivery: it lists at most QUARANTINE_ROWS quarantined rows and
cuts every text cell at TEXT_LIMIT characters, each time saying so and where the full data
is.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from pipeline.dbt_project import slice_dimensions
from pipeline.report_views import (
    BANDS,
    BRIDGE_STEPS,
    BRIDGE_TOTALS,
    NRR_COLUMNS,
    QUARANTINE_FILES,
    ReportViews,
    axis_floor,
    cut_text,
    dimension_label,
    first_rows,
    label,
)
from pipeline.retention import BLANK_SLICE_VALUE
from pipeline.workbook import PERCENT_COLUMNS

BAND_COLOURS = ("#f4cccc", "#fce5cd", "#fff2cc", "#d9ead3", "#b6d7a8", "#93c47d")
QUARANTINE_ROWS = 200
WIDE = ' style="min-width: 18rem"'
METHODS_NOTE = (
    "The same customers and ARR, quoted the ways companies and benchmarks quote NRR. The "
    "headline is ttm_cohort; every method, quarter and slice is in rpt_nrr_methods."
)
TEXT_LIMIT = 500
TEMPLATES = Path(__file__).resolve().parent / "templates"
MOVER_COLUMNS = ("customer_name", "customer_id", "csm_owner", "movement", "start_arr", "end_arr")
DEFINITIONS = (
    (
        "ARR",
        "12 × the monthly value of the recurring and usage charges in force at a snapshot "
        "(the quarter's last day, or the as-of date for the running quarter), converted at "
        "that snapshot's exchange rate.",
    ),
    (
        "NRR (quarterly)",
        "(start + expansion − contraction − churn) / start, over the customers with ARR at "
        "the quarter's start. New and reactivated customers are not in it.",
    ),
    ("GRR (quarterly)", "(start − contraction − churn) / start: NRR without expansion."),
    (
        "TTM NRR / GRR (headline)",
        "The customers with ARR four quarters back: their ARR now over their ARR then, both "
        "at today's exchange rates.",
    ),
    (
        "FX",
        "Start ARR minus the previous quarter's end ARR: the change of exchange rates only, "
        "never expansion or contraction.",
    ),
    (
        "Cohort retention",
        "Customers grouped by the quarter of their first ARR; each cell is the cohort's ARR "
        "(or customers, for logo retention) at that age over its ARR at age 0.",
    ),
    (
        "Quarantine",
        "Delivered rows that break a rule of the data contract: left out of every figure, "
        "listed with the reason and the ARR they carry.",
    ),
)


def _fmt(value, column: str) -> tuple[str, str]:
    """Display text and CSS class of a cell."""
    if value is None:
        return "", "text"
    if isinstance(value, Decimal):
        if column in PERCENT_COLUMNS:
            return f"{float(value):.1%}", "num"
        return f"{value:,.0f}", "num"
    if isinstance(value, float):
        return f"{value:.1%}", "num"
    if isinstance(value, bool):
        return ("yes" if value else "no"), "text"
    if isinstance(value, int):
        return f"{value:,}", "num"
    if isinstance(value, date):
        return value.isoformat(), "text"
    return str(value), "text"


def _sort_key(value) -> str:
    """What a sortable column sorts a cell by (numbers as numbers, in the page's script)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, Decimal | float | int):
        return repr(float(value))
    return str(value)


def html_table(
    frame: pl.DataFrame, full_text_in: str = "marts.duckdb", wide: frozenset[str] = frozenset()
) -> str:
    """The frame as a sortable HTML table with labelled headers; `wide` columns (long text)
    get room to read."""
    head = "".join(
        f'<th{WIDE if c in wide else ""} title="{html.escape(c)}">{html.escape(label(c))}</th>'
        for c in frame.columns
    )
    rows = []
    for values in frame.iter_rows():
        cells = []
        for column, value in zip(frame.columns, values, strict=True):
            text, css = _fmt(value, column)
            text = cut_text(text, TEXT_LIMIT, full_text_in)
            key = _sort_key(value) if css == "num" else ""
            sort = f' data-v="{html.escape(key)}"' if key else ""
            cells.append(f'<td class="{css}"{sort}>{html.escape(text)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if not rows:
        rows.append(f'<tr><td class="text" colspan="{max(frame.width, 1)}">none</td></tr>')
    return (
        f'<table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _number(value) -> float | None:
    return None if value is None else float(value)


def _records(frame: pl.DataFrame, columns: tuple[str, ...]) -> list[list]:
    """Rows of the columns present, numbers as JSON numbers (display only: the exact
    figures are in the marts)."""
    present = [c for c in columns if c in frame.columns]
    return [
        [
            _number(v)
            if isinstance(v, Decimal | float) or (isinstance(v, int) and not isinstance(v, bool))
            else v
            for v in row
        ]
        for row in frame.select(present).iter_rows()
    ]


def _slices(views: ReportViews) -> list[tuple[str, str]]:
    """(dimension, value) of every slice: all first, then the declared dimensions' values."""
    nrr = views.nrr
    if not {"dimension", "dimension_value"} <= set(nrr.columns):
        return [("all", "all")]
    present = set(nrr.select("dimension", "dimension_value").unique().iter_rows())
    order = ["all", *slice_dimensions()]
    return [("all", "all")] + sorted(
        (s for s in present if s != ("all", "all")),
        key=lambda s: (order.index(s[0]) if s[0] in order else len(order), s[1]),
    )


def _of_slice(frame: pl.DataFrame, dimension: str, value: str) -> pl.DataFrame:
    if not {"dimension", "dimension_value"} <= set(frame.columns):
        return frame.clear() if dimension != "all" else frame
    return frame.filter((pl.col("dimension") == dimension) & (pl.col("dimension_value") == value))


# The watchlist on the page: per slice, the customers needing intervention and the sprint,
# most ARR at risk first, at most this many (the workbook's Watchlist sheet has everyone).
WATCH_ROWS = 25
WATCH_COLUMNS = (
    "customer_name", "customer_id", "csm_owner", "end_arr", "needs_intervention",
    "risk_signals", "arr_at_risk", "expansion_signals", "sprint_rank",
)  # fmt: skip


def _watchlist_of_slice(watchlist: pl.DataFrame, dimension: str, value: str) -> pl.DataFrame:
    """The slice's customers to act on: needing intervention or in the sprint."""
    if not watchlist.height:
        return watchlist
    rows = watchlist.filter(pl.col("needs_intervention") | pl.col("sprint_rank").is_not_null())
    if dimension != "all":
        rows = rows.filter(pl.col(dimension).fill_null(BLANK_SLICE_VALUE) == value)
    return rows.sort(
        ["needs_intervention", "arr_at_risk", "sprint_rank"],
        descending=[True, True, False],
        nulls_last=True,
    ).head(WATCH_ROWS)


def page_data(views: ReportViews) -> dict:
    """Everything the page's script draws, per slice (numbers as floats: display only)."""
    slices = []
    for dimension, value in _slices(views):
        bridge = _of_slice(views.bridge_slices, dimension, value)
        if dimension == "all" and not bridge.height and "end_arr" in views.bridge.columns:
            bridge = views.bridge
        headline = (
            bridge.filter(pl.col("quarter_label") == views.headline_quarter)
            if ("quarter_label" in bridge.columns)
            else bridge.clear()
        )
        floor = axis_floor(_levels(headline.row(0, named=True))) if headline.height else Decimal(0)
        cohorts = _of_slice(views.cohort_slices, dimension, value)
        movers = _of_slice(views.movers, dimension, value)
        slices.append(
            {
                "dimension": dimension,
                "value": value,
                "label": dimension_label("all")
                if dimension == "all"
                else f"{dimension_label(dimension)}: {value}",
                "group": dimension_label(dimension),
                "nrr": _records(_of_slice(views.nrr, dimension, value), NRR_COLUMNS),
                "bridge": _records(
                    bridge,
                    ("quarter_label", *BRIDGE_STEPS, "starting_customers", "ending_customers"),
                ),
                "floor": float(floor),
                "cohorts": _records(
                    cohorts,
                    ("cohort_quarter", "age", "net_retention", "gross_retention", "logo_retention"),
                ),
                "expanding": _records(
                    movers.filter(pl.col("list") == "expanding") if movers.height else movers,
                    (*MOVER_COLUMNS, "expansion_arr"),
                ),
                "losing": _records(
                    movers.filter(pl.col("list") == "losing") if movers.height else movers,
                    (*MOVER_COLUMNS, "lost_arr"),
                ),
                "watchlist": _records(
                    _watchlist_of_slice(views.watchlist, dimension, value), WATCH_COLUMNS
                ),
            }
        )
    return {
        "headline": views.headline_quarter,
        "currency": views.currency,
        "bands": [
            [low, high, text, colour]
            for (low, high, text), colour in zip(BANDS, BAND_COLOURS, strict=True)
        ],
        "labels": {
            c: label(c)
            for c in (
                *NRR_COLUMNS,
                *BRIDGE_STEPS,
                "starting_customers",
                "ending_customers",
                *MOVER_COLUMNS,
                "expansion_arr",
                "lost_arr",
                *WATCH_COLUMNS,
            )
        },
        "watch_columns": list(WATCH_COLUMNS),
        "motions": {
            "quarters": views.motions["quarter_label"].to_list()
            if "quarter_label" in views.motions.columns
            else [],
            "series": [
                [label(c), [_number(v) for v in views.motions[c]]]
                for c in views.motions.columns
                if c != "quarter_label"
            ],
        },
        "slices": slices,
    }


def _levels(row: dict) -> list[Decimal]:
    level, levels = Decimal(0), []
    for step in BRIDGE_STEPS:
        amount = row.get(step) or Decimal(0)
        level = amount if step in BRIDGE_TOTALS else level + amount
        levels.append(level)
    return levels


def _json_for_script(data: dict) -> Markup:
    """JSON that cannot close its <script> element or open a comment."""
    text = json.dumps(data, separators=(",", ":"), default=str)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return Markup(text)


def _quarantine_banner(views: ReportViews) -> dict | None:
    frame = views.quarantine
    if not frame.height:
        return None
    reasons = Counter(frame["reason"].to_list()) if "reason" in frame.columns else Counter()
    arr = frame["arr_at_stake"].sum() if "arr_at_stake" in frame.columns else Decimal(0)
    return {
        "rows": f"{frame.height:,}",
        "arr": f"{Decimal(arr or 0):,.0f} {views.currency}",
        "reasons": ", ".join(
            f"{reason} ({n:,})"
            for reason, n in sorted(reasons.items(), key=lambda r: (-r[1], r[0]))
        ),
    }


def _slices_compared(views: ReportViews) -> pl.DataFrame:
    """Every slice in the headline quarter: the numbers to compare slices side by side."""
    columns = ["dimension", "dimension_value", *NRR_COLUMNS[2:]]
    if "dimension_value" not in views.nrr.columns:
        return pl.DataFrame(schema={c: pl.String for c in columns[:2]})
    return views.nrr.filter(pl.col("quarter_label") == views.headline_quarter).select(
        [c for c in columns if c in views.nrr.columns]
    )


def _quality(views: ReportViews) -> dict:
    frame = views.quality
    if not frame.height:
        return {"expectations": 0, "failed": 0, "suites": 0, "table": ""}
    failed = frame.filter(~pl.col("success")).height
    return {
        "expectations": f"{frame.height:,}",
        "failed": failed,
        "suites": frame["suite"].n_unique(),
        "table": Markup(html_table(frame.sort("success", "suite"), wide=frozenset({"observed"}))),
    }


def write_page(views: ReportViews, path: Path, title_note: str) -> None:
    quarantine, quarantine_note = first_rows(
        views.quarantine.drop("raw_record", strict=False), QUARANTINE_ROWS
    )
    methods_title = f"NRR methods side by side, {views.headline_quarter}, all customers"
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True)
    )
    tables = {
        "slices": html_table(_slices_compared(views)),
        "methods": html_table(
            views.methods.drop("quarter_label", strict=False), wide=frozenset({"definition"})
        ),
        "restatements": html_table(views.restatements),
        "quarantine": html_table(quarantine, QUARANTINE_FILES),
        "settings": html_table(views.settings),
    }
    notes = {
        "methods": METHODS_NOTE,
        "restatements": views.restatements_note,
        "quarantine": quarantine_note,
    }
    page = environment.get_template("report.html.j2").render(
        title_note=title_note,
        headline=views.headline_quarter,
        currency=views.currency,
        methods_title=methods_title,
        tables={name: Markup(table) for name, table in tables.items()},
        notes={name: Markup(html.escape(note)) for name, note in notes.items() if note},
        banner=_quarantine_banner(views),
        quality=_quality(views),
        definitions=DEFINITIONS,
        plotly_js=Markup(get_plotlyjs()),
        data=_json_for_script(page_data(views)),
    )
    path.write_text(page, encoding="utf-8")
