"""Publishing primitives: the atomic latest switch, immutable folders, the run identity."""

import json
import os
from datetime import date
from decimal import Decimal

from pipeline.publishing import (
    HISTORY,
    _free_name,
    already_published,
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


def test_crash_leftovers_go_and_every_folder_latest_ever_showed_stays(tmp_path):
    for name in ("2026-06-30", "2026-09-30", "2026-10-31"):
        (tmp_path / name).mkdir()
    switch_latest(tmp_path, tmp_path / "2026-06-30")
    switch_latest(tmp_path, tmp_path / "2026-09-30")
    (tmp_path / ".staging-run-1" / "data_docs").mkdir(parents=True)  # killed while writing
    (tmp_path / ".latest-4242").symlink_to("2026-10-31")  # killed before the switch
    # 2026-10-31 was renamed into place but the run died before `latest` pointed at it.
    remove_crash_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-06-30",
        "2026-09-30",
        "latest",
        "published.jsonl",
    ]


def test_a_home_without_history_keeps_every_folder_it_has(tmp_path):
    for name in ("2026-06-30", "2026-09-30"):
        (tmp_path / name).mkdir()
    (tmp_path / "latest").symlink_to("2026-09-30")
    remove_crash_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-06-30",
        "2026-09-30",
        "latest",
        "published.jsonl",
    ]


def test_a_date_published_twice_gets_a_new_folder_never_the_old_one(tmp_path):
    assert _free_name(tmp_path, date(2026, 9, 30)).name == "2026-09-30"
    (tmp_path / "2026-09-30").mkdir()
    assert _free_name(tmp_path, date(2026, 9, 30)).name == "2026-09-30.2"
    (tmp_path / "2026-09-30.2").mkdir()
    assert _free_name(tmp_path, date(2026, 9, 30)).name == "2026-09-30.3"


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
