"""Concurrency, crash leftovers and out-of-order deliveries (the first reliability cases)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.cli import EXIT_BUSY, EXIT_OK, main
from tests.integration.crafted import write_crafted_delivery
from tests.shared_runs import copy_run

pytestmark = pytest.mark.integration

HOLD_LOCK = (
    "import fcntl, sys, time; h = open(sys.argv[1], 'a+'); fcntl.flock(h, fcntl.LOCK_EX); "
    "h.write('pid holder'); h.flush(); print('locked', flush=True); time.sleep(600)"
)


def test_a_second_run_on_the_same_home_fails_clearly_and_changes_nothing(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    write_crafted_delivery(tmp_path / "extracts")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(home / ".run.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = main(["run", "--extracts", str(tmp_path / "extracts"), "--home", str(home)])
        assert code == EXIT_BUSY
        assert "Another nrr run is already working on" in capsys.readouterr().err
        assert sorted(p.name for p in home.iterdir()) == [".run.lock"]
        # A killed holder releases the lock: the next run goes through.
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        time.sleep(0.2)
        assert (
            main(["run", "--extracts", str(tmp_path / "extracts"), "--home", str(home)]) == EXIT_OK
        )
    finally:
        holder.kill()


def test_an_older_delivery_does_not_replace_a_newer_report_unless_forced(
    crafted_once, tmp_path, capsys
):
    extracts, home = tmp_path / "extracts", tmp_path / "home"
    ran_in, code = crafted_once  # 2026-09-30 run once for the session: a copy of it
    copy_run(ran_in, tmp_path)
    assert code == EXIT_OK
    write_crafted_delivery(extracts, "2026-09-29")
    (home / "reports" / ".staging-crashed-run").mkdir()  # left by a killed publish
    code = main(
        ["run", "--extracts", str(extracts), "--home", str(home), "--delivery", "2026-09-29"]
    )
    assert code == EXIT_OK
    assert "is older than the published report's delivery 2026-09-30" in capsys.readouterr().out
    assert os.readlink(home / "reports" / "latest") == "2026-09-30"
    assert (
        main(
            [
                "run",
                "--extracts",
                str(extracts),
                "--home",
                str(home),
                "--delivery",
                "2026-09-29",
                "--force",
            ]
        )
        == EXIT_OK
    )
    assert os.readlink(home / "reports" / "latest") == "2026-09-29"
    assert not list((home / "reports").glob(".staging-*"))


def test_the_default_relative_paths_make_a_rerun_a_no_op(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("NRR_EXTRACTS_DIR", "NRR_HOME"):
        monkeypatch.delenv(name, raising=False)
    write_crafted_delivery(tmp_path / "extracts")
    assert main(["run"]) == EXIT_OK
    capsys.readouterr()
    assert main(["run"]) == EXIT_OK
    assert "is already published" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / ".nrr" / "reports").iterdir()) == [
        "2026-09-30",
        "latest",
        "published.jsonl",
    ]
