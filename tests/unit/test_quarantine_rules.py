"""Every row rule of contracts.md, one reason code at a time.

The customer-level rules (missing_fx_rate, negative_customer_arr) and what a quarantined row is
worth are dbt's: tests/integration/test_quarantine_in_dbt.py."""

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from pipeline.quarantine import RuleContext, build_quarantine
from tests.unit.factories import account, charge, landed, rate

CONTEXT = RuleContext("USD", 1, date(2026, 9, 30))


def rules_on(charges, accounts=None, rates=None, context=CONTEXT):
    return build_quarantine(
        landed("billing_charges", charges),
        landed("crm_accounts", accounts if accounts is not None else [account()]),
        landed("fx_rates", rates if rates is not None else [rate()]),
        context,
    )


def quarantine_of(charges, accounts=None, rates=None) -> pl.DataFrame:
    return rules_on(charges, accounts, rates).rejects


def checked_of(charges, accounts=None, rates=None) -> dict[str, pl.DataFrame]:
    return rules_on(charges, accounts, rates).checked


def test_a_valid_delivery_has_an_empty_quarantine():
    good = [charge(), charge(charge_id="C2", charge_type="one_time", amount="500")]
    assert quarantine_of(good).is_empty()


CHARGE_CASES = [
    ("missing_charge_id", {"charge_id": None}, "charge_id is empty"),
    ("missing_charge_id", {"charge_id": "  "}, "charge_id is empty"),
    ("bad_date", {"effective_start": "2026-02-30"}, "effective_start '2026-02-30'"),
    ("bad_date", {"effective_start": "01/02/2026"}, "effective_start '01/02/2026'"),
    ("bad_date", {"effective_end": "2026-13-01"}, "effective_end '2026-13-01'"),
    ("bad_date", {"updated_at": "yesterday"}, "updated_at 'yesterday'"),
    ("end_before_start", {"effective_end": "2025-12-31"}, "before effective_start"),
    ("bad_charge_type", {"charge_type": "Recurring"}, "charge_type 'Recurring'"),
    ("bad_quantity", {"quantity": "0"}, "quantity '0'"),
    ("bad_quantity", {"quantity": "-3"}, "quantity '-3'"),
    ("bad_quantity", {"quantity": "ten"}, "quantity 'ten'"),
    ("bad_amount", {"amount": "1e3"}, "amount '1e3'"),
    ("bad_amount", {"amount": "12,50"}, "amount '12,50'"),
    ("bad_amount", {"amount": "1.2345678"}, "amount '1.2345678' has more than 6 decimal places"),
    (
        "bad_amount",
        {"amount": "300.00000000000006"},  # a DOUBLE's shortest form, read from Parquet
        "amount '300.00000000000006' has more than 6 decimal places",
    ),
    (
        "bad_amount",
        {"amount": "123456789012345"},
        "amount '123456789012345' has more than 14 digits before the decimal point",
    ),
    ("bad_amount", {"amount": None}, "amount '' is not a decimal number"),
    ("bad_amount", {"amount": "１２８４.００"}, "amount '１２８４.００' is not a decimal number"),
    ("bad_quantity", {"quantity": "0.00"}, "quantity '0.00' is not a number > 0"),
    ("bad_quantity", {"quantity": "1.23456"}, "quantity '1.23456' has more than 4 decimal"),
    (
        "bad_billing_period",
        {"billing_period_months": "0"},
        "billing_period_months '0' is not a whole number of months from 1 to 120",
    ),
    ("bad_billing_period", {"billing_period_months": "121"}, "billing_period_months '121'"),
    ("bad_billing_period", {"billing_period_months": "12.5"}, "billing_period_months '12.5'"),
    ("bad_billing_period", {"billing_period_months": "1e1"}, "billing_period_months '1e1'"),
    ("unknown_currency", {"currency": "XXX"}, "currency 'XXX'"),
    ("unknown_currency", {"currency": " USD"}, "currency ' USD'"),
    ("unknown_account", {"account_id": "A404"}, "account_id 'A404' is not in the CRM extract"),
]


@pytest.mark.parametrize(("reason", "bad_fields", "detail"), CHARGE_CASES)
def test_a_charge_breaking_one_rule_is_quarantined_with_its_reason(reason, bad_fields, detail):
    bad = charge(
        charge_id=bad_fields.get("charge_id", "BAD"),
        **{k: v for k, v in bad_fields.items() if k != "charge_id"},
    )
    table = quarantine_of([charge(), bad])
    assert table.select("extract", "row_number", "reason").rows() == [
        ("billing_charges", 2, reason)
    ]
    assert detail in table["detail"][0]
    assert table["source_file"][0] == "billing_charges.csv"


