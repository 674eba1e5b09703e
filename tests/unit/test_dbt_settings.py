"""Run settings as dbt reads them: built by pure functions, never left in os.environ."""

import os
from datetime import date

import pytest

from pipeline.dbt_project import (
    DBT_PROJECT_DIR,
    DbtBuild,
    dbt_build,
    dbt_environment,
    dbt_vars,
    project_vars,
    slice_dimensions,
    ttm_lookback_months,
    ttm_lookback_periods,
)
from pipeline.settings import Settings, SettingsError, settings_from_env


def test_the_dbt_environment_carries_every_run_setting_and_leaves_os_environ_alone(tmp_path):
    before = dict(os.environ)
    settings = Settings(
        home=tmp_path / "home",
        reporting_currency="EUR",
        fiscal_year_start_month=4,
        rollup="account",
    )
    environment = dbt_environment(settings, date(2026, 9, 30), parent_pid=4242)
    assert environment == {
        "NRR_WAREHOUSE_PATH": str(tmp_path / "home" / "warehouse.duckdb"),
        "NRR_DBT_AS_OF_DATE": "2026-09-30",
        "NRR_DBT_FISCAL_YEAR_START_MONTH": "4",
        "NRR_DBT_REPORTING_CURRENCY": "EUR",
        "NRR_DBT_ROLLUP": "account",
        "NRR_DBT_USAGE_ARR": "run_rate",
        "NRR_DBT_SIGNAL_HORIZON_DAYS": "90",
        "NRR_DBT_PARENT_PID": "4242",
    }
    # The same settings as --vars (dbt unit tests, Spark): one translation, two spellings.
    assert {
        f"NRR_DBT_{k.upper()}": str(v) for k, v in dbt_vars(settings, date(2026, 9, 30)).items()
    } == {k: v for k, v in environment.items() if k.startswith("NRR_DBT_") and "PID" not in k}
    assert dbt_build(settings).args == ("build", "--exclude-resource-type", "unit_test")
    assert dict(os.environ) == before


def test_the_dbt_build_is_a_function_of_the_settings_alone(monkeypatch, tmp_path):
    # Whatever the environment says, the settings decide: NRR_PERIODS is read once, into them.
    monkeypatch.setenv("NRR_PERIODS", "quarter,month")
    quarterly = dbt_build(Settings(home=tmp_path))
    assert quarterly == DbtBuild(
        args=("build", "--exclude-resource-type", "unit_test"),
        select="fqn:*",
        exclude="tag:monthly",
    )
    monkeypatch.setenv("NRR_PERIODS", "quarter")
    monthly = dbt_build(Settings(home=tmp_path, periods="month, quarter"))
    assert monthly == DbtBuild(
        args=("build", "--exclude-resource-type", "unit_test"), select="fqn:*", exclude=None
    )
    # The same builds on dbt's own command line (`nrr check` starts dbt without Dagster).
    assert quarterly.command() == [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        "fqn:*",
        "--exclude",
        "tag:monthly",
    ]
    assert monthly.command() == [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        "fqn:*",
    ]


def test_nrr_periods_is_quarter_or_quarter_and_month_in_any_order():
    assert settings_from_env({}).periods == "quarter"
    assert not settings_from_env({}).builds_months
    for given in ("quarter,month", "month,quarter", " Month , quarter ", "quarter,month,month"):
        settings = settings_from_env({"NRR_PERIODS": given})
        assert settings.periods == "quarter,month"  # stored normalised, as reports stamp it
        assert settings.as_record()["periods"] == "quarter,month"
        assert settings.builds_months
    assert settings_from_env({"NRR_PERIODS": " quarter "}).periods == "quarter"
    for bad in ("month", "", "year", "quarter,week", "quarterly", "quarter;month"):
        with pytest.raises(
            SettingsError, match="NRR_PERIODS must be one of 'quarter', 'quarter,month'"
        ):
            settings_from_env({"NRR_PERIODS": bad})


