"""Landing: find a delivery, reject it whole if incomplete, archive it, load raw tables.

Every raw column is kept as text, exactly as received; the row rules decide later what is
valid. Each raw row carries its delivery date, source file and row number. The three raw
tables are replaced in one transaction, so a rejected delivery leaves the warehouse as it
was, and loading the same delivery twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipeline.contracts import (
    EXTRACT_COLUMNS,
    FILE_SUFFIXES,
    OPTIONAL_EXTRACTS,
    REQUIRED_EXTRACTS,
)

DELIVERY_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RAW_SCHEMA = "raw"


class DeliveryRejected(Exception):
    """The whole delivery is unusable; nothing was loaded."""

    def __init__(self, message: str, file: str | None = None, column: str | None = None):
        super().__init__(message)
        self.file = file
        self.column = column


@dataclass(frozen=True)
class ExtractFile:
    name: str
    path: Path | None  # None: an optional extract that was not delivered
    checksum: str | None = None

    @property
    def source_file(self) -> str:
        return self.path.name if self.path else ""


@dataclass(frozen=True)
class Delivery:
    delivery_date: date
    folder: Path
    files: dict[str, ExtractFile]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """First value of a one-row query, fully fetched (DuckDB keeps a partly read result open)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def list_deliveries(extracts_dir: Path) -> list[str]:
    """Delivery folder names (dates) under the extracts root, oldest first."""
    if not extracts_dir.is_dir():
        return []
    return sorted(p.name for p in extracts_dir.iterdir() if p.is_dir() and _is_date(p.name))


