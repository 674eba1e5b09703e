"""Fiscal quarters: labels, bounds and snapshot dates (metrics.md, "Periods").

dbt computes the same spine in SQL (int_fiscal_quarters); the quarantine step uses
this module to know at which snapshots a charge must be convertible and non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class FiscalQuarter:
    fiscal_year: int
    fiscal_quarter: int
    quarter_start: date
    quarter_end: date

    @property
    def label(self) -> str:
        return f"FY{self.fiscal_year}-Q{self.fiscal_quarter}"


def fiscal_quarter_of(d: date, fiscal_year_start_month: int = 1) -> FiscalQuarter:
    """The fiscal quarter containing d; the fiscal year is named by the year it ends in."""
    months_into_year = (d.month - fiscal_year_start_month) % 12
    quarter_index = months_into_year // 3
    quarter_start = _add_months(date(d.year, d.month, 1), -(months_into_year % 3))
    fiscal_year_start = _add_months(date(d.year, d.month, 1), -months_into_year)
    fiscal_year = fiscal_year_start.year + (0 if fiscal_year_start_month == 1 else 1)
    quarter_end = _add_months(quarter_start, 3) - timedelta(days=1)
    return FiscalQuarter(fiscal_year, quarter_index + 1, quarter_start, quarter_end)


def reporting_quarters(
    first_date: date, as_of: date, fiscal_year_start_month: int = 1
) -> list[tuple[FiscalQuarter, date]]:
    """Quarters from the one containing first_date to the one containing as_of.

    Each comes with its snapshot date: its last day, or as_of for the unfinished quarter.
    """
    quarters = []
    current = fiscal_quarter_of(first_date, fiscal_year_start_month)
    while current.quarter_start <= as_of:
        quarters.append((current, min(current.quarter_end, as_of)))
        current = fiscal_quarter_of(
            current.quarter_end + timedelta(days=1), fiscal_year_start_month
        )
    return quarters
