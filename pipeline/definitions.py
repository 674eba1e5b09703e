"""Assembles the Dagster code location: assets, resources, job and schedule."""

import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipeline.assets.dbt import build_dbt_assets, nrr_dbt_project
from pipeline.assets.landing import land_delivery, quarantine
from pipeline.resources import NrrSettingsResource
from pipeline.settings import Settings, settings_from_env

NIGHTLY_JOB = "nightly_nrr_job"


def _dbt_executable() -> str:
    """dbt installed beside this interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_definitions(settings: Settings) -> dg.Definitions:
    nightly_job = dg.define_asset_job(
        NIGHTLY_JOB,
        selection=dg.AssetSelection.all(),
        executor_def=dg.in_process_executor,  # DuckDB allows one writer per file
        description="Land the latest delivery, quarantine bad rows, build the ARR marts.",
    )
    return dg.Definitions(
        assets=[land_delivery, quarantine, build_dbt_assets()],
        jobs=[nightly_job],
        schedules=[
            dg.ScheduleDefinition(
                name="nightly_nrr_schedule",
                job=nightly_job,
                cron_schedule="0 2 * * *",
                execution_timezone=settings.schedule_timezone,
            )
        ],
        resources={
            "nrr": NrrSettingsResource.from_settings(settings),
            "dbt": DbtCliResource(project_dir=nrr_dbt_project, dbt_executable=_dbt_executable()),
        },
    )


defs = build_definitions(settings_from_env())
