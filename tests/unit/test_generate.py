"""The sample generator: deterministic, in the contract's format, with the promised variety."""

import csv
from datetime import date

import polars as pl

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.generate import GenerateOptions, generate


def _bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_arguments_give_the_same_bytes(tmp_path):
    first = generate(GenerateOptions(out=tmp_path / "a", customers=300, seed=7))
    second = generate(
        GenerateOptions(out=tmp_path / "b", customers=300, seed=7, chunk_customers=37)
    )
    assert _bytes(first) == _bytes(second)


def test_another_seed_gives_another_history(tmp_path):
    first = generate(GenerateOptions(out=tmp_path / "a", customers=50, seed=1))
    second = generate(GenerateOptions(out=tmp_path / "b", customers=50, seed=2))
    assert _bytes(first)["billing_charges.csv"] != _bytes(second)["billing_charges.csv"]


def test_delivery_has_the_contract_columns_in_csv_and_parquet(tmp_path):
    as_of = date(2025, 6, 30)
    for file_format in ("csv", "parquet"):
        folder = generate(
            GenerateOptions(
                out=tmp_path / file_format, customers=40, as_of=as_of, file_format=file_format
            )
        )
        assert folder.name == "2025-06-30"
        for name, columns in EXTRACT_COLUMNS.items():
            path = folder / f"{name}.{file_format}"
            if file_format == "csv":
                with path.open() as handle:
                    header = next(csv.reader(handle))
            else:
                header = pl.read_parquet_schema(path).names()
            assert tuple(header) == columns


def test_history_has_the_variety_the_reports_need(tmp_path):
    folder = generate(GenerateOptions(out=tmp_path, customers=600, seed=3))
    charges = pl.read_csv(folder / "billing_charges.csv", infer_schema=False)
    accounts = pl.read_csv(folder / "crm_accounts.csv", infer_schema=False)
    assert set(charges["charge_type"]) == {"recurring", "usage", "one_time"}
    assert set(charges["currency"]) >= {"USD", "EUR", "GBP", "JPY"}
    assert set(charges["billing_period_months"]) >= {"1", "3", "12", "24", "36"}
    assert charges["effective_end"].null_count() > 0  # open-ended charges
    assert (charges["amount"].str.starts_with("-")).any()  # recurring discount lines
    assert accounts["parent_account_id"].drop_nulls().len() > 0  # parent/child accounts
    assert charges.filter(pl.col("plan") != "Discount")["plan"].n_unique() >= 5
