"""Numbers at the edges, through the whole job: amounts above 10^12, yen with no minor unit,
a 36-month prepaid charge, a charge open for 20 years, a fiscal year starting in November.

Fiscal year starting 1 November, named by the year it ends in: FY2026 = Nov 2025 - Oct 2026;
Q1 Nov-Jan, Q2 Feb-Apr, Q3 May-Jul, Q4 Aug-Oct (as of 2026-09-30: Q4 is unfinished).
- OLD: 1,200.00 USD a month from 2010-01-01 to 2030-01-01: ARR 14,400 in every quarter from
  FY2010-Q1 (Nov 2009 - Jan 2010) to FY2026-Q4, 17 fiscal years = 68 quarters.
- PRE: 360,000.00 USD prepaid for 36 months from 2024-11-01: ARR 360,000 x 12 / 36 = 120,000.
- BIG: 1,000,000,000,000.00 USD a month from 2025-11-01 (ARR 12,000,000,000,000), then
  1,100,000,000,000.00 from 2026-05-01 (ARR 13,200,000,000,000): expansion (price)
  1,200,000,000,000 in FY2026-Q3.
- YEN: 1000000000000 JPY a year from 2025-11-01, at 0.0067 USD: ARR 6,700,000,000.
"""

from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from pipeline.cli import EXIT_OK, main

pytestmark = pytest.mark.integration

CHARGES = """charge_id,account_id,product,plan,charge_type,quantity,amount,currency,billing_period_months,effective_start,effective_end,updated_at
OLD-1,OLD,Analytics,Pro,recurring,1,1200.00,USD,1,2010-01-01,2030-01-01,2010-01-01T09:00:00
PRE-1,PRE,Analytics,Pro,recurring,10,360000.00,USD,36,2024-11-01,2027-11-01,2024-11-01T09:00:00
BIG-1,BIG,Platform,Enterprise,recurring,1,1000000000000.00,USD,1,2025-11-01,2026-05-01,2026-05-01T09:00:00
BIG-2,BIG,Platform,Enterprise,recurring,1,1100000000000.00,USD,1,2026-05-01,,2026-05-01T09:00:00
YEN-1,YEN,Analytics,Pro,recurring,100,1000000000000,JPY,12,2025-11-01,,2025-11-01T09:00:00
"""
ACCOUNTS = """account_id,account_name,parent_account_id,segment,region,industry,csm_owner,updated_at
OLD,Old Timers Ltd,,SMB,NA,Retail,Ana Silva,2026-09-30T02:00:00
PRE,Prepaid Inc,,SMB,NA,Retail,Ana Silva,2026-09-30T02:00:00
BIG,Very Large Corp,,Enterprise,NA,Software,Kara Novak,2026-09-30T02:00:00
YEN,Yen KK,,Mid-Market,APAC,Media,Liam Byrne,2026-09-30T02:00:00
"""
RATES = """rate_date,currency,rate_to_reporting
2009-01-01,JPY,0.0067
"""

START_Q3 = Decimal("12006700134400")  # 14,400 + 120,000 + 12,000,000,000,000 + 6,700,000,000
END_Q3 = Decimal("13206700134400")
EXPANSION_Q3 = Decimal("1200000000000")


@pytest.fixture(scope="module")
def edge_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("edges")
    folder = root / "extracts" / "2026-09-30"
    folder.mkdir(parents=True)
    (folder / "billing_charges.csv").write_text(CHARGES)
    (folder / "crm_accounts.csv").write_text(ACCOUNTS)
    (folder / "fx_rates.csv").write_text(RATES)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NRR_FISCAL_YEAR_START_MONTH", "11")
        code = main(["run", "--extracts", str(root / "extracts"), "--home", str(root / "home")])
    assert code == EXIT_OK
    latest = root / "home" / "reports" / "latest"
    con = duckdb.connect(str(latest / "marts.duckdb"), read_only=True)
    yield con, latest
    con.close()


