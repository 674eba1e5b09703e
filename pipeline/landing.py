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
import stat
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipeline.contracts import (
    EXTRACT_COLUMNS,
    FILE_SUFFIXES,
    OPTIONAL_EXTRACTS,
    REQUIRED_EXTRACTS,
)
from pipeline.settings import Settings
from pipeline.warehouse_frames import write_table

DELIVERY_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RAW_SCHEMA = "raw"
# Every landing of a delivery, accepted or rejected, one JSON line each (never rewritten).
RECEIPTS = "receipts.jsonl"
# What "blank" means for every field, in both engines: empty, or only whitespace as Unicode
# defines it (space, TAB, CR, LF, VT, FF, NEL, U+2028/9, no-break and other spaces). Landing
# stores a blank field as missing (null), CSV or Parquet, quoted or not, so the row rules and
# the SQL models never have to agree on a definition of their own.
BLANK_PATTERN = r"^[\t\n\x0B\f\r\x{85}\p{Z}]*$"


class DeliveryRejected(Exception):
    """The whole delivery is unusable; nothing was loaded."""

    def __init__(self, message: str, file: str | None = None, column: str | None = None):
        super().__init__(message)
        self.file = file
        self.column = column


@dataclass(frozen=True)
class Limits:
    """What a delivery may be before anything is read from it (see Settings)."""

    max_file_bytes: int = Settings.max_file_bytes  # the settings' defaults
    max_row_bytes: int = Settings.max_row_bytes
    latest_date: date | None = None  # a delivery dated after this is refused (None: no check)
    today: date | None = None

    @classmethod
    def from_settings(cls, settings: Settings, today: date | None = None) -> Limits:
        today = today or date.today()
        return cls(
            max_file_bytes=settings.max_file_bytes,
            max_row_bytes=settings.max_row_bytes,
            latest_date=today + timedelta(days=settings.future_tolerance_days),
            today=today,
        )


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
    # Other entries of the folder: all are reported; regular files within the size limit are
    # archived, the others (name, why) are listed in not_archived.
    unexpected: tuple[str, ...] = ()
    not_archived: tuple[tuple[str, str], ...] = ()


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


def refuse_future(name: str, limits: Limits) -> None:
    """A delivery dated after today (beyond the tolerance) is a typo: refuse it, loudly, so it
    never becomes the newest published report and hides the real deliveries after it."""
    if limits.latest_date is None or date.fromisoformat(name) <= limits.latest_date:
        return
    raise DeliveryRejected(
        f"Delivery folder {name} is dated after today ({limits.today}): probably a typo in "
        "its name. Nothing was read or published. Rename the folder to the date the extracts "
        "were taken (or remove it); NRR_FUTURE_TOLERANCE_DAYS allows "
        f"{(limits.latest_date - limits.today).days} day(s) for time zones."
    )


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
    except csv.Error as exc:
        raise DeliveryRejected(
            f"The header row of {path.name} could not be read ({exc}): it runs on for more "
            f'than {csv.field_size_limit():,} characters, usually a stray quote (") before '
            "or in the header. Re-export the file.",
            file=path.name,
        ) from exc
    if not header:
        raise DeliveryRejected(f"{path.name} is empty: it has no header row.", file=path.name)
    return [c.strip() for c in header]


def _check_header(path: Path, header: list[str], required: tuple[str, ...], folder: str) -> None:
    """Every required column present, and no column named twice (which one would be read?)."""
    names = [c.lstrip("\ufeff") for c in header]
    twice = sorted(c for c, n in Counter(names).items() if n > 1)
    if twice:
        raise DeliveryRejected(
            f"{path.name} in delivery {folder} names column {twice[0]} more than once "
            f"({', '.join(twice)}): it is not clear which one to read. Deliver each column once.",
            file=path.name,
            column=twice[0],
        )
    missing = [c for c in required if c not in names]
    if missing:
        raise DeliveryRejected(
            f"{path.name} in delivery {folder} lacks required column(s) "
            f"{', '.join(missing)} (found: {', '.join(names) or 'none'}).",
            file=path.name,
            column=missing[0],
        )


