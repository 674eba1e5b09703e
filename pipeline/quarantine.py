"""Row rules of contracts.md: every broken row goes to quarantine with a reason code.

Pure Polars. Each row gets the first rule it breaks, in the order the contract lists them,
and a human-readable detail. Nothing is repaired: a row is either valid as received or
quarantined. The customer-level rules (missing_fx_rate, negative_customer_arr) are applied
to the rows that pass every row-level rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from pipeline.contracts import ARR_BEARING_CHARGE_TYPES, BILLING_PERIODS, CHARGE_TYPES
from pipeline.periods import reporting_quarters

# Active ISO-4217 codes.
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
AMOUNT_PATTERN = r"^-?\d{1,14}(\.\d{1,4})?$"
QUANTITY_PATTERN = r"^\d{1,14}(\.\d{1,4})?$"
RATE_PATTERN = r"^\d{1,10}(\.\d{1,12})?$"

AMOUNT = pl.Decimal(18, 4)
RATE = pl.Decimal(22, 12)
ARR = pl.Decimal(38, 6)
# 36 x ARR = amount x (432 / billing_period_months), an integer factor for every period.
ARR_FACTOR_36 = {period: 432 // period for period in BILLING_PERIODS}

QUARANTINE_SCHEMA = {
    "delivery_date": pl.Date,
    "source_file": pl.String,
    "extract": pl.String,
    "row_number": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "raw_record": pl.String,
    "arr_at_stake": ARR,
}


@dataclass(frozen=True)
class RuleContext:
    reporting_currency: str
    fiscal_year_start_month: int
    as_of: date
    rollup: str = "ultimate_parent"


def _blank(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _date(column: str) -> pl.Expr:
    return (
        pl.when(pl.col(column).str.contains(DATE_PATTERN))
        .then(pl.col(column).str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None)
    )


def _bad_optional_date(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & _date(column).is_null()


def _bad_timestamp(column: str) -> pl.Expr:
    """An updated_at that is present but not an ISO date-time."""
    return pl.col(column).is_not_null() & (
        ~pl.col(column).str.contains(TIMESTAMP_PATTERN)
        | pl.col(column).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).is_null()
    )


def _first_failure(rules: list[tuple[str, pl.Expr, pl.Expr]]) -> list[pl.Expr]:
    """reason and detail of the first rule (in contract order) that a row breaks."""
    reason = pl.lit(None, dtype=pl.String)
    detail = pl.lit(None, dtype=pl.String)
    for code, broken, why in reversed(rules):
        reason = pl.when(broken).then(pl.lit(code)).otherwise(reason)
        detail = pl.when(broken).then(why).otherwise(detail)
    return [reason.alias("reason"), detail.alias("detail")]


def _quote(column: str) -> pl.Expr:
    return pl.lit("'") + pl.col(column).fill_null("") + pl.lit("'")


def _with_raw_record(frame: pl.LazyFrame, columns: tuple[str, ...]) -> pl.LazyFrame:
    return frame.with_columns(raw_record=pl.struct(list(columns)).struct.json_encode())


# --- crm_accounts ---------------------------------------------------------------------------


def resolve_hierarchy(edges: pl.DataFrame) -> pl.DataFrame:
    """Ultimate parent of every account, or why it has none.

    edges: account_id (unique, non-null), parent_account_id (null for a top-level account).
    Pointer doubling: each round every unresolved account jumps to its pointer's pointer, so
    ceil(log2(n)) rounds reach the top of any chain; accounts still unresolved then are in a
    parent loop or under one. Iterates over rounds, never over rows.

    Returns account_id, ultimate_parent_id, problem (null | unknown_parent | parent_loop), detail.
    """
    ids = edges.select("account_id")
    known_parent = pl.col("parent_account_id").is_in(ids["account_id"].implode())
    state = edges.with_columns(
        done=pl.col("parent_account_id").is_null() | ~known_parent,
        top=pl.when(pl.col("parent_account_id").is_null() | ~known_parent)
        .then(pl.col("account_id"))
        .otherwise(None),
        problem=pl.when(pl.col("parent_account_id").is_not_null() & ~known_parent)
        .then(pl.lit("unknown_parent"))
        .otherwise(None),
        origin=pl.when(pl.col("parent_account_id").is_not_null() & ~known_parent)
        .then(pl.col("account_id"))
        .otherwise(None),
        up=pl.col("parent_account_id"),
        lowest=pl.min_horizontal("account_id", "parent_account_id"),
    )
    rounds = math.ceil(math.log2(max(len(edges), 2))) + 1
    for _ in range(rounds):
        if state["done"].all():
            break
        hop = state.select(
            pl.col("account_id").alias("up"),
            pl.col("up").alias("next_up"),
            pl.col("done").alias("up_done"),
            pl.col("top").alias("up_top"),
            pl.col("problem").alias("up_problem"),
            pl.col("origin").alias("up_origin"),
            pl.col("lowest").alias("up_lowest"),
        )
        state = (
            state.join(hop, on="up", how="left")
            .with_columns(
                top=pl.when(pl.col("done"))
                .then("top")
                .otherwise(pl.when(pl.col("up_done")).then("up_top")),
                problem=pl.when(pl.col("done")).then("problem").otherwise("up_problem"),
                origin=pl.when(pl.col("done")).then("origin").otherwise("up_origin"),
                lowest=pl.when(pl.col("done"))
                .then("lowest")
                .otherwise(pl.min_horizontal("lowest", "up_lowest")),
                up=pl.when(pl.col("done") | pl.col("up_done")).then("up").otherwise("next_up"),
                done=pl.col("done") | pl.col("up_done"),
            )
            .drop("next_up", "up_done", "up_top", "up_problem", "up_origin", "up_lowest")
        )

    # Unresolved accounts: their pointer now sits on a cycle, and the pointers of all of them
    # together cover every cycle node. A cycle is named by its lowest account id.
    looping = state.filter(~pl.col("done"))
    cycle_nodes = looping.select(pl.col("up").unique().alias("account_id")).join(
        looping.select("account_id", pl.col("lowest").alias("cycle_id")), on="account_id"
    )
    cycles = cycle_nodes.group_by("cycle_id").agg(
        members=pl.col("account_id").sort().str.join(", "),
    )
    looping = (
        looping.join(cycle_nodes.rename({"account_id": "up"}), on="up", how="left")
        .join(cycles, on="cycle_id", how="left")
        .with_columns(in_cycle=pl.col("account_id").is_in(cycle_nodes["account_id"].implode()))
        .select(
            "account_id",
            pl.lit(None, dtype=pl.String).alias("ultimate_parent_id"),
            pl.lit("parent_loop").alias("problem"),
            pl.when(pl.col("in_cycle"))
            .then(
                pl.format(
                    "account {} is in a parent loop among accounts {}", "account_id", "members"
                )
            )
            .otherwise(
                pl.format(
                    "account {} rolls up into a parent loop among accounts {}",
                    "account_id",
                    "members",
                )
            )
            .alias("detail"),
        )
    )
    resolved = (
        state.filter(pl.col("done"))
        .join(
            edges.select(
                pl.col("account_id").alias("origin"),
                pl.col("parent_account_id").alias("missing_parent"),
            ),
            on="origin",
            how="left",
        )
        .select(
            "account_id",
            pl.when(pl.col("problem").is_null()).then("top").alias("ultimate_parent_id"),
            "problem",
            pl.when(pl.col("problem").is_null())
            .then(None)
            .when(pl.col("origin") == pl.col("account_id"))
            .then(
                pl.format(
                    "parent account {} of account {} is not a valid account in the CRM extract",
                    "missing_parent",
                    "account_id",
                )
            )
            .otherwise(
                pl.format(
                    "account {} rolls up to account {}, whose parent account {} is not "
                    "a valid account in the CRM extract",
                    "account_id",
                    "origin",
                    "missing_parent",
                )
            )
            .alias("detail"),
        )
    )
    return pl.concat([resolved, looping]).sort("account_id")


def check_accounts(accounts: pl.LazyFrame, rollup: str) -> pl.LazyFrame:
    """Accounts with reason/detail (null when valid) and the customer each rolls up to."""
    first_pass = accounts.with_columns(
        pl.when(_blank("parent_account_id"))
        .then(None)
        .otherwise(pl.col("parent_account_id"))
        .alias("parent_account_id"),
    ).with_columns(
        _first_failure(
            [
                ("missing_account_id", _blank("account_id"), pl.lit("account_id is empty")),
                (
                    "duplicate_account_id",
                    pl.len().over("account_id") > 1,
                    pl.format(
                        "account_id {} appears on {} rows",
                        "account_id",
                        pl.len().over("account_id"),
                    ),
                ),
            ]
        )
    )
    edges = (
        first_pass.filter(pl.col("reason").is_null())
        .select("account_id", "parent_account_id")
        .collect()
    )
    hierarchy = resolve_hierarchy(edges).lazy()
    return (
        first_pass.join(hierarchy, on="account_id", how="left")
        .with_columns(
            reason=pl.coalesce("reason", "problem"),
            detail=pl.coalesce("detail", pl.col("detail_right")),
            customer_id=pl.when(pl.col("reason").is_null() & pl.col("problem").is_null()).then(
                pl.col("ultimate_parent_id")
                if rollup == "ultimate_parent"
                else pl.col("account_id")
            ),
        )
        .drop("problem", "detail_right", "ultimate_parent_id")
    )


# --- fx_rates -------------------------------------------------------------------------------


def check_fx_rates(rates: pl.LazyFrame) -> pl.LazyFrame:
    key = ["rate_date", "currency"]
    return rates.with_columns(
        _first_failure(
            [
                (
                    "bad_date",
                    _date("rate_date").is_null(),
                    pl.format("rate_date {} is not a date YYYY-MM-DD", _quote("rate_date")),
                ),
                (
                    "bad_fx_rate",
                    ~pl.col("rate_to_reporting").fill_null("").str.contains(RATE_PATTERN)
                    | (pl.col("rate_to_reporting").cast(RATE, strict=False) <= 0),
                    pl.format(
                        "rate_to_reporting {} is not a number > 0", _quote("rate_to_reporting")
                    ),
                ),
                (
                    "duplicate_fx_rate",
                    pl.len().over(key) > 1,
                    pl.format("{} has {} rates on {}", "currency", pl.len().over(key), "rate_date"),
                ),
            ]
        )
    )


def valid_rates(checked_rates: pl.LazyFrame, reporting_currency: str) -> pl.LazyFrame:
    """rate_date, currency, rate: the usable rates, the reporting currency always at 1."""
    return checked_rates.filter(
        pl.col("reason").is_null() & (pl.col("currency") != reporting_currency)
    ).select(
        _date("rate_date").alias("rate_date"),
        "currency",
        pl.col("rate_to_reporting").cast(RATE).alias("rate"),
    )


# --- billing_charges ------------------------------------------------------------------------


def _charge_row_rules() -> list[tuple[str, pl.Expr, pl.Expr]]:
    start, end = _date("effective_start"), _date("effective_end")
    return [
        ("missing_charge_id", _blank("charge_id"), pl.lit("charge_id is empty")),
        (
            "duplicate_charge_id",
            pl.len().over("charge_id") > 1,
            pl.format("charge_id {} appears on {} rows", "charge_id", pl.len().over("charge_id")),
        ),
        (
            "bad_date",
            start.is_null(),
            pl.format("effective_start {} is not a date YYYY-MM-DD", _quote("effective_start")),
        ),
        (
            "bad_date",
            _bad_optional_date("effective_end"),
            pl.format("effective_end {} is not a date YYYY-MM-DD", _quote("effective_end")),
        ),
        (
            "bad_date",
            _bad_timestamp("updated_at"),
            pl.format("updated_at {} is not an ISO date-time", _quote("updated_at")),
        ),
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
                "charge_type {} is not one of recurring, usage, one_time", _quote("charge_type")
            ),
        ),
        (
            "bad_quantity",
            ~pl.col("quantity").fill_null("").str.contains(QUANTITY_PATTERN)
            | (pl.col("quantity").cast(AMOUNT, strict=False) <= 0),
            pl.format("quantity {} is not a number > 0", _quote("quantity")),
        ),
        (
            "bad_amount",
            ~pl.col("amount").fill_null("").str.contains(AMOUNT_PATTERN),
            pl.format(
                "amount {} is not a decimal number (at most 14 digits and 4 decimals)",
                _quote("amount"),
            ),
        ),
        (
            "bad_billing_period",
            ~pl.col("billing_period_months").fill_null("").is_in([str(p) for p in BILLING_PERIODS]),
            pl.format(
                "billing_period_months {} is not one of 1, 3, 6, 12, 24, 36",
                _quote("billing_period_months"),
            ),
        ),
        (
            "unknown_currency",
            ~pl.col("currency").fill_null("").is_in(sorted(ISO_4217)),
            pl.format("currency {} is not an ISO-4217 code", _quote("currency")),
        ),
        (
            "unknown_account",
            pl.col("account_known").not_(),
            pl.format("account_id {} is not in the CRM extract", _quote("account_id")),
        ),
        (
            "account_quarantined",
            pl.col("account_reason").is_not_null(),
            pl.format("account {} is quarantined: {}", "account_id", "account_detail"),
        ),
    ]


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


def _arr36(amount: pl.Expr, period: pl.Expr) -> pl.Expr:
    """36 x the annualised amount, exact: amount x 432 / billing_period_months."""
    return amount * period.replace_strict(ARR_FACTOR_36, default=None, return_dtype=pl.Int64)


CHECKED_CHARGE_COLUMNS = (
    "_row_number",
    "customer_id",
    "currency",
    "reason",
    "detail",
    "start",
    "end",
    "amount_value",
    "period_value",
    "arr_bearing",
)


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


def check_charges(
    charges: pl.LazyFrame,
    checked_accounts: pl.LazyFrame,
    rates: pl.LazyFrame,
    ctx: RuleContext,
) -> pl.LazyFrame:
    """Charges with reason/detail (null when valid) and parsed values."""
    account_status = checked_accounts.group_by("account_id").agg(
        account_reason=pl.col("reason").drop_nulls().first(),
        account_detail=pl.col("detail").drop_nulls().first(),
        customer_id=pl.col("customer_id").first(),
        account_known=pl.lit(True),
    )
    rules = _charge_row_rules()
    rowwise = (
        charges.join(account_status, on="account_id", how="left", nulls_equal=False)
        .with_columns(account_known=pl.col("account_known").fill_null(False))
        .with_columns(_first_failure(rules))
        .with_columns(
            reason=pl.when(pl.col("reason") == "account_quarantined")
            .then(pl.col("account_reason"))
            .otherwise(pl.col("reason")),
            start=_date("effective_start"),
            end=_date("effective_end"),
            amount_value=pl.when(pl.col("amount").str.contains(AMOUNT_PATTERN)).then(
                pl.col("amount").cast(AMOUNT, strict=False)
            ),
            period_value=pl.col("billing_period_months").cast(pl.Int64, strict=False),
            arr_bearing=pl.col("charge_type").is_in(ARR_BEARING_CHARGE_TYPES),
        )
        # Only what the later rules need: the raw text of the few broken rows is joined back
        # at the end (raw_values), so tens of millions of rows never sit in memory as text.
        .select(CHECKED_CHARGE_COLUMNS)
    ).collect(engine="streaming")

    bearing = rowwise.filter(
        pl.col("reason").is_null()
        & pl.col("arr_bearing")
        & (pl.col("end").is_null() | (pl.col("end") > pl.col("start")))
    )
    first = bearing["start"].min()
    snapshots = _snapshots(first, ctx)
    ranged = _with_snapshot_range(rowwise.lazy(), snapshots)

    first_rate = rates.group_by("currency").agg(first_rate_date=pl.col("rate_date").min())
    foreign = pl.col("currency") != ctx.reporting_currency
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
        ranged.join(first_rate, on="currency", how="left")
        .with_columns(
            detail=pl.when(missing_fx)
            .then(
                pl.format(
                    "no {} rate on or before {}, a snapshot at which the charge is in force",
                    "currency",
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
    return (
        ranged.lazy()
        .join(negative.lazy(), on="customer_id", how="left")
        .with_columns(
            detail=pl.when(flagged)
            .then(
                pl.format(
                    "customer {} has negative ARR {} at the {} snapshot",
                    "customer_id",
                    "negative_arr",
                    "negative_at",
                )
            )
            .otherwise("detail"),
            reason=pl.when(flagged).then(pl.lit("negative_customer_arr")).otherwise("reason"),
        )
        .drop("negative_at", "negative_arr")
    )


def _rate_at(frame: pl.LazyFrame, rates: pl.LazyFrame, on: str, ctx: RuleContext) -> pl.LazyFrame:
    """Add `rate`: the latest rate on or before `on` (1 for the reporting currency)."""
    return (
        frame.sort(on)
        .join_asof(
            rates.sort("rate_date"),
            left_on=on,
            right_on="rate_date",
            by="currency",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(
            rate=pl.when(pl.col("currency") == ctx.reporting_currency)
            .then(pl.lit(1).cast(RATE))
            .otherwise("rate")
        )
        .drop("rate_date")
    )


def negative_customers(
    charges: pl.DataFrame, snapshots: pl.DataFrame, rates: pl.LazyFrame, ctx: RuleContext
) -> pl.DataFrame:
    """customer_id, negative_at, negative_arr for customers below zero at some snapshot.

    Only customers with a negative line can go below zero, so only they are expanded.
    """
    valid = charges.filter(
        pl.col("reason").is_null() & pl.col("arr_bearing") & pl.col("first_index").is_not_null()
    )
    suspects = valid.filter(pl.col("amount_value") < 0).select("customer_id").unique()
    expanded = (
        valid.lazy()
        .join(suspects.lazy(), on="customer_id", how="semi")
        .with_columns(snapshot_index=pl.int_ranges("first_index", pl.col("last_index") + 1))
        .explode("snapshot_index")
        .join(snapshots.lazy(), on="snapshot_index")
    )
    converted = _rate_at(expanded, rates, "snapshot_date", ctx).with_columns(
        arr36=_arr36(pl.col("amount_value"), pl.col("period_value")) * pl.col("rate")
    )
    return (
        converted.group_by("customer_id", "snapshot_date")
        .agg(arr36=pl.col("arr36").sum())
        .filter(pl.col("arr36") < 0)
        .sort("snapshot_date")
        .group_by("customer_id")
        .agg(
            negative_at=pl.col("snapshot_date").first(),
            negative_arr=(pl.col("arr36").first() / 36).cast(pl.Decimal(38, 2)),
        )
        .collect()
    )


def arr_at_stake(
    quarantined_charges: pl.LazyFrame, rates: pl.LazyFrame, ctx: RuleContext
) -> pl.LazyFrame:
    """ARR a quarantined charge would carry, in the reporting currency (absolute value), at the
    last day on or before as_of that it is in force. Conservative: a recurring or usage row
    counts when it is in force at any time on or before as_of, or when its dates cannot be
    read; it is 0 when it is one_time, or its amount, period or currency cannot be read."""
    in_force_by_as_of = pl.col("start").is_null() | (
        (pl.col("start") <= ctx.as_of)
        & (pl.col("end").is_null() | (pl.col("end") > pl.col("start")))
    )
    last_day = pl.min_horizontal(
        pl.coalesce(pl.col("end") - pl.duration(days=1), pl.lit(ctx.as_of)), pl.lit(ctx.as_of)
    )
    measured = quarantined_charges.with_columns(
        at=pl.coalesce(last_day, pl.lit(ctx.as_of)),
        counts=pl.col("arr_bearing") & in_force_by_as_of,
    )
    converted = _rate_at(measured, rates, "at", ctx)
    arr = (_arr36(pl.col("amount_value"), pl.col("period_value")) * pl.col("rate")).abs() / 36
    return converted.with_columns(
        arr_at_stake=pl.when(pl.col("counts")).then(arr).cast(ARR).fill_null(pl.lit(0).cast(ARR))
    )


# --- assembly -------------------------------------------------------------------------------


def _to_quarantine(frame: pl.LazyFrame, extract: str, columns: tuple[str, ...]) -> pl.LazyFrame:
    if "arr_at_stake" not in frame.collect_schema().names():
        frame = frame.with_columns(arr_at_stake=pl.lit(0).cast(ARR))
    return _with_raw_record(frame.filter(pl.col("reason").is_not_null()), columns).select(
        pl.col("_delivery_date").alias("delivery_date"),
        pl.col("_source_file").alias("source_file"),
        pl.lit(extract).alias("extract"),
        pl.col("_row_number").alias("row_number"),
        "reason",
        "detail",
        "raw_record",
        "arr_at_stake",
    )


def build_quarantine(
    charges: pl.LazyFrame, accounts: pl.LazyFrame, fx_rates: pl.LazyFrame, ctx: RuleContext
) -> pl.DataFrame:
    """The quarantine table for one delivery: one row per broken source row."""
    from pipeline.contracts import EXTRACT_COLUMNS

    checked_rates = check_fx_rates(fx_rates)
    rates = valid_rates(checked_rates, ctx.reporting_currency)
    checked_accounts = check_accounts(accounts, ctx.rollup)
    checked_charges = check_charges(charges, checked_accounts, rates, ctx)
    broken = checked_charges.filter(pl.col("reason").is_not_null()).collect().lazy()
    staked = arr_at_stake(raw_values(broken, charges), rates, ctx)
    parts = [
        _to_quarantine(staked, "billing_charges", EXTRACT_COLUMNS["billing_charges"]),
        _to_quarantine(checked_accounts, "crm_accounts", EXTRACT_COLUMNS["crm_accounts"]),
        _to_quarantine(checked_rates, "fx_rates", EXTRACT_COLUMNS["fx_rates"]),
    ]
    return pl.concat(parts).sort("extract", "row_number").collect().cast(QUARANTINE_SCHEMA)
