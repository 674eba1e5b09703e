"""The usage ARR policy (NRR_USAGE_ARR) end to end: `nrr run` on a hand-built delivery under
trailing_3_period_average and exclude; every figure is computed in the comments.

The delivery (as of 2026-09-30, USD; quarters FY2025-Q3 .. FY2026-Q3):
- S: Analytics 1,000 a month recurring from 2025-07-01 (12,000), 1,100 from 2026-01-01
  (13,200). API usage billed monthly: 100, 130, 160 for July to September 2025, 160 every
  month from October 2025 to June 2026, then 200, 260, 320 for July to September 2026.
- P: API usage of 300 for September 2025 only.

trailing_3_period_average: usage ARR at t = 12 x the mean of the monthly usage at t and at
the last day of each of the two months before t's month.
- S: 2025-09-30 samples September, August, July: 12 x (160 + 130 + 100) / 3 = 1,560, ARR
  13,560; 2025-12-31, 2026-03-31 and 2026-06-30 sample 160 three times: 1,920 (ARR 13,920,
  then 15,120 twice); 2026-09-30: 12 x (320 + 260 + 200) / 3 = 3,120, ARR 16,320.
- P: 2025-09-30 samples 300, 0, 0: 12 x 300 / 3 = 1,200; nothing after.
exclude: usage carries no ARR. S is 12,000 then 13,200 from FY2026-Q1; P never has ARR.
"""

from decimal import Decimal as d

import pytest

from pipeline.cli import EXIT_OK, EXIT_REJECTED, main
from tests.integration.crafted import published, write_crafted_delivery

pytestmark = pytest.mark.integration

HEADER = (
    "charge_id,account_id,product,plan,charge_type,quantity,amount,currency,"
    "billing_period_months,effective_start,effective_end,updated_at\n"
)
# (month start, month end, amount) of S's monthly API usage.
S_USAGE = [
    ("2025-07-01", "2025-08-01", d(100)),
    ("2025-08-01", "2025-09-01", d(130)),
    ("2025-09-01", "2025-10-01", d(160)),
    *[
        (f"{y}-{m:02d}-01", f"{y2}-{m2:02d}-01", d(160))
        for (y, m), (y2, m2) in zip(
            [(2025, 10), (2025, 11), (2025, 12), *[(2026, k) for k in range(1, 7)]],
            [(2025, 11), (2025, 12), *[(2026, k) for k in range(1, 8)]],
            strict=True,
        )
    ],
    ("2026-07-01", "2026-08-01", d(200)),
    ("2026-08-01", "2026-09-01", d(260)),
    ("2026-09-01", "2026-10-01", d(320)),
]
P_USAGE = "P-U1,P,API,Calls,usage,1,300.00,USD,1,2025-09-01,2025-10-01,2025-10-01T09:00:00\n"
CHARGES = (
    HEADER
    + "S-R1,S,Analytics,Pro,recurring,10,1000.00,USD,1,2025-07-01,2026-01-01,2026-01-01T09:00:00\n"
    + "S-R2,S,Analytics,Pro,recurring,10,1100.00,USD,1,2026-01-01,,2026-01-01T09:00:00\n"
    + "".join(
        f"S-U{i},S,API,Calls,usage,1,{amount},USD,1,{start},{end},{end}T09:00:00\n"
        for i, (start, end, amount) in enumerate(S_USAGE)
    )
    + P_USAGE
)


def run_with(policy, tmp_path, monkeypatch, charges=CHARGES) -> int:
    monkeypatch.setenv("NRR_USAGE_ARR", policy)
    write_crafted_delivery(tmp_path / "extracts", charges=charges)
    return main(["run", "--extracts", str(tmp_path / "extracts"), "--home", str(tmp_path / "home")])


def figures(home):
    bridge = published(
        home,
        """
        select quarter_label, start_arr, new_arr, expansion_arr, churn_arr, end_arr,
               new_customers, churn_customers
        from fct_arr_bridge where dimension = 'all' order by quarter_start""",
    )
    s_movements = published(
        home,
        """
        select quarter_label, movement, usage_arr, price_arr, cross_sell_arr, end_arr
        from fct_arr_movements where customer_id = 'S' order by quarter_start""",
    )
    ttm = published(
        home,
        """
        select ttm_nrr, ttm_grr from rpt_nrr_quarterly
        where dimension = 'all' and quarter_label = 'FY2026-Q3'""",
    )
    recorded = dict(published(home, "select name, value from report_settings"))
    return bridge, s_movements, ttm, recorded


