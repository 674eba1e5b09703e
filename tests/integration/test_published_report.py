"""The whole nightly job on a hand-computed delivery: published marts, gates, atomicity."""

import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import openpyxl
import polars as pl
import pytest

from pipeline.cli import EXIT_BLOCKED, EXIT_OK, main
from pipeline.dbt_project import slice_dimensions
from pipeline.report_views import label
from tests.integration.crafted import CHARGES, published, write_crafted_delivery
from tests.shared_runs import copy_run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def crafted_run(crafted_once, tmp_path_factory):
    """The crafted delivery run in a fresh home: a copy of the session's run of it (the
    tests below run more nights in it)."""
    ran_in, code = crafted_once
    root = copy_run(ran_in, tmp_path_factory.mktemp("crafted"))
    return root / "extracts", root / "home", code


def test_the_run_publishes_every_mart_and_a_manifest(crafted_run):
    _, home, code = crafted_run
    assert code == EXIT_OK
    latest = home / "reports" / "latest"
    assert os.readlink(latest) == "2026-09-30"
    tables = {t for (t,) in published(home, "show tables")}
    assert tables >= {
        "fct_arr_movements",
        "fct_arr_bridge",
        "rpt_nrr_quarterly",
        "rpt_cohort_retention",
        "rpt_nrr_methods",
        "quarantine",
        "report_settings",
    }
    for name in (
        "fct_arr_movements",
        "fct_arr_bridge",
        "rpt_nrr_quarterly",
        "rpt_cohort_retention",
        "rpt_nrr_methods",
        "quarantine",
    ):
        assert (
            pl.read_parquet(latest / f"{name}.parquet").height
            == published(home, f"select count(*) from {name}")[0][0]
        )
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["as_of"] == "2026-09-30"
    assert manifest["settings"]["reporting_currency"] == "USD"
    assert {c["suite"] for c in manifest["checks"]} == {
        "raw__billing_charges",
        "raw__crm_accounts",
        "raw__fx_rates",
        "raw__quarantine",
        "fct_arr_bridge",
        "rpt_nrr_quarterly",
        "rpt_nrr_quarterly__agrees_with_bridge",
        "rpt_cohort_retention",
        "rpt_cohort_retention__decomposes",
        "rpt_nrr_methods",
        "report__row_counts",
        "raw__account_signals",
        "rpt_account_watchlist",
    }
    assert all(c["success"] for c in manifest["checks"])
    assert (latest / "data_docs" / "index.html").exists()
    assert (latest / "marts.duckdb").stat().st_mode & 0o222 == 0  # published read-only


def test_the_report_is_owner_only_and_names_no_server_path(crafted_run, crafted_once):
    extracts, home, _ = crafted_run
    folder = (home / "reports" / "latest").resolve()
    modes = {str(p.relative_to(folder)): p.stat().st_mode & 0o777 for p in folder.rglob("*")}
    assert modes["marts.duckdb"] == 0o400
    assert modes["data_docs"] == 0o700
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert {path for path, mode in modes.items() if mode & 0o077} == set()
    manifest = (folder / "manifest.json").read_text()
    # The tmp folders holding home and extracts: where the night ran and this copy of it.
    for server_path in (str(crafted_once[0]), str(home.parent)):
        assert server_path not in manifest
        assert server_path not in (folder / "nrr_report.html").read_text()
    settings = json.loads(manifest)["settings"]
    assert (settings["home"], settings["extracts_dir"]) == (".", "../extracts")
    recorded = dict(published(home, "select name, value from report_settings"))
    assert (recorded["home"], recorded["extracts_dir"]) == (".", "../extracts")
    assert pl.read_parquet(folder / "report_settings.parquet").rows() == list(recorded.items())


