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


# Every fiscal start month by hand (the same table as the dbt unit tests of int_fiscal_quarters).
EVERY_START_MONTH = {
    1: (("FY2025-Q1", "2025-01-01", "2025-03-31"), ("FY2025-Q2", "2025-04-01", "2025-06-30")),
    2: (("FY2025-Q4", "2024-11-01", "2025-01-31"), ("FY2026-Q1", "2025-02-01", "2025-04-30")),
    3: (("FY2025-Q4", "2024-12-01", "2025-02-28"), ("FY2026-Q1", "2025-03-01", "2025-05-31")),
    4: (("FY2025-Q4", "2025-01-01", "2025-03-31"), ("FY2026-Q1", "2025-04-01", "2025-06-30")),
    5: (("FY2025-Q3", "2024-11-01", "2025-01-31"), ("FY2025-Q4", "2025-02-01", "2025-04-30")),
    6: (("FY2025-Q3", "2024-12-01", "2025-02-28"), ("FY2025-Q4", "2025-03-01", "2025-05-31")),
    7: (("FY2025-Q3", "2025-01-01", "2025-03-31"), ("FY2025-Q4", "2025-04-01", "2025-06-30")),
    8: (("FY2025-Q2", "2024-11-01", "2025-01-31"), ("FY2025-Q3", "2025-02-01", "2025-04-30")),
    9: (("FY2025-Q2", "2024-12-01", "2025-02-28"), ("FY2025-Q3", "2025-03-01", "2025-05-31")),
    10: (("FY2025-Q2", "2025-01-01", "2025-03-31"), ("FY2025-Q3", "2025-04-01", "2025-06-30")),
    11: (("FY2025-Q1", "2024-11-01", "2025-01-31"), ("FY2025-Q2", "2025-02-01", "2025-04-30")),
    12: (("FY2025-Q1", "2024-12-01", "2025-02-28"), ("FY2025-Q2", "2025-03-01", "2025-05-31")),
}


@pytest.mark.parametrize("start_month", EVERY_START_MONTH)
def test_every_fiscal_start_month(start_month):
    quarters = reporting_quarters(date(2025, 1, 1), date(2025, 4, 15), start_month)
    assert [
        (q.label, q.quarter_start.isoformat(), q.quarter_end.isoformat()) for q, _ in quarters
    ] == list(EVERY_START_MONTH[start_month])
    assert [snapshot for _, snapshot in quarters][-1] == date(2025, 4, 15)
