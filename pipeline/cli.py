"""The `nrr` command: generate sample extracts, run the nightly job, run the demo.

Exit codes of `nrr run`: 0 the report was published (or already was); 3 the delivery was
rejected (nothing loaded); 4 a blocking data-quality check failed (nothing published);
5 another run holds this home; 1 any other failure; 2 bad arguments or settings.
`nrr check` answers with the code `nrr run` would give: 0 it would publish, 4 block,
3 reject; 2 bad arguments or settings; 1 the check could not finish.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from pipeline.failures import (
    error_info_chain,
    infrastructure_cause,
    infrastructure_message,
    step_failure_message,
)
from pipeline.locking import (
    HomeNotWritable,
    RunInProgress,
    acquire_home_lock,
    check_home_writable,
    release_home_lock,
)
from pipeline.progress import StageProgress, is_warning
from pipeline.settings import Settings, SettingsError, settings_from_env

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_BLOCKED = 4
EXIT_BUSY = 5

# Exception class names whose message is meant for the user as it is.
USER_FACING_ERRORS = {
    "DeliveryRejected": EXIT_REJECTED,
    "RunInProgress": EXIT_BUSY,
    "HomeNotWritable": EXIT_USAGE,
}


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    message: str


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nrr", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a deterministic sample delivery")
    generate.add_argument("--out", type=Path, required=True, help="extracts root to write into")
    generate.add_argument("--customers", type=int, default=3000)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument(
        "--as-of",
        type=_date,
        default=date(2026, 9, 30),
        help="delivery date, the folder name (default 2026-09-30)",
    )
    generate.add_argument("--years", type=int, default=3, help="years of history (default 3)")
    generate.add_argument("--format", choices=("csv", "parquet"), default="csv")
    generate.add_argument(
        "--no-bad-rows",
        action="store_true",
        help="omit the few deliberately broken rows that show the quarantine",
    )

    for name, text in (
        ("run", "run the nightly job once, in-process"),
        ("demo", "generate sample extracts if none exist, then run"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--extracts", type=Path, help="extracts root (NRR_EXTRACTS_DIR)")
        sub.add_argument("--home", type=Path, help="working directory (NRR_HOME)")
        sub.add_argument("--as-of", type=_date, help="reporting date (NRR_AS_OF)")
        sub.add_argument(
            "--force", action="store_true", help="run even when this delivery is already published"
        )
        sub.add_argument(
            "--verbose",
            "-v",
            action="store_true",
            help="stream the full Dagster and dbt log (always written to NRR_HOME/logs/)",
        )
        if name == "run":
            sub.add_argument("--delivery", help="delivery folder YYYY-MM-DD (default: latest)")
    check = commands.add_parser(
        "check",
        help="what `nrr run` would make of one delivery folder, without loading or publishing",
        description="Land one delivery folder into a temporary warehouse (deleted afterwards), "
        "apply the row rules, build the dbt models and report per file the rows read, valid "
        "and quarantined (by reason, with examples), the ARR at stake, billing accounts "
        "missing from the CRM and the gate's verdict. Settings come from the environment, as "
        "for `nrr run`; no NRR_HOME is read or written. Exit 0: it would publish; 4: it would "
        "block; 3: it would reject the delivery; 2: bad arguments or settings; 1: the check "
        "could not finish.",
    )
    check.add_argument(
        "delivery_dir",
        type=Path,
        metavar="DELIVERY_DIR",
        help="the delivery folder, e.g. extracts/2026-09-30",
    )
    check.add_argument("--as-of", type=_date, help="reporting date (NRR_AS_OF)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    from pipeline.adapters import ADAPTERS

    adapt = commands.add_parser(
        "adapt",
        help="turn a billing or CRM system's exported tables into a delivery (Stripe, ...)",
        description="Map the tables a connector lands (one CSV or Parquet file per source "
        "table, named after the table, e.g. subscription_item.csv) into the contract's "
        "extracts in EXTRACTS_ROOT/DELIVERY/. Run a billing source and then a CRM source "
        "into the same delivery; without a CRM, crm_accounts is derived from the billing "
        "customers. Mappings: docs/sources.md. Exit 0: written; 3: the export lacks a table "
        "or column (named); 2: bad arguments; 1: the mapping failed.",
        epilog="sources: "
        + "; ".join(f"{a.name} ({a.kind}: {a.description})" for a in ADAPTERS.values()),
    )
    adapt.add_argument(
        "source", choices=tuple(ADAPTERS), metavar="SOURCE", help=", ".join(ADAPTERS)
    )
    adapt.add_argument("source_dir", type=Path, metavar="SOURCE_DIR", help="the exported tables")
    adapt.add_argument("--out", type=Path, required=True, help="extracts root to write into")
    adapt.add_argument(
        "--delivery", type=_date, required=True, help="delivery date YYYY-MM-DD, the folder name"
    )
    adapt.add_argument(
        "--vars",
        default="{}",
        help="the mapping's settings as JSON, e.g. '{\"salesforce_segment_column\": "
        '"type"}\' (docs/sources.md lists them)',
    )
    ui = commands.add_parser(
        "ui",
        help="start the Dagster UI and daemon (schedule) on this home's instance, on 127.0.0.1",
    )
    ui.add_argument("--extracts", type=Path, help="extracts root (NRR_EXTRACTS_DIR)")
    ui.add_argument("--home", type=Path, help="working directory (NRR_HOME)")
    ui.add_argument("--port", type=int, default=3000, help="web port (default 3000)")
    return parser


def ui_command(settings: Settings, port: int) -> tuple[list[str], dict[str, str]]:
    """`dagster dev` (webserver and daemon) on the home's persistent instance, bound to
    127.0.0.1; the code location reads its settings from the environment it is given."""
    from pipeline.instance import ensure_dagster_home

    beside = Path(sys.executable).parent / "dagster"
    executable = str(beside) if beside.exists() else "dagster"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(ensure_dagster_home(settings.home)),
        "NRR_HOME": str(settings.home),
        "NRR_EXTRACTS_DIR": str(settings.extracts_dir),
    }
    if settings.as_of is not None:
        env["NRR_AS_OF"] = settings.as_of.isoformat()
    argv = [
        executable,
        "dev",
        "--module-name",
        "pipeline.definitions",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return argv, env


def _ui(settings: Settings, port: int) -> int:
    from pipeline.defs.dbt import prepare_manifest

    prepare_manifest()
    argv, env = ui_command(settings, port)
    print(
        f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={env['DAGSTER_HOME']}); "
        "Ctrl-C stops it."
    )
    try:
        return subprocess.call(argv, env=env)
    except KeyboardInterrupt:
        return EXIT_OK


def _settings(args: argparse.Namespace) -> Settings:
    return settings_from_env().with_overrides(
        extracts_dir=args.extracts, home=args.home, as_of=getattr(args, "as_of", None)
    )


def _user_error(error) -> tuple[str, int] | None:
    """The first user-facing exception in a Dagster error chain, with its exit code."""
    while error is not None:
        if error.cls_name in USER_FACING_ERRORS:
            return error.message.split(": ", 1)[-1].strip(), USER_FACING_ERRORS[error.cls_name]
        error = error.cause
    return None


# dagster-dbt's metadata "status" of a dbt test that could not run (as opposed to "fail").
DBT_ERROR_STATUS = "error"


def _check_status(evaluation) -> str | None:
    status = evaluation.metadata.get("status")
    return getattr(status, "value", status)


def failed_data_checks(evaluations) -> list:
    """Checks that ran and found bad data. A dbt test that errored (it could not run: the disk
    was full, the warehouse locked) found nothing: its step fails, and says why. A warning
    (the freshness check) never blocks."""
    return [
        e
        for e in evaluations
        if not e.passed and _check_status(e) != DBT_ERROR_STATUS and not is_warning(e)
    ]


def _blocked(evaluations) -> str | None:
    """The failed blocking checks of a run, one paragraph each."""
    failed = failed_data_checks(evaluations)
    if not failed:
        return None
    lines = ["Publishing was blocked: the last good report was left as it was."]
    for evaluation in failed:
        lines.append(
            f"Check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
            f"failed. {evaluation.description or ''}".strip()
        )
    return "\n".join(lines)


def _machine_failure(failures, memory_limit: str | None) -> RunOutcome | None:
    """The first step that failed for the machine's reason (disk, memory, a locked warehouse)."""
    for step, error in failures:
        links = error_info_chain(error)
        cause = infrastructure_cause(links, memory_limit)
        if cause:
            return RunOutcome(EXIT_FAILED, infrastructure_message(step, links, cause))
    return None