def test_the_bridge_matches_hand_computed_values(crafted_run):
    _, home, _ = crafted_run
    rows = published(
        home,
        """
        select quarter_label, start_arr, new_arr, expansion_arr, churn_arr, fx_arr, end_arr,
               new_customers, churn_customers
        from fct_arr_bridge where dimension = 'all' order by quarter_start""",
    )
    d = Decimal
    assert rows == [
        # S 12,000 + P 12,000 + E 12,000 EUR x 1.10.
        ("FY2025-Q3", d(0), d(37200), d(0), d(0), d(0), d(37200), 3, 0),
        # EUR to 1.20: E restated 14,400 (fx +1,200); S +2,400 seats; P +21,600 Analytics.
        ("FY2025-Q4", d(38400), d(0), d(24000), d(0), d(1200), d(62400), 0, 0),
        # Automation moves from P-1 to P: nothing moves.
        ("FY2026-Q1", d(62400), d(0), d(0), d(0), d(0), d(62400), 0, 0),
        # EUR to 1.00 (fx -2,400); S churns 14,400; the discount ends for P (+2,400).
        ("FY2026-Q2", d(60000), d(0), d(2400), d(14400), d(-2400), d(48000), 0, 1),
        ("FY2026-Q3", d(48000), d(0), d(0), d(0), d(0), d(48000), 0, 0),
    ]


def test_the_long_bridge_steps_add_up_in_reading_order(crafted_run):
    _, home, _ = crafted_run
    rows = published(
        home,
        """select quarter_label, step_order, step, step_kind, amount, reporting_currency
           from fct_arr_bridge_steps where dimension = 'all' order by quarter_start, step_order""",
    )
    d = Decimal
    q2 = [
        (order, step, kind, amount)
        for label, order, step, kind, amount, _ in rows
        if label == "FY2026-Q2"
    ]
    # FY2026-Q2: 62,400 at FY2026-Q1's EUR rate; EUR to 1.00 (-2,400); the discount ends for
    # P (+2,400); S churns (-14,400): 48,000.
    assert q2 == [
        (1, "previous_end", "total", d(62400)),
        (2, "fx", "movement", d(-2400)),
        (3, "start", "total", d(60000)),
        (4, "new", "movement", d(0)),
        (5, "reactivation", "movement", d(0)),
        (6, "expansion", "movement", d(2400)),
        (7, "contraction", "movement", d(0)),
        (8, "churn", "movement", d(-14400)),
        (9, "end", "total", d(48000)),
    ]
    assert {currency for *_, currency in rows} == {"USD"}
    # Every quarter and slice: previous end + fx + movements = end, and as many rows as the
    # bridge has, nine each.
    assert published(
        home,
        """select count(*) from (
             select quarter_label, dimension, dimension_value,
                    sum(amount) filter (where step_kind = 'movement' or step = 'previous_end')
                      - sum(amount) filter (where step = 'end') as off
             from fct_arr_bridge_steps group by all) where off <> 0""",
    ) == [(0,)]
    assert published(home, "select count(*) from fct_arr_bridge_steps") == published(
        home, "select 9 * count(*) from fct_arr_bridge"
    )


def test_mart_descriptions_are_comments_in_the_published_marts(crafted_run):
    _, home, _ = crafted_run
    comments = dict(
        published(
            home,
            """select column_name, comment from duckdb_columns()
               where table_name = 'fct_arr_movements' and comment is not null""",
        )
    )
    assert comments["fx_arr"] == (
        "start_arr minus last quarter's end_arr at last quarter's rate: the currency effect."
    )
    (table_comment,) = published(
        home, "select comment from duckdb_tables() where table_name = 'fct_arr_bridge_steps'"
    )[0]
    assert table_comment.startswith("**The ARR bridge in long format**")
    undocumented = published(
        home,
        """select table_name, column_name from duckdb_columns()
           where table_name in ('fct_arr_movements', 'fct_arr_bridge', 'fct_arr_bridge_steps',
                                'dim_customers') and comment is null""",
    )
    assert undocumented == []


def test_no_page_of_the_report_loads_anything_from_the_network(crafted_run):
    _, home, _ = crafted_run
    folder = home / "reports" / "latest"
    pages = [folder / "nrr_report.html", *sorted((folder / "data_docs").rglob("*.html"))]
    assert len(pages) > 10
    loads = re.compile(
        r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
    )
    assert {p.name: loads.findall(p.read_text()) for p in pages} == {p.name: [] for p in pages}


