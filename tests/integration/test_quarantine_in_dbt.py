"""dbt values the quarantine (models/gate) and applies the customer-level rules
(int_charge_exclusions): rows, reasons, details, ARR at stake, unvalued flags and the valid ARR
at as-of, computed by hand.

Each scenario runs the row rules in Python, stores their tables as the quarantine step does,
and runs dbt's models up to `quarantine` on them (tests/integration/valued.py); several cases
share a delivery.
"""

from decimal import Decimal

import pytest

from tests.integration.valued import valued_in_dbt
from tests.unit.factories import account, charge, rate

pytestmark = pytest.mark.integration


def test_quarantined_charges_are_valued_as_the_unit_tests_compute(tmp_path):
    rows = [
        charge(charge_id="V", amount="1000.00"),  # valid: 12,000 at as-of
        # 300 a quarter, unknown account: 1,200.
        charge(charge_id="Q1", account_id="A404", amount="300.00", billing_period_months="3"),
        # EUR 100 a month until 2026-03-01: last day 2026-02-28, the 2025-12-31 rate 1.10.
        charge(
            charge_id="Q2",
            account_id="A404",
            currency="EUR",
            amount="100.00",
            effective_end="2026-03-01",
        ),
        charge(charge_id="Q3", account_id="A404", effective_start="2026-10-01"),  # after as-of
        charge(charge_id="Q4", account_id="A404", amount="abc"),
        charge(charge_id="Q5", account_id="A404", billing_period_months="x"),
        charge(charge_id="Q6", account_id="A404", effective_start="2026-02-30"),
        charge(charge_id="Q7", account_id="A404", charge_type=None),
        charge(charge_id="Q8", account_id="A404", currency="XXX"),
        charge(charge_id="Q9", currency="CHF"),  # missing_fx_rate: no CHF rate at all
        charge(charge_id="Q10", account_id="A404", charge_type="one_time", amount="abc"),
        charge(charge_id="Q11", account_id="A404", amount="abc", effective_start="2026-10-01"),
        charge(charge_id="Q12", account_id="A404", amount="abc", effective_end="2025-12-01"),
        # -1,000 a month, unknown account: the absolute value, 12,000.
        charge(charge_id="Q13", account_id="A404", amount="-1000.00"),
        # 700 every 7 months: 1,200.
        charge(charge_id="Q14", account_id="A404", amount="700.00", billing_period_months="7"),
    ]
    rates = [
        rate(rate_date="2025-12-31", rate_to_reporting="1.10"),
        rate(rate_date="2026-03-01", rate_to_reporting="2.00"),
    ]
    valued = valued_in_dbt(tmp_path, rows, rates=rates)
    assert valued.valid_arr == Decimal("12000")
    assert valued.stake(2) == ("unknown_account", Decimal("1200"), False)
    assert valued.stake(3) == ("unknown_account", Decimal("1320"), False)
    assert valued.stake(4) == ("unknown_account", Decimal(0), False)
    assert [valued.stake(n) for n in range(5, 11)] == [
        ("bad_amount", Decimal(0), True),
        ("bad_billing_period", Decimal(0), True),
        ("bad_date", Decimal(0), True),
        ("bad_charge_type", Decimal(0), True),
        ("unknown_currency", Decimal(0), True),
        ("missing_fx_rate", Decimal(0), True),
    ]
    never_in_force = [valued.stake(n)[1:] for n in (11, 12, 13)]
    assert never_in_force == [(Decimal(0), False)] * 3
    assert valued.stake(14) == ("unknown_account", Decimal("12000"), False)
    assert valued.stake(15) == ("unknown_account", Decimal("1200"), False)


def test_a_first_rate_and_eighteen_decimals(tmp_path):
    # EUR from 2025-10-01 whose only rate is from 2026-01-05: missing_fx_rate, valued at that
    # first rate, 100 x 12 x 1.10 = 1,320. JPY at 0.006849315068493151, unknown account:
    # 1,000,000 x 12 x 0.006849315068493151 = 82,191.780821917812 -> 82,191.780822.
    rows = [
        charge(charge_id="U", amount="10.00"),
        charge(charge_id="E", currency="eur", amount="100", effective_start="2025-10-01"),
        charge(charge_id="J", account_id="A404", currency="JPY", amount="1000000"),
    ]
    rates = [
        rate(rate_date="2026-01-05", currency="EUR"),
        rate(currency="jpy", rate_to_reporting="0.006849315068493151"),
    ]
    valued = valued_in_dbt(tmp_path, rows, rates=rates)
    assert valued.valid_arr == Decimal("120")
    assert valued.stake(2) == ("missing_fx_rate", Decimal("1320"), False)
    assert valued.stake(3) == ("unknown_account", Decimal("82191.780822"), False)


