"""One factory turns each Great Expectations suite into a blocking Dagster asset check.

A suite checks one asset and validates one small frame: a warehouse table's values only of
the columns its expectations read (the raw extracts, the quarantine, the reports), or a frame
built in DuckDB (the bridge's identities, the report against the bridge, the cohorts' exact
decomposition, row counts against the previous report). Row-level invariants of the dbt
marts are dbt tests, which dagster-dbt shows as asset checks of their own.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from pipeline.defs.reports import GATED_QUARANTINE_KEY
from pipeline.defs.resources import NrrSettingsResource
from pipeline.gate import QUARANTINE_TABLE, quarantine_gate
from pipeline.publishing import portable_record, previous_report, published_tables
from pipeline.settings import Settings
from pipeline.validation import (
    BRIDGE_SUMS_QUERY,
    COHORT_DECOMPOSITION_QUERY,
    REPORT_AGREES_QUERY,
    read_frame,
    record_outcome,
    row_count_findings,
    row_count_frame,
    suite_runner,
    validation_query,
)
from pipeline.warehouse import run_as_of, warehouse


@dataclass(frozen=True)
class Frame:
    """What a suite validates: the frame, and sentences to put before the suite's summary."""

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()


def table_frame(table: str) -> Callable:
    def build(con, suite: str, settings: Settings) -> Frame:
        columns = [row[:2] for row in con.execute(f"describe {table}").fetchall()]
        return Frame(read_frame(con, validation_query(suite, table, columns)))

    return build


def query_frame(query: str) -> Callable:
    def build(con, suite: str, settings: Settings) -> Frame:
        return Frame(read_frame(con, query))

    return build


def row_counts(con, suite: str, settings: Settings) -> Frame:
    previous = previous_report(settings)
    tables = {name: source for name, (source, _) in published_tables().items()}
    frame, note = row_count_frame(
        con, tables, previous, portable_record(settings), run_as_of(settings, con)
    )
    findings = row_count_findings(frame, previous.as_of if previous else None)
    return Frame(frame, notes=(note,), failures=tuple(findings))


@dataclass(frozen=True)
class SuiteCheck:
    suite: str  # expectations/<suite>.json
    asset: dg.AssetKey
    build: Callable  # (con, suite, settings) -> Frame


SUITE_CHECKS = (
    SuiteCheck(
        "raw__billing_charges",
        dg.AssetKey(["raw", "billing_charges"]),
        table_frame("raw.billing_charges"),
    ),
    SuiteCheck(
        "raw__crm_accounts", dg.AssetKey(["raw", "crm_accounts"]), table_frame("raw.crm_accounts")
    ),
    SuiteCheck("raw__fx_rates", dg.AssetKey(["raw", "fx_rates"]), table_frame("raw.fx_rates")),
    SuiteCheck("raw__quarantine", GATED_QUARANTINE_KEY, table_frame(QUARANTINE_TABLE)),
    SuiteCheck("fct_arr_bridge", dg.AssetKey("fct_arr_bridge"), query_frame(BRIDGE_SUMS_QUERY)),
    SuiteCheck(
        "rpt_nrr_quarterly", dg.AssetKey("rpt_nrr_quarterly"), table_frame("main.rpt_nrr_quarterly")
    ),
    SuiteCheck(
        "rpt_nrr_quarterly__agrees_with_bridge",
        dg.AssetKey("rpt_nrr_quarterly"),
        query_frame(REPORT_AGREES_QUERY),
    ),
    SuiteCheck(
        "rpt_cohort_retention",
        dg.AssetKey("rpt_cohort_retention"),
        table_frame("main.rpt_cohort_retention"),
    ),
    SuiteCheck(
        "rpt_cohort_retention__decomposes",
        dg.AssetKey("rpt_cohort_retention"),
        query_frame(COHORT_DECOMPOSITION_QUERY),
    ),
    SuiteCheck(
        "rpt_nrr_methods", dg.AssetKey("rpt_nrr_methods"), table_frame("main.rpt_nrr_methods")
    ),
    SuiteCheck("report__row_counts", dg.AssetKey("rpt_nrr_quarterly"), row_counts),
)


def build_suite_check(check: SuiteCheck) -> dg.AssetChecksDefinition:
    name = check.suite

    @dg.asset_check(
        asset=check.asset,
        name=f"{name}_expectations",
        blocking=True,
        description=f"Great Expectations suite expectations/{name}.json; blocks downstream "
        "assets (and publishing) when it fails.",
    )
    def suite_check(
        context: dg.AssetCheckExecutionContext, nrr: NrrSettingsResource
    ) -> dg.AssetCheckResult:
        settings = nrr.settings()
        is_quarantine = check.asset == GATED_QUARANTINE_KEY
        with warehouse(settings, read_only=True) as con:
            built = check.build(con, name, settings)
            gate = (
                quarantine_gate(
                    con,
                    settings.quarantine_arr_threshold,
                    settings.quarantine_unvalued_rows_threshold,
                )
                if is_quarantine
                else None
            )
        outcome = suite_runner(settings.home / "gx").validate(name, built.frame)
        record_outcome(settings.home / "validations" / context.run.run_id, outcome)
        passed = outcome.success
        description = "\n".join([*built.notes, *built.failures, outcome.summary()])
        gate_metadata = {}
        if gate is not None:
            # The money verdict is the gate's, from exact DECIMAL sums; the suite checks shape.
            passed = passed and gate.passed
            description = gate.message + ("" if outcome.success else "\n" + description)
            gate_metadata = {
                "quarantined_rows": gate.rows,
                "quarantined_arr": str(gate.arr),
                "unvalued_revenue_rows": gate.unvalued_rows,
            }
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "evaluated_expectations": outcome.evaluated,
                "failed_expectations": len(outcome.failures),
                "failures": dg.MetadataValue.json(outcome.failures),
                "rows_validated": len(built.frame),
                **gate_metadata,
            },
        )

    return suite_check


def build_suite_checks() -> list[dg.AssetChecksDefinition]:
    return [build_suite_check(check) for check in SUITE_CHECKS]