@pytest.mark.parametrize(
    "fields",
    [
        {"billing_period_months": "12.0"},
        {"billing_period_months": "2"},
        {"billing_period_months": "120"},
        {"currency": "usd"},
        {"amount": "1.234567"},
        {"amount": "-0.5"},
    ],
)
def test_what_real_systems_send_is_accepted_exactly(fields):
    rows = [charge(amount="5000"), charge(charge_id="C2", **fields)]
    assert quarantine_of(rows).is_empty()


def test_end_equal_to_start_is_valid_and_never_in_force():
    assert quarantine_of([charge(effective_end="2026-01-01")]).is_empty()


def test_every_row_sharing_a_charge_id_is_quarantined():
    table = quarantine_of([charge(), charge(amount="5"), charge(charge_id="C2")])
    assert table.select("row_number", "reason").rows() == [
        (1, "duplicate_charge_id"),
        (2, "duplicate_charge_id"),
    ]
    assert table["detail"][0] == "charge_id C1 appears on 2 rows"


def test_raw_values_are_kept_as_received():
    table = quarantine_of([charge(amount=" 12.00")])
    assert '"amount":" 12.00"' in table["raw_record"][0]
    assert table["reason"][0] == "bad_amount"


def test_an_account_without_id_is_quarantined_and_charges_naming_it_are_unknown():
    table = quarantine_of([charge()], accounts=[account(account_id=None)])
    assert table.select("extract", "reason", "detail").rows() == [
        ("billing_charges", "unknown_account", "account_id 'A1' is not in the CRM extract"),
        ("crm_accounts", "missing_account_id", "account_id is empty"),
    ]


def test_billing_accounts_missing_from_the_crm_are_listed_whichever_rule_a_row_broke_first():
    """What `nrr check` lists: B404 has two charges, one quarantined bad_amount first (so
    not unknown_account), one unknown_account; Z404 one; a blank account_id names no account;
    A1 (in the CRM, its row with a bad date) is not missing."""
    result = rules_on(
        [
            charge(),
            charge(charge_id="C2", account_id="B404", amount="abc"),
            charge(charge_id="C3", account_id="Z404"),
            charge(charge_id="C4", account_id="B404"),
            charge(charge_id="C5", account_id=None),
            charge(charge_id="C6", effective_start="2026-02-30"),
        ]
    )
    assert result.rejects.select("row_number", "reason").rows() == [
        (2, "bad_amount"),
        (3, "unknown_account"),
        (4, "unknown_account"),
        (5, "unknown_account"),
        (6, "bad_date"),
    ]
    assert result.missing_accounts.rows() == [("B404", 2, 2), ("Z404", 1, 3)]


ACCOUNT_CASES = [
    (
        "duplicate_account_id",
        [account(), account(account_name="Acme again")],
        [1, 2],
        "account_id A1 appears on 2 rows",
    ),
    (
        "unknown_parent",
        [account(parent_account_id="P404")],
        [1],
        "parent account P404 of account A1 is not a valid account in the CRM extract",
    ),
]


@pytest.mark.parametrize(("reason", "accounts", "rows", "detail"), ACCOUNT_CASES)
def test_a_broken_account_is_quarantined_and_so_are_its_charges(reason, accounts, rows, detail):
    table = quarantine_of([charge()], accounts=accounts)
    crm = table.filter(pl.col("extract") == "crm_accounts")
    assert crm["row_number"].to_list() == rows
    assert set(crm["reason"]) == {reason}
    assert crm["detail"][0] == detail
    billing = table.filter(pl.col("extract") == "billing_charges")
    assert billing["reason"].to_list() == [reason]
    assert billing["detail"][0].startswith("account A1 is quarantined")


def test_a_parent_loop_quarantines_the_loop_and_the_accounts_under_it():
    accounts = [
        account(account_id="A", parent_account_id="B"),
        account(account_id="B", parent_account_id="A"),
        account(account_id="C", parent_account_id="A"),
        account(account_id="D"),
    ]
    table = quarantine_of([charge(account_id="D")], accounts=accounts)
    assert table.select("row_number", "reason", "detail").rows() == [
        (1, "parent_loop", "account A is in parent loop A (2 accounts): its members are A, B"),
        (
            2,
            "parent_loop",
            "account B is in parent loop A (2 accounts), whose members are listed on account A",
        ),
        (
            3,
            "parent_loop",
            "account C rolls up into parent loop A (2 accounts), whose members are listed on "
            "account A",
        ),
    ]


