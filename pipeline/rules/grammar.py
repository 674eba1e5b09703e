"""Row grammar: can a delivered text value be read, and what does it read as?

Pure Polars expressions shared by the rules of every extract: dates, timestamps, decimal
numbers within the warehouse's digits, whole billing periods, ISO-4217 currency codes (read
in any letter case), and `first_failure`, which gives each row the first rule it breaks (in
the order contracts.md lists them) with a human-readable detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

from pipeline.contracts import (
    AMOUNT_FORMAT,
    BILLING_PERIOD_MONTHS,
    PLAUSIBLE_YEARS_AFTER_AS_OF,
    QUANTITY_FORMAT,
    RATE_FORMAT,
    NumberFormat,
)
from pipeline.landing import is_blank

ISO_4217_FILE = Path(__file__).resolve().parent.parent / "data" / "iso_4217.txt"


@cache
def iso_4217() -> frozenset[str]:
    """Active ISO-4217 codes, read once from pipeline/data/iso_4217.txt (source and date in
    its header)."""
    lines = ISO_4217_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))


ISO_4217 = iso_4217()

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


def blank(column: str) -> pl.Expr:
    return is_blank(pl.col(column))


def parsed_date(column: str) -> pl.Expr:
    return (
        pl.when(pl.col(column).str.contains(DATE_PATTERN))
        .then(pl.col(column).str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None)
    )


def bad_optional_date(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & parsed_date(column).is_null()


def bad_timestamp(column: str) -> pl.Expr:
    """An updated_at that is present but not an ISO date-time."""
    return pl.col(column).is_not_null() & (
        ~pl.col(column).str.contains(TIMESTAMP_PATTERN)
        | pl.col(column).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).is_null()
    )


def implausible(column: str, ctx: RuleContext) -> tuple[str, pl.Expr, pl.Expr]:
    """A readable date outside the plausible window: a typo (1025 for 2025) or a system
    sentinel (0001-01-01). Left in, it would stretch the quarters from that year to as-of."""
    value = parsed_date(column)
    return (
        "implausible_date",
        (value < ctx.earliest_date) | (value > ctx.latest_date),
        pl.format(
            f"{column} {{}} is outside the plausible dates {ctx.earliest_date} "
            f"(NRR_EARLIEST_DATE) to {ctx.latest_date} (as-of + "
            f"{PLAUSIBLE_YEARS_AFTER_AS_OF} years)",
            quoted(column),
        ),
    )


def first_failure(rules: list[tuple[str, pl.Expr, pl.Expr]]) -> list[pl.Expr]:
    """reason and detail of the first rule (in contract order) that a row breaks."""
    reason = pl.lit(None, dtype=pl.String)
    detail = pl.lit(None, dtype=pl.String)
    for code, broken, why in reversed(rules):
        reason = pl.when(broken).then(pl.lit(code)).otherwise(reason)
        detail = pl.when(broken).then(why).otherwise(detail)
    return [reason.alias("reason"), detail.alias("detail")]


def quoted(column: str) -> pl.Expr:
    return pl.lit("'") + pl.col(column).fill_null("") + pl.lit("'")


def with_raw_record(frame: pl.LazyFrame, columns: tuple[str, ...]) -> pl.LazyFrame:
    return frame.with_columns(raw_record=pl.struct(list(columns)).struct.json_encode())


def number_pattern(form: NumberFormat) -> str:
    sign = "-?" if form.signed else ""
    return rf"^{sign}[0-9]{{1,{form.integer_digits}}}(\.[0-9]{{1,{form.decimals}}})?$"


def readable_number(column: str, form: NumberFormat) -> pl.Expr:
    """True when the text is a decimal number within the format's digits."""
    return pl.col(column).fill_null("").str.contains(number_pattern(form))


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
            pl.format(f"{column} {{}} is not {what}", quoted(column)),
        ),
        (
            code,
            ~text.str.contains(rf"^{sign}[0-9]{{1,{form.integer_digits}}}(\.|$)"),
            pl.format(
                f"{column} {{}} has more than {form.integer_digits} digits before the decimal "
                "point",
                quoted(column),
            ),
        ),
        (
            code,
            ~text.str.contains(number_pattern(form)),
            pl.format(
                f"{column} {{}} has more than {form.decimals} decimal places", quoted(column)
            ),
        ),
    ]
    if positive:
        rules.append(
            (
                code,
                text.str.replace_all(r"[0.]", "") == "",
                pl.format(f"{column} {{}} is not {what}", quoted(column)),
            )
        )
    return rules


def currency_code(column: str = "currency") -> pl.Expr:
    """Currency codes are read in any letter case and normalised to upper case."""
    return pl.col(column).str.to_uppercase()


def period_months() -> pl.Expr:
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
