"""What Python reads from the dbt project: its vars and the models' meta (no Dagster here).

The dbt project declares the lists both engines use, once: the slice dimensions and the TTM
lookback in months (vars in dbt_project.yml), and which marts are published (model meta, read
from the manifest; the monthly ones, tagged `monthly`, only when NRR_PERIODS builds months).
This module is the one place Python reads them, and the one place the run settings are
translated into what dbt reads and runs (dbt_vars, dbt_environment, dbt_build).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.dbt_child import PARENT_PID_VARIABLE
from pipeline.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
# The manifest the Dagster assets are built from (pipeline.defs.dbt prepares it).
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# The tag of the monthly grain's models and tests (built when NRR_PERIODS asks for months).
MONTHLY_TAG = "monthly"
# Months per period of each grain (macro period_grain in dbt_project/macros/periods.sql).


@dataclass(frozen=True)
class DbtBuild:
    """What a night runs in dbt: the command (models and data tests; unit tests check the SQL,
    CI runs them) and the selection of the dbt assets (@dbt_assets select/exclude: dagster-dbt
    passes them to dbt as --select/--exclude, so the assets and the command always agree)."""

    args: tuple[str, ...]
    select: str
    exclude: str | None

    def command(self) -> list[str]:
        """The same build as dbt's own command line takes it (what dagster-dbt runs for the
        dbt assets), for a dbt started without Dagster (`nrr check`)."""
        exclude = ["--exclude", self.exclude] if self.exclude else []
        return [*self.args, "--select", self.select, *exclude]


def dbt_build(settings: Settings) -> DbtBuild:
    """The dbt build of a night with these settings: every model and test, less the monthly
    ones (tag monthly) unless NRR_PERIODS is quarter,month. A pure function of the settings."""
    return DbtBuild(
        args=("build", "--exclude-resource-type", "unit_test"),
        select="fqn:*",
        exclude=None if settings.builds_months else f"tag:{MONTHLY_TAG}",
    )


def dbt_executable() -> str:
    """`nrr-dbt` (dbt that dies with the run, pipeline/dbt_child.py) beside this interpreter,
    else the one on PATH."""
    beside = Path(sys.executable).parent / "nrr-dbt"
    return str(beside) if beside.exists() else (shutil.which("nrr-dbt") or "nrr-dbt")


@cache
def project_vars(project_dir: Path = DBT_PROJECT_DIR) -> Mapping[str, Any]:
    """The vars declared in dbt_project.yml (plain values, no Jinja)."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    return project.get("vars") or {}


def slice_dimensions(project_dir: Path = DBT_PROJECT_DIR) -> tuple[str, ...]:
    """The CRM columns every mart carries and every report is cut by (var slice_dimensions)."""
    return tuple(project_vars(project_dir)["slice_dimensions"])


def period_grains(project_dir: Path = DBT_PROJECT_DIR) -> Mapping[str, Mapping[str, Any]]:
    """The reporting grains by name (var period_grains): each one's columns and models, as the
    dbt macro period_grain reads them."""
    return project_vars(project_dir)["period_grains"]


def ttm_lookback_months(project_dir: Path = DBT_PROJECT_DIR) -> int:
    """How many months back TTM compares with (var ttm_lookback_months, declared once)."""
    return int(project_vars(project_dir)["ttm_lookback_months"])


def ttm_lookback_periods(grain: str, project_dir: Path = DBT_PROJECT_DIR) -> int:
    """How many periods of the grain back TTM compares with: 4 quarters, 12 months (the
    macro ttm_lookback_periods derives the same)."""
    months, per_period = (
        ttm_lookback_months(project_dir),
        period_grains(project_dir)[grain]["months"],
    )
    if months % per_period:
        raise ValueError(f"ttm_lookback_months ({months}) is not a whole number of {grain}s")
    return months // per_period


@cache
def published_marts(manifest_path: Path = MANIFEST_PATH, months: bool = False) -> dict[str, str]:
    """dbt models with meta published: true -> their row order (meta order_by), by name; the
    monthly ones (tag monthly) only when months are built (NRR_PERIODS=quarter,month)."""
    manifest = json.loads(Path(manifest_path).read_text())
    return {
        node["name"]: node["config"]["meta"]["order_by"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("meta", {}).get("published")
        and (months or MONTHLY_TAG not in node.get("tags", []))
    }


def dbt_vars(settings: Settings, as_of: date) -> dict[str, str | int]:
    """The run settings dbt reads (macro run_setting), by their dbt names: the one place the
    pipeline's settings are translated for dbt."""
    return {
        "as_of_date": as_of.isoformat(),
        "fiscal_year_start_month": settings.fiscal_year_start_month,
        "reporting_currency": settings.reporting_currency,
        "rollup": settings.rollup,
        "usage_arr": settings.usage_arr,
        "signal_horizon_days": settings.signal_horizon_days,
    }


def dbt_environment(settings: Settings, as_of: date, parent_pid: int) -> dict[str, str]:
    """The variables the dbt subprocess needs beyond the inherited environment: the warehouse
    (profiles.yml), the run settings as NRR_DBT_<NAME> (macro run_setting) and the parent's
    pid (dbt_child). Environment variables rather than --vars: a changed --vars value makes
    dbt parse the whole project again, an env var read at compile time does not."""
    run_settings = dbt_vars(settings, as_of)
    return {
        "NRR_WAREHOUSE_PATH": str(settings.warehouse_path),
        **{f"NRR_DBT_{name.upper()}": str(value) for name, value in run_settings.items()},
        PARENT_PID_VARIABLE: str(parent_pid),
    }


def built_in_run(run_results: Mapping[str, Any], model: str) -> bool:
    """Whether dbt built `model` in the invocation whose run_results.json this is (a table
    left by an earlier night says nothing about this one)."""
    return any(
        result.get("unique_id", "").split(".")[-1] == model
        and result.get("unique_id", "").startswith("model.")
        and result.get("status") == "success"
        for result in run_results.get("results", [])
    )


def leading_comment(sql: str) -> str:
    """The `--` comment a model's SQL opens with (after its `{{ config(...) }}` line), as
    text: what every model says it is. The comment on the config line itself is a note on
    materialisation, not a description, and is left out."""
    lines = sql.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("{{ config(")):
        lines.pop(0)
    comment = []
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        comment.append(stripped[2:].removeprefix(" "))
    return "\n".join(comment).strip()
