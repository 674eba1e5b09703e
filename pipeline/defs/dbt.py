"""The dbt project as Dagster assets: one DbtProject, one translator.

dbt source keys (raw/<table>) equal the landing and quarantine assets' keys, so the graph
links on its own: staging reads the typed checked tables (raw/checked_<extract>); dbt's
model `quarantine` values the row rules' rejects (raw/quarantine_rejects) beside the rows the
customer-level rules exclude; its blocking check (the gate) runs after dbt and before
publishing. A delivery with no ARR to report is rejected here, after dbt (pipeline/gate.py).
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from pipeline.dbt_project import (
    DBT_PROJECT_DIR,
    built_in_run,
    dbt_build,
    dbt_environment,
    leading_comment,
)
from pipeline.defs.guards import out_of_disk_or_memory_not_retried
from pipeline.defs.resources import NrrSettingsResource
from pipeline.gate import no_arr_rejection
from pipeline.settings import Settings
from pipeline.warehouse import run_as_of, warehouse

nrr_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest() -> Path:
    """Parse the dbt project once when no manifest exists yet (first run after install)."""
    if not nrr_dbt_project.manifest_path.exists():
        nrr_dbt_project.preparer.prepare(nrr_dbt_project)
    return nrr_dbt_project.manifest_path


class NrrDbtTranslator(DagsterDbtTranslator):
    """Groups models by their folder: staging, intermediate, marts. A model without a yml
    description is described by the comment its SQL opens with (every intermediate model
    has one), followed by its SQL as dagster-dbt shows it; columns documented in yml show
    with their descriptions (dagster-dbt's column schema)."""

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        if dbt_resource_props.get("description") or dbt_resource_props["resource_type"] != "model":
            return super().get_description(dbt_resource_props)
        comment = leading_comment(dbt_resource_props.get("raw_code") or "")
        return super().get_description({**dbt_resource_props, "description": comment})

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        fqn = dbt_resource_props.get("fqn", [])
        return f"dbt_{fqn[1]}" if len(fqn) > 2 else "dbt"


@contextmanager
def started_with(environment: Mapping[str, str]) -> Iterator[None]:
    """While dagster-dbt starts the dbt subprocess: DbtCliResource.cli (dagster-dbt 0.29) has
    no env argument and gives the subprocess a copy of os.environ taken when it starts it.
    The variables are there only for that call and removed (or restored) on exit, so the rest
    of the process never sees them."""
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_dbt_assets(settings: Settings) -> dg.AssetsDefinition:
    """The dbt models and tests a night with these settings builds (dbt_build): the monthly
    ones (tag monthly) are assets only when NRR_PERIODS builds months, so a quarter-only run
    neither runs nor waits for them. The manifest, parsed once, holds every model."""
    build = dbt_build(settings)

    @dbt_assets(
        manifest=prepare_manifest(),
        project=nrr_dbt_project,
        dagster_dbt_translator=NrrDbtTranslator(),
        select=build.select,
        exclude=build.exclude,
    )
    def arr_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, nrr: NrrSettingsResource
    ):
        """Build and test the ARR models; a failing dbt test stops the run. A delivery with
        no ARR to report fails its marts' tests: it is rejected, saying why."""
        settings = nrr.settings()
        with warehouse(settings, read_only=True) as con:
            as_of = run_as_of(settings, con)
        # The home's own target folder lets dbt reuse the previous night's parse.
        target_path = settings.home / "dbt_target"
        with out_of_disk_or_memory_not_retried():
            with started_with(dbt_environment(settings, as_of, os.getpid())):
                invocation = dbt.cli(list(build.args), context=context, target_path=target_path)
            try:
                yield from invocation.stream()
            except DagsterDbtCliRuntimeError:
                if built_in_run(invocation.get_artifact("run_results.json"), "delivery_arr"):
                    with warehouse(settings, read_only=True) as con:
                        rejection = no_arr_rejection(con, as_of)
                    if rejection:
                        raise dg.Failure(
                            description=str(rejection), allow_retries=False
                        ) from rejection
                raise

    return arr_models
