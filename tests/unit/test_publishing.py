"""Publishing primitives: the atomic latest switch, immutable folders, the run identity."""

import json
import os
from datetime import date
from decimal import Decimal

import pytest

from pipeline.publishing import (
    HISTORY,
    _free_name,
    already_published,
    apply_sharing,
    portable_record,
    remove_crash_leftovers,
    run_identity,
    switch_latest,
)
from pipeline.settings import Settings


def test_latest_switches_to_the_new_folder_and_leaves_the_old_one(tmp_path):
    old, new = tmp_path / "2026-09-30", tmp_path / "2026-10-01"
    old.mkdir()
    new.mkdir()
    switch_latest(tmp_path, old)
    switch_latest(tmp_path, new)
    assert os.readlink(tmp_path / "latest") == "2026-10-01"
    assert old.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-09-30",
        "2026-10-01",
        "latest",
        "published.jsonl",
    ]
    history = [json.loads(line)["folder"] for line in (tmp_path / HISTORY).read_text().splitlines()]
    assert history == ["2026-09-30", "2026-10-01"]


def test_crash_leftovers_go_and_every_complete_folder_stays(tmp_path):
    for name in ("2026-06-30", "2026-09-30", "2026-10-31"):
        (tmp_path / name).mkdir()
    switch_latest(tmp_path, tmp_path / "2026-06-30")
    switch_latest(tmp_path, tmp_path / "2026-09-30")
    (tmp_path / ".staging-run-1" / "data_docs").mkdir(parents=True)  # killed while writing
    (tmp_path / ".latest-4242").symlink_to("2026-10-31")  # killed before the switch
    # 2026-10-31 was renamed into place but the run died before `latest` pointed at it: it
    # is complete, so it stays (a reader may have found it), and its name is taken.
    remove_crash_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-06-30",
        "2026-09-30",
        "2026-10-31",
        "latest",
        "published.jsonl",
    ]
    assert _free_name(tmp_path, date(2026, 10, 31)).name == "2026-10-31.2"


def test_a_home_without_history_keeps_every_folder_it_has(tmp_path):
    for name in ("2026-06-30", "2026-09-30"):
        (tmp_path / name).mkdir()
    (tmp_path / "latest").symlink_to("2026-09-30")
    remove_crash_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-06-30", "2026-09-30", "latest"]


def test_a_date_published_twice_gets_a_new_folder_never_the_old_one(tmp_path):
    assert _free_name(tmp_path, date(2026, 9, 30)).name == "2026-09-30"
    (tmp_path / "2026-09-30").mkdir()
    assert _free_name(tmp_path, date(2026, 9, 30)).name == "2026-09-30.2"
    (tmp_path / "2026-09-30.2").mkdir()
    assert _free_name(tmp_path, date(2026, 9, 30)).name == "2026-09-30.3"


def test_a_name_in_the_history_is_never_reused_even_when_its_folder_is_gone(tmp_path):
    (tmp_path / HISTORY).write_text('{"folder": "2026-09-30"}\n{"folder": "2026-09-30.2"}\n')
    assert _free_name(tmp_path, date(2026, 9, 30)).name == "2026-09-30.3"


def test_the_history_line_is_on_disk_before_latest_moves(tmp_path, monkeypatch):
    import pipeline.publishing as publishing

    (tmp_path / "2026-09-30").mkdir()

    def replace_fails(*args):
        raise OSError("killed before the switch")

    monkeypatch.setattr(publishing.os, "replace", replace_fails)
    with pytest.raises(OSError):
        switch_latest(tmp_path, tmp_path / "2026-09-30")
    assert not (tmp_path / "latest").exists()
    line = json.loads((tmp_path / HISTORY).read_text())
    assert line["folder"] == "2026-09-30"
    assert "about_to_be_shown_at" in line


