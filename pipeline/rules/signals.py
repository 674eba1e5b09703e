"""account_signals rules (the watchlist's optional extract): an account id the CRM extract
holds, a readable and plausible signal_date, a known signal_type, and a value where the type
needs one (support_tickets: a count >= 0; nps: a score 0-10; champion_change and
competitor_mention are events, their value is not read). Types read in any letter case."""

from __future__ import annotations

import polars as pl

from pipeline.contracts import SIGNAL_TYPES, SIGNAL_VALUE_FORMAT
from pipeline.rules.grammar import (
    RuleContext,
    blank,
    first_failure,
    implausible,
    parsed_date,
    quoted,
    readable_number,
)

SIGNAL_VALUE = pl.Decimal(18, SIGNAL_VALUE_FORMAT.decimals)
# Signal types whose value is a figure, and the largest value each may take.
VALUED_TYPES = {"support_tickets": None, "nps": 10}


def signal_type() -> pl.Expr:
    return pl.col("signal_type").str.strip_chars().str.to_lowercase()


def signal_value() -> pl.Expr:
    return pl.when(readable_number("value", SIGNAL_VALUE_FORMAT)).then(
        pl.col("value").cast(SIGNAL_VALUE, strict=False)
    )


def bad_value() -> pl.Expr:
    """A type that needs a figure without a readable one, or an NPS outside 0-10."""
    valued = pl.col("signal_kind").is_in(list(VALUED_TYPES))
    too_high = pl.col("signal_kind") == "nps"
    return valued & (
        pl.col("signal_value").is_null()
        | (too_high & (pl.col("signal_value") > VALUED_TYPES["nps"]))
    )


def check_account_signals(
    signals: pl.LazyFrame, accounts: pl.LazyFrame, ctx: RuleContext
) -> pl.LazyFrame:
    """Signals with reason/detail (null when valid) and the parsed values (signal_day: DATE,
    signal_kind: the type in lower case, signal_value: DECIMAL; null when unreadable).
    accounts: the checked CRM accounts (an account quarantined there is unknown here)."""
    known = (
        accounts.filter(pl.col("reason").is_null())
        .select("account_id", account_known=pl.lit(True))
        .unique()
    )
    return (
        signals.join(known, on="account_id", how="left", nulls_equal=False)
        .with_columns(
            account_known=pl.col("account_known").fill_null(False),
            signal_day=parsed_date("signal_date"),
            signal_kind=signal_type(),
            signal_value=signal_value(),
        )
        .with_columns(
            first_failure(
                [
                    ("missing_account_id", blank("account_id"), pl.lit("account_id is blank")),
                    (
                        "bad_date",
                        parsed_date("signal_date").is_null(),
                        pl.format("signal_date {} is not a date YYYY-MM-DD", quoted("signal_date")),
                    ),
                    implausible("signal_date", ctx),
                    (
                        "bad_signal_type",
                        ~pl.col("signal_kind").fill_null("").is_in(list(SIGNAL_TYPES)),
                        pl.format(
                            f"signal_type {{}} is not one of {', '.join(SIGNAL_TYPES)}",
                            quoted("signal_type"),
                        ),
                    ),
                    (
                        "bad_value",
                        bad_value(),
                        pl.format(
                            "value {} is not a figure a {} signal can have (support_tickets: "
                            "a count >= 0; nps: a score 0-10)",
                            quoted("value"),
                            "signal_kind",
                        ),
                    ),
                    (
                        "unknown_account",
                        pl.col("account_known").not_(),
                        pl.format("account_id {} is not in the CRM extract", quoted("account_id")),
                    ),
                ]
            )
        )
        .sort("_row_number")
    )
