"""Which delivery a nightly run takes, and whether there is anything to do."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from pipeline.landing import (
    Delivery,
    DeliveryRejected,
    Limits,
    inspect_delivery,
    list_deliveries,
)
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
    return plan_for_delivery(settings, found, force, limits)


def plan_for_delivery(
    settings: Settings, found: Delivery, force: bool, limits: Limits
) -> NightlyPlan:
    """Whether an inspected delivery (landing.Delivery) should run: not when reports/latest
    already came from it with these settings and this code, nor when it is older than the
    published report's delivery, unless forced. The job's first step asks the same (a run
    launched from the UI skips a published delivery instead of publishing it again)."""
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


@dataclass(frozen=True)
class Freshness:
    fresh: bool
    newest: str | None  # the newest delivery folder's name (its date), if any
    age_days: int | None
    message: str


def delivery_freshness(settings: Settings, today: date | None = None) -> Freshness:
    """Whether the newest delivery folder is at most NRR_FRESHNESS_DAYS old (a warning, never
    a block: a late delivery still reports what it holds)."""
    today = today or date.today()
    names = list_deliveries(settings.extracts_dir)
    limit = settings.freshness_days
    if not names:
        return Freshness(False, None, None, f"No delivery folder in {settings.extracts_dir}.")
    newest = names[-1]
    age = (today - date.fromisoformat(newest)).days
    if age > limit:
        return Freshness(
            False,
            newest,
            age,
            f"The newest delivery, {newest}, is {age} days old (NRR_FRESHNESS_DAYS is "
            f"{limit}): the extracts may have stopped arriving.",
        )
    return Freshness(
        True, newest, age, f"The newest delivery, {newest}, is {age} day(s) old (limit {limit})."
    )