def test_motions_match_hand_computed_values(crafted_run):
    _, home, _ = crafted_run
    rows = published(
        home,
        """
        select customer_id, quarter_label, movement, seat_arr, cross_sell_arr, price_arr,
               tier_arr, cohort_quarter
        from fct_arr_movements where movement in ('expansion', 'churn') order by 2, 1""",
    )
    d = Decimal
    assert rows == [
        ("P", "FY2025-Q4", "expansion", d(0), d(21600), d(0), d(0), "FY2025-Q3"),
        ("S", "FY2025-Q4", "expansion", d(2400), d(0), d(0), d(0), "FY2025-Q3"),
        ("P", "FY2026-Q2", "expansion", d(0), d(0), d(2400), d(0), "FY2025-Q3"),
        ("S", "FY2026-Q2", "churn", d(0), d(0), d(0), d(0), "FY2025-Q3"),
    ]


def test_nrr_and_ttm_match_hand_computed_values(crafted_run):
    _, home, _ = crafted_run
    rows = dict(
        (label, values)
        for label, *values in published(
            home,
            """
            select quarter_label, nrr, grr, ttm_nrr, ttm_grr from rpt_nrr_quarterly
            where dimension = 'all'""",
        )
    )
    assert rows["FY2025-Q4"][:2] == [pytest.approx(62400 / 38400), pytest.approx(1.0)]
    assert rows["FY2026-Q2"][:2] == [pytest.approx(48000 / 60000), pytest.approx(45600 / 60000)]
    assert rows["FY2026-Q2"][2:] == [None, None]  # no quarter four back
    # FY2025-Q3 base at the FY2026-Q3 rate: S 12,000 + P 12,000 + E 12,000 x 1.00.
    assert rows["FY2026-Q3"][2:] == [pytest.approx(48000 / 36000), pytest.approx(24000 / 36000)]
    smb = published(
        home,
        """select nrr from rpt_nrr_quarterly where quarter_label = 'FY2026-Q2'
                             and dimension = 'segment' and dimension_value = 'SMB'""",
    )
    assert smb == [(pytest.approx(12000 / 26400),)]


def test_the_declared_slices_drive_the_marts_the_reports_and_the_views(crafted_run):
    _, home, _ = crafted_run
    declared = slice_dimensions()
    assert "industry" in declared  # the slice users asked for: declared once, in dbt_project.yml
    expected = {"all", *declared}
    for table in ("fct_arr_bridge", "rpt_nrr_quarterly", "rpt_cohort_retention"):
        dimensions = {d for (d,) in published(home, f"select distinct dimension from {table}")}
        assert dimensions == expected, table
    for table in ("fct_arr_movements", "dim_customers"):
        columns = {c for (c,) in published(home, f"select column_name from (describe {table})")}
        assert set(declared) <= columns, table
    # FY2026-Q2 by industry: S (Retail) starts at 14,400 and churns; P (Software) starts at
    # 12,000 Automation + 21,600 discounted Analytics and gains the 2,400 discount; E (Media)
    # is 12,000 EUR at the quarter's rate 1.00, flat.
    rows = published(
        home,
        """select dimension_value, starting_arr, nrr, grr from rpt_nrr_quarterly
           where quarter_label = 'FY2026-Q2' and dimension = 'industry' order by 1""",
    )
    d = Decimal
    assert rows == [
        ("Media", d(12000), 1.0, 1.0),
        ("Retail", d(14400), 0.0, 0.0),
        ("Software", d(33600), pytest.approx(36000 / 33600), 1.0),
    ]
    latest = home / "reports" / "latest"
    sheet = openpyxl.load_workbook(latest / "nrr_report.xlsx", read_only=True)["NRR by quarter"]
    header, *body = sheet.iter_rows(values_only=True)
    assert {row[header.index(label("dimension"))] for row in body} == expected
    page = (latest / "nrr_report.html").read_text()
    for dimension in expected:
        assert f'<td class="text">{dimension}</td>' in page, dimension


def test_cohort_retention_matches_hand_computed_values(crafted_run):
    _, home, _ = crafted_run
    rows = published(
        home,
        """
        select age, customers, active_customers, starting_arr, arr, net_retention,
               gross_retention, logo_retention
        from rpt_cohort_retention where cohort_quarter = 'FY2025-Q3' and dimension = 'all'
        order by age""",
    )
    d = Decimal
    assert rows[0] == (0, 3, 3, d(37200), d(37200), 1.0, 1.0, 1.0)
    # Starting ARR restated at FY2025-Q4's EUR rate 1.20: 12,000 + 12,000 + 14,400.
    assert rows[1][:5] == (1, 3, 3, d(38400), d(62400))
    assert rows[1][5:] == (pytest.approx(62400 / 38400), 1.0, 1.0)
    assert rows[3][:5] == (3, 3, 2, d(36000), d(48000))
    assert rows[3][5:] == (
        pytest.approx(48000 / 36000),
        pytest.approx(24000 / 36000),
        pytest.approx(2 / 3),
    )


