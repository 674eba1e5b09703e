"""Great Expectations suites (JSON in expectations/) run against pandas frames.

Great Expectations is imported lazily (it takes seconds) and runs in a file-backed context
under $NRR_HOME/gx, so validation results are kept and rendered as Data Docs HTML, which
publishing copies into the report.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.contracts import QUARANTINE_REASONS
from pipeline.dbt_project import slice_dimensions

EXPECTATIONS_DIR = Path(__file__).resolve().parents[1] / "expectations"


def data_docs_dir(root: Path) -> Path:
    """Where the context rooted at `root` renders its Data Docs site."""
    return root / "gx" / "uncommitted" / "data_docs" / "local_site"


def suite_lists() -> dict[str, list[str]]:
    """Lists a suite names instead of repeating them: "$NAME" as a kwarg is the list's values,
    and as an item of a list kwarg stands for the list's values in its place."""
    return {
        "$QUARANTINE_REASONS": sorted(
            {r for reasons in QUARANTINE_REASONS.values() for r in reasons}
        ),
        "$SLICE_DIMENSIONS": list(slice_dimensions()),
        "$DIMENSIONS": ["all", *slice_dimensions()],
    }


def suite_definition(name: str) -> dict:
    """The suite `name` as written in expectations/<name>.json, its named lists filled in."""
    suite = json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text())
    lists = suite_lists()
    for expectation in suite.get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        for key, value in kwargs.items():
            if isinstance(value, str) and value in lists:
                kwargs[key] = lists[value]
            elif isinstance(value, list):
                kwargs[key] = [
                    item
                    for entry in value
                    for item in (
                        lists[entry] if isinstance(entry, str) and entry in lists else [entry]
                    )
                ]
    return suite


COLUMN_ARGUMENTS = ("column", "column_A", "column_B", "column_list")


def suite_columns(name: str) -> set[str]:
    """Columns whose values some expectation of the suite reads (not only their names)."""
    columns: set[str] = set()
    for expectation in suite_definition(name)["expectations"]:
        for argument in COLUMN_ARGUMENTS:
            value = expectation["kwargs"].get(argument)
            if isinstance(value, str):
                columns.add(value)
            elif isinstance(value, list):
                columns.update(value)
    return columns


def validation_query(name: str, table: str, table_columns: list[tuple[str, str]]) -> str:
    """Select the table (columns as (name, DuckDB type)) for suite `name`: every column name,
    but values only where an expectation reads them; the others are all-null stand-ins, so a
    raw extract's text columns are never copied into pandas just to confirm that they exist.
    Decimals arrive as doubles, as pandas would hold them anyway, without DuckDB building a
    Python Decimal per value first (half the time on large tables)."""
    read = suite_columns(name)
    select = []
    for column, data_type in table_columns:
        if column not in read:
            select.append(f'cast(null as boolean) as "{column}"')
        elif data_type.upper().startswith("DECIMAL"):
            select.append(f'cast("{column}" as double) as "{column}"')
        else:
            select.append(f'"{column}"')
    return f"select {', '.join(select)} from {table}"


def read_frame(con, query: str) -> pd.DataFrame:
    """The query's result as pandas through Arrow, freeing Arrow buffers as columns convert:
    at 9 M rows half the memory and a fifth of the time of DuckDB's own `.df()`."""
    table = con.sql(query).to_arrow_table()
    return table.to_pandas(split_blocks=True, self_destruct=True, date_as_object=False)


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    result: dict = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {self.evaluated} expectations met"
        lines = [f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed"]
        lines += [f"- {f['expectation']}({f['target']}): {f['finding']}" for f in self.failures]
        return "\n".join(lines)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.result, indent=2, default=str) + "\n")


def _plain(value: Any) -> Any:
    """numpy scalars as plain Python numbers, for messages and JSON."""
    return value.item() if hasattr(value, "item") else value


