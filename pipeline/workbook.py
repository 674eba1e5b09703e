"""nrr_report.xlsx: the quarterly workbook finance reviews.

Numbers are real cells with number formats; every text cell is written as a string, so a
CRM name such as `=cmd|' /C calc'!A0` can never become a formula. Text longer than an
Excel cell holds (32,767 characters) is cut with a visible marker, never silently, and the
Quarantine sheet lists at most QUARANTINE_ROWS rows; the full data stays in the marts.

Money cells hold the marts' amount (a float of the six-decimal DECIMAL, so sums and the
bridge's check column add up) and show whole currency units with thousands separators.
Headers are report_views.COLUMN_LABELS, the same the page shows. Each column is as wide as
its widest formatted value (display_width), so no cell shows `#####` at the default zoom.
Every table sheet prints landscape, one page wide, with its header row repeated.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from pipeline.report_views import (
    BRIDGE_STEPS,
    BRIDGE_TOTALS,
    QUARANTINE_FILES,
    ReportViews,
    axis_floor,
    bridge_check,
    cut_text,
    dimension_label,
    first_rows,
    label,
)

PERCENT_COLUMNS = {
    "nrr",
    "grr",
    "ttm_nrr",
    "ttm_grr",
    "net_retention",
    "gross_retention",
    "logo_retention",
}
EXCEL_CELL_LIMIT = 32_767
QUARANTINE_ROWS = 1_000
# Column widths (Excel character units): at least MIN_WIDTH, at most MAX_WIDTH (longer text
# wraps); PADDING characters of room beside the widest value.
MIN_WIDTH = 12
MAX_WIDTH = 60
PADDING = 2
# Cohort colour scales: red below 100 %, white at 100 %, green above; the same for every
# cohort sheet, so a colour means the same ratio everywhere.
COHORT_SCALE = {
    "type": "3_color_scale",
    "min_type": "num",
    "min_value": 0.5,
    "min_color": "#F8696B",
    "mid_type": "num",
    "mid_value": 1.0,
    "mid_color": "#FFFFFF",
    "max_type": "num",
    "max_value": 1.5,
    "max_color": "#63BE7B",
}


def money_format(currency: str) -> str:
    return f'#,##0 "{currency}";-#,##0 "{currency}"'


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook, currency: str):
        self.currency = currency
        self.header = book.add_format(
            {"bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.money = book.add_format({"num_format": money_format(currency)})
        self.percent = book.add_format({"num_format": "0.0%"})
        self.integer = book.add_format({"num_format": "#,##0"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.note = book.add_format({"italic": True, "font_color": "#555555"})


def _kind(value, column: str) -> str:
    """How a cell is written and formatted: blank, bool, percent, money, integer, date, text."""
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Decimal):
        return "percent" if column in PERCENT_COLUMNS or column.startswith("age ") else "money"
    if isinstance(value, float):
        return "percent"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, datetime | date):
        return "date"
    return "text"


def display_text(value, column: str, currency: str) -> str:
    """The cell as Excel shows it with its number format (what its width must fit)."""
    kind = _kind(value, column)
    if kind == "blank":
        return ""
    if kind == "bool":
        return "TRUE" if value else "FALSE"
    if kind == "percent":
        return f"{float(value):.1%}"
    if kind == "money":
        return f"{round(value):,} {currency}"
    if kind == "integer":
        return f"{value:,}"
    if kind == "date":
        return "0000-00-00"
    return str(value)


def display_width(texts: list[str], header: str) -> int:
    """Width that shows every text whole: the widest value or header word, plus padding
    (a header wraps at spaces, so only its longest word must fit)."""
    widest = max([len(t) for t in texts] + [len(w) for w in header.split()] + [0])
    return max(MIN_WIDTH, min(MAX_WIDTH, widest + PADDING))


def _write_cell(
    sheet, row: int, col: int, value, fmt: _Formats, column: str, full_text_in: str
) -> None:
    kind = _kind(value, column)
    if kind == "blank":
        sheet.write_blank(row, col, None)
    elif kind == "bool":
        sheet.write_boolean(row, col, value)
    elif kind == "percent":
        sheet.write_number(row, col, float(value), fmt.percent)
    elif kind == "money":
        sheet.write_number(row, col, float(value), fmt.money)
    elif kind == "integer":
        sheet.write_number(row, col, value, fmt.integer)
    elif kind == "date":
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt.date)
    else:
        sheet.write_string(row, col, cut_text(str(value), EXCEL_CELL_LIMIT, full_text_in))


def _print_setup(sheet, header_rows: tuple[int, int] = (0, 0)) -> None:
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)  # one page wide, as many long as needed
    sheet.repeat_rows(*header_rows)


def _write_table(
    book,
    name: str,
    frame: pl.DataFrame,
    fmt: _Formats,
    full_text_in: str = "marts.duckdb",
) -> object:
    """frame on a sheet of its own: labelled header, widths that fit, frozen header row and
    first column, autofilter, print setup."""
    sheet = book.add_worksheet(name)
    for col, column in enumerate(frame.columns):
        header = label(column)
        sheet.write_string(0, col, header, fmt.header)
        texts = [display_text(v, column, fmt.currency) for v in frame[column]]
        width = display_width(texts, header)
        sheet.set_column(col, col, width, fmt.wrap if width == MAX_WIDTH else None)
    for row, values in enumerate(frame.iter_rows(), start=1):
        for col, (column, value) in enumerate(zip(frame.columns, values, strict=True)):
            _write_cell(sheet, row, col, value, fmt, column, full_text_in)
    sheet.freeze_panes(1, 1)
    if frame.height:
        sheet.autofilter(0, 0, frame.height, max(frame.width - 1, 0))
    _print_setup(sheet)
    return sheet


def _summary(book, views: ReportViews, fmt: _Formats) -> None:
    summary = book.add_worksheet("Summary")
    summary.write_string(0, 0, "Net revenue retention", fmt.title)
    summary.write_string(
        1, 0, f"As of {views.as_of}, delivery {views.delivery}, {views.currency}", fmt.note
    )
    values = []
    for row, (text, value, kind) in enumerate(views.summary, start=2):
        summary.write_string(row, 0, text, fmt.header)
        if value is None:
            shown = "n/a (needs five quarters)" if "TTM" in text else "n/a"
            summary.write_string(row, 1, shown)
        elif kind == "percent":
            summary.write_number(row, 1, float(value), fmt.percent)
            shown = f"{float(value):.1%}"
        elif kind == "money":
            summary.write_number(row, 1, float(value), fmt.money)
            shown = display_text(Decimal(value), "money", views.currency)
        elif kind == "integer":
            summary.write_number(row, 1, int(value), fmt.integer)
            shown = f"{int(value):,}"
        else:
            shown = str(value)
            summary.write_string(row, 1, shown)
        values.append(shown)
    note_row = len(views.summary) + 3
    summary.write_string(note_row, 0, "Restatements", fmt.header)
    summary.write_string(
        note_row, 1, cut_text(views.restatements_note, EXCEL_CELL_LIMIT, "marts.duckdb"), fmt.wrap
    )
    summary.set_column(0, 0, display_width([t for t, _, _ in views.summary], ""))
    summary.set_column(1, 1, max(40, display_width(values, "")))
    summary.freeze_panes(2, 0)
    _print_setup(summary, (0, 1))


def _bridge(book, views: ReportViews, fmt: _Formats) -> None:
    """The bridge in reading order with a check column: a formula (start + movements - end)
    whose cached value is computed here, 0 on every row."""
    frame = views.bridge.with_columns(pl.lit(Decimal(0)).alias("bridge_check"))
    sheet = _write_table(book, "ARR bridge", frame, fmt)
    col = {c: i for i, c in enumerate(frame.columns)}
    parts = ("start_arr", "new_arr", "reactivation_arr", "expansion_arr", "contraction_arr")
    for row, values in enumerate(views.bridge.iter_rows(named=True), start=1):
        cells = [xl_rowcol_to_cell(row, col[c]) for c in (*parts, "churn_arr")]
        formula = f"=ROUND({'+'.join(cells)}-{xl_rowcol_to_cell(row, col['end_arr'])},2)"
        sheet.write_formula(
            row, col["bridge_check"], formula, fmt.money, float(round(bridge_check(values), 2))
        )


def _charts(book, views: ReportViews, fmt: _Formats) -> None:
    """Native Excel charts on a sheet of their own, with the small tables they plot: the
    headline quarter's bridge as a waterfall (an invisible base under rises and falls) and
    NRR/GRR by quarter."""
    sheet = book.add_worksheet("Charts")
    headline = views.bridge.filter(pl.col("quarter_label") == views.headline_quarter)
    headers = ["Step", "Base", "Rise", "Fall", "Level"]
    for col, text in enumerate(headers):
        sheet.write_string(0, col, text, fmt.header)
    if headline.height:
        row = headline.row(0, named=True)
        level = Decimal(0)
        levels = []
        for i, step in enumerate(BRIDGE_STEPS, start=1):
            amount = row[step]
            if step in BRIDGE_TOTALS:
                base, rise, fall, level = Decimal(0), amount, Decimal(0), amount
            else:
                after = level + amount
                base = min(level, after)
                rise, fall = max(amount, Decimal(0)), max(-amount, Decimal(0))
                level = after
            levels.append(level)
            sheet.write_string(i, 0, label(step))
            for col, value in enumerate((base, rise, fall, level), start=1):
                sheet.write_number(i, col, float(round(value, 2)), fmt.money)
        waterfall = book.add_chart({"type": "column", "subtype": "stacked"})
        categories = ["Charts", 1, 0, 9, 0]
        waterfall.add_series(
            {
                "name": "Base",
                "categories": categories,
                "values": ["Charts", 1, 1, 9, 1],
                "fill": {"none": True},
                "border": {"none": True},
            }
        )
        for col, name, colour in ((2, "Rise", "#4E9A57"), (3, "Fall", "#C0504D")):
            waterfall.add_series(
                {
                    "name": name,
                    "categories": categories,
                    "values": ["Charts", 1, col, 9, col],
                    "fill": {"color": colour},
                    "gap": 60,
                }
            )
        waterfall.set_title({"name": f"ARR bridge, {views.headline_quarter} ({fmt.currency})"})
        waterfall.set_legend({"none": True})
        # The axis starts just below the lowest level, so the movements are not slivers.
        waterfall.set_y_axis(
            {
                "num_format": "#,##0",
                "min": float(axis_floor(levels)),
                "major_gridlines": {"visible": True},
            }
        )
        waterfall.set_size({"width": 760, "height": 360})
        sheet.insert_chart("G2", waterfall)
    totals = views.nrr.filter(pl.col("dimension") == "all")
    top = 12
    trend_columns = ("quarter_label", "nrr", "grr", "ttm_nrr", "ttm_grr")
    for col, column in enumerate(trend_columns):
        sheet.write_string(top, col, label(column), fmt.header)
    for i, values in enumerate(totals.select(trend_columns).iter_rows(), start=top + 1):
        for col, (column, value) in enumerate(zip(trend_columns, values, strict=True)):
            _write_cell(sheet, i, col, value, fmt, column, "marts.duckdb")
    if totals.height:
        trend = book.add_chart({"type": "line"})
        last = top + totals.height
        for col in range(1, len(trend_columns)):
            trend.add_series(
                {
                    "name": ["Charts", top, col],
                    "categories": ["Charts", top + 1, 0, last, 0],
                    "values": ["Charts", top + 1, col, last, col],
                    "marker": {"type": "circle"},
                }
            )
        trend.set_title({"name": "NRR and GRR by quarter, all customers"})
        trend.set_y_axis({"num_format": "0%", "min": 0})
        trend.set_size({"width": 760, "height": 360})
        sheet.insert_chart("G21", trend)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 4, display_width([f"{0:,} {fmt.currency}"], "") + 10)
    _print_setup(sheet)


def _segment_pivot(book, views: ReportViews, fmt: _Formats) -> None:
    """NRR, GRR and end ARR by segment (rows) and quarter (columns): a pivot finance can
    read without a pivot table."""
    sheet = book.add_worksheet("Segment pivot")
    nrr, ends = (
        frame.filter(pl.col("dimension") == "segment")
        if {"dimension", "dimension_value"} <= set(frame.columns)
        else pl.DataFrame(schema={"quarter_label": pl.String, "dimension_value": pl.String})
        for frame in (views.nrr, views.bridge_slices)
    )
    quarters = views.nrr.filter(pl.col("dimension") == "all")["quarter_label"].to_list()
    segments = sorted(set(nrr["dimension_value"].to_list()))
    row = 0
    widths = [len(dimension_label("segment"))] + [len(q) for q in quarters]
    blocks = (
        ("NRR", nrr, "nrr"),
        ("GRR", nrr, "grr"),
        (f"End ARR ({views.currency})", ends, "end_arr"),
    )
    for title, frame, column in blocks:
        sheet.write_string(row, 0, title, fmt.title)
        row += 1
        sheet.write_string(row, 0, dimension_label("segment"), fmt.header)
        for col, quarter in enumerate(quarters, start=1):
            sheet.write_string(row, col, quarter, fmt.header)
        values = (
            {
                (q, s): v
                for q, s, v in frame.select("quarter_label", "dimension_value", column).iter_rows()
            }
            if column in frame.columns
            else {}
        )
        for segment in segments:
            row += 1
            sheet.write_string(row, 0, segment)
            widths[0] = max(widths[0], len(segment))
            for col, quarter in enumerate(quarters, start=1):
                value = values.get((quarter, segment))
                _write_cell(sheet, row, col, value, fmt, column, "marts.duckdb")
                widths[col] = max(widths[col], len(display_text(value, column, views.currency)))
        row += 2
    for col, width in enumerate(widths):
        sheet.set_column(col, col, max(MIN_WIDTH, width + PADDING))
    sheet.freeze_panes(0, 1)
    _print_setup(sheet)


def _cohorts(book, name: str, triangle: pl.DataFrame, fmt: _Formats) -> None:
    sheet = _write_table(book, f"Cohorts {name}", triangle, fmt)
    if triangle.height and triangle.width > 1:
        sheet.conditional_format(1, 1, triangle.height, triangle.width - 1, COHORT_SCALE)


def write_workbook(views: ReportViews, path: Path, currency: str) -> None:
    book = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    fmt = _Formats(book, currency)
    _summary(book, views, fmt)
    _charts(book, views, fmt)
    _write_table(book, "NRR by quarter", views.nrr, fmt)
    _write_table(book, "Methods", views.methods, fmt)
    _bridge(book, views, fmt)
    _segment_pivot(book, views, fmt)
    _write_table(book, "Expansion by motion", views.motions, fmt)
    for name, triangle in views.cohorts.items():
        _cohorts(book, name, triangle, fmt)
    _write_table(book, "Top expanding", views.top_expanding, fmt)
    _write_table(book, "Top contracting", views.top_contracting, fmt)
    # One sheet for every CSM (autofilter on the CSM column), not a sheet each: a CSM's rows
    # stay one filter away, and the sheet count does not grow with the team.
    _write_table(book, "Watchlist", views.watchlist, fmt)
    _write_table(book, "CSM books", views.csm_books, fmt)
    _write_table(book, "Restatements", views.restatements, fmt)
    quarantine, note = first_rows(views.quarantine, QUARANTINE_ROWS)
    sheet = _write_table(book, "Quarantine", quarantine, fmt, QUARANTINE_FILES)
    if note:
        sheet.write_string(quarantine.height + 2, 0, note)
    _write_table(book, "Settings", views.settings, fmt)
    book.close()