def test_cohort_arr_decomposes_as_computed_by_hand(crafted_run):
    _, home, _ = crafted_run
    rows = published(
        home,
        """
        select age, starting_arr, expansion_arr, contraction_arr, churn_arr, arr,
               reactivated_customers
        from rpt_cohort_retention where cohort_quarter = 'FY2025-Q3' and dimension = 'all'
        order by age""",
    )
    d = Decimal
    assert rows == [
        (0, d(37200), d(0), d(0), d(0), d(37200), 0),
        # At FY2025-Q4's rates (EUR 1.20): S 12,000 -> 14,400 (+2,400), P 12,000 -> 33,600
        # (+21,600), E 14,400 -> 14,400.
        (1, d(38400), d(24000), d(0), d(0), d(62400), 0),
        (2, d(38400), d(24000), d(0), d(0), d(62400), 0),
        # At EUR 1.00: S 12,000 churned; P 12,000 -> 36,000 (+24,000); E 12,000 flat.
        (3, d(36000), d(24000), d(0), d(12000), d(48000), 0),
        (4, d(36000), d(24000), d(0), d(12000), d(48000), 0),
    ]


def test_every_nrr_method_matches_hand_computed_values(crafted_run):
    _, home, _ = crafted_run
    rows = {
        method: values
        for method, *values in published(
            home,
            """
            select method, nrr, grr, numerator_arr, denominator_arr, customers_in_base
            from rpt_nrr_methods
            where quarter_label = 'FY2026-Q3' and dimension = 'all'""",
        )
    }
    d = Decimal
    # Base: FY2025-Q3's S, P, E at FY2026-Q3's rates, 12,000 each; at FY2026-Q3 S has
    # churned, P has 36,000 and E 12,000.
    assert rows["ttm_cohort"] == [
        pytest.approx(48000 / 36000),
        pytest.approx(24000 / 36000),
        d(48000),
        d(36000),
        3,
    ]
    # Every base customer has at least NRR_METHOD_MIN_ARR (10,000 by default).
    assert rows["ttm_cohort_min_arr"] == rows["ttm_cohort"]
    # P and E only (S churned): 48,000 / 24,000; each keeps at most its 12,000.
    assert rows["reverse_cohort"] == [2.0, 1.0, d(48000), d(24000), 2]
    assert rows["logo_retention"] == [pytest.approx(2 / 3), None, None, None, 3]
    assert rows["quarterly_bridge"] == [1.0, 1.0, d(48000), d(48000), 2]
    # FY2025-Q4 .. FY2026-Q3: 62,400/38,400 x 1 x 48,000/60,000 x 1 = 1.3; GRR 45,600/60,000.
    assert rows["compounded_quarterly"] == [
        pytest.approx(1.3),
        pytest.approx(0.76),
        None,
        None,
        None,
    ]
    assert rows["ttm_cohort_4q_average"] == [None, None, None, None, None]  # one TTM quarter
    recorded = dict(published(home, "select name, value from report_settings"))
    assert recorded["method_min_arr"] == "10000"


def test_quarantined_arr_above_the_threshold_blocks_publishing(crafted_run, capsys):
    extracts, home, _ = crafted_run
    write_crafted_delivery(
        extracts,
        "2026-10-01",
        extra_charges=(
            "X-1,NOBODY,Analytics,Pro,recurring,5,500.00,USD,1,2026-01-01,,2026-01-01T09:00:00\n"
            "X-2,S,Analytics,Pro,recurring,5,abc,USD,1,2026-01-01,,2026-01-01T09:00:00\n"
        ),
    )
    code = main(["run", "--extracts", str(extracts), "--home", str(home)])
    message = capsys.readouterr().err
    assert code == EXIT_BLOCKED
    assert "Publishing was blocked" in message
    assert "2 quarantined rows carry ARR 6,000.00, which exceeds the threshold 0.00" in message
    assert "unknown_account: 1 row, ARR 6,000.00" in message
    assert "bad_amount: 1 row, ARR 0.00" in message
    # The unreadable amount 'abc' is revenue the report would miss, whatever the ARR threshold.
    assert (
        "1 quarantined revenue row cannot be valued (bad_amount 1 row; in billing_charges.csv "
        "1 row), which exceeds the threshold of 0 rows" in message
    )
    assert os.readlink(home / "reports" / "latest") == "2026-09-30"
    assert sorted(p.name for p in (home / "reports").iterdir()) == [
        "2026-09-30",
        "latest",
        "published.jsonl",
    ]