def test_nothing_at_the_edges_is_quarantined(edge_report):
    con, _ = edge_report
    assert con.sql("select count(*) from quarantine").fetchall() == [(0,)]


def test_a_twenty_year_charge_is_in_every_quarter_of_its_life(edge_report):
    con, _ = edge_report
    rows = con.sql(
        """select count(*), min(quarter_label), min(quarter_start), max(quarter_label),
                  sum(new_arr), min(end_arr), max(end_arr), sum(churn_arr)
           from fct_arr_movements where customer_id = 'OLD'"""
    ).fetchall()
    assert rows == [
        (
            68,
            "FY2010-Q1",
            date(2009, 11, 1),
            "FY2026-Q4",
            Decimal("14400"),
            Decimal("14400"),
            Decimal("14400"),
            Decimal("0"),
        )
    ]


def test_prepaid_yen_and_trillion_amounts_give_exact_arr(edge_report):
    con, _ = edge_report
    end_arr = dict(
        con.sql(
            """select customer_id, end_arr from fct_arr_movements
               where quarter_label = 'FY2026-Q3'"""
        ).fetchall()
    )
    assert end_arr == {
        "OLD": Decimal("14400"),
        "PRE": Decimal("120000"),
        "BIG": Decimal("13200000000000"),
        "YEN": Decimal("6700000000"),
    }
    big = con.sql(
        """select movement, expansion_arr, price_arr, seat_arr, tier_arr, fx_arr
           from fct_arr_movements where customer_id = 'BIG' and quarter_label = 'FY2026-Q3'"""
    ).fetchall()
    assert big == [("expansion", EXPANSION_Q3, EXPANSION_Q3, 0, 0, 0)]


def test_the_bridge_and_nrr_hold_at_trillions(edge_report):
    con, latest = edge_report
    bridge = con.sql(
        """select start_arr, new_arr, expansion_arr, churn_arr, fx_arr, end_arr
           from fct_arr_bridge where dimension = 'all' and quarter_label = 'FY2026-Q3'"""
    ).fetchall()
    assert bridge == [(START_Q3, 0, EXPANSION_Q3, 0, 0, END_Q3)]
    first = con.sql(
        """select quarter_start, start_arr, new_arr, end_arr from fct_arr_bridge
           where dimension = 'all' and quarter_label = 'FY2026-Q1'"""
    ).fetchall()
    assert first == [
        (
            date(2025, 11, 1),
            Decimal("134400"),
            Decimal("12006700000000"),
            Decimal("12006700134400"),
        )
    ]
    nrr = con.sql(
        """select starting_arr, expansion_arr, nrr, grr from rpt_nrr_quarterly
           where dimension = 'all' and quarter_label = 'FY2026-Q3'"""
    ).fetchall()
    assert nrr == [(START_Q3, EXPANSION_Q3, pytest.approx(float(END_Q3 / START_Q3)), 1.0)]
    # BI reads the same exact decimals from Parquet.
    parquet = pl.read_parquet(latest / "fct_arr_bridge.parquet").filter(
        (pl.col("dimension") == "all") & (pl.col("quarter_label") == "FY2026-Q3")
    )
    assert parquet["end_arr"].dtype == pl.Decimal(38, 6)
    assert parquet["end_arr"].to_list() == [END_Q3]


def test_a_cohort_of_trillions_retains_exactly(edge_report):
    con, _ = edge_report
    rows = con.sql(
        """select age, starting_arr, arr, net_retention, gross_retention
           from rpt_cohort_retention
           where dimension = 'all' and cohort_quarter = 'FY2026-Q1' order by age"""
    ).fetchall()
    cohort = Decimal("12006700000000")  # BIG 12,000,000,000,000 + YEN 6,700,000,000
    assert [r[:3] for r in rows] == [
        (0, cohort, cohort),
        (1, cohort, cohort),
        (2, cohort, Decimal("13206700000000")),
        (3, cohort, Decimal("13206700000000")),
    ]
    assert rows[2][3:] == (pytest.approx(13206700000000 / 12006700000000), 1.0)