def _check_regular_file(path: Path, limits: Limits) -> None:
    """Only regular files are read (a FIFO would block the run forever), within the size limit."""
    try:
        info = path.stat()
    except OSError as exc:
        raise DeliveryRejected(
            f"{path.name} cannot be read: {exc.strerror}.", file=path.name
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        raise DeliveryRejected(
            f"{path.name} in delivery {path.parent.name} is a folder, not a file.", file=path.name
        )
    if not stat.S_ISREG(info.st_mode):
        raise DeliveryRejected(
            f"{path.name} in delivery {path.parent.name} is not a regular file (a pipe, socket "
            "or device); refusing to read it.",
            file=path.name,
        )
    if info.st_size > limits.max_file_bytes:
        raise DeliveryRejected(
            f"{path.name} in delivery {path.parent.name} is {info.st_size:,} bytes, more than "
            f"the limit of {limits.max_file_bytes:,} (NRR_MAX_FILE_BYTES); nothing was read.",
            file=path.name,
        )


def inspect_delivery(
    extracts_dir: Path,
    delivery: str | None,
    reporting_currency: str,
    limits: Limits | None = None,
) -> Delivery:
    """Check the delivery is complete; raise DeliveryRejected naming file and column if not."""
    limits = limits or Limits.from_settings(Settings())
    folder = resolve_delivery_folder(extracts_dir, delivery)
    refuse_future(folder.name, limits)
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
        _check_regular_file(path, limits)
        _check_header(path, read_header(path), EXTRACT_COLUMNS[name], folder.name)
        checksum, longest = _fingerprint(path, limits.max_row_bytes)
        if path.suffix == ".csv" and longest > limits.max_row_bytes:
            raise DeliveryRejected(
                f"{path.name} in delivery {folder.name} has a line of {longest:,} bytes, more "
                f"than the limit of {limits.max_row_bytes:,} (NRR_MAX_ROW_BYTES): not a "
                "billing extract as exported, or a file cut or padded by a failed transfer. "
                "Nothing was loaded.",
                file=path.name,
            )
        files[name] = ExtractFile(name, path, checksum)
    delivery_date = date.fromisoformat(folder.name)
    charges = files["billing_charges"].path
    if files["fx_rates"].path is not None:
        _check_quoted_to_reporting(files["fx_rates"].path, reporting_currency, charges)
        _check_some_rate_usable(files["fx_rates"].path, reporting_currency, charges)
    elif foreign := _foreign_currencies(charges, reporting_currency):
        raise DeliveryRejected(
            f"Delivery {folder.name} has charges in {', '.join(foreign)} but no fx_rates "
            f"extract to convert them to {reporting_currency}; nothing is converted at 1.0.",
            file="fx_rates.csv",
        )
    known = {f.path.name for f in files.values() if f.path is not None}
    others = sorted(p for p in folder.iterdir() if p.name not in known)
    not_archived = tuple((p.name, why) for p in others if (why := _not_archivable(p, limits)))
    return Delivery(delivery_date, folder, files, tuple(p.name for p in others), not_archived)


def _not_archivable(path: Path, limits: Limits) -> str | None:
    """Why a file of the delivery that is not an extract is not archived (None: it is)."""
    if path.is_symlink():
        return "a link: not archived"
    if not path.is_file():
        return "not a regular file: not archived"
    if path.stat().st_size > limits.max_file_bytes:
        return "larger than NRR_MAX_FILE_BYTES: not archived"
    return None


def _fingerprint(path: Path, line_limit: int) -> tuple[str, int]:
    """sha256 of the file and the length of its longest line (exact up to `line_limit`;
    beyond it, at least `line_limit` + 1), in one read of the file."""
    digest = hashlib.sha256()
    longest = run = 0  # run: bytes since the last newline
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            first = block.find(b"\n")
            if first < 0:
                run += len(block)
                longest = max(longest, run)
                continue
            longest = max(longest, run + first)
            last = block.rfind(b"\n")
            if line_limit < last - first:  # a line inside this block might exceed the limit
                longest = max(longest, *map(len, block[first + 1 : last].split(b"\n")))
            run = len(block) - last - 1
        longest = max(longest, run)
    return digest.hexdigest(), longest


def _sha256(path: Path) -> str:
    return _fingerprint(path, 1 << 62)[0]


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


def is_blank(value: pl.Expr) -> pl.Expr:
    """True for a missing, empty or whitespace-only value (BLANK_PATTERN)."""
    return value.is_null() | value.str.contains(BLANK_PATTERN)


def missing_when_blank(value: pl.Expr) -> pl.Expr:
    """A blank value as missing: a quoted empty CSV field, an unquoted one, a Parquet '' and a
    lone TAB all read the same (null)."""
    return pl.when(is_blank(value)).then(None).otherwise(value)


def scan_extract(path: Path) -> pl.LazyFrame:
    """All contract columns as text plus a 1-based _row_number (the record's position).

    Typed Parquet columns become text as the source wrote them: integers and decimals as
    digits, doubles through their shortest decimal form (float_text)."""
    name = path.stem
    columns = EXTRACT_COLUMNS[name]
    if path.suffix == ".parquet":
        frame = pl.scan_parquet(path)
        schema = frame.collect_schema()
        text = [_as_text(c, schema[c]) for c in columns]
    else:
        frame = pl.scan_csv(
            path,
            infer_schema=False,
            encoding="utf8",
            truncate_ragged_lines=False,
        )
        frame = frame.rename(lambda c: c.lstrip("\ufeff").strip())
        text = [pl.col(c) for c in columns]
    return frame.with_row_index("_row_number", offset=1).select(
        pl.col("_row_number").cast(pl.Int64),
        *[missing_when_blank(value).alias(c) for c, value in zip(columns, text, strict=True)],
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


def _check_some_rate_usable(path: Path, reporting_currency: str, charges: Path) -> None:
    """Reject an fx_rates file with no usable rate (header only, or every row broken) when
    charges need converting: every foreign charge would otherwise drop out of the report."""
    from pipeline.quarantine import check_fx_rates  # the row rules say what a usable rate is

    try:
        checked = check_fx_rates(scan_extract(path)).collect()
    except pl.exceptions.PolarsError as exc:
        raise _unreadable(path, exc) from exc
    usable = checked.filter(
        pl.col("reason").is_null() & (pl.col("currency_code") != reporting_currency)
    )
    if usable.height:
        return
    foreign = _foreign_currencies(charges, reporting_currency)
    if not foreign:
        return
    held = (
        "only a header row"
        if checked.is_empty()
        else f"{checked.height:,} rows, none of them a usable rate to {reporting_currency}"
    )
    raise DeliveryRejected(
        f"{path.name} has {held}, but charges are in {', '.join(foreign)}: none of them could "
        f"be converted to {reporting_currency}. Nothing was loaded; deliver the rates.",
        file=path.name,
        column="rate_to_reporting",
    )


def _unreadable(path: Path, exc: Exception) -> DeliveryRejected:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DeliveryRejected(
        f"{path.name} could not be read as {path.suffix[1:].upper()}: {first_line}",
        file=path.name,
    )


def _copy_verified(source: Path, target: Path, checksum: str, file_mode: int) -> None:
    """Copy source to target (atomically, by rename) and prove the copy has `checksum`."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    os.chmod(partial, file_mode)
    if _sha256(partial) != checksum:
        partial.unlink()
        raise DeliveryRejected(
            f"{source.name} changed while it was being archived (an upload still in "
            "progress?); nothing was loaded. Run again once the delivery is complete.",
            file=source.name,
        )
    os.replace(partial, target)


def _make_folder(path: Path, folder_mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, folder_mode)


def archive_delivery(
    delivery: Delivery, archive_dir: Path, file_mode: int = 0o600, folder_mode: int = 0o700
) -> list[dict]:
    """Keep every file as received under archive/<date>/<sha256>/, written atomically, and
    return a record per file. The run then loads these verified copies (archived_copy), never
    the delivery folder again: what is loaded is what the checksums describe.

    Files of the folder that are not extracts are archived too (records with extract null);
    entries that are not regular files, or larger than the limit, are recorded, not copied.
    Records name the archived copy relative to the archive, so a home can be moved.
    """
    # The run lock guarantees no other run is archiving: partial copies are from a crash.
    for leftover in archive_dir.glob("*/*/.*.partial"):
        leftover.unlink()
    _make_folder(archive_dir, folder_mode)
    _make_folder(archive_dir / delivery.folder.name, folder_mode)
    sources = [(e.name, e.path, e.checksum) for e in delivery.files.values() if e.path]
    records = []
    skipped = dict(delivery.not_archived)
    for name in delivery.unexpected:
        if name in skipped:
            records.append(
                {"extract": None, "file": name, "archived_as": None, "note": skipped[name]}
            )
        else:
            path = delivery.folder / name
            sources.append((None, path, _sha256(path)))
    for extract, path, checksum in sources:
        target_dir = archive_dir / delivery.folder.name / checksum[:16]
        target = target_dir / path.name
        if not target.exists():
            _make_folder(target_dir, folder_mode)
            _copy_verified(path, target, checksum, file_mode)
        records.append(
            {
                "extract": extract,
                "file": path.name,
                "sha256": checksum,
                "archived_as": str(target.relative_to(archive_dir)),
            }
        )
    return records


def archived_copy(delivery: Delivery, archive_dir: Path, records: list[dict]) -> Delivery:
    """The same delivery, its extracts read from their verified archived copies."""
    copies = {r["extract"]: archive_dir / r["archived_as"] for r in records if r["extract"]}
    files = {
        name: replace(f, path=copies[name]) if f.path is not None else f
        for name, f in delivery.files.items()
    }
    return replace(delivery, files=files)


def record_receipt(
    archive_dir: Path,
    delivery: Delivery,
    records: list[dict],
    accepted: bool,
    reason: str | None = None,
    file_mode: int = 0o600,
) -> None:
    """Append this landing to archive/<date>/receipts.jsonl (fsynced; never rewritten), so a
    re-delivery of the same date never hides what was received before. A rejected landing's
    copies are removed unless an accepted landing holds the same file."""
    path = archive_dir / delivery.folder.name / RECEIPTS
    receipt = {
        "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "accepted" if accepted else "rejected",
        "reason": reason,
        "files": records,
    }
    append_line(path, json.dumps(receipt), file_mode)
    if accepted:
        return
    kept = {r["archived_as"] for r in accepted_files(archive_dir, delivery.delivery_date)}
    for record in records:
        if record.get("archived_as") and record["archived_as"] not in kept:
            copy = archive_dir / record["archived_as"]
            copy.unlink(missing_ok=True)
            if copy.parent.exists() and not any(copy.parent.iterdir()):
                copy.parent.rmdir()


def read_json_lines(path: Path) -> list[dict]:
    """The complete lines of a JSON-lines file; a line cut short (a crash, a full disk) is
    skipped."""
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def append_line(path: Path, line: str, file_mode: int | None = None) -> None:
    """Append one line durably (fsynced). If the file ends in a torn line, start on a fresh
    line. file_mode: the file's mode (None: as created)."""
    fresh = path.exists() and path.stat().st_size > 0
    with path.open("ab+") as handle:
        if fresh:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(line.encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    if file_mode is not None:
        os.chmod(path, file_mode)


def accepted_files(archive_dir: Path, delivery_date: date) -> list[dict]:
    """The extract records of the last accepted landing of a delivery date."""
    folder = archive_dir / delivery_date.isoformat()
    accepted = [r for r in read_json_lines(folder / RECEIPTS) if r.get("status") == "accepted"]
    if accepted:
        return [f for f in accepted[-1]["files"] if f.get("extract")]
    legacy = folder / "checksums.json"  # homes archived before receipts
    return json.loads(legacy.read_text()) if legacy.exists() else []


def _empty_extract(name: str) -> pl.DataFrame:
    return pl.DataFrame(
        schema={"_row_number": pl.Int64, **{c: pl.String for c in EXTRACT_COLUMNS[name]}}
    )


def _raw_rows(delivery: Delivery, name: str) -> pl.LazyFrame:
    """The rows of one extract as raw.<extract> holds them: delivery date, source file, then
    scan_extract's columns (an optional extract not delivered: no rows)."""
    extract = delivery.files[name]
    rows = scan_extract(extract.path) if extract.path else _empty_extract(name).lazy()
    return rows.select(
        pl.lit(delivery.delivery_date, pl.Date).alias("_delivery_date"),
        pl.lit(extract.source_file, pl.String).alias("_source_file"),
        pl.all(),
    )


def load_raw_tables(con: duckdb.DuckDBPyConnection, delivery: Delivery) -> dict:
    """Replace raw.<extract> with this delivery's rows in one transaction; returns row counts.

    Each extract streams from its file into DuckDB through Arrow (no staged copy); a file
    that cannot be read rolls the whole load back and rejects the delivery."""
    counts = {}
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute("begin transaction")
    try:
        for name, extract in delivery.files.items():
            try:
                write_table(con, f"{RAW_SCHEMA}.{name}", _raw_rows(delivery, name))
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise _unreadable(extract.path, exc) from exc
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
