"""Mistaken and hostile deliveries (issue 18): each is refused with a clear message, or its
rows are quarantined and counted by the gate; never a wrong report, a hang or a lost file.

Each test names the case of docs/reliability.md it proves."""

from __future__ import annotations

import os
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.contracts import EXTRACT_COLUMNS
from pipeline.landing import (
    DeliveryRejected,
    Limits,
    accepted_files,
    archive_delivery,
    archived_copy,
    inspect_delivery,
    load_raw_tables,
    read_json_lines,
    record_receipt,
    scan_extract,
)
from pipeline.quarantine import RuleContext, build_quarantine
from pipeline.settings import Settings, SettingsError
from tests.integration.valued import valued_in_dbt
from tests.unit.factories import account, charge, landed, rate

AS_OF = date(2026, 9, 30)
CONTEXT = RuleContext("USD", 1, AS_OF)
TODAY = Limits(latest_date=date(2026, 10, 1), today=date(2026, 9, 30))
CHARGES_HEADER = ",".join(EXTRACT_COLUMNS["billing_charges"])
CHARGE = "C1,A1,Analytics,Pro,recurring,1,100.00,{currency},1,2026-01-01,,2026-01-01T09:00:00"
CRM = ",".join(EXTRACT_COLUMNS["crm_accounts"]) + "\nA1,Acme,,SMB,NA,Software,Ana,\n"
RATES_HEADER = "rate_date,currency,rate_to_reporting\n"


def quarantine(charges, accounts=None, rates=None, context=CONTEXT):
    return build_quarantine(
        landed("billing_charges", charges),
        landed("crm_accounts", accounts if accounts is not None else [account()]),
        landed("fx_rates", rates if rates is not None else [rate()]),
        context,
    )


def delivery_folder(root: Path, name: str = "2026-09-30", currency: str = "USD") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "billing_charges.csv").write_text(
        CHARGES_HEADER + "\n" + CHARGE.format(currency=currency) + "\n"
    )
    (folder / "crm_accounts.csv").write_text(CRM)
    return folder


def inspect(root: Path, limits: Limits = TODAY):
    return inspect_delivery(root, None, "USD", limits)


# --- case 1: implausible dates ---------------------------------------------------------------


@pytest.mark.integration  # runs dbt (valued_in_dbt)
def test_a_year_typo_or_sentinel_date_is_quarantined_and_valued_not_reported(tmp_path):
    result = valued_in_dbt(
        tmp_path,
        [
            charge(charge_id="typo", effective_start="1025-03-01"),
            charge(charge_id="sentinel", effective_start="0001-01-01"),
            charge(charge_id="far_end", effective_end="2205-12-31"),
            charge(charge_id="good", effective_start="2026-01-01"),
        ],
        rates=[rate(rate_date="0001-01-01")],
    )
    table = result.table
    assert table.select("extract", "row_number", "reason", "arr_at_stake", "unvalued").rows() == [
        ("billing_charges", 1, "implausible_date", Decimal("12000"), False),
        ("billing_charges", 2, "implausible_date", Decimal("12000"), False),
        ("billing_charges", 3, "implausible_date", Decimal("12000"), False),
        ("fx_rates", 1, "implausible_date", Decimal("0"), False),
    ]
    assert table["detail"][0] == (
        "effective_start '1025-03-01' is outside the plausible dates 2000-01-01 "
        "(NRR_EARLIEST_DATE) to 2076-09-30 (as-of + 50 years)"
    )
    assert table["detail"][2].startswith("effective_end '2205-12-31' is outside")
    assert result.first_charge_start == date(2026, 1, 1)  # the quarters start at the good charge


def test_the_earliest_plausible_date_is_a_setting():
    early = RuleContext("USD", 1, AS_OF, earliest_date=date(1990, 1, 1))
    table = quarantine([charge(effective_start="1995-01-01")], context=early).rejects
    assert table.is_empty()
    assert Settings(earliest_date=date(1990, 1, 1)).earliest_date == date(1990, 1, 1)


# --- case 2: a header-only fx_rates file -----------------------------------------------------


