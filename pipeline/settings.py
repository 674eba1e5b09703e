"""Run settings, read from environment variables with documented defaults.

Every published report records these values, so two reports can be told apart.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROLLUPS = ("ultimate_parent", "account")


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use."""


@dataclass(frozen=True)
class Settings:
    extracts_dir: Path = Path("./extracts")
    home: Path = Path("./.nrr")
    reporting_currency: str = "USD"
    fiscal_year_start_month: int = 1
    rollup: str = "ultimate_parent"
    quarantine_arr_threshold: Decimal = Decimal("0")
    quarantine_unvalued_rows_threshold: int = 0
    as_of: date | None = None
    schedule_timezone: str = "UTC"

    def __post_init__(self) -> None:
        # Absolute paths: a report's recorded settings must not depend on the working directory.
        object.__setattr__(self, "extracts_dir", Path(self.extracts_dir).resolve())
        object.__setattr__(self, "home", Path(self.home).resolve())
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise SettingsError(
                f"NRR_FISCAL_YEAR_START_MONTH must be 1-12, got {self.fiscal_year_start_month}"
            )
        if self.rollup not in ROLLUPS:
            raise SettingsError(f"NRR_ROLLUP must be one of {ROLLUPS}, got {self.rollup!r}")
        if len(self.reporting_currency) != 3 or not self.reporting_currency.isalpha():
            raise SettingsError(
                f"NRR_REPORTING_CURRENCY must be an ISO-4217 code, got {self.reporting_currency!r}"
            )
        if self.quarantine_arr_threshold < 0:
            raise SettingsError("NRR_QUARANTINE_ARR_THRESHOLD must be >= 0")
        if self.quarantine_unvalued_rows_threshold < 0:
            raise SettingsError("NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD must be >= 0")

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_record(self) -> dict[str, str]:
        record = asdict(self)
        return {k: ("" if v is None else str(v)) for k, v in record.items()}


def _parse_date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from exc


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    """Build settings from NRR_* variables; unset variables take the documented defaults."""
    env = dict(os.environ if env is None else env)
    try:
        month = int(env.get("NRR_FISCAL_YEAR_START_MONTH", "1"))
    except ValueError as exc:
        raise SettingsError("NRR_FISCAL_YEAR_START_MONTH must be a whole number 1-12") from exc
    try:
        threshold = Decimal(env.get("NRR_QUARANTINE_ARR_THRESHOLD", "0"))
    except InvalidOperation as exc:
        raise SettingsError("NRR_QUARANTINE_ARR_THRESHOLD must be a number") from exc
    try:
        unvalued = int(env.get("NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD", "0"))
    except ValueError as exc:
        raise SettingsError(
            "NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD must be a whole number of rows"
        ) from exc
    as_of = env.get("NRR_AS_OF") or None
    return Settings(
        extracts_dir=Path(env.get("NRR_EXTRACTS_DIR", "./extracts")),
        home=Path(env.get("NRR_HOME", "./.nrr")),
        reporting_currency=env.get("NRR_REPORTING_CURRENCY", "USD").upper(),
        fiscal_year_start_month=month,
        rollup=env.get("NRR_ROLLUP", "ultimate_parent"),
        quarantine_arr_threshold=threshold,
        quarantine_unvalued_rows_threshold=unvalued,
        as_of=_parse_date("NRR_AS_OF", as_of) if as_of else None,
        schedule_timezone=env.get("NRR_SCHEDULE_TIMEZONE", "UTC"),
    )