def test_already_published_compares_delivery_content_and_settings(tmp_path):
    settings = Settings(home=tmp_path)
    files = [
        {"extract": "billing_charges", "sha256": "aa"},
        {"extract": "crm_accounts", "sha256": "bb"},
    ]
    assert not already_published(settings, date(2026, 9, 30), files)
    latest = settings.reports_dir / "2026-09-30"
    latest.mkdir(parents=True)
    (latest / "manifest.json").write_text(
        json.dumps({"identity": run_identity(settings, date(2026, 9, 30), files)})
    )
    switch_latest(settings.reports_dir, latest)
    assert already_published(settings, date(2026, 9, 30), list(reversed(files)))
    changed = [files[0], {"extract": "crm_accounts", "sha256": "cc"}]
    assert not already_published(settings, date(2026, 9, 30), changed)
    assert not already_published(settings, date(2026, 10, 1), files)
    other_settings = Settings(home=tmp_path, fiscal_year_start_month=2)
    assert not already_published(other_settings, date(2026, 9, 30), files)


def test_settings_record_absolute_paths_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record = Settings(home=".nrr", extracts_dir="extracts").as_record()
    assert record["home"] == str(tmp_path / ".nrr")
    assert record["extracts_dir"] == str(tmp_path / "extracts")


def test_a_report_records_paths_relative_to_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(home="srv/nrr/home", extracts_dir="srv/extracts")
    record = portable_record(settings)
    assert (record["home"], record["extracts_dir"]) == (".", "../../extracts")
    assert str(tmp_path) not in json.dumps(record)
    assert str(tmp_path) not in json.dumps(run_identity(settings, date(2026, 9, 30), []))
    # From another working directory, the same layout gives the same record (and identity).
    (tmp_path / "srv").mkdir()
    monkeypatch.chdir(tmp_path / "srv")
    assert portable_record(Settings(home="nrr/home", extracts_dir="extracts")) == record


@pytest.mark.parametrize(
    ("share_with", "file_mode", "marts_mode", "folder_mode"),
    [
        ("owner", 0o600, 0o400, 0o700),
        ("group", 0o640, 0o440, 0o750),
        ("everyone", 0o644, 0o444, 0o755),
    ],
)
def test_report_files_get_the_sharing_modes_whatever_the_umask(
    tmp_path, share_with, file_mode, marts_mode, folder_mode
):
    folder = tmp_path / "report"
    (folder / "data_docs" / "static").mkdir(parents=True)
    for path in (
        folder / "marts.duckdb",
        folder / "manifest.json",
        folder / "data_docs" / "static" / "style.css",
    ):
        path.write_text("x")
        path.chmod(0o666)  # what a umask of 000 gives
    (folder / "data_docs").chmod(0o777)
    apply_sharing(folder, Settings(home=tmp_path, share_with=share_with))
    modes = {
        str(p.relative_to(tmp_path)): p.stat().st_mode & 0o777 for p in (folder, *folder.rglob("*"))
    }
    assert modes == {
        "report": folder_mode,
        "report/data_docs": folder_mode,
        "report/data_docs/static": folder_mode,
        "report/data_docs/static/style.css": file_mode,
        "report/manifest.json": file_mode,
        "report/marts.duckdb": marts_mode,
    }


def test_restated_ratios_are_shown_as_ratios_and_money_as_money():
    import polars as pl

    from pipeline.report_views import _restatements_for_display

    money = pl.Decimal(38, 6)
    frame = pl.DataFrame(
        {
            "quarter_label": ["FY2025-Q4", "FY2025-Q4"],
            "dimension": ["all", "all"],
            "dimension_value": ["all", "all"],
            "metric": ["end_arr", "nrr"],
            "change": ["restated", "restated"],
            "previous_value": [Decimal("62400"), Decimal("1.625")],
            "new_value": [Decimal("63600"), Decimal("1.65625")],
            "difference": [Decimal("1200"), Decimal("0.03125")],
            "previous_as_of": [date(2026, 9, 30)] * 2,
        },
        schema_overrides={c: money for c in ("previous_value", "new_value", "difference")},
    )
    shown = _restatements_for_display(frame)
    assert shown.select("difference", "ratio_difference").rows() == [
        (Decimal("1200"), None),
        (None, 0.03125),
    ]
    assert shown.schema["difference"] == money
    assert shown.schema["ratio_difference"] == pl.Float64


