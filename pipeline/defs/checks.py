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
from pipeline.retention import MONTH, QUARTER, Grain
from pipeline.settings import Settings
from pipeline.validation import (
    GRAIN_SEPARATOR,
    bridge_sums_query,
    cohort_decomposition_query,
    read_frame,
    record_outcome,
    report_agrees_query,
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
    tables = {
        name: source for name, (source, _) in published_tables(settings.builds_months).items()
    }
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


def grain_checks(grain: Grain) -> tuple[SuiteCheck, ...]:
    """The suites of the marts and reports kept per grain: at the month grain, the same
    suites on the monthly tables (suite@month: expectations/<suite>.json, period columns
    renamed; validation.suite_definition)."""
    monthly = grain == MONTH
    suffix = f"{GRAIN_SEPARATOR}{grain.name}" if monthly else ""
    nrr = "rpt_nrr_monthly" if monthly else "rpt_nrr_quarterly"
    cohorts = "rpt_cohort_retention_monthly" if monthly else "rpt_cohort_retention"
    return (
        SuiteCheck(
            f"fct_arr_bridge{suffix}",
            dg.AssetKey(grain.bridge),
            query_frame(bridge_sums_query(grain)),
        ),
        SuiteCheck(f"rpt_nrr_quarterly{suffix}", dg.AssetKey(nrr), table_frame(f"main.{nrr}")),
        SuiteCheck(
            f"rpt_nrr_quarterly__agrees_with_bridge{suffix}",
            dg.AssetKey(nrr),
            query_frame(report_agrees_query(grain)),
        ),
        SuiteCheck(
            f"rpt_cohort_retention{suffix}", dg.AssetKey(cohorts), table_frame(f"main.{cohorts}")
        ),
        SuiteCheck(
            f"rpt_cohort_retention__decomposes{suffix}",
            dg.AssetKey(cohorts),
            query_frame(cohort_decomposition_query(grain)),
        ),
    )


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
    SuiteCheck(
        "raw__account_signals",
        dg.AssetKey(["raw", "account_signals"]),
        table_frame("raw.account_signals"),
    ),
    SuiteCheck("raw__quarantine", GATED_QUARANTINE_KEY, table_frame(QUARANTINE_TABLE)),
    *grain_checks(QUARTER),
    SuiteCheck(
        "rpt_nrr_methods", dg.AssetKey("rpt_nrr_methods"), table_frame("main.rpt_nrr_methods")
    ),
    SuiteCheck("report__row_counts", dg.AssetKey("rpt_nrr_quarterly"), row_counts),
    SuiteCheck(
        "rpt_account_watchlist",
        dg.AssetKey("rpt_account_watchlist"),
        table_frame("main.rpt_account_watchlist"),
    ),
)
# The monthly tables' suites, checked when NRR_PERIODS builds months.
MONTHLY_SUITE_CHECKS = grain_checks(MONTH)


def build_suite_check(check: SuiteCheck) -> dg.AssetChecksDefinition:
    name = check.suite
    check_name = name.replace(GRAIN_SEPARATOR, "_")  # Dagster names: letters, digits, _

    @dg.asset_check(
        asset=check.asset,
        name=f"{check_name}_expectations",
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


def build_suite_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    """Every suite's blocking check; the monthly tables' only when months are built."""
    checks = (*SUITE_CHECKS, *(MONTHLY_SUITE_CHECKS if settings.builds_months else ()))
    return [build_suite_check(check) for check in checks]
