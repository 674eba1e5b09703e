"""crm_accounts rules: ids present and unique, and the hierarchy walk.

The walk (`resolve_hierarchy`) is the only one in the pipeline: it finds every account's
ultimate parent, or quarantines the account when its chain ends at an unknown parent or runs
into a parent loop (row grammar: such an account cannot be read as part of a customer). The
checked accounts table carries the ultimate parent; dbt reads it instead of walking again.
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.rules.grammar import blank, first_failure


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
    """Accounts with reason/detail (null when valid), the ultimate parent each rolls up to
    (the one hierarchy walk of the pipeline: dbt's int_customer_accounts reads it) and the
    customer it reports under with this rollup."""
    first_pass = accounts.with_columns(
        pl.when(blank("parent_account_id"))
        .then(None)
        .otherwise(pl.col("parent_account_id"))
        .alias("parent_account_id"),
    ).with_columns(
        first_failure(
            [
                ("missing_account_id", blank("account_id"), pl.lit("account_id is empty")),
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
            ultimate_parent_id=pl.when(
                pl.col("reason").is_null() & pl.col("problem").is_null()
            ).then(pl.col("ultimate_parent_id")),
        )
        .with_columns(
            customer_id=pl.col("ultimate_parent_id")
            if rollup == "ultimate_parent"
            else pl.when(pl.col("ultimate_parent_id").is_not_null()).then(pl.col("account_id"))
        )
        .drop("problem", "detail_right")
    )