def _is_date(name: str) -> bool:
    if not DELIVERY_NAME.match(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def resolve_delivery_folder(extracts_dir: Path, delivery: str | None) -> Path:
    """The folder of the named delivery, or of the latest one; never outside the root."""
    if delivery is None:
        names = list_deliveries(extracts_dir)
        if not names:
            raise DeliveryRejected(
                f"No delivery folder named YYYY-MM-DD under {extracts_dir}. "
                "Point NRR_EXTRACTS_DIR (or --extracts) at the extracts root."
            )
        delivery = names[-1]
    if not _is_date(delivery):
        raise DeliveryRejected(
            f"Delivery {delivery!r} is not a date folder name (YYYY-MM-DD); refusing to read it."
        )
    root = extracts_dir.resolve()
    folder = (extracts_dir / delivery).resolve()
    if folder.parent != root:
        raise DeliveryRejected(
            f"Delivery folder {extracts_dir / delivery} resolves outside the extracts root {root}."
        )
    if not folder.is_dir():
        raise DeliveryRejected(f"Delivery folder {extracts_dir / delivery} does not exist.")
    return folder


def _extract_path(folder: Path, name: str) -> Path | None:
    found = [folder / f"{name}{suffix}" for suffix in FILE_SUFFIXES]
    found = [p for p in found if p.exists()]
    if len(found) > 1:
        raise DeliveryRejected(
            f"Delivery {folder.name} has both {found[0].name} and {found[1].name}; "
            "deliver one file per extract.",
            file=found[0].name,
        )
    if found and found[0].resolve().parent != folder.resolve():
        raise DeliveryRejected(
            f"{found[0].name} in delivery {folder.name} links outside the delivery folder.",
            file=found[0].name,
        )
    return found[0] if found else None


def read_header(path: Path) -> list[str]:
    """Column names of a CSV (UTF-8, optional BOM) or Parquet extract."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise DeliveryRejected(
                f"{path.name} is not a readable Parquet file: {exc}", file=path.name
            ) from exc
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise DeliveryRejected(
            f"{path.name} is not UTF-8 text (byte {exc.start} of the header); "
            "re-export the file as UTF-8.",
            file=path.name,
        ) from exc
    if not header:
        raise DeliveryRejected(f"{path.name} is empty: it has no header row.", file=path.name)
    return [c.strip() for c in header]


def inspect_delivery(extracts_dir: Path, delivery: str | None, reporting_currency: str) -> Delivery:
    """Check the delivery is complete; raise DeliveryRejected naming file and column if not."""
    folder = resolve_delivery_folder(extracts_dir, delivery)
    files: dict[str, ExtractFile] = {}
    for name in (*REQUIRED_EXTRACTS, *OPTIONAL_EXTRACTS):
        path = _extract_path(folder, name)
        if path is None:
            if name in REQUIRED_EXTRACTS:
                raise DeliveryRejected(
                    f"Delivery {folder.name} is missing the {name} extract "
                    f"({name}.csv or {name}.parquet).",
                    file=f"{name}.csv",
                )
            files[name] = ExtractFile(name, None)
            continue
        header = read_header(path)
        missing = [c for c in EXTRACT_COLUMNS[name] if c not in header]
        if missing:
            raise DeliveryRejected(
                f"{path.name} in delivery {folder.name} lacks required column(s) "
                f"{', '.join(missing)} (found: {', '.join(header) or 'none'}).",
                file=path.name,
                column=missing[0],
            )
        files[name] = ExtractFile(name, path, _sha256(path))
    delivery_date = date.fromisoformat(folder.name)
    charges = files["billing_charges"].path
    if files["fx_rates"].path is not None:
        _check_quoted_to_reporting(files["fx_rates"].path, reporting_currency, charges)
    elif foreign := _foreign_currencies(charges, reporting_currency):
        raise DeliveryRejected(
            f"Delivery {folder.name} has charges in {', '.join(foreign)} but no fx_rates "
            f"extract to convert them to {reporting_currency}; nothing is converted at 1.0.",
            file="fx_rates.csv",
        )
    return Delivery(delivery_date, folder, files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Enough zeros to write any double positionally (its exponent is at most 308).
_ZEROS = "0" * 400


def _zeros(count: pl.Expr) -> pl.Expr:
    return pl.lit(_ZEROS).str.slice(0, count)


def float_text(value: pl.Expr) -> pl.Expr:
    """A float as its shortest decimal text, never in exponent form: 300.00000000000006 stays
    '300.00000000000006', 1e+16 becomes '10000000000000000', -2.5e-7 '-0.00000025'. The row
    rules then read the exact value that the source's double held, or say why they cannot."""
    text = value.cast(pl.String)
    parts = text.str.extract_groups(r"^(-?)([0-9]+)(?:\.([0-9]+))?e([+-]?[0-9]+)$")
    sign, whole = parts.struct.field("1"), parts.struct.field("2")
    digits = whole + parts.struct.field("3").fill_null("")
    point = whole.str.len_chars().cast(pl.Int64) + parts.struct.field("4").cast(pl.Int64)
    lead = pl.max_horizontal(-point, pl.lit(0))
    trail = pl.max_horizontal(point - digits.str.len_chars().cast(pl.Int64), pl.lit(0))
    padded = _zeros(lead) + digits + _zeros(trail)
    at = point + lead
    integer = padded.str.slice(0, at)
    fraction = padded.str.slice(at)
    positional = (
        sign
        + pl.when(integer == "").then(pl.lit("0")).otherwise(integer)
        + pl.when(fraction == "").then(pl.lit("")).otherwise(pl.lit(".") + fraction)
    )
    return pl.when(whole.is_not_null()).then(positional).otherwise(text)


def _as_text(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_float():
        return float_text(pl.col(column)).alias(column)
    return pl.col(column).cast(pl.String)


def scan_extract(path: Path) -> pl.LazyFrame:
    """All contract columns as text plus a 1-based _row_number (the record's position).

    Typed Parquet columns become text as the source wrote them: integers and decimals as
    digits, doubles through their shortest decimal form (float_text)."""
    name = path.stem
    columns = EXTRACT_COLUMNS[name]
    if path.suffix == ".parquet":
        frame = pl.scan_parquet(path)
        schema = frame.collect_schema()
        return frame.with_row_index("_row_number", offset=1).select(
            pl.col("_row_number").cast(pl.Int64), *[_as_text(c, schema[c]) for c in columns]
        )
    else:
        frame = pl.scan_csv(
            path,
            infer_schema=False,
            encoding="utf8",
            truncate_ragged_lines=False,
        )
        frame = frame.rename(lambda c: c.lstrip("\ufeff").strip())
    return frame.with_row_index("_row_number", offset=1).select(
        pl.col("_row_number").cast(pl.Int64), *[pl.col(c) for c in columns]
    )


def _read_upper_cased(path: Path) -> pl.DataFrame:
    """A (small) extract's rows, its currency codes upper-cased (the contract's letter-case
    rule)."""
    try:
        return (
            scan_extract(path)
            .select(pl.exclude("_row_number"))
            .with_columns(pl.col("currency").str.to_uppercase())
            .collect()
        )
    except pl.exceptions.PolarsError as exc:
        raise _unreadable(path, exc) from exc


def _foreign_currencies(path: Path, reporting_currency: str) -> list[str]:
    try:
        currencies = (
            scan_extract(path)
            .select(pl.col("currency").str.to_uppercase().unique())
            .collect()["currency"]
            .to_list()
        )
    except pl.exceptions.PolarsError as exc:
        raise _unreadable(path, exc) from exc
    return sorted(c for c in currencies if c and c != reporting_currency)


def _check_quoted_to_reporting(path: Path, reporting_currency: str, charges: Path) -> None:
    """Reject an fx_rates file that quotes the reporting currency at a rate other than 1: its
    rates are to another currency, and converting with them would misstate every figure.
    The charges' currencies are read only to name the likely base in the message."""
    rates = _read_upper_cased(path)
    own = rates.filter(
        (pl.col("currency") == reporting_currency)
        & (pl.col("rate_to_reporting").cast(pl.Decimal(38, 18), strict=False) != 1)
    )
    if own.is_empty():
        return
    quoted = sorted(c for c in rates["currency"].drop_nulls().unique() if c != reporting_currency)
    unquoted = [c for c in _foreign_currencies(charges, reporting_currency) if c not in quoted]
    first = own.row(0, named=True)
    raise DeliveryRejected(
        f"{path.name} quotes the reporting currency {reporting_currency} at "
        f"{first['rate_to_reporting']} on {first['rate_date']} ({own.height} rows not at 1): "
        f"its rates are to another currency, not to {reporting_currency} "
        "(NRR_REPORTING_CURRENCY). "
        + (
            f"Charges are also in {', '.join(unquoted)}, which the file does not quote: "
            "probably the currency it is quoted to. "
            if unquoted
            else ""
        )
        + "Set NRR_REPORTING_CURRENCY to the currency the file is quoted to, or deliver rates "
        f"quoted to {reporting_currency}.",
        file=path.name,
        column="rate_to_reporting",
    )


def _unreadable(path: Path, exc: Exception) -> DeliveryRejected:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DeliveryRejected(
        f"{path.name} could not be read as {path.suffix[1:].upper()}: {first_line}",
        file=path.name,
    )


def archive_delivery(delivery: Delivery, archive_dir: Path) -> list[dict]:
    """Keep every file as received under archive/<date>/<sha256>/, written atomically.

    Records name the archived copy relative to the archive, so a home can be moved.
    """
    # The run lock guarantees no other run is archiving: partial copies are from a crash.
    for leftover in archive_dir.glob("*/*/.*.partial"):
        leftover.unlink()
    records = []
    for extract in delivery.files.values():
        if extract.path is None:
            continue
        target_dir = archive_dir / delivery.folder.name / extract.checksum[:16]
        target = target_dir / extract.path.name
        if not target.exists():
            target_dir.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            shutil.copyfile(extract.path, partial)
            if _sha256(partial) != extract.checksum:
                partial.unlink()
                raise DeliveryRejected(
                    f"{extract.path.name} changed while it was being archived; try again.",
                    file=extract.path.name,
                )
            os.replace(partial, target)
        records.append(
            {
                "extract": extract.name,
                "file": extract.path.name,
                "sha256": extract.checksum,
                "archived_as": str(target.relative_to(archive_dir)),
            }
        )
    write_atomically(
        archive_dir / delivery.folder.name / "checksums.json", json.dumps(records, indent=2) + "\n"
    )
    return records


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename: a crash leaves the old file or the new one."""
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _empty_extract(name: str) -> pl.DataFrame:
    return pl.DataFrame(
        schema={"_row_number": pl.Int64, **{c: pl.String for c in EXTRACT_COLUMNS[name]}}
    )


def load_raw_tables(con: duckdb.DuckDBPyConnection, delivery: Delivery, staging_dir: Path) -> dict:
    """Replace raw.<extract> with this delivery's rows in one transaction; returns row counts."""
    staging_dir.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    for name, extract in delivery.files.items():
        target = staging_dir / f"{name}.parquet"
        try:
            if extract.path is None:
                _empty_extract(name).write_parquet(target)
            else:
                scan_extract(extract.path).sink_parquet(target)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise _unreadable(extract.path, exc) from exc
        staged[name] = target
    counts = {}
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute("begin transaction")
    try:
        for name, path in staged.items():
            source_file = delivery.files[name].source_file
            con.execute(
                f"create or replace table {RAW_SCHEMA}.{name} as "
                "select cast(? as date) as _delivery_date, cast(? as varchar) as _source_file, * "
                "from read_parquet(?)",
                [delivery.delivery_date, source_file, str(path)],
            )
            counts[name] = scalar(con, f"select count(*) from {RAW_SCHEMA}.{name}")
        con.execute(
            f"create or replace table {RAW_SCHEMA}.delivery_log as select * from (values "
            + ", ".join("(?, ?, ?, ?, ?)" for _ in delivery.files)
            + ") as t(delivery_date, extract, source_file, sha256, row_count)",
            [
                value
                for name, extract in delivery.files.items()
                for value in (
                    delivery.delivery_date,
                    name,
                    extract.source_file,
                    extract.checksum or "",
                    counts[name],
                )
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
    return counts


def loaded_delivery(con: duckdb.DuckDBPyConnection) -> tuple[date | None, dict[str, str]]:
    """Date and file checksums of the delivery currently in the raw tables."""
    exists = scalar(
        con,
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = 'delivery_log'",
        [RAW_SCHEMA],
    )
    if not exists:
        return None, {}
    rows = con.execute(
        f"select delivery_date, extract, sha256 from {RAW_SCHEMA}.delivery_log"
    ).fetchall()
    return (rows[0][0] if rows else None), {extract: sha for _, extract, sha in rows}
