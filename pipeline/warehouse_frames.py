"""Polars frames in and out of the DuckDB warehouse, through Arrow (no files in between).

scan_table reads a table as a lazy frame: when a plan is collected, each read of the table
streams Arrow record batches of only the columns the plan uses, so memory holds a batch at a
time, not the table. write_table is the one way a frame goes back: it replaces a table with
the frame's rows, a lazy frame streamed batch by batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import polars as pl
import pyarrow as pa
from polars.io.plugins import register_io_source

# Rows per record batch when Polars gives no hint.
BATCH_ROWS = 100_000


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_schema(con: duckdb.DuckDBPyConnection, table: str) -> pl.Schema:
    """The Polars schema of a warehouse table as Arrow carries it (a HUGEINT is a
    Decimal(38, 0), a DECIMAL keeps its precision and scale)."""
    return pl.DataFrame(con.table(table).limit(0).to_arrow_table()).schema


def scan_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.LazyFrame:
    """A warehouse table as a lazy Polars frame, read through Arrow when collected.

    Every read opens its own cursor on the connection's database: a DuckDB connection runs
    one result at a time, and a plan may read tables, or one table twice, at once. The
    cursor sees what is committed. `con` must stay open until the plan is collected."""
    schema = table_schema(con, table)

    def read(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        cursor = con.cursor()
        try:
            relation = cursor.table(table)
            if with_columns:  # only the columns the plan uses
                relation = relation.project(", ".join(map(_quoted, with_columns)))
            if n_rows is not None:
                relation = relation.limit(n_rows)
            reader = relation.to_arrow_reader(batch_size or BATCH_ROWS)
            try:
                for batch in reader:
                    frame = pl.from_arrow(batch)
                    # Polars leaves the predicate to the source: apply it to each batch.
                    yield frame if predicate is None else frame.filter(predicate)
            finally:
                reader.close()
        finally:
            cursor.close()

    return register_io_source(read, schema=schema, is_pure=True, explain_name=table)


def _arrow_stream(frame: pl.LazyFrame, failures: list[BaseException]) -> pa.RecordBatchReader:
    """The rows of a lazy frame as an Arrow stream, computed batch by batch as it is read.
    An error while computing is kept in `failures` (DuckDB reports it only as text)."""
    schema = pl.DataFrame(schema=frame.collect_schema()).to_arrow().schema

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for chunk in frame.collect_batches():
                yield from chunk.to_arrow().cast(schema).to_batches()
        except BaseException as exc:
            failures.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(schema, batches())


def write_table(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame | pl.LazyFrame
) -> None:
    """Create or replace `table` with the rows of `frame`, its columns and types as they are
    (through Arrow). A lazy frame is computed while DuckDB reads it, so neither holds it
    whole; an error computing it is raised as it was (a Polars error stays one). Runs inside
    the caller's transaction, if any."""
    failures: list[BaseException] = []
    source = frame.to_arrow() if isinstance(frame, pl.DataFrame) else _arrow_stream(frame, failures)
    # The relation holds the source's registration while it lives; nothing to unregister,
    # so a failure leaves the caller's transaction to roll back and nothing else behind.
    rows = con.from_arrow(source)
    try:
        con.execute(f"create or replace table {table} as {rows.sql_query()}")
    except duckdb.Error as exc:
        if failures:
            raise failures[0] from exc
        raise
