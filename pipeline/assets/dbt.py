"""The dbt project as Dagster assets: one DbtProject, one translator.

dbt source keys (raw/<table>) equal the landing and quarantine assets' keys, so the graph
links on its own: staging reads the typed checked tables (raw/checked_<extract>) and, through
a `depends_on` comment, waits for raw/quarantine and its blocking checks.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipeline.assets.guards import out_of_disk_or_memory_not_retried
from pipeline.dbt_child import PARENT_PID_VARIABLE
from pipeline.resources import NrrSettingsResource, run_as_of, warehouse
from pipeline.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

nrr_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest() -> Path:
    """Parse the dbt project once when no manifest exists yet (first run after install)."""
    if not nrr_dbt_project.manifest_path.exists():
        nrr_dbt_project.preparer.prepare(nrr_dbt_project)
    return nrr_dbt_project.manifest_path


class NrrDbtTranslator(DagsterDbtTranslator):
    """Groups models by their folder: staging, intermediate, marts."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        fqn = dbt_resource_props.get("fqn", [])
        return f"dbt_{fqn[1]}" if len(fqn) > 2 else "dbt"


def dbt_vars(settings: Settings, as_of) -> dict[str, str | int]:
    """The run settings dbt reads (macro run_setting), as --vars or as NRR_DBT_* variables."""
    return {
        "as_of_date": as_of.isoformat(),
        "fiscal_year_start_month": settings.fiscal_year_start_month,
        "reporting_currency": settings.reporting_currency,
        "rollup": settings.rollup,
    }


def build_dbt_assets() -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=prepare_manifest(),
        project=nrr_dbt_project,
        dagster_dbt_translator=NrrDbtTranslator(),
    )
    def arr_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, nrr: NrrSettingsResource
    ):
        """Build and test the ARR models; a failing dbt test stops the run."""
        settings = nrr.settings()
        with warehouse(settings, read_only=True) as con:
            as_of = run_as_of(settings, con)
        # dbt runs as a subprocess and inherits these (profiles.yml, macro run_setting).
        # Settings as environment variables rather than --vars, and the home's own target
        # folder, let dbt reuse the previous night's parse instead of parsing everything.
        os.environ["NRR_WAREHOUSE_PATH"] = str(settings.warehouse_path)
        for name, value in dbt_vars(settings, as_of).items():
            os.environ[f"NRR_DBT_{name.upper()}"] = str(value)
        # nrr-dbt exits if this process is gone before it is tied to it (see dbt_child).
        os.environ[PARENT_PID_VARIABLE] = str(os.getpid())
        # Unit tests check the SQL, not the data: CI runs them (tests/integration), nights don't.
        args = ["build", "--exclude-resource-type", "unit_test"]
        target_path = settings.home / "dbt_target"
        with out_of_disk_or_memory_not_retried():
            yield from dbt.cli(args, context=context, target_path=target_path).stream()

    return arr_models
