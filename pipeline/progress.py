"""One line per stage of a run on the terminal, from Dagster's events (read duck-typed:
no Dagster import here). The full Dagster and dbt log goes to a file (pipeline.cli)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from typing import TextIO

STAGES = ("landing", "quarantine", "dbt", "reports", "checks", "publishing")
STEP_STAGES = {
    "land_delivery": "landing",
    "quarantine": "quarantine",
    "retention_reports": "reports",
    "published_report": "publishing",
}
STARTED = ("STEP_START", "STEP_RESTARTED")
ENDED = ("STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY")


def stage_of(step_key: str) -> str:
    """The stage a step of nightly_nrr_job belongs to: the Great Expectations suites (one
    step each, `<suite>_expectations`) are `checks`; the dbt build (models and dbt tests)
    is `dbt`; landing evaluates the freshness check itself."""
    if step_key.endswith("_expectations"):
        return "checks"
    return STEP_STAGES.get(step_key, "dbt")


def is_warning(evaluation) -> bool:
    """A check of severity WARN: it never blocks (the freshness check)."""
    severity = getattr(evaluation, "severity", None)
    return getattr(severity, "value", severity) == "WARN"


def seconds_text(seconds: float) -> str:
    return f"{seconds:5.1f} s" if seconds < 600 else f"{seconds / 60:5.1f} min"


class StageProgress:
    """Prints a stage's line once every step of it has ended (or when one fails), with the
    stage's own time and the time since the run started."""

    def __init__(self, out: TextIO, step_keys: Iterable[str], started: float | None = None):
        self.out = out
        self.expected = Counter(stage_of(key) for key in step_keys)
        self.started = time.monotonic() if started is None else started
        self.step_started: dict[str, float] = {}
        self.seconds: Counter = Counter()
        self.ended: Counter = Counter()
        self.skipped: Counter = Counter()
        self.failed: set[str] = set()
        self.materialized: Counter = Counter()
        self.checks: Counter = Counter()
        self.checks_failed: Counter = Counter()
        self.warnings: list[str] = []
        self.warned: Counter = Counter()
        self.shown: set[str] = set()

    def on_event(self, entry) -> None:
        """An instance event listener (DagsterInstance.add_event_listener)."""
        event = getattr(entry, "dagster_event", None)
        if event is None or not event.step_key:
            return
        kind, step = event.event_type_value, event.step_key
        stage = stage_of(step)
        now = time.monotonic()
        if kind in STARTED:
            self.step_started[step] = now
        elif kind in ENDED:
            self.seconds[stage] += now - self.step_started.pop(step, now)
            if kind == "STEP_FAILURE":
                self.failed.add(stage)
                self._show(stage)
            elif kind == "STEP_SUCCESS":
                self.ended[stage] += 1
        elif kind == "STEP_SKIPPED":
            self.ended[stage] += 1
            self.skipped[stage] += 1
        elif kind == "ASSET_MATERIALIZATION":
            self.materialized[stage] += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            self.checks[stage] += 1
            data = getattr(event, "event_specific_data", None)
            if data is not None and not getattr(data, "passed", True):
                if is_warning(data):
                    self.warnings.append(getattr(data, "description", None) or data.check_name)
                    self.warned[stage] += 1
                else:
                    self.checks_failed[stage] += 1
        if self.ended[stage] >= self.expected[stage] > 0:
            self._show(stage)

    def _detail(self, stage: str) -> str:
        if stage in self.failed:
            return "failed"
        if self.skipped[stage] == self.expected[stage]:
            return "skipped"
        checks, failed, warned = self.checks[stage], self.checks_failed[stage], self.warned[stage]
        if stage == "dbt":
            text = f"{self.materialized[stage]} models, {checks} tests"
            text += f", {failed} failed" if failed else ""
        elif stage == "checks":
            passed = checks - failed - warned
            text = f"{passed} of {checks} checks passed" if failed else f"{passed} checks passed"
        else:
            text = "done"
        return text + (f", {warned} warning{'s' if warned > 1 else ''}" if warned else "")

    def _show(self, stage: str) -> None:
        if stage in self.shown:
            return
        self.shown.add(stage)
        elapsed = time.monotonic() - self.started
        print(
            f"  {stage:<11}{seconds_text(self.seconds[stage])}   {self._detail(stage):<28}"
            f"(at {seconds_text(elapsed).strip()})",
            file=self.out,
            flush=True,
        )
