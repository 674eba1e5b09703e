"""Property: for any delivery, every row is either in the valid staging tables or in the
quarantine, and the gate lets a report through only when no revenue row is missing from it
unaccounted for (hypothesis over deliveries mixing valid and broken values)."""

import shutil
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.gate import quarantine_gate, store_quarantine
from pipeline.quarantine import ISO_4217, RuleContext, build_quarantine
from tests.unit.factories import DELIVERY, account, landed, rate

pytestmark = pytest.mark.integration

AS_OF = date(2026, 9, 30)
# What the report reads of each extract (billing: after the customer-level rules).
STAGING = {
    "billing_charges": "main.int_billing_charges",
    "crm_accounts": "main.stg_crm__accounts",
    "fx_rates": "main.stg_fx__rates",
}
VALUES = {
    "charge_id": ["C1", "C2", "C3", "C4", "C5", "", None],
    "account_id": ["A1", "A2", "A404"],
    "product": ["Analytics", "", None],
    "plan": ["Pro", "", None],
    "charge_type": ["recurring", "usage", "one_time", "Recurring", None],
    "quantity": ["1", "10", "2.5", "0", "-1", "x", None],
    "amount": ["100.00", "-50", "0", "1.123456", "1e3", "300.00000000000006", "１２", None],
    "currency": ["USD", "usd", "EUR", "eur", "CHF", "XXX", None],
    "billing_period_months": ["1", "12", "12.0", "7", "0", "121", "x", None],
    "effective_start": ["2025-01-01", "2026-06-15", "2027-01-01", "2026-02-30", None],
    "effective_end": [None, "2026-01-01", "2025-06-01", "bad"],
    "updated_at": ["2026-01-01T00:00:00", "yesterday"],
}
charges_strategy = st.lists(
    st.fixed_dictionaries({c: st.sampled_from(v) for c, v in VALUES.items()}),
    min_size=1,
    max_size=8,
)
rates_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "rate_date": st.sampled_from(["2024-12-31", "2025-12-31", "2026-07-01", "bad"]),
            "currency": st.sampled_from(["EUR", "eur", "USD"]),
            "rate_to_reporting": st.sampled_from(["1.1", "0.006849315068493", "1", "0", "x"]),
        }
    ),
    max_size=3,
)


def _date(text):
    try:
        return date.fromisoformat(text) if text and text.isascii() and len(text) == 10 else None
    except ValueError:
        return None


def may_carry_revenue(row: dict) -> bool:
    """Independent reading of the contract: a row can put ARR in a report unless it is
    one_time, or its dates are readable and it is never in force on or before as-of."""
    if row["charge_type"] == "one_time":
        return False
    start, end = _date(row["effective_start"]), _date(row["effective_end"])
    if start is None or (row["effective_end"] is not None and end is None):
        return True
    return start <= AS_OF and (end is None or end > start)


# The gate reads dbt's model `quarantine`. Its views (staging, int_quarantined_*) read the
# raw tables as they are; these tables are rebuilt from the SQL dbt compiled for the copied
# warehouse (same as-of), in dependency order.
GATE_TABLES = (
    "intermediate/int_customer_accounts",
    "intermediate/int_charge_exclusions",
    "intermediate/int_fiscal_quarters",
    "intermediate/int_product_snapshot_amounts",
    "gate/quarantine",
)


@pytest.fixture(scope="module")
def warehouse_copy(sample_home, tmp_path_factory):
    """A copy of a built warehouse: its staging views are dbt's compiled SQL."""
    folder = tmp_path_factory.mktemp("property")
    shutil.copy(sample_home / "warehouse.duckdb", folder / "warehouse.duckdb")
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    compiled = sample_home / "dbt_target" / "compiled" / "nrr" / "models"
    rebuild = [
        f"create or replace table main.{model.split('/')[1]} as "
        + (compiled / f"{model}.sql").read_text()
        for model in GATE_TABLES
    ]
    yield con, rebuild
    con.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(charges=charges_strategy, rates=rates_strategy)
def test_every_row_is_staged_or_quarantined_and_the_gate_sees_all_revenue(
    warehouse_copy, charges, rates
):
    con, rebuild_gate_tables = warehouse_copy
    accounts = [account(account_id="A1"), account(account_id="A2", parent_account_id="A1")]
    rates = rates or [rate()]
    frames = {
        "billing_charges": landed("billing_charges", charges),
        "crm_accounts": landed("crm_accounts", accounts),
        "fx_rates": landed("fx_rates", rates),
    }
    result = build_quarantine(
        frames["billing_charges"],
        frames["crm_accounts"],
        frames["fx_rates"],
        RuleContext("USD", 1, AS_OF),
    )
    for name, frame in frames.items():
        con.register("frame", frame.collect().to_arrow())
        con.execute(
            f"create or replace table raw.{name} as select _delivery_date, _source_file, "
            f"_row_number, {', '.join(EXTRACT_COLUMNS[name])} from frame"
        )
        con.unregister("frame")
    con.execute(
        "create or replace table raw.delivery_log as select * from (values "
        "(?, 'billing_charges', ?), (?, 'crm_accounts', ?), (?, 'fx_rates', ?)) "
        "t(delivery_date, extract, row_count)",
        [DELIVERY, len(charges), DELIVERY, len(accounts), DELIVERY, len(rates)],
    )
    store_quarantine(con, result.rejects, result.checked)
    for statement in rebuild_gate_tables:
        con.execute(statement)
    quarantine = con.sql("select * from main.quarantine").pl()

    delivered = {"billing_charges": charges, "crm_accounts": accounts, "fx_rates": rates}
    for name, view in STAGING.items():
        staged = con.execute(f"select count(*) from {view}").fetchall()[0][0]
        quarantined = quarantine.filter(quarantine["extract"] == name).height
        assert staged + quarantined == len(delivered[name]), name
    # What staging holds parses completely (no valid row lost to a failed cast).
    assert con.execute(
        "select count(*) from main.stg_billing__charges where amount is null or quantity is null "
        "or effective_start is null or billing_period_months not between 1 and 120 "
        f"or currency not in ({', '.join(repr(c) for c in sorted(ISO_4217))})"
    ).fetchall() == [(0,)]

    verdict = quarantine_gate(con, Decimal(0), 0)
    billing = quarantine.filter(quarantine["extract"] == "billing_charges")
    for quarantined in billing.iter_rows(named=True):
        row = charges[quarantined["row_number"] - 1]
        if may_carry_revenue(row) and row["amount"] not in ("0",):
            # Revenue the report leaves out is either valued or counted as unvalued.
            assert quarantined["unvalued"] or quarantined["arr_at_stake"] > 0, (row, quarantined)
    revenue_left_out = billing.filter(billing["unvalued"] | (billing["arr_at_stake"] > 0))
    assert verdict.passed == revenue_left_out.is_empty()
