"""Restatements: figures of closed quarters that changed since the previous published report.

Late billing changes, CRM hierarchy edits and FX revisions can change history. Every
quarter that was complete in the previous report is compared, per slice and metric, with
the new figures; each difference becomes a row, so finance is never surprised by a quietly
changed history. The unfinished quarter is not compared: its snapshot date moves every night.
"""

from __future__ import annotations

import duckdb

from pipeline.report_views import BRIDGE_COLUMNS as MONEY_METRICS
from pipeline.report_views import RATIO_METRICS

KEY = ("quarter_label", "dimension", "dimension_value")

RESTATEMENT_COLUMNS = """
    quarter_label varchar, dimension varchar, dimension_value varchar, metric varchar,
    previous_value decimal(38, 6), new_value decimal(38, 6), difference decimal(38, 6),
    previous_as_of date
"""


def _long(schema: str, complete_only: bool) -> str:
    """The bridge amounts and the NRR/GRR ratios of one report, one row per metric."""
    where = "where is_complete" if complete_only else ""
    parts = [
        f"select {', '.join(KEY)}, '{m}' as metric, cast({m} as decimal(38, 6)) as value "
        f"from {schema}.fct_arr_bridge {where}"
        for m in MONEY_METRICS
    ] + [
        f"select {', '.join(KEY)}, '{m}' as metric, cast(round({m}, 6) as decimal(38, 6)) "
        f"as value from {schema}.rpt_nrr_quarterly {where}"
        for m in RATIO_METRICS
    ]
    return "\nunion all\n".join(parts)


def build_restatements(
    con: duckdb.DuckDBPyConnection, previous_marts: str | None, previous_as_of: str | None
) -> None:
    """Create table `restatements` in con (which holds the new marts).

    previous_marts: path of the previous report's marts.duckdb, or None for a first report.
    Money metrics missing on one side (a slice with no movement rows) count as 0; ratios
    missing on one side are listed with a null value.
    """
    con.execute(f"create table restatements ({RESTATEMENT_COLUMNS})")
    if previous_marts is None:
        return
    con.execute(f"attach '{previous_marts}' as previous (read_only)")
    try:
        key = ", ".join(KEY)
        closed = "select quarter_label from previous.fct_arr_bridge where is_complete"
        money = ", ".join(f"'{m}'" for m in MONEY_METRICS)
        con.execute(
            f"""
            insert into restatements
            with old_values as ({_long("previous", complete_only=True)}),
                 new_values as ({_long("main", complete_only=False)}),
                 compared as (
                    select coalesce(o.quarter_label, n.quarter_label) as quarter_label,
                           coalesce(o.dimension, n.dimension) as dimension,
                           coalesce(o.dimension_value, n.dimension_value) as dimension_value,
                           coalesce(o.metric, n.metric) as metric,
                           o.value as previous_value, n.value as new_value
                    from old_values as o
                    full outer join new_values as n using ({key}, metric)
                 )
            select quarter_label, dimension, dimension_value, metric,
                   case when metric in ({money}) then coalesce(previous_value, 0)
                        else previous_value end as previous_value,
                   case when metric in ({money}) then coalesce(new_value, 0)
                        else new_value end as new_value,
                   case when metric in ({money})
                        then coalesce(new_value, 0) - coalesce(previous_value, 0)
                        else new_value - previous_value end as difference,
                   cast(? as date) as previous_as_of
            from compared
            where quarter_label in ({closed})
              and (case when metric in ({money}) then coalesce(previous_value, 0)
                        else previous_value end)
                  is distinct from
                  (case when metric in ({money}) then coalesce(new_value, 0)
                        else new_value end)
            order by quarter_label, dimension, dimension_value, metric
        """,
            [previous_as_of],
        )
    finally:
        con.execute("detach previous")
