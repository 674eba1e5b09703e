"""fx_rates rules: a readable date, a positive rate within DECIMAL(30, 18), one rate per
currency and day. Currency codes read in any letter case."""

from __future__ import annotations

import polars as pl

from pipeline.contracts import RATE_FORMAT
from pipeline.rules.grammar import (
    RATE,
    RuleContext,
    currency_code,
    first_failure,
    implausible,
    number_rules,
    parsed_date,
    quoted,
    readable_number,
)


def check_fx_rates(rates: pl.LazyFrame, ctx: RuleContext | None = None) -> pl.LazyFrame:
    """Rates with reason/detail (null when valid), the currency upper-cased (currency_code)
    and the parsed values (rate_day: DATE, rate_value: DECIMAL(30, 18); null unreadable)."""
    key = ["rate_date", "currency_code"]
    plausible = [implausible("rate_date", ctx)] if ctx else []
    return rates.with_columns(
        currency_code=currency_code(),
        rate_day=parsed_date("rate_date"),
        rate_value=pl.when(readable_number("rate_to_reporting", RATE_FORMAT)).then(
            pl.col("rate_to_reporting").cast(RATE, strict=False)
        ),
    ).with_columns(
        first_failure(
            [
                (
                    "bad_date",
                    parsed_date("rate_date").is_null(),
                    pl.format("rate_date {} is not a date YYYY-MM-DD", quoted("rate_date")),
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