def test_a_header_only_fx_file_with_foreign_charges_rejects_the_delivery(tmp_path):
    folder = delivery_folder(tmp_path, currency="EUR")
    (folder / "fx_rates.csv").write_text(RATES_HEADER)
    with pytest.raises(DeliveryRejected) as rejected:
        inspect(tmp_path)
    assert str(rejected.value) == (
        "fx_rates.csv has only a header row, but charges are in EUR: none of them could be "
        "converted to USD. Nothing was loaded; deliver the rates."
    )
    assert (rejected.value.file, rejected.value.column) == ("fx_rates.csv", "rate_to_reporting")


def test_an_fx_file_of_broken_rates_only_rejects_the_delivery(tmp_path):
    folder = delivery_folder(tmp_path, currency="EUR")
    (folder / "fx_rates.csv").write_text(RATES_HEADER + '2026-01-01,EUR,"1,10"\n')
    with pytest.raises(DeliveryRejected, match="has 1 rows, none of them a usable rate to USD"):
        inspect(tmp_path)


def test_a_header_only_fx_file_is_fine_when_every_charge_is_in_the_reporting_currency(tmp_path):
    folder = delivery_folder(tmp_path)
    (folder / "fx_rates.csv").write_text(RATES_HEADER)
    assert inspect(tmp_path).files["fx_rates"].path.name == "fx_rates.csv"


# --- case 3 and 7: one definition of blank; quoted empty fields ------------------------------

BLANKS = ["", " ", "\t", "\r", "\n", "\x0b", "\x0c", "\x85", "\u2028", "\u00a0", "\u3000"]


def test_every_kind_of_blank_is_read_as_missing_from_csv_and_parquet(tmp_path):
    header = ",".join(EXTRACT_COLUMNS["crm_accounts"])
    rows = [f'A{i},Acme,"{blank}",SMB,NA,x,y,' for i, blank in enumerate(BLANKS)]
    csv_path = tmp_path / "csv" / "crm_accounts.csv"
    csv_path.parent.mkdir()
    csv_path.write_text(header + "\n" + "\n".join(rows) + "\n")
    parquet_path = tmp_path / "parquet" / "crm_accounts.parquet"
    parquet_path.parent.mkdir()
    columns = {
        c: [f"A{i}" if c == "account_id" else "x" for i in range(len(BLANKS))]
        for c in EXTRACT_COLUMNS["crm_accounts"]
    }
    columns["parent_account_id"] = BLANKS
    pq.write_table(pa.table(columns), parquet_path)
    for path in (csv_path, parquet_path):
        parents = scan_extract(path).collect()["parent_account_id"]
        assert parents.null_count() == len(BLANKS), path.suffix


def test_a_fully_quoted_csv_reads_its_empty_fields_as_missing(tmp_path):
    quoted = ",".join(f'"{v}"' for v in CHARGE.format(currency="USD").split(","))
    path = tmp_path / "billing_charges.csv"
    path.write_text(CHARGES_HEADER + "\n" + quoted + "\n")
    row = scan_extract(path).collect().row(0, named=True)
    assert row["effective_end"] is None  # open-ended, not a bad date
    assert row["effective_start"] == "2026-01-01"


def test_an_account_whose_parent_is_a_tab_is_a_top_level_customer_in_both_engines(tmp_path):
    folder = delivery_folder(tmp_path)
    (folder / "crm_accounts.csv").write_text(CRM + 'A2,Beta,"\t",SMB,NA,x,y,\n')
    delivery = inspect(tmp_path)
    con = duckdb.connect()
    load_raw_tables(con, delivery)
    assert con.sql(
        "select account_id from raw.crm_accounts where parent_account_id is null order by 1"
    ).fetchall() == [("A1",), ("A2",)]
    accounts = con.sql("select * from raw.crm_accounts").pl().lazy()
    con.close()
    table = build_quarantine(
        landed("billing_charges", [charge(account_id="A2")]),
        accounts,
        landed("fx_rates", []),
        CONTEXT,
    ).rejects
    assert table.is_empty()


# --- case 4: quarantined FX rates a snapshot needed ------------------------------------------


