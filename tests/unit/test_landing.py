"""Landing: whole-delivery rejection, archive, raw tables, idempotence."""

import shutil
from datetime import date

import duckdb
import polars as pl
import pytest

from pipeline.landing import (
    DeliveryRejected,
    archive_delivery,
    inspect_delivery,
    load_raw_tables,
    loaded_delivery,
    scan_extract,
)


def write_delivery(root, name="2026-09-30", fx=True, charges_header=None, currency="EUR"):
    folder = root / name
    folder.mkdir(parents=True)
    header = charges_header or (
        "charge_id,account_id,product,plan,charge_type,quantity,amount,currency,"
        "billing_period_months,effective_start,effective_end,updated_at"
    )
    (folder / "billing_charges.csv").write_text(
        header + f"\nC1,A1,Analytics,Pro,recurring,1,100.00,{currency},1,2026-01-01,,\n"
    )
    (folder / "crm_accounts.csv").write_text(
        "account_id,account_name,parent_account_id,segment,region,industry,csm_owner,updated_at\n"
        "A1,Acme,,SMB,NA,Software,Ana,\n"
    )
    if fx:
        (folder / "fx_rates.csv").write_text(
            "rate_date,currency,rate_to_reporting\n2025-12-31,EUR,1.1\n"
        )
    return folder


def test_a_complete_delivery_passes_inspection(tmp_path):
    write_delivery(tmp_path)
    delivery = inspect_delivery(tmp_path, None, "USD")
    assert delivery.delivery_date == date(2026, 9, 30)
    assert set(delivery.files) == {"billing_charges", "crm_accounts", "fx_rates", "account_signals"}
    assert delivery.files["account_signals"].path is None  # optional, not delivered


def test_the_latest_delivery_is_taken_by_default(tmp_path):
    write_delivery(tmp_path, "2026-09-29")
    write_delivery(tmp_path, "2026-09-30")
    (tmp_path / "not-a-delivery").mkdir()
    assert inspect_delivery(tmp_path, None, "USD").folder.name == "2026-09-30"


def test_a_missing_required_file_rejects_the_delivery_naming_it(tmp_path):
    (write_delivery(tmp_path) / "crm_accounts.csv").unlink()
    with pytest.raises(DeliveryRejected, match="missing the crm_accounts extract") as error:
        inspect_delivery(tmp_path, None, "USD")
    assert error.value.file == "crm_accounts.csv"


def test_a_missing_column_rejects_the_delivery_naming_file_and_column(tmp_path):
    write_delivery(
        tmp_path,
        charges_header="charge_id,account_id,product,plan,charge_type,"
        "quantity,currency,billing_period_months,effective_start,effective_end,"
        "updated_at",
    )
    with pytest.raises(
        DeliveryRejected,
        match="billing_charges.csv .* lacks required column"
        r"\(s\) amount",
    ) as error:
        inspect_delivery(tmp_path, None, "USD")
    assert (error.value.file, error.value.column) == ("billing_charges.csv", "amount")


def test_foreign_charges_without_fx_file_reject_the_delivery(tmp_path):
    write_delivery(tmp_path, fx=False)
    with pytest.raises(DeliveryRejected, match="charges in EUR but no fx_rates extract"):
        inspect_delivery(tmp_path, None, "USD")


def test_fx_file_is_optional_when_all_charges_are_in_reporting_currency(tmp_path):
    write_delivery(tmp_path, fx=False, currency="USD")
    assert inspect_delivery(tmp_path, None, "USD").files["fx_rates"].path is None


@pytest.mark.parametrize("name", ["../2026-09-30", "2026-9-30", "latest", "2026-02-30"])
def test_a_delivery_name_that_is_not_a_date_is_refused(tmp_path, name):
    write_delivery(tmp_path / "root")
    with pytest.raises(DeliveryRejected, match="not a date folder name"):
        inspect_delivery(tmp_path / "root", name, "USD")


def test_a_delivery_symlinked_outside_the_root_is_refused(tmp_path):
    outside = write_delivery(tmp_path / "elsewhere")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "2026-10-01").symlink_to(outside)
    with pytest.raises(DeliveryRejected, match="resolves outside the extracts root"):
        inspect_delivery(tmp_path / "root", "2026-10-01", "USD")


