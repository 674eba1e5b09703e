"""`nrr adapt SOURCE SOURCE_DIR`: a contract delivery from the tables a connector lands.

The mappings are SQL, in the dbt project dbt_project/adapters (one folder of models per
source), so the same mapping runs here on an embedded DuckDB over CSV/Parquet exports and
inside a warehouse where the connector already landed the tables (docs/sources.md). This
module only declares each source's tables (ADAPTERS, the one list the CLI help, the docs and
the runner read), puts the exported files behind views, runs dbt on that source's models in
a temporary folder and writes the output models as the delivery's extract files. No Dagster.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipeline.contracts import EXTRACT_COLUMNS, FILE_SUFFIXES
from pipeline.dbt_project import DBT_PROJECT_DIR, dbt_executable

ADAPTERS_PROJECT_DIR = DBT_PROJECT_DIR / "adapters"
WAREHOUSE_VARIABLE = "NRR_ADAPT_WAREHOUSE"


class AdapterError(Exception):
    """The source folder cannot be adapted (a table or column missing, dbt failed): the
    message names the file and the column."""


class AdapterFailed(AdapterError):
    """The mapping itself failed (dbt could not build it): dbt's error lines."""


@dataclass(frozen=True)
class SourceTable:
    """One table a connector lands: the columns the mapping needs, and the ones it reads when
    present (a file without them reads them as empty)."""

    name: str
    columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Adapter:
    """A source: its tables, which of them are required (each entry lists alternatives, the
    first present is used), which are optional together, the dbt var each choice sets, and
    the contract extract each output model becomes."""

    name: str
    kind: str  # "billing" or "crm"
    description: str
    tables: tuple[SourceTable, ...]
    required: tuple[tuple[str, ...], ...]
    # dbt var -> the tables whose presence turns it on (all of them must be present).
    switches: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # contract extract -> output model; a billing source's crm_accounts is derived from its
    # customers and written only when the delivery has no CRM extract yet.
    outputs: Mapping[str, str] = field(default_factory=dict)
    # dbt vars naming source columns (a configurable mapping): var -> table whose column it is.
    column_vars: Mapping[str, str] = field(default_factory=dict)

    def table(self, name: str) -> SourceTable:
        return next(table for table in self.tables if table.name == name)


STRIPE = Adapter(
    name="stripe",
    kind="billing",
    description="Stripe, as the Fivetran Stripe connector lands it",
    tables=(
        SourceTable("customer", ("id",), ("name", "email", "metadata", "created", "is_deleted")),
        SourceTable(
            "subscription_history",
            ("id", "customer_id", "status", "_fivetran_start"),
            (
                "_fivetran_end",
                "cancel_at",
                "cancel_at_period_end",
                "current_period_end",
                "ended_at",
            ),
        ),
        SourceTable(
            "subscription",
            ("id", "customer_id", "status", "start_date"),
            (
                "created",
                "trial_end",
                "cancel_at",
                "cancel_at_period_end",
                "current_period_end",
                "ended_at",
            ),
        ),
        SourceTable(
            "subscription_item",
            ("id", "subscription_id", "plan_id", "created"),
            ("quantity", "_fivetran_deleted", "_fivetran_synced"),
        ),
        SourceTable(
            "price",
            ("id", "product_id", "currency", "unit_amount", "recurring_interval"),
            ("nickname", "recurring_interval_count", "recurring_usage_type"),
        ),
        SourceTable(
            "plan",
            ("id", "product_id", "currency", "amount", "interval"),
            ("nickname", "interval_count", "usage_type"),
        ),
        SourceTable("product", ("id",), ("name",)),
        SourceTable(
            "subscription_discount",
            ("id", "coupon_id", "subscription_id", "start"),
            ("end",),
        ),
        SourceTable(
            "coupon",
            ("id",),
            ("name", "percent_off", "amount_off", "currency", "duration", "duration_in_months"),
        ),
        SourceTable("usage_record", ("subscription_item_id", "quantity", "timestamp")),
    ),
    required=(
        ("subscription_history", "subscription"),
        ("subscription_item",),
        ("price", "plan"),
        ("product",),
        ("customer",),
    ),
    switches={
        "stripe_using_subscription_history": ("subscription_history",),
        "stripe_using_price": ("price",),
        "stripe_using_discounts": ("subscription_discount", "coupon"),
        "stripe_using_usage_records": ("usage_record",),
    },
    outputs={"billing_charges": "stripe__billing_charges", "crm_accounts": "stripe__crm_accounts"},
)