def _failure(result: dict) -> dict[str, Any]:
    config = result["expectation_config"]
    kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
    target = (
        kwargs.get("column")
        or kwargs.get("column_list")
        or (f"{kwargs['column_A']} vs {kwargs['column_B']}" if "column_A" in kwargs else "table")
    )
    outcome = result.get("result") or {}
    if outcome.get("unexpected_count") is not None:
        finding = f"{outcome['unexpected_count']} of {outcome.get('element_count')} rows unexpected"
        sample = outcome.get("partial_unexpected_list") or []
        if sample:
            finding += f" (e.g. {', '.join(map(str, sample[:3]))})"
    elif result.get("exception_info", {}).get("raised_exception"):
        finding = f"could not be evaluated: {result['exception_info']['exception_message']}"
    else:
        finding = f"observed {_plain(outcome.get('observed_value'))!r}, expected {kwargs}"
    return {
        "expectation": config["type"],
        "target": target if isinstance(target, str) else ", ".join(target),
        "finding": finding,
        "unexpected_count": outcome.get("unexpected_count"),
        "observed_value": _plain(outcome.get("observed_value")),
    }


# Great Expectations imports pyspark when it can, and pyspark's Connect module calls
# sys.exit(0) in a process whose __main__ has no file (Dagster's and pytest-xdist's workers):
# the check step then dies with "SystemExit: 0". The suites validate pandas frames, so
# Great Expectations is imported with pyspark hidden (it then runs without Spark support);
# Spark itself only ever runs inside dbt-spark's own process.
# pyspark itself may already be loaded (dbt-spark, a test module); its Connect module never is.
_HIDDEN_WHILE_IMPORTING = ("pyspark", "pyspark.sql.connect")


def import_great_expectations():
    """great_expectations, imported without pyspark (see above)."""
    if "great_expectations" in sys.modules:
        return sys.modules["great_expectations"]
    hidden = [name for name in _HIDDEN_WHILE_IMPORTING if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import pyspark` now raises ImportError
    try:
        import great_expectations
    finally:
        for name in hidden:
            del sys.modules[name]
    return great_expectations


class SuiteRunner:
    """Runs suites through a file-backed Great Expectations context rooted at `root`."""

    def __init__(self, root: Path):
        started = time.perf_counter()
        gx = import_great_expectations()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        root.mkdir(parents=True, exist_ok=True)
        self._gx = gx
        self.context = gx.get_context(mode="file", project_root_dir=str(root))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.datasource = self.context.data_sources.add_or_update_pandas("warehouse_frames")
        self.startup_seconds = time.perf_counter() - started  # import and context: fixed cost

    def _checkpoint(self, name: str):
        gx = self._gx
        definition = suite_definition(name)
        expectations = [
            gx.expectations.registry.get_expectation_impl(e["type"])(**e["kwargs"])
            for e in definition["expectations"]
        ]
        suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(name=name, expectations=expectations, meta=definition.get("meta"))
        )
        try:
            asset = self.datasource.get_asset(name)
        except LookupError:
            asset = self.datasource.add_dataframe_asset(name)
        try:
            batch = asset.get_batch_definition("whole_frame")
        except KeyError:
            batch = asset.add_batch_definition_whole_dataframe("whole_frame")
        validation = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        return self.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[validation],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
                result_format="SUMMARY",
            )
        )

    def validate(
        self, name: str, frame: pd.DataFrame, parameters: dict[str, Any] | None = None
    ) -> SuiteOutcome:
        run = self._checkpoint(name).run(
            batch_parameters={"dataframe": frame}, expectation_parameters=parameters or {}
        )
        result = next(iter(run.run_results.values())).to_json_dict()
        failures = [_failure(r) for r in result["results"] if not r["success"]]
        return SuiteOutcome(
            suite=name,
            success=bool(result["success"]),
            evaluated=len(result["results"]),
            failures=failures,
            result=result,
        )


@cache
def suite_runner(root: Path) -> SuiteRunner:
    """One context per root and process: creating it costs seconds."""
    return SuiteRunner(root)