@pytest.mark.integration  # runs dbt (valued_in_dbt)
def test_a_quarantined_rate_that_a_snapshot_needed_counts_against_the_gate(tmp_path):
    result = valued_in_dbt(
        tmp_path,
        [charge(currency="EUR")],  # 1,000 EUR a month from 2026-01-01: Q1, Q2, Q3 2026
        rates=[
            rate(rate_date="2025-06-30", rate_to_reporting="abc"),  # older than a valid rate
            rate(rate_date="2025-12-31", rate_to_reporting="1.10"),
            rate(rate_date="2026-06-30", rate_to_reporting="1.20"),
            rate(rate_date="2026-07-31", rate_to_reporting="1,25"),  # Q3 would have used it
            rate(rate_date="2026-10-15", rate_to_reporting="1,30"),  # after every snapshot
        ],
    )
    fx = result.table.filter(pl.col("extract") == "fx_rates")
    assert fx.select("row_number", "reason", "unvalued").rows() == [
        (1, "bad_fx_rate", False),
        (4, "bad_fx_rate", True),
        (5, "bad_fx_rate", False),
    ]
    assert fx["detail"][1] == (
        "rate_to_reporting '1,25' is not a number > 0; the 2026-09-30 snapshot would have "
        "used this rate and converted at the 2026-06-30 rate instead"
    )


@pytest.mark.integration  # runs dbt (valued_in_dbt)
def test_a_duplicated_rate_date_that_a_snapshot_needed_counts_against_the_gate(tmp_path):
    result = valued_in_dbt(
        tmp_path,
        [charge(currency="EUR")],
        rates=[
            rate(rate_date="2025-12-31"),
            rate(rate_date="2026-03-31", rate_to_reporting="1.15"),
            rate(rate_date="2026-03-31", rate_to_reporting="1.16"),
        ],
    )
    fx = result.table.filter(pl.col("extract") == "fx_rates")
    assert fx.select("row_number", "reason", "unvalued").rows() == [
        (2, "duplicate_fx_rate", True),
        (3, "duplicate_fx_rate", True),
    ]
    assert fx["detail"][0].endswith(
        "the 2026-03-31 snapshot would have used this rate and converted at the 2025-12-31 "
        "rate instead"
    )


# --- case 5 and 16: dates after today; as-of before the data ---------------------------------


def test_a_delivery_folder_dated_after_today_is_refused(tmp_path):
    delivery_folder(tmp_path, "2026-09-29")
    delivery_folder(tmp_path, "2205-12-31")
    with pytest.raises(DeliveryRejected) as rejected:
        inspect(tmp_path)
    assert str(rejected.value).startswith(
        "Delivery folder 2205-12-31 is dated after today (2026-09-30): probably a typo in its "
        "name. Nothing was read or published."
    )
    assert inspect_delivery(tmp_path, "2026-09-29", "USD", TODAY).folder.name == "2026-09-29"
    # The tolerance: tomorrow (time zones) is accepted.
    delivery_folder(tmp_path / "other", "2026-10-01")
    assert inspect(tmp_path / "other").folder.name == "2026-10-01"


def test_an_as_of_after_today_is_a_settings_error():
    with pytest.raises(SettingsError, match=r"NRR_AS_OF 2099-01-01 is after today"):
        Settings(as_of=date(2099, 1, 1))


@pytest.mark.integration  # runs dbt (valued_in_dbt)
def test_an_as_of_before_every_charge_says_so(tmp_path):
    result = valued_in_dbt(
        tmp_path,
        [charge(effective_start="2026-01-01")],
        context=RuleContext("USD", 1, date(2025, 6, 30)),
    )
    message = str(result.rejection)
    assert message.endswith(
        "Its earliest recurring or usage charge starts on 2026-01-01, after the as-of date: set "
        "NRR_AS_OF (or --as-of) to 2026-01-01 or later, or leave it unset to report as of the "
        "delivery date."
    )


# --- case 6: full-width digits ---------------------------------------------------------------


def test_full_width_digits_in_a_rate_are_quarantined_not_a_crash():
    table = quarantine([charge()], rates=[rate(rate_to_reporting="１.１０")]).rejects
    assert table.select("extract", "reason").rows() == [("fx_rates", "bad_fx_rate")]


# --- case 8: load what was archived ----------------------------------------------------------


def test_the_run_loads_the_archived_copy_not_the_folder(tmp_path):
    folder = delivery_folder(tmp_path / "extracts")
    delivery = inspect(tmp_path / "extracts")
    records = archive_delivery(delivery, tmp_path / "archive")
    # The upload is replaced after the archive was made: the run must not see it.
    (folder / "billing_charges.csv").write_text(CHARGES_HEADER + "\n")
    con = duckdb.connect()
    load_raw_tables(con, archived_copy(delivery, tmp_path / "archive", records))
    assert con.sql("select charge_id, _source_file from raw.billing_charges").fetchall() == [
        ("C1", "billing_charges.csv")
    ]
    con.close()


