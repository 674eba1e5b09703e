"""nrr_report.xlsx: the quarterly workbook finance reviews.

Numbers are real cells with number formats; every text cell is written as a string, so a
CRM name such as `=cmd|' /C calc'!A0` can never become a formula. Text longer than an
Excel cell holds (32,767 characters) is cut with a visible marker, never silently, and the
Quarantine sheet lists at most QUARANTINE_ROWS rows; the full data stays in the marts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter

from pipeline.report_views import QUARANTINE_FILES, ReportViews, cut_text, first_rows

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


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook, currency: str):
        self.header = book.add_format(
            {"bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.money = book.add_format({"num_format": f'#,##0.00 "{currency}"'})
        self.percent = book.add_format({"num_format": "0.0%"})
        self.integer = book.add_format({"num_format": "#,##0"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.title = book.add_format({"bold": True, "font_size": 14})


def _write_cell(
    sheet, row: int, col: int, value, fmt: _Formats, column: str, full_text_in: str
) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, Decimal):
        if column in PERCENT_COLUMNS or column.startswith("age "):
            sheet.write_number(row, col, float(value), fmt.percent)
        else:
            sheet.write_number(row, col, float(round(value, 2)), fmt.money)
    elif isinstance(value, float):
        sheet.write_number(row, col, value, fmt.percent)
    elif isinstance(value, int):
        sheet.write_number(row, col, value, fmt.integer)
    elif isinstance(value, datetime | date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt.date)
    else:
        sheet.write_string(row, col, cut_text(str(value), EXCEL_CELL_LIMIT, full_text_in))


def _write_table(
    book,
    name: str,
    frame: pl.DataFrame,
    fmt: _Formats,
    widths: dict[str, int] | None = None,
    full_text_in: str = "marts.duckdb",
) -> object:
    sheet = book.add_worksheet(name)
    for col, column in enumerate(frame.columns):
        sheet.write_string(0, col, column, fmt.header)
        width = (widths or {}).get(column, max(12, min(40, len(column) + 2)))
        sheet.set_column(col, col, width)
    for row, values in enumerate(frame.iter_rows(), start=1):
        for col, (column, value) in enumerate(zip(frame.columns, values, strict=True)):
            _write_cell(sheet, row, col, value, fmt, column, full_text_in)
    sheet.freeze_panes(1, 1)
    if frame.height:
        sheet.autofilter(0, 0, frame.height, max(frame.width - 1, 0))
    return sheet


def write_workbook(views: ReportViews, path: Path, currency: str) -> None:
    book = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    fmt = _Formats(book, currency)
    summary = book.add_worksheet("Summary")
    summary.write_string(0, 0, "Net revenue retention", fmt.title)
    summary.set_column(0, 0, 40)
    summary.set_column(1, 1, 36)
    for row, (label, value, kind) in enumerate(views.summary, start=2):
        summary.write_string(row, 0, label, fmt.header)
        if value is None:
            summary.write_string(row, 1, "n/a (needs five quarters)" if "TTM" in label else "n/a")
        elif kind == "percent":
            summary.write_number(row, 1, float(value), fmt.percent)
        elif kind == "money":
            summary.write_number(row, 1, float(round(value, 2)), fmt.money)
        else:
            summary.write_string(row, 1, str(value))
    note_row = len(views.summary) + 3
    summary.write_string(note_row, 0, "Restatements", fmt.header)
    summary.write_string(
        note_row, 1, cut_text(views.restatements_note, EXCEL_CELL_LIMIT, "marts.duckdb")
    )
    summary.freeze_panes(2, 0)

    _write_table(book, "NRR by quarter", views.nrr, fmt)
    _write_table(book, "Methods", views.methods, fmt, {"method": 24, "definition": 100})
    _write_table(book, "ARR bridge", views.bridge, fmt)
    _write_table(book, "Expansion by motion", views.motions, fmt)
    for name, triangle in views.cohorts.items():
        sheet = _write_table(book, f"Cohorts {name}", triangle, fmt)
        if triangle.height and triangle.width > 1:
            sheet.conditional_format(
                1,
                1,
                triangle.height,
                triangle.width - 1,
                {
                    "type": "3_color_scale",
                    "min_color": "#F8696B",
                    "mid_color": "#FFEB84",
                    "max_color": "#63BE7B",
                },
            )
    _write_table(book, "Top expanding", views.top_expanding, fmt, {"customer_name": 36})
    _write_table(book, "Top contracting", views.top_contracting, fmt, {"customer_name": 36})
    _write_table(book, "Restatements", views.restatements, fmt)
    quarantine, note = first_rows(views.quarantine, QUARANTINE_ROWS)
    sheet = _write_table(
        book, "Quarantine", quarantine, fmt, {"detail": 60, "raw_record": 80}, QUARANTINE_FILES
    )
    if note:
        sheet.write_string(quarantine.height + 2, 0, note)
    _write_table(book, "Settings", views.settings, fmt, {"name": 28, "value": 40})
    book.close()