ZUORA = Adapter(
    name="zuora",
    kind="billing",
    description="Zuora rate plan charges, as the Fivetran Zuora connector lands them",
    tables=(
        SourceTable(
            "rate_plan_charge",
            (
                "id",
                "account_id",
                "product_id",
                "product_rate_plan_id",
                "charge_number",
                "segment",
                "charge_type",
                "mrr",
                "effective_start_date",
                "updated_date",
            ),
            ("version", "quantity", "effective_end_date"),
        ),
        SourceTable("account", ("id", "currency"), ("name", "crm_id", "parent_id", "updated_date")),
        SourceTable("product", ("id",), ("name",)),
        SourceTable("product_rate_plan", ("id",), ("name",)),
    ),
    required=(("rate_plan_charge",), ("account",), ("product",), ("product_rate_plan",)),
    outputs={"billing_charges": "zuora__billing_charges", "crm_accounts": "zuora__crm_accounts"},
)

CHARGEBEE = Adapter(
    name="chargebee",
    kind="billing",
    description="Chargebee subscription items and item prices (Product Catalog 2.0)",
    tables=(
        SourceTable(
            "subscription",
            ("id", "customer_id", "status"),
            ("started_at", "activated_at", "cancelled_at", "current_term_end", "updated_at"),
        ),
        SourceTable(
            "subscription_item", ("subscription_id", "item_price_id", "item_type"), ("quantity",)
        ),
        SourceTable(
            "item_price",
            ("id", "item_id", "currency_code", "price", "period_unit"),
            ("name", "period", "pricing_model"),
        ),
        SourceTable("item", ("id",), ("name",)),
        SourceTable(
            "customer", ("id",), ("company", "first_name", "last_name", "created_at", "deleted")
        ),
    ),
    required=(("subscription",), ("subscription_item",), ("item_price",), ("item",), ("customer",)),
    outputs={
        "billing_charges": "chargebee__billing_charges",
        "crm_accounts": "chargebee__crm_accounts",
    },
    column_vars={"chargebee_crm_account_column": "customer"},
)

SALESFORCE = Adapter(
    name="salesforce",
    kind="crm",
    description="Salesforce Account (and User for owner names), as Fivetran lands them",
    tables=(
        SourceTable(
            "account",
            ("id", "name"),
            ("parent_id", "owner_id", "is_deleted", "last_modified_date"),
        ),
        SourceTable("user", ("id", "name")),
    ),
    required=(("account",),),
    switches={"salesforce_using_user": ("user",)},
    outputs={"crm_accounts": "salesforce__crm_accounts"},
    column_vars={
        "salesforce_segment_column": "account",
        "salesforce_region_column": "account",
        "salesforce_industry_column": "account",
        "salesforce_csm_column": "account",
    },
)

HUBSPOT = Adapter(
    name="hubspot",
    kind="crm",
    description="HubSpot companies (and owners for their names), as Fivetran lands them",
    tables=(
        SourceTable(
            "company",
            ("id", "property_name"),
            (
                "property_hs_parent_company_id",
                "property_hubspot_owner_id",
                "property_hs_lastmodifieddate",
                "is_deleted",
            ),
        ),
        SourceTable("owner", ("owner_id",), ("first_name", "last_name")),
    ),
    required=(("company",),),
    switches={"hubspot_using_owner": ("owner",)},
    outputs={"crm_accounts": "hubspot__crm_accounts"},
    column_vars={
        "hubspot_segment_column": "company",
        "hubspot_region_column": "company",
        "hubspot_industry_column": "company",
        "hubspot_csm_column": "company",
    },
)

# Every source `nrr adapt` knows, declared once (the CLI's choices and help, docs/sources.md's
# check and the runner read this).
ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter for adapter in (STRIPE, ZUORA, CHARGEBEE, SALESFORCE, HUBSPOT)
}