def test_trailing_3_period_average(tmp_path, monkeypatch):
    assert run_with("trailing_3_period_average", tmp_path, monkeypatch) == EXIT_OK
    bridge, s_movements, ttm, recorded = figures(tmp_path / "home")
    assert bridge == [
        # S 13,560 + P 1,200.
        ("FY2025-Q3", d(0), d(14760), d(0), d(0), d(14760), 2, 0),
        # S's usage average 1,560 -> 1,920 (+360); P's 1,200 churns.
        ("FY2025-Q4", d(14760), d(0), d(360), d(1200), d(13920), 0, 1),
        # S's recurring 12,000 -> 13,200: a price rise.
        ("FY2026-Q1", d(13920), d(0), d(1200), d(0), d(15120), 0, 0),
        ("FY2026-Q2", d(15120), d(0), d(0), d(0), d(15120), 0, 0),
        # S's usage average 1,920 -> 3,120.
        ("FY2026-Q3", d(15120), d(0), d(1200), d(0), d(16320), 0, 0),
    ]
    assert s_movements == [
        ("FY2025-Q3", "new", d(0), d(0), d(0), d(13560)),
        ("FY2025-Q4", "expansion", d(360), d(0), d(0), d(13920)),
        ("FY2026-Q1", "expansion", d(0), d(1200), d(0), d(15120)),
        ("FY2026-Q2", "flat", d(0), d(0), d(0), d(15120)),
        ("FY2026-Q3", "expansion", d(1200), d(0), d(0), d(16320)),
    ]
    # Base FY2025-Q3: S 13,560 + P 1,200 = 14,760. TTM NRR 16,320 / 14,760; GRR keeps at
    # most each customer's base: (13,560 + 0) / 14,760.
    assert ttm == [(pytest.approx(16320 / 14760), pytest.approx(13560 / 14760))]
    assert recorded["usage_arr"] == "trailing_3_period_average"
    page = (tmp_path / "home" / "reports" / "latest" / "nrr_report.html").read_text()
    assert "customers rolled up to ultimate parent, usage ARR as the trailing three-month" in page


def test_exclude_reports_committed_revenue_only(tmp_path, monkeypatch):
    assert run_with("exclude", tmp_path, monkeypatch) == EXIT_OK
    bridge, s_movements, ttm, recorded = figures(tmp_path / "home")
    assert bridge == [
        # S's recurring 12,000; P has usage only: no ARR, never a customer of the report.
        ("FY2025-Q3", d(0), d(12000), d(0), d(0), d(12000), 1, 0),
        ("FY2025-Q4", d(12000), d(0), d(0), d(0), d(12000), 0, 0),
        ("FY2026-Q1", d(12000), d(0), d(1200), d(0), d(13200), 0, 0),
        ("FY2026-Q2", d(13200), d(0), d(0), d(0), d(13200), 0, 0),
        ("FY2026-Q3", d(13200), d(0), d(0), d(0), d(13200), 0, 0),
    ]
    # The usage motion is 0 everywhere; S's API usage never appears as a product.
    assert s_movements == [
        ("FY2025-Q3", "new", d(0), d(0), d(0), d(12000)),
        ("FY2025-Q4", "flat", d(0), d(0), d(0), d(12000)),
        ("FY2026-Q1", "expansion", d(0), d(1200), d(0), d(13200)),
        ("FY2026-Q2", "flat", d(0), d(0), d(0), d(13200)),
        ("FY2026-Q3", "flat", d(0), d(0), d(0), d(13200)),
    ]
    # 13,200 / 12,000; nothing lost.
    assert ttm == [(pytest.approx(1.1), pytest.approx(1.0))]
    assert recorded["usage_arr"] == "exclude"
    page = (tmp_path / "home" / "reports" / "latest" / "nrr_report.html").read_text()
    assert "ultimate parent, usage charges excluded (committed revenue only)" in page


def test_a_usage_only_delivery_under_exclude_has_no_arr_and_says_why(tmp_path, monkeypatch, capsys):
    assert run_with("exclude", tmp_path, monkeypatch, charges=HEADER + P_USAGE) == EXIT_REJECTED
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "The delivery has no recurring charge in force at any quarter's snapshot on or before "
        "the as-of date 2026-09-30, and NRR_USAGE_ARR is exclude: its usage charges carry no "
        "ARR (committed revenue only), so there is no ARR to report. Set NRR_USAGE_ARR to "
        "run_rate or trailing_3_period_average to report usage."
    )
    assert not (tmp_path / "home" / "reports" / "latest").exists()
