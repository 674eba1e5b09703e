"""`nrr run` as a person runs it: quiet progress, a summary of the published figures, the
full log in a file, one persistent Dagster instance, and a job that skips a published
delivery (a run launched again from the UI publishes no duplicate)."""

import re
from datetime import date
from decimal import Decimal

import dagster as dg
import pytest

from pipeline.cli import EXIT_OK, EXIT_REJECTED, main
from pipeline.progress import STAGES
from pipeline.run_summary import read_summary, summary_lines
from tests.integration.crafted import write_crafted_delivery
from tests.shared_runs import copy_run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def crafted_home(crafted_once, tmp_path_factory):
    """A home that ran the crafted delivery (2026-09-30) once, through `nrr run`."""
    root, code = crafted_once
    assert code == EXIT_OK
    return copy_run(root, tmp_path_factory.mktemp("cli-run")) / "home"


def run_logs(home):
    return sorted((home / "logs").glob("nrr-run-*.log"))


def test_the_run_wrote_the_full_dagster_and_dbt_log_to_a_file(crafted_home):
    (log,) = run_logs(crafted_home)
    text = log.read_text()
    assert 'Finished execution of step "arr_models"' in text
    assert "RUN_SUCCESS" in text
    assert "DEBUG" in text  # what the terminal no longer shows


def test_the_summary_holds_the_published_figures(crafted_home):
    """tests/integration/crafted.py by hand. Headline FY2026-Q3 (the latest complete quarter):
    - ending ARR at 2026-09-30: P 12,000 Automation + 24,000 Analytics (the discount ended
      2026-04-01) + E 12,000 EUR at 1.00 = 48,000, 2 customers (S churned 2026-04-01);
    - NRR = GRR = 48,000 / 48,000 (P 36,000 and E 12,000 at the start, nothing moved);
    - FY2026-Q2: start S 14,400 + P 33,600 + E 12,000 = 60,000; end 48,000: NRR 0.8, and
      GRR (60,000 - 14,400 churn) / 60,000 = 0.76, so +20.0 and +24.0 points;
    - TTM: the customers of 2025-09-30 (S 12,000, P 12,000, E 12,000 EUR at today's 1.00)
      now hold 0 + 36,000 + 12,000: NRR 48,000 / 36,000; GRR caps P at 12,000: 24,000 / 36,000.
    """
    summary = read_summary(crafted_home / "reports" / "latest")
    h, p = summary.headline, summary.previous
    assert (h.quarter, p.quarter) == ("FY2026-Q3", "FY2026-Q2")
    assert (h.end_arr, h.ending_customers) == (Decimal("48000"), 2)
    assert (h.nrr, h.grr, p.nrr, p.grr) == (1.0, 1.0, 0.8, 0.76)
    assert (h.ttm_nrr, h.ttm_grr) == (pytest.approx(48 / 36), pytest.approx(24 / 36))
    assert (summary.quarantined_rows, summary.quarantined_arr, summary.restatements) == (
        0,
        Decimal(0),
        0,
    )
    assert summary.folder == (crafted_home / "reports" / "2026-09-30").resolve()
    lines = summary_lines(summary)
    assert lines[1:6] == [
        "  TTM NRR 133.3 %   TTM GRR 66.7 %   (FY2026-Q3)",
        "  FY2026-Q3: NRR 100.0 % (+20.0 pts on FY2026-Q2)   GRR 100.0 % (+24.0 pts on FY2026-Q2)",
        "  Ending ARR 48,000.00 USD, 2 customers",
        "  Quarantined 0 rows, ARR 0.00 USD",
        "  Restatements of earlier reports: 0",
    ]


def test_every_dbt_model_asset_carries_its_description_and_column_docs():
    """dagster-dbt 0.29 shows a model's yml description (and its SQL) and every documented
    column's description (the column schema); a model without a yml description shows the
    comment its SQL opens with."""
    import json

    from pipeline.dbt_project import leading_comment
    from pipeline.definitions import build_definitions
    from pipeline.defs.dbt import prepare_manifest
    from pipeline.settings import Settings

    manifest = json.loads(prepare_manifest().read_text())
    # Every model is an asset when months are built (a quarter-only night leaves the monthly
    # ones out of its graph).
    defs = build_definitions(Settings(periods="quarter,month"))
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 10
    for model in models:
        spec = specs[dg.AssetKey(model["name"])]
        text = model["description"] or leading_comment(model["raw_code"])
        assert len(text) > 20, model["name"]  # every model says what it is
        assert spec.description.startswith(text), model["name"]
        documented = {c: v["description"] for c, v in model["columns"].items()}
        assert all(documented.values()), model["name"]  # every listed column is documented
        schema = spec.metadata.get("dagster/column_schema")
        shown = {c.name: c.description for c in schema.columns} if schema else {}
        assert shown == documented, model["name"]
    fct = specs[dg.AssetKey("fct_arr_bridge")]
    assert fct.description.startswith(manifest["nodes"]["model.nrr.fct_arr_bridge"]["description"])
    intermediate = specs[dg.AssetKey("int_billing_charges")].description
    assert intermediate.startswith(
        "The charges the marts value: those that passed every row rule (stg_billing__charges)\n"
        "less those the customer-level rules exclude (int_charge_exclusions, in the quarantine)."
    )


