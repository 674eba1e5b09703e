"""`nrr check DELIVERY_DIR`: what `nrr run` would make of one delivery, without a home.

Nothing is loaded into a home's warehouse and nothing is published: the delivery is landed
into a warehouse in a temporary folder that is deleted afterwards. Every step is the
night's own code, never a copy of it: the landing's inspect_delivery and load_raw_tables
(a delivery `nrr run` rejects is rejected with the same message), the row rules
(gate.apply_row_rules, the night's quarantine step), the dbt build a night with these
settings runs (dbt_project.dbt_build: every model and data test, in the same environment),
the rejection of a delivery without ARR (gate.no_arr_rejection) and the publish gate on
dbt's quarantine (gate.quarantine_gate). What a night checks after dbt, on the reports it
computes (the Great Expectations suites, row counts against the previous report), is not
run. No Dagster here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipeline.dbt_child import WAREHOUSE_VARIABLE
from pipeline.dbt_project import (
    DBT_PROJECT_DIR,
    MANIFEST_PATH,
    built_in_run,
    dbt_build,
    dbt_environment,
    dbt_executable,
)
from pipeline.failures import ErrorLink, exception_chain, infrastructure_cause
from pipeline.gate import (
    QUARANTINE_TABLE,
    REJECTS_TABLE,
    GateVerdict,
    QuarantineGroup,
    apply_row_rules,
    no_arr_rejection,
    quarantine_gate,
    quarantine_groups,
)
from pipeline.landing import Delivery, DeliveryRejected, Limits, inspect_delivery, load_raw_tables
from pipeline.run_summary import money
from pipeline.settings import Settings
from pipeline.warehouse import duckdb_config, warehouse

# What `nrr run` would do with the delivery (pipeline/cli.py maps each to its exit code).
PUBLISH = "publish"
BLOCK = "block"
REJECT = "reject"
FAIL = "fail"  # the check itself could not finish (the machine, dbt could not run)
VERDICT_TEXT = {
    PUBLISH: "`nrr run` would publish this delivery.",
    BLOCK: "`nrr run` would block publishing: nothing would be published.",
    REJECT: "`nrr run` would reject this delivery: nothing would be published.",
    FAIL: "the check could not finish.",
}
# Examples shown per quarantine reason, and billing accounts missing from the CRM named.
EXAMPLES_PER_REASON = 3
MISSING_ACCOUNTS_SHOWN = 10
# The terminal's width for paragraphs, and the longest example detail it shows (a parent
# loop's detail can run to thousands of characters; --json keeps it whole).
WIDTH = 100
DETAIL_SHOWN = 300
# The values that identify a row of each extract in an example (from its raw_record).
ID_COLUMNS = {
    "billing_charges": ("charge_id", "account_id"),
    "crm_accounts": ("account_id",),
    "fx_rates": ("rate_date", "currency"),
    "account_signals": ("account_id", "signal_date", "signal_type"),
}
EXAMPLES_SQL = """
    select extract, reason, row_number, detail, raw_record
    from (
        select *, row_number() over (partition by extract, reason order by row_number) as place
        from {table}
    )
    where place <= ?
    order by extract, reason, row_number
"""
# The row rules' rejects by file and reason, when dbt stopped before valuing them.
REJECT_GROUPS_SQL = f"""
    select source_file, reason, count(*) from {REJECTS_TABLE}
    group by source_file, reason order by source_file, reason
