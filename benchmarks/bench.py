"""Benchmark: the real nightly job on 10k, 100k and 1M customers over 5 fiscal years.

    python -m benchmarks.bench [--sizes 10000,100000,1000000] [--workdir DIR] [--repeat 3]

Run it from the repository root (`make bench` does), so that `pipeline` is this checkout's.
For each size it generates a Parquet delivery (once; reused when present), runs the job in
a child process (three times by default; every figure is the median of the runs) while
sampling the resident memory of the whole process tree with psutil (dbt runs as a
grandchild), and reads each stage's wall time from the run's step events. The CPU time
(user + system) of the child and everything it started is reported beside the wall time:
on a shared machine it moves less than the wall time. It also times a lower bound on the
same data: one DuckDB query that scans the charges once and aggregates ARR per customer per
quarter. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import psutil

AS_OF = date(2026, 9, 30)
YEARS = 5
STAGES = ("landing", "dbt", "polars", "checks", "publishing")
GIB = 1024**3


def stage_of(step_key: str) -> str:
    if step_key.endswith("_expectations"):
        return "checks"
    if step_key in ("land_delivery", "quarantine"):
        return "landing"
    if step_key == "retention_reports":
        return "polars"
    if step_key == "published_report":
        return "publishing"
    return "dbt"


def tree_rss_bytes(root: psutil.Process) -> int:
    """Resident memory of a process and all its descendants (0 once it has exited).
    Processes that end between listing and reading count as nothing."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's waited-for children and their own
    waited-for descendants (dbt is waited for by the run, the run by us)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_child(extracts: Path, home: Path, timings: Path) -> None:
    """In the child process: run the job once, write step timings as JSON."""
    import dagster as dg

    from pipeline.defs.dbt import prepare_manifest

    prepare_manifest()
    from pipeline.definitions import NIGHTLY_JOB, build_definitions, landing_run_config
    from pipeline.settings import settings_from_env
    from pipeline.validation import suite_runner

    settings = settings_from_env().with_overrides(extracts_dir=extracts, home=home)
    started = time.perf_counter()
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config=landing_run_config(None), instance=instance, raise_on_error=False
        )
        entries = [e for e in instance.all_logs(result.run_id) if e.dagster_event is not None]
    seconds = dict.fromkeys(STAGES, 0.0)
    starts: dict[str, float] = {}
    intervals = []
    run_started_at = None
    for entry in entries:
        kind, step = entry.dagster_event.event_type_value, entry.dagster_event.step_key
        if kind == dg.DagsterEventType.RUN_START.value:
            run_started_at = entry.timestamp
        elif kind == "STEP_START":
            starts[step] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds[stage_of(step)] += entry.timestamp - starts[step]
            intervals.append((stage_of(step), starts[step], entry.timestamp))
    timings.write_text(
        json.dumps(
            {
                "success": result.success,
                "stages": seconds,
                "intervals": intervals,
                "job_seconds": time.perf_counter() - started,
                "run_started_at": run_started_at,
                "dbt_nodes_seconds": _dbt_nodes_seconds(settings.home / "dbt_target"),
                "ge_startup_seconds": suite_runner(settings.home / "gx").startup_seconds,
            }
        )
    )


def _dbt_nodes_seconds(target: Path) -> float:
    """Wall time from the first dbt node starting to the last finishing (run_results.json):
    the dbt step minus this is dbt's fixed cost (start-up, parse, connection)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    stamps = [
        datetime.fromisoformat(t[key].replace("Z", "+00:00")).timestamp()
        for r in results
        for t in r["timing"]
        for key in ("started_at", "completed_at")
        if t.get(key)
    ]
    return max(stamps) - min(stamps)


def lower_bound_seconds(charges: Path, warehouse: Path) -> float:
    """One scan of the charges: ARR per account per quarter snapshot, in DuckDB. The
    snapshots are the report's, read from the run's warehouse (int_fiscal_quarters)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as run:
        snapshots = run.execute(
            "select quarter_index, snapshot_date from main.int_fiscal_quarters order by 1"
        ).fetchall()
    con = duckdb.connect()
    values = ", ".join(f"({i}, date '{s}')" for i, s in snapshots)
    query = f"""
        select account_id, quarter_index,
               sum(cast(amount as decimal(18, 4)) * 12 / cast(billing_period_months as integer))
        from read_parquet('{charges}') as c
        join (values {values}) as q(quarter_index, snapshot_date)
          on cast(c.effective_start as date) <= q.snapshot_date
         and (c.effective_end is null or q.snapshot_date < cast(c.effective_end as date))
        where c.charge_type in ('recurring', 'usage')
        group by account_id, quarter_index
    """
    started = time.perf_counter()
    con.execute(f"create temp table lower_bound as {query}")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def measure(size: int, workdir: Path) -> dict:
    from pipeline.generate import GenerateOptions, generate

    extracts = workdir / f"extracts-{size}"
    delivery = extracts / AS_OF.isoformat()
    if not (delivery / "billing_charges.parquet").exists():
        started = time.perf_counter()
        generate(
            GenerateOptions(
                out=extracts,
                customers=size,
                seed=2026,
                as_of=AS_OF,
                years=YEARS,
                file_format="parquet",
                chunk_customers=50_000,
                bad_rows=False,
            )
        )
        print(
            f"generated {size:,} customers in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    import pyarrow.parquet as pq

    rows_in = sum(
        pq.ParquetFile(delivery / f"{name}.parquet").metadata.num_rows
        for name in ("billing_charges", "crm_accounts", "fx_rates")
    )
    home = workdir / f"home-{size}"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    timings = workdir / f"timings-{size}.json"
    samples: list[tuple[float, int]] = []
    cpu_before = children_cpu_seconds()
    started, launched_at = time.perf_counter(), time.time()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bench",
            "--child",
            str(extracts),
            str(home),
            str(timings),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / f"run-{size}.log", "w"),  # noqa: SIM115
    )
    done = threading.Event()
    process = psutil.Process(child.pid)

    def sample() -> None:
        while not done.is_set():
            samples.append((time.time(), tree_rss_bytes(process)))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    child.wait()
    wall = time.perf_counter() - started
    cpu = children_cpu_seconds() - cpu_before
    done.set()
    sampler.join()
    result = json.loads(timings.read_text())
    lower = lower_bound_seconds(delivery / "billing_charges.parquet", home / "warehouse.duckdb")
    stage_peaks = dict.fromkeys(STAGES, 0)
    for stage, begin, end in result["intervals"]:
        inside = [rss for at, rss in samples if begin <= at <= end]
        stage_peaks[stage] = max([stage_peaks[stage], *inside])
    return {
        "customers": size,
        "rows_in": rows_in,
        "success": result["success"],
        "stages": result["stages"],
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "peak_rss_gb": max((rss for _, rss in samples), default=0) / GIB,
        "stage_peak_rss_gb": {k: v / GIB for k, v in stage_peaks.items()},
        "lower_bound_seconds": lower,
        "fixed_seconds": {
            "start-up to first step": result["run_started_at"] - launched_at,
            "dbt start-up and parse": result["stages"]["dbt"] - result["dbt_nodes_seconds"],
            "Great Expectations import and context": result["ge_startup_seconds"],
        },
    }


