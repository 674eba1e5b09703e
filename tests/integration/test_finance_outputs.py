"""The workbook and the page of a published report, opened as finance would open them."""

import os
import shutil
from pathlib import Path

import openpyxl
import pytest

from pipeline.cli import EXIT_OK, main
from pipeline.nrr_methods import NRR_METHODS
from tests.integration.crafted import write_crafted_delivery

pytestmark = pytest.mark.integration

SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = "=cmd|' /C calc'!A0"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The crafted delivery as of 2026-06-30 (S churns, P expands) with hostile CRM names."""
    root = tmp_path_factory.mktemp("finance")
    write_crafted_delivery(
        root / "extracts", "2026-06-30", names={"S": SCRIPT_NAME, "P": FORMULA_NAME}
    )
    code = main(["run", "--extracts", str(root / "extracts"), "--home", str(root / "home")])
    assert code == EXIT_OK
    return root / "home" / "reports" / "latest"


def test_workbook_holds_real_numbers_with_formats(report):
    book = openpyxl.load_workbook(report / "nrr_report.xlsx")
    assert book.sheetnames == [
        "Summary",
        "NRR by quarter",
        "Methods",
        "ARR bridge",
        "Expansion by motion",
        "Cohorts net",
        "Cohorts gross",
        "Cohorts logo",
        "Top expanding",
        "Top contracting",
        "Restatements",
        "Quarantine",
        "Settings",
    ]
    summary = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=3)}
    assert summary["Headline quarter (latest complete)"].value == "FY2026-Q2"
    nrr = summary["Quarterly NRR"]
    assert nrr.data_type == "n" and nrr.value == pytest.approx(48000 / 60000)
    assert nrr.number_format == "0.0%"
    assert summary["Quarterly NRR benchmark band"].value == "below 90%: structural problem"
    assert summary["ARR at quarter end (USD)"].value == 48000
    assert summary["TTM NRR"].value == "n/a (needs five quarters)"
    bridge = book["ARR bridge"]
    header = [c.value for c in bridge[1]]
    end = bridge.cell(row=5, column=header.index("end_arr") + 1)
    assert (end.value, end.number_format) == (48000, '#,##0.00 "USD"')
    assert bridge.freeze_panes == "B2"
    assert bridge.column_dimensions["A"].width >= 12


def test_the_methods_sheet_shows_every_method_of_the_headline_quarter(report):
    sheet = openpyxl.load_workbook(report / "nrr_report.xlsx")["Methods"]
    header, *body = sheet.iter_rows()
    columns = [c.value for c in header]
    assert columns == [
        "quarter_label",
        "method",
        "nrr",
        "grr",
        "numerator_arr",
        "denominator_arr",
        "customers_in_base",
        "retained_customers",
        "definition",
    ]
    rows = {row[1].value: {c: cell for c, cell in zip(columns, row, strict=True)} for row in body}
    assert list(rows) == list(NRR_METHODS)  # in the declared order, headline first
    assert {r["quarter_label"].value for r in rows.values()} == {"FY2026-Q2"}
    # FY2026-Q2: S 60,000; P +2,400; S churns 14,400: 48,000 / 60,000 and 45,600 / 60,000.
    bridge = rows["quarterly_bridge"]
    assert (bridge["nrr"].value, bridge["nrr"].number_format) == (pytest.approx(0.8), "0.0%")
    assert bridge["grr"].value == pytest.approx(0.76)
    assert bridge["numerator_arr"].value == 48000
    assert bridge["definition"].value.startswith("(S + E - C - Ch) / S")
    # No quarter four back yet: the TTM methods have no base.
    assert rows["ttm_cohort"]["nrr"].value is None
    assert rows["logo_retention"]["customers_in_base"].value == 0


def test_a_formula_like_crm_name_is_stored_as_text(report):
    book = openpyxl.load_workbook(report / "nrr_report.xlsx")
    sheet = book["Top expanding"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("customer_name") + 1)
    assert cell.value == FORMULA_NAME
    assert cell.data_type == "s"  # a string, never a formula
    contracting = book["Top contracting"]
    assert contracting.cell(row=2, column=header.index("customer_name") + 1).value == SCRIPT_NAME


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


def test_the_page_renders_its_charts_without_errors_or_scripts(report, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1300, "height": 2000})
    errors, dialogs, requests = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((report / "nrr_report.html").as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert page.locator(".js-plotly-plot").count() == 4
    assert page.locator(".js-plotly-plot .main-svg .trace").count() >= 4  # drawn data
    assert page.get_by_text(SCRIPT_NAME, exact=True).count() == 1  # shown as text
    assert page.get_by_text(FORMULA_NAME, exact=True).count() == 1
    page.wait_for_timeout(500)
    assert errors == []
    assert dialogs == []  # the account named <script>alert(1)</script> did not run
    assert [url for url in requests if not url.startswith("file:")] == []  # self-contained
    methods = page.locator("h2", has_text="NRR methods side by side, FY2026-Q2")
    assert methods.count() == 1
    table = page.locator("h2:has-text('NRR methods side by side') + p + table")
    assert table.locator("tbody tr").count() == len(NRR_METHODS)
    assert table.locator("tbody tr").nth(1).locator("td").nth(1).inner_text() == "80.0%"
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 100_000
    page.close()