def test_the_dbt_subprocess_gets_the_settings_and_the_process_keeps_its_environment(
    monkeypatch, tmp_path
):
    from pipeline.defs.dbt import started_with

    monkeypatch.setenv("NRR_DBT_ROLLUP", "left over by someone else")
    monkeypatch.delenv("NRR_WAREHOUSE_PATH", raising=False)
    before = dict(os.environ)
    seen = {}
    with started_with({"NRR_DBT_ROLLUP": "account", "NRR_WAREHOUSE_PATH": "w.duckdb"}):
        # What dagster-dbt copies into the subprocess's environment when it starts dbt.
        seen = {k: os.environ.get(k) for k in ("NRR_DBT_ROLLUP", "NRR_WAREHOUSE_PATH")}
    assert seen == {"NRR_DBT_ROLLUP": "account", "NRR_WAREHOUSE_PATH": "w.duckdb"}
    assert dict(os.environ) == before


def test_python_reads_the_lists_the_dbt_project_declares(tmp_path):
    assert project_vars()["slice_dimensions"] == list(slice_dimensions())
    assert slice_dimensions() == ("segment", "region", "csm_owner", "industry")
    # TTM is declared once, in months; each grain derives its periods from it.
    assert ttm_lookback_months() == 12
    assert ttm_lookback_periods("quarter") == 4
    assert ttm_lookback_periods("month") == 12
    # The grains are declared once (var period_grains): dbt's period_grain macro and the
    # Polars reports' Grain read the same names.
    from pipeline.retention import MONTH, QUARTER

    grains = project_vars()["period_grains"]
    assert (QUARTER.index, QUARTER.label, QUARTER.spine) == (
        "quarter_index",
        "quarter_label",
        "int_fiscal_quarters",
    )
    assert (MONTH.label, MONTH.movements) == (
        grains["month"]["label"],
        grains["month"]["models"]["movements"],
    )
    grains_yml = "  period_grains:\n    quarter: {months: 3}\n    month: {months: 1}\n"
    other = tmp_path / "project"
    other.mkdir()
    (other / "dbt_project.yml").write_text(
        "name: x\nvars:\n  slice_dimensions: [industry]\n  ttm_lookback_months: 6\n" + grains_yml
    )
    assert slice_dimensions(other) == ("industry",)
    assert ttm_lookback_periods("quarter", other) == 2
    assert ttm_lookback_periods("month", other) == 6
    uneven = tmp_path / "uneven"
    uneven.mkdir()
    (uneven / "dbt_project.yml").write_text(
        "name: y\nvars:\n  ttm_lookback_months: 4\n" + grains_yml
    )
    with pytest.raises(ValueError, match="not a whole number of quarters"):
        ttm_lookback_periods("quarter", uneven)
    assert (DBT_PROJECT_DIR / "dbt_project.yml").exists()


def test_the_settings_resource_is_the_settings(tmp_path):
    from dataclasses import fields
    from decimal import Decimal

    from pipeline.defs.resources import NrrSettingsResource

    # One field per setting, none hand-written: a new Settings field is a new resource field.
    assert list(NrrSettingsResource.model_fields) == [f.name for f in fields(Settings)]
    assert NrrSettingsResource.model_fields["fiscal_year_start_month"].annotation is int
    assert NrrSettingsResource.model_fields["home"].is_required()
    settings = Settings(
        home=tmp_path / "home",
        extracts_dir=tmp_path / "extracts",
        fiscal_year_start_month=4,
        quarantine_arr_threshold=Decimal("12.50"),
        as_of=date(2026, 9, 30),
        max_row_bytes=1024,
        method_min_arr=Decimal("2500.50"),
    )
    resource = NrrSettingsResource.from_settings(settings)
    assert resource.fiscal_year_start_month == 4
    assert resource.quarantine_arr_threshold == "12.50"
    assert resource.method_min_arr == "2500.50"
    assert resource.settings() == settings
    # Configured by hand (dagster config): the unset settings take Settings' defaults.
    assert NrrSettingsResource(home=str(tmp_path), extracts_dir=str(tmp_path)).settings() == (
        Settings(home=tmp_path, extracts_dir=tmp_path)
    )


