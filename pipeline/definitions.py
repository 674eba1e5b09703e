"""Assembles the Dagster code location: assets, checks, resources, job and schedule."""

import dagster as dg
from dagster_dbt import DbtCliResource

from pipeline.dbt_project import dbt_executable
from pipeline.defs.checks import build_suite_checks
from pipeline.defs.dbt import build_dbt_assets, nrr_dbt_project
from pipeline.defs.landing import land_delivery, quarantine
from pipeline.defs.reports import build_published_report, build_retention_reports
from pipeline.defs.resources import NrrSettingsResource
from pipeline.nightly import delivery_freshness, plan_nightly_run
from pipeline.settings import Settings, settings_from_env

NIGHTLY_JOB = "nightly_nrr_job"
NIGHTLY_SCHEDULE = "nightly_nrr_schedule"


class NrrDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource, without the dbt adapter it builds in this process before
    every dbt command (profile, adapter and dbt's macros: 2-3 s of CPU a run). That adapter
    serves only fetch_row_counts() and fetch_column_metadata(), which this pipeline does not
    call; dbt itself runs in its own process (nrr-dbt) either way."""

    def _initialize_dbt_core_adapter(self, args):
        return None


def landing_run_config(delivery: str | None, force: bool = False) -> dict:
    return {"ops": {"land_delivery": {"config": {"delivery": delivery, "force": force}}}}


def build_schedule(job, settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=NIGHTLY_SCHEDULE,
        job=job,
        cron_schedule="0 2 * * *",
        execution_timezone=settings.schedule_timezone,
    )
    def nightly_nrr_schedule(context: dg.ScheduleEvaluationContext):
        """02:00 every night: run the newest delivery folder unless it is already published."""
        plan = plan_nightly_run(settings)
        if not plan.should_run:
            # A skipped night still says when the extracts stopped arriving.
            freshness = delivery_freshness(settings)
            stale = "" if freshness.fresh else f" {freshness.message}"
            return dg.SkipReason(plan.reason + stale)
        return dg.RunRequest(
            run_key=plan.run_key,
            run_config=landing_run_config(plan.delivery),
            tags={"delivery": plan.delivery or "unknown"},
        )

    return nightly_nrr_schedule


def build_definitions(settings: Settings) -> dg.Definitions:
    nightly_job = dg.define_asset_job(
        NIGHTLY_JOB,
        selection=dg.AssetSelection.all(),
        executor_def=dg.in_process_executor,  # DuckDB allows one writer per file
        description="Land the newest delivery, quarantine bad rows, build the ARR marts and "
        "retention reports, check them, and publish when every blocking check passed.",
    )
    return dg.Definitions(
        assets=[
            land_delivery,
            quarantine,
            build_dbt_assets(settings),
            build_retention_reports(settings),
            build_published_report(settings),
        ],
        asset_checks=build_suite_checks(settings),
        jobs=[nightly_job],
        schedules=[build_schedule(nightly_job, settings)],
        resources={
            "nrr": NrrSettingsResource.from_settings(settings),
            "dbt": NrrDbtCliResource(project_dir=nrr_dbt_project, dbt_executable=dbt_executable()),
        },
    )


defs = build_definitions(settings_from_env())
