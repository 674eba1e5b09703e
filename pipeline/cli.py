"""The `nrr` command: generate sample extracts, run the nightly job, run the demo.

Exit codes of `nrr run`: 0 the job succeeded; 3 the delivery was rejected (nothing loaded);
4 a blocking data-quality check failed (nothing published); 1 any other failure;
2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.settings import Settings, SettingsError, settings_from_env

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_BLOCKED = 4

# Exception class names whose message is meant for the user as it is.
USER_FACING_ERRORS = {"DeliveryRejected": EXIT_REJECTED, "PublishingBlocked": EXIT_BLOCKED}


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
        if name == "run":
            sub.add_argument("--delivery", help="delivery folder YYYY-MM-DD (default: latest)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return settings_from_env().with_overrides(
        extracts_dir=args.extracts, home=args.home, as_of=args.as_of
    )


def _user_error(error) -> tuple[str, int] | None:
    """The first user-facing exception in a Dagster error chain, with its exit code."""
    while error is not None:
        if error.cls_name in USER_FACING_ERRORS:
            return error.message.split(": ", 1)[-1].strip(), USER_FACING_ERRORS[error.cls_name]
        error = error.cause
    return None


def run_job(settings: Settings, delivery: str | None = None) -> RunOutcome:
    """Run nightly_nrr_job in-process, the same job the schedule runs."""
    import dagster as dg

    from pipeline.assets.dbt import prepare_manifest

    prepare_manifest()
    from pipeline.definitions import NIGHTLY_JOB, build_definitions

    defs = build_definitions(settings)
    job = defs.resolve_job_def(NIGHTLY_JOB)
    run_config = {"ops": {"land_delivery": {"config": {"delivery": delivery}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
    if result.success:
        return RunOutcome(EXIT_OK, f"Nightly job succeeded. Warehouse: {settings.warehouse_path}")
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            found = _user_error(error)
            if found:
                return RunOutcome(found[1], found[0])
            return RunOutcome(
                EXIT_FAILED,
                f"Step {event.step_key} failed: {error.message.strip()}",
            )
    return RunOutcome(EXIT_FAILED, "The nightly job failed; see the Dagster log above.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"nrr: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "demo":
        from pipeline.generate import GenerateOptions, generate
        from pipeline.landing import list_deliveries

        if not list_deliveries(settings.extracts_dir):
            folder = generate(GenerateOptions(out=settings.extracts_dir))
            print(f"Generated sample delivery {folder}")
    outcome = run_job(settings, getattr(args, "delivery", None))
    stream = sys.stdout if outcome.exit_code == EXIT_OK else sys.stderr
    print(outcome.message, file=stream)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
