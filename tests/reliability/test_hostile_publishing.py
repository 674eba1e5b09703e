"""Mistaken and hostile deliveries against the published report (issue 18).

A history line cut short by a full disk, text longer than an Excel cell, a quarantine of
thousands of long rows: each is shown here to leave every report readers saw in place and the
outputs honest about what they leave out.
"""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl

from pipeline.page import write_page
from pipeline.publishing import HISTORY, place_and_show, remove_crash_leftovers
from pipeline.report_views import ReportViews, cut_text, label
from pipeline.workbook import write_workbook
from tests.unit.factories import QUARANTINE_SCHEMA


def _report(folder: Path, run: str) -> Path:
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"run_id": run}))
    return folder


def _publish(reports: Path, as_of: date, run: str) -> Path:
    """What publish_report does around the report's files: clean up, then place and show."""
    remove_crash_leftovers(reports)
    return place_and_show(reports, _report(reports / f".staging-{run}", run), as_of)


def _run_ids(reports: Path) -> dict[str, str]:
    return {
        p.name: json.loads((p / "manifest.json").read_text())["run_id"]
        for p in reports.iterdir()
        if p.is_dir() and not p.is_symlink()
    }


def test_a_torn_history_line_then_two_publishes_keep_every_folder_and_reuse_no_name(tmp_path):
    reports = tmp_path
    _report(reports / "2026-09-30", "a")
    _report(reports / "2026-10-01", "b")
    (reports / "latest").symlink_to("2026-10-01")
    # `latest` showed 2026-09-30, then 2026-10-01; the disk filled while 2026-10-01's line
    # was appended, so the history ends in the middle of a line.
    (reports / HISTORY).write_text(
        '{"folder": "2026-09-30", "switched_at": "2026-09-30T03:00:00+00:00"}\n{"folder": "2026-1'
    )
    first = _publish(reports, date(2026, 10, 2), "c")
    second = _publish(reports, date(2026, 10, 1), "d")  # the date of the lost line again

    assert (first.name, second.name) == ("2026-10-02", "2026-10-01.2")
    assert os.readlink(reports / "latest") == "2026-10-01.2"
    assert _run_ids(reports) == {
        "2026-09-30": "a",
        "2026-10-01": "b",  # shown, lost from the history, still there and unchanged
        "2026-10-02": "c",
        "2026-10-01.2": "d",
    }
    lines = (reports / HISTORY).read_text().splitlines()
    assert lines[1] == '{"folder": "2026-1'  # the torn line, left as it was
    assert [json.loads(line)["folder"] for line in (lines[0], *lines[2:])] == [
        "2026-09-30",
        "2026-10-02",
        "2026-10-01.2",
    ]


QUARANTINE = QUARANTINE_SCHEMA


def _views(quarantine: pl.DataFrame) -> ReportViews:
    """A report with no figures (every table empty) and the given quarantine."""
    nrr = pl.DataFrame(
        schema={
            "quarter_label": pl.String,
            "dimension": pl.String,
            **{c: pl.Float64 for c in ("nrr", "grr", "ttm_nrr", "ttm_grr")},
        }
    )
    empty = pl.DataFrame(schema={"quarter_label": pl.String})
    triangle = pl.DataFrame(schema={"cohort_quarter": pl.String})
    return ReportViews(
        headline_quarter="n/a",
        summary=[("Headline quarter (latest complete)", "n/a", "text")],
        bridge=empty,
        nrr=nrr,
        methods=empty,
        motions=empty,
        cohorts={"net": triangle, "gross": triangle, "logo": triangle},
        top_expanding=empty,
        top_contracting=empty,
        quarantine=quarantine,
        restatements=empty,
        restatements_note="",
        settings=pl.DataFrame({"name": ["reporting_currency"], "value": ["USD"]}),
    )


def _quarantine(rows: int, detail: str, raw_record: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "delivery_date": [date(2026, 9, 30)] * rows,
            "source_file": ["crm_accounts.csv"] * rows,
            "extract": ["crm_accounts"] * rows,
            "row_number": list(range(1, rows + 1)),
            "reason": ["parent_loop"] * rows,
            "detail": [detail] * rows,
            "raw_record": [raw_record] * rows,
            "arr_at_stake": [Decimal("0")] * rows,
            "unvalued": [False] * rows,
        },
        schema=QUARANTINE,
    )


def test_text_longer_than_an_excel_cell_is_cut_visibly_in_the_workbook(tmp_path):
    detail = "loop: " + "A-1 -> " * 5_000  # 35,006 characters
    raw_record = "x" * 1_234_567
    write_workbook(_views(_quarantine(1, detail, raw_record)), tmp_path / "r.xlsx", "USD")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["Quarantine"]
    header, row = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
    shown = {column: row[header.index(label(column))] for column in ("raw_record", "detail")}
    where = "full text in quarantine.parquet (and table quarantine in marts.duckdb)]"
    marker = f"… [truncated: 1,234,567 characters in total; {where}"
    assert shown["raw_record"].endswith(marker)
    assert shown["raw_record"] == "x" * (32_767 - len(marker)) + marker
    assert len(shown["detail"]) == 32_767
    assert shown["detail"].endswith(f"… [truncated: 35,006 characters in total; {where}")
    assert detail.startswith(shown["detail"].split("… [truncated")[0])


def test_an_emoji_counts_twice_towards_the_excel_limit():
    text = "😀" * 20_000  # 20,000 characters, 40,000 UTF-16 units as Excel counts them
    cut = cut_text(text, 32_767, "marts.duckdb")
    assert cut.endswith("… [truncated: 20,000 characters in total; full text in marts.duckdb]")
    assert len(cut.encode("utf-16-le")) // 2 <= 32_767
    assert cut_text("😀" * 16_000, 32_767, "marts.duckdb") == "😀" * 16_000


def test_a_huge_quarantine_keeps_the_page_small_and_says_what_it_leaves_out(tmp_path):
    """A 3,000-account parent loop: each row's detail names the whole loop."""
    loop = " -> ".join(f"ACC-{n:04d}" for n in range(3_000))  # 35,996 characters
    write_page(_views(_quarantine(0, "", "")), tmp_path / "empty.html", "note")
    write_page(_views(_quarantine(3_000, loop, "raw")), tmp_path / "loop.html", "note")
    page = (tmp_path / "loop.html").read_text()
    # 200 rows of at most 500 characters: far from the 108 MB of 3,000 whole details.
    assert len(page.encode()) - (tmp_path / "empty.html").stat().st_size < 250_000
    assert (
        "Showing the first 200 of 3,000 quarantined rows; the other 2,800 are in "
        "quarantine.parquet (and table quarantine in marts.duckdb) in this report&#x27;s "
        "folder." in page
    )
    assert page.count("ACC-0000 -&gt; ACC-0001") == 200
    assert page.count("… [truncated: 35,996 characters in total; full text in quarantine") == 200
    assert "ACC-2999" not in page


def test_the_workbook_lists_at_most_a_thousand_quarantined_rows_and_says_so(tmp_path):
    write_workbook(_views(_quarantine(1_500, "d", "r")), tmp_path / "r.xlsx", "USD")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["Quarantine"]
    rows = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    assert [r[3] for r in rows[1:-1]] == list(range(1, 1_001))  # row_number 1 .. 1,000
    assert rows[-1][0] == (
        "Showing the first 1,000 of 1,500 quarantined rows; the other 500 are in "
        "quarantine.parquet (and table quarantine in marts.duckdb) in this report's folder."
    )
