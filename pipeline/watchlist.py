"""The account watchlist (rpt_account_watchlist): where customer success should act next.

dbt's fct_customer_signals holds each customer's billing evidence at the latest snapshot in
constant currency (usage ARR and seats at both ends of the latest quarter and the one before,
last quarter's contraction and product churn, ARR scheduled to end, products held). This
module turns it (and the evidence of the optional account_signals extract: support tickets,
NPS, champion changes, competitor mentions) into signals, one small function each, then
counts them, applies the
two-or-more rule, values the ARR at risk and ranks the expansion sprint
(docs/definitions.md, "Account watchlist"). Pure LazyFrame -> LazyFrame; no Dagster.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

# The signals, by kind, in the order the report shows them (declared once: the counts, the
# workbook and the suite read these).
RISK_SIGNALS = (
    "usage_down",
    "seats_down",
    "contracted_last_quarter",
    "arr_ending_soon",
    "tickets_up",
    "nps_drop",
    "champion_changed",
    "competitor_mentioned",
)
EXPANSION_SIGNALS = ("usage_up", "seats_up_two_quarters", "cross_sell_candidate")
# Two or more risk signals at once: flag the account for immediate CSM intervention.
INTERVENTION_SIGNALS = 2
# Support tickets in the window up by more than this share of the window before.
TICKET_RISE = Decimal("0.5")
# NPS from a promoter or passive (at least this) to a detractor (at most DETRACTOR).
PASSIVE, DETRACTOR = 7, 6
# A segment where more than this share of customers hold two or more products makes its
# single-product customers cross-sell candidates ("most customers").
MULTI_PRODUCT_MAJORITY = 0.5


def usage_down(drop: Decimal) -> pl.Expr:
    """Usage ARR at the latest snapshot below (1 - drop) x the previous quarter's."""
    return (pl.col("usage_arr_previous") > 0) & (
        pl.col("usage_arr_latest") < pl.col("usage_arr_previous") * pl.lit(Decimal(1) - drop)
    )


def usage_up(rise: Decimal) -> pl.Expr:
    """Usage ARR at the latest snapshot above (1 + rise) x the previous quarter's."""
    return (pl.col("usage_arr_previous") > 0) & (
        pl.col("usage_arr_latest") > pl.col("usage_arr_previous") * pl.lit(Decimal(1) + rise)
    )


def seats_down() -> pl.Expr:
    """Fewer seats at the latest snapshot than at the previous one (same products)."""
    return pl.col("seats_latest") < pl.col("seats_previous")


def seats_up_two_quarters() -> pl.Expr:
    """More seats at each of the last two snapshots than at the one before it."""
    return (pl.col("seats_latest") > pl.col("seats_previous")) & (
        pl.col("seats_previous_quarter_end") > pl.col("seats_two_quarters_back")
    )


def contracted_last_quarter() -> pl.Expr:
    """A contraction or a product churned in the latest quarter."""
    return (pl.col("contraction_arr_last_quarter") > 0) | (
        pl.col("product_churn_arr_last_quarter") < 0
    )


def arr_ending_soon() -> pl.Expr:
    """Recurring ARR scheduled to end within the horizon: known churn or contraction ahead."""
    return pl.col("arr_scheduled_to_end") > 0


def tickets_up() -> pl.Expr:
    """Support tickets in the last window above (1 + TICKET_RISE) x the window before (from
    none before, any ticket counts)."""
    return (pl.col("tickets_last_window") > 0) & (
        pl.col("tickets_last_window")
        > pl.col("tickets_window_before") * pl.lit(Decimal(1) + TICKET_RISE)
    )


def nps_drop() -> pl.Expr:
    """The latest NPS a detractor's (<= 6) where the one before was a promoter's or passive's
    (>= 7)."""
    return (pl.col("nps_previous") >= PASSIVE) & (pl.col("nps_latest") <= DETRACTOR)


def champion_changed() -> pl.Expr:
    """The champion left or changed role within the window."""
    return pl.col("champion_change_date").is_not_null()


def competitor_mentioned() -> pl.Expr:
    """A competitor was mentioned within the window."""
    return pl.col("competitor_mention_date").is_not_null()


def segment_multi_product_share() -> pl.Expr:
    """The share of the customer's segment (blank segment: its own group) holding two or more
    products."""
    return (
        (pl.col("products_held") >= 2).cast(pl.Float64).mean().over(pl.col("segment").fill_null(""))
    )


def cross_sell_candidate() -> pl.Expr:
    """A single-product customer in a segment where most customers hold two or more."""
    return (pl.col("products_held") == 1) & (
        pl.col("segment_multi_product_share") > MULTI_PRODUCT_MAJORITY
    )


def signal_count(names: tuple[str, ...]) -> pl.Expr:
    return pl.sum_horizontal(pl.col(name).cast(pl.Int32) for name in names).cast(pl.Int32)


def arr_at_risk() -> pl.Expr:
    """A customer needing intervention puts all its ARR at risk; any other customer, its ARR
    scheduled to end (already part of its ARR: never counted twice)."""
    return (
        pl.when(pl.col("needs_intervention"))
        .then(pl.col("end_arr"))
        .otherwise(pl.col("arr_scheduled_to_end"))
    )


def sprint_rank(frame: pl.LazyFrame, size: int) -> pl.LazyFrame:
    """Rank 1..size of the customers with expansion signals, by signals then ARR (then id, so
    ties are stable); null for everyone else."""
    has_signal = pl.col("expansion_signals") > 0
    return frame.sort(
        ["expansion_signals", "end_arr", "customer_id"], descending=[True, True, False]
    ).with_columns(
        sprint_rank=pl.when(has_signal & (has_signal.cum_sum() <= size))
        .then(has_signal.cum_sum())
        .cast(pl.Int32)
    )


def account_watchlist(
    signals: pl.LazyFrame, usage_change: Decimal, sprint_size: int
) -> pl.LazyFrame:
    """rpt_account_watchlist: every customer with ARR at the latest snapshot, its evidence,
    each signal as a boolean, the counts, needs_intervention, arr_at_risk and sprint_rank."""
    flagged = (
        signals.with_columns(segment_multi_product_share=segment_multi_product_share())
        .with_columns(
            usage_down=usage_down(usage_change),
            seats_down=seats_down(),
            contracted_last_quarter=contracted_last_quarter(),
            arr_ending_soon=arr_ending_soon(),
            tickets_up=tickets_up(),
            nps_drop=nps_drop().fill_null(False),
            champion_changed=champion_changed(),
            competitor_mentioned=competitor_mentioned(),
            usage_up=usage_up(usage_change),
            seats_up_two_quarters=seats_up_two_quarters(),
            cross_sell_candidate=cross_sell_candidate(),
        )
        .with_columns(
            risk_signals=signal_count(RISK_SIGNALS),
            expansion_signals=signal_count(EXPANSION_SIGNALS),
        )
        .with_columns(needs_intervention=pl.col("risk_signals") >= INTERVENTION_SIGNALS)
        .with_columns(arr_at_risk=arr_at_risk())
    )
    return sprint_rank(flagged, sprint_size).sort("customer_id")