def test_a_threshold_above_the_quarantined_arr_lets_it_publish(crafted_run, monkeypatch):
    extracts, home, _ = crafted_run
    monkeypatch.setenv("NRR_QUARANTINE_ARR_THRESHOLD", "6000")
    monkeypatch.setenv("NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD", "1")
    assert (
        main(["run", "--extracts", str(extracts), "--home", str(home), "--delivery", "2026-10-01"])
        == EXIT_OK
    )
    assert os.readlink(home / "reports" / "latest") == "2026-10-01"
    assert published(home, "select count(*) from quarantine") == [(2,)]
    # The page says so in a red banner at the top: rows, ARR at stake, reasons.
    page = (home / "reports" / "latest" / "nrr_report.html").read_text()
    banner = page[page.index('<div class="banner"') :].split("</div>")[0]
    assert "2 delivered rows were left out of every" in banner
    assert "carrying ARR 6,000 USD" in banner
    assert "Reasons: bad_amount (1), unknown_account (1)." in banner


@contextmanager
def reading(marts):
    """A BI tool reading marts.duckdb (read-only) for as long as the block runs; yields a
    function that returns what it counted in fct_arr_movements when it opened the file and
    what it counts at the end, on the same connection."""
    count = "con.sql('select count(*) from fct_arr_movements').fetchall()[0][0]"
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        f"print({count}, flush=True); sys.stdin.read(); print({count}, flush=True)"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", script, str(marts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        before = reader.stdout.readline().strip()

        def counts() -> tuple[str, str]:
            after, _ = reader.communicate("done\n", timeout=60)
            return before, after.strip()

        yield counts
    finally:
        reader.kill()


def test_an_unchanged_history_has_no_restatements(crafted_run):
    _, home, _ = crafted_run
    assert published(home, "select count(*) from restatements") == [(0,)]


@contextmanager
def held_read_write(marts):
    """A BI tool, run by the report's owner, holding marts.duckdb open read-write (it may
    make the read-only file writable again first, as its owner can)."""
    marts.chmod(0o644)
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "print('open', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(marts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        yield
    finally:
        holder.kill()
        holder.wait(timeout=60)


def test_a_changed_charge_is_listed_as_restatements_with_exact_differences(crafted_run):
    """...even while a BI tool holds the previous report's marts.duckdb read-write: the
    previous figures are read from its Parquet files."""
    extracts, home, _ = crafted_run
    changed = CHARGES.replace(
        "S-2,S,Analytics,Pro,recurring,12,1200.00", "S-2,S,Analytics,Pro,recurring,12,1300.00"
    )
    write_crafted_delivery(extracts, "2026-10-02", charges=changed)
    with held_read_write(home / "reports" / "latest" / "marts.duckdb"):
        assert main(["run", "--extracts", str(extracts), "--home", str(home)]) == EXIT_OK
    rows = published(
        home,
        """
        select quarter_label, metric, previous_value, new_value, difference, previous_as_of
        from restatements where dimension = 'all' order by quarter_label, metric""",
    )
    d = Decimal
    previous = date(2026, 10, 1)  # the report the threshold test published
    assert rows == [
        ("FY2025-Q4", "end_arr", d(62400), d(63600), d(1200), previous),
        ("FY2025-Q4", "expansion_arr", d(24000), d(25200), d(1200), previous),
        ("FY2025-Q4", "nrr", d("1.625"), d("1.65625"), d("0.03125"), previous),
        ("FY2026-Q1", "end_arr", d(62400), d(63600), d(1200), previous),
        ("FY2026-Q1", "start_arr", d(62400), d(63600), d(1200), previous),
        ("FY2026-Q2", "churn_arr", d(14400), d(15600), d(1200), previous),
        ("FY2026-Q2", "grr", d("0.76"), d("0.745098"), d("-0.014902"), previous),
        ("FY2026-Q2", "nrr", d("0.8"), d("0.784314"), d("-0.015686"), previous),
        ("FY2026-Q2", "start_arr", d(60000), d(61200), d(1200), previous),
    ]
    smb = published(
        home,
        """select difference from restatements where quarter_label =
        'FY2025-Q4' and dimension = 'segment' and dimension_value = 'SMB' and metric = 'end_arr'""",
    )
    assert smb == [(d(1200),)]