def median_of(runs: list[dict]) -> dict:
    """One result from repeated runs of a size: the median of every figure (stage times,
    totals, memory, the lower bound timed in the same runs), ok only when every run was."""

    def middle(values: list) -> float | dict:
        if isinstance(values[0], dict):
            return {key: middle([v[key] for v in values]) for key in values[0]}
        return statistics.median(values)

    numeric = (
        "stages",
        "wall_seconds",
        "cpu_seconds",
        "peak_rss_gb",
        "stage_peak_rss_gb",
        "lower_bound_seconds",
        "fixed_seconds",
    )
    return {
        **runs[0],
        **{key: middle([r[key] for r in runs]) for key in numeric},
        "success": all(r["success"] for r in runs),
        "runs": len(runs),
        "wall_seconds_each": [r["wall_seconds"] for r in runs],
        "cpu_seconds_each": [r["cpu_seconds"] for r in runs],
    }


def table(results: list[dict]) -> str:
    header = [
        "customers",
        "rows in",
        *[f"{s} s" for s in STAGES],
        "total s",
        "peak RSS GB",
        "rows/s",
        "lower bound s",
        "dbt / lower bound",
        "ok",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        stages = [f"{r['stages'][s]:.1f}" for s in STAGES]
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{r['customers']:,}",
                    f"{r['rows_in']:,}",
                    *stages,
                    f"{r['wall_seconds']:.1f}",
                    f"{r['peak_rss_gb']:.2f}",
                    f"{r['rows_in'] / r['wall_seconds']:,.0f}",
                    f"{r['lower_bound_seconds']:.2f}",
                    f"{r['stages']['dbt'] / r['lower_bound_seconds']:.1f}x",
                    "yes" if r["success"] else "FAILED",
                ]
            )
            + " |"
        )
    lines += [
        "",
        "| customers | " + " | ".join(f"{s} peak RSS GB" for s in STAGES) + " |",
        "|" + "---|" * (len(STAGES) + 1),
    ]
    for r in results:
        lines.append(
            f"| {r['customers']:,} | "
            + " | ".join(f"{r['stage_peak_rss_gb'][s]:.2f}" for s in STAGES)
            + " |"
        )
    fixed = list(results[0]["fixed_seconds"])
    lines += [
        "",
        "| customers | " + " | ".join(f"{name} s" for name in fixed) + " | fixed overhead s |",
        "|" + "---|" * (len(fixed) + 2),
    ]
    for r in results:
        parts = [r["fixed_seconds"][name] for name in fixed]
        lines.append(
            f"| {r['customers']:,} | "
            + " | ".join(f"{p:.1f}" for p in parts)
            + f" | {sum(parts):.1f} |"
        )
    lines += [
        "",
        "| customers | total s | CPU s (user + system, whole process tree) |",
        "|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['customers']:,} | {r['wall_seconds']:.1f} | {r['cpu_seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median)")
    parser.add_argument(
        "--child", nargs=3, metavar=("EXTRACTS", "HOME", "TIMINGS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        _run_child(*(Path(p) for p in args.child))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        runs = [measure(size, args.workdir) for _ in range(args.repeat)]
        results.append(median_of(runs))
        print(table(results[-1:]).splitlines()[2], file=sys.stderr)
    print(table(results))
    (args.workdir / "results.json").write_text(json.dumps(results, indent=2))
    return 0 if all(r["success"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
