"""Row counts against the previous report, end to end: a night whose delivery lost a
customer's charges blocks publishing and names the counts."""

import os
import re

import pytest

from pipeline.cli import EXIT_BLOCKED, EXIT_OK, main
from tests.integration.crafted import CHARGES, write_crafted_delivery
from tests.shared_runs import copy_run

pytestmark = pytest.mark.integration


def run(extracts, home) -> int:
    return main(["run", "--extracts", str(extracts), "--home", str(home)])


def test_a_delivery_missing_a_customer_blocks_publishing_naming_both_counts(
    crafted_once, tmp_path, capsys
):
    """Night 1 (2026-09-30): FY2025-Q3 .. FY2026-Q3, a movement row per customer and quarter
    with ARR at start or end: S 4 (churned in FY2026-Q2), P 5, E 5 = 14. Night 2 (2026-10-01,
    FY2026-Q4 begins): P's charges are missing: S 4 + E 6 = 10 rows, fewer than the 13
    allowed (14 less 10 % = 12.6, rounded up)."""
    extracts, home = tmp_path / "extracts", tmp_path / "home"
    ran_in, code = crafted_once  # night 1, run once for the session: a copy of it
    copy_run(ran_in, tmp_path)
    assert code == EXIT_OK
    without_p = "".join(line + "\n" for line in CHARGES.splitlines() if not line.startswith("P-"))
    write_crafted_delivery(extracts, name="2026-10-01", charges=without_p)
    capsys.readouterr()

    assert run(extracts, home) == EXIT_BLOCKED
    message = capsys.readouterr().err
    assert "Check report__row_counts_expectations on rpt_nrr_quarterly failed." in message
    assert (
        "fct_arr_movements has 10 rows, the previous report (as of 2026-09-30) had 14: "
        "more than 10 % fewer blocks publishing"
    ) in message
    # rows vs least rows, as numbers, among the samples (other published tables lost rows too)
    assert re.search(r"\(e\.g\. (\(\d+, \d+\), )*\(10, 13\)", message)
    assert os.readlink(home / "reports" / "latest") == "2026-09-30"