"""


@dataclass(frozen=True)
class Example:
    row_number: int
    ids: dict[str, str | None]
    detail: str


@dataclass(frozen=True)
class ReasonSummary:
    reason: str
    rows: int
    arr_at_stake: Decimal | None  # None: dbt stopped before valuing the quarantine
    unvalued_rows: int | None
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class FileSummary:
    extract: str
    source_file: str  # "": an optional extract that was not delivered
    rows_read: int
    quarantined: int
    reasons: tuple[ReasonSummary, ...]

    @property
    def valid(self) -> int:
        return self.rows_read - self.quarantined


@dataclass(frozen=True)
class MissingAccount:
    account_id: str
    rows: int  # its billing_charges rows
    first_row: int


@dataclass(frozen=True)
class CheckReport:
    folder: Path
    verdict: str  # PUBLISH, BLOCK, REJECT or FAIL
    message: str  # why, in words: the rejection, the failed dbt tests, the gate's verdict
    as_of: date | None = None
    currency: str = ""
    files: tuple[FileSummary, ...] = ()
    valued: bool = False  # whether dbt valued the quarantine (ARR at stake, unvalued rows)
    gate: GateVerdict | None = None
    failed_tests: tuple[str, ...] = ()
    missing_accounts: tuple[MissingAccount, ...] = ()
    unexpected_files: tuple[str, ...] = ()
    rejected_file: str | None = None
    rejected_column: str | None = None

    @property
    def quarantined_rows(self) -> int:
        return sum(f.quarantined for f in self.files)


@dataclass(frozen=True)
class DbtOutcome:
    returncode: int
    run_results: dict[str, Any]
    output: str

    def nodes(self, kind: str, status: str) -> Iterator[dict[str, Any]]:
        for result in self.run_results.get("results", []):
            if result.get("unique_id", "").startswith(f"{kind}.") and result["status"] == status:
                yield result


def check_delivery(
    folder: Path, settings: Settings, say: Callable[[str], None] | None = None
) -> CheckReport:
    """What `nrr run` would decide for the delivery in `folder` with these settings (its
    NRR_HOME is never read or written), and the counts behind it."""
    folder = Path(folder)
    try:
        delivery = inspect_delivery(
            folder.parent, folder.name, settings.reporting_currency, Limits.from_settings(settings)
        )
    except DeliveryRejected as exc:
        return _rejected(folder, exc)
    with tempfile.TemporaryDirectory(prefix="nrr-check-") as scratch:
        work = settings.with_overrides(home=Path(scratch))
        try:
            return _check_landed(delivery, work, say or (lambda _: None))
        except DeliveryRejected as exc:
            return _rejected(folder, exc)
        except (OSError, duckdb.Error) as exc:
            cause = infrastructure_cause(exception_chain(exc), duckdb_config()["memory_limit"])
            if cause is None:
                raise
            return CheckReport(folder, FAIL, cause.sentence())


def _rejected(folder: Path, exc: DeliveryRejected) -> CheckReport:
    return CheckReport(folder, REJECT, str(exc), rejected_file=exc.file, rejected_column=exc.column)


def _check_landed(delivery: Delivery, work: Settings, say: Callable[[str], None]) -> CheckReport:
    with warehouse(work) as con:
        counts = load_raw_tables(con, delivery)
        rules = apply_row_rules(con, work)
    say(
        f"Delivery {delivery.folder.name}: {sum(counts.values()):,} rows read; building the "
        "dbt models in a temporary warehouse, as `nrr run` does..."
    )
    dbt = run_dbt(work, rules.as_of)
    built = dbt.returncode == 0
    valued = built or built_in_run(dbt.run_results, "quarantine")
    with warehouse(work, read_only=True) as con:
        gate = None
        if built or (valued and built_in_run(dbt.run_results, "quarantine_basis")):
            gate = quarantine_gate(
                con, work.quarantine_arr_threshold, work.quarantine_unvalued_rows_threshold
            )
        files = _file_summaries(con, delivery, counts, valued)
        verdict, message, failed = _verdict(con, dbt, gate, rules.as_of)
    missing = tuple(
        MissingAccount(account_id, rows, first_row)
        for account_id, rows, first_row in rules.result.missing_accounts.iter_rows()
    )
    return CheckReport(
        folder=delivery.folder,
        verdict=verdict,
        message=message,
        as_of=rules.as_of,
        currency=work.reporting_currency,
        files=files,
        valued=valued,
        gate=gate,
        failed_tests=failed,
        missing_accounts=missing,
        unexpected_files=delivery.unexpected,
    )


def run_dbt(settings: Settings, as_of: date) -> DbtOutcome:
    """The dbt build a night with these settings runs (dbt_build), on settings.home's
    warehouse, in the environment `nrr run` gives dbt (dbt_environment), through the same
    `nrr-dbt`; its target and logs stay in settings.home."""
    target = settings.home / "dbt_target"
    target.mkdir(parents=True, exist_ok=True)
    saved_parse = MANIFEST_PATH.parent / "partial_parse.msgpack"
    if saved_parse.exists():  # as dagster-dbt does: dbt reuses the project's saved parse
        shutil.copy2(saved_parse, target / saved_parse.name)
    environment = {
        **os.environ,
        **dbt_environment(settings, as_of, os.getpid()),
        # The warehouse by its file name, from its folder (as pipeline/dbt_child.py opens it
        # under `nrr run`): dbt reuses the saved parse only for that profile.
        WAREHOUSE_VARIABLE: settings.warehouse_path.name,
        "DBT_USE_COLORS": "false",
    }
    command = [
        dbt_executable(),
        *dbt_build(settings).command(),
        *("--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)),
        *("--target-path", str(target), "--log-path", str(settings.home / "dbt_logs")),
    ]
    done = subprocess.run(
        command,
        env=environment,
        cwd=settings.warehouse_path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    results = target / "run_results.json"
    run_results = json.loads(results.read_text()) if results.exists() else {}
    return DbtOutcome(done.returncode, run_results, done.stdout + done.stderr)


def _node_name(result: dict[str, Any]) -> str:
    kind, _, name, *_ = result["unique_id"].split(".")
    return f"{kind} {name}"


def _verdict(
    con: duckdb.DuckDBPyConnection, dbt: DbtOutcome, gate: GateVerdict | None, as_of: date
) -> tuple[str, str, tuple[str, ...]]:
    """The verdict in the order `nrr run` decides (cli.failed_run_outcome): the machine, a
    delivery without ARR (rejected), failed data checks (blocked), any other failure."""
    if dbt.returncode == 0:
        assert gate is not None
        return (PUBLISH if gate.passed else BLOCK), gate.message, ()
    cause = infrastructure_cause([ErrorLink("dbt", dbt.output)], duckdb_config()["memory_limit"])
    if cause:
        return FAIL, f"dbt failed: {cause.sentence()}", ()
    if built_in_run(dbt.run_results, "delivery_arr"):
        rejection = no_arr_rejection(con, as_of)
        if rejection:
            return REJECT, str(rejection), ()
    failed = tuple(
        f"dbt {_node_name(r)} failed: {r.get('message') or 'failing rows'}"
        for r in dbt.nodes("test", "fail")
    )
    if failed:
        sentences = ["Publishing would be blocked by failed dbt tests.", *failed]
        if gate is not None:
            sentences.append(f"The quarantine gate: {gate.message}")
        return BLOCK, "\n".join(sentences), failed
    errors = [
        f"dbt {_node_name(r)}: {(r.get('message') or '').strip()}"
        for kind in ("model", "test")
        for r in dbt.nodes(kind, "error")
    ]
    if not errors:
        errors = [line for line in dbt.output.strip().splitlines()[-10:]]
    return FAIL, "dbt failed, as it would under `nrr run`:\n" + "\n".join(errors), ()


def _file_summaries(
    con: duckdb.DuckDBPyConnection, delivery: Delivery, counts: dict[str, int], valued: bool
) -> tuple[FileSummary, ...]:
    """Per extract: rows read, and its quarantine by reason with examples (dbt's valued
    quarantine; the row rules' rejects alone when dbt stopped before valuing them)."""
    if valued:
        groups, table = quarantine_groups(con), QUARANTINE_TABLE
    else:
        groups = [
            QuarantineGroup(file, reason, rows, Decimal(0), 0)
            for file, reason, rows in con.execute(REJECT_GROUPS_SQL).fetchall()
        ]
        table = REJECTS_TABLE
    examples: dict[tuple[str, str], list[Example]] = {}
    for extract, reason, row_number, detail, raw_record in con.execute(
        EXAMPLES_SQL.format(table=table), [EXAMPLES_PER_REASON]
    ).fetchall():
        values = json.loads(raw_record) if raw_record else {}
        ids = {column: values.get(column) for column in ID_COLUMNS[extract]}
        examples.setdefault((extract, reason), []).append(Example(row_number, ids, detail))
    summaries = []
    for name, extract in delivery.files.items():
        reasons = tuple(
            ReasonSummary(
                g.reason,
                g.rows,
                g.arr if valued else None,
                g.unvalued_rows if valued else None,
                tuple(examples.get((name, g.reason), ())),
            )
            for g in groups
            if g.source_file == extract.source_file
        )
        summaries.append(
            FileSummary(
                name,
                extract.source_file,
                int(counts.get(name, 0)),
                sum(r.rows for r in reasons),
                reasons,
            )
        )
    return tuple(summaries)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def report_lines(report: CheckReport) -> list[str]:
    """The report as the terminal shows it."""
    currency = report.currency
    lines = [f"Delivery {report.folder.name} ({_shown(report.folder)})"]
    if report.as_of is not None:
        lines[0] += f", as of {report.as_of.isoformat()}, reporting currency {currency}"
    for f in report.files:
        if not f.source_file:
            lines.append(f"  {f.extract}: not delivered (optional)")
            continue
        lines.append(
            f"  {f.source_file}: {_plural(f.rows_read, 'row')} read, {f.valid:,} valid, "
            f"{f.quarantined:,} quarantined"
        )
        for r in f.reasons:
            valued = ""
            if r.arr_at_stake is not None:
                valued = f", ARR at stake {money(r.arr_at_stake, currency)}"
            if r.unvalued_rows:
                valued += f", {r.unvalued_rows:,} of them cannot be valued"
            lines.append(f"    {r.reason}: {_plural(r.rows, 'row')}{valued}")
            for e in r.examples:
                ids = ", ".join(f"{k} {v}" for k, v in e.ids.items() if v is not None)
                detail = textwrap.shorten(e.detail, DETAIL_SHOWN, placeholder=" ...")
                lines.append(
                    f"      row {e.row_number}" + (f" ({ids})" if ids else "") + f": {detail}"
                )
            if r.rows > len(r.examples):
                lines.append(f"      ... and {r.rows - len(r.examples):,} more")
    if report.files:
        lines.append(_quarantine_line(report))
        lines.append(_missing_line(report.missing_accounts))
    if report.unexpected_files:
        lines.append(
            "  Not extracts (`nrr run` archives them and reads nothing from them): "
            + ", ".join(report.unexpected_files)
        )
    lines += ["", f"Verdict: {VERDICT_TEXT[report.verdict]}"]
    paragraphs = report.message.splitlines()
    if report.verdict == PUBLISH:
        paragraphs.append(
            "(`nrr run` also checks the reports it computes and compares their row counts "
            "with the previous report; `nrr check` does not.)"
        )
    for paragraph in paragraphs:
        lines += textwrap.wrap(
            paragraph,
            WIDTH,
            initial_indent="  ",
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    return lines


def _quarantine_line(report: CheckReport) -> str:
    if not report.quarantined_rows:
        return "  Quarantine: empty."
    line = f"  Quarantine: {_plural(report.quarantined_rows, 'row')}"
    if report.gate is not None:
        line += (
            f", ARR at stake {money(report.gate.arr, report.currency)}, "
            f"{_plural(report.gate.unvalued_rows, 'revenue row')} that cannot be valued"
        )
    elif report.valued:
        arr = sum((r.arr_at_stake or 0 for f in report.files for r in f.reasons), Decimal(0))
        unvalued = sum(r.unvalued_rows or 0 for f in report.files for r in f.reasons)
        line += (
            f", ARR at stake {money(arr, report.currency)}, "
            f"{_plural(unvalued, 'revenue row')} that cannot be valued"
        )
    else:
        line += " (not valued: dbt stopped before its quarantine model)"
    return line + "."


def _missing_line(missing: tuple[MissingAccount, ...]) -> str:
    if not missing:
        return "  Billing accounts missing from the CRM: none."
    shown = "; ".join(
        f"{m.account_id} ({_plural(m.rows, 'charge row')}, first row {m.first_row})"
        for m in missing[:MISSING_ACCOUNTS_SHOWN]
    )
    more = len(missing) - MISSING_ACCOUNTS_SHOWN
    return (
        f"  Billing accounts missing from the CRM: {len(missing):,}: {shown}"
        + (f"; and {more:,} more" if more > 0 else "")
        + "."
    )


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def report_record(report: CheckReport) -> dict[str, Any]:
    """The report as JSON values (`nrr check --json`): amounts as exact decimal text."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, Decimal | Path):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        return value

    record = asdict(report)
    for summary, file in zip(record["files"], report.files, strict=True):
        summary["valid"] = file.valid
    record["quarantined_rows"] = report.quarantined_rows
    return plain(record)
