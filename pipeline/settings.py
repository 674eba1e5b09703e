"""Run settings, read from environment variables with documented defaults.

Every published report records these values, so two reports can be told apart.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROLLUPS = ("ultimate_parent", "account")
# How usage charges carry ARR (NRR_USAGE_ARR; docs/definitions.md, "Usage ARR policy"): the
# run rate of the usage period in force (today's rule), 12 x the mean monthly usage over the
# three months ending at the snapshot, or none (committed-revenue NRR).
USAGE_ARR_POLICIES = ("run_rate", "trailing_3_period_average", "exclude")
# The reporting grains NRR_PERIODS may ask for (issue 15, item 3), as stored: `quarter` (the
# default: the quarterly marts and reports) or `quarter,month` (the monthly ones as well).
PERIODS = ("quarter", "quarter,month")
# Who may read the reports and the archive (NRR_SHARE_WITH): file and folder modes.
SHARING_MODES = {"owner": (0o600, 0o700), "group": (0o640, 0o750), "everyone": (0o644, 0o755)}
GIB = 1 << 30
MIB = 1 << 20
_SIZE = re.compile(r"^\s*([0-9]+)\s*(B|KB|MB|GB|KIB|MIB|GIB)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KIB": 1 << 10, "MIB": MIB, "GIB": GIB}


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
    # Dates before this are typos or ERP sentinels (0001-01-01): their rows are quarantined.
    earliest_date: date = date(2000, 1, 1)
    # A delivery folder or as-of date may be this many days after today (time zones), no more.
    future_tolerance_days: int = 1
    # Limits checked before anything is loaded: an extract's size and its longest CSV line.
    max_file_bytes: int = 4 * GIB
    max_row_bytes: int = 16 * MIB
    share_with: str = "owner"
    # rpt_nrr_methods' ttm_cohort_min_arr: the TTM cohort of customers whose ARR four quarters
    # back (at the quarter's rate) is at least this, in the reporting currency.
    method_min_arr: Decimal = Decimal("10000")
    usage_arr: str = "run_rate"
    # The freshness check warns (never blocks) when the newest delivery folder is older than
    # this many days.
    freshness_days: int = 2
    # NRR_PERIODS: `quarter`, or `quarter,month` to build and publish the monthly marts and
    # reports too (given in any order, with spaces; stored as one of PERIODS).
    periods: str = "quarter"
    # The account watchlist (rpt_account_watchlist; docs/definitions.md, "Account watchlist"):
    # usage ARR down (or up) by more than this share of the previous quarter's is a signal; a
    # recurring charge ending within this many days after the latest snapshot is ARR scheduled
    # to end; the expansion sprint takes this many customers.
    signal_usage_drop: Decimal = Decimal("0.20")
    signal_horizon_days: int = 90
    sprint_size: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "periods", normalised_periods(self.periods))
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
        if self.future_tolerance_days < 0:
            raise SettingsError("NRR_FUTURE_TOLERANCE_DAYS must be >= 0")
        if self.max_file_bytes <= 0 or self.max_row_bytes <= 0:
            raise SettingsError("NRR_MAX_FILE_BYTES and NRR_MAX_ROW_BYTES must be > 0")
        latest = date.today() + timedelta(days=self.future_tolerance_days)
        if self.as_of is not None and self.as_of > latest:
            raise SettingsError(
                f"NRR_AS_OF {self.as_of} is after today ({date.today()}): a report as of a "
                "future date would show charges scheduled to start as revenue already earned. "
                "Use a date up to today (NRR_FUTURE_TOLERANCE_DAYS allows "
                f"{self.future_tolerance_days} day(s) for time zones)."
            )
        if self.freshness_days < 0:
            raise SettingsError("NRR_FRESHNESS_DAYS must be >= 0")
        if self.method_min_arr < 0:
            raise SettingsError("NRR_METHOD_MIN_ARR must be >= 0")
        if not Decimal(0) < self.signal_usage_drop < Decimal(1):
            raise SettingsError(
                "NRR_SIGNAL_USAGE_DROP must be a share between 0 and 1, "
                f"got {self.signal_usage_drop}"
            )
        if self.signal_horizon_days < 0:
            raise SettingsError("NRR_SIGNAL_HORIZON_DAYS must be >= 0")
        if self.sprint_size < 1:
            raise SettingsError("NRR_SPRINT_SIZE must be >= 1")
        if self.usage_arr not in USAGE_ARR_POLICIES:
            raise SettingsError(
                f"NRR_USAGE_ARR must be one of {', '.join(USAGE_ARR_POLICIES)}, "
                f"got {self.usage_arr!r}"
            )
        if self.share_with not in SHARING_MODES:
            raise SettingsError(
                f"NRR_SHARE_WITH must be one of {', '.join(SHARING_MODES)}, got {self.share_with!r}"
            )

    @property
    def builds_months(self) -> bool:
        """Whether the monthly marts and reports are built and published (NRR_PERIODS)."""
        return self.periods == "quarter,month"

    @property
    def file_mode(self) -> int:
        """Mode of report and archive files (NRR_SHARE_WITH)."""
        return SHARING_MODES[self.share_with][0]

    @property
    def folder_mode(self) -> int:
        """Mode of report and archive folders (NRR_SHARE_WITH)."""
        return SHARING_MODES[self.share_with][1]

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def logs_dir(self) -> Path:
        """One log file per `nrr run`: the full Dagster and dbt log."""
        return self.home / "logs"

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_record(self) -> dict[str, str]:
        record = asdict(self)
        return {k: ("" if v is None else str(v)) for k, v in record.items()}


def normalised_periods(value: str) -> str:
    """NRR_PERIODS as stored: `quarter` or `quarter,month`, whatever the order and spaces."""
    grains = {part.strip().lower() for part in str(value).split(",")}
    for periods in PERIODS:
        if grains == set(periods.split(",")):
            return periods
    raise SettingsError(
        f"NRR_PERIODS must be one of {', '.join(repr(p) for p in PERIODS)} (any order), "
        f"got {value!r}"
    )


def _parse_date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from exc


def parse_size(name: str, value: str) -> int:
    """'4GiB', '500MB', '1048576' as bytes."""
    match = _SIZE.match(value)
    if not match:
        raise SettingsError(f"{name} must be a size such as 4GiB, 500MB or 1048576, got {value!r}")
    return int(match.group(1)) * _UNITS[(match.group(2) or "B").upper()]


def _whole(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {value!r}") from exc


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
    try:
        method_min_arr = Decimal(env.get("NRR_METHOD_MIN_ARR", "10000"))
    except InvalidOperation as exc:
        raise SettingsError("NRR_METHOD_MIN_ARR must be a number") from exc
    if not method_min_arr.is_finite():
        raise SettingsError("NRR_METHOD_MIN_ARR must be a number")
    try:
        usage_drop = Decimal(env.get("NRR_SIGNAL_USAGE_DROP", "0.20"))
    except InvalidOperation as exc:
        raise SettingsError("NRR_SIGNAL_USAGE_DROP must be a number, e.g. 0.20") from exc
    if not usage_drop.is_finite():
        raise SettingsError("NRR_SIGNAL_USAGE_DROP must be a number, e.g. 0.20")
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
        earliest_date=_parse_date("NRR_EARLIEST_DATE", env.get("NRR_EARLIEST_DATE", "2000-01-01")),
        future_tolerance_days=_whole(
            "NRR_FUTURE_TOLERANCE_DAYS", env.get("NRR_FUTURE_TOLERANCE_DAYS", "1")
        ),
        max_file_bytes=parse_size("NRR_MAX_FILE_BYTES", env.get("NRR_MAX_FILE_BYTES", "4GiB")),
        max_row_bytes=parse_size("NRR_MAX_ROW_BYTES", env.get("NRR_MAX_ROW_BYTES", "16MiB")),
        share_with=env.get("NRR_SHARE_WITH", "owner"),
        method_min_arr=method_min_arr,
        usage_arr=env.get("NRR_USAGE_ARR", "run_rate"),
        freshness_days=_whole("NRR_FRESHNESS_DAYS", env.get("NRR_FRESHNESS_DAYS", "2")),
        periods=env.get("NRR_PERIODS", "quarter"),
        signal_usage_drop=usage_drop,
        signal_horizon_days=_whole(
            "NRR_SIGNAL_HORIZON_DAYS", env.get("NRR_SIGNAL_HORIZON_DAYS", "90")
        ),
        sprint_size=_whole("NRR_SPRINT_SIZE", env.get("NRR_SPRINT_SIZE", "20")),
    )


def settings_from_record(record: dict[str, str]) -> Settings:
    """The inverse of Settings.as_record (how the Dagster resource carries settings)."""
    readers = {
        Path: Path,
        str: str,
        int: int,
        Decimal: Decimal,
        date: date.fromisoformat,
    }
    values = {}
    for field in fields(Settings):
        text = record.get(field.name, "")
        default = field.default
        if field.name == "as_of":
            values[field.name] = date.fromisoformat(text) if text else None
        elif text != "":
            values[field.name] = readers[type(default) if not isinstance(default, Path) else Path](
                text
            )
    return Settings(**values)
