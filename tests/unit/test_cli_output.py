"""The quiet terminal of `nrr run`: one line per stage, the closing summary, the settings
and files `nrr ui` and the persistent Dagster instance use (no pipeline run here)."""

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.cli import ui_command
from pipeline.instance import DEFAULT_DAGSTER_YAML, ensure_dagster_home
from pipeline.nightly import delivery_freshness
from pipeline.progress import STAGES, StageProgress, stage_of
from pipeline.run_summary import QuarterFigures, RunSummary, summary_lines
from pipeline.settings import Settings, SettingsError, settings_from_env


@dataclass
class Check:
    passed: bool
    severity: str = "ERROR"
    description: str = ""
    check_name: str = "a_check"


@dataclass
class Event:
    event_type_value: str
    step_key: str
    event_specific_data: object = None


@dataclass
class Entry:
    dagster_event: Event


STEPS = [
    "land_delivery",
    "raw__fx_rates_raw__fx_rates_expectations",
    "quarantine",
    "arr_models",
    "retention_reports",
    "rpt_nrr_quarterly_rpt_nrr_quarterly_expectations",
    "published_report",
]


def test_every_step_of_the_job_has_a_stage():
    assert [stage_of(step) for step in STEPS] == [
        "landing",
        "checks",
        "quarantine",
        "dbt",
        "reports",
        "checks",
        "publishing",
    ]


def run_events(progress: StageProgress, failing: str | None = None) -> None:
    for step in STEPS:
        progress.on_event(Entry(Event("STEP_START", step)))
        if step == "arr_models":
            progress.on_event(Entry(Event("ASSET_MATERIALIZATION", step)))
            progress.on_event(Entry(Event("ASSET_CHECK_EVALUATION", step, Check(True))))
            progress.on_event(Entry(Event("ASSET_CHECK_EVALUATION", step, Check(True))))
        if step.endswith("_expectations"):
            progress.on_event(Entry(Event("ASSET_CHECK_EVALUATION", step, Check(True))))
        if step == "land_delivery":  # it evaluates the freshness check itself
            stale = Check(False, "WARN", "The newest delivery, 2026-09-30, is 54 days old.")
            progress.on_event(Entry(Event("ASSET_CHECK_EVALUATION", step, stale)))
        if step == failing:
            progress.on_event(Entry(Event("STEP_FAILURE", step)))
            return
        progress.on_event(Entry(Event("STEP_SUCCESS", step)))


def test_one_line_per_stage_in_the_order_they_finish():
    out = io.StringIO()
    progress = StageProgress(out, STEPS)
    run_events(progress)
    lines = out.getvalue().splitlines()
    # The checks run between the other stages; their line comes when the last one ended.
    assert [line.split()[0] for line in lines] == list(STAGES)
    dbt = next(line for line in lines if line.split()[0] == "dbt")
    assert "1 models, 2 tests" in dbt
    landing = next(line for line in lines if line.split()[0] == "landing")
    assert "done, 1 warning" in landing  # the stale delivery warns, never fails
    checks = next(line for line in lines if line.split()[0] == "checks")
    assert "2 checks passed" in checks and "warning" not in checks
    assert all(" s " in line and "(at " in line for line in lines)
    assert progress.warnings == ["The newest delivery, 2026-09-30, is 54 days old."]


def test_a_failed_stage_is_shown_at_once_and_later_stages_not_at_all():
    out = io.StringIO()
    run_events(StageProgress(out, STEPS), failing="arr_models")
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["landing", "quarantine", "dbt"]
    assert "failed" in lines[-1]


def crafted_summary(tmp_path: Path) -> RunSummary:
    """tests/integration/crafted.py's figures (computed by hand in test_cli_run.py)."""
    return RunSummary(
        folder=tmp_path / "reports" / "2026-09-30",
        as_of="2026-09-30",
        delivery="2026-09-30",
        currency="USD",
        headline=QuarterFigures("FY2026-Q3", 1.0, 1.0, 4 / 3, 2 / 3, Decimal("48000.000000"), 2),
        previous=QuarterFigures("FY2026-Q2", 0.8, 0.76, None, None, Decimal("48000"), 2),
        quarantined_rows=1234,
        quarantined_arr=Decimal("1234567.891"),
        restatements=3,
    )


