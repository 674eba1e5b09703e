"""Row rules of contracts.md: every broken row goes to quarantine with a reason code.

Pure Polars. Each row gets the first rule it breaks, in the order the contract lists them,
and a human-readable detail. Nothing is repaired: a row is either valid as received or
quarantined (the one normalisation the contract allows: currency codes in any letter case
read as upper case). The customer-level rules (missing_fx_rate, negative_customer_arr) are
applied to the rows that pass every row-level rule.

Every quarantined charge that may carry revenue is valued (`arr_at_stake`) or, when its ARR
cannot be valued, flagged `unvalued`: the publish gate counts both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl

from pipeline.contracts import (
    AMOUNT_FORMAT,
    ARR_BEARING_CHARGE_TYPES,
    BILLING_PERIOD_MONTHS,
    CHARGE_TYPES,
    PLAUSIBLE_YEARS_AFTER_AS_OF,
    QUANTITY_FORMAT,
    RATE_FORMAT,
    NumberFormat,
)
from pipeline.landing import DeliveryRejected, is_blank
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

# ASCII digits only: a regex `\d` also matches full-width and other Unicode digits.
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
)
PERIOD_PATTERN = r"^[0-9]{1,3}(\.0+)?$"

AMOUNT = pl.Decimal(20, AMOUNT_FORMAT.decimals)
QUANTITY = pl.Decimal(18, QUANTITY_FORMAT.decimals)
RATE = pl.Decimal(30, RATE_FORMAT.decimals)
ARR = pl.Decimal(38, 6)
# Intermediate money: exact products of amounts (6 decimals) and rates (18 decimals) are
# rounded to 18 decimals, far below the millionth that ARR is carried at.
WIDE = pl.Decimal(38, 18)

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


@dataclass(frozen=True)
class RuleContext:
    reporting_currency: str
    fiscal_year_start_month: int
    as_of: date
    rollup: str = "ultimate_parent"
    earliest_date: date = date(2000, 1, 1)  # NRR_EARLIEST_DATE

    @property
    def latest_date(self) -> date:
        """The last plausible date: as-of plus PLAUSIBLE_YEARS_AFTER_AS_OF years."""
        year = self.as_of.year + PLAUSIBLE_YEARS_AFTER_AS_OF
        try:
            return self.as_of.replace(year=year)
        except ValueError:  # 29 February in a year that has none
            return self.as_of.replace(year=year, day=28)


@dataclass(frozen=True)
class QuarantineResult:
    """The quarantine table and what the publish gate measures it against."""

    table: pl.DataFrame
    valid_arr: Decimal  # ARR at as-of of the charges that passed every rule
    has_arr: bool  # some valid recurring or usage charge is in force at a reported snapshot
    first_start: date | None = None  # earliest start of a valid recurring or usage charge


def _blank(column: str) -> pl.Expr:
    return is_blank(pl.col(column))


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


def _implausible(column: str, ctx: RuleContext) -> tuple[str, pl.Expr, pl.Expr]:
    """A readable date outside the plausible window: a typo (1025 for 2025) or a system
    sentinel (0001-01-01). Left in, it would stretch the quarters from that year to as-of."""
    value = _date(column)
    return (
        "implausible_date",
        (value < ctx.earliest_date) | (value > ctx.latest_date),
        pl.format(
            f"{column} {{}} is outside the plausible dates {ctx.earliest_date} "
            f"(NRR_EARLIEST_DATE) to {ctx.latest_date} (as-of + "
            f"{PLAUSIBLE_YEARS_AFTER_AS_OF} years)",
            _quote(column),
        ),
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


def _number_pattern(form: NumberFormat) -> str:
    sign = "-?" if form.signed else ""
    return rf"^{sign}[0-9]{{1,{form.integer_digits}}}(\.[0-9]{{1,{form.decimals}}})?$"


def readable_number(column: str, form: NumberFormat) -> pl.Expr:
    """True when the text is a decimal number within the format's digits."""
    return pl.col(column).fill_null("").str.contains(_number_pattern(form))