def test_history_delivered_late_appears_as_new_quarters(crafted_run):
    """S turns out to have paid 12,000 a year from 2025-04-01: FY2025-Q2 appears before the
    previous report's first quarter, FY2025-Q3's start and new ARR are restated, and FY2026-Q2
    gets a TTM NRR: S, the only customer at FY2025-Q2, has churned by then (0 / 12,000)."""
    extracts, home, _ = crafted_run
    changed = CHARGES.replace(
        "S-2,S,Analytics,Pro,recurring,12,1200.00", "S-2,S,Analytics,Pro,recurring,12,1300.00"
    )
    older = "S-0,S,Analytics,Pro,recurring,10,1000.00,USD,1,2025-04-01,2025-07-01,2025-04-01\n"
    write_crafted_delivery(extracts, "2026-10-03", charges=changed + older)
    assert main(["run", "--extracts", str(extracts), "--home", str(home)]) == EXIT_OK
    changes = published(
        home,
        "select distinct quarter_label, change from restatements where dimension = 'all' "
        "order by 1",
    )
    assert changes == [
        ("FY2025-Q2", "new_quarter"),
        ("FY2025-Q3", "restated"),
        ("FY2026-Q2", "restated"),
    ]
    d = Decimal
    rows = published(
        home,
        """select quarter_label, metric, change, previous_value, new_value, difference
        from restatements where dimension = 'all'
          and metric in ('start_arr', 'new_arr', 'end_arr', 'nrr', 'ttm_nrr', 'ttm_grr')
        order by 1, 2""",
    )
    assert rows == [
        ("FY2025-Q2", "end_arr", "new_quarter", None, d(12000), None),
        ("FY2025-Q2", "new_arr", "new_quarter", None, d(12000), None),
        ("FY2025-Q2", "start_arr", "new_quarter", None, d(0), None),
        # Previously S, P (12,000 each) and E (1,000 EUR x 12 x 1.10) were all new.
        ("FY2025-Q3", "new_arr", "restated", d(37200), d(25200), d(-12000)),
        ("FY2025-Q3", "nrr", "restated", None, d(1), None),
        ("FY2025-Q3", "start_arr", "restated", d(0), d(12000), d(12000)),
        ("FY2026-Q2", "ttm_grr", "restated", None, d(0), None),
        ("FY2026-Q2", "ttm_nrr", "restated", None, d(0), None),
    ]
    note = dict(published(home, "select name, value from report_settings"))["restatements"]
    assert note.startswith("Compared with the previous report (as of 2026-10-02, same reporting")


def test_after_a_settings_change_nothing_is_compared_and_the_report_says_why_to_a_reader(
    crafted_run, monkeypatch
):
    extracts, home, _ = crafted_run
    monkeypatch.setenv("NRR_FISCAL_YEAR_START_MONTH", "2")
    previous = os.readlink(home / "reports" / "latest")
    # ...while a BI tool reads the current report: the run is not blocked, and the reader
    # keeps the report it opened, whole, for the whole run.
    with reading(home / "reports" / "latest" / "marts.duckdb") as counts:
        assert main(["run", "--extracts", str(extracts), "--home", str(home)]) == EXIT_OK
        assert os.readlink(home / "reports" / "latest") != previous
        before, after = counts()
    assert before == after
    assert published(home, "select count(*) from restatements") == [(0,)]
    note = dict(published(home, "select name, value from report_settings"))["restatements"]
    assert note == (
        "Not compared with the previous report (as of 2026-10-03): its figures are not "
        "comparable because the fiscal year start month 1 -> 2."
    )
    manifest = json.loads((home / "reports" / "latest" / "manifest.json").read_text())
    assert manifest["restatements"] == note
