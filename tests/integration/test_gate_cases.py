"""The publish gate end to end (issue: a report that misses revenue is never published).

Each case runs `nrr run` on a hand-built delivery; every figure is computed in the comments.
"""

from decimal import Decimal

import polars as pl
import pytest

from pipeline.cli import EXIT_BLOCKED, EXIT_OK, EXIT_REJECTED, main
from tests.integration.crafted import (
    ACCOUNTS,
    CHARGES,
    RATES,
    published,
    working,
    write_crafted_delivery,
)

pytestmark = pytest.mark.integration

DELIVERY = "2026-09-30"


def run(extracts, home) -> int:
    return main(["run", "--extracts", str(extracts), "--home", str(home)])


def test_rows_that_cannot_be_valued_block_publishing(tmp_path, capsys):
    """A Parquet delivery with typed columns: amounts and periods as DOUBLE. One amount is the
    double 300.00000000000006 (more decimals than the 6 carried); one charge is in CHF, a
    currency fx_rates never quotes. Both are revenue the report would miss: blocked."""
    folder = write_crafted_delivery(tmp_path / "extracts")
    extra = (
        "D-1,S,Analytics,Pro,recurring,1,300.00000000000006,USD,1,2025-07-01,,2025-07-01\n"
        "C-1,P,Analytics,Pro,recurring,1,100.00,CHF,1,2025-07-01,,2025-07-01\n"
    )
    charges = pl.read_csv(
        (CHARGES + extra).encode(), schema_overrides={"effective_end": pl.String}
    ).with_columns(pl.col("amount", "billing_period_months").cast(pl.Float64))
    assert charges["amount"].dtype == pl.Float64
    (folder / "billing_charges.csv").unlink()
    charges.write_parquet(folder / "billing_charges.parquet")

    assert run(tmp_path / "extracts", tmp_path / "home") == EXIT_BLOCKED
    message = capsys.readouterr().err
    assert (
        "2 quarantined revenue rows cannot be valued (bad_amount 1 row, missing_fx_rate 1 row; "
        "in billing_charges.parquet 2 rows), which exceeds the threshold of 0 rows "
        "(NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD)."
    ) in message
    assert not (tmp_path / "home" / "reports" / "latest").exists()
    rows = working(
        tmp_path / "home",
        "select row_number, reason, detail, arr_at_stake, unvalued from main.quarantine "
        "where extract = 'billing_charges' order by row_number",
    )
    assert rows == [
        (
            9,
            "bad_amount",
            "amount '300.00000000000006' has more than 6 decimal places",
            Decimal(0),
            True,
        ),
        (
            10,
            "missing_fx_rate",
            "no CHF rate on or before 2025-09-30, a snapshot at which the charge is in force",
            Decimal(0),
            True,
        ),
    ]


def test_a_reporting_currency_the_rates_are_not_quoted_in_is_refused(tmp_path, capsys, monkeypatch):
    """The crafted rates are EUR -> USD. Reporting in EUR would convert USD at nothing and EUR
    at 1.10: the delivery is refused before anything is loaded."""
    write_crafted_delivery(tmp_path / "extracts")
    monkeypatch.setenv("NRR_REPORTING_CURRENCY", "EUR")
    assert run(tmp_path / "extracts", tmp_path / "home") == EXIT_REJECTED
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "fx_rates.csv quotes the reporting currency EUR at 1.10 on 2025-07-01 (2 rows not at "
        "1): its rates are to another currency, not to EUR (NRR_REPORTING_CURRENCY). Charges "
        "are also in USD, which the file does not quote: probably the currency it is quoted "
        "to. Set NRR_REPORTING_CURRENCY to the currency the file is quoted to, or deliver "
        "rates quoted to EUR."
    )
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


def test_a_delivery_without_any_arr_is_rejected_with_a_clear_message(tmp_path, capsys):
    only_one_time = CHARGES.splitlines()[0] + "\n" + CHARGES.splitlines()[3] + "\n"
    assert "one_time" in only_one_time
    write_crafted_delivery(tmp_path / "extracts", charges=only_one_time)
    assert run(tmp_path / "extracts", tmp_path / "home") == EXIT_REJECTED
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "The delivery has no recurring or usage charge in force at any quarter's snapshot on "
        "or before the as-of date 2026-09-30: there is no ARR to report. Check that "
        "billing_charges holds recurring or usage charges and NRR_AS_OF."
    )
    assert not (tmp_path / "home" / "reports" / "latest").exists()


