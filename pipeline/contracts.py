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
}

REQUIRED_EXTRACTS = ("billing_charges", "crm_accounts")
OPTIONAL_EXTRACTS = ("fx_rates",)
FILE_SUFFIXES = (".csv", ".parquet")

CHARGE_TYPES = ("recurring", "usage", "one_time")
ARR_BEARING_CHARGE_TYPES = ("recurring", "usage")
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