def failed_run_outcome(failures, evaluations, memory_limit: str | None = None) -> RunOutcome:
    """Why a run failed, from its failed steps ((step key, Dagster error info), in order) and
    its check evaluations. The machine first: checks that ran on a machine that failed prove
    nothing; then a user-facing error (a rejected delivery: its empty marts' failed tests are
    a consequence); then blocked checks; then the first failed step's own error."""
    outcome = _machine_failure(failures, memory_limit)
    if outcome:
        return outcome
    # A rejected delivery (one without ARR fails its marts' tests on the way) is rejected.
    for _, error in failures:
        found = _user_error(error)
        if found:
            return RunOutcome(found[1], found[0])
    blocked = _blocked(evaluations)
    if blocked:
        return RunOutcome(EXIT_BLOCKED, blocked)
    if failures:
        step, error = failures[0]
        return RunOutcome(EXIT_FAILED, step_failure_message(step, error_info_chain(error)))
    return RunOutcome(EXIT_FAILED, "The nightly job failed; see the log file named above.")


@dataclass
class Console:
    """Where `nrr run` talks: progress and the summary on `out`; with verbose, the full
    Dagster and dbt log is streamed to `err` as well as written to the log file."""

    out: TextIO
    err: TextIO
    verbose: bool = False

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def new_log_path(settings: Settings) -> Path:
    """NRR_HOME/logs/nrr-run-<UTC time>.log, a new file per run."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return settings.logs_dir / f"nrr-run-{stamp}.log"


def shown_path(path: Path) -> str:
    """A path relative to the working directory when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Tee(io.TextIOBase):
    def __init__(self, *streams: TextIO):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


