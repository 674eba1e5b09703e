"""The quarantine of one delivery: the row rules' verdicts assembled into one table.

Python checks "can this row be read?" (pipeline/rules: grammar, accounts and the hierarchy
walk, fx_rates, billing_charges) and writes each extract as a typed checked table: every
delivered row with its values parsed once and reason/detail (null when it passed). dbt's
staging reads the rows that passed from those tables. Nothing is repaired: a row is either
valid as received or quarantined (the one normalisation the contract allows: currency codes
in any letter case read as upper case).

The customer-level rules (missing_fx_rate, negative_customer_arr) are applied to the rows
that pass every row-level rule, and every quarantined charge that may carry revenue is valued
(`arr_at_stake`) or, when its ARR cannot be valued, flagged `unvalued`: the publish gate counts
both (pipeline/rules/valuation.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.landing import DeliveryRejected
from pipeline.rules.accounts import check_accounts, resolve_hierarchy
from pipeline.rules.charges import check_charge_rows, raw_values, typed_charges
from pipeline.rules.fx_rates import check_fx_rates, valid_rates
from pipeline.rules.grammar import ARR, ISO_4217, RuleContext, with_raw_record
from pipeline.rules.valuation import (
    customer_rules,
    flag_needed_rates,
    rates_a_snapshot_needed,
    valid_arr_at,
    valued,
)

__all__ = [
    "ISO_4217",
    "QUARANTINE_SCHEMA",
    "QuarantineResult",
    "RuleContext",
    "build_quarantine",
    "check_fx_rates",
    "no_arr_rejection",
    "resolve_hierarchy",
]

QUARANTINE_SCHEMA = {
    "delivery_date": pl.Date,
    "source_file": pl.String,
    "extract": pl.String,
    "row_number": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "raw_record": pl.String,
    "arr_at_stake": ARR,
    "unvalued": pl.Boolean,
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
    """The quarantine table and what the publish gate measures it against."""

    table: pl.DataFrame
    valid_arr: Decimal  # ARR at as-of of the charges that passed every rule
    has_arr: bool  # some valid recurring or usage charge is in force at a reported snapshot
    first_start: date | None = None  # earliest start of a valid recurring or usage charge
    # Extract -> its checked table: every delivered row, values typed, reason/detail (null
    # when the row passed every rule). Written as raw.checked_<extract>; staging reads them.
    checked: dict[str, pl.DataFrame] = field(default_factory=dict)
    # The row rules' rejects (REJECT_SCHEMA: the quarantine without what dbt values), written
    # as raw.quarantine_rejects: dbt's `quarantine` model values them (arr_at_stake, unvalued).
    rejects: pl.DataFrame | None = None


REJECT_SCHEMA = {
    name: dtype
    for name, dtype in QUARANTINE_SCHEMA.items()
    if name not in ("arr_at_stake", "unvalued")
}


def _rejects(
    frame: pl.LazyFrame, extract: str, columns: tuple[str, ...], carried: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """Rows with a reason, as the quarantine's columns before valuation (raw_record kept),
    plus the `carried` columns."""
    return with_raw_record(frame.filter(pl.col("reason").is_not_null()), columns).select(
        pl.col("_delivery_date").alias("delivery_date"),
        pl.col("_source_file").alias("source_file"),
        pl.lit(extract).alias("extract"),
        pl.col("_row_number").alias("row_number"),
        "reason",
        "detail",
        "raw_record",
        *carried,
    )


def _to_quarantine(frame: pl.LazyFrame, extract: str, columns: tuple[str, ...]) -> pl.LazyFrame:
    """The rejects valued in Python (raw.quarantine): arr_at_stake and unvalued carried."""
    names = frame.collect_schema().names()
    if "arr_at_stake" not in names:
        frame = frame.with_columns(arr_at_stake=pl.lit(0).cast(ARR), unvalued=pl.lit(False))
    return _rejects(frame, extract, columns, carried=("arr_at_stake", "unvalued"))


def no_arr_rejection(
    table: pl.DataFrame, as_of: date, first_start: date | None = None
) -> DeliveryRejected:
    """Why a delivery whose valid charges carry no ARR at any reported snapshot is rejected."""
    revenue = table.filter(
        (pl.col("extract") == "billing_charges")
        & (pl.col("unvalued") | (pl.col("arr_at_stake") > 0))
    )
    message = (
        "The delivery has no recurring or usage charge in force at any quarter's snapshot on "
        f"or before the as-of date {as_of.isoformat()}: there is no ARR to report."
    )
    if first_start is not None and first_start > as_of:
        message += (
            f" Its earliest recurring or usage charge starts on {first_start.isoformat()}, after "
            f"the as-of date: set NRR_AS_OF (or --as-of) to {first_start.isoformat()} or later, "
            "or leave it unset to report as of the delivery date."
        )
    elif revenue.height:
        reasons = revenue.group_by("reason").len().sort("reason")
        message += (
            f" {revenue.height} quarantined billing_charges rows would carry revenue ("
            + ", ".join(f"{r}: {n}" for r, n in reasons.iter_rows())
            + "); see raw.quarantine."
        )
    else:
        message += " Check that billing_charges holds recurring or usage charges and NRR_AS_OF."
    return DeliveryRejected(message, file="billing_charges")


def build_quarantine(
    charges: pl.LazyFrame, accounts: pl.LazyFrame, fx_rates: pl.LazyFrame, ctx: RuleContext
) -> QuarantineResult:
    """The quarantine table for one delivery (one row per broken source row), with the ARR
    of the valid charges that the gate measures it against, and the typed checked tables."""
    checked_rates = check_fx_rates(fx_rates, ctx).collect().lazy()
    rates = valid_rates(checked_rates, ctx.reporting_currency)
    checked_accounts = check_accounts(accounts, ctx.rollup).collect().lazy()
    rowwise = check_charge_rows(charges, checked_accounts, ctx)
    checked_charges, snapshots = customer_rules(rowwise, rates, ctx)
    needed = rates_a_snapshot_needed(checked_rates, rates, checked_charges, snapshots, ctx)
    broken = checked_charges.lazy().filter(pl.col("reason").is_not_null()).collect().lazy()
    broken_raw = raw_values(broken, charges).collect().lazy()
    staked = valued(broken_raw, rates, ctx)
    parts = [
        _to_quarantine(staked, "billing_charges", EXTRACT_COLUMNS["billing_charges"]),
        _to_quarantine(checked_accounts, "crm_accounts", EXTRACT_COLUMNS["crm_accounts"]),
        _to_quarantine(
            flag_needed_rates(checked_rates, needed), "fx_rates", EXTRACT_COLUMNS["fx_rates"]
        ),
    ]
    table = pl.concat(parts).sort("extract", "row_number").collect().cast(QUARANTINE_SCHEMA)
    has_arr = (
        checked_charges.filter(
            pl.col("reason").is_null() & pl.col("arr_bearing") & pl.col("first_index").is_not_null()
        ).height
        > 0
    )
    first_start = checked_charges.filter(
        pl.col("reason").is_null()
        & pl.col("arr_bearing")
        & (pl.col("end").is_null() | (pl.col("end") > pl.col("start")))
    )["start"].min()
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
    }
    rejects = (
        pl.concat(
            [
                _rejects(broken_raw, "billing_charges", EXTRACT_COLUMNS["billing_charges"]),
                _rejects(checked_accounts, "crm_accounts", EXTRACT_COLUMNS["crm_accounts"]),
                _rejects(checked_rates, "fx_rates", EXTRACT_COLUMNS["fx_rates"]),
            ]
        )
        .sort("extract", "row_number")
        .collect()
        .cast(REJECT_SCHEMA)
    )
    return QuarantineResult(
        table, valid_arr_at(checked_charges, rates, ctx), has_arr, first_start, checked, rejects
    )
