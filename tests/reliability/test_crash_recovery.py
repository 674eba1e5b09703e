"""SIGKILL during each stage: the rerun publishes what an uninterrupted run publishes.

One home goes through a chain of crashes, each run killed a little further on (landing,
quarantine, dbt, Polars, publishing), so every run after the first starts from what the
previous crash left behind and must get past that point. After each crash `latest` still
shows the previous report, whole. The last run completes, and its report and archive equal
those of a home that ran the same deliveries without interruption; the folder the run killed
before `latest` moved stays (a complete folder is never deleted), so the rerun's folder is
named <date>.2.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import EXIT_OK, main
from pipeline.generate import GenerateOptions, generate
from pipeline.landing import accepted_files
from tests.reliability.crash_harness import POINTS, alive

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PREVIOUS, CURRENT = "2026-06-30", "2026-09-30"
CRASH_CHAIN = list(POINTS)  # in the order a run reaches them


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "extracts"
    for as_of in (PREVIOUS, CURRENT):
        generate(GenerateOptions(out=root, customers=150, years=2, as_of=date.fromisoformat(as_of)))
    return root


def _run(extracts: Path, home: Path, delivery: str) -> None:
    code = main(["run", "--extracts", str(extracts), "--home", str(home), "--delivery", delivery])
    assert code == EXIT_OK


@pytest.fixture(scope="module")
def previous_home(extracts, tmp_path_factory) -> Path:
    """A home that published the previous delivery: the report a crash must not disturb."""
    home = tmp_path_factory.mktemp("previous") / "home"
    _run(extracts, home, PREVIOUS)
    return home


@pytest.fixture(scope="module")
def uninterrupted_home(extracts, previous_home, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("uninterrupted") / "home"
    shutil.copytree(previous_home, home, symlinks=True)
    _run(extracts, home, CURRENT)
    return home


@contextmanager
def crash_harness(dbt_pid_file: Path) -> Iterator[subprocess.Popen]:
    """The crash harness as a fork server: each crash is a process of its own, forked from
    one that has already imported what a run imports (crash_harness.serve)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.crash_harness", "--serve"],
        cwd=REPO,
        env={**os.environ, "CRASH_DBT_PID_FILE": str(dbt_pid_file)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its group: the server, the run it forked and that run's dbt
    )
    try:
        yield server
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _crash(harness, point: str, extracts: Path, home: Path, log: Path) -> None:
    arguments = ["--extracts", str(extracts), "--home", str(home), "--delivery", CURRENT]
    request = {"point": point, "arguments": arguments, "log": str(log)}
    harness.stdin.write(json.dumps(request) + "\n")
    harness.stdin.flush()
    answered, _, _ = select.select([harness.stdout], [], [], 300)
    if not answered:
        os.killpg(harness.pid, signal.SIGKILL)
    returncode = json.loads(harness.stdout.readline()) if answered else "timed out"
    output = log.read_text()[-3000:] if log.exists() else ""
    assert returncode == -signal.SIGKILL, (point, returncode, output)


def _tables(marts: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(marts), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {n: con.execute(f"select * from {n} order by all").fetchall() for n in names}
    finally:
        con.close()


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _assert_previous_report_still_published(home: Path, previous_manifest: dict) -> None:
    latest = home / "reports" / "latest"
    assert os.readlink(latest) == PREVIOUS
    assert json.loads((latest / "manifest.json").read_text()) == previous_manifest
    for table in previous_manifest["row_counts"]:
        assert (latest / f"{table}.parquet").exists()


def test_a_chain_of_crashes_then_a_rerun_publishes_the_uninterrupted_result(
    extracts, previous_home, uninterrupted_home, tmp_path
):
    home = tmp_path / "home"
    shutil.copytree(previous_home, home, symlinks=True)
    previous_manifest = json.loads((home / "reports" / "latest" / "manifest.json").read_text())
    dbt_pid_file = tmp_path / "dbt.pid"

    with crash_harness(dbt_pid_file) as harness:
        for point in CRASH_CHAIN:
            _crash(harness, point, extracts, home, tmp_path / f"{point}.log")
            _assert_previous_report_still_published(home, previous_manifest)
            if point == "dbt":
                dbt_pid = int(dbt_pid_file.read_text())
                deadline = time.monotonic() + 30
                while alive(dbt_pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert not alive(dbt_pid), "dbt outlived the killed run and holds the warehouse"

    _run(extracts, home, CURRENT)

    reports, expected_reports = home / "reports", uninterrupted_home / "reports"
    assert os.readlink(reports / "latest") == f"{CURRENT}.2"
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        [*(p.name for p in expected_reports.iterdir()), f"{CURRENT}.2"]
    )
    # Equal, wherever each home is: a report records paths relative to its home.
    tables = _tables(reports / "latest" / "marts.duckdb")
    expected_tables = _tables(expected_reports / "latest" / "marts.duckdb")
    assert ("home", ".") in tables["report_settings"]
    assert tables == expected_tables
    manifest = json.loads((reports / "latest" / "manifest.json").read_text())
    expected = json.loads((expected_reports / "latest" / "manifest.json").read_text())
    for record in (manifest, expected):
        del record["identity"]["settings"]["home"]
    for key in ("as_of", "delivery", "row_counts", "checks", "identity"):
        assert manifest[key] == expected[key], key
    assert sorted(p.name for p in (reports / "latest").iterdir()) == sorted(
        p.name for p in (expected_reports / "latest").iterdir()
    )

    # The archive holds each delivered file once, whole, under its checksum.
    archive = home / "archive"
    assert _tree(archive) == _tree(uninterrupted_home / "archive")
    for delivery in (PREVIOUS, CURRENT):
        for record in accepted_files(archive, date.fromisoformat(delivery)):
            archived = archive / record["archived_as"]
            assert hashlib.sha256(archived.read_bytes()).hexdigest() == record["sha256"]