def test_a_previous_report_without_report_settings_parquet_is_read_from_its_manifest(tmp_path):
    import duckdb

    from pipeline.restatements import PreviousReport, build_restatements, previous_settings

    recorded = {"reporting_currency": "EUR", "fiscal_year_start_month": "1", "rollup": "account"}
    old = PreviousReport(tmp_path, "2026-06-30", {"report_settings": recorded})
    con = duckdb.connect()
    assert previous_settings(con, old) == recorded
    note = build_restatements(
        con, old, {"reporting_currency": "USD", "fiscal_year_start_month": "1", "rollup": "account"}
    )
    assert note == (
        "Not compared with the previous report (as of 2026-06-30): its figures are not "
        "comparable because the reporting currency EUR -> USD."
    )
    # Same settings, but the folder has no Parquet figures: said, not guessed.
    con.execute("drop table restatements")
    note = build_restatements(
        con, PreviousReport(tmp_path, "2026-06-30", {"settings": recorded}), recorded
    )
    assert note == (
        f"Not compared with the previous report (as of 2026-06-30): its folder {tmp_path.name} "
        "has no fct_arr_bridge.parquet or rpt_nrr_quarterly.parquet."
    )


def test_published_tables_are_the_marts_marked_published_the_reports_and_the_quarantine(
    tmp_path,
):
    from pipeline.dbt_project import MANIFEST_PATH, published_marts
    from pipeline.publishing import published_tables

    assert MANIFEST_PATH.exists(), "run dbt parse first (tests/conftest or `make`)"
    # Every mart whose .yml says meta published: true, with its order_by; no other model.
    assert published_marts() == {
        "fct_arr_movements": "customer_id, quarter_start",
        "fct_arr_bridge": "quarter_start, dimension, dimension_value",
        "fct_arr_bridge_steps": "quarter_start, dimension, dimension_value, step_order",
        "dim_customers": "customer_id",
    }
    assert published_tables() == {
        "fct_arr_movements": ("main.fct_arr_movements", "customer_id, quarter_start"),
        "fct_arr_bridge": ("main.fct_arr_bridge", "quarter_start, dimension, dimension_value"),
        "fct_arr_bridge_steps": (
            "main.fct_arr_bridge_steps",
            "quarter_start, dimension, dimension_value, step_order",
        ),
        "dim_customers": ("main.dim_customers", "customer_id"),
        "rpt_nrr_quarterly": (
            "main.rpt_nrr_quarterly",
            "quarter_start, dimension, dimension_value",
        ),
        "rpt_cohort_retention": (
            "main.rpt_cohort_retention",
            "cohort_quarter, age, dimension, dimension_value",
        ),
        "rpt_nrr_methods": (
            "main.rpt_nrr_methods",
            "quarter_start, dimension, dimension_value, method",
        ),
        "rpt_account_watchlist": ("main.rpt_account_watchlist", "customer_id"),
        "quarantine": ("main.quarantine", "extract, row_number"),
    }
    # A new published mart is its .sql and its .yml: the manifest's meta is all it takes.
    manifest = {
        "nodes": {
            "model.nrr.fct_new": {
                "resource_type": "model",
                "name": "fct_new",
                "config": {"meta": {"published": True, "order_by": "customer_id"}},
            },
            "model.nrr.int_hidden": {
                "resource_type": "model",
                "name": "int_hidden",
                "config": {"meta": {}},
            },
            "test.nrr.not_null": {
                "resource_type": "test",
                "name": "not_null",
                "config": {"meta": {"published": True}},
            },
        }
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    assert published_marts(path) == {"fct_new": "customer_id"}


def test_a_report_under_another_usage_arr_policy_is_not_compared(tmp_path):
    """Usage ARR under run_rate and under exclude are different figures, not restatements. A
    report published before NRR_USAGE_ARR existed was made under run_rate."""
    from pipeline.restatements import incomparable_settings

    before = {"reporting_currency": "USD", "fiscal_year_start_month": "1", "rollup": "account"}
    assert incomparable_settings(before, {**before, "usage_arr": "run_rate"}) == []
    assert incomparable_settings(before, {**before, "usage_arr": "exclude"}) == [
        "usage ARR policy run_rate -> exclude"
    ]
    assert incomparable_settings(
        {**before, "usage_arr": "trailing_3_period_average"}, {**before, "usage_arr": "run_rate"}
    ) == ["usage ARR policy trailing_3_period_average -> run_rate"]
