"""Hostile and broken deliveries: a clear rejection or a quarantine reason, never a crash."""

from datetime import date

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.contracts import EXTRACT_COLUMNS, QUARANTINE_REASONS
from pipeline.landing import DeliveryRejected, inspect_delivery, load_raw_tables
from pipeline.quarantine import RuleContext, build_quarantine
from tests.unit.factories import account, landed, rate

HEADER = ",".join(EXTRACT_COLUMNS["billing_charges"])
GOOD_ROW = "C1,A1,Analytics,Pro,recurring,1,100.00,USD,1,2026-01-01,,2026-01-01T09:00:00"
CRM = (
    ",".join(EXTRACT_COLUMNS["crm_accounts"]) + "\n"
    "A1,Acme,,SMB,NA,Software,Ana,2026-09-30T02:00:00\n"
)
REASONS = {r for reasons in QUARANTINE_REASONS.values() for r in reasons}


def land(tmp_path, charges: bytes | str) -> pl.DataFrame:
    """Inspect and load a delivery with this billing_charges.csv; return the quarantine."""
    folder = tmp_path / "extracts" / "2026-09-30"
    folder.mkdir(parents=True)
    data = charges.encode() if isinstance(charges, str) else charges
    (folder / "billing_charges.csv").write_bytes(data)
    (folder / "crm_accounts.csv").write_text(CRM)
    delivery = inspect_delivery(tmp_path / "extracts", None, "USD")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        load_raw_tables(con, delivery)
        frames = {n: con.sql(f"select * from raw.{n}").pl().lazy() for n in EXTRACT_COLUMNS}
    finally:
        con.close()
    return build_quarantine(
        frames["billing_charges"],
        frames["crm_accounts"],
        frames["fx_rates"],
        RuleContext("USD", 1, date(2026, 9, 30)),
    ).rejects


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "wrong delimiter",
            HEADER.replace(",", ";") + "\n" + GOOD_ROW.replace(",", ";") + "\n",
            r"lacks required column\(s\) charge_id",
        ),
        ("missing column in header", HEADER.replace(",amount", "") + "\n", "lacks required column"),
        (
            "a row with too many fields",
            HEADER + "\n" + GOOD_ROW + ",extra,fields\n",
            "could not be read as CSV",
        ),
        ("latin-1 bytes", (HEADER + "\nC1,A1,Analytïcs\n").encode("latin-1"), "is not UTF-8"),
        ("empty file", "", "is empty"),
    ],
)
def test_a_broken_file_rejects_the_delivery_with_a_clear_message(tmp_path, name, content, message):
    with pytest.raises(DeliveryRejected, match=message) as rejected:
        land(tmp_path, content)
    assert "billing_charges.csv" in str(rejected.value)


def test_a_truncated_last_row_is_quarantined_with_its_raw_values(tmp_path):
    table = land(tmp_path, HEADER + "\n" + GOOD_ROW + "\n" + "C2,A1,Analytics,Pro,recur")
    assert table.select("row_number", "reason").rows() == [(2, "bad_date")]
    assert '"charge_type":"recur"' in table["raw_record"][0]


def test_extra_and_reordered_columns_are_accepted(tmp_path):
    columns = list(reversed(EXTRACT_COLUMNS["billing_charges"])) + ["note"]
    values = dict(zip(EXTRACT_COLUMNS["billing_charges"], GOOD_ROW.split(","), strict=True))
    row = ",".join(values.get(c, "hello") for c in columns)
    assert land(tmp_path, ",".join(columns) + "\n" + row + "\n").is_empty()


def test_a_ten_megabyte_field_is_quarantined_not_crashed(tmp_path):
    huge = "x" * 10_000_000
    table = land(
        tmp_path,
        HEADER
        + "\n"
        + GOOD_ROW
        + "\n"
        + GOOD_ROW.replace("C1,", "C2,").replace("100.00", huge)
        + "\n",
    )
    assert table.select("row_number", "reason").rows() == [(2, "bad_amount")]
    assert len(table["detail"][0]) > 10_000_000  # the raw value is kept, not cut


def test_injection_in_names_is_just_data(tmp_path):
    names = [
        "Robert'); DROP TABLE raw.billing_charges;--",
        "=cmd|' /C calc'!A0",
        "<script>alert(1)</script>",
        "@SUM(A1:A9)",
        "+1-2",
    ]
    crm = CRM + "".join(
        f'A{i},"{n.replace(chr(34), chr(34) * 2)}",,SMB,NA,x,y,\n'
        for i, n in enumerate(names, start=2)
    )
    folder = tmp_path / "extracts" / "2026-09-30"
    folder.mkdir(parents=True)
    (folder / "billing_charges.csv").write_text(HEADER + "\n" + GOOD_ROW + "\n")
    (folder / "crm_accounts.csv").write_text(crm)
    delivery = inspect_delivery(tmp_path / "extracts", None, "USD")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    load_raw_tables(con, delivery)
    stored = [
        r[0]
        for r in con.sql(
            "select account_name from raw.crm_accounts order by _row_number"
        ).fetchall()
    ]
    assert stored == ["Acme", *names]
    assert con.sql("select count(*) from raw.billing_charges").fetchall() == [(1,)]
    con.close()


text = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e3",
            "12.5",
            "2026-02-30",
            "2026-01-01",
            "USD",
            "EUR",
            "recurring",
            "usage",
            "one_time",
            "12",
            "A1",
            "ÿ",
            "\x00",
            "NaN",
            "inf",
            "99999999999999999",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries({c: text for c in EXTRACT_COLUMNS["billing_charges"]}),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.fixed_dictionaries({c: text for c in EXTRACT_COLUMNS["fx_rates"]}), max_size=3),
)
def test_row_rules_never_crash_and_never_drop_a_row(charges, rates):
    table = build_quarantine(
        landed("billing_charges", charges),
        landed("crm_accounts", [account()]),
        landed("fx_rates", rates or [rate()]),
        RuleContext("USD", 1, date(2026, 9, 30)),
    ).rejects
    assert set(table["reason"]) <= REASONS
    assert table["detail"].null_count() == 0
    assert table.select("extract", "row_number").is_duplicated().sum() == 0
    quarantined = set(table.filter(pl.col("extract") == "billing_charges")["row_number"])
    valid = [row for i, row in enumerate(charges, start=1) if i not in quarantined]
    for row in valid:  # what is not quarantined parses exactly as staging will cast it
        assert row["charge_type"] in ("recurring", "usage", "one_time")
        assert float(row["quantity"]) > 0
        date.fromisoformat(row["effective_start"])
        float(row["amount"])