@contextmanager
def log_to_file(path: Path, echo: TextIO | None = None) -> Iterator[TextIO]:
    """While the job runs, everything this process prints (Dagster's console log, dbt's
    output relayed by dagster-dbt, warnings, tracebacks) goes to the log file, and to
    `echo` as well when given (--verbose: the terminal's stderr)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        sink: TextIO = _Tee(file, echo) if echo is not None else file
        with redirect_stdout(sink), redirect_stderr(sink):
            yield sink


def run_job(
    settings: Settings,
    delivery: str | None = None,
    force: bool = False,
    console: Console | None = None,
) -> RunOutcome:
    """Run nightly_nrr_job in-process, the same job the schedule runs, under the home's lock."""
    console = console or Console(sys.stdout, sys.stderr)
    try:
        acquire_home_lock(settings.home)
    except RunInProgress as exc:
        return RunOutcome(EXIT_BUSY, str(exc))
    except HomeNotWritable as exc:
        return RunOutcome(EXIT_USAGE, str(exc))
    try:
        return _run_locked(settings, delivery, force, console)
    finally:
        release_home_lock(settings.home)


def _run_locked(
    settings: Settings, delivery: str | None, force: bool, console: Console
) -> RunOutcome:
    from pipeline.nightly import plan_nightly_run

    plan = plan_nightly_run(settings, delivery, force)
    if not plan.should_run:
        return RunOutcome(EXIT_OK, plan.reason)
    log_path = new_log_path(settings)
    console.say(
        f"Running delivery {plan.delivery or delivery or '(latest)'}; full log: "
        f"{shown_path(log_path)}"
    )
    with log_to_file(log_path, console.err if console.verbose else None) as log:
        outcome, progress = _execute(settings, plan.delivery or delivery, force, console, log)
    for warning in progress.warnings:
        console.say(f"Warning: {warning}")
    if outcome.exit_code == EXIT_OK and not progress.materialized["publishing"]:
        # The job's own check found the delivery published meanwhile (another process).
        return RunOutcome(EXIT_OK, "The job skipped this delivery; nothing was published.")
    if outcome.exit_code == EXIT_OK:
        from pipeline.run_summary import read_summary, summary_lines

        summary = read_summary(settings.reports_dir / "latest")
        return RunOutcome(EXIT_OK, "\n".join(["", *summary_lines(summary)]))
    return outcome


