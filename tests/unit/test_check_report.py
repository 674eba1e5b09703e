"""How `nrr check` shows its report (no pipeline run: hand-made reports)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from pipeline.check import (
    BLOCK,
    PUBLISH,
    CheckReport,
    Example,
    FileSummary,
    MissingAccount,
    ReasonSummary,
    report_lines,
    report_record,
)
from pipeline.gate import GateVerdict

UNKNOWN = ReasonSummary(
    "unknown_account",
    5,
    Decimal("6000.006"),
    0,
    tuple(
        Example(row, {"charge_id": f"C{row}", "account_id": "Z"}, "account_id 'Z' is not in…")
        for row in (2, 3, 4)
    ),
)
LOOP = ReasonSummary(
    "parent_loop",
    1,
    Decimal(0),
    0,
    (Example(7, {"account_id": "L"}, "loop " + "L -> " * 200 + "L"),),
)


def report(**changes) -> CheckReport:
    values = {
        "folder": Path("/data/extracts/2026-09-30"),
        "verdict": BLOCK,
        "message": "Publishing is blocked by the quarantine.",
        "as_of": date(2026, 9, 30),
        "currency": "EUR",
        "files": (
            FileSummary("billing_charges", "billing_charges.csv", 1200, 5, (UNKNOWN,)),
            FileSummary("crm_accounts", "crm_accounts.parquet", 40, 1, (LOOP,)),
            FileSummary("fx_rates", "", 0, 0, ()),
        ),
        "valued": True,
        "gate": GateVerdict(False, "…", 6, Decimal("6000.006"), 0),
        "missing_accounts": tuple(MissingAccount(f"Z{n:02}", 1, 100 + n) for n in range(12)),
    }
    return CheckReport(**{**values, **changes})


def test_the_report_counts_each_file_and_shows_three_examples_per_reason():
    lines = report_lines(report())
    assert lines[:9] == [
        "Delivery 2026-09-30 (/data/extracts/2026-09-30), as of 2026-09-30, reporting currency EUR",
        "  billing_charges.csv: 1,200 rows read, 1,195 valid, 5 quarantined",
        # Money as the run summary shows it: cents, thousands separators, the currency.
        "    unknown_account: 5 rows, ARR at stake 6,000.01 EUR",
        "      row 2 (charge_id C2, account_id Z): account_id 'Z' is not in…",
        "      row 3 (charge_id C3, account_id Z): account_id 'Z' is not in…",
        "      row 4 (charge_id C4, account_id Z): account_id 'Z' is not in…",
        "      ... and 2 more",
        "  crm_accounts.parquet: 40 rows read, 39 valid, 1 quarantined",
        "    parent_loop: 1 row, ARR at stake 0.00 EUR",
    ]
    # A detail of 1,000 characters is cut for the terminal (--json keeps it whole).
    assert lines[9].startswith("      row 7 (account_id L): loop L -> L -> ")
    assert lines[9].endswith(" ...") and len(lines[9]) < 330
    assert lines[10:13] == [
        "  fx_rates: not delivered (optional)",
        "  Quarantine: 6 rows, ARR at stake 6,000.01 EUR, 0 revenue rows that cannot be valued.",
        "  Billing accounts missing from the CRM: 12: "
        + "; ".join(f"Z{n:02} (1 charge row, first row {100 + n})" for n in range(10))
        + "; and 2 more.",
    ]
    assert lines[13:] == [
        "",
        "Verdict: `nrr run` would block publishing: nothing would be published.",
        "  Publishing is blocked by the quarantine.",
    ]
    record = report_record(report())
    assert record["files"][1]["reasons"][0]["examples"][0]["detail"] == LOOP.examples[0].detail
    assert record["files"][0]["reasons"][0]["arr_at_stake"] == "6000.006"
    assert record["files"][0]["valid"] == 1195
    assert record["quarantined_rows"] == 6


def test_a_quarantine_dbt_did_not_value_says_so_and_a_publish_says_what_check_leaves_out():
    unvalued = ReasonSummary("bad_amount", 1, None, None, (Example(3, {}, "amount 'x'"),))
    lines = report_lines(
        report(
            verdict=PUBLISH,
            message="The quarantine is empty.",
            files=(FileSummary("billing_charges", "billing_charges.csv", 3, 1, (unvalued,)),),
            valued=False,
            gate=None,
            missing_accounts=(),
        )
    )
    assert lines[1:6] == [
        "  billing_charges.csv: 3 rows read, 2 valid, 1 quarantined",
        "    bad_amount: 1 row",
        "      row 3: amount 'x'",
        "  Quarantine: 1 row (not valued: dbt stopped before its quarantine model).",
        "  Billing accounts missing from the CRM: none.",
    ]
    assert lines[7:] == [
        "Verdict: `nrr run` would publish this delivery.",
        "  The quarantine is empty.",
        "  (`nrr run` also checks the reports it computes and compares their row counts with the "
        "previous",
        "    report; `nrr check` does not.)",
    ]
