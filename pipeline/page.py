"""nrr_report.html: one self-contained page (plotly.js inlined, no network at view time).

Charts hold only aggregates by quarter and cohort; CRM text appears only in the tables, and
every table cell is HTML-escaped, so an account named `<script>…` is shown, never run.
The page stays small whatever the delivery: it lists at most QUARANTINE_ROWS quarantined
rows and cuts every text cell at TEXT_LIMIT characters, each time saying so and where the
full data is.
"""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from pipeline.report_views import BANDS, QUARANTINE_FILES, ReportViews, cut_text, first_rows
from pipeline.workbook import PERCENT_COLUMNS

BAND_COLOURS = ("#f4cccc", "#fce5cd", "#fff2cc", "#d9ead3", "#b6d7a8", "#93c47d")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-bottom: 1.5rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin-bottom: 1.5rem; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.8rem 1rem; min-width: 12rem; }
.card .label { color: #666; font-size: 0.85rem; } .card .value { font-size: 1.4rem; }
table { border-collapse: collapse; margin: 0.5rem 0 2rem; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #eef2f7; } td.text { text-align: left; }
.chart { margin-bottom: 2rem; }
"""
QUARANTINE_ROWS = 200
WIDE = ' style="min-width: 18rem"'
METHODS_NOTE = (
    "The same customers and ARR, quoted the ways companies and benchmarks quote NRR. The "
    "headline is ttm_cohort; every method, quarter and slice is in rpt_nrr_methods."
)
TEXT_LIMIT = 500


def _fmt(value, column: str) -> tuple[str, str]:
    """Display text and CSS class of a cell."""
    if value is None:
        return "", "text"
    if isinstance(value, Decimal):
        if column in PERCENT_COLUMNS:
            return f"{float(value):.1%}", "num"
        return f"{value:,.2f}", "num"
    if isinstance(value, float):
        return f"{value:.1%}", "num"
    if isinstance(value, bool):
        return ("yes" if value else "no"), "text"
    if isinstance(value, int):
        return f"{value:,}", "num"
    if isinstance(value, date):
        return value.isoformat(), "text"
    return str(value), "text"


def html_table(
    frame: pl.DataFrame, full_text_in: str = "marts.duckdb", wide: frozenset[str] = frozenset()
) -> str:
    """The frame as an HTML table; `wide` columns (long text) get room to read."""
    head = "".join(f"<th{WIDE if c in wide else ''}>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for values in frame.iter_rows():
        cells = []
        for column, value in zip(frame.columns, values, strict=True):
            text, css = _fmt(value, column)
            text = cut_text(text, TEXT_LIMIT, full_text_in)
            cells.append(f'<td class="{css}">{html.escape(text)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if not rows:
        rows.append(f'<tr><td class="text" colspan="{frame.width}">none</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _waterfall(views: ReportViews) -> go.Figure:
    quarter = views.bridge.filter(pl.col("quarter_label") == views.headline_quarter)
    row = quarter.row(0, named=True) if quarter.height else dict.fromkeys(quarter.columns, 0)
    steps = [
        ("Start", row.get("start_arr"), "absolute"),
        ("New", row.get("new_arr"), "relative"),
        ("Reactivation", row.get("reactivation_arr"), "relative"),
        ("Expansion", row.get("expansion_arr"), "relative"),
        ("Contraction", -(row.get("contraction_arr") or 0), "relative"),
        ("Churn", -(row.get("churn_arr") or 0), "relative"),
        ("FX", row.get("fx_arr"), "relative"),
        ("End", row.get("end_arr"), "total"),
    ]
    figure = go.Figure(
        go.Waterfall(
            x=[s[0] for s in steps],
            y=[float(s[1] or 0) for s in steps],
            measure=[s[2] for s in steps],
            connector={"line": {"color": "#999"}},
        )
    )
    figure.update_layout(title=f"ARR bridge, {views.headline_quarter}", height=420)
    return figure


def _nrr_bands(views: ReportViews) -> go.Figure:
    totals = views.nrr.filter(pl.col("dimension") == "all")
    figure = go.Figure()
    for (low, high, label), colour in zip(BANDS, BAND_COLOURS, strict=True):
        figure.add_hrect(
            y0=low if low is not None else 0.5,
            y1=high if high is not None else 1.6,
            fillcolor=colour,
            opacity=0.45,
            line_width=0,
            layer="below",
            annotation_text=label,
            annotation_position="left",
        )
    for column, name in (
        ("nrr", "Quarterly NRR"),
        ("grr", "Quarterly GRR"),
        ("ttm_nrr", "TTM NRR"),
        ("ttm_grr", "TTM GRR"),
    ):
        figure.add_trace(
            go.Scatter(
                x=totals["quarter_label"].to_list(),
                y=totals[column].to_list(),
                mode="lines+markers",
                name=name,
            )
        )
    figure.update_layout(
        title="NRR and GRR against the benchmark bands",
        height=460,
        yaxis={"tickformat": ".0%", "range": [0.5, 1.6]},
    )
    return figure


def _heatmap(views: ReportViews) -> go.Figure:
    triangle = views.cohorts["net"]
    ages = [c for c in triangle.columns if c != "cohort_quarter"]
    z = (
        [
            [None if v is None else float(v) for v in row]
            for row in triangle.select(ages).iter_rows()
        ]
        if ages
        else []
    )
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=ages,
            y=triangle["cohort_quarter"].to_list(),
            colorscale="RdYlGn",
            zmin=0.5,
            zmax=1.5,
            hovertemplate="%{y} %{x}: %{z:.1%}<extra></extra>",
        )
    )
    figure.update_layout(title="Cohort net retention", height=520, yaxis={"autorange": "reversed"})
    return figure


def _motions(views: ReportViews) -> go.Figure:
    figure = go.Figure()
    for column in views.motions.columns[1:]:
        figure.add_trace(
            go.Bar(
                x=views.motions["quarter_label"].to_list(),
                y=[float(v) for v in views.motions[column]],
                name=column.removesuffix("_arr").replace("_", " "),
            )
        )
    figure.update_layout(barmode="relative", title="Expansion by motion", height=420)
    return figure


def write_page(views: ReportViews, path: Path, title_note: str) -> None:
    charts = [_waterfall(views), _nrr_bands(views), _heatmap(views), _motions(views)]
    chart_html = "".join(
        f'<div class="chart">{figure.to_html(full_html=False, include_plotlyjs=(i == 0))}</div>'
        for i, figure in enumerate(charts)
    )
    cards = "".join(
        f'<div class="card"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(_fmt(value, "ratio" if kind == "percent" else "x")[0])}'
        "</div></div>"
        for label, value, kind in views.summary
    )
    quarantine, quarantine_note = first_rows(views.quarantine.drop("raw_record"), QUARANTINE_ROWS)
    methods_title = f"NRR methods side by side, {views.headline_quarter}, all customers"
    sections = [
        (methods_title, views.methods.drop("quarter_label")),
        ("NRR by quarter and slice", views.nrr),
        ("ARR bridge", views.bridge),
        ("Expansion by motion", views.motions),
        ("Cohort net retention", views.cohorts["net"]),
        ("Cohort gross retention", views.cohorts["gross"]),
        ("Cohort logo retention", views.cohorts["logo"]),
        (f"Top expanding customers, {views.headline_quarter}", views.top_expanding),
        (f"Top contracting customers, {views.headline_quarter}", views.top_contracting),
        ("Restatements since the previous report", views.restatements),
        ("Quarantine", quarantine),
        ("Settings", views.settings),
    ]
    notes = {
        methods_title: METHODS_NOTE,
        "Restatements since the previous report": views.restatements_note,
        "Quarantine": quarantine_note,
    }
    tables = "".join(
        f"<h2>{html.escape(title)}</h2>"
        + (f"<p>{html.escape(notes[title])}</p>" if notes.get(title) else "")
        + html_table(
            frame,
            QUARANTINE_FILES if title == "Quarantine" else "marts.duckdb",
            frozenset({"definition"}),
        )
        for title, frame in sections
    )
    path.write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Net revenue retention</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Net revenue retention</h1><div class='meta'>{html.escape(title_note)}</div>"
        f"<div class='cards'>{cards}</div>{chart_html}{tables}</body></html>",
        encoding="utf-8",
    )
