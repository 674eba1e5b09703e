"""billing_charges row rules: ids, dates, charge type, numbers, currency and account.

Each row gets the first rule it breaks, in the order contracts.md lists them. The values are
parsed once, here: the checked table carries them typed (dates as DATE, amount DECIMAL(20, 6),
quantity DECIMAL(18, 4), billing_period_months INTEGER, currency upper-cased) and dbt's
staging reads them as they are. A charge of a quarantined account takes the account's reason.
"""

from __future__ import annotations

import polars as pl

from pipeline.contracts import (
    AMOUNT_FORMAT,
    BILLING_PERIOD_MONTHS,
    CHARGE_TYPES,
    QUANTITY_FORMAT,
)
from pipeline.rules.grammar import (
    AMOUNT,
    QUANTITY,
    RuleContext,
    bad_optional_date,
    bad_timestamp,
    blank,
    currency_code,
    first_failure,
    implausible,
    iso_4217,
    number_rules,
    parsed_date,
    period_months,
    quoted,
    readable_number,
)

# The checked billing_charges table as written to the warehouse: internal name -> column.
TYPED_CHARGE_COLUMNS = {
    "_row_number": "_row_number",
    "_source_file": "_source_file",
    "_delivery_date": "_delivery_date",
    "charge_id": "charge_id",
    "account_id": "account_id",
    "customer_id": "customer_id",
    "product": "product",
    "plan": "plan",
    "charge_type": "charge_type",
    "quantity_value": "quantity",
    "amount_value": "amount",
    "currency_code": "currency",
    "period_value": "billing_period_months",
    "start": "effective_start",
    "end": "effective_end",
    # What dbt needs to value a quarantined row (int_quarantined_charges_valued): whether
    # effective_end was unreadable (null end: open or unreadable) and the currency is ISO-4217.
    "end_unreadable": "end_unreadable",
    "currency_known": "currency_known",
    "reason": "reason",
    "detail": "detail",
}


# What check_charge_rows keeps, under its internal names: the typed columns, and whether the
# row's account_id is in the CRM extract (the unknown_account rule's own test, kept for
# accounts_missing_from_crm whichever rule the row broke first).
CHECKED_CHARGE_COLUMNS = (*TYPED_CHARGE_COLUMNS, "account_known")


def typed_charges(checked: pl.LazyFrame) -> pl.LazyFrame:
    """The checked charges under the warehouse's column names and types."""
    return checked.select(
        pl.col(internal).alias(name) for internal, name in TYPED_CHARGE_COLUMNS.items()
    ).with_columns(pl.col("billing_period_months").cast(pl.Int32))


def _charge_row_rules(ctx: RuleContext) -> list[tuple[str, pl.Expr, pl.Expr]]:
    start, end = parsed_date("effective_start"), parsed_date("effective_end")
    low, high = BILLING_PERIOD_MONTHS
    return [
        ("missing_charge_id", blank("charge_id"), pl.lit("charge_id is empty")),
        (
            "duplicate_charge_id",
            pl.len().over("charge_id") > 1,
            pl.format("charge_id {} appears on {} rows", "charge_id", pl.len().over("charge_id")),
        ),
        (
            "bad_date",
            start.is_null(),
            pl.format("effective_start {} is not a date YYYY-MM-DD", quoted("effective_start")),
        ),
        (
            "bad_date",
            bad_optional_date("effective_end"),
            pl.format("effective_end {} is not a date YYYY-MM-DD", quoted("effective_end")),
        ),
        (
            "bad_date",
            bad_timestamp("updated_at"),
            pl.format("updated_at {} is not an ISO date-time", quoted("updated_at")),
        ),
        implausible("effective_start", ctx),
        implausible("effective_end", ctx),
        (
            "end_before_start",
            end < start,
            pl.format(
                "effective_end {} is before effective_start {}", "effective_end", "effective_start"
            ),
        ),
        (
            "bad_charge_type",
            ~pl.col("charge_type").fill_null("").is_in(CHARGE_TYPES),
            pl.format(
                "charge_type {} is not one of recurring, usage, one_time", quoted("charge_type")
            ),
        ),
        *number_rules("bad_quantity", "quantity", QUANTITY_FORMAT, positive=True),
        *number_rules("bad_amount", "amount", AMOUNT_FORMAT, positive=False),
        (
            "bad_billing_period",
            period_months().is_null(),
            pl.format(
                f"billing_period_months {{}} is not a whole number of months from {low} to {high}",
                quoted("billing_period_months"),
            ),
        ),
        (
            "unknown_currency",
            ~pl.col("currency_code").fill_null("").is_in(sorted(iso_4217())),
            pl.format("currency {} is not an ISO-4217 code", quoted("currency")),
        ),
        (
            "unknown_account",
            pl.col("account_known").not_(),
            pl.format("account_id {} is not in the CRM extract", quoted("account_id")),
        ),
        (
            "account_quarantined",
            pl.col("account_reason").is_not_null(),
            pl.format("account {} is quarantined: {}", "account_id", "account_detail"),
        ),
    ]


