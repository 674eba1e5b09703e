"""Retention reports (Polars) and publishing."""

import json

import dagster as dg
import polars as pl

from pipeline.defs.dbt import prepare_manifest
from pipeline.defs.guards import out_of_disk_or_memory_not_retried
from pipeline.defs.resources import NrrSettingsResource
from pipeline.nrr_methods import method_bases, nrr_methods
from pipeline.publishing import publish_report, published_tables
from pipeline.retention import (
    MONTH,
    QUARTER,
    Grain,
    cohort_retention,
    nrr_quarterly,
    report_tables,
    ttm_sums,
)
from pipeline.run_summary import RunSummary, read_summary
from pipeline.settings import Settings
from pipeline.warehouse import loaded_delivery_date, run_as_of, warehouse
from pipeline.warehouse_frames import scan_table, write_table
from pipeline.watchlist import account_watchlist

REPORTS_GROUP = "reports"
# dbt's model `quarantine` (models/gate): the quarantine the gate checks and publishing copies.
GATED_QUARANTINE_KEY = dg.AssetKey("quarantine")


def retention_inputs(grain: Grain) -> list[dg.AssetKey]:
    """The grain's marts the retention reports read: bridge, movements, spine, restated pairs."""
    return [
        dg.AssetKey(name) for name in (grain.bridge, grain.movements, grain.spine, grain.restated)
    ]


RETENTION_INPUTS = retention_inputs(QUARTER)
# The account watchlist's evidence (dbt): read by rpt_account_watchlist only.
SIGNALS_MART = "fct_customer_signals"
# Each report: its description, and the grains whose marts it reads (rpt_nrr_methods reads
# the monthly TTM sums for ttm_weighted_monthly when months are built).
REPORT_SPECS = {
    "rpt_nrr_quarterly": ("Quarterly and TTM NRR/GRR per quarter and slice.", (QUARTER,)),
    "rpt_cohort_retention": (
        "Net, gross and logo retention per cohort, age and slice, with the cohort's ARR split "
        "into expansion, contraction and churn.",
        (QUARTER,),
    ),
    "rpt_nrr_methods": (
        "Every NRR method side by side per quarter and slice, with its definition.",
        (QUARTER, MONTH),
    ),
    "rpt_nrr_monthly": (
        "rpt_nrr_quarterly at the month grain: monthly and TTM (twelve months) NRR/GRR per "
        "fiscal month and slice (NRR_PERIODS=quarter,month).",
        (MONTH,),
    ),
    "rpt_cohort_retention_monthly": (
        "rpt_cohort_retention at the month grain: monthly cohorts, age in months "
        "(NRR_PERIODS=quarter,month).",
        (MONTH,),
    ),
    "rpt_account_watchlist": (
        "One row per customer with ARR at the latest snapshot: each contraction-risk and "
        "expansion signal with its evidence, the counts, needs_intervention (two or more risk "
        "signals), arr_at_risk and the expansion sprint rank.",
        (),
    ),
}
# Marts a report reads besides its grains' retention inputs.
EXTRA_INPUTS = {"rpt_account_watchlist": (SIGNALS_MART,)}


def build_retention_reports(settings: Settings) -> dg.AssetsDefinition:
    """The retention reports a night with these settings builds (retention.report_tables):
    the monthly ones, and the monthly inputs of rpt_nrr_methods, only when months are built."""
    months = settings.builds_months
    tables = report_tables(months)
    grains = (QUARTER, MONTH) if months else (QUARTER,)

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                name,
                deps=[
                    key
                    for grain in REPORT_SPECS[name][1]
                    if grain in grains
                    for key in retention_inputs(grain)
                ]
                + [dg.AssetKey(mart) for mart in EXTRA_INPUTS.get(name, ())],
                group_name=REPORTS_GROUP,
                description=REPORT_SPECS[name][0],
            )
            for name in tables
        ],
        name="retention_reports",
    )
    def retention_reports(context: dg.AssetExecutionContext, nrr: NrrSettingsResource):
        """Read the marts once, compute the reports in one Polars collect, write them back."""
        settings = nrr.settings()
        with warehouse(settings) as con:
            marts = {
                grain.name: {
                    key.path[-1]: scan_table(con, f"main.{key.path[-1]}")
                    for key in retention_inputs(grain)
                }
                for grain in grains
            }
            marts[QUARTER.name][SIGNALS_MART] = scan_table(con, f"main.{SIGNALS_MART}")
            reports = retention_frames(marts, settings)
            frames = dict(
                zip(
                    tables,
                    pl.collect_all([reports[name] for name in tables], engine="streaming"),
                    strict=True,
                )
            )
            for name, frame in frames.items():
                write_table(con, f"main.{name}", frame)
        for name, frame in frames.items():
            yield dg.MaterializeResult(asset_key=name, metadata={"rows": frame.height})

    return retention_reports


def retention_frames(
    marts: dict[str, dict[str, pl.LazyFrame]], settings: Settings
) -> dict[str, pl.LazyFrame]:
    """The reports (lazy) from the marts of each grain built (by grain name, then model): the
    monthly reports come from the very functions of the quarterly ones, at grain MONTH."""
    quarter = marts[QUARTER.name]
    bridge = quarter[QUARTER.bridge]
    movements = quarter[QUARTER.movements]
    quarters = quarter[QUARTER.spine]
    restated = quarter[QUARTER.restated]
    # The TTM sums of both reports, summed once (one plan node both read).
    ttm = ttm_sums(movements, quarters, restated, method_bases(settings.method_min_arr))
    reports = {
        "rpt_nrr_quarterly": nrr_quarterly(bridge, quarters, ttm),
        "rpt_cohort_retention": cohort_retention(movements, quarters, restated),
    }
    months = monthly_ttm = None
    if MONTH.name in marts:
        month = marts[MONTH.name]
        months = month[MONTH.spine]
        monthly_ttm = ttm_sums(month[MONTH.movements], months, month[MONTH.restated], grain=MONTH)
        reports["rpt_nrr_monthly"] = nrr_quarterly(
            month[MONTH.bridge], months, monthly_ttm, grain=MONTH
        )
        reports["rpt_cohort_retention_monthly"] = cohort_retention(
            month[MONTH.movements], months, month[MONTH.restated], grain=MONTH
        )
    reports["rpt_nrr_methods"] = nrr_methods(
        bridge, quarters, ttm, settings.method_min_arr, months, monthly_ttm
    )
    reports["rpt_account_watchlist"] = account_watchlist(
        quarter[SIGNALS_MART], settings.signal_usage_drop, settings.sprint_size
    )
    return reports


def published_inputs(settings: Settings) -> list[dg.AssetKey]:
    """What the report copies, each declared where it is built (publishing.published_tables:
    the published marts read from the manifest, prepared first; the reports; dbt's gated
    quarantine, whose blocking check gates publishing)."""
    prepare_manifest()
    return [dg.AssetKey(name) for name in published_tables(settings.builds_months)]


def build_published_report(settings: Settings) -> dg.AssetsDefinition:
    """The publish step, waiting for every table the report of these settings copies."""

    @dg.asset(
        name="published_report",
        deps=published_inputs(settings),
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

    return published_report


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
