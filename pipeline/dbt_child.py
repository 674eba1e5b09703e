"""`nrr-dbt`: the dbt command line, tied to the run that started it.

Dagster starts dbt as a subprocess. If the run's process is killed (SIGKILL, the OOM killer),
a plain dbt child would keep running as an orphan and keep the DuckDB warehouse locked, so
the rerun would fail on the file lock. On Linux the kernel sends this process SIGKILL when
its parent dies (PR_SET_PDEATHSIG); elsewhere it behaves exactly like `dbt`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_PID_VARIABLE = "NRR_DBT_PARENT_PID"


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent exits; exit if it already has."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return
    expected = os.environ.get(PARENT_PID_VARIABLE)
    # The parent may have died before prctl took effect: then nobody would kill us.
    if expected and os.getppid() != int(expected):
        os._exit(1)


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        # dagster-dbt asks once per run; answering without importing dbt saves two seconds.
        from importlib.metadata import version

        print(f"Core:\n  - installed: {version('dbt-core')}")
        return
    die_with_parent()
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
