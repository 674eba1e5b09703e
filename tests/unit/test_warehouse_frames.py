"""Polars frames in and out of the warehouse through Arrow: scan_table and write_table."""

from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from pipeline.warehouse_frames import scan_table, write_table


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(
        "create table movements as select * from (values "
        "('C1', date '2026-01-01', 100.1250::decimal(18, 4), 'x'), "
        "('C2', date '2026-01-01', 0.0001::decimal(18, 4), 'y'), "
        "('C1', date '2026-04-01', 250.5000::decimal(18, 4), 'z')"
        ") as t(customer_id, quarter_start, arr, note)"
    )
    yield con
    con.close()


def test_a_scan_keeps_the_warehouse_types_and_reads_only_the_columns_a_plan_uses(con):
    movements = scan_table(con, "movements")
    assert movements.collect_schema() == pl.Schema(
        {
            "customer_id": pl.String,
            "quarter_start": pl.Date,
            "arr": pl.Decimal(18, 4),
            "note": pl.String,
        }
    )
    plan = movements.select(pl.col("arr").sum())
    assert "PROJECT 1/4 COLUMNS" in plan.explain()
    assert plan.collect().item() == Decimal("350.6251")  # exact: 100.1250 + 0.0001 + 250.5000
    # A column that fails when read: DuckDB reads only what the scan asks for.
    con.execute("create view poisoned as select *, error('read') as poison from movements")
    poisoned = scan_table(con, "poisoned")
    assert poisoned.select(pl.col("arr").max()).collect().item() == Decimal("250.5000")
    with pytest.raises(duckdb.Error, match="read"):
        poisoned.select("poison").collect()


def test_a_plan_may_read_one_table_twice_at_once_and_filter_it(con):
    movements = scan_table(con, "movements")
    first = movements.filter(pl.col("quarter_start") == date(2026, 1, 1)).select(
        "customer_id", first_arr="arr"
    )
    both = movements.join(first, on="customer_id").filter(pl.col("arr") > Decimal("1"))
    rows = both.select("customer_id", "arr", "first_arr").sort("arr").collect(engine="streaming")
    assert rows.rows() == [
        ("C1", Decimal("100.1250"), Decimal("100.1250")),
        ("C1", Decimal("250.5000"), Decimal("100.1250")),
    ]
    counts = pl.collect_all([movements.select(pl.len()), movements.head(1).select("note")])
    assert [frame.item() for frame in counts] == [3, "x"]


def test_a_frame_replaces_a_table_with_its_types(con):
    frame = pl.DataFrame(
        {"customer_id": ["C9"], "arr": [Decimal("12.345678")]},
        schema={"customer_id": pl.String, "arr": pl.Decimal(38, 6)},
    )
    write_table(con, "movements", frame)
    assert con.execute("select customer_id, arr, typeof(arr) from movements").fetchall() == [
        ("C9", Decimal("12.345678"), "DECIMAL(38,6)")
    ]


def test_a_lazy_frame_streams_into_a_table(con):
    write_table(con, "doubled", pl.LazyFrame({"n": range(250_000)}).select(n=pl.col("n") * 2))
    assert con.execute("select count(*), sum(n), max(n) from doubled").fetchall() == [
        (250_000, 62_499_750_000, 499_998)  # 2 * (0 + ... + 249,999)
    ]


def test_an_error_computing_a_lazy_frame_is_raised_as_it_was_and_the_table_stays(con, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text("customer_id\nC1\nC2,extra\n")
    rows = pl.scan_csv(broken, infer_schema=False, truncate_ragged_lines=False)
    con.execute("begin transaction")
    with pytest.raises(pl.exceptions.ComputeError, match="more fields"):
        write_table(con, "movements", rows)
    con.execute("rollback")
    assert con.execute("select count(*) from movements").fetchall() == [(3,)]