def test_the_summary_shows_the_headline_the_change_and_the_paths(tmp_path):
    lines = summary_lines(crafted_summary(tmp_path))
    folder = tmp_path / "reports" / "2026-09-30"
    assert lines == [
        "Report as of 2026-09-30 (delivery 2026-09-30)",
        "  TTM NRR 133.3 %   TTM GRR 66.7 %   (FY2026-Q3)",
        "  FY2026-Q3: NRR 100.0 % (+20.0 pts on FY2026-Q2)   GRR 100.0 % (+24.0 pts on FY2026-Q2)",
        "  Ending ARR 48,000.00 USD, 2 customers",
        "  Quarantined 1,234 rows, ARR 1,234,567.89 USD",
        "  Restatements of earlier reports: 3",
        f"  Page:     {folder / 'nrr_report.html'}",
        f"  Workbook: {folder / 'nrr_report.xlsx'}",
    ]


def test_a_first_quarter_has_no_change_to_show(tmp_path):
    summary = crafted_summary(tmp_path)
    first = RunSummary(**{**summary.__dict__, "previous": None})
    assert summary_lines(first)[2] == "  FY2026-Q3: NRR 100.0 %   GRR 100.0 %"


def test_nrr_ui_binds_to_localhost_on_the_homes_instance(tmp_path):
    settings = Settings(home=tmp_path / "home", extracts_dir=tmp_path / "extracts")
    argv, env = ui_command(settings, 3123)
    assert argv[1:] == [
        "dev",
        "--module-name",
        "pipeline.definitions",
        "--host",
        "127.0.0.1",
        "--port",
        "3123",
    ]
    assert env["DAGSTER_HOME"] == str(tmp_path / "home" / "dagster")
    assert env["NRR_HOME"] == str(tmp_path / "home")
    assert env["NRR_EXTRACTS_DIR"] == str(tmp_path / "extracts")
    assert (tmp_path / "home" / "dagster" / "dagster.yaml").read_text() == DEFAULT_DAGSTER_YAML


def test_the_dagster_yaml_is_written_once_and_never_overwritten(tmp_path):
    folder = ensure_dagster_home(tmp_path)
    assert folder == tmp_path / "dagster"
    assert "/" not in DEFAULT_DAGSTER_YAML.replace("pipeline/instance.py", "")  # no paths
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    ensure_dagster_home(tmp_path)
    assert (folder / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


@pytest.mark.parametrize(
    ("today", "fresh", "age"),
    [(date(2026, 10, 2), True, 2), (date(2026, 10, 3), False, 3)],
)
def test_the_freshness_check_warns_after_the_setting(tmp_path, today, fresh, age):
    for name in ("2026-09-29", "2026-09-30", "not-a-delivery"):
        (tmp_path / name).mkdir()
    result = delivery_freshness(Settings(extracts_dir=tmp_path), today)
    assert (result.fresh, result.newest, result.age_days) == (fresh, "2026-09-30", age)
    if not fresh:
        assert result.message == (
            "The newest delivery, 2026-09-30, is 3 days old (NRR_FRESHNESS_DAYS is 2): the "
            "extracts may have stopped arriving."
        )


def test_no_delivery_at_all_is_not_fresh(tmp_path):
    result = delivery_freshness(Settings(extracts_dir=tmp_path / "none"), date(2026, 10, 1))
    assert (result.fresh, result.newest) == (False, None)


def test_the_freshness_setting():
    assert settings_from_env({}).freshness_days == 2
    assert settings_from_env({"NRR_FRESHNESS_DAYS": "7"}).freshness_days == 7
    with pytest.raises(SettingsError, match="NRR_FRESHNESS_DAYS must be a whole number"):
        settings_from_env({"NRR_FRESHNESS_DAYS": "two"})
    with pytest.raises(SettingsError, match="NRR_FRESHNESS_DAYS must be >= 0"):
        Settings(freshness_days=-1)


def test_the_log_file_takes_everything_printed_and_verbose_echoes_it(tmp_path):
    import sys

    from pipeline.cli import log_to_file

    quiet, echo = tmp_path / "logs" / "quiet.log", io.StringIO()
    with log_to_file(quiet):
        print("DEBUG step started")
        print("Traceback (most recent call last):", file=sys.stderr)
    with log_to_file(tmp_path / "logs" / "verbose.log", echo):
        print("DEBUG step started")
    assert quiet.read_text() == "DEBUG step started\nTraceback (most recent call last):\n"
    assert (tmp_path / "logs" / "verbose.log").read_text() == "DEBUG step started\n"
    assert echo.getvalue() == "DEBUG step started\n"