def test_a_rerun_is_quiet_ends_with_the_summary_and_joins_the_run_history(
    crafted_home, capsys, monkeypatch
):
    monkeypatch.chdir(crafted_home)
    extracts = crafted_home.parent / "extracts"
    code = main(["run", "--extracts", str(extracts), "--home", str(crafted_home), "--force"])
    out, err = capsys.readouterr()
    assert code == EXIT_OK
    assert err == ""
    lines = out.splitlines()
    assert len(lines) < 40
    assert "DEBUG" not in out and "dagster -" not in out
    assert lines[0].startswith("Running delivery 2026-09-30; full log: logs/nrr-run-")
    assert [line.split()[0] for line in lines[1:7]] == list(STAGES)
    assert re.match(r"  dbt +\d+\.\d s   \d+ models, \d+ tests", lines[3])
    age = (date.today() - date(2026, 9, 30)).days
    assert lines[7] == (
        f"Warning: The newest delivery, 2026-09-30, is {age} days old (NRR_FRESHNESS_DAYS is "
        "2): the extracts may have stopped arriving."
    )
    # The forced rebuild is published beside the first; the summary names its files.
    summary = read_summary(crafted_home / "reports" / "latest")
    assert summary.folder.name == "2026-09-30.2"
    assert lines[-9:] == ["", *summary_lines(summary)]
    assert lines[-2:] == [
        "  Page:     reports/2026-09-30.2/nrr_report.html",
        "  Workbook: reports/2026-09-30.2/nrr_report.xlsx",
    ]
    assert len(run_logs(crafted_home)) == 2

    # Both runs are in the home's instance: what `nrr ui` shows.
    with dg.DagsterInstance.from_config(str(crafted_home / "dagster")) as instance:
        runs = instance.get_runs()
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
        assert {r.job_name for r in runs} == {"nightly_nrr_job"}
        event = instance.get_latest_materialization_event(dg.AssetKey("published_report"))
        metadata = event.asset_materialization.metadata
    assert event.run_id == runs[0].run_id  # the newest run
    # Numbers the UI plots over runs: ratios as floats, counts as ints; money as exact text.
    assert isinstance(metadata["ttm_nrr"], dg.FloatMetadataValue)
    assert metadata["ttm_nrr"].value == pytest.approx(48 / 36)
    assert (metadata["nrr"].value, metadata["grr"].value) == (1.0, 1.0)
    assert isinstance(metadata["quarantined_rows"], dg.IntMetadataValue)
    assert metadata["quarantined_rows"].value == 0
    assert metadata["ending_customers"].value == 2
    assert metadata["ending_arr"].value == "48000.000000"
    assert metadata["rows_fct_arr_movements"].value == 14


def test_the_job_skips_a_delivery_that_is_already_published(crafted_home):
    """A run launched from the UI (the job itself, not `nrr run`'s own check) lands nothing
    and publishes no duplicate; config force: true is how a rebuild is asked for."""
    from pipeline.definitions import NIGHTLY_JOB, build_definitions, landing_run_config
    from pipeline.settings import Settings

    settings = Settings(home=crafted_home, extracts_dir=crafted_home.parent / "extracts")
    before = sorted(p.name for p in (crafted_home / "reports").iterdir())
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    with dg.DagsterInstance.from_config(str(crafted_home / "dagster")) as instance:
        result = job.execute_in_process(
            run_config=landing_run_config(None), instance=instance, raise_on_error=False
        )
        assert result.success
        (freshness,) = result.get_asset_check_evaluations()
        materialized = {
            e.asset_key for e in result.get_asset_materialization_events() if e.asset_key
        }
        skipped = {e.step_key for e in result.all_events if e.is_step_skipped}
    assert materialized == set()
    assert {"quarantine", "arr_models", "published_report"} <= skipped
    # A night with nothing new still says how old the newest delivery is (a warning).
    assert (freshness.check_name, freshness.passed) == ("delivery_freshness", False)
    assert freshness.severity == dg.AssetCheckSeverity.WARN
    assert freshness.description.startswith("The newest delivery, 2026-09-30, is ")
    assert sorted(p.name for p in (crafted_home / "reports").iterdir()) == before

    # The schedule skips the night, and its tick says how old the newest delivery is.
    schedule = build_definitions(settings).resolve_schedule_def("nightly_nrr_schedule")
    with dg.build_schedule_context() as context:
        tick = schedule.evaluate_tick(context)
    age = (date.today() - date(2026, 9, 30)).days
    assert tick.skip_message == (
        "Delivery 2026-09-30 is already published with these settings and this code "
        f"({crafted_home / 'reports' / 'latest'}); nothing to do. Use --force to rebuild it. "
        f"The newest delivery, 2026-09-30, is {age} days old (NRR_FRESHNESS_DAYS is 2): the "
        "extracts may have stopped arriving."
    )


def test_an_expected_error_is_one_paragraph_with_its_traceback_in_the_log(tmp_path, capsys):
    extracts, home = tmp_path / "extracts", tmp_path / "home"
    folder = write_crafted_delivery(extracts)
    (folder / "crm_accounts.csv").unlink()
    code = main(["run", "--extracts", str(extracts), "--home", str(home)])
    out, err = capsys.readouterr()
    assert code == EXIT_REJECTED
    assert err == (
        "Delivery 2026-09-30 is missing the crm_accounts extract "
        "(crm_accounts.csv or crm_accounts.parquet).\n"
    )
    assert "Traceback" not in out + err and "DEBUG" not in out + err
    (log,) = run_logs(home)
    text = log.read_text()
    assert "--- step land_delivery failed ---" in text
    assert "DeliveryRejected" in text and 'File "' in text  # the traceback is here
