"""The row rules of one delivery: their verdicts as typed checked tables and the rejects.

Python checks "can this row be read?" (pipeline/rules: grammar, accounts and the hierarchy
walk, fx_rates, billing_charges) and writes each extract as a typed checked table: every
delivered row with its values parsed once and reason/detail (null when it passed). dbt's
staging reads the rows that passed from those tables. Nothing is repaired: a row is either
valid as received or quarantined (the one normalisation the contract allows: currency codes
in any letter case read as upper case).

What needs the fiscal spine, FX or ARR is dbt's (docs/architecture.md): the customer-level
rules (missing_fx_rate, negative_customer_arr: models/intermediate/int_charge_exclusions), the
ARR at stake of each quarantined row or its `unvalued` flag, and the gated, published
quarantine (models/gate/quarantine), which values the rejects written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.rules.accounts import check_accounts, resolve_hierarchy
from pipeline.rules.charges import (
    accounts_missing_from_crm,
    check_charge_rows,
    raw_values,
    typed_charges,
)
from pipeline.rules.fx_rates import check_fx_rates
from pipeline.rules.grammar import ISO_4217, RuleContext, with_raw_record
from pipeline.rules.signals import check_account_signals

__all__ = [
    "ISO_4217",
    "REJECT_SCHEMA",
    "QuarantineResult",
    "RuleContext",
    "build_quarantine",
    "check_fx_rates",
    "resolve_hierarchy",
]

# The row rules' rejects: one row per delivered row that breaks a rule (raw.quarantine_rejects;
# dbt's `quarantine` model adds arr_at_stake and unvalued, and the customer-level rules' rows).
REJECT_SCHEMA = {
    "delivery_date": pl.Date,
    "source_file": pl.String,
    "extract": pl.String,
    "row_number": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "raw_record": pl.String,
}


# The checked crm_accounts table: ultimate_parent_id is the one hierarchy walk's answer (null
# when the account is quarantined); int_customer_accounts applies the rollup to it.
CHECKED_ACCOUNT_COLUMNS = (
    "_row_number",
    "_source_file",
    "_delivery_date",
    "account_id",
    "account_name",
    "parent_account_id",
    "ultimate_parent_id",
    "segment",
    "region",
    "industry",
    "csm_owner",
    "reason",
    "detail",
)


@dataclass(frozen=True)
class QuarantineResult:
    """What the row rules made of a delivery."""

    # The row rules' rejects (REJECT_SCHEMA), written as raw.quarantine_rejects.
    rejects: pl.DataFrame
    # Extract -> its checked table: every delivered row, values typed, reason/detail (null
    # when the row passed every row rule). Written as raw.checked_<extract>; staging reads them.
    checked: dict[str, pl.DataFrame] = field(default_factory=dict)
    # The billing accounts the CRM extract does not hold (account_id, rows, first_row).
    missing_accounts: pl.DataFrame = field(default_factory=pl.DataFrame)


def _rejects(frame: pl.LazyFrame, extract: str, columns: tuple[str, ...]) -> pl.LazyFrame:
    """Rows with a reason, as the quarantine's columns before valuation (raw_record kept)."""
    return with_raw_record(frame.filter(pl.col("reason").is_not_null()), columns).select(
        pl.col("_delivery_date").alias("delivery_date"),
        pl.col("_source_file").alias("source_file"),
        pl.lit(extract).alias("extract"),
        pl.col("_row_number").alias("row_number"),
        "reason",
        "detail",
        "raw_record",
    )


def no_signals() -> pl.LazyFrame:
    """raw.account_signals of a delivery without that optional extract: no rows."""
    return pl.LazyFrame(
        schema={
            "_delivery_date": pl.Date,
            "_source_file": pl.String,
            "_row_number": pl.Int64,
            **{c: pl.String for c in EXTRACT_COLUMNS["account_signals"]},
        }
    )


def build_quarantine(
    charges: pl.LazyFrame,
    accounts: pl.LazyFrame,
    fx_rates: pl.LazyFrame,
    ctx: RuleContext,
    signals: pl.LazyFrame | None = None,
) -> QuarantineResult:
    """The row rules' rejects of one delivery (one row per broken source row) and the typed
    checked tables (signals: the optional account_signals extract)."""
    checked_rates = check_fx_rates(fx_rates, ctx).collect().lazy()
    checked_accounts = check_accounts(accounts, ctx.rollup).collect().lazy()
    checked_signals = (
        check_account_signals(
            signals if signals is not None else no_signals(), checked_accounts, ctx
        )
        .collect()
        .lazy()
    )
    checked_charges = check_charge_rows(charges, checked_accounts, ctx)
    broken = checked_charges.lazy().filter(pl.col("reason").is_not_null()).collect().lazy()
    checked = {
        "billing_charges": typed_charges(checked_charges.lazy()).collect(),
        "crm_accounts": checked_accounts.select(CHECKED_ACCOUNT_COLUMNS).collect(),
        "fx_rates": checked_rates.select(
            "_row_number",
            "_source_file",
            "_delivery_date",
            pl.col("rate_day").alias("rate_date"),
            pl.col("currency_code").alias("currency"),
            pl.col("rate_value").alias("rate_to_reporting"),
            "reason",
            "detail",
        ).collect(),
        "account_signals": checked_signals.select(
            "_row_number",
            "_source_file",
            "_delivery_date",
            "account_id",
            pl.col("signal_day").alias("signal_date"),
            pl.col("signal_kind").alias("signal_type"),
            pl.col("signal_value").alias("value"),
            "note",
            "reason",
            "detail",
        ).collect(),
    }
    rejects = (
        pl.concat(
            [
                _rejects(
                    raw_values(broken, charges),
                    "billing_charges",
                    EXTRACT_COLUMNS["billing_charges"],
                ),
                _rejects(checked_accounts, "crm_accounts", EXTRACT_COLUMNS["crm_accounts"]),
                _rejects(checked_rates, "fx_rates", EXTRACT_COLUMNS["fx_rates"]),
                _rejects(checked_signals, "account_signals", EXTRACT_COLUMNS["account_signals"]),
            ]
        )
        .sort("extract", "row_number")
        .collect()
        .cast(REJECT_SCHEMA)
    )
    return QuarantineResult(rejects, checked, accounts_missing_from_crm(checked_charges))
