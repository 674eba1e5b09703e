"""The publish gate on the quarantine: one exact verdict and the message that explains it.

Both come from the same DECIMAL sums (DuckDB sums `arr_at_stake` exactly; Python compares
Decimals), so the verdict and its message can never disagree. Publishing is blocked while
the quarantined ARR exceeds NRR_QUARANTINE_ARR_THRESHOLD or more quarantined revenue rows
than NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD cannot be valued at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.landing import RAW_SCHEMA, DeliveryRejected, scalar
from pipeline.quarantine import QuarantineResult, RuleContext, build_quarantine
from pipeline.settings import Settings
from pipeline.warehouse import run_as_of
from pipeline.warehouse_frames import scan_table, write_table

# What the gate measures the quarantine against: dbt's model `quarantine_basis`, the valid
# ARR at as-of as the report counts it (the marts' end ARR at the as-of snapshot).
BASIS_TABLE = "main.quarantine_basis"
# Whether the delivery has any ARR to report: dbt's model `delivery_arr` (read when dbt fails).
DELIVERY_ARR_TABLE = "main.delivery_arr"

# The gated quarantine: dbt's model `quarantine` (models/gate), the row rules' rejects valued
# by the models that compute the marts. The gate reads it; every report publishes it in this
# row order.
QUARANTINE_TABLE = "main.quarantine"
QUARANTINE_ORDER = "extract, row_number"
GROUPS_SQL = f"""
    select source_file, reason, count(*) as rows,
           coalesce(sum(arr_at_stake), 0) as arr,
           count(*) filter (where unvalued) as unvalued_rows
    from {QUARANTINE_TABLE}
    group by source_file, reason
    order by source_file, reason
"""
DELIVERED_ROWS_SQL = "select coalesce(sum(row_count), 0) from raw.delivery_log"
VALID_ARR_SQL = f"select valid_arr from {BASIS_TABLE}"
# The row rules' rejects before valuation: what dbt's `quarantine` model values.
REJECTS_TABLE = "raw.quarantine_rejects"


@dataclass(frozen=True)
class QuarantineGroup:
    source_file: str
    reason: str
    rows: int
    arr: Decimal
    unvalued_rows: int


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    message: str
    rows: int
    arr: Decimal
    unvalued_rows: int


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _share(part: Decimal | int, whole: Decimal | int) -> str:
    if not whole:
        return "n/a"
    return f"{Decimal(part) * 100 / Decimal(whole):.1f} %"


def _by(groups: list[QuarantineGroup], key: str, unvalued_only: bool) -> str:
    """'reason a: 2 rows, ARR 10.00; reason b: …' grouped by `key` (reason or source_file)."""
    totals: dict[str, list] = {}
    for g in groups:
        rows = g.unvalued_rows if unvalued_only else g.rows
        if rows == 0:
            continue
        entry = totals.setdefault(getattr(g, key), [0, Decimal(0)])
        entry[0] += rows
        entry[1] += g.arr
    if unvalued_only:
        return ", ".join(f"{name} {_plural(n, 'row')}" for name, (n, _) in sorted(totals.items()))
    return "; ".join(
        f"{name}: {_plural(n, 'row')}, ARR {arr:,.2f}" for name, (n, arr) in sorted(totals.items())
    )


def gate_verdict(
    groups: list[QuarantineGroup],
    delivered_rows: int,
    valid_arr: Decimal,
    arr_threshold: Decimal,
    unvalued_threshold: int,
) -> GateVerdict:
    """The gate's verdict and its message, from exact sums."""
    rows = sum(g.rows for g in groups)
    arr = sum((g.arr for g in groups), Decimal(0))
    unvalued = sum(g.unvalued_rows for g in groups)
    if rows == 0:
        return GateVerdict(True, "The quarantine is empty.", 0, Decimal(0), 0)
    arr_ok = arr <= arr_threshold
    unvalued_ok = unvalued <= unvalued_threshold
    passed = arr_ok and unvalued_ok
    sentences = []
    if not passed:
        sentences.append("Publishing is blocked by the quarantine.")
    if unvalued:
        sentences.append(
            f"{_plural(unvalued, 'quarantined revenue row')} cannot be valued "
            f"({_by(groups, 'reason', unvalued_only=True)}; in "
            f"{_by(groups, 'source_file', unvalued_only=True)}), which "
            f"{'is within' if unvalued_ok else 'exceeds'} the threshold of "
            f"{_plural(unvalued_threshold, 'row')} (NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD)."
        )
    sentences.append(
        f"{_plural(rows, 'quarantined row')} carry ARR {arr:,.2f}, which "
        f"{'is within' if arr_ok else 'exceeds'} the threshold {arr_threshold:,.2f} "
        "(NRR_QUARANTINE_ARR_THRESHOLD)."
    )
    sentences.append(
        f"The quarantine holds {_share(rows, delivered_rows)} of the delivery's "
        f"{delivered_rows:,} rows and {_share(arr, valid_arr + arr)} of its valued ARR "
        f"{valid_arr + arr:,.2f}" + (", not counting the unvalued rows." if unvalued else ".")
    )
    sentences.append(f"By reason: {_by(groups, 'reason', unvalued_only=False)}.")
    sentences.append(f"By file: {_by(groups, 'source_file', unvalued_only=False)}.")
    return GateVerdict(passed, " ".join(sentences), rows, arr, unvalued)


