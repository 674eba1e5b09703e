"""Failures of the machine end to end: `nrr run` names them, and never as a data-quality block."""

import os
import re
import subprocess
import sys

import pytest

from pipeline.cli import EXIT_FAILED, EXIT_USAGE, main
from pipeline.locking import HomeNotWritable, acquire_home_lock
from tests.integration.crafted import write_crafted_delivery

pytestmark = pytest.mark.integration


def run(extracts, home, command: str = "run") -> int:
    return main([command, "--extracts", str(extracts), "--home", str(home)])


def test_out_of_memory_fails_naming_the_cause_not_a_blocked_check(tmp_path, monkeypatch, capsys):
    """4MB is far below what dbt's models need (its profile reads the same limit) and close to
    what landing and the quarantine need: which warehouse step runs out first depends on how
    DuckDB's threads are scheduled (on CI it has been the quarantine). Whichever it is, the run
    stops there, names the step (and the dbt model or test, in dbt) and the cause, and publishes
    nothing."""
    write_crafted_delivery(tmp_path / "extracts")
    monkeypatch.setenv("NRR_DUCKDB_MEMORY_LIMIT", "4MB")
    assert run(tmp_path / "extracts", tmp_path / "home") == EXIT_FAILED
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.match(
        r"The nightly run failed in step "
        r"(land_delivery|quarantine|arr_models \(dbt (model|test) \w+\)): "
        r"DuckDB ran out of memory \(",
        message,
    ), message
    assert message.endswith(
        "This is a problem of the machine, not of the data. Raise NRR_DUCKDB_MEMORY_LIMIT "
        "(now 4MB) if the machine has the memory, or run on a larger machine, then run again."
    )
    assert "blocked" not in message
    assert not (tmp_path / "home" / "reports" / "latest").exists()


HOLD_WAREHOUSE = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
    "time.sleep(600)"
)


def test_a_warehouse_held_by_another_program_is_named_not_max_retries(tmp_path, capsys):
    """A DuckDB shell left open on the warehouse: landing cannot open it. Whether or not the
    step is retried, the message names the holder, not 'Exceeded max_retries'."""
    write_crafted_delivery(tmp_path / "extracts")
    home = tmp_path / "home"
    home.mkdir()
    warehouse = home / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WAREHOUSE, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert run(tmp_path / "extracts", home) == EXIT_FAILED
    finally:
        holder.kill()
        holder.wait(timeout=30)
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith(
        f"The nightly run failed in step land_delivery: the warehouse {warehouse} is locked by "
        "another program ("
    )
    assert f", PID {holder.pid}). This is a problem of the machine, not of the data." in message
    assert "max_retries" not in message


def _assert_home_refused(capsys, home, reason: str) -> None:
    err = capsys.readouterr().err
    assert err.strip() == (
        f"nrr: NRR_HOME {home} is not writable: {reason}. Set NRR_HOME to a folder this user "
        "can write."
    )
    assert "Traceback" not in err


def test_a_home_under_a_file_is_refused_before_anything_runs(tmp_path, capsys):
    """Fails for root too: nobody can create a folder inside a regular file."""
    (tmp_path / "not-a-folder").write_text("")
    home = tmp_path / "not-a-folder" / "home"
    assert run(tmp_path / "extracts", home, "demo") == EXIT_USAGE
    _assert_home_refused(capsys, home, f"{tmp_path / 'not-a-folder'} is a file, not a folder")
    assert not (tmp_path / "extracts").exists()  # the demo generated nothing


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_a_read_only_home_is_refused(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir(mode=0o555)
    write_crafted_delivery(tmp_path / "extracts")
    try:
        assert run(tmp_path / "extracts", home) == EXIT_USAGE
        _assert_home_refused(capsys, home, "Permission denied")
        assert list(home.iterdir()) == []
    finally:
        home.chmod(0o755)


def test_the_run_lock_refuses_an_unusable_home_clearly(tmp_path):
    """The Dagster resource takes the same lock, for runs the CLI did not start."""
    (tmp_path / "file").write_text("")
    with pytest.raises(HomeNotWritable, match=r"is a file, not a folder\. Set NRR_HOME"):
        acquire_home_lock(tmp_path / "file" / "home")