def _execute(
    settings: Settings, delivery: str | None, force: bool, console: Console, log: TextIO
) -> tuple[RunOutcome, StageProgress]:
    """The job in-process on the home's persistent Dagster instance; Dagster's and dbt's log
    goes to `log` (the terminal shows one line per stage)."""
    import dagster as dg

    from pipeline.defs.dbt import prepare_manifest
    from pipeline.instance import ensure_dagster_home
    from pipeline.warehouse import duckdb_config

    prepare_manifest()
    from pipeline.definitions import NIGHTLY_JOB, build_definitions, landing_run_config

    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    progress = StageProgress(console.out, job.graph.node_names())
    run_id = str(uuid.uuid4())
    with dg.DagsterInstance.from_config(str(ensure_dagster_home(settings.home))) as instance:
        instance.add_event_listener(run_id, progress.on_event)
        result = job.execute_in_process(
            run_config=landing_run_config(delivery, force),
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            tags={"delivery": delivery or "latest", "started_by": "nrr run"},
        )
    if result.success:
        return RunOutcome(EXIT_OK, ""), progress
    failures = [
        (event.step_key, event.step_failure_data.error)
        for event in result.all_events
        if event.is_step_failure
    ]
    for step, error in failures:
        print(f"\n--- step {step} failed ---\n{error.to_string()}", file=log, flush=True)
    outcome = failed_run_outcome(
        failures, result.get_asset_check_evaluations(), duckdb_config()["memory_limit"]
    )
    return outcome, progress


def _check(args: argparse.Namespace) -> int:
    """`nrr check`: the verdict `nrr run` would reach on one delivery, as its exit code."""
    import json

    from pipeline.check import BLOCK, PUBLISH, REJECT, check_delivery, report_lines, report_record
    from pipeline.landing import list_deliveries

    folder = Path(os.path.abspath(args.delivery_dir))  # as named: a link stays a link
    if folder.name not in list_deliveries(folder.parent):
        print(
            f"nrr: {args.delivery_dir} is not a delivery folder: a folder named by the "
            "delivery's date, YYYY-MM-DD, such as extracts/2026-09-30.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        settings = settings_from_env().with_overrides(as_of=args.as_of)
    except SettingsError as exc:
        print(f"nrr: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = check_delivery(folder, settings, lambda text: print(text, file=sys.stderr))
    codes = {PUBLISH: EXIT_OK, BLOCK: EXIT_BLOCKED, REJECT: EXIT_REJECTED}
    code = codes.get(report.verdict, EXIT_FAILED)
    if args.json:
        print(json.dumps({**report_record(report), "exit_code": code}, indent=2))
    else:
        print("\n".join(report_lines(report)))
    return code


def _adapt(args: argparse.Namespace) -> int:
    """`nrr adapt`: a source system's tables into a contract delivery."""
    import json

    from pipeline.adapters import AdapterError, AdapterFailed, adapt

    try:
        variables = json.loads(args.vars)
        if not isinstance(variables, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        print(f"nrr: --vars must be a JSON object ({exc})", file=sys.stderr)
        return EXIT_USAGE
    if not args.source_dir.is_dir():
        print(f"nrr: {args.source_dir}: no such folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = adapt(args.source, args.source_dir, args.out, args.delivery, variables)
    except AdapterFailed as exc:
        print(f"nrr: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except AdapterError as exc:
        print(f"nrr: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    for name, rows in result.written.items():
        print(f"Wrote {result.folder / name}: {rows:,} rows")
    for note in result.notes:
        print(f"Note: {note}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "adapt":
        return _adapt(args)
    if args.command == "generate":
        from pipeline.generate import GenerateOptions, generate

        folder = generate(
            GenerateOptions(
                out=args.out,
                customers=args.customers,
                seed=args.seed,
                as_of=args.as_of,
                years=args.years,
                file_format=args.format,
                bad_rows=not args.no_bad_rows,
            )
        )
        print(f"Wrote delivery {folder}")
        return EXIT_OK
    if args.command == "check":
        return _check(args)
    try:
        settings = _settings(args)
        check_home_writable(settings.home)
    except (SettingsError, HomeNotWritable) as exc:
        print(f"nrr: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "ui":
        return _ui(settings, args.port)
    if args.command == "demo":
        from pipeline.generate import GenerateOptions, generate
        from pipeline.landing import list_deliveries

        if not list_deliveries(settings.extracts_dir):
            folder = generate(GenerateOptions(out=settings.extracts_dir))
            print(f"Generated sample delivery {folder}")
    console = Console(sys.stdout, sys.stderr, verbose=args.verbose)
    outcome = run_job(settings, getattr(args, "delivery", None), args.force, console)
    stream = sys.stdout if outcome.exit_code == EXIT_OK else sys.stderr
    print(outcome.message, file=stream)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
