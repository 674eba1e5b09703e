"""One factory turns each Great Expectations suite into a blocking Dagster asset check."""

from decimal import Decimal

import dagster as dg

from pipeline.resources import NrrSettingsResource, warehouse
from pipeline.settings import Settings
from pipeline.validation import read_frame, suite_runner, validation_query

# Checked asset -> warehouse table. The suite is expectations/<asset key joined by __>.json.
CHECKED_TABLES: dict[dg.AssetKey, str] = {
    dg.AssetKey(["raw", "billing_charges"]): "raw.billing_charges",
    dg.AssetKey(["raw", "crm_accounts"]): "raw.crm_accounts",
    dg.AssetKey(["raw", "fx_rates"]): "raw.fx_rates",
    dg.AssetKey(["raw", "quarantine"]): "raw.quarantine",
    dg.AssetKey("fct_arr_movements"): "main.fct_arr_movements",
    dg.AssetKey("rpt_nrr_quarterly"): "main.rpt_nrr_quarterly",
    dg.AssetKey("rpt_cohort_retention"): "main.rpt_cohort_retention",
}


def suite_name(asset_key: dg.AssetKey) -> str:
    return "__".join(asset_key.path)


def suite_parameters(settings: Settings) -> dict[str, float]:
    return {"quarantine_arr_threshold": float(settings.quarantine_arr_threshold)}


QUARANTINE_BY_REASON = """
    select reason, count(*) as rows, sum(arr_at_stake) as arr
    from raw.quarantine group by reason order by arr desc, reason
"""


def quarantine_summary(by_reason: list[tuple[str, int, Decimal]], threshold: Decimal) -> str:
    """How many rows, which reasons and how much ARR (exact, from SQL) the quarantine holds."""
    if not by_reason:
        return "The quarantine is empty."
    rows = sum(count for _, count, _ in by_reason)
    total = sum((arr for _, _, arr in by_reason), Decimal(0))
    verdict = "exceeds" if total > threshold else "is within"
    parts = [f"{reason}: {count} rows, ARR {arr:,.2f}" for reason, count, arr in by_reason]
    return (
        f"{rows} quarantined rows carry ARR {total:,.2f}, which {verdict} the threshold "
        f"{threshold:,.2f} (NRR_QUARANTINE_ARR_THRESHOLD). By reason: " + "; ".join(parts) + "."
    )


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
        is_quarantine = asset_key == dg.AssetKey(["raw", "quarantine"])
        with warehouse(settings, read_only=True) as con:
            table_columns = [row[:2] for row in con.execute(f"describe {table}").fetchall()]
            frame = read_frame(con, validation_query(name, table, table_columns))
            by_reason = con.execute(QUARANTINE_BY_REASON).fetchall() if is_quarantine else []
        outcome = suite_runner(settings.home / "gx").validate(
            name, frame, suite_parameters(settings)
        )
        outcome.save(settings.home / "validations" / context.run.run_id / f"{name}.json")
        description = outcome.summary()
        if is_quarantine:
            description = quarantine_summary(by_reason, settings.quarantine_arr_threshold) + (
                "" if outcome.success else "\n" + description
            )
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "evaluated_expectations": outcome.evaluated,
                "failed_expectations": len(outcome.failures),
                "failures": dg.MetadataValue.json(outcome.failures),
                "rows_validated": len(frame),
            },
        )

    return suite_check


def build_suite_checks() -> list[dg.AssetChecksDefinition]:
    return [build_suite_check(key, table) for key, table in CHECKED_TABLES.items()]
