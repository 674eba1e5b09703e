"""Publishing: a complete report folder, then an atomic switch of reports/latest.

The folder is built under a hidden staging name and renamed into place only when complete;
`latest` is a symlink replaced with os.replace, so a reader sees the old report or the new
one, never a half-written one. Published folders are never modified again: a BI tool holding
latest/marts.duckdb open keeps reading the folder it opened, and never blocks a run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipeline import __version__
from pipeline.landing import scalar, write_atomically
from pipeline.page import write_page
from pipeline.report_views import load_views
from pipeline.resources import duckdb_config
from pipeline.restatements import build_restatements
from pipeline.settings import Settings
from pipeline.validation import data_docs_dir
from pipeline.workbook import write_workbook

# Published table -> (table in the working warehouse, row order).
PUBLISHED_TABLES = {
    "fct_arr_movements": ("main.fct_arr_movements", "customer_id, quarter_start"),
    "fct_arr_bridge": ("main.fct_arr_bridge", "quarter_start, dimension, dimension_value"),
    "rpt_nrr_quarterly": ("main.rpt_nrr_quarterly", "quarter_start, dimension, dimension_value"),
    "rpt_cohort_retention": (
        "main.rpt_cohort_retention",
        "cohort_quarter, age, dimension, dimension_value",
    ),
    "quarantine": ("raw.quarantine", "extract, row_number"),
    "dim_customers": ("main.dim_customers", "customer_id"),
}
LATEST = "latest"
MANIFEST = "manifest.json"
# One line per switch of `latest`: the folders readers may have seen, oldest first.
HISTORY = "published.jsonl"
REPORT_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}(\.\d+)?$")


def code_version() -> dict[str, str]:
    """The package version and, in a git checkout, the commit it was run from."""
    repo = Path(__file__).resolve().parents[1]
    commit = "unknown"
    if (repo / ".git").exists():
        try:
            commit = subprocess.run(
                ["git", "-C", str(repo), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = "unknown"
    return {"package": __version__, "git_commit": commit}


def delivery_files(settings: Settings, delivery: date) -> list[dict]:
    """The archived files of a delivery, with their checksums."""
    checksums = settings.archive_dir / delivery.isoformat() / "checksums.json"
    return json.loads(checksums.read_text()) if checksums.exists() else []


def published_manifest(settings: Settings) -> dict | None:
    path = settings.reports_dir / LATEST / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def run_identity(settings: Settings, delivery: date, files: list[dict]) -> dict:
    """What makes two runs the same run: delivery content, settings and code."""
    return {
        "delivery": delivery.isoformat(),
        "files": sorted((f["extract"], f["sha256"]) for f in files),
        "settings": settings.as_record(),
        "code_version": code_version(),
    }


def already_published(settings: Settings, delivery: date, files: list[dict]) -> bool:
    """True when reports/latest came from this very delivery, settings and code."""
    manifest = published_manifest(settings)
    if manifest is None:
        return False
    published = manifest.get("identity", {})
    published["files"] = sorted(tuple(f) for f in published.get("files", []))
    return published == run_identity(settings, delivery, files)


def _check_results(settings: Settings, run_id: str) -> list[dict]:
    folder = settings.home / "validations" / run_id
    results = []
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text())
        failed = [r for r in result["results"] if not r["success"]]
        results.append(
            {
                "suite": path.stem,
                "success": result["success"],
                "evaluated": len(result["results"]),
                "failed": len(failed),
            }
        )
    return results


def _previous_report(settings: Settings) -> tuple[str | None, str | None]:
    """marts.duckdb and as-of date of the report `latest` points at now, if any."""
    latest = settings.reports_dir / LATEST
    manifest = published_manifest(settings)
    if manifest is None or not (latest / "marts.duckdb").exists():
        return None, None
    return str((latest / "marts.duckdb").resolve()), manifest["as_of"]


def report_settings(settings: Settings, as_of: date, delivery: date) -> dict[str, str]:
    """What a report records about how it was made: its settings (as_of as used), the
    delivery and the code version, the same in report_settings and manifest.json."""
    version = code_version()
    return {
        **settings.as_record(),
        "as_of": as_of.isoformat(),
        "delivery_date": delivery.isoformat(),
        "code_version": version["package"],
        "git_commit": version["git_commit"],
    }


def _write_outputs(
    settings: Settings, folder: Path, note: str, recorded: dict[str, str]
) -> tuple[dict[str, int], str]:
    """marts.duckdb (with restatements), a Parquet file per table, the workbook and the page.
    Returns the row counts and the restatements note."""
    counts = {}
    previous_marts, previous_as_of = _previous_report(settings)
    con = duckdb.connect(str(folder / "marts.duckdb"), config=duckdb_config())
    try:
        con.execute(f"attach '{settings.warehouse_path}' as working (read_only)")
        for name, (source, order) in PUBLISHED_TABLES.items():
            con.execute(f"create table {name} as select * from working.{source} order by {order}")
        con.execute("detach working")
        restated = build_restatements(con, previous_marts, previous_as_of, recorded)
        con.execute("create table report_settings (name varchar, value varchar)")
        con.executemany(
            "insert into report_settings values (?, ?)",
            [*recorded.items(), ("restatements", restated)],
        )
        for name in (*PUBLISHED_TABLES, "restatements"):
            con.execute(
                f"copy {name} to '{folder / f'{name}.parquet'}' (format parquet, compression zstd)"
            )
            counts[name] = scalar(con, f"select count(*) from {name}")
        views = load_views(con, settings.reporting_currency)
    finally:
        con.close()
    (folder / "marts.duckdb").chmod(0o444)
    write_workbook(views, folder / "nrr_report.xlsx", settings.reporting_currency)
    write_page(views, folder / "nrr_report.html", note)
    return counts, restated


def _free_name(reports_dir: Path, as_of: date) -> Path:
    """reports/<as_of>, or <as_of>.2, .3 ... when that date was published before."""
    candidate, n = reports_dir / as_of.isoformat(), 1
    while candidate.exists():
        n += 1
        candidate = reports_dir / f"{as_of.isoformat()}.{n}"
    return candidate


def switch_latest(reports_dir: Path, folder: Path) -> None:
    """Point reports/latest at folder in one atomic rename, then record it in the history."""
    temporary = reports_dir / f".{LATEST}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(folder.name, target_is_directory=True)
    os.replace(temporary, reports_dir / LATEST)
    with (reports_dir / HISTORY).open("a") as history:
        switched_at = datetime.now(UTC).isoformat(timespec="seconds")
        history.write(json.dumps({"folder": folder.name, "switched_at": switched_at}) + "\n")


def _report_folders(reports_dir: Path) -> list[Path]:
    return [
        p
        for p in reports_dir.iterdir()
        if REPORT_FOLDER.match(p.name) and p.is_dir() and not p.is_symlink()
    ]


def _published_names(reports_dir: Path) -> set[str]:
    """Folders `latest` has pointed at: the history, plus its target now (a crash may have
    come between the switch and the history line)."""
    history = reports_dir / HISTORY
    if not history.exists():  # a home from before the history: all its folders were seen
        existing = sorted(p.name for p in _report_folders(reports_dir))
        write_atomically(history, "".join(json.dumps({"folder": n}) + "\n" for n in existing))
    names = set()
    for line in history.read_text().splitlines():
        try:
            names.add(json.loads(line)["folder"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash
    latest = reports_dir / LATEST
    if latest.is_symlink():
        names.add(os.readlink(latest))
    return names


def remove_crash_leftovers(reports_dir: Path) -> None:
    """Remove what a killed publish left: staging folders, the temporary link, and complete
    folders that `latest` never pointed at (killed between the rename and the switch).

    Only call under the run lock: then nobody else is publishing.
    """
    for leftover in (*reports_dir.glob(".staging-*"), *reports_dir.glob(f".{LATEST}-*")):
        if leftover.is_symlink():
            leftover.unlink()
        else:
            shutil.rmtree(leftover, ignore_errors=True)
    published = _published_names(reports_dir)
    for folder in _report_folders(reports_dir):
        if folder.name not in published:
            shutil.rmtree(folder)


def publish_report(settings: Settings, as_of: date, delivery: date, run_id: str) -> Path:
    """Write the report folder and switch latest to it; returns the folder."""
    reports_dir = settings.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    remove_crash_leftovers(reports_dir)
    staging = reports_dir / f".staging-{run_id}"
    staging.mkdir()
    try:
        note = (
            f"As of {as_of.isoformat()}, delivery {delivery.isoformat()}, "
            f"{settings.reporting_currency}, fiscal year starting in month "
            f"{settings.fiscal_year_start_month}, customers rolled up to "
            f"{settings.rollup.replace('_', ' ')}"
        )
        recorded = report_settings(settings, as_of, delivery)
        counts, restated = _write_outputs(settings, staging, note, recorded)
        docs = data_docs_dir(settings.home / "gx")
        if docs.exists():
            shutil.copytree(docs, staging / "data_docs")
        validations = settings.home / "validations" / run_id
        if validations.exists():
            shutil.copytree(validations, staging / "validations")
        files = delivery_files(settings, delivery)
        manifest = {
            "as_of": as_of.isoformat(),
            "delivery": {"date": delivery.isoformat(), "files": files},
            "settings": settings.as_record(),
            "code_version": code_version(),
            "report_settings": recorded,
            "restatements": restated,
            "row_counts": counts,
            "checks": _check_results(settings, run_id),
            "run_id": run_id,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "identity": run_identity(settings, delivery, files),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        folder = _free_name(reports_dir, as_of)
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    switch_latest(reports_dir, folder)
    return folder