def test_a_file_replaced_between_inspection_and_archive_is_refused(tmp_path):
    folder = delivery_folder(tmp_path / "extracts")
    delivery = inspect(tmp_path / "extracts")
    (folder / "billing_charges.csv").write_text(CHARGES_HEADER + "\n")
    with pytest.raises(DeliveryRejected, match="changed while it was being archived"):
        archive_delivery(delivery, tmp_path / "archive")
    assert not list((tmp_path / "archive").rglob("billing_charges.csv"))


# --- cases 11, 12, 14, 17: refused before anything is read -----------------------------------


def test_a_runaway_header_is_a_clear_rejection(tmp_path):
    folder = delivery_folder(tmp_path)
    (folder / "billing_charges.csv").write_text('"' + CHARGES_HEADER + "\n" + "x" * 200_000)
    with pytest.raises(DeliveryRejected, match="usually a stray quote") as rejected:
        inspect(tmp_path)
    assert rejected.value.file == "billing_charges.csv"


def test_an_extract_that_is_a_folder_is_a_clear_rejection(tmp_path):
    folder = delivery_folder(tmp_path)
    (folder / "billing_charges.csv").unlink()
    (folder / "billing_charges.csv").mkdir()
    with pytest.raises(
        DeliveryRejected, match="billing_charges.csv in delivery 2026-09-30 is a folder, not a file"
    ):
        inspect(tmp_path)


