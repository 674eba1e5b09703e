"""Run `nrr run` and SIGKILL it at a chosen point, the way the OOM killer or a reboot would.

    python -m tests.reliability.crash_harness <point> <nrr run arguments...>
    python -m tests.reliability.crash_harness --serve

The second form is a fork server (see serve): one interpreter imports what a run imports, then
forks a new process for each crash, which saves each crash the seconds of starting Python and
importing Dagster, dbt's Dagster integration and Great Expectations.

The process kills itself (no cleanup handlers, no finally blocks run) at:

- archive:      half of the first extract copied into the archive
- raw-load:     inside the raw-table transaction, after the first table was replaced
- quarantine:   while the row rules run
- dbt:          while dbt builds the models (dbt is still running; its pid goes to
                $CRASH_DBT_PID_FILE so the test can check it died too)
- polars:       while the retention reports are computed
- publish-files: with the report folder half written
- publish-switch: with the report folder complete and renamed, before `latest` moves
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

DBT_EVENTS_BEFORE_KILL = 12


def alive(pid: int) -> bool:
    """True while pid runs (a zombie nobody reaped yet does not count: it holds nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm_archive() -> None:
    import pipeline.landing as landing

    def copy_half_then_die(source, target, *args, **kwargs):
        data = Path(source).read_bytes()
        Path(target).write_bytes(data[: len(data) // 2])
        die()

    landing.shutil.copyfile = copy_half_then_die


def _arm_raw_load() -> None:
    import pipeline.landing as landing

    original = landing.scalar

    def scalar_or_die(con, sql, params=None):
        if sql.startswith("select count(*) from raw."):
            die()  # the first raw table was replaced, the transaction is open
        return original(con, sql, params)

    landing.scalar = scalar_or_die


def _arm_quarantine() -> None:
    import pipeline.gate as gate  # the quarantine step's row rules (gate.apply_row_rules)

    def build_quarantine(*args, **kwargs):
        die()

    gate.build_quarantine = build_quarantine


def _arm_dbt() -> None:
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

    original = DbtCliInvocation.stream

    def stream_then_die(self, *args, **kwargs):
        Path(os.environ["CRASH_DBT_PID_FILE"]).write_text(str(self.process.pid))
        for seen, event in enumerate(original(self, *args, **kwargs), start=1):
            if seen == DBT_EVENTS_BEFORE_KILL:
                die()  # models are being built and dbt is still running
            yield event

    DbtCliInvocation.stream = stream_then_die


def _arm_polars() -> None:
    import pipeline.defs.reports as reports

    def cohort_retention(*args, **kwargs):
        die()

    reports.cohort_retention = cohort_retention


def _arm_publish_files() -> None:
    import pipeline.publishing as publishing

    def write_page(*args, **kwargs):
        die()  # marts.duckdb, the Parquet files and the workbook are written

    publishing.write_page = write_page


def _arm_publish_switch() -> None:
    import pipeline.publishing as publishing

    def switch_latest(*args, **kwargs):
        die()

    publishing.switch_latest = switch_latest


POINTS = {
    "archive": _arm_archive,
    "raw-load": _arm_raw_load,
    "quarantine": _arm_quarantine,
    "dbt": _arm_dbt,
    "polars": _arm_polars,
    "publish-files": _arm_publish_files,
    "publish-switch": _arm_publish_switch,
}


def main(argv: list[str]) -> int:
    point, run_arguments = argv[0], argv[1:]
    POINTS[point]()
    from pipeline.cli import main as nrr

    code = nrr(["run", *run_arguments])
    print(f"crash point {point} was never reached; nrr exited {code}", file=sys.stderr)
    return 100 + code


def preload() -> None:
    """Import what a run imports, without running anything (no thread, no connection, no
    Polars thread pool is started, so forking afterwards is safe)."""
    import dagster_dbt.core.dbt_cli_invocation  # noqa: F401

    import pipeline.cli  # noqa: F401
    import pipeline.definitions  # noqa: F401
    from pipeline.validation import import_great_expectations

    import_great_expectations()


def serve() -> None:
    """For each request on stdin, a JSON object {"point", "arguments", "log"}: fork, and in
    the child run main([point, *arguments]) as a new process would (its stdout and stderr go
    to the file `log`, stdin is /dev/null); answer the child's exit status on stdout as one
    JSON line, as subprocess reports it (minus the signal number when a signal killed it)."""
    preload()
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps(os.waitstatus_to_exitcode(status)) + "\n")


def _child(request: dict) -> None:
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        code = main([request["point"], *request["arguments"]])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        sys.exit(main(sys.argv[1:]))
