"""One factory turns each Great Expectations suite into a blocking Dagster asset check."""

import dagster as dg

from pipeline.gate import QUARANTINE_TABLE, quarantine_gate
from pipeline.resources import NrrSettingsResource, warehouse
from pipeline.validation import read_frame, suite_runner, validation_query

# The gated quarantine is dbt's model `quarantine` (valued there): its check runs after dbt,
# before publishing (published_report depends on it). Its suite keeps its name.
QUARANTINE_MODEL_KEY = dg.AssetKey("quarantine")
SUITE_NAMES = {QUARANTINE_MODEL_KEY: "raw__quarantine"}

# Checked asset -> warehouse table. The suite is expectations/<asset key joined by __>.json.
CHECKED_TABLES: dict[dg.AssetKey, str] = {
    dg.AssetKey(["raw", "billing_charges"]): "raw.billing_charges",
    dg.AssetKey(["raw", "crm_accounts"]): "raw.crm_accounts",
    dg.AssetKey(["raw", "fx_rates"]): "raw.fx_rates",
    QUARANTINE_MODEL_KEY: QUARANTINE_TABLE,
    dg.AssetKey("fct_arr_movements"): "main.fct_arr_movements",
    dg.AssetKey("rpt_nrr_quarterly"): "main.rpt_nrr_quarterly",
    dg.AssetKey("rpt_cohort_retention"): "main.rpt_cohort_retention",
}


def suite_name(asset_key: dg.AssetKey) -> str:
    return SUITE_NAMES.get(asset_key) or "__".join(asset_key.path)


def build_suite_check(asset_key: dg.AssetKey, table: str) -> dg.AssetChecksDefinition:
    name = suite_name(asset_key)

    @dg.asset_check(
        asset=asset_key,
        name=f"{name}_expectations",
        blocking=True,
        description=f"Great Expectations suite expectations/{name}.json; blocks downstream "
        "assets (and publishing) when it fails.",
    )
    def suite_check(
        context: dg.AssetCheckExecutionContext, nrr: NrrSettingsResource
    ) -> dg.AssetCheckResult:
        settings = nrr.settings()
        is_quarantine = asset_key == QUARANTINE_MODEL_KEY
        with warehouse(settings, read_only=True) as con:
            table_columns = [row[:2] for row in con.execute(f"describe {table}").fetchall()]
            frame = read_frame(con, validation_query(name, table, table_columns))
            gate = (
                quarantine_gate(
                    con,
                    settings.quarantine_arr_threshold,
                    settings.quarantine_unvalued_rows_threshold,
                )
                if is_quarantine
                else None
            )
        outcome = suite_runner(settings.home / "gx").validate(name, frame)
        outcome.save(settings.home / "validations" / context.run.run_id / f"{name}.json")
        passed, description = outcome.success, outcome.summary()
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
                "rows_validated": len(frame),
                **gate_metadata,
            },
        )

    return suite_check


def build_suite_checks() -> list[dg.AssetChecksDefinition]:
    return [build_suite_check(key, table) for key, table in CHECKED_TABLES.items()]
