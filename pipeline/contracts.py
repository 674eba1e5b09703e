"""The input extracts' contract: file names and required columns (contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass

EXTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "billing_charges": (
        "charge_id",
        "account_id",
        "product",
        "plan",
        "charge_type",
        "quantity",
        "amount",
        "currency",
        "billing_period_months",
        "effective_start",
        "effective_end",
        "updated_at",
    ),
    "crm_accounts": (
        "account_id",
        "account_name",
        "parent_account_id",
        "segment",
        "region",
        "industry",
        "csm_owner",
        "updated_at",
    ),
    "fx_rates": ("rate_date", "currency", "rate_to_reporting"),
    "account_signals": (
        "account_id",
        "signal_date",
        "signal_type",
        "value",
        "note",
        "updated_at",
    ),
}

REQUIRED_EXTRACTS = ("billing_charges", "crm_accounts")
OPTIONAL_EXTRACTS = ("fx_rates", "account_signals")
# What an account_signals row reports (the watchlist's signals from outside billing):
# support_tickets (tickets opened that day), nps (a 0-10 score), champion_change and
# competitor_mention (an event; value ignored).
SIGNAL_TYPES = ("support_tickets", "nps", "champion_change", "competitor_mention")
FILE_SUFFIXES = (".csv", ".parquet")

CHARGE_TYPES = ("recurring", "usage", "one_time")
# Dates later than as-of plus this many years are typos (2205 for 2025): quarantined.
PLAUSIBLE_YEARS_AFTER_AS_OF = 50
# A billing period is a whole number of months in this range (`12.0` reads as 12).
BILLING_PERIOD_MONTHS = (1, 120)


@dataclass(frozen=True)
class NumberFormat:
    """How many digits a delivered number may have before and after the decimal point.

    The limits are what the warehouse carries exactly: amounts as DECIMAL(20, 6), quantities
    as DECIMAL(18, 4), FX rates as DECIMAL(30, 18) (the dbt staging casts say the same)."""

    integer_digits: int
    decimals: int
    signed: bool = False


AMOUNT_FORMAT = NumberFormat(integer_digits=14, decimals=6, signed=True)
QUANTITY_FORMAT = NumberFormat(integer_digits=14, decimals=4)
RATE_FORMAT = NumberFormat(integer_digits=12, decimals=18)
# An account_signals value: a count or a score, up to 9 digits and 4 decimals.
SIGNAL_VALUE_FORMAT = NumberFormat(integer_digits=9, decimals=4)

# Every reason a row can be quarantined for, by extract, in the order the rules apply. The
# Great Expectations suite on the quarantine (raw__quarantine, on dbt's model) reads this list
# (validation.suite_definition).
QUARANTINE_REASONS: dict[str, tuple[str, ...]] = {
    "billing_charges": (
        "missing_charge_id",
        "duplicate_charge_id",
        "bad_date",
        "implausible_date",
        "end_before_start",
        "bad_charge_type",
        "bad_quantity",
        "bad_amount",
        "bad_billing_period",
        "unknown_currency",
        "unknown_account",
        "missing_fx_rate",
        "negative_customer_arr",
    ),
    "crm_accounts": (
        "missing_account_id",
        "duplicate_account_id",
        "unknown_parent",
        "parent_loop",
    ),
    "fx_rates": ("bad_date", "implausible_date", "bad_fx_rate", "duplicate_fx_rate"),
    "account_signals": (
        "missing_account_id",
        "bad_date",
        "implausible_date",
        "bad_signal_type",
        "bad_value",
        "unknown_account",
    ),
}
