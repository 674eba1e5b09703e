"""The Dagster code location loads and links landing, quarantine and dbt assets."""

import dagster as dg
import pytest

from pipeline.definitions import NIGHTLY_JOB, build_definitions, defs
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_definitions_load_with_job_and_schedule():
    assert defs.resolve_job_def(NIGHTLY_JOB).name == NIGHTLY_JOB
    schedule = defs.resolve_schedule_def("nightly_nrr_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == NIGHTLY_JOB


def test_dbt_sources_are_the_landing_assets():
    graph = defs.resolve_asset_graph()
    staging = graph.get(dg.AssetKey("stg_billing__charges"))
    # Staging reads the typed checked table the quarantine step writes from the raw one.
    assert staging.parent_keys == {dg.AssetKey(["raw", "checked_billing_charges"])}
    # dbt's quarantine values the row rules' rejects beside the customer-level rules' rows
    # (with their raw values from the landed extract).
    assert {
        dg.AssetKey(["raw", "quarantine_rejects"]),
        dg.AssetKey(["raw", "billing_charges"]),
        dg.AssetKey("int_charge_exclusions"),
    } <= graph.get(dg.AssetKey("quarantine")).parent_keys
    assert graph.get(dg.AssetKey(["raw", "checked_billing_charges"])).parent_keys == {
        dg.AssetKey(["raw", "billing_charges"])
    }
    assert graph.get(dg.AssetKey(["raw", "billing_charges"])).is_materializable


def test_schedule_time_zone_comes_from_settings():
    local = build_definitions(Settings(schedule_timezone="Europe/Berlin"))
    assert local.resolve_schedule_def("nightly_nrr_schedule").execution_timezone == "Europe/Berlin"


def test_the_publish_step_waits_for_every_published_table():
    from pipeline.publishing import published_tables

    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey("published_report")).parent_keys
    # The same declarations as what publishing copies (dim_customers had drifted out once).
    expected = {dg.AssetKey(name) for name in published_tables()}
    assert parents == expected
    assert dg.AssetKey("dim_customers") in parents


def test_the_retention_reports_read_the_bridge():
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("fct_arr_bridge") in graph.get(dg.AssetKey("rpt_nrr_quarterly")).parent_keys


def test_the_dbt_resource_builds_no_dbt_adapter_in_the_run_process():
    """dagster-dbt would load dbt's profile, an adapter and dbt's macros in the run's process
    before every dbt command (2-3 s), only for row counts and column metadata the pipeline
    does not fetch; dbt itself runs in its own process (nrr-dbt)."""
    from dagster_dbt import DbtCliResource

    assert hasattr(DbtCliResource, "_initialize_dbt_core_adapter")  # the hook dagster-dbt calls
    assert defs.resources["dbt"]._initialize_dbt_core_adapter(["build"]) is None


def test_the_monthly_assets_exist_only_when_months_are_built(tmp_path):
    """NRR_PERIODS=quarter: no monthly dbt model, report or check in the graph, so a
    quarter-only run neither builds nor waits for one; quarter,month: they are assets, the
    publish step waits for the monthly tables, and their suites block it."""
    from pipeline.publishing import published_tables

    monthly = {
        "int_fiscal_months",
        "fct_arr_movements_monthly",
        "fct_arr_bridge_monthly",
        "rpt_nrr_monthly",
        "rpt_cohort_retention_monthly",
    }
    quarterly = build_definitions(Settings(home=tmp_path)).resolve_asset_graph()
    assert not {dg.AssetKey(name) for name in monthly} & set(quarterly.get_all_asset_keys())
    both = build_definitions(Settings(home=tmp_path, periods="quarter,month"))
    graph = both.resolve_asset_graph()
    assert {dg.AssetKey(name) for name in monthly} <= set(graph.get_all_asset_keys())
    parents = graph.get(dg.AssetKey("published_report")).parent_keys
    assert parents == {dg.AssetKey(name) for name in published_tables(months=True)}
    assert dg.AssetKey("fct_arr_movements_monthly") in parents
    assert set(published_tables(months=True)) - set(published_tables()) == {
        "fct_arr_movements_monthly",
        "fct_arr_bridge_monthly",
        "rpt_nrr_monthly",
        "rpt_cohort_retention_monthly",
    }
    # rpt_nrr_methods reads the monthly marts for ttm_weighted_monthly.
    assert dg.AssetKey("int_customer_restated_arr_monthly") in (
        graph.get(dg.AssetKey("rpt_nrr_methods")).parent_keys
    )
    checks = {key.name for key in graph.asset_check_keys}
    assert {"rpt_nrr_quarterly_month_expectations", "fct_arr_bridge_month_expectations"} <= checks
    assert "rpt_nrr_quarterly_month_expectations" not in {
        key.name for key in quarterly.asset_check_keys
    }