def raw_values(checked: pl.LazyFrame, raw: pl.LazyFrame) -> pl.LazyFrame:
    """Checked rows (few: the broken ones) with the raw columns they do not carry yet."""
    carried = set(checked.collect_schema().names()) - {"_row_number"}
    row_numbers = checked.select("_row_number").collect()["_row_number"]
    wanted = raw.filter(pl.col("_row_number").is_in(row_numbers.implode()))
    return checked.join(
        wanted.select(c for c in raw.collect_schema().names() if c not in carried),
        on="_row_number",
        how="left",
    )


def check_charge_rows(
    charges: pl.LazyFrame, checked_accounts: pl.LazyFrame, ctx: RuleContext
) -> pl.DataFrame:
    """Charges with reason/detail of the row rules (null when valid) and the values parsed
    once: see CHECKED_CHARGE_COLUMNS (internal names; `typed_charges` gives the table's)."""
    account_status = checked_accounts.group_by("account_id").agg(
        account_reason=pl.col("reason").drop_nulls().first(),
        account_detail=pl.col("detail").drop_nulls().first(),
        customer_id=pl.col("customer_id").first(),
        account_known=pl.lit(True),
    )
    rules = _charge_row_rules(ctx)
    rowwise = (
        charges.join(account_status, on="account_id", how="left", nulls_equal=False)
        .with_columns(
            account_known=pl.col("account_known").fill_null(False),
            currency_code=currency_code(),
        )
        .with_columns(first_failure(rules))
        .with_columns(
            reason=pl.when(pl.col("reason") == "account_quarantined")
            .then(pl.col("account_reason"))
            .otherwise(pl.col("reason")),
            start=parsed_date("effective_start"),
            end=parsed_date("effective_end"),
            end_unreadable=bad_optional_date("effective_end"),
            currency_known=pl.col("currency_code").fill_null("").is_in(sorted(iso_4217())),
            amount_value=pl.when(readable_number("amount", AMOUNT_FORMAT)).then(
                pl.col("amount").cast(AMOUNT, strict=False)
            ),
            period_value=period_months(),
            quantity_value=pl.when(readable_number("quantity", QUANTITY_FORMAT)).then(
                pl.col("quantity").cast(QUANTITY, strict=False)
            ),
        )
        # Only the typed columns and the names staging reads: the raw text of the few broken
        # rows is joined back at the end (raw_values); updated_at is checked, not carried.
        .select(CHECKED_CHARGE_COLUMNS)
    ).collect(engine="streaming")
    return rowwise


def accounts_missing_from_crm(checked: pl.DataFrame) -> pl.DataFrame:
    """The billing accounts the CRM extract does not hold, by the unknown_account rule's own
    test (check_charge_rows' account_known), whichever rule each row broke first: account_id,
    its charge rows and the first of them. A blank account_id is not an account."""
    return (
        checked.filter(pl.col("account_known").not_() & pl.col("account_id").is_not_null())
        .group_by("account_id")
        .agg(rows=pl.len(), first_row=pl.col("_row_number").min())
        .sort("account_id")
    )
