"""The monthly grain against the quarterly one (issue 15, item 3), on one generated delivery
with several currencies and a fiscal year from February, as of 2026-09-30 (the end of the
second month of the unfinished quarter FY2027-Q3, August-October: that quarter's snapshot is
the September month's).

Two nights of the same delivery, each run once per session: NRR_PERIODS=quarter,month and
NRR_PERIODS=quarter. At each quarter's snapshot the monthly ARR snapshots (per customer)
equal the quarterly ones; at each complete quarter's last month the monthly TTM NRR/GRR
(twelve months back) equal ttm_cohort's (four quarters back), per slice; and adding months
changes no quarterly figure.
"""

from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.cli import EXIT_OK
from pipeline.generate import GenerateOptions, generate
from tests.shared_runs import run_once

pytestmark = pytest.mark.integration

AS_OF = date(2026, 9, 30)
QUARTERLY_TABLES = (
    "fct_arr_movements",
    "fct_arr_bridge",
    "dim_customers",
    "rpt_nrr_quarterly",
    "rpt_cohort_retention",
    "quarantine",
)
MONTHLY_TABLES = (
    "fct_arr_movements_monthly",
    "fct_arr_bridge_monthly",
    "rpt_nrr_monthly",
    "rpt_cohort_retention_monthly",
)


def write_delivery(extracts) -> None:
    # Smaller than the sample (60 customers, 3 years): the comparison needs history, not size.
    generate(GenerateOptions(out=extracts, customers=60, seed=5, as_of=AS_OF))


def night(tmp_path_factory, periods: str):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NRR_FISCAL_YEAR_START_MONTH", "2")
        env.setenv("NRR_PERIODS", periods)
        root, code = run_once(tmp_path_factory, f"fy2-{periods.replace(',', '-')}", write_delivery)
    assert code == EXIT_OK
    con = duckdb.connect(str(root / "home" / "reports" / "latest" / "marts.duckdb"), read_only=True)
    charges = next((root / "extracts").glob("*/billing_charges.csv"))
    con.execute(
        "create temp view delivered_charges as select * from "
        f"read_csv('{charges}', all_varchar = true)"
    )
    return con


@pytest.fixture(scope="module")
def with_months(tmp_path_factory):
    con = night(tmp_path_factory, "quarter,month")
    yield con
    con.close()


@pytest.fixture(scope="module")
def quarters_only(tmp_path_factory):
    con = night(tmp_path_factory, "quarter")
    yield con
    con.close()


def frame(con, query: str) -> pl.DataFrame:
    return con.sql(query).pl()


def tables(con) -> set[str]:
    return {row[0] for row in con.sql("show tables").fetchall()}


def test_the_delivery_has_several_currencies_and_months_from_february(with_months):
    currencies = {
        row[0]
        for row in with_months.sql("select distinct currency from delivered_charges").fetchall()
    }
    assert {"USD", "EUR", "GBP", "JPY"} <= currencies
    settings = dict(with_months.sql("select name, value from report_settings").fetchall())
    assert settings["periods"] == "quarter,month"
    assert settings["fiscal_year_start_month"] == "2"
    # FY2027 starts in February 2026: M01 is February, M08 September, complete on as-of (its
    # last day), while its quarter FY2027-Q3 (August-October) runs, with the same snapshot.
    rows = with_months.sql(
        """select distinct month_label, month_start, snapshot_date, is_complete
           from fct_arr_bridge_monthly where month_label in ('FY2027-M01', 'FY2027-M08')
           order by 1"""
    ).fetchall()
    assert rows == [
        ("FY2027-M01", date(2026, 2, 1), date(2026, 2, 28), True),
        ("FY2027-M08", date(2026, 9, 1), AS_OF, True),
    ]
    assert with_months.sql(
        "select distinct quarter_start, snapshot_date, is_complete from fct_arr_bridge "
        "where quarter_label = 'FY2027-Q3'"
    ).fetchall() == [(date(2026, 8, 1), AS_OF, False)]


def test_months_are_published_only_when_asked_for(with_months, quarters_only):
    assert set(MONTHLY_TABLES) <= tables(with_months)
    assert not set(MONTHLY_TABLES) & tables(quarters_only)
    settings = dict(quarters_only.sql("select name, value from report_settings").fetchall())
    assert settings["periods"] == "quarter"
    weighted = quarters_only.sql(
        "select count(*), count(nrr), count(numerator_arr) from rpt_nrr_methods "
        "where method = 'ttm_weighted_monthly'"
    ).fetchall()
    assert weighted[0][0] > 0 and weighted[0][1:] == (0, 0)


