"""The input extracts' contract: file names and required columns (contracts.md)."""

from __future__ import annotations

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
BILLING_PERIODS = (1, 3, 6, 12, 24, 36)
