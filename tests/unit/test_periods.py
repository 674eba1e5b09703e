"""Fiscal quarters, labels and snapshot dates (metrics.md, "Periods")."""

from datetime import date

import pytest

from pipeline.periods import fiscal_quarter_of, reporting_quarters


@pytest.mark.parametrize(
    ("day", "start_month", "label", "first", "last"),
    [
        (date(2026, 1, 1), 1, "FY2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 12, 31), 1, "FY2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        # FY starting 1 Feb 2025 ends 31 Jan 2026: FY2026.
        (date(2025, 2, 1), 2, "FY2026-Q1", date(2025, 2, 1), date(2025, 4, 30)),
        (date(2026, 1, 31), 2, "FY2026-Q4", date(2025, 11, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), 2, "FY2027-Q1", date(2026, 2, 1), date(2026, 4, 30)),
        (date(2024, 2, 29), 12, "FY2024-Q1", date(2023, 12, 1), date(2024, 2, 29)),
        (date(2026, 6, 30), 7, "FY2026-Q4", date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), 7, "FY2027-Q1", date(2026, 7, 1), date(2026, 9, 30)),
    ],
)
def test_fiscal_quarter_of(day, start_month, label, first, last):
    quarter = fiscal_quarter_of(day, start_month)
    assert (quarter.label, quarter.quarter_start, quarter.quarter_end) == (label, first, last)


def test_the_unfinished_quarter_is_snapshotted_at_as_of():
    quarters = reporting_quarters(date(2025, 11, 15), date(2026, 2, 10))
    assert [(q.label, snapshot) for q, snapshot in quarters] == [
        ("FY2025-Q4", date(2025, 12, 31)),
        ("FY2026-Q1", date(2026, 2, 10)),
    ]


def test_as_of_on_the_last_day_completes_the_quarter():
    quarters = reporting_quarters(date(2026, 1, 1), date(2026, 3, 31))
    assert [(q.label, snapshot) for q, snapshot in quarters] == [("FY2026-Q1", date(2026, 3, 31))]