def test_adding_months_changes_no_quarterly_figure(with_months, quarters_only):
    for name in QUARTERLY_TABLES:
        assert_frame_equal(
            frame(with_months, f"select * from {name}"),
            frame(quarters_only, f"select * from {name}"),
            check_exact=True,
        )
    others = "select * from rpt_nrr_methods where method <> 'ttm_weighted_monthly'"
    assert_frame_equal(frame(with_months, others), frame(quarters_only, others), check_exact=True)


def test_monthly_arr_snapshots_equal_the_quarterly_ones_per_customer(with_months):
    # Every quarter snapshot (the unfinished quarter's is as-of) is a month's snapshot.
    missing = with_months.sql(
        """select distinct snapshot_date from fct_arr_bridge
           except select snapshot_date from fct_arr_bridge_monthly"""
    ).fetchall()
    assert missing == []
    compared = frame(
        with_months,
        """with quarterly as (
               select customer_id, snapshot_date, end_arr from fct_arr_movements
           ),
           monthly as (
               select customer_id, snapshot_date, end_arr from fct_arr_movements_monthly
               where snapshot_date in (select snapshot_date from fct_arr_movements)
           )
           select coalesce(q.customer_id, m.customer_id) as customer_id,
                  coalesce(q.snapshot_date, m.snapshot_date) as snapshot_date,
                  coalesce(q.end_arr, 0) as quarterly_arr, coalesce(m.end_arr, 0) as monthly_arr
           from quarterly as q
           full outer join monthly as m
               on m.customer_id = q.customer_id and m.snapshot_date = q.snapshot_date""",
    )
    assert compared.height > 200
    assert compared.filter(pl.col("quarterly_arr") != pl.col("monthly_arr")).height == 0
    assert compared["quarterly_arr"].sum() > Decimal(0)


def test_monthly_ttm_equals_ttm_cohort_at_each_complete_quarters_last_month(with_months):
    joined = frame(
        with_months,
        """select q.quarter_label, q.dimension, q.dimension_value,
                  q.ttm_starting_arr, m.ttm_starting_arr as monthly_ttm_starting_arr,
                  q.ttm_arr, m.ttm_arr as monthly_ttm_arr,
                  q.ttm_nrr, m.ttm_nrr as monthly_ttm_nrr,
                  q.ttm_grr, m.ttm_grr as monthly_ttm_grr,
                  methods.nrr as ttm_cohort_nrr, methods.grr as ttm_cohort_grr
           from rpt_nrr_quarterly as q
           inner join rpt_nrr_monthly as m
               on m.snapshot_date = q.snapshot_date
               and m.dimension = q.dimension and m.dimension_value = q.dimension_value
           inner join rpt_nrr_methods as methods
               on methods.quarter_label = q.quarter_label and methods.method = 'ttm_cohort'
               and methods.dimension = q.dimension
               and methods.dimension_value = q.dimension_value
           where q.is_complete and q.ttm_nrr is not null""",
    )
    with_ttm = with_months.sql(
        "select count(*) from rpt_nrr_quarterly where is_complete and ttm_nrr is not null"
    ).fetchall()[0][0]
    assert joined.height == with_ttm > 20  # every quarter and slice with a TTM figure
    assert joined["dimension"].n_unique() == 5  # all and the four slice dimensions
    for ours, theirs in (
        ("ttm_starting_arr", "monthly_ttm_starting_arr"),
        ("ttm_arr", "monthly_ttm_arr"),
        ("ttm_nrr", "monthly_ttm_nrr"),
        ("ttm_grr", "monthly_ttm_grr"),
        ("ttm_cohort_nrr", "monthly_ttm_nrr"),
        ("ttm_cohort_grr", "monthly_ttm_grr"),
    ):
        # Equal to the last bit: the same sums of the same exact amounts.
        assert joined[ours].to_list() == joined[theirs].to_list(), ours