@dataclass(frozen=True)
class AdaptResult:
    """What an adaptation wrote: each file with its row count, and what the user should know
    (a derived CRM, metered items without usage, a mapped column the export lacks)."""

    written: dict[str, int]
    folder: Path
    notes: tuple[str, ...]


def source_files(source_dir: Path) -> dict[str, Path]:
    """The table files of a source folder by table name (`subscription_item.csv` ->
    subscription_item); a table given as both CSV and Parquet is an error."""
    files: dict[str, Path] = {}
    for path in sorted(source_dir.iterdir()):
        if path.is_file() and path.suffix.lower() in FILE_SUFFIXES:
            if path.stem in files:
                raise AdapterError(
                    f"{source_dir}: table {path.stem} is given twice "
                    f"({files[path.stem].name} and {path.name}); keep one"
                )
            files[path.stem] = path
    return files


def chosen_tables(adapter: Adapter, files: Mapping[str, Path], source_dir: Path) -> list[str]:
    """The tables the mapping reads: for each required entry the first alternative present
    (else an error naming the files expected), plus every optional table present."""
    chosen: list[str] = []
    for alternatives in adapter.required:
        present = [name for name in alternatives if name in files]
        if not present:
            expected = " or ".join(f"{name}.csv/.parquet" for name in alternatives)
            raise AdapterError(
                f"{adapter.name}: {expected} is missing in {source_dir} (one file per source "
                "table, named after the table)"
            )
        chosen.append(present[0])
    required = {name for alternatives in adapter.required for name in alternatives}
    chosen += [
        table.name for table in adapter.tables if table.name not in required and table.name in files
    ]
    return chosen


def dbt_switches(adapter: Adapter, tables: list[str]) -> dict[str, bool]:
    """Each switch var: on when all its tables are among those read."""
    return {var: all(name in tables for name in needs) for var, needs in adapter.switches.items()}


