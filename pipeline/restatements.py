"""Restatements: figures of closed quarters that changed since the previous published report.

Late billing changes, CRM hierarchy edits and FX revisions can change history. Every
quarter that was complete in the previous report is compared, per slice and metric, with
the new figures; each difference becomes a row, so finance is never surprised by a quietly
changed history. The unfinished quarter is not compared: its snapshot date moves every night.

Only like is compared with like: two reports in the same reporting currency, with the same
fiscal year start and roll-up, matched by quarter dates. After a change of any of these the
table is empty and the note says why. A complete quarter that appears before the previous
report's first quarter (history delivered late) is listed as a new quarter.

The previous report is read from its Parquet files, never from its marts.duckdb: a BI tool
may hold that file open read-write, and DuckDB's lock would then block every publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.landing import scalar
from pipeline.report_views import BRIDGE_COLUMNS as MONEY_METRICS
from pipeline.report_views import RATIO_METRICS

# What makes two reports' figures comparable: their settings of the same name.
COMPARABLE_SETTINGS = {
    "reporting_currency": "reporting currency",
    "fiscal_year_start_month": "fiscal year start month",
    "rollup": "customer roll-up",
    "usage_arr": "usage ARR policy",
}
# A report published before a comparable setting existed was made under its default.
RECORDED_BEFORE_IT_EXISTED = {"usage_arr": "run_rate"}
KEY = ("quarter_start", "dimension", "dimension_value")
# What is read of the previous report, as <name>.parquet in its folder.
PREVIOUS_TABLES = ("fct_arr_bridge", "rpt_nrr_quarterly")

RESTATEMENT_COLUMNS = """
    quarter_label varchar, dimension varchar, dimension_value varchar, metric varchar,
    change varchar, previous_value decimal(38, 6), new_value decimal(38, 6),
    difference decimal(38, 6), previous_as_of date