# Customers added to the crafted delivery, all from 2025-07-01:
# - J: 1,000,000 JPY a month, 'jpy' in lower case, at 0.006849315068493 (15 decimals):
#   12,000,000 x 0.006849315068493 = 82,191.780821916 -> 82,191.780822 (cut to 12 decimals the
#   rate would give 82,191.780816).
# - K: 12,000 a year written '12.0' months (ARR 12,000) and 700 every 7 months (ARR 1,200).
# - B: 10 seats, 1,000 -> 1,100 a month on a blank plan from 2026-01-01: FY2026-Q1 price 1,200.
# - N: plan A 500 -> plan B 750 a month, 5 seats, blank product, from 2026-01-01: tier 3,000.
# - X: 1,000 USD a month and a -875 EUR a month discount until 2025-12-01. At its own rates
#   X is never negative (2025-09-30: 12,000 - 10,500 x 1.10 = 450), but FY2025-Q4's start is
#   the 2025-09-30 snapshot at the 2025-12-31 rate 1.20: 12,000 - 12,600 = -600. Both rows
#   are quarantined; their ARR at stake is 12,000 (USD at as-of) + 10,500 x 1.10 (the discount
#   at its last day, 2025-11-30) = 23,550.
EXTRA_CHARGES = """J-1,J,Analytics,Pro,recurring,1,1000000,jpy,1,2025-07-01,,2025-07-01
K-1,K,Analytics,Pro,recurring,1,12000.00,USD,12.0,2025-07-01,,2025-07-01
K-2,K,Support,Basic,recurring,1,700.00,USD,7,2025-07-01,,2025-07-01
B-1,B,Analytics,,recurring,10,1000.00,USD,1,2025-07-01,2026-01-01,2025-07-01
B-2,B,Analytics,,recurring,10,1100.00,USD,1,2026-01-01,,2026-01-01
N-1,N,,A,recurring,5,500.00,USD,1,2025-07-01,2026-01-01,2025-07-01
N-2,N,,B,recurring,5,750.00,USD,1,2026-01-01,,2026-01-01
X-1,X,Analytics,Pro,recurring,1,1000.00,USD,1,2025-07-01,,2025-07-01
X-2,X,Analytics,Discount,recurring,1,-875.00,EUR,1,2025-07-01,2025-12-01,2025-07-01
"""
EXTRA_ACCOUNTS = "".join(
    f"{a},{a} Ltd,,SMB,NA,Software,Ana Silva,2026-09-30T02:00:00\n" for a in "JKBNX"
)


@pytest.fixture(scope="module")
def precise_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("precise")
    folder = root / "extracts" / DELIVERY
    folder.mkdir(parents=True)
    (folder / "billing_charges.csv").write_text(CHARGES + EXTRA_CHARGES)
    (folder / "crm_accounts.csv").write_text(ACCOUNTS + EXTRA_ACCOUNTS)
    (folder / "fx_rates.csv").write_text(RATES + "2025-06-30,JPY,0.006849315068493\n")
    with pytest.MonkeyPatch.context() as patch:
        # Exactly the quarantined ARR: an exact comparison lets the rest publish.
        patch.setenv("NRR_QUARANTINE_ARR_THRESHOLD", "23550")
        code = run(root / "extracts", root / "home")
    return root / "home", code


def test_precise_rates_periods_and_letter_case_are_read_exactly(precise_run):
    home, code = precise_run
    assert code == EXIT_OK
    rows = published(
        home,
        "select customer_id, end_arr from fct_arr_movements "
        "where quarter_label = 'FY2026-Q3' and customer_id in ('J', 'K') order by customer_id",
    )
    assert rows == [("J", Decimal("82191.780822")), ("K", Decimal("13200"))]


def test_blank_plan_and_product_are_values_in_the_motions(precise_run):
    home, _ = precise_run
    rows = published(
        home,
        "select customer_id, seat_arr, tier_arr, price_arr from fct_arr_movements "
        "where quarter_label = 'FY2026-Q1' and customer_id in ('B', 'N') order by customer_id",
    )
    assert rows == [("B", 0, 0, Decimal(1200)), ("N", 0, Decimal(3000), 0)]


def test_negative_arr_at_a_later_quarters_rate_quarantines_the_customer(precise_run):
    home, _ = precise_run
    rows = published(
        home,
        "select row_number, reason, detail, arr_at_stake from quarantine "
        "where extract = 'billing_charges' order by row_number",
    )
    detail = (
        "customer X has negative ARR -600.00 at the 2025-09-30 snapshot, "
        "converted at the 2025-12-31 rates"
    )
    assert rows == [
        (16, "negative_customer_arr", detail, Decimal(12000)),
        (17, "negative_customer_arr", detail, Decimal(11550)),
    ]
    assert published(home, "select count(*) from fct_arr_movements where customer_id = 'X'") == [
        (0,)
    ]


def test_report_settings_carry_the_delivery_and_code_version(precise_run):
    home, _ = precise_run
    settings = dict(published(home, "select name, value from report_settings"))
    assert settings["delivery_date"] == DELIVERY
    assert settings["as_of"] == DELIVERY
    assert settings["code_version"]
    assert len(settings["git_commit"]) in (40, len("unknown"))
    assert settings["quarantine_arr_threshold"] == "23550"
    assert settings["restatements"] == "First report: there is no previous report to compare with."
