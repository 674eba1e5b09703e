"""Small, valid extract frames (all text, as landed) that tests bend one field at a time."""

from datetime import date

import polars as pl

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.quarantine import REJECT_SCHEMA

DELIVERY = date(2026, 9, 30)


def charge(**overrides) -> dict[str, str | None]:
    row = {
        "charge_id": "C1",
        "account_id": "A1",
        "product": "Analytics",
        "plan": "Pro",
        "charge_type": "recurring",
        "quantity": "10",
        "amount": "1000.00",
        "currency": "USD",
        "billing_period_months": "1",
        "effective_start": "2026-01-01",
        "effective_end": None,
        "updated_at": "2026-01-01T09:00:00",
    }
    row.update(overrides)
    return row


def account(**overrides) -> dict[str, str | None]:
    row = {
        "account_id": "A1",
        "account_name": "Acme Inc",
        "parent_account_id": None,
        "segment": "SMB",
        "region": "NA",
        "industry": "Software",
        "csm_owner": "Ana Silva",
        "updated_at": "2026-09-30T02:00:00",
    }
    row.update(overrides)
    return row


def rate(**overrides) -> dict[str, str | None]:
    row = {"rate_date": "2025-12-31", "currency": "EUR", "rate_to_reporting": "1.10"}
    row.update(overrides)
    return row


def landed(name: str, rows: list[dict]) -> pl.LazyFrame:
    """Rows as the landing step stores them: text columns plus lineage columns."""
    frame = pl.DataFrame(rows, schema={c: pl.String for c in EXTRACT_COLUMNS[name]}, orient="row")
    return (
        frame.lazy()
        .with_row_index("_row_number", offset=1)
        .with_columns(
            pl.col("_row_number").cast(pl.Int64),
            _delivery_date=pl.lit(DELIVERY),
            _source_file=pl.lit(f"{name}.csv"),
        )
    )


# The published quarantine's columns and types (dbt's model `quarantine`, models/gate), for
# hand-made quarantines: the row rules' rejects plus what dbt values.
QUARANTINE_SCHEMA = {
    **REJECT_SCHEMA,
    "arr_at_stake": pl.Decimal(38, 6),
    "unvalued": pl.Boolean,
}
