"""`nrr check DELIVERY_DIR`: what `nrr run` would make of a delivery, with nothing written.

Each delivery is hand-built from the crafted one (tests/integration/crafted.py); every count
and amount below is computed in the comments. The block case is the delivery `nrr run`
blocks in test_gate_cases.py, and check gives the same sentence.
"""

import json
import tempfile
from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import EXIT_BLOCKED, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, main
from tests.integration.crafted import ACCOUNTS, CHARGES, RATES, write_crafted_delivery
from tests.integration.test_gate_cases import EXTRA_ACCOUNTS, EXTRA_CHARGES

pytestmark = pytest.mark.integration

DELIVERY = "2026-09-30"


@pytest.fixture
def untouched(tmp_path, monkeypatch):
    """NRR_HOME, the working folder and the temporary folder: `check` creates no home,
    leaves nothing in the working folder and deletes its temporary warehouse."""
    home, cwd, scratch = tmp_path / "home", tmp_path / "cwd", tmp_path / "scratch"
    cwd.mkdir()
    scratch.mkdir()
    monkeypatch.setenv("NRR_HOME", str(home))
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return home, cwd, scratch


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_nothing_written(untouched, delivery: Path, before: dict[str, bytes]) -> None:
    home, cwd, scratch = untouched
    assert not home.exists()
    assert list(cwd.iterdir()) == []
    assert list(scratch.iterdir()) == []  # the temporary warehouse is gone
    assert contents(delivery) == before


# Added to the delivery of test_gate_cases' precise run (CHARGES + EXTRA_CHARGES: rows 1-17;
# X's two rows, 16 and 17, are quarantined negative_customer_arr with 12,000 + 11,550 =
# 23,550 at stake):
# - rows 18-20: three charges of account Z and row 21 one of account W, neither in the CRM:
#   unknown_account, each 100 USD a month from 2025-07-01, open: ARR 1,200 each, 4,800;
# - fx_rates row 5: a GBP rate 'x', bad_fx_rate; no charge is in GBP, so no snapshot needs
#   it: no ARR at stake, not unvalued.
# Quarantine: 2 + 4 + 1 = 7 rows, ARR 23,550 + 4,800 = 28,350, nothing unvalued; with the
# ARR threshold at exactly 28,350 it publishes.
MISSING_ACCOUNT_CHARGES = "".join(
    f"{account}-{n},{account},Analytics,Pro,recurring,1,100.00,USD,1,2025-07-01,,2025-07-01\n"
    for account, n in (("Z", 1), ("Z", 2), ("Z", 3), ("W", 1))
)