def test_a_bom_in_the_header_is_read_as_the_column_name(tmp_path):
    folder = write_delivery(tmp_path)
    path = folder / "crm_accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    inspect_delivery(tmp_path, None, "USD")
    assert scan_extract(path).collect()["account_id"].to_list() == ["A1"]


def test_a_file_that_is_not_utf8_is_rejected(tmp_path):
    folder = write_delivery(tmp_path)
    (folder / "crm_accounts.csv").write_bytes("account_id,nâme\n".encode("latin-1"))
    with pytest.raises(DeliveryRejected, match="crm_accounts.csv is not UTF-8"):
        inspect_delivery(tmp_path, None, "USD")


def test_an_empty_file_is_rejected(tmp_path):
    folder = write_delivery(tmp_path)
    (folder / "crm_accounts.csv").write_text("")
    with pytest.raises(DeliveryRejected, match="crm_accounts.csv is empty"):
        inspect_delivery(tmp_path, None, "USD")


def test_rows_are_landed_as_text_with_lineage_and_loading_twice_changes_nothing(tmp_path):
    write_delivery(tmp_path / "extracts")
    delivery = inspect_delivery(tmp_path / "extracts", None, "USD")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    counts = load_raw_tables(con, delivery)
    assert counts == {"billing_charges": 1, "crm_accounts": 1, "fx_rates": 1, "account_signals": 0}
    first = con.sql("select * from raw.billing_charges").pl()
    assert first.select("_delivery_date", "_source_file", "_row_number", "amount").rows() == [
        (date(2026, 9, 30), "billing_charges.csv", 1, "100.00")
    ]
    assert all(
        dtype == pl.String for dtype in first.drop("_delivery_date", "_row_number").schema.values()
    )
    assert loaded_delivery(con) == (
        date(2026, 9, 30),
        {name: f.checksum or "" for name, f in delivery.files.items()},
    )
    load_raw_tables(con, delivery)
    assert con.sql("select * from raw.billing_charges").pl().equals(first)
    con.close()


def test_a_file_that_cannot_be_read_leaves_the_loaded_delivery_as_it_was(tmp_path):
    write_delivery(tmp_path / "extracts")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    first = inspect_delivery(tmp_path / "extracts", None, "USD")
    load_raw_tables(con, first)
    folder = write_delivery(tmp_path / "extracts", name="2026-10-31")
    with (folder / "billing_charges.csv").open("a") as charges:
        charges.write("C2,A1,Analytics,Pro,recurring,1,50.00,EUR,1,2026-02-01,,\n")
    # crm_accounts is read after billing_charges has been replaced in the transaction.
    with (folder / "crm_accounts.csv").open("a") as accounts:
        accounts.write("A2,Beta,,SMB,NA,Software,Ana,,one field too many\n")
    second = inspect_delivery(tmp_path / "extracts", "2026-10-31", "USD")
    with pytest.raises(DeliveryRejected, match="crm_accounts.csv could not be read as CSV"):
        load_raw_tables(con, second)
    assert con.execute("select _delivery_date, charge_id from raw.billing_charges").fetchall() == [
        (date(2026, 9, 30), "C1")
    ]
    assert loaded_delivery(con) == (
        date(2026, 9, 30),
        {name: f.checksum or "" for name, f in first.files.items()},
    )
    con.close()


def test_archive_keeps_each_distinct_delivery_once(tmp_path):
    folder = write_delivery(tmp_path / "extracts")
    delivery = inspect_delivery(tmp_path / "extracts", None, "USD")
    first = archive_delivery(delivery, tmp_path / "archive")
    again = archive_delivery(delivery, tmp_path / "archive")
    assert first == again
    (folder / "fx_rates.csv").write_text(
        "rate_date,currency,rate_to_reporting\n2025-12-31,EUR,1.2\n"
    )
    changed = archive_delivery(
        inspect_delivery(tmp_path / "extracts", None, "USD"), tmp_path / "archive"
    )
    fx_paths = {r["archived_as"] for r in first + changed if r["extract"] == "fx_rates"}
    assert len(fx_paths) == 2  # the re-delivered file is kept beside the original
    shutil.rmtree(tmp_path / "archive")
