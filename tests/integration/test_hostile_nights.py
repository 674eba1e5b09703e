"""Mistaken deliveries end to end (issue 18): `nrr run` on the hand-built delivery of
tests/integration/crafted.py, bent the way real exports and typos bend it."""

from decimal import Decimal

import pytest

from pipeline.cli import EXIT_BLOCKED, EXIT_OK, main
from pipeline.landing import read_json_lines
from tests.integration.crafted import CHARGES, RATES, published, working, write_crafted_delivery

pytestmark = pytest.mark.integration


def run(extracts, home) -> int:
    return main(["run", "--extracts", str(extracts), "--home", str(home)])


def quoted(csv_text: str) -> str:
    """Every field in quotes, as some ERPs export: an empty field becomes ``""``."""
    return "".join(
        ",".join(f'"{field}"' for field in line.split(",")) + "\n" for line in csv_text.splitlines()
    )


def test_a_quoted_export_a_tab_parent_and_an_extra_file_publish_every_customer(tmp_path):
    """Before: every open-ended charge ("" end) was quarantined bad_date and the run blocked;
    the account under a TAB parent vanished from marts and quarantine alike.

    X: 500.00 USD a month from 2026-01-01, ARR 6,000. The crafted delivery ends FY2026-Q3 at
    48,000 (S churned; P 12,000 + 24,000; E 12,000 EUR at 1.00), so the total is 54,000."""
    charges = CHARGES + "X-1,X,Analytics,Pro,recurring,1,500.00,USD,1,2026-01-01,,2026-01-01\n"
    folder = write_crafted_delivery(tmp_path / "extracts", charges=quoted(charges))
    with (folder / "crm_accounts.csv").open("a") as accounts:
        accounts.write('X,Tab Parent Ltd,"\t",SMB,NA,Retail,Ana Silva,2026-09-30T02:00:00\n')
    (folder / "README.txt").write_text("exported by hand\n")

    assert run(tmp_path / "extracts", tmp_path / "home") == EXIT_OK
    assert published(
        tmp_path / "home",
        "select end_arr from fct_arr_bridge where quarter_label = 'FY2026-Q3' "
        "and dimension = 'all'",
    ) == [(Decimal("54000.00"),)]
    assert published(
        tmp_path / "home", "select customer_id from dim_customers where customer_id = 'X'"
    ) == [("X",)]
    assert published(tmp_path / "home", "select count(*) from quarantine") == [(0,)]
    receipt = read_json_lines(tmp_path / "home" / "archive" / "2026-09-30" / "receipts.jsonl")
    assert [r["status"] for r in receipt] == ["accepted"]
    assert "README.txt" in [f["file"] for f in receipt[0]["files"] if f["extract"] is None]


def test_a_year_typo_and_a_needed_decimal_comma_rate_block_publishing(tmp_path, capsys):
    """T-1 starts in 1025 (a typo for 2025): quarantined implausible_date at its ARR of
    1,200.00 (100 a month). The EUR rate of 2026-07-31 is written "1,05": the FY2026-Q3
    snapshot (2026-09-30) would have used it instead of the 2026-05-01 rate, so the row is
    unvalued. Before: the report covered FY1025 onwards and converted Q3 at the old rate."""
    folder = write_crafted_delivery(
        tmp_path / "extracts",
        extra_charges="T-1,S,Analytics,Pro,recurring,1,100.00,USD,1,1025-03-01,,2025-07-01\n",
    )
    (folder / "fx_rates.csv").write_text(RATES + '2026-07-31,EUR,"1,05"\n')

    assert run(tmp_path / "extracts", tmp_path / "home") == EXIT_BLOCKED
    message = capsys.readouterr().err
    assert (
        "1 quarantined revenue row cannot be valued (bad_fx_rate 1 row; in fx_rates.csv 1 row)"
        in message
    )
    assert "implausible_date: 1 row, ARR 1,200.00" in message
    assert not (tmp_path / "home" / "reports" / "latest").exists()
    rows = working(
        tmp_path / "home",
        "select extract, reason, detail, arr_at_stake, unvalued from main.quarantine "
        "order by extract",
    )
    assert rows == [
        (
            "billing_charges",
            "implausible_date",
            "effective_start '1025-03-01' is outside the plausible dates 2000-01-01 "
            "(NRR_EARLIEST_DATE) to 2076-09-30 (as-of + 50 years)",
            Decimal("1200.000000"),
            False,
        ),
        (
            "fx_rates",
            "bad_fx_rate",
            "rate_to_reporting '1,05' is not a number > 0; the 2026-09-30 snapshot would have "
            "used this rate and converted at the 2026-05-01 rate instead",
            Decimal("0.000000"),
            True,
        ),
    ]
