"""What quarantined and valid charges are worth: the valuation the quarantine needs.

Still computed in Polars here (issue 12 moves it to dbt, the models that compute the marts):
the fiscal spine, "in force at a snapshot", FX as of a date, ARR annualisation; from them the
customer-level rules (missing_fx_rate, negative_customer_arr), the ARR at stake of each
quarantined charge or its `unvalued` flag, the valid ARR at as-of, and the quarantined FX
rates a reported snapshot would have used.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from pipeline.periods import reporting_quarters
from pipeline.rules.grammar import (
    ARR,
    RATE,
    WIDE,
    RuleContext,
    iso_4217,
    parsed_date,
)


def _snapshots(first: date | None, ctx: RuleContext) -> pl.DataFrame:
    quarters = reporting_quarters(first, ctx.as_of, ctx.fiscal_year_start_month) if first else []
    return pl.DataFrame(
        {"snapshot_index": list(range(len(quarters))), "snapshot_date": [s for _, s in quarters]},
        schema={"snapshot_index": pl.Int64, "snapshot_date": pl.Date},
    )


def _with_snapshot_range(charges: pl.LazyFrame, snapshots: pl.DataFrame) -> pl.LazyFrame:
    """first/last snapshot index at which each charge is in force (null: never)."""
    snaps = snapshots.lazy()
    with_first = charges.sort("start").join_asof(
        snaps.rename({"snapshot_index": "first_index", "snapshot_date": "first_snapshot"}),
        left_on="start",
        right_on="first_snapshot",
        strategy="forward",
    )
    last_in_force = pl.coalesce(pl.col("end") - pl.duration(days=1), pl.lit(date.max))
    with_last = (
        with_first.with_columns(last_in_force=last_in_force)
        .sort("last_in_force")
        .join_asof(
            snaps.rename({"snapshot_index": "last_index", "snapshot_date": "last_snapshot"}),
            left_on="last_in_force",
            right_on="last_snapshot",
            strategy="backward",
        )
    )
    in_force = pl.col("first_index").is_not_null() & (pl.col("first_index") <= pl.col("last_index"))
    return with_last.with_columns(
        first_index=pl.when(in_force).then("first_index"),
        first_snapshot=pl.when(in_force).then("first_snapshot"),
        last_index=pl.when(in_force).then("last_index"),
    ).drop("last_in_force", "last_snapshot")


def local_arr() -> pl.Expr:
    """A charge's ARR in its own currency: amount x 12 / billing_period_months."""
    return pl.col("amount_value").cast(WIDE) * 12 / pl.col("period_value")


def round_money(value: pl.Expr) -> pl.Expr:
    """Round to the millionth ARR is carried at, half away from zero (Polars' own decimal
    cast truncates and its round() rounds half to even, neither what the marts do)."""
    half = pl.lit(Decimal("0.0000005")).cast(WIDE)
    rounded = (value.abs() + half).cast(ARR)
    return pl.when(value < 0).then(-rounded).otherwise(rounded)


