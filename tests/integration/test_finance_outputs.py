"""The workbook and the page of a published report, opened as finance would open them."""

import os
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline.cli import EXIT_OK, main
from pipeline.nrr_methods import NRR_METHODS
from pipeline.report_views import label
from tests.integration.crafted import published, write_crafted_delivery

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
        "Charts",
        "NRR by quarter",
        "Methods",
        "ARR bridge",
        "Segment pivot",
        "Expansion by motion",
        "Cohorts net",
        "Cohorts gross",
        "Cohorts logo",
        "Top expanding",
        "Top contracting",
        "Watchlist",
        "CSM books",
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
    end = bridge.cell(row=5, column=header.index(label("end_arr")) + 1)
    # Whole currency units with thousands separators (the marts keep the cents).
    assert (end.value, end.number_format) == (48000, '#,##0 "USD";-#,##0 "USD"')
    assert bridge.freeze_panes == "B2"
    assert bridge.column_dimensions["A"].width >= 12


def test_the_methods_sheet_shows_every_method_of_the_headline_quarter(report):
    sheet = openpyxl.load_workbook(report / "nrr_report.xlsx")["Methods"]
    header, *body = sheet.iter_rows()
    columns = [
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
    assert [c.value for c in header] == [label(c) for c in columns]
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
    cell = sheet.cell(row=2, column=header.index(label("customer_name")) + 1)
    assert cell.value == FORMULA_NAME
    assert cell.data_type == "s"  # a string, never a formula
    contracting = book["Top contracting"]
    name = header.index(label("customer_name")) + 1
    assert contracting.cell(row=2, column=name).value == SCRIPT_NAME


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


def test_the_summary_states_the_as_of_delivery_settings_and_headline_first(report):
    book = openpyxl.load_workbook(report / "nrr_report.xlsx")
    assert book.sheetnames[0] == "Summary"
    summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=3)}
    assert summary["As of"] == "2026-06-30"
    assert summary["Delivery"] == "2026-06-30"
    assert summary["Reporting currency"] == "USD"
    assert summary["Fiscal year starts in month"] == "1"
    assert summary["Customers rolled up to"] == "ultimate parent"
    assert summary["Customers at quarter end"] == 2  # P and E; S churned in FY2026-Q2
    assert summary["Quarantined rows"] == 0
    settings = {r[0]: r[1] for r in book["Settings"].iter_rows(min_row=2, values_only=True)}
    assert settings["as_of"] == "2026-06-30"


def test_the_bridge_sheet_reads_in_order_and_its_check_column_is_zero(report):
    book = openpyxl.load_workbook(report / "nrr_report.xlsx")
    sheet = book["ARR bridge"]
    header = [c.value for c in sheet[1]]
    steps = [
        "Previous quarter end",
        "FX",
        "Start ARR",
        "New",
        "Reactivation",
        "Expansion",
        "Contraction",
        "Churn",
        "End ARR",
    ]
    first = header.index("Previous quarter end")
    assert header[first : first + len(steps)] == steps
    assert header[-1] == "Check (0)"
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    # FY2026-Q2: 62,400 at last quarter's EUR rate 1.20; E back to 1.00 (-2,400) = 60,000;
    # P's discount ends (+2,400); S churns (-14,400): 48,000.
    q2 = rows["FY2026-Q2"]
    assert list(q2[first : first + len(steps)]) == [
        62400,
        -2400,
        60000,
        0,
        0,
        2400,
        0,
        -14400,
        48000,
    ]
    assert q2[-1].startswith("=ROUND(")  # a live formula finance can audit...
    cached = openpyxl.load_workbook(report / "nrr_report.xlsx", data_only=True)["ARR bridge"]
    checks = [r[-1] for r in cached.iter_rows(min_row=2, values_only=True)]
    assert checks == [0, 0, 0, 0]  # ...whose value, as written, is 0 on every quarter
    assert rows["FY2025-Q4"][first : first + 3] == (37200, 1200, 38400)