def number_rules(
    code: str, column: str, form: NumberFormat, positive: bool
) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """The rules of one number column, each with the detail that says what is wrong:
    not a number, too many digits before or after the decimal point, or not > 0."""
    text = pl.col(column).fill_null("")
    sign = "-?" if form.signed else ""
    what = "a number > 0" if positive else "a decimal number"
    rules = [
        (
            code,
            ~text.str.contains(rf"^{sign}[0-9]+(\.[0-9]+)?$"),
            pl.format(f"{column} {{}} is not {what}", _quote(column)),
        ),
        (
            code,
            ~text.str.contains(rf"^{sign}[0-9]{{1,{form.integer_digits}}}(\.|$)"),
            pl.format(
                f"{column} {{}} has more than {form.integer_digits} digits before the decimal "
                "point",
                _quote(column),
            ),
        ),
        (
            code,
            ~text.str.contains(_number_pattern(form)),
            pl.format(
                f"{column} {{}} has more than {form.decimals} decimal places", _quote(column)
            ),
        ),
    ]
    if positive:
        rules.append(
            (
                code,
                text.str.replace_all(r"[0.]", "") == "",
                pl.format(f"{column} {{}} is not {what}", _quote(column)),
            )
        )
    return rules


def _currency_code(column: str = "currency") -> pl.Expr:
    """Currency codes are read in any letter case and normalised to upper case."""
    return pl.col(column).str.to_uppercase()


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
    # A loop is named once: by its lowest account id and its size. Its members are listed on
    # the row of that lowest account only, so the details grow with the loop, not its square.
    cycles = cycle_nodes.group_by("cycle_id").agg(
        size=pl.len(),
        members=pl.col("account_id").sort().str.join(", "),
    )
    in_loop = pl.format(
        "parent loop {} ({} {})",
        "cycle_id",
        "size",
        pl.when(pl.col("size") == 1).then(pl.lit("account")).otherwise(pl.lit("accounts")),
    )
    looping = (
        looping.join(cycle_nodes.rename({"account_id": "up"}), on="up", how="left")
        .join(cycles, on="cycle_id", how="left")
        .with_columns(in_cycle=pl.col("account_id").is_in(cycle_nodes["account_id"].implode()))
        .select(
            "account_id",
            pl.lit(None, dtype=pl.String).alias("ultimate_parent_id"),
            pl.lit("parent_loop").alias("problem"),
            pl.when(pl.col("account_id") == pl.col("cycle_id"))
            .then(
                pl.format(
                    "account {} is in {}: its members are {}", "account_id", in_loop, "members"
                )
            )
            .when(pl.col("in_cycle"))
            .then(
                pl.format(
                    "account {} is in {}, whose members are listed on account {}",
                    "account_id",
                    in_loop,
                    "cycle_id",
                )
            )
            .otherwise(
                pl.format(
                    "account {} rolls up into {}, whose members are listed on account {}",
                    "account_id",
                    in_loop,
                    "cycle_id",
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


def check_fx_rates(rates: pl.LazyFrame, ctx: RuleContext | None = None) -> pl.LazyFrame:
    key = ["rate_date", "currency_code"]
    plausible = [_implausible("rate_date", ctx)] if ctx else []
    return rates.with_columns(currency_code=_currency_code()).with_columns(
        _first_failure(
            [
                (
                    "bad_date",
                    _date("rate_date").is_null(),
                    pl.format("rate_date {} is not a date YYYY-MM-DD", _quote("rate_date")),
                ),
                *plausible,
                *number_rules("bad_fx_rate", "rate_to_reporting", RATE_FORMAT, positive=True),
                (
                    "duplicate_fx_rate",
                    pl.len().over(key) > 1,
                    pl.format(
                        "{} has {} rates on {}", "currency_code", pl.len().over(key), "rate_date"
                    ),
                ),
            ]
        )
    )


def valid_rates(checked_rates: pl.LazyFrame, reporting_currency: str) -> pl.LazyFrame:
    """rate_date, currency, rate: the usable rates, the reporting currency always at 1."""
    return checked_rates.filter(
        pl.col("reason").is_null() & (pl.col("currency_code") != reporting_currency)
    ).select(
        _date("rate_date").alias("rate_date"),
        pl.col("currency_code").alias("currency"),
        pl.col("rate_to_reporting").cast(RATE).alias("rate"),
    )


# --- billing_charges ------------------------------------------------------------------------


def _period_months() -> pl.Expr:
    """billing_period_months as a whole number of months, null when unreadable or out of range."""
    low, high = BILLING_PERIOD_MONTHS
    months = (
        pl.when(pl.col("billing_period_months").str.contains(PERIOD_PATTERN))
        .then(
            pl.col("billing_period_months").str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
        )
        .otherwise(None)
    )
    return pl.when(months.is_between(low, high)).then(months)


def _charge_row_rules(ctx: RuleContext) -> list[tuple[str, pl.Expr, pl.Expr]]:
    start, end = _date("effective_start"), _date("effective_end")
    low, high = BILLING_PERIOD_MONTHS
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
        _implausible("effective_start", ctx),
        _implausible("effective_end", ctx),
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
        *number_rules("bad_quantity", "quantity", QUANTITY_FORMAT, positive=True),
        *number_rules("bad_amount", "amount", AMOUNT_FORMAT, positive=False),
        (
            "bad_billing_period",
            _period_months().is_null(),
            pl.format(
                f"billing_period_months {{}} is not a whole number of months from {low} to {high}",
                _quote("billing_period_months"),
            ),
        ),
        (
            "unknown_currency",
            ~pl.col("currency_code").fill_null("").is_in(sorted(ISO_4217)),
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


def local_arr() -> pl.Expr:
    """A charge's ARR in its own currency: amount x 12 / billing_period_months."""
    return pl.col("amount_value").cast(WIDE) * 12 / pl.col("period_value")


def round_money(value: pl.Expr) -> pl.Expr:
    """Round to the millionth ARR is carried at, half away from zero (Polars' own decimal
    cast truncates and its round() rounds half to even, neither what the marts do)."""
    half = pl.lit(Decimal("0.0000005")).cast(WIDE)
    rounded = (value.abs() + half).cast(ARR)
    return pl.when(value < 0).then(-rounded).otherwise(rounded)


CHECKED_CHARGE_COLUMNS = (
    "_row_number",
    "customer_id",
    "currency_code",
    "reason",
    "detail",
    "start",
    "end",
    "end_unreadable",
    "amount_value",
    "period_value",
    "arr_bearing",
    "one_time",
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
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Charges with reason/detail (null when valid) and parsed values, and the snapshots."""
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
            currency_code=_currency_code(),
        )
        .with_columns(_first_failure(rules))
        .with_columns(
            reason=pl.when(pl.col("reason") == "account_quarantined")
            .then(pl.col("account_reason"))
            .otherwise(pl.col("reason")),
            start=_date("effective_start"),
            end=_date("effective_end"),
            end_unreadable=_bad_optional_date("effective_end"),
            amount_value=pl.when(readable_number("amount", AMOUNT_FORMAT)).then(
                pl.col("amount").cast(AMOUNT, strict=False)
            ),
            period_value=_period_months(),
            # Never null: an empty charge_type is neither, and must not drop out of a filter.
            arr_bearing=pl.col("charge_type").is_in(ARR_BEARING_CHARGE_TYPES).fill_null(False),
            one_time=(pl.col("charge_type") == "one_time").fill_null(False),
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
        | ~pl.col("currency_code").fill_null("").is_in(sorted(ISO_4217))
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
        & _date("rate_date").is_not_null()
    ).select("_row_number", "currency_code", quarantined_date=_date("rate_date"))
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


# --- assembly -------------------------------------------------------------------------------


def _to_quarantine(frame: pl.LazyFrame, extract: str, columns: tuple[str, ...]) -> pl.LazyFrame:
    names = frame.collect_schema().names()
    if "arr_at_stake" not in names:
        frame = frame.with_columns(arr_at_stake=pl.lit(0).cast(ARR), unvalued=pl.lit(False))
    return _with_raw_record(frame.filter(pl.col("reason").is_not_null()), columns).select(
        pl.col("_delivery_date").alias("delivery_date"),
        pl.col("_source_file").alias("source_file"),
        pl.lit(extract).alias("extract"),
        pl.col("_row_number").alias("row_number"),
        "reason",
        "detail",
        "raw_record",
        "arr_at_stake",
        "unvalued",
    )


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
    of the valid charges that the gate measures it against."""
    from pipeline.contracts import EXTRACT_COLUMNS

    checked_rates = check_fx_rates(fx_rates, ctx)
    rates = valid_rates(checked_rates, ctx.reporting_currency)
    checked_accounts = check_accounts(accounts, ctx.rollup)
    checked_charges, snapshots = check_charges(charges, checked_accounts, rates, ctx)
    needed = rates_a_snapshot_needed(checked_rates, rates, checked_charges, snapshots, ctx)
    broken = checked_charges.lazy().filter(pl.col("reason").is_not_null()).collect().lazy()
    staked = valued(raw_values(broken, charges), rates, ctx)
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
    return QuarantineResult(table, valid_arr_at(checked_charges, rates, ctx), has_arr, first_start)
