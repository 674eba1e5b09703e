"""`nrr-dbt`: the dbt command line, tied to the run that started it.

Dagster starts dbt as a subprocess. If the run's process is killed (SIGKILL, the OOM killer),
a plain dbt child would keep running as an orphan and keep the DuckDB warehouse locked, so
the rerun would fail on the file lock. On Linux the kernel sends this process SIGKILL when
its parent dies (PR_SET_PDEATHSIG); elsewhere it behaves exactly like `dbt`.

Started by the pipeline (dagster-dbt), it also opens the warehouse by its file name from the
warehouse's own folder, so that a new home reuses the project's saved parse (see
open_warehouse_by_name).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_PID_VARIABLE = "NRR_DBT_PARENT_PID"
WAREHOUSE_VARIABLE = "NRR_WAREHOUSE_PATH"
# dagster-dbt passes dbt these paths; they must not depend on the working directory.
DBT_PATH_VARIABLES = ("DBT_PROJECT_DIR", "DBT_PROFILES_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH")


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


def open_warehouse_by_name(environ=os.environ) -> None:
    """Run dbt from the warehouse's folder, with NRR_WAREHOUSE_PATH the bare file name.

    dbt reuses a saved parse (partial_parse.msgpack, which dagster-dbt copies from
    dbt_project/target into a home that has none) only when the profile's connection settings
    are the ones it was saved with. The absolute warehouse path was the one setting that
    differed from home to home, so every new home (every test, the benchmark, a first night)
    parsed the whole project again: about 3 s of CPU. `make manifest` saves the parse with
    the same file name. Only under dagster-dbt, and only when every path dbt is given is
    absolute (so none of them moves with the working directory); DuckDB still names the full
    path in its errors.
    """
    path = environ.get(WAREHOUSE_VARIABLE, "")
    if environ.get("DAGSTER_DBT_CLI") != "true" or not os.path.isabs(path):
        return
    if not all(os.path.isabs(environ.get(name, "/")) for name in DBT_PATH_VARIABLES):
        return
    folder, name = os.path.split(path)
    try:
        os.chdir(folder)
    except OSError:
        return  # dbt then opens (and reports) the full path itself
    environ[WAREHOUSE_VARIABLE] = name


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        # dagster-dbt asks once per run; answering without importing dbt saves two seconds.
        from importlib.metadata import version

        print(f"Core:\n  - installed: {version('dbt-core')}")
        return
    die_with_parent()
    open_warehouse_by_name()
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
