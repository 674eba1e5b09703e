"""The publish gate: one exact verdict and its message (pipeline/gate.py)."""

from decimal import Decimal

import duckdb
import polars as pl

from pipeline.gate import QuarantineGroup, gate_verdict, quarantine_gate
from tests.unit.factories import QUARANTINE_SCHEMA


def group(reason, rows, arr="0", unvalued=0, file="billing_charges.csv"):
    return QuarantineGroup(file, reason, rows, Decimal(arr), unvalued)


def test_an_empty_quarantine_passes():
    verdict = gate_verdict([], 10, Decimal("100"), Decimal(0), 0)
    assert verdict.passed
    assert verdict.message == "The quarantine is empty."


def test_the_message_names_rows_reasons_files_shares_and_arr():
    groups = [group("unknown_account", 2, "3000.500000"), group("bad_date", 1, file="fx_rates.csv")]
    verdict = gate_verdict(groups, 40, Decimal("27000.000000"), Decimal(0), 0)
    assert not verdict.passed
    # 3 of 40 rows = 7.5 %; 3,000.50 of 27,000 + 3,000.50 = 30,000.50 -> 10.0 %.
    assert verdict.message == (
        "Publishing is blocked by the quarantine. "
        "3 quarantined rows carry ARR 3,000.50, which exceeds the threshold 0.00 "
        "(NRR_QUARANTINE_ARR_THRESHOLD). The quarantine holds 7.5 % of the delivery's 40 rows "
        "and 10.0 % of its valued ARR 30,000.50. "
        "By reason: bad_date: 1 row, ARR 0.00; unknown_account: 2 rows, ARR 3,000.50. "
        "By file: billing_charges.csv: 2 rows, ARR 3,000.50; fx_rates.csv: 1 row, ARR 0.00."
    )


def test_unvalued_revenue_rows_block_even_at_zero_arr():
    groups = [group("missing_fx_rate", 3, unvalued=3), group("bad_amount", 1, unvalued=1)]
    verdict = gate_verdict(groups, 8, Decimal("6600"), Decimal(0), 0)
    assert not verdict.passed
    assert verdict.unvalued_rows == 4
    assert verdict.message.startswith(
        "Publishing is blocked by the quarantine. 4 quarantined revenue rows cannot be valued "
        "(bad_amount 1 row, missing_fx_rate 3 rows; in billing_charges.csv 4 rows), which "
        "exceeds the threshold of 0 rows (NRR_QUARANTINE_UNVALUED_ROWS_THRESHOLD). "
        "4 quarantined rows carry ARR 0.00, which is within the threshold 0.00"
    )
    assert "not counting the unvalued rows" in verdict.message
    assert gate_verdict(groups, 8, Decimal("6600"), Decimal(0), 4).passed


def test_verdict_and_message_come_from_the_same_exact_sum():
    # As floats 0.1 + 0.2 = 0.30000000000000004 > 0.3; exactly it is 0.3, within 0.3.
    groups = [group("unknown_account", 1, "0.1"), group("bad_date", 1, "0.2", file="b.csv")]
    verdict = gate_verdict(groups, 2, Decimal(0), Decimal("0.3"), 0)
    assert verdict.passed
    assert "ARR 0.30, which is within the threshold 0.30" in verdict.message
    verdict = gate_verdict(groups, 2, Decimal(0), Decimal("0.299999"), 0)
    assert not verdict.passed
    assert "ARR 0.30, which exceeds the threshold 0.30" in verdict.message


def test_the_gate_reads_exact_sums_from_the_warehouse():
    rows = [
        ("billing_charges.csv", "billing_charges", 1, "unknown_account", "0.1", False),
        ("billing_charges.csv", "billing_charges", 2, "unknown_account", "0.2", False),
        ("billing_charges.csv", "billing_charges", 3, "bad_amount", "0", True),
    ]
    table = pl.DataFrame(
        {
            "delivery_date": [None] * 3,
            "source_file": [r[0] for r in rows],
            "extract": [r[1] for r in rows],
            "row_number": [r[2] for r in rows],
            "reason": [r[3] for r in rows],
            "detail": ["d"] * 3,
            "raw_record": ["{}"] * 3,
            "arr_at_stake": [Decimal(r[4]) for r in rows],
            "unvalued": [r[5] for r in rows],
        }
    ).cast(QUARANTINE_SCHEMA)
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.delivery_log as select * from (values "
        "('billing_charges', 10), ('crm_accounts', 5)) t(extract, row_count)"
    )
    # The gate reads dbt's models `quarantine` and `quarantine_basis`; here, hand-made.
    con.register("hand_made", table)
    con.execute("create table main.quarantine as select * from hand_made")
    con.execute("create table main.quarantine_basis as select 99.7::decimal(38, 6) as valid_arr")
    verdict = quarantine_gate(con, Decimal("0.3"), 1)
    assert verdict.passed
    assert (verdict.rows, verdict.arr, verdict.unvalued_rows) == (3, Decimal("0.3"), 1)
    # 3 of 15 rows; 0.30 of 99.70 + 0.30 = 100.00.
    assert "holds 20.0 % of the delivery's 15 rows and 0.3 % of its valued ARR 100.00" in (
        verdict.message
    )
    assert not quarantine_gate(con, Decimal("0.3"), 0).passed