def _reader(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{quoted}')"
    # Every CSV value as text: the staging models cast each column themselves.
    return f"read_csv('{quoted}', header = true, all_varchar = true)"


def create_source_views(
    con: duckdb.DuckDBPyConnection,
    adapter: Adapter,
    files: Mapping[str, Path],
    tables: list[str],
    mapped_columns: Mapping[str, list[str]],
) -> list[str]:
    """A view per table in schema <source> over its file; a required column the file lacks is
    an error naming file and column, an optional one reads as empty (noted)."""
    notes = []
    con.execute(f'create schema if not exists "{adapter.name}"')
    for name in tables:
        table, path = adapter.table(name), files[name]
        reader = _reader(path)
        try:
            present = {row[0] for row in con.execute(f"describe select * from {reader}").fetchall()}
        except duckdb.Error as exc:
            raise AdapterError(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from exc
        for column in table.columns:
            if column not in present:
                raise AdapterError(f"{path}: column {column} is missing ({adapter.name} {name})")
        missing = [
            c for c in (*table.optional_columns, *mapped_columns.get(name, [])) if c not in present
        ]
        for column in mapped_columns.get(name, []):
            if column in missing:
                notes.append(
                    f"{path.name} has no column {column}: the column mapped to it is left empty."
                )
        empty = "".join(f', cast(null as varchar) as "{column}"' for column in missing)
        con.execute(f'create view "{adapter.name}"."{name}" as select *{empty} from {reader}')
    return notes


def mapped_columns(adapter: Adapter, variables: Mapping[str, object]) -> dict[str, list[str]]:
    """The source columns the configurable vars name, by table (unset or blank vars aside)."""
    defaults = _project_vars()
    columns: dict[str, list[str]] = {}
    for var, table in adapter.column_vars.items():
        column = str(variables.get(var, defaults.get(var, "")) or "")
        if column:
            columns.setdefault(table, []).append(column)
    return columns


def _project_vars() -> dict[str, object]:
    import yaml

    return yaml.safe_load((ADAPTERS_PROJECT_DIR / "dbt_project.yml").read_text()).get("vars") or {}


def run_dbt(
    adapter: Adapter, workdir: Path, warehouse: Path, variables: Mapping[str, object]
) -> None:
    """dbt build of the source's models (tag <source>) on the embedded warehouse; dbt's own
    error lines when it fails."""
    command = [
        dbt_executable(),
        "build",
        "--no-use-colors",
        "--project-dir",
        str(ADAPTERS_PROJECT_DIR),
        "--profiles-dir",
        str(ADAPTERS_PROJECT_DIR),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
        "--select",
        f"tag:{adapter.name}",
        "--vars",
        json.dumps(dict(variables)),
    ]
    env = {**os.environ, WAREHOUSE_VARIABLE: str(warehouse), "NRR_ADAPT_TARGET": "duckdb"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=workdir)
    if done.returncode != 0:
        lines = [line for line in done.stdout.splitlines() if "error" in line.lower()]
        raise AdapterFailed(
            f"{adapter.name}: the mapping failed in dbt:\n"
            + "\n".join(lines[-20:] or done.stdout.splitlines()[-20:])
        )


def write_extract(con: duckdb.DuckDBPyConnection, model: str, extract: str, folder: Path) -> int:
    """The output model as <folder>/<extract>.csv in the contract's columns (written beside
    and renamed, so a reader never sees half a file); a file of that extract in another
    format is removed (a delivery names each extract once)."""
    columns = ", ".join(f'"{column}"' for column in EXTRACT_COLUMNS[extract])
    target = folder / f"{extract}.csv"
    partial = folder / f".{extract}.csv.partial"
    order = EXTRACT_COLUMNS[extract][0]
    quoted = str(partial).replace("'", "''")
    con.execute(
        f"copy (select {columns} from main.{model} order by {order}) "
        f"to '{quoted}' (header, delimiter ',')"
    )
    for suffix in FILE_SUFFIXES:
        other = folder / f"{extract}{suffix}"
        if other != target and other.exists():
            other.unlink()
    partial.replace(target)
    return con.execute(f"select count(*) from main.{model}").fetchone()[0]


def has_extract(folder: Path, extract: str) -> bool:
    return any((folder / f"{extract}{suffix}").exists() for suffix in FILE_SUFFIXES)


def adapt(
    source: str,
    source_dir: Path,
    out: Path,
    delivery: date,
    variables: Mapping[str, object] | None = None,
) -> AdaptResult:
    """Adapt SOURCE_DIR's tables into the delivery folder OUT/<delivery>/ (docs/sources.md)."""
    if source not in ADAPTERS:
        raise AdapterError(f"unknown source {source!r}; known: {', '.join(ADAPTERS)}")
    adapter, source_dir = ADAPTERS[source], Path(source_dir).resolve()
    if not source_dir.is_dir():
        raise AdapterError(f"{source_dir}: no such folder")
    files = source_files(source_dir)
    tables = chosen_tables(adapter, files, source_dir)
    given = dict(variables or {})
    folder = Path(out) / delivery.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"nrr-adapt-{source}-") as work:
        workdir, warehouse = Path(work), Path(work) / "adapt.duckdb"
        with duckdb.connect(str(warehouse)) as con:
            notes = create_source_views(con, adapter, files, tables, mapped_columns(adapter, given))
        switches = dbt_switches(adapter, tables)
        run_dbt(adapter, workdir, warehouse, {**switches, **given})
        written: dict[str, int] = {}
        with duckdb.connect(str(warehouse)) as con:
            for extract, model in adapter.outputs.items():
                if adapter.kind == "billing" and extract == "crm_accounts":
                    if has_extract(folder, "crm_accounts"):
                        continue
                    notes.append(
                        "crm_accounts was derived from the billing customers (names only, no "
                        "parents or slices): adapt your CRM into the same delivery to replace it."
                    )
                written[f"{extract}.csv"] = write_extract(con, model, extract, folder)
            if source == "stripe" and not switches["stripe_using_usage_records"]:
                metered = con.execute(
                    "select count(distinct item_id) from main.int_stripe__item_segments "
                    "where usage_type = 'metered'"
                ).fetchone()[0]
                if metered:
                    notes.append(
                        f"{metered} metered subscription item(s) left out: without usage_record "
                        "their usage is unknown."
                    )
    return AdaptResult(written=written, folder=folder, notes=tuple(notes))
