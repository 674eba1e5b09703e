"""Landing assets: one per extract (keys raw/<extract>, the dbt source names), and what the
row rules make of them (the typed checked tables and the rejects, which dbt reads)."""

import dagster as dg

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.defs.guards import out_of_disk_or_memory_not_retried
from pipeline.defs.resources import NrrSettingsResource
from pipeline.gate import apply_row_rules
from pipeline.landing import (
    DeliveryRejected,
    Limits,
    archive_delivery,
    archived_copy,
    inspect_delivery,
    load_raw_tables,
    loaded_delivery,
    record_receipt,
)
from pipeline.nightly import delivery_freshness, plan_for_delivery
from pipeline.warehouse import warehouse

LANDING_GROUP = "landing"
RAW_KEYS = {name: dg.AssetKey(["raw", name]) for name in EXTRACT_COLUMNS}
CHECKED_KEYS = {name: dg.AssetKey(["raw", f"checked_{name}"]) for name in EXTRACT_COLUMNS}
REJECTS_KEY = dg.AssetKey(["raw", "quarantine_rejects"])
FRESHNESS_CHECK = "delivery_freshness"


class LandingConfig(dg.Config):
    delivery: str | None = None
    """Delivery folder (YYYY-MM-DD) to land; default: the latest under the extracts root."""
    force: bool = False
    """Run even when reports/latest already came from this delivery (same files, settings
    and code) or from a newer one (`nrr run --force`). Without it such a run lands nothing
    and skips every later step."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            group_name=LANDING_GROUP,
            description=f"The {name} extract of the delivery, as received (text).",
            # Not produced when the delivery is already published: every later step skips.
            skippable=True,
        )
        for name, key in RAW_KEYS.items()
    ],
    check_specs=[
        dg.AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=RAW_KEYS["billing_charges"],
            description="Warns (never blocks) when the newest delivery folder is older than "
            "NRR_FRESHNESS_DAYS (default 2): the extracts may have stopped arriving. "
            "Evaluated by every run, one that skips a published delivery included.",
        )
    ],
    name="land_delivery",
    retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
)
def land_delivery(
    context: dg.AssetExecutionContext, config: LandingConfig, nrr: NrrSettingsResource
):
    """Check the delivery is complete, archive it with checksums, load the raw tables.

    A delivery missing a file or column is rejected before anything is written.
    """
    settings = nrr.settings()
    yield freshness_result(settings)
    try:
        delivery = inspect_delivery(
            settings.extracts_dir,
            config.delivery,
            settings.reporting_currency,
            Limits.from_settings(settings),
        )
    except DeliveryRejected as exc:
        # Retrying cannot fix a broken delivery.
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    plan = plan_for_delivery(settings, delivery, config.force, Limits.from_settings(settings))
    if not plan.should_run:
        # A run launched again (from the UI, a re-execution) publishes no duplicate report.
        context.log.info(f"{plan.reason} Launch with config force: true to rebuild it.")
        return
    modes = {"file_mode": settings.file_mode, "folder_mode": settings.folder_mode}
    # A full disk or no memory fails at once (a retry needs the same): see guards.
    with out_of_disk_or_memory_not_retried():
        try:
            archived = archive_delivery(delivery, settings.archive_dir, **modes)
        except DeliveryRejected as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        if delivery.unexpected:
            context.log.warning(
                f"Delivery {delivery.folder.name} holds files that are not extracts: "
                f"{', '.join(delivery.unexpected)}. They were archived (when regular files), "
                "not read."
            )
        # Load the verified archived copies: what is loaded is what the checksums describe.
        copy = archived_copy(delivery, settings.archive_dir, archived)
        checksums = {name: f.checksum or "" for name, f in delivery.files.items()}
        try:
            with warehouse(settings) as con:
                unchanged = loaded_delivery(con) == (delivery.delivery_date, checksums)
                if unchanged:
                    context.log.info(
                        f"Delivery {delivery.folder.name} is already loaded; nothing changed."
                    )
                    counts = dict(
                        con.execute("select extract, row_count from raw.delivery_log").fetchall()
                    )
                else:
                    counts = load_raw_tables(con, copy)
        except DeliveryRejected as exc:
            record_receipt(
                settings.archive_dir, delivery, archived, False, str(exc), modes["file_mode"]
            )
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
    record_receipt(settings.archive_dir, delivery, archived, True, None, modes["file_mode"])
    by_extract = {record["extract"]: record for record in archived}
    for name, key in RAW_KEYS.items():
        extract = delivery.files[name]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "delivery": delivery.folder.name,
                "source_file": extract.source_file or "(not delivered)",
                "sha256": extract.checksum or "",
                "archived_as": by_extract.get(name, {}).get("archived_as", ""),
                "unexpected_files": ", ".join(delivery.unexpected) or "none",
                "rows": int(counts.get(name, 0)),
                "unchanged": unchanged,
            },
        )


@dg.multi_asset(
    specs=[
        *(
            dg.AssetSpec(
                key,
                deps=[RAW_KEYS[name]],
                group_name=LANDING_GROUP,
                description=f"Every {name} row, values typed once, with reason and detail "
                "(null when the row passed every row rule): what dbt's staging reads.",
            )
            for name, key in CHECKED_KEYS.items()
        ),
        dg.AssetSpec(
            REJECTS_KEY,
            deps=list(RAW_KEYS.values()),
            group_name=LANDING_GROUP,
            description="The row rules' rejects (reason, detail, raw values) before valuation: "
            "dbt's quarantine model values them.",
        ),
    ],
    name="quarantine",
)
def quarantine(context: dg.AssetExecutionContext, nrr: NrrSettingsResource):
    """The row rules: each extract as a typed checked table (raw.checked_<extract>, values
    parsed once; staging reads the rows that passed) and the rejects, with reason, detail and
    raw values (raw.quarantine_rejects; dbt's `quarantine` model values them)."""
    settings = nrr.settings()
    with warehouse(settings) as con:
        run = apply_row_rules(con, settings)
    as_of, result = run.as_of, run.result
    rejects = result.rejects
    context.log.info(f"The row rules rejected {rejects.height} rows at as-of {as_of}.")
    for name, key in CHECKED_KEYS.items():
        frame = result.checked[name]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"rows": frame.height, "passed": int(frame["reason"].is_null().sum())},
        )
    by_reason = rejects.group_by("extract", "reason").len("rows").sort("extract", "reason")
    yield dg.MaterializeResult(
        asset_key=REJECTS_KEY,
        metadata={
            "rows": rejects.height,
            "by_reason": dg.MetadataValue.md(
                by_reason.to_pandas().to_markdown(index=False) if rejects.height else "none"
            ),
            "as_of": as_of.isoformat(),
        },
    )


def freshness_result(settings) -> dg.AssetCheckResult:
    freshness = delivery_freshness(settings)
    return dg.AssetCheckResult(
        check_name=FRESHNESS_CHECK,
        asset_key=RAW_KEYS["billing_charges"],
        passed=freshness.fresh,
        severity=dg.AssetCheckSeverity.WARN,
        description=freshness.message,
        metadata={
            "newest_delivery": freshness.newest or "none",
            "age_days": -1 if freshness.age_days is None else freshness.age_days,
            "freshness_days": settings.freshness_days,
        },
    )