def _shown(value, number_format: str) -> str | None:
    """A number or date as Excel shows it in the workbook's formats (None for text)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if number_format == "0.0%":
        return f"{value:.1%}"
    if number_format == "yyyy-mm-dd":
        return "2026-06-30"
    if number_format == "#,##0":
        return f"{round(value):,}"
    if number_format.startswith("#,##0 "):
        return f"{round(value):,} USD"
    raise AssertionError(f"unexpected number format {number_format!r}")


def _widths(sheet) -> dict[int, float]:
    """Column index (1-based) -> width set in the file (a <col> may span columns)."""
    widths = {}
    for dimension in sheet.column_dimensions.values():
        if dimension.width and dimension.min:
            for col in range(dimension.min, dimension.max + 1):
                widths[col] = dimension.width
    return widths


def test_every_number_fits_its_column_so_no_cell_shows_hashes(report):
    book = openpyxl.load_workbook(report / "nrr_report.xlsx")
    checked = 0
    for sheet in book.worksheets:
        widths = _widths(sheet)
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    continue
                shown = _shown(cell.value, cell.number_format)
                if shown is None:
                    continue
                width = widths.get(cell.column, 8.43)  # Excel's default width
                assert len(shown) + 1 <= width, (sheet.title, cell.coordinate, shown, width)
                checked += 1
    assert checked > 200


def test_the_workbook_has_native_charts_centred_cohort_colours_a_pivot_and_print_setup(report):
    with zipfile.ZipFile(report / "nrr_report.xlsx") as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    assert len(charts) == 2
    (waterfall,) = [c for c in charts if "<c:barChart>" in c]  # stacked: base, rise, fall
    assert '<c:grouping val="stacked"/>' in waterfall
    # FY2026-Q2's levels run from 48,000 to 62,400: the axis starts at 40,000, not 0.
    assert '<c:min val="40000.0"/>' in waterfall
    assert any("<c:lineChart>" in c for c in charts)  # NRR and GRR by quarter
    book = openpyxl.load_workbook(report / "nrr_report.xlsx")
    (rules,) = [r for cf in book["Cohorts net"].conditional_formatting for r in cf.rules]
    scale = rules.colorScale
    assert [(v.type, float(v.val)) for v in scale.cfvo] == [
        ("num", 0.5),
        ("num", 1.0),
        ("num", 1.5),
    ]
    assert scale.color[1].rgb.endswith("FFFFFF")  # 100 % is neutral, not orange
    pivot = {}
    for row in book["Segment pivot"].iter_rows(values_only=True):
        pivot.setdefault(row[0], row[1:])  # the first block's rows
    # The first block is NRR: FY2026-Q2 SMB 12,000 / 26,400 (S churns 14,400), Enterprise
    # 36,000 / 33,600.
    assert pivot["Segment"][-1] == "FY2026-Q2"
    assert pivot["SMB"][-1] == pytest.approx(12000 / 26400)
    assert pivot["Enterprise"][-1] == pytest.approx(36000 / 33600)
    for name in ("NRR by quarter", "ARR bridge", "Quarantine"):
        sheet = book[name]
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        # One page wide (1 is the file format's default, so it is left out), any length.
        assert (sheet.page_setup.fitToWidth or 1, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.print_title_rows == "$1:$1"
        assert sheet.freeze_panes == "B2"


@pytest.mark.parametrize("width", [1400, 800])
def test_the_dashboard_in_chromium(report, browser, tmp_path_factory, width):
    """At a desktop and a narrow width: no console error, nothing wider than the window,
    every chart drawn, the KPI cards equal the published figures, and the slice selector
    switches the cards, the waterfall and the tables. Screenshots are kept in the pytest
    temporary folder (screenshots<N>/page-<width>-<slice>.png)."""
    home = report.parent.parent
    shots = tmp_path_factory.mktemp("screenshots")
    page = browser.new_page(viewport={"width": width, "height": 1000})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((report / "nrr_report.html").as_uri())
    page.wait_for_selector("#chart-cohorts .main-svg")
    page.wait_for_timeout(500)
    for chart in ("chart-bridge", "chart-nrr", "chart-motions"):
        assert page.locator(f"#{chart} .main-svg .trace").count() >= 1, chart
    assert page.locator("#chart-cohorts .hm image").count() == 1
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) == 0

    def card(kpi: str) -> str:
        return page.locator(f"[data-kpi={kpi}] .value").inner_text()

    def figures(dimension: str, value: str) -> tuple:
        (row,) = published(
            home,
            f"""select q.nrr, q.grr, b.end_arr from rpt_nrr_quarterly as q join fct_arr_bridge
                as b using (quarter_label, dimension, dimension_value)
                where quarter_label = 'FY2026-Q2' and dimension = '{dimension}'
                  and dimension_value = '{value}'""",
        )
        return f"{row[0]:.1%}", f"{row[1]:.1%}", f"{row[2]:,.0f} USD"

    # All customers: 48,000 / 60,000 and 45,600 / 60,000, ending at 48,000.
    assert (card("nrr"), card("grr"), card("end_arr")) == figures("all", "all")
    assert (card("nrr"), card("grr"), card("end_arr")) == ("80.0%", "76.0%", "48,000 USD")
    # FY2026-Q1 was flat (100 %): -20.0 pp against the previous quarter.
    assert "vs previous quarter: -20.0 pp" in page.locator("[data-kpi=nrr]").inner_text()
    labels = page.locator("#chart-bridge .trace text").all_text_contents()
    assert {"62,400", "-2,400", "+2,400", "-14,400", "48,000"} <= set(labels)
    axis = "document.getElementById('chart-bridge').layout.yaxis.range[0]"
    assert page.evaluate(axis) == 40000  # the movements are not slivers on an axis from 0
    assert page.locator("#quarantine-banner").count() == 0  # nothing was quarantined
    nrr_header = page.locator("#nrr-table th", has_text="NRR").first
    nrr_header.click()  # ascending: FY2026-Q2's 80.0 % first (FY2025-Q3 has none: last)
    first = page.locator("#nrr-table tbody tr").first
    assert first.inner_text().startswith("FY2026-Q2")
    nrr_header.click()  # descending: FY2025-Q4's 162.5 % first
    assert first.inner_text().startswith("FY2025-Q4")
    page.screenshot(path=str(shots / f"page-{width}-all.png"), full_page=True)

    page.select_option("#slice", label="Segment: SMB")
    # SMB: S (14,400, churned) and part of P's hierarchy: 12,000 / 26,400.
    assert (card("nrr"), card("grr"), card("end_arr")) == figures("segment", "SMB")
    assert card("nrr") == "45.5%"
    assert "45.5%" in page.locator("#nrr-table").inner_text()
    assert "Segment: SMB" in page.locator("#bridge-title").inner_text()
    assert page.get_by_text(SCRIPT_NAME, exact=True).count() == 1  # S is SMB
    assert page.evaluate(overflow) == 0
    page.screenshot(path=str(shots / f"page-{width}-smb.png"), full_page=True)
    page.select_option("#slice", label="Segment: Enterprise")
    assert card("nrr") == figures("segment", "Enterprise")[0] == "107.1%"
    assert page.get_by_text(SCRIPT_NAME, exact=True).count() == 0  # S is not Enterprise
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []
    assert (shots / f"page-{width}-all.png").stat().st_size > 100_000
    page.close()


def test_the_page_has_a_data_quality_section_and_definitions(report):
    page = (report / "nrr_report.html").read_text()
    # Every suite of the run, every expectation with its observed value and result.
    assert "in 13 suites: 0 failed." in page
    assert "expect_column_values_to_not_be_null" in page
    assert "<h2>Definitions</h2>" in page
