"""Publishing: a complete report folder, then an atomic switch of reports/latest.

The folder is built under a hidden staging name and renamed into place only when complete;
`latest` is a symlink replaced with os.replace, so a reader sees the old report or the new
one, never a half-written one. Published folders are never modified, deleted or renamed
again, and their names are never reused: a BI tool holding latest/marts.duckdb open (even
read-write) keeps reading the folder it opened, and never blocks a run, because the next
report reads the previous one from its Parquet files.

Before `latest` moves, the folder is recorded in reports/published.jsonl (flushed and
fsynced): the history lists every folder `latest` may have shown. A line cut short (disk
full) is ignored and the next line starts on a fresh line.

A report names no server path: recorded paths are relative to NRR_HOME (home is "."), and
the folder and its files get the modes of NRR_SHARE_WITH (owner-only by default), whatever
the umask.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipeline import __version__
from pipeline.dbt_project import MANIFEST_PATH, published_marts
from pipeline.gate import QUARANTINE_ORDER, QUARANTINE_TABLE
from pipeline.landing import accepted_files, append_line, read_json_lines, scalar
from pipeline.page import write_page
from pipeline.report_views import load_views
from pipeline.restatements import PreviousReport, build_restatements
from pipeline.retention import report_tables
from pipeline.settings import Settings
from pipeline.validation import check_records, data_docs_dir, suite_runner
from pipeline.warehouse import duckdb_config
from pipeline.workbook import write_workbook


def published_tables(months: bool = False) -> dict[str, tuple[str, str]]:
    """Published table -> (table in the working warehouse, row order). Each is declared once,
    where it is built: the dbt marts by their meta (published, order_by), the Polars reports
    in retention.REPORT_TABLES, the quarantine in gate.py. The monthly marts and reports only
    when months are built (months: Settings.builds_months, NRR_PERIODS=quarter,month)."""
    return {
        **{
            name: (f"main.{name}", order)
            for name, order in published_marts(MANIFEST_PATH, months).items()
        },
        **{name: (f"main.{name}", order) for name, order in report_tables(months).items()},
        "quarantine": (QUARANTINE_TABLE, QUARANTINE_ORDER),
    }


LATEST = "latest"
MANIFEST = "manifest.json"
# One line per switch of `latest`: the folders readers may have seen, oldest first.
HISTORY = "published.jsonl"


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
    return accepted_files(settings.archive_dir, delivery)


def portable_record(settings: Settings) -> dict[str, str]:
    """Settings as a report records them: every path relative to NRR_HOME (home is ".",
    extracts_dir e.g. "../extracts"), so a report discloses no server path."""
    record = settings.as_record()
    for field in fields(Settings):
        value = getattr(settings, field.name)
        if isinstance(value, Path):
            record[field.name] = os.path.relpath(value, settings.home)
    return record


def published_manifest(settings: Settings) -> dict | None:
    path = settings.reports_dir / LATEST / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def run_identity(settings: Settings, delivery: date, files: list[dict]) -> dict:
    """What makes two runs the same run: delivery content, settings and code."""
    return {
        "delivery": delivery.isoformat(),
        "files": sorted((f["extract"], f["sha256"]) for f in files),
        "settings": portable_record(settings),
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


def previous_report(settings: Settings) -> PreviousReport | None:
    """The report `latest` points at now, if any (read from its Parquet files, never from its
    marts.duckdb, which a BI tool may hold open read-write)."""
    manifest = published_manifest(settings)
    if manifest is None:
        return None
    folder = (settings.reports_dir / LATEST).resolve()
    return PreviousReport(folder=folder, as_of=manifest["as_of"], manifest=manifest)


# What the page's note says of a usage ARR policy other than the default (NRR_USAGE_ARR).
USAGE_ARR_NOTES = {
    "run_rate": "",
    "trailing_3_period_average": ", usage ARR as the trailing three-month average",
    "exclude": ", usage charges excluded (committed revenue only)",
}


def report_settings(settings: Settings, as_of: date, delivery: date) -> dict[str, str]:
    """What a report records about how it was made: its settings (as_of as used), the
    delivery and the code version, the same in report_settings and manifest.json."""
    version = code_version()
    return {
        **portable_record(settings),
        "as_of": as_of.isoformat(),
        "delivery_date": delivery.isoformat(),
        "code_version": version["package"],
        "git_commit": version["git_commit"],
    }


def _write_outputs(
    settings: Settings,
    folder: Path,
    note: str,
    recorded: dict[str, str],
    validations: Path | None = None,
) -> tuple[dict[str, int], str]:
    """marts.duckdb (with restatements), a Parquet file per table, the workbook and the page.
    Returns the row counts and the restatements note."""
    counts = {}
    con = duckdb.connect(str(folder / "marts.duckdb"), config=duckdb_config())
    try:
        con.execute(f"attach {_sql_text(settings.warehouse_path)} as working (read_only)")
        tables = published_tables(settings.builds_months)
        for name, (source, order) in tables.items():
            con.execute(f"create table {name} as select * from working.{source} order by {order}")
            copy_comments(con, name, source)
        con.execute("detach working")
        restated = build_restatements(con, previous_report(settings), recorded)
        con.execute("create table report_settings (name varchar, value varchar)")
        con.executemany(
            "insert into report_settings values (?, ?)",
            [*recorded.items(), ("restatements", restated)],
        )
        for name in (*tables, "restatements", "report_settings"):
            target = _sql_text(folder / f"{name}.parquet")
            con.execute(f"copy {name} to {target} (format parquet, compression zstd)")
            counts[name] = scalar(con, f"select count(*) from {name}")
        views = load_views(con, settings.reporting_currency, validations)
    finally:
        con.close()
    write_workbook(views, folder / "nrr_report.xlsx", settings.reporting_currency)
    write_page(views, folder / "nrr_report.html", note)
    return counts, restated


def copy_comments(con, name: str, source: str) -> None:
    """The table and column comments of working.<source> (dbt persist_docs writes the marts'
    descriptions there) onto the published table <name>, so a BI tool shows them."""
    schema, table = source.split(".")
    where = "database_name = 'working' and schema_name = ? and table_name = ?"
    (comment,) = con.execute(
        f"select comment from duckdb_tables() where {where}", [schema, table]
    ).fetchone() or (None,)
    if comment:
        con.execute(f"comment on table {name} is {_sql_text(comment)}")
    columns = con.execute(
        f"select column_name, comment from duckdb_columns() where {where} and comment is not null",
        [schema, table],
    ).fetchall()
    for column, text in columns:
        con.execute(f'comment on column {name}."{column}" is {_sql_text(text)}')


# A <script src>, <link href> or <img src> that loads from the network (Data Docs load
# Bootstrap, jQuery and Vega from CDNs).
_NETWORK_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I
)
_NETWORK_TAG = re.compile(
    r"<(?:link|img)\b[^>]*\b(?:href|src)\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I
)
OFFLINE_NOTE = (
    '<div style="background:#fff3cd;padding:0.6rem 1rem;border:1px solid #e0c36b">'
    "Offline copy: the styles and scripts these pages would load from the internet were "
    "left out, so they look plain. Every expectation, its observed value and result is also "
    "in the Data quality section of nrr_report.html.</div>"
)


def offline_data_docs(folder: Path) -> None:
    """Make the published Data Docs load nothing from the network: drop the scripts,
    stylesheets and images they would fetch from CDNs (their own CSS stays), and say so at
    the top of each page."""
    for page in folder.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = _NETWORK_TAG.sub("", _NETWORK_SCRIPT.sub("", text))
        text = re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + OFFLINE_NOTE, text, count=1)
        page.write_text(text, encoding="utf-8")


def _sql_text(value: object) -> str:
    """A SQL string literal (paths in ATTACH and COPY cannot be bound as parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def apply_sharing(folder: Path, settings: Settings) -> None:
    """Give folder, its sub-folders and files the modes of NRR_SHARE_WITH, whatever the umask;
    marts.duckdb also loses its write bits (0o400 for the owner only)."""
    for root, _, files in os.walk(folder):
        os.chmod(root, settings.folder_mode)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(settings.file_mode)
    marts = folder / "marts.duckdb"
    if marts.exists():
        marts.chmod(settings.file_mode & ~0o222)


def history_names(reports_dir: Path) -> set[str]:
    """Every folder reports/published.jsonl names; a line cut short (a crash, a full disk)
    is not JSON and is skipped."""
    names = set()
    for line in read_json_lines(reports_dir / HISTORY):
        try:
            names.add(str(line["folder"]))
        except (KeyError, TypeError):
            continue
    return names


def _free_name(reports_dir: Path, as_of: date) -> Path:
    """reports/<as_of>, or <as_of>.2, .3 ...: never the name of anything in reports/ nor of
    any folder the history names (a reader may have seen that name with other content)."""
    taken = history_names(reports_dir) | {p.name for p in reports_dir.iterdir()}
    candidate, n = reports_dir / as_of.isoformat(), 1
    while candidate.name in taken or os.path.lexists(candidate):
        n += 1
        candidate = reports_dir / f"{as_of.isoformat()}.{n}"
    return candidate


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def record_about_to_show(reports_dir: Path, folder: Path) -> None:
    """Append folder to the history and fsync it, before `latest` may show it. The line
    starts on a fresh line even when the last one was cut short."""
    line = json.dumps(
        {
            "folder": folder.name,
            "about_to_be_shown_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    append_line(reports_dir / HISTORY, line)


def switch_latest(reports_dir: Path, folder: Path) -> None:
    """Record folder in the history (durably), then point reports/latest at it in one
    atomic rename."""
    record_about_to_show(reports_dir, folder)
    temporary = reports_dir / f".{LATEST}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(folder.name, target_is_directory=True)
    os.replace(temporary, reports_dir / LATEST)
    _fsync_folder(reports_dir)


def place_and_show(reports_dir: Path, staging: Path, as_of: date) -> Path:
    """Rename the complete staging folder to a name never used before, then show it."""
    folder = _free_name(reports_dir, as_of)
    os.rename(staging, folder)
    switch_latest(reports_dir, folder)
    return folder


def remove_crash_leftovers(reports_dir: Path) -> None:
    """Remove what a killed publish left half done: staging folders and temporary links.

    A complete report folder is never removed, even one `latest` never pointed at (killed
    between the rename and the switch): the history may have lost the line that named it
    (a full disk), so a reader may have seen it. Its name is never reused.
    Only call under the run lock: then nobody else is publishing.
    """
    for leftover in reports_dir.glob(".staging-*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in reports_dir.glob(f".{LATEST}-*"):
        if leftover.is_symlink():
            leftover.unlink()


def publish_report(settings: Settings, as_of: date, delivery: date, run_id: str) -> Path:
    """Write the report folder and switch latest to it; returns the folder."""
    reports_dir = settings.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    remove_crash_leftovers(reports_dir)
    staging = reports_dir / f".staging-{run_id}"
    staging.mkdir()
    staging.chmod(settings.folder_mode)
    try:
        note = (
            f"As of {as_of.isoformat()}, delivery {delivery.isoformat()}, "
            f"{settings.reporting_currency}, fiscal year starting in month "
            f"{settings.fiscal_year_start_month}, customers rolled up to "
            f"{settings.rollup.replace('_', ' ')}{USAGE_ARR_NOTES[settings.usage_arr]}"
        )
        recorded = report_settings(settings, as_of, delivery)
        validations = settings.home / "validations" / run_id
        counts, restated = _write_outputs(settings, staging, note, recorded, validations)
        docs = data_docs_dir(settings.home / "gx")
        if (settings.home / "gx").exists():  # the checks ran: render their site once
            docs = suite_runner(settings.home / "gx").build_docs()
        if docs.exists():
            shutil.copytree(docs, staging / "data_docs")
            offline_data_docs(staging / "data_docs")
        if validations.exists():
            shutil.copytree(validations, staging / "validations")
        files = delivery_files(settings, delivery)
        manifest = {
            "as_of": as_of.isoformat(),
            "delivery": {"date": delivery.isoformat(), "files": files},
            "settings": portable_record(settings),
            "code_version": code_version(),
            "report_settings": recorded,
            "restatements": restated,
            "row_counts": counts,
            "checks": check_records(validations),
            "run_id": run_id,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "identity": run_identity(settings, delivery, files),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        apply_sharing(staging, settings)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return place_and_show(reports_dir, staging, as_of)