def test_quarantined_rates_a_snapshot_needed_are_unvalued_with_their_snapshot(tmp_path):
    # A EUR charge in force from 2026-01-01 (snapshots 2026-03-31, -06-30, -09-30). The
    # 2026-03-31 rate is unreadable: that snapshot would have used it and converted at the
    # 2025-12-31 rate instead. Both 2026-06-15 rates are duplicates: the 2026-06-30 snapshot
    # would have used one. A bad rate dated 2025-06-30, before the 2025-12-31 rate that every
    # snapshot uses, and a bad GBP rate (no GBP charge) were needed by none.
    rows = [charge(currency="EUR")]
    rates = [
        rate(),
        rate(rate_date="2026-03-31", rate_to_reporting="n/a"),
        rate(rate_date="2026-06-15", rate_to_reporting="1.3"),
        rate(rate_date="2026-06-15", rate_to_reporting="1.4"),
        rate(rate_date="2025-06-30", rate_to_reporting="0"),
        rate(rate_date="2026-03-31", currency="GBP", rate_to_reporting="-1"),
    ]
    valued = valued_in_dbt(tmp_path, rows, rates=rates)
    # 1,000 x 12 at the 2025-12-31 rate 1.10 (the 2026-06-15 rates are quarantined).
    assert valued.valid_arr == Decimal("13200")
    assert valued.table.select("row_number", "reason", "detail", "unvalued").rows() == [
        (
            2,
            "bad_fx_rate",
            "rate_to_reporting 'n/a' is not a number > 0; the 2026-03-31 snapshot would have "
            "used this rate and converted at the 2025-12-31 rate instead",
            True,
        ),
        (
            3,
            "duplicate_fx_rate",
            "EUR has 2 rates on 2026-06-15; the 2026-06-30 snapshot would have used this rate "
            "and converted at the 2025-12-31 rate instead",
            True,
        ),
        (
            4,
            "duplicate_fx_rate",
            "EUR has 2 rates on 2026-06-15; the 2026-06-30 snapshot would have used this rate "
            "and converted at the 2025-12-31 rate instead",
            True,
        ),
        (5, "bad_fx_rate", "rate_to_reporting '0' is not a number > 0", False),
        (6, "bad_fx_rate", "rate_to_reporting '-1' is not a number > 0", False),
    ]


def test_a_negative_customer_and_a_broken_account_are_valued_alike(tmp_path):
    # The unit test's cohort case: U 1,000 USD a month, D -900 EUR a month until 2025-04-01;
    # both negative_customer_arr. U is in force at as-of: 12,000. D's last day is 2025-03-31,
    # at the 2024-12-31 rate 1.00: 10,800. Account B2 is a duplicate: its charge is too.
    rows = [
        charge(charge_id="U", amount="1000", effective_start="2025-01-01"),
        charge(
            charge_id="D",
            currency="EUR",
            amount="-900",
            effective_start="2025-01-01",
            effective_end="2025-04-01",
        ),
        charge(charge_id="K", account_id="K1", amount="50.00"),
        charge(charge_id="B", account_id="B2", amount="10.00"),
    ]
    accounts = [account(), account(account_id="K1"), account(account_id="B2")] + [
        account(account_id="B2", account_name="again")
    ]
    rates = [
        rate(rate_date="2024-12-31", rate_to_reporting="1.00"),
        rate(rate_date="2026-04-01", rate_to_reporting="1.20"),
    ]
    valued = valued_in_dbt(tmp_path, rows, accounts=accounts, rates=rates)
    assert valued.valid_arr == Decimal("600")
    charges = valued.table.filter(extract="billing_charges")
    assert charges.select("row_number", "reason", "arr_at_stake", "unvalued").rows() == [
        (1, "negative_customer_arr", Decimal("12000"), False),
        (2, "negative_customer_arr", Decimal("10800"), False),
        (4, "duplicate_account_id", Decimal("120"), False),
    ]
    # The cohort snapshot 2025-03-31 is 12,000 - 10,800 = 1,200 at its own rate, at the next
    # quarter's and at the TTM rate (2026-03-31), all 1.00; cohort retention restates it at
    # every later quarter's rate, and at 2026-06-30's 1.20 it is 12,000 - 12,960 = -960.
    assert charges["detail"].to_list() == [
        "customer A1 has negative ARR -960.00 at the 2025-03-31 snapshot, converted at the "
        "2026-06-30 rates"
    ] * 2 + ["account B2 is quarantined: account_id B2 appears on 2 rows"]
    # The raw values of a row the customer-level rules exclude, as delivered.
    assert valued.row("billing_charges", 2)["raw_record"] == (
        '{"charge_id":"D","account_id":"A1","product":"Analytics","plan":"Pro",'
        '"charge_type":"recurring","quantity":"10","amount":"-900","currency":"EUR",'
        '"billing_period_months":"1","effective_start":"2025-01-01",'
        '"effective_end":"2025-04-01","updated_at":"2026-01-01T09:00:00"}'
    )