def test_bad_rows_within_the_thresholds_publish_with_every_count_and_example(
    tmp_path, untouched, monkeypatch, capsys
):
    folder = tmp_path / "extracts" / DELIVERY
    folder.mkdir(parents=True)
    (folder / "billing_charges.csv").write_text(CHARGES + EXTRA_CHARGES + MISSING_ACCOUNT_CHARGES)
    (folder / "crm_accounts.csv").write_text(ACCOUNTS + EXTRA_ACCOUNTS)
    (folder / "fx_rates.csv").write_text(
        RATES + "2025-06-30,JPY,0.006849315068493\n2025-07-01,GBP,x\n"
    )
    before = contents(folder)
    monkeypatch.setenv("NRR_QUARANTINE_ARR_THRESHOLD", "28350")

    assert main(["check", str(folder), "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)

    negative = (
        "customer X has negative ARR -600.00 at the 2025-09-30 snapshot, "
        "converted at the 2025-12-31 rates"
    )
    unknown_z = "account_id 'Z' is not in the CRM extract"
    assert report["verdict"] == "publish"
    assert report["exit_code"] == EXIT_OK
    assert report["as_of"] == DELIVERY
    # billing_charges: 8 crafted + 9 extra + 4 = 21 rows, 6 quarantined; crm_accounts: 4 + 5.
    assert report["files"] == [
        {
            "extract": "billing_charges",
            "source_file": "billing_charges.csv",
            "rows_read": 21,
            "valid": 15,
            "quarantined": 6,
            "reasons": [
                {
                    "reason": "negative_customer_arr",
                    "rows": 2,
                    "arr_at_stake": "23550.000000",
                    "unvalued_rows": 0,
                    "examples": [
                        {
                            "row_number": 16,
                            "ids": {"charge_id": "X-1", "account_id": "X"},
                            "detail": negative,
                        },
                        {
                            "row_number": 17,
                            "ids": {"charge_id": "X-2", "account_id": "X"},
                            "detail": negative,
                        },
                    ],
                },
                {
                    "reason": "unknown_account",
                    "rows": 4,
                    "arr_at_stake": "4800.000000",
                    "unvalued_rows": 0,
                    # Three examples of four rows, the first ones.
                    "examples": [
                        {
                            "row_number": row,
                            "ids": {"charge_id": f"Z-{row - 17}", "account_id": "Z"},
                            "detail": unknown_z,
                        }
                        for row in (18, 19, 20)
                    ],
                },
            ],
        },
        {
            "extract": "crm_accounts",
            "source_file": "crm_accounts.csv",
            "rows_read": 9,
            "valid": 9,
            "quarantined": 0,
            "reasons": [],
        },
        {
            "extract": "fx_rates",
            "source_file": "fx_rates.csv",
            "rows_read": 5,
            "valid": 4,
            "quarantined": 1,
            "reasons": [
                {
                    "reason": "bad_fx_rate",
                    "rows": 1,
                    "arr_at_stake": "0.000000",
                    "unvalued_rows": 0,
                    "examples": [
                        {
                            "row_number": 5,
                            "ids": {"rate_date": "2025-07-01", "currency": "GBP"},
                            "detail": "rate_to_reporting 'x' is not a number > 0",
                        }
                    ],
                }
            ],
        },
        # The optional account_signals extract, not delivered: listed, nothing read.
        {
            "extract": "account_signals",
            "source_file": "",
            "rows_read": 0,
            "valid": 0,
            "quarantined": 0,
            "reasons": [],
        },
    ]
    assert report["quarantined_rows"] == 7
    assert report["gate"]["passed"] is True
    assert (report["gate"]["rows"], report["gate"]["arr"], report["gate"]["unvalued_rows"]) == (
        7,
        "28350.000000",
        0,
    )
    assert (
        "7 quarantined rows carry ARR 28,350.00, which is within the threshold 28,350.00 "
        "(NRR_QUARANTINE_ARR_THRESHOLD)."
    ) in report["message"]
    assert report["missing_accounts"] == [
        {"account_id": "W", "rows": 1, "first_row": 21},
        {"account_id": "Z", "rows": 3, "first_row": 18},
    ]
    assert report["failed_tests"] == []
    assert_nothing_written(untouched, folder, before)


def test_rows_that_cannot_be_valued_block_as_they_do_in_nrr_run(tmp_path, untouched, capsys):
    """The Parquet delivery test_gate_cases' test_rows_that_cannot_be_valued_block_publishing
    runs: `nrr run` blocks it (exit 4) with the sentence asserted here too."""
    folder = write_crafted_delivery(tmp_path / "extracts")
    extra = (
        "D-1,S,Analytics,Pro,recurring,1,300.00000000000006,USD,1,2025-07-01,,2025-07-01\n"
        "C-1,P,Analytics,Pro,recurring,1,100.00,CHF,1,2025-07-01,,2025-07-01\n"
    )
    charges = pl.read_csv(
        (CHARGES + extra).encode(), schema_overrides={"effective_end": pl.String}
    ).with_columns(pl.col("amount", "billing_period_months").cast(pl.Float64))
    (folder / "billing_charges.csv").unlink()
    charges.write_parquet(folder / "billing_charges.parquet")
    before = contents(folder)

    assert main(["check", str(folder)]) == EXIT_BLOCKED
    out = capsys.readouterr().out
    lines = out.splitlines()
    files = lines[
        1 : lines.index(
            "  Quarantine: 2 rows, ARR at stake 0.00 USD, 2 revenue rows that cannot be valued."
        )
    ]
    assert files == [
        "  billing_charges.parquet: 10 rows read, 8 valid, 2 quarantined",
        "    bad_amount: 1 row, ARR at stake 0.00 USD, 1 of them cannot be valued",
        "      row 9 (charge_id D-1, account_id S): amount '300.00000000000006' has more "
        "than 6 decimal places",
        "    missing_fx_rate: 1 row, ARR at stake 0.00 USD, 1 of them cannot be valued",
        "      row 10 (charge_id C-1, account_id P): no CHF rate on or before 2025-09-30, a "
        "snapshot at which the charge is in force",
        "  crm_accounts.csv: 4 rows read, 4 valid, 0 quarantined",
        "  fx_rates.csv: 3 rows read, 3 valid, 0 quarantined",
        "  account_signals: not delivered (optional)",
    ]
    assert "  Billing accounts missing from the CRM: none." in lines
    verdict = " ".join(out[out.index("Verdict:") :].split())
    assert verdict.startswith(
        "Verdict: `nrr run` would block publishing: nothing would be published. "
        "Publishing is blocked by the quarantine."
    )
    assert (
        "2 quarantined revenue rows cannot be valued (bad_amount 1 row, missing_fx_rate 1 row; "
        "in billing_charges.parquet 2 rows), which exceeds the threshold of 0 rows "
        "(NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD)."
    ) in verdict
    assert_nothing_written(untouched, folder, before)


def test_a_rejected_delivery_and_usage_errors(tmp_path, untouched, capsys):
    """No dbt here: the landing rejects the delivery before anything is loaded."""
    folder = write_crafted_delivery(tmp_path / "extracts")
    without_amount = "\n".join(
        ",".join(value for i, value in enumerate(line.split(",")) if i != 6)
        for line in CHARGES.splitlines()
    )
    assert "amount" not in without_amount
    (folder / "billing_charges.csv").write_text(without_amount + "\n")
    before = contents(folder)

    assert main(["check", str(folder), "--json"]) == EXIT_REJECTED
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "reject"
    assert report["message"] == (
        "billing_charges.csv in delivery 2026-09-30 lacks required column(s) amount (found: "
        "charge_id, account_id, product, plan, charge_type, quantity, currency, "
        "billing_period_months, effective_start, effective_end, updated_at)."
    )
    assert (report["rejected_file"], report["rejected_column"]) == ("billing_charges.csv", "amount")
    assert report["files"] == []

    assert main(["check", str(folder)]) == EXIT_REJECTED
    out = capsys.readouterr().out
    assert "Verdict: `nrr run` would reject this delivery: nothing would be published." in out
    assert "lacks required column(s) amount" in out

    # Usage errors: a folder that does not exist, and the extracts root instead of a delivery.
    assert main(["check", str(tmp_path / "extracts" / "2026-10-31")]) == EXIT_USAGE
    assert main(["check", str(tmp_path / "extracts")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"nrr: {tmp_path / 'extracts'} is not a delivery folder: a folder named by" in err
    assert_nothing_written(untouched, folder, before)