def test_a_fifo_named_like_an_extract_is_refused_at_once(tmp_path):
    folder = delivery_folder(tmp_path)
    (folder / "crm_accounts.csv").unlink()
    os.mkfifo(folder / "crm_accounts.csv")
    outcome = {}

    def attempt():
        try:
            inspect(tmp_path)
        except DeliveryRejected as exc:
            outcome["message"] = str(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "inspecting a FIFO hung"
    assert "crm_accounts.csv in delivery 2026-09-30 is not a regular file" in outcome["message"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    folder = delivery_folder(tmp_path)
    size = (folder / "billing_charges.csv").stat().st_size
    limits = Limits(max_file_bytes=size - 1, latest_date=TODAY.latest_date, today=TODAY.today)
    with pytest.raises(
        DeliveryRejected,
        match=f"is {size:,} bytes, more than the limit of {size - 1:,} \\(NRR_MAX_FILE_BYTES\\)",
    ):
        inspect(tmp_path, limits)


def test_a_sparse_file_of_one_endless_line_is_refused_without_loading_it(tmp_path):
    folder = delivery_folder(tmp_path)
    with (folder / "billing_charges.csv").open("r+b") as handle:  # a header, then 64 MiB of NUL
        handle.truncate(64 << 20)
    with pytest.raises(
        DeliveryRejected,
        match=r"has a line of [0-9,]+ bytes, more than the "
        r"limit of 16,777,216 \(NRR_MAX_ROW_BYTES\)",
    ):
        inspect(tmp_path)


def test_the_line_limit_is_exact_inside_a_block(tmp_path):
    delivery_folder(tmp_path)
    longest = len(CHARGES_HEADER)  # 133 bytes: the header is longer than the row

    def limited(limit: int) -> Limits:
        return Limits(max_row_bytes=limit, latest_date=TODAY.latest_date, today=TODAY.today)

    with pytest.raises(DeliveryRejected, match=f"has a line of {longest:,} bytes"):
        inspect(tmp_path, limited(longest - 1))
    assert inspect(tmp_path, limited(longest)).folder.name == "2026-09-30"


def test_a_column_named_twice_is_refused_naming_it(tmp_path):
    folder = delivery_folder(tmp_path)
    (folder / "crm_accounts.csv").write_text(CRM.replace("csm_owner", "segment", 1))
    with pytest.raises(DeliveryRejected) as rejected:
        inspect(tmp_path)
    assert str(rejected.value).startswith(
        "crm_accounts.csv in delivery 2026-09-30 names column segment more than once"
    )
    assert rejected.value.column == "segment"


# --- case 19 (archive) and 20: extra files, receipts, permissions ----------------------------


def test_extra_files_are_archived_and_every_landing_is_kept(tmp_path):
    folder = delivery_folder(tmp_path / "extracts")
    (folder / "notes.txt").write_text("re-sent after the outage\n")
    delivery = inspect(tmp_path / "extracts")
    assert delivery.unexpected == ("notes.txt",)
    archive = tmp_path / "archive"
    first = archive_delivery(delivery, archive)
    record_receipt(archive, delivery, first, accepted=True)
    extra = [r for r in first if r["extract"] is None]
    assert [r["file"] for r in extra] == ["notes.txt"]
    assert (archive / extra[0]["archived_as"]).read_text() == "re-sent after the outage\n"

    # A re-delivery of the same date: both landings stay on record.
    (folder / "crm_accounts.csv").write_text(CRM + "A2,Beta,,SMB,NA,x,y,\n")
    again = inspect(tmp_path / "extracts")
    second = archive_delivery(again, archive)
    record_receipt(archive, again, second, accepted=True)
    receipts = read_json_lines(archive / "2026-09-30" / "receipts.jsonl")
    assert [r["status"] for r in receipts] == ["accepted", "accepted"]
    crm = [f["sha256"] for r in receipts for f in r["files"] if f["extract"] == "crm_accounts"]
    assert len(set(crm)) == 2
    assert {f["sha256"] for f in accepted_files(archive, date(2026, 9, 30))} >= {crm[1]}


def test_a_rejected_landing_is_recorded_and_its_copies_removed(tmp_path):
    delivery_folder(tmp_path / "extracts")
    delivery = inspect(tmp_path / "extracts")
    archive = tmp_path / "archive"
    records = archive_delivery(delivery, archive)
    record_receipt(archive, delivery, records, accepted=False, reason="could not be read")
    assert not list(archive.rglob("*.csv"))
    assert accepted_files(archive, date(2026, 9, 30)) == []
    receipt = read_json_lines(archive / "2026-09-30" / "receipts.jsonl")[0]
    assert (receipt["status"], receipt["reason"]) == ("rejected", "could not be read")


def test_archived_files_are_readable_by_their_owner_only_by_default(tmp_path):
    delivery_folder(tmp_path / "extracts")
    archive = tmp_path / "archive"
    archive_delivery(inspect(tmp_path / "extracts"), archive)
    modes = {p.name: p.stat().st_mode & 0o777 for p in archive.rglob("*")}
    assert set(modes.values()) == {0o700, 0o600}
    assert modes["billing_charges.csv"] == 0o600
    shared = tmp_path / "shared"
    archive_delivery(inspect(tmp_path / "extracts"), shared, file_mode=0o644, folder_mode=0o755)
    assert (next(shared.rglob("crm_accounts.csv")).stat().st_mode & 0o777) == 0o644


def test_fx_currency_codes_follow_the_letter_case_rule(tmp_path):
    table = quarantine([charge(currency="EUR")], rates=[rate(currency="eur")]).rejects
    assert table.is_empty()  # 'eur' is EUR: its rate is used, the charge converts


def test_extra_entries_that_cannot_be_archived_are_listed_not_read(tmp_path):
    folder = delivery_folder(tmp_path / "extracts")
    (folder / "old").mkdir()
    os.mkfifo(folder / "pipe")
    (folder / "dump.bin").write_bytes(b"x" * 5000)
    limits = Limits(max_file_bytes=4000, latest_date=TODAY.latest_date, today=TODAY.today)
    delivery = inspect(tmp_path / "extracts", limits)
    records = archive_delivery(delivery, tmp_path / "archive")
    notes = {r["file"]: r.get("note") for r in records if r["extract"] is None}
    assert notes == {
        "dump.bin": "larger than NRR_MAX_FILE_BYTES: not archived",
        "old": "not a regular file: not archived",
        "pipe": "not a regular file: not archived",
    }
    assert not list((tmp_path / "archive").rglob("dump.bin"))


def test_a_report_published_from_a_future_folder_does_not_hold_back_real_deliveries(tmp_path):
    from pipeline.nightly import plan_nightly_run

    delivery_folder(tmp_path / "extracts")
    settings = Settings(extracts_dir=tmp_path / "extracts", home=tmp_path / "home")
    typo = settings.reports_dir / "2205-12-31"
    typo.mkdir(parents=True)
    (typo / "manifest.json").write_text('{"delivery": {"date": "2205-12-31"}, "identity": {}}')
    (settings.reports_dir / "latest").symlink_to("2205-12-31")
    plan = plan_nightly_run(settings)
    assert (plan.delivery, plan.should_run) == ("2026-09-30", True)