def test_the_customer_level_rules_one_customer_at_a_time(tmp_path):
    """The customer-level rules in dbt (int_charge_exclusions), each customer on its own."""
    rows = [
        # A1: 100 a month and a -150 discount until 2026-04-01; the one_time line is not ARR.
        # At the 2026-03-31 snapshot 1,200 - 1,800 = -600: both ARR lines are quarantined.
        charge(charge_id="C1", amount="100"),
        charge(charge_id="C2", plan="Discount", amount="-150", effective_end="2026-04-01"),
        charge(charge_id="C3", charge_type="one_time", amount="50"),
        # D1: a discount smaller than the charge is valid.
        charge(charge_id="D-1", account_id="D1", amount="100"),
        charge(charge_id="D-2", account_id="D1", plan="Discount", amount="-40"),
        # G1: GBP in force from 2025-10-01 (first snapshot 2025-12-31), first GBP rate
        # 2026-01-05: missing_fx_rate.
        charge(charge_id="G", account_id="G1", currency="GBP", effective_start="2025-10-01"),
        # H1: CHF from 2025-10-01 with a rate dated on the 2025-12-31 snapshot: enough.
        charge(charge_id="H", account_id="H1", currency="CHF", effective_start="2025-10-01"),
        # O1: a one_time row in JPY, which has no rate: needs none.
        charge(charge_id="O", account_id="O1", charge_type="one_time", currency="JPY"),
    ]
    accounts = [account()] + [account(account_id=a) for a in ("D1", "G1", "H1", "O1")]
    rates = [
        rate(rate_date="2026-01-05", currency="GBP", rate_to_reporting="1.25"),
        rate(rate_date="2025-12-31", currency="CHF", rate_to_reporting="1.05"),
    ]
    valued = valued_in_dbt(tmp_path, rows, accounts=accounts, rates=rates)
    assert valued.table.select("row_number", "reason", "detail").rows() == [
        (
            1,
            "negative_customer_arr",
            "customer A1 has negative ARR -600.00 at the 2026-03-31 snapshot, converted at "
            "the 2026-03-31 rates",
        ),
        (
            2,
            "negative_customer_arr",
            "customer A1 has negative ARR -600.00 at the 2026-03-31 snapshot, converted at "
            "the 2026-03-31 rates",
        ),
        (
            6,
            "missing_fx_rate",
            "no GBP rate on or before 2025-12-31, a snapshot at which the charge is in force",
        ),
    ]
    # G's ARR at stake: 1,000 x 12 at the rate of its last day in force (as-of), the
    # 2026-01-05 rate 1.25: 15,000. A1's lines: C1 1,200; C2 (last day 2026-03-31) 1,800.
    assert [valued.stake(n) for n in (1, 2, 6)] == [
        ("negative_customer_arr", Decimal("1200"), False),
        ("negative_customer_arr", Decimal("1800"), False),
        ("missing_fx_rate", Decimal("15000"), False),
    ]
    # Valid at as-of: D1 1,200 - 480 = 720; H1 1,000 x 12 x 1.05 = 12,600.
    assert valued.valid_arr == Decimal("13320")
    assert valued.rejection is None


def test_a_delivery_without_arr_is_rejected_saying_why(tmp_path):
    # Every ARR line quarantined: the message counts the rows that would carry revenue. (An
    # as-of before every charge: tests/reliability/test_hostile_deliveries.py.)
    broken = [charge(account_id="A404"), charge(charge_id="C2", amount="abc")]
    valued = valued_in_dbt(tmp_path, broken)
    assert str(valued.rejection) == (
        "The delivery has no recurring or usage charge in force at any quarter's snapshot on "
        "or before the as-of date 2026-09-30: there is no ARR to report. 2 quarantined "
        "billing_charges rows would carry revenue (bad_amount: 1, unknown_account: 1); see the "
        "quarantine."
    )