def quarantine_groups(con: duckdb.DuckDBPyConnection) -> list[QuarantineGroup]:
    """dbt's quarantine by file and reason: rows, exact ARR at stake, unvalued rows."""
    return [
        QuarantineGroup(file, reason, rows, Decimal(arr), unvalued)
        for file, reason, rows, arr, unvalued in con.execute(GROUPS_SQL).fetchall()
    ]


def quarantine_gate(
    con: duckdb.DuckDBPyConnection, arr_threshold: Decimal, unvalued_threshold: int
) -> GateVerdict:
    """The verdict on the quarantine in the working warehouse (dbt's model, after dbt ran)."""
    groups = quarantine_groups(con)
    delivered = scalar(con, DELIVERED_ROWS_SQL)
    valid_arr = scalar(con, VALID_ARR_SQL)
    return gate_verdict(
        groups, int(delivered), Decimal(valid_arr), arr_threshold, unvalued_threshold
    )


def checked_table(extract: str) -> str:
    """The typed checked table of an extract (what dbt's staging reads)."""
    return f"raw.checked_{extract}"


def store_quarantine(
    con: duckdb.DuckDBPyConnection,
    rejects: pl.DataFrame,
    checked: dict[str, pl.DataFrame],
) -> None:
    """Replace the row rules' rejects (raw.quarantine_rejects) and the typed checked tables
    (raw.checked_<extract>) in one transaction: staging never reads a checked table from
    another delivery than the rejects it sits beside."""
    con.execute("begin transaction")
    try:
        write_table(con, REJECTS_TABLE, rejects)
        for extract, frame in checked.items():
            write_table(con, checked_table(extract), frame)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


@dataclass(frozen=True)
class RowRulesRun:
    as_of: date
    result: QuarantineResult


def apply_row_rules(con: duckdb.DuckDBPyConnection, settings: Settings) -> RowRulesRun:
    """The row rules on the raw tables of the warehouse, at the run's as-of, their checked
    tables and rejects stored (store_quarantine) for dbt: the quarantine step of every night
    and of `nrr check`."""
    as_of = run_as_of(settings, con)
    rules = RuleContext(
        settings.reporting_currency,
        settings.fiscal_year_start_month,
        as_of,
        settings.rollup,
        settings.earliest_date,
    )
    raw = {name: scan_table(con, f"{RAW_SCHEMA}.{name}") for name in EXTRACT_COLUMNS}
    result = build_quarantine(
        raw["billing_charges"], raw["crm_accounts"], raw["fx_rates"], rules, raw["account_signals"]
    )
    store_quarantine(con, result.rejects, result.checked)
    return RowRulesRun(as_of, result)


def no_arr_rejection(con: duckdb.DuckDBPyConnection, as_of: date) -> DeliveryRejected | None:
    """Why the delivery is rejected when dbt found no ARR to report (None when it found some):
    no recurring or usage charge in force at any quarter's snapshot up to as-of. Read from
    dbt's models `delivery_arr` and `quarantine`, after dbt ran."""
    first_start, has_arr, has_excluded_usage = con.execute(
        f"select first_charge_start, has_arr, has_excluded_usage from {DELIVERY_ARR_TABLE}"
    ).fetchone()
    if has_arr:
        return None
    if has_excluded_usage:
        return DeliveryRejected(
            "The delivery has no recurring charge in force at any quarter's snapshot on or "
            f"before the as-of date {as_of.isoformat()}, and NRR_USAGE_ARR is exclude: its "
            "usage charges carry no ARR (committed revenue only), so there is no ARR to report. "
            "Set NRR_USAGE_ARR to run_rate or trailing_3_period_average to report usage.",
            file="billing_charges",
        )
    message = (
        "The delivery has no recurring or usage charge in force at any quarter's snapshot on "
        f"or before the as-of date {as_of.isoformat()}: there is no ARR to report."
    )
    revenue = con.execute(
        f"""
        select reason, count(*) from {QUARANTINE_TABLE}
        where extract = 'billing_charges' and (unvalued or arr_at_stake > 0)
        group by reason order by reason
        """
    ).fetchall()
    if first_start is not None and first_start > as_of:
        message += (
            f" Its earliest recurring or usage charge starts on {first_start.isoformat()}, after "
            f"the as-of date: set NRR_AS_OF (or --as-of) to {first_start.isoformat()} or later, "
            "or leave it unset to report as of the delivery date."
        )
    elif revenue:
        message += (
            f" {sum(n for _, n in revenue)} quarantined billing_charges rows would carry "
            "revenue (" + ", ".join(f"{r}: {n}" for r, n in revenue) + "); see the quarantine."
        )
    else:
        message += " Check that billing_charges holds recurring or usage charges and NRR_AS_OF."
    return DeliveryRejected(message, file="billing_charges")
