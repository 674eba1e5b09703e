"""Retention reports (Polars) and publishing."""

import json

import dagster as dg
import polars as pl

from pipeline.dbt_project import published_marts
from pipeline.defs.dbt import prepare_manifest
from pipeline.defs.guards import out_of_disk_or_memory_not_retried
from pipeline.defs.resources import NrrSettingsResource
from pipeline.nrr_methods import method_bases, nrr_methods
from pipeline.publishing import publish_report
from pipeline.retention import REPORT_TABLES, cohort_retention, nrr_quarterly, ttm_sums
from pipeline.run_summary import RunSummary, read_summary
from pipeline.warehouse import loaded_delivery_date, run_as_of, warehouse
from pipeline.warehouse_frames import scan_table, write_table

REPORTS_GROUP = "reports"
# dbt's model `quarantine` (models/gate): the quarantine the gate checks and publishing copies.
GATED_QUARANTINE_KEY = dg.AssetKey("quarantine")
RETENTION_INPUTS = [
    dg.AssetKey("fct_arr_bridge"),
    dg.AssetKey("fct_arr_movements"),
    dg.AssetKey("int_fiscal_quarters"),
    dg.AssetKey("int_customer_restated_arr"),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "rpt_nrr_quarterly",
            deps=RETENTION_INPUTS,
            group_name=REPORTS_GROUP,
            description="Quarterly and TTM NRR/GRR per quarter and slice.",
        ),
        dg.AssetSpec(
            "rpt_cohort_retention",
            deps=RETENTION_INPUTS,
            group_name=REPORTS_GROUP,
            description="Net, gross and logo retention per cohort, age and slice, with the "
            "cohort's ARR split into expansion, contraction and churn.",
        ),
        dg.AssetSpec(
            "rpt_nrr_methods",
            deps=RETENTION_INPUTS,
            group_name=REPORTS_GROUP,
            description="Every NRR method side by side per quarter and slice, with its definition.",
        ),
    ],
    name="retention_reports",
)
def retention_reports(context: dg.AssetExecutionContext, nrr: NrrSettingsResource):
    """Read the marts once, compute the reports in one Polars collect, write them back."""
    settings = nrr.settings()
    with warehouse(settings) as con:
        marts = {key.path[-1]: scan_table(con, f"main.{key.path[-1]}") for key in RETENTION_INPUTS}
        bridge = marts["fct_arr_bridge"]
        movements = marts["fct_arr_movements"]
        quarters = marts["int_fiscal_quarters"]
        restated = marts["int_customer_restated_arr"]
        # The TTM sums of both reports, summed once (one plan node both read).
        ttm = ttm_sums(movements, quarters, restated, method_bases(settings.method_min_arr))
        reports = {
            "rpt_nrr_quarterly": nrr_quarterly(bridge, quarters, ttm),
            "rpt_cohort_retention": cohort_retention(movements, quarters, restated),
            "rpt_nrr_methods": nrr_methods(bridge, quarters, ttm, settings.method_min_arr),
        }
        frames = dict(
            zip(
                REPORT_TABLES,
                pl.collect_all([reports[name] for name in REPORT_TABLES], engine="streaming"),
                strict=True,
            )
        )
        for name, frame in frames.items():
            write_table(con, f"main.{name}", frame)
    for name, frame in frames.items():
        yield dg.MaterializeResult(asset_key=name, metadata={"rows": frame.height})


# What the report copies, each declared where it is built (publishing.published_tables).
PUBLISHED_INPUTS = [
    *[dg.AssetKey(name) for name in published_marts(prepare_manifest())],
    *[dg.AssetKey(name) for name in REPORT_TABLES],
    GATED_QUARANTINE_KEY,  # dbt's gated quarantine: its blocking check gates publishing
]


@dg.asset(
    deps=PUBLISHED_INPUTS,
    group_name=REPORTS_GROUP,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
)
def published_report(
    context: dg.AssetExecutionContext, nrr: NrrSettingsResource
) -> dg.MaterializeResult:
    """The report folder for finance and BI, switched in atomically as reports/latest.

    Runs only when every blocking check upstream passed.
    """
    settings = nrr.settings()
    with out_of_disk_or_memory_not_retried():
        with warehouse(settings, read_only=True) as con:
            as_of = run_as_of(settings, con)
            delivery = loaded_delivery_date(con)
        folder = publish_report(settings, as_of=as_of, delivery=delivery, run_id=context.run_id)
    context.log.info(f"Published {folder}")
    manifest = json.loads((folder / "manifest.json").read_text())
    return dg.MaterializeResult(
        metadata={
            "folder": str(folder),
            "manifest": dg.MetadataValue.json(manifest),
            **headline_metadata(read_summary(folder)),
            **{f"rows_{name}": int(rows) for name, rows in manifest["row_counts"].items()},
        }
    )


def headline_metadata(summary: RunSummary) -> dict[str, dg.MetadataValue]:
    """The headline figures as numbers Dagster plots over runs (ratios as floats, counts as
    ints); money stays exact text (it is never a float)."""
    h = summary.headline
    ratios = {}
    if h is not None:
        ratios = {
            name: dg.MetadataValue.float(value)
            for name, value in (
                ("ttm_nrr", h.ttm_nrr),
                ("ttm_grr", h.ttm_grr),
                ("nrr", h.nrr),
                ("grr", h.grr),
            )
            if value is not None
        }
    return {
        "headline_quarter": dg.MetadataValue.text(h.quarter if h else "n/a"),
        **ratios,
        "ending_arr": dg.MetadataValue.text(str(h.end_arr) if h and h.end_arr is not None else ""),
        "ending_customers": dg.MetadataValue.int(int(h.ending_customers or 0) if h else 0),
        "quarantined_rows": dg.MetadataValue.int(summary.quarantined_rows),
        "quarantined_arr": dg.MetadataValue.text(str(summary.quarantined_arr)),
        "restatements": dg.MetadataValue.int(summary.restatements),
    }