def _rate_at(frame: pl.LazyFrame, rates: pl.LazyFrame, on: str, ctx: RuleContext) -> pl.LazyFrame:
    """Add `rate`: the latest rate on or before `on` (1 for the reporting currency)."""
    return (
        frame.sort(on)
        .join_asof(
            rates.rename({"currency": "currency_code"}).sort("rate_date"),
            left_on=on,
            right_on="rate_date",
            by="currency_code",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(
            rate=pl.when(pl.col("currency_code") == ctx.reporting_currency)
            .then(pl.lit(1).cast(RATE))
            .otherwise("rate")
        )
        .drop("rate_date")
    )


def negative_customers(
    charges: pl.DataFrame, snapshots: pl.DataFrame, rates: pl.LazyFrame, ctx: RuleContext
) -> pl.DataFrame:
    """customer_id, negative_at, converted_at, negative_arr for customers whose ARR is below
    zero in a conversion the reports use: a snapshot s at the rates of snapshot r, for
    r = s (a quarter's end), r = s + 1 (the next quarter's start), r = s + 4 (TTM) and, for
    the customer's cohort snapshot, every later r (cohort retention).

    Only customers with a negative line can go below zero, so only they are expanded.
    """
    valid = charges.filter(
        pl.col("reason").is_null() & pl.col("arr_bearing") & pl.col("first_index").is_not_null()
    )
    suspects = valid.filter(pl.col("amount_value") < 0).select("customer_id").unique()
    local = (
        valid.lazy()
        .join(suspects.lazy(), on="customer_id", how="semi")
        .with_columns(snapshot_index=pl.int_ranges("first_index", pl.col("last_index") + 1))
        .explode("snapshot_index")
        .group_by("customer_id", "currency_code", "snapshot_index")
        .agg(local=local_arr().sum())
        .collect()
    )
    empty = pl.DataFrame(
        schema={
            "customer_id": pl.String,
            "negative_at": pl.Date,
            "converted_at": pl.Date,
            "negative_arr": pl.Decimal(38, 2),
        }
    )
    if local.is_empty():
        return empty
    currencies = local.select("currency_code").unique()
    snapshot_rates = (
        _rate_at(snapshots.lazy().join(currencies.lazy(), how="cross"), rates, "snapshot_date", ctx)
        .select("snapshot_index", "currency_code", "rate")
        .collect()
    )

    def converted(pairs: pl.LazyFrame) -> pl.LazyFrame:
        """Sum over currencies of ARR at snapshot_index converted at rate_index's rates."""
        return (
            pairs.join(local.lazy(), on=["customer_id", "snapshot_index"])
            .join(
                snapshot_rates.lazy().rename({"snapshot_index": "rate_index"}),
                on=["rate_index", "currency_code"],
            )
            .group_by("customer_id", "snapshot_index", "rate_index")
            .agg(arr=(pl.col("local") * pl.col("rate")).sum())
        )

    last = snapshots.height - 1
    held = local.lazy().select("customer_id", "snapshot_index").unique()
    own = converted(held.with_columns(rate_index=pl.col("snapshot_index"))).collect()
    cohorts = (
        own.lazy()
        .filter(pl.col("arr") > 0)
        .group_by("customer_id")
        .agg(snapshot_index=pl.col("snapshot_index").min())
    )
    pairs = pl.concat(
        [
            held.with_columns(rate_index=pl.col("snapshot_index") + step)
            for step in (1, 4)  # a quarter's start; the TTM base (step 0 is `own`)
        ]
        + [
            cohorts.with_columns(rate_index=pl.int_ranges("snapshot_index", last + 1)).explode(
                "rate_index"
            )
        ]
    ).filter(pl.col("rate_index") <= last)
    every = pl.concat([own.lazy(), converted(pairs.unique())])
    return (
        every.filter(pl.col("arr") < 0)
        .sort("snapshot_index", "rate_index")
        .group_by("customer_id")
        .agg(pl.all().first())
        .join(snapshots.lazy(), on="snapshot_index")
        .join(
            snapshots.lazy().rename(
                {"snapshot_index": "rate_index", "snapshot_date": "converted_at"}
            ),
            on="rate_index",
        )
        .select(
            "customer_id",
            pl.col("snapshot_date").alias("negative_at"),
            "converted_at",
            round_money(pl.col("arr")).cast(pl.Decimal(38, 2)).alias("negative_arr"),
        )
        .collect()
    )


def valued(quarantined: pl.LazyFrame, rates: pl.LazyFrame, ctx: RuleContext) -> pl.LazyFrame:
    """Add `arr_at_stake` and `unvalued` to quarantined charges.

    A row may carry revenue unless it is a readable one_time row, or its dates are readable
    and it is never in force on or before as-of. Such a row is valued at its annualised
    amount in the reporting currency (absolute value), at the rate of the last day on or
    before as-of that it is in force (the currency's first rate when it has none that early).
    It is `unvalued` when that cannot be done: charge type, dates, amount or period
    unreadable, currency unknown, or no rate at all for its currency."""
    dates_known = pl.col("start").is_not_null() & ~pl.col("end_unreadable")
    in_force_by_as_of = (
        dates_known
        & (pl.col("start") <= ctx.as_of)
        & (pl.col("end").is_null() | (pl.col("end") > pl.col("start")))
    )
    may_carry_arr = ~pl.col("one_time") & (~dates_known | in_force_by_as_of)
    last_day = pl.min_horizontal(
        pl.coalesce(pl.col("end") - pl.duration(days=1), pl.lit(ctx.as_of)), pl.lit(ctx.as_of)
    )
    first_rates = rates.sort("rate_date").group_by("currency").agg(first_rate=pl.first("rate"))
    measured = _rate_at(
        quarantined.with_columns(at=pl.coalesce(last_day, pl.lit(ctx.as_of))), rates, "at", ctx
    ).join(first_rates.rename({"currency": "currency_code"}), on="currency_code", how="left")
    rate = pl.coalesce("rate", "first_rate")
    cannot_value = (
        ~pl.col("arr_bearing")
        | ~dates_known
        | pl.col("amount_value").is_null()
        | pl.col("period_value").is_null()
        | ~pl.col("currency_code").fill_null("").is_in(sorted(iso_4217()))
        | rate.is_null()
    )
    unvalued = may_carry_arr & cannot_value
    return measured.with_columns(
        arr_at_stake=pl.when(may_carry_arr & ~cannot_value)
        .then(round_money((local_arr() * rate).abs()))
        .otherwise(pl.lit(0).cast(ARR)),
        unvalued=unvalued,
    )


def valid_arr_at(checked: pl.DataFrame, rates: pl.LazyFrame, ctx: RuleContext) -> Decimal:
    """ARR at as-of of the charges that passed every rule, in the reporting currency."""
    in_force = (
        pl.col("reason").is_null()
        & pl.col("arr_bearing")
        & (pl.col("start") <= ctx.as_of)
        & (pl.col("end").is_null() | (pl.col("end") > ctx.as_of))
    )
    at_as_of = checked.lazy().filter(in_force).with_columns(at=pl.lit(ctx.as_of))
    total = (
        _rate_at(at_as_of, rates, "at", ctx)
        .select(round_money((local_arr() * pl.col("rate")).sum()))
        .collect()
        .item()
    )
    return Decimal(total or 0)


def rates_a_snapshot_needed(
    checked_rates: pl.LazyFrame,
    rates: pl.LazyFrame,
    checked_charges: pl.DataFrame,
    snapshots: pl.DataFrame,
    ctx: RuleContext,
) -> pl.DataFrame:
    """_row_number, snapshot_date, used_date of quarantined rate rows that a reported snapshot
    would have used: same currency as a valid charge in force at that snapshot, dated on or
    before it and after the rate the snapshot used instead (used_date null: it had none).
    Left unflagged, the report silently converts at an older rate."""
    in_use = (
        checked_charges.lazy()
        .filter(
            pl.col("reason").is_null()
            & pl.col("arr_bearing")
            & pl.col("first_index").is_not_null()
            & (pl.col("currency_code") != ctx.reporting_currency)
        )
        .select("currency_code", "first_index", "last_index")
        .unique()  # few distinct intervals, however many charges
        .select(
            "currency_code",
            snapshot_index=pl.int_ranges("first_index", pl.col("last_index") + 1),
        )
        .explode("snapshot_index")
        .unique()
        .join(snapshots.lazy(), on="snapshot_index")
    )
    broken = checked_rates.filter(
        pl.col("reason").is_in(["bad_fx_rate", "duplicate_fx_rate"])
        & parsed_date("rate_date").is_not_null()
    ).select("_row_number", "currency_code", quarantined_date=parsed_date("rate_date"))
    used = (
        in_use.sort("snapshot_date")
        .join_asof(
            rates.select(
                pl.col("currency").alias("currency_code"),
                "rate_date",
                pl.col("rate_date").alias("used_date"),
            ).sort("rate_date"),
            left_on="snapshot_date",
            right_on="rate_date",
            by="currency_code",
            strategy="backward",
            check_sortedness=False,
        )
        .drop("rate_date")
    )
    return (
        broken.join(used, on="currency_code")
        .filter(
            (pl.col("quarantined_date") <= pl.col("snapshot_date"))
            & (pl.col("used_date").is_null() | (pl.col("quarantined_date") > pl.col("used_date")))
        )
        .sort("snapshot_date")
        .group_by("_row_number")
        .agg(pl.col("snapshot_date").first(), pl.col("used_date").first())
        .collect()
    )


def flag_needed_rates(checked_rates: pl.LazyFrame, needed: pl.DataFrame) -> pl.LazyFrame:
    """Quarantined rates a snapshot needed count against the gate as unvalued rows (the ARR
    they would have changed cannot be known), and their detail says which snapshot."""
    hit = pl.col("snapshot_date").is_not_null()
    return (
        checked_rates.join(needed.lazy(), on="_row_number", how="left")
        .with_columns(
            detail=pl.when(hit)
            .then(
                pl.format(
                    "{}; the {} snapshot would have used this rate and converted at {} instead",
                    "detail",
                    "snapshot_date",
                    pl.when(pl.col("used_date").is_null())
                    .then(pl.lit("no rate"))
                    .otherwise(pl.format("the {} rate", "used_date")),
                )
            )
            .otherwise("detail"),
            arr_at_stake=pl.lit(0).cast(ARR),
            unvalued=hit,
        )
        .drop("snapshot_date", "used_date")
    )


def customer_rules(
    rowwise: pl.DataFrame, rates: pl.LazyFrame, ctx: RuleContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The charges after the customer-level rules (missing_fx_rate, then
    negative_customer_arr) with their snapshot range, and the reported snapshots."""
    bearing = rowwise.filter(
        pl.col("reason").is_null()
        & pl.col("arr_bearing")
        & (pl.col("end").is_null() | (pl.col("end") > pl.col("start")))
    )
    first = bearing["start"].min()
    snapshots = _snapshots(first, ctx)
    ranged = _with_snapshot_range(rowwise.lazy(), snapshots)

    first_rate = rates.group_by("currency").agg(first_rate_date=pl.col("rate_date").min())
    foreign = pl.col("currency_code") != ctx.reporting_currency
    missing_fx = (
        pl.col("reason").is_null()
        & pl.col("arr_bearing")
        & foreign
        & pl.col("first_snapshot").is_not_null()
        & (
            pl.col("first_rate_date").is_null()
            | (pl.col("first_rate_date") > pl.col("first_snapshot"))
        )
    )
    ranged = (
        ranged.join(
            first_rate.rename({"currency": "currency_code"}), on="currency_code", how="left"
        )
        .with_columns(
            detail=pl.when(missing_fx)
            .then(
                pl.format(
                    "no {} rate on or before {}, a snapshot at which the charge is in force",
                    "currency_code",
                    "first_snapshot",
                )
            )
            .otherwise("detail"),
            reason=pl.when(missing_fx).then(pl.lit("missing_fx_rate")).otherwise("reason"),
        )
        .collect()
    )

    negative = negative_customers(ranged, snapshots, rates, ctx)
    flagged = (
        pl.col("reason").is_null() & pl.col("arr_bearing") & pl.col("negative_at").is_not_null()
    )
    checked = (
        ranged.lazy()
        .join(negative.lazy(), on="customer_id", how="left")
        .with_columns(
            detail=pl.when(flagged)
            .then(
                pl.format(
                    "customer {} has negative ARR {} at the {} snapshot, converted at the {} rates",
                    "customer_id",
                    "negative_arr",
                    "negative_at",
                    "converted_at",
                )
            )
            .otherwise("detail"),
            reason=pl.when(flagged).then(pl.lit("negative_customer_arr")).otherwise("reason"),
        )
        .drop("negative_at", "converted_at", "negative_arr")
        .collect()
    )
    return checked, snapshots
