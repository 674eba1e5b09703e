"""Which delivery a nightly run takes, and whether there is anything to do."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipeline.landing import DeliveryRejected, Limits, inspect_delivery
from pipeline.publishing import already_published, published_manifest
from pipeline.settings import Settings


@dataclass(frozen=True)
class NightlyPlan:
    delivery: str | None
    should_run: bool
    reason: str
    run_key: str | None = None


def plan_nightly_run(
    settings: Settings, delivery: str | None = None, force: bool = False
) -> NightlyPlan:
    """Run the latest (or named) delivery unless reports/latest already came from it.

    A delivery that fails inspection is still run, so the failure is recorded and reported.
    """
    limits = Limits.from_settings(settings)
    try:
        found = inspect_delivery(
            settings.extracts_dir, delivery, settings.reporting_currency, limits
        )
    except DeliveryRejected as exc:
        return NightlyPlan(delivery, True, str(exc))
    name = found.folder.name
    files = [
        {"extract": extract, "sha256": f.checksum}
        for extract, f in found.files.items()
        if f.path is not None
    ]
    digest = hashlib.sha256("".join(sorted(f["sha256"] for f in files)).encode()).hexdigest()
    published = published_manifest(settings)
    newest = published["delivery"]["date"] if published else None
    # A report published from a future-dated folder (before such folders were refused) does
    # not hold back the real deliveries.
    future = newest is not None and newest > limits.latest_date.isoformat()
    if not force and newest is not None and not future and name < newest:
        return NightlyPlan(
            name,
            False,
            f"Delivery {name} is older than the published report's delivery {newest}; it "
            "does not replace it. Use --force to publish it anyway.",
        )
    if not force and already_published(settings, found.delivery_date, files):
        return NightlyPlan(
            name,
            False,
            f"Delivery {name} is already published with these settings and this code "
            f"({settings.reports_dir / 'latest'}); nothing to do. Use --force to rebuild it.",
        )
    return NightlyPlan(name, True, f"Delivery {name} is new.", run_key=f"{name}-{digest[:16]}")
