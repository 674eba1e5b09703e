"""One factory turns each Great Expectations suite into a blocking Dagster asset check."""

from decimal import Decimal

import dagster as dg
import pandas as pd

from pipeline.resources import NrrSettingsResource, warehouse
from pipeline.settings import Settings
from pipeline.validation import suite_runner

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


def quarantine_summary(frame: pd.DataFrame, threshold: Decimal) -> str:
    """How many rows, which reasons and how much ARR the quarantine holds."""
    if frame.empty:
        return "The quarantine is empty."
    stake = frame.assign(arr=frame["arr_at_stake"].map(Decimal))
    by_reason = stake.groupby("reason").agg(rows=("reason", "size"), arr=("arr", "sum"))
    total = sum(by_reason["arr"], Decimal(0))
    parts = [
        f"{reason}: {int(r.rows)} rows, ARR {r.arr:,.2f}"
        for reason, r in by_reason.sort_values("arr", ascending=False).iterrows()
    ]
    verdict = "exceeds" if total > threshold else "is within"
    return (
        f"{len(frame)} quarantined rows carry ARR {total:,.2f}, which {verdict} the "
        f"threshold {threshold:,.2f} (NRR_QUARANTINE_ARR_THRESHOLD). By reason: "
        + "; ".join(parts)
        + "."
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
        with warehouse(settings, read_only=True) as con:
            frame = con.sql(f"select * from {table}").df()
        outcome = suite_runner(settings.home / "gx").validate(
            name, frame, suite_parameters(settings)
        )
        outcome.save(settings.home / "validations" / context.run.run_id / f"{name}.json")
        description = outcome.summary()
        if asset_key == dg.AssetKey(["raw", "quarantine"]):
            description = quarantine_summary(frame, settings.quarantine_arr_threshold) + (
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