def test_the_methods_minimum_arr_is_a_setting():
    from decimal import Decimal

    import pytest

    from pipeline.settings import SettingsError, settings_from_env

    assert settings_from_env({}).method_min_arr == Decimal("10000")
    assert settings_from_env({"NRR_METHOD_MIN_ARR": "2500.50"}).method_min_arr == Decimal("2500.50")
    assert settings_from_env({}).as_record()["method_min_arr"] == "10000"  # as reports stamp it
    for bad in ("ten thousand", "NaN", "-1"):
        with pytest.raises(SettingsError, match="NRR_METHOD_MIN_ARR must be"):
            settings_from_env({"NRR_METHOD_MIN_ARR": bad})


def test_the_usage_arr_policy_is_a_setting_dbt_reads():
    import pytest

    from pipeline.settings import SettingsError, settings_from_env

    assert settings_from_env({}).usage_arr == "run_rate"  # today's rule: no figure changes
    for policy in ("run_rate", "trailing_3_period_average", "exclude"):
        settings = settings_from_env({"NRR_USAGE_ARR": policy})
        assert settings.usage_arr == policy
        assert settings.as_record()["usage_arr"] == policy  # as reports stamp it
        assert dbt_vars(settings, date(2026, 9, 30))["usage_arr"] == policy
        assert dbt_environment(settings, date(2026, 9, 30), 1)["NRR_DBT_USAGE_ARR"] == policy
    for bad in ("trailing", "RUN_RATE", ""):
        with pytest.raises(
            SettingsError,
            match="NRR_USAGE_ARR must be one of run_rate, trailing_3_period_average, exclude, "
            f"got '{bad}'",
        ):
            settings_from_env({"NRR_USAGE_ARR": bad})


def test_a_report_records_every_setting(tmp_path):
    """report_settings (and manifest.json's copy) carry every Settings field, so a new setting
    is stamped on every report without being listed anywhere."""
    from dataclasses import fields

    from pipeline.publishing import report_settings

    settings = Settings(home=tmp_path / "home", usage_arr="exclude")
    recorded = report_settings(settings, date(2026, 9, 30), date(2026, 10, 1))
    assert {f.name for f in fields(Settings)} <= set(recorded)
    assert recorded["usage_arr"] == "exclude"
    assert (recorded["as_of"], recorded["delivery_date"]) == ("2026-09-30", "2026-10-01")


def test_the_watchlist_settings_are_read_checked_and_reach_dbt():
    from decimal import Decimal

    settings = settings_from_env(
        {"NRR_SIGNAL_USAGE_DROP": "0.35", "NRR_SIGNAL_HORIZON_DAYS": "30", "NRR_SPRINT_SIZE": "5"}
    )
    assert (settings.signal_usage_drop, settings.signal_horizon_days, settings.sprint_size) == (
        Decimal("0.35"),
        30,
        5,
    )
    assert dbt_vars(settings, date(2026, 9, 30))["signal_horizon_days"] == 30
    defaults = settings_from_env({})
    assert (defaults.signal_usage_drop, defaults.signal_horizon_days, defaults.sprint_size) == (
        Decimal("0.20"),
        90,
        20,
    )
    for name, value in (
        ("NRR_SIGNAL_USAGE_DROP", "1.5"),
        ("NRR_SIGNAL_USAGE_DROP", "a fifth"),
        ("NRR_SIGNAL_HORIZON_DAYS", "-1"),
        ("NRR_SPRINT_SIZE", "0"),
    ):
        with pytest.raises(SettingsError, match=name):
            settings_from_env({name: value})
