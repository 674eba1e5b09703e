"""nrr-dbt dies with the run that started it: a killed run leaves no dbt holding the warehouse."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.dbt_child import open_warehouse_by_name
from tests.reliability.crash_harness import alive

CHILD = (
    "import sys, time\n"
    "if sys.argv[1] == 'tied':\n"
    "    from pipeline.dbt_child import die_with_parent\n"
    "    die_with_parent()\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)
# The run: starts the child the way dagster-dbt starts dbt, tells us its pid, then waits.
PARENT = (
    "import os, subprocess, sys, time\n"
    "os.environ['NRR_DBT_PARENT_PID'] = str(os.getpid())\n"
    "child = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]],"
    " stdout=subprocess.PIPE, text=True)\n"
    "assert child.stdout.readline().strip() == 'ready'\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def _child_after_parent_killed(mode: str) -> int:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, mode], stdout=subprocess.PIPE, text=True
    )
    child_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 5
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child_pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_a_tied_child_dies_with_its_killed_parent():
    assert not alive(_child_after_parent_killed("tied"))


def test_an_untied_child_outlives_its_killed_parent():
    """The failure the tie prevents (and proof the test above can fail)."""
    orphan = _child_after_parent_killed("untied")
    try:
        assert alive(orphan)
    finally:
        os.kill(orphan, signal.SIGKILL)


def test_a_child_whose_run_is_already_gone_exits(monkeypatch):
    gone = subprocess.Popen(["true"])
    gone.wait()
    monkeypatch.setenv("NRR_DBT_PARENT_PID", str(gone.pid))  # reparented before prctl
    code = subprocess.run(
        [sys.executable, "-c", "from pipeline.dbt_child import die_with_parent; die_with_parent()"],
        timeout=30,
    ).returncode
    assert code == 1


def test_version_answers_quickly_with_the_installed_dbt_core():
    """dagster-dbt reads the version with this regex before each run."""
    import re
    from importlib.metadata import version

    nrr_dbt = Path(sys.executable).parent / "nrr-dbt"
    output = subprocess.run(
        [str(nrr_dbt), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"(\d+\.\d+\.\d+)", output).group(1) == version("dbt-core")


def _dagster_dbt_environ(home: Path) -> dict[str, str]:
    """The variables dagster-dbt gives nrr-dbt for a run in `home` (paths absolute)."""
    return {
        "DAGSTER_DBT_CLI": "true",
        "NRR_WAREHOUSE_PATH": str(home / "warehouse.duckdb"),
        "DBT_PROJECT_DIR": "/srv/nrr/dbt_project",
        "DBT_PROFILES_DIR": "/srv/nrr/dbt_project",
        "DBT_TARGET_PATH": str(home / "dbt_target"),
        "DBT_LOG_PATH": str(home / "dbt_target"),
    }


def test_under_dagster_dbt_the_warehouse_is_opened_by_name_from_its_folder(tmp_path, monkeypatch):
    """The profile then reads the same in every home, so dbt reuses the saved parse."""
    monkeypatch.chdir("/")
    environ = _dagster_dbt_environ(tmp_path)
    open_warehouse_by_name(environ)
    assert environ["NRR_WAREHOUSE_PATH"] == "warehouse.duckdb"
    assert Path.cwd() == tmp_path


@pytest.mark.parametrize(
    "change",
    [
        {"DAGSTER_DBT_CLI": None},  # dbt by hand: the working directory is the user's
        {"DBT_TARGET_PATH": "target/run"},  # a relative path would move with the directory
        {"NRR_WAREHOUSE_PATH": "../.nrr/warehouse.duckdb"},
    ],
)
def test_otherwise_nothing_changes(tmp_path, monkeypatch, change):
    monkeypatch.chdir("/")
    environ = _dagster_dbt_environ(tmp_path)
    for name, value in change.items():
        if value is None:
            del environ[name]
        else:
            environ[name] = value
    before = dict(environ)
    open_warehouse_by_name(environ)
    assert environ == before
    assert Path.cwd() == Path("/")