def test_ttm_weighted_monthly_is_the_twelve_monthly_sums_ending_at_the_quarters_month(
    with_months,
):
    # Recomputed from rpt_nrr_monthly: per quarter and slice, the twelve months ending at the
    # month with the quarter's snapshot (its last month; the as-of month while it runs).
    recomputed = frame(
        with_months,
        """with months as (
               select distinct month_start, snapshot_date from rpt_nrr_monthly
           ),
           indexed as (
               select *, row_number() over (order by month_start) as n from months
           ),
           spans as (
               select q.quarter_label, span.snapshot_date
               from (select distinct quarter_label, snapshot_date from rpt_nrr_quarterly) as q
               inner join indexed as last on last.snapshot_date = q.snapshot_date
               inner join indexed as span on span.n between last.n - 11 and last.n
           )
           select spans.quarter_label, m.dimension, m.dimension_value,
                  sum(m.ttm_arr) as numerator, sum(m.ttm_starting_arr) as denominator,
                  count(*) as months
           from spans
           inner join rpt_nrr_monthly as m on m.snapshot_date = spans.snapshot_date
           where m.ttm_starting_arr > 0
           group by 1, 2, 3
           having count(*) = 12""",
    )
    methods = frame(
        with_months,
        """select quarter_label, dimension, dimension_value, numerator_arr, denominator_arr, nrr
           from rpt_nrr_methods where method = 'ttm_weighted_monthly' and nrr is not null""",
    )
    joined = methods.join(
        recomputed, on=["quarter_label", "dimension", "dimension_value"], how="full"
    )
    assert joined.height == methods.height == recomputed.height > 5
    assert "FY2027-Q3" in methods["quarter_label"].to_list()  # the unfinished quarter too
    assert joined["numerator_arr"].to_list() == joined["numerator"].to_list()
    assert joined["denominator_arr"].to_list() == joined["denominator"].to_list()
    for row in joined.iter_rows(named=True):
        assert row["nrr"] == pytest.approx(float(row["numerator"]) / float(row["denominator"]))


# A customer negative at a month-end inside a quarter, never at a quarter's end (fiscal year
# from February: quarters end 2026-01-31 and 2026-04-30): 1,000/month to 2026-02-15 and a
# -200/month discount to 2026-03-01, so ARR -2,400 at the 2026-02-28 snapshot only. The
# customer-level rule negative_customer_arr looks at quarter snapshots: it keeps the customer.
NEGATIVE_AT_A_MONTH_END = {
    "billing_charges.csv": "charge_id,account_id,product,plan,charge_type,quantity,amount,"
    "currency,billing_period_months,effective_start,effective_end,updated_at\n"
    """K-1,K,Core,Pro,recurring,10,1000.00,USD,1,2025-08-01,,2025-08-01T09:00:00
N-1,N,Core,Pro,recurring,10,1000.00,USD,1,2026-01-01,2026-02-15,2026-01-01T09:00:00
N-2,N,Core,Discount,recurring,1,-200.00,USD,1,2026-02-01,2026-03-01,2026-02-01T09:00:00
""",
    "crm_accounts.csv": "account_id,account_name,parent_account_id,segment,region,industry,"
    "csm_owner,updated_at\n"
    """K,Kept Co,,SMB,NA,Retail,Ana Silva,2026-09-30T02:00:00
N,Negative Month Inc,,SMB,NA,Software,Ana Silva,2026-09-30T02:00:00
""",
}


def test_a_customer_negative_only_at_a_month_end_stops_the_monthly_night_loudly(
    tmp_path, monkeypatch, capsys
):
    from pipeline.cli import EXIT_BLOCKED, main

    folder = tmp_path / "extracts" / AS_OF.isoformat()
    folder.mkdir(parents=True)
    for name, text in NEGATIVE_AT_A_MONTH_END.items():
        (folder / name).write_text(text)
    monkeypatch.setenv("NRR_FISCAL_YEAR_START_MONTH", "2")
    monkeypatch.setenv("NRR_PERIODS", "quarter,month")
    home = tmp_path / "home"
    code = main(["run", "--extracts", str(tmp_path / "extracts"), "--home", str(home)])
    said = capsys.readouterr()
    assert code == EXIT_BLOCKED
    # Nothing is published, and the reader is told which test of which mart failed.
    assert not (home / "reports" / "latest").exists()
    assert (
        "Check between_fct_arr_movements_monthly_end_arr__0 on fct_arr_movements_monthly failed"
        in said.out + said.err
    )
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.sql(
            "select month_label, end_arr from fct_arr_movements_monthly "
            "where customer_id = 'N' order by month_start"
        ).fetchall()
        excluded = con.sql("select count(*) from int_charge_exclusions").fetchall()
    finally:
        con.close()
    # FY2026-M12 is January 2026 (12,000), FY2027-M01 February (-2,400 at the 28th).
    assert rows == [("FY2026-M12", Decimal("12000")), ("FY2027-M01", Decimal("-2400"))]
    assert excluded == [(0,)]