FX_CASES = [
    ("bad_date", [rate(rate_date="31.12.2025")], [1]),
    ("bad_fx_rate", [rate(rate_to_reporting="0")], [1]),
    ("bad_fx_rate", [rate(rate_to_reporting="-1.1")], [1]),
    ("bad_fx_rate", [rate(rate_to_reporting="n/a")], [1]),
    ("duplicate_fx_rate", [rate(), rate(rate_to_reporting="1.2")], [1, 2]),
]


@pytest.mark.parametrize(("reason", "rates", "rows"), FX_CASES)
def test_a_broken_fx_rate_is_quarantined(reason, rates, rows):
    table = quarantine_of([charge()], rates=rates)
    assert table.select("extract", "reason").unique().rows() == [("fx_rates", reason)]
    assert table["row_number"].to_list() == rows


def test_fx_rates_keep_eighteen_decimals_and_read_any_letter_case():
    # Valued with its 18 decimals in dbt: tests/integration/test_quarantine_in_dbt.py.
    rates = [rate(currency="eur", rate_to_reporting="0.006849315068493151")]
    checked = checked_of([charge(currency="EUR")], rates=rates)["fx_rates"]
    assert checked.select("currency", "rate_to_reporting", "reason").rows() == [
        ("EUR", Decimal("0.006849315068493151"), None)
    ]
    too_precise = quarantine_of([charge()], rates=[rate(rate_to_reporting="0." + "0" * 18 + "1")])
    assert too_precise["detail"].to_list() == [
        "rate_to_reporting '0.0000000000000000001' has more than 18 decimal places"
    ]
    assert quarantine_of([charge()], rates=[rate(rate_to_reporting="0.000")])[
        "detail"
    ].to_list() == ["rate_to_reporting '0.000' is not a number > 0"]
    duplicates = quarantine_of([charge()], rates=[rate(currency="eur"), rate(currency="EUR")])
    assert set(duplicates["reason"]) == {"duplicate_fx_rate"}


def test_the_checked_tables_carry_typed_values():
    # Values are parsed once, by the row rules; dbt's staging reads them as they are.
    charges = [
        charge(amount="100.123456", currency="usd", billing_period_months="12.0"),
        charge(
            charge_id="C2", quantity="2.5", amount="-7", currency="EUR", effective_end="2026-06-30"
        ),
        charge(charge_id="C3", amount="1e3"),
    ]
    accounts = [account(), account(account_id="A2", parent_account_id="A1")]
    rates = [rate(currency="eur", rate_to_reporting="0.006849315068493151")]
    checked = build_quarantine(
        landed("billing_charges", charges),
        landed("crm_accounts", accounts),
        landed("fx_rates", rates),
        CONTEXT,
    ).checked
    billing = checked["billing_charges"].sort("_row_number")
    assert billing.schema["amount"] == pl.Decimal(20, 6)
    assert billing.schema["quantity"] == pl.Decimal(18, 4)
    assert billing.schema["billing_period_months"] == pl.Int32
    assert billing.schema["effective_start"] == pl.Date
    assert billing.select(
        "charge_id",
        "quantity",
        "amount",
        "currency",
        "billing_period_months",
        "effective_end",
        "customer_id",
        "reason",
    ).rows() == [
        ("C1", Decimal("10"), Decimal("100.123456"), "USD", 12, None, "A1", None),
        ("C2", Decimal("2.5"), Decimal("-7"), "EUR", 1, date(2026, 6, 30), "A1", None),
        ("C3", Decimal("10"), None, "USD", 1, None, "A1", "bad_amount"),
    ]
    assert checked["crm_accounts"].sort("_row_number").select(
        "account_id", "ultimate_parent_id", "reason"
    ).rows() == [
        ("A1", "A1", None),
        ("A2", "A1", None),
    ]
    fx = checked["fx_rates"]
    assert fx.schema["rate_to_reporting"] == pl.Decimal(30, 18)
    assert fx.select("rate_date", "currency", "rate_to_reporting", "reason").rows() == [
        (date(2025, 12, 31), "EUR", Decimal("0.006849315068493151"), None)
    ]