"""


@dataclass(frozen=True)
class PreviousReport:
    """The report `latest` showed before this one: its folder and its manifest."""

    folder: Path
    as_of: str
    manifest: dict


def _long(prefix: str, complete_only: bool) -> str:
    """The bridge amounts and the NRR/GRR ratios of one report, one row per metric."""
    where = "where is_complete" if complete_only else ""
    parts = [
        f"select quarter_label, {', '.join(KEY)}, '{m}' as metric, "
        f"cast({m} as decimal(38, 6)) as value from {prefix}fct_arr_bridge {where}"
        for m in MONEY_METRICS
    ] + [
        f"select quarter_label, {', '.join(KEY)}, '{m}' as metric, "
        f"cast(round({m}, 6) as decimal(38, 6)) as value from {prefix}rpt_nrr_quarterly {where}"
        for m in RATIO_METRICS
    ]
    return "\nunion all\n".join(parts)


def previous_settings(con: duckdb.DuckDBPyConnection, previous: PreviousReport) -> dict[str, str]:
    """The previous report's recorded settings: report_settings.parquet, or, for a report
    published before that file existed, the report_settings (else settings) of its
    manifest.json. Empty when neither is there."""
    parquet = previous.folder / "report_settings.parquet"
    if parquet.exists():
        return dict(
            con.execute("select name, value from read_parquet(?)", [str(parquet)]).fetchall()
        )
    recorded = previous.manifest.get("report_settings") or previous.manifest.get("settings")
    return {str(k): str(v) for k, v in (recorded or {}).items()}


def _load_previous_tables(con: duckdb.DuckDBPyConnection, previous: PreviousReport) -> list[str]:
    """temp.previous_<table> from each <table>.parquet; returns the files that are missing."""
    missing = [t for t in PREVIOUS_TABLES if not (previous.folder / f"{t}.parquet").exists()]
    if not missing:
        for table in PREVIOUS_TABLES:
            con.execute(
                f"create or replace temp table previous_{table} as select * from read_parquet(?)",
                [str(previous.folder / f"{table}.parquet")],
            )
    return [f"{t}.parquet" for t in missing]


def incomparable_settings(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """'reporting currency USD -> EUR', … for every comparable setting that differs."""

    def value(record: dict[str, str], name: str) -> str:
        return record.get(name, RECORDED_BEFORE_IT_EXISTED.get(name, "?"))

    return [
        f"{label} {value(previous, name)} -> {value(current, name)}"
        for name, label in COMPARABLE_SETTINGS.items()
        if value(previous, name) != value(current, name)
    ]


def build_restatements(
    con: duckdb.DuckDBPyConnection, previous: PreviousReport | None, settings: dict[str, str]
) -> str:
    """Create table `restatements` in con (which holds the new marts); return the note that
    says what it compares.

    previous: the report `latest` showed so far, or None for a first report.
    Money metrics missing on one side (a slice with no movement rows) count as 0; ratios
    missing on one side are listed with a null value.
    """
    con.execute(f"create table restatements ({RESTATEMENT_COLUMNS})")
    if previous is None:
        return "First report: there is no previous report to compare with."
    previous_as_of = previous.as_of
    changed = incomparable_settings(previous_settings(con, previous), settings)
    if changed:
        return (
            f"Not compared with the previous report (as of {previous_as_of}): its figures "
            f"are not comparable because the {'; '.join(changed)}."
        )
    missing = _load_previous_tables(con, previous)
    if missing:
        return (
            f"Not compared with the previous report (as of {previous_as_of}): its folder "
            f"{previous.folder.name} has no {' or '.join(missing)}."
        )
    try:
        key = ", ".join(KEY)
        money = ", ".join(f"'{m}'" for m in MONEY_METRICS)
        con.execute(
            f"""
            insert into restatements
            with old_values as ({_long("temp.previous_", complete_only=True)}),
                 new_values as ({_long("main.", complete_only=False)}),
                 closed as (select distinct quarter_start from old_values),
                 compared as (
                    select coalesce(n.quarter_label, o.quarter_label) as quarter_label,
                           coalesce(o.quarter_start, n.quarter_start) as quarter_start,
                           coalesce(o.dimension, n.dimension) as dimension,
                           coalesce(o.dimension_value, n.dimension_value) as dimension_value,
                           coalesce(o.metric, n.metric) as metric,
                           case when coalesce(o.metric, n.metric) in ({money})
                                then coalesce(o.value, 0) else o.value end as previous_value,
                           case when coalesce(o.metric, n.metric) in ({money})
                                then coalesce(n.value, 0) else n.value end as new_value
                    from old_values as o
                    full outer join new_values as n using ({key}, metric)
                    where coalesce(o.quarter_start, n.quarter_start) in (select * from closed)
                 ),
                 restated as (
                    select quarter_label, quarter_start, dimension, dimension_value, metric,
                           'restated' as change, previous_value, new_value,
                           new_value - previous_value as difference
                    from compared
                    where previous_value is distinct from new_value
                 ),
                 new_quarters as (
                    select quarter_label, quarter_start, dimension, dimension_value, metric,
                           'new_quarter' as change, null as previous_value, value as new_value,
                           null as difference
                    from ({_long("main.", complete_only=True)})
                    where quarter_start < (select min(quarter_start) from closed)
                      and value is not null
                 )
            select quarter_label, dimension, dimension_value, metric, change,
                   previous_value, new_value, difference, cast(? as date) as previous_as_of
            from (select * from restated union all select * from new_quarters)
            order by quarter_start, dimension, dimension_value, metric
        """,
            [previous_as_of],
        )
        count = scalar(con, "select count(*) from restatements")
    finally:
        for table in PREVIOUS_TABLES:
            con.execute(f"drop table if exists temp.previous_{table}")
    return (
        f"Compared with the previous report (as of {previous_as_of}, same reporting currency, "
        f"fiscal year start and roll-up): {count} changed figures of closed quarters."
    )
