"""Where Dagster keeps its run history: a persistent instance under NRR_HOME.

`nrr run`, the schedule and the UI (`nrr ui`) all use DAGSTER_HOME = NRR_HOME/dagster, so a
run started from the command line shows in the UI with its materialisations and checks, and
the daemon's schedule ticks are recorded beside them. The pipeline writes dagster.yaml there
when it is missing and never overwrites it (edit it freely). No Dagster import here.
"""

from __future__ import annotations

from pathlib import Path

DAGSTER_YAML = "dagster.yaml"
# No absolute path in it: storage defaults to folders of DAGSTER_HOME itself, so a home that
# is copied or moved keeps its history.
DEFAULT_DAGSTER_YAML = """\
# Written by nrr when missing (pipeline/instance.py); nrr never overwrites it.
# Run history, event logs and schedule ticks are stored in SQLite under this folder.
telemetry:
  enabled: false
# DuckDB has one writer per file: one run of the nightly job at a time (the others queue).
run_queue:
  max_concurrent_runs: 1
# No per-step capture of standard output and error: the default (local) manager starts tail
# and orphan-watcher processes for every step, and nrr already writes the whole log of each
# run to the logs folder of NRR_HOME.
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
"""


def dagster_home(home: Path) -> Path:
    """DAGSTER_HOME of an NRR_HOME."""
    return Path(home) / "dagster"


def ensure_dagster_home(home: Path) -> Path:
    """Create NRR_HOME/dagster with its dagster.yaml when missing; returns the folder."""
    folder = dagster_home(home)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / DAGSTER_YAML
    if not config.exists():
        partial = config.with_name(f".{DAGSTER_YAML}.partial")
        partial.write_text(DEFAULT_DAGSTER_YAML)
        partial.replace(config)
    return folder
