"""Great Expectations suites (JSON in expectations/) run against small pandas frames.

Great Expectations checks what dbt does not (docs/reliability.md, "Checks: who checks what"):
the raw extracts as landed (column sets, lineage, the quarantine's shape) and the report as a
whole (ratios in range, GRR <= NRR, slices that add up to the total, the report agreeing with
the bridge, row counts against the previous report). Row-level invariants of the dbt marts are
dbt tests. Each suite reads a frame sized for it: a table's values only of the columns an
expectation inspects, or an aggregate of a few rows per quarter, never the movement table.

Great Expectations is imported lazily (it takes seconds) and runs in a file-backed context
under $NRR_HOME/gx, so validation results are kept and rendered as Data Docs HTML, which
publishing copies into the report.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.contracts import EXTRACT_COLUMNS, QUARANTINE_REASONS
from pipeline.dbt_project import slice_dimensions
from pipeline.landing import append_line, read_json_lines
from pipeline.nrr_methods import NRR_METHODS
from pipeline.restatements import PreviousReport, incomparable_settings, previous_settings
from pipeline.retention import MONTH, QUARTER, Grain

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
        "$EXTRACTS": list(EXTRACT_COLUMNS),
        "$NRR_METHODS": list(NRR_METHODS),
        "$SLICE_DIMENSIONS": list(slice_dimensions()),
        "$DIMENSIONS": ["all", *slice_dimensions()],
    }


# A suite checks its grain's tables: `<suite>@month` is expectations/<suite>.json on the monthly
# grain's tables (the same expectations, the period columns renamed: quarter_label ->
# month_label, ...), so no suite is copied for the monthly marts and reports.
GRAINS = {QUARTER.name: QUARTER, MONTH.name: MONTH}
GRAIN_SEPARATOR = "@"


def suite_grain(name: str) -> tuple[str, Grain]:
    """The suite file and the grain of a suite name (`rpt_nrr_quarterly@month`)."""
    suite, _, grain = name.partition(GRAIN_SEPARATOR)
    return suite, GRAINS[grain or QUARTER.name]


def grain_columns(grain: Grain) -> dict[str, str]:
    """The quarterly period columns -> the grain's (identity for the quarter)."""
    fields = ("index", "number", "label", "start", "end", "cohort")
    return {getattr(QUARTER, f): getattr(grain, f) for f in fields}


def suite_definition(name: str) -> dict:
    """The suite `name` as written in expectations/<name>.json, its named lists filled in;
    `<suite>@month`: the suite with the monthly grain's period columns."""
    file_name, grain = suite_grain(name)
    suite = json.loads((EXPECTATIONS_DIR / f"{file_name}.json").read_text())
    renamed = grain_columns(grain)
    lists = suite_lists()
    for expectation in suite.get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        for key, value in kwargs.items():
            if isinstance(value, str) and value in lists:
                kwargs[key] = lists[value]
            elif isinstance(value, str):
                kwargs[key] = renamed.get(value, value)
            elif isinstance(value, list):
                kwargs[key] = [
                    renamed.get(item, item) if isinstance(item, str) else item
                    for entry in value
                    for item in (
                        lists[entry] if isinstance(entry, str) and entry in lists else [entry]
                    )
                ]
    if grain != QUARTER:
        suite["name"] = name
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


# Aggregate frames: exact DECIMAL sums arrive in pandas as Python Decimals (a few rows per
# quarter), so the identities below are compared exactly, to the last decimal.
# fct_arr_bridge: per quarter and dimension, the slices' sums beside the `all` slice's figures,
# and the customers the `all` slice should end with: start - churned + new + reactivated.
def bridge_sums_query(grain: Grain = QUARTER) -> str:
    """BRIDGE_SUMS_QUERY on the grain's bridge (fct_arr_bridge, fct_arr_bridge_monthly)."""
    return f"""
with sliced as (
    select {grain.label}, {grain.start}, dimension,
           sum(start_arr) as start_arr, sum(end_arr) as end_arr, sum(fx_arr) as fx_arr,
           cast(sum(starting_customers) as bigint) as starting_customers,
           cast(sum(ending_customers) as bigint) as ending_customers,
           cast(sum(starting_customers - churn_customers + new_customers
                    + reactivation_customers) as bigint) as bridged_ending_customers
    from main.{grain.bridge}
    group by {grain.label}, {grain.start}, dimension
)
select sliced.{grain.label}, sliced.dimension,
       sliced.start_arr, total.start_arr as all_start_arr,
       sliced.end_arr, total.end_arr as all_end_arr,
       sliced.fx_arr, total.fx_arr as all_fx_arr,
       sliced.starting_customers, total.starting_customers as all_starting_customers,
       sliced.ending_customers, total.ending_customers as all_ending_customers,
       sliced.bridged_ending_customers
from sliced
left join main.{grain.bridge} as total
    on total.{grain.label} = sliced.{grain.label} and total.dimension = 'all'
order by sliced.{grain.start}, sliced.dimension
"""


BRIDGE_SUMS_QUERY = bridge_sums_query(QUARTER)


# rpt_nrr_quarterly (Polars) against fct_arr_bridge (dbt), per quarter and slice: the same
# S, E, C and Ch, and NRR = (S + E - C - Ch) / S, GRR = (S - C - Ch) / S recomputed from the
# bridge (a ratio's gap is 1 where one side has a ratio and the other has none).
def report_agrees_query(grain: Grain = QUARTER) -> str:
    """REPORT_AGREES_QUERY for the grain's report and bridge (rpt_nrr_monthly against
    fct_arr_bridge_monthly)."""
    report = "rpt_nrr_quarterly" if grain == QUARTER else "rpt_nrr_monthly"
    label, start = grain.label, grain.start
    return f"""
with report as (select * from main.{report}),
     bridge as (
        select {label}, {start}, dimension, dimension_value,
               start_arr, expansion_arr, contraction_arr, churn_arr,
               case when start_arr > 0 then
                   cast(start_arr + expansion_arr - contraction_arr - churn_arr as double)
                   / cast(start_arr as double) end as nrr,
               case when start_arr > 0 then
                   cast(start_arr - contraction_arr - churn_arr as double)
                   / cast(start_arr as double) end as grr
        from main.{grain.bridge}
     )
select coalesce(report.{label}, bridge.{label}) as {label},
       coalesce(report.dimension, bridge.dimension) as dimension,
       coalesce(report.dimension_value, bridge.dimension_value) as dimension_value,
       report.starting_arr, bridge.start_arr as bridge_start_arr,
       report.expansion_arr, bridge.expansion_arr as bridge_expansion_arr,
       report.contraction_arr, bridge.contraction_arr as bridge_contraction_arr,
       report.churn_arr, bridge.churn_arr as bridge_churn_arr,
       case when (report.nrr is null) = (bridge.nrr is null)
            then coalesce(abs(report.nrr - bridge.nrr), 0) else 1 end as nrr_gap,
       case when (report.grr is null) = (bridge.grr is null)
            then coalesce(abs(report.grr - bridge.grr), 0) else 1 end as grr_gap
from report
full outer join bridge
    on bridge.{label} = report.{label}
    and bridge.dimension = report.dimension
    and bridge.dimension_value = report.dimension_value
order by coalesce(report.{start}, bridge.{start}), 2, 3
"""


REPORT_AGREES_QUERY = report_agrees_query(QUARTER)


# rpt_cohort_retention: per row, arr - (starting_arr + expansion_arr - contraction_arr -
# churn_arr), computed exactly on the DECIMAL columns; a double only afterwards, so any gap,
# even a millionth, stays non-zero.
def cohort_decomposition_query(grain: Grain = QUARTER) -> str:
    """COHORT_DECOMPOSITION_QUERY on the grain's cohort report."""
    report = "rpt_cohort_retention" if grain == QUARTER else "rpt_cohort_retention_monthly"
    return f"""
select {grain.cohort}, age, dimension, dimension_value,
       cast(arr - (starting_arr + expansion_arr - contraction_arr - churn_arr) as double)
           as decomposition_gap
from main.{report}
order by {grain.cohort}, age, dimension, dimension_value
"""


COHORT_DECOMPOSITION_QUERY = cohort_decomposition_query(QUARTER)

# A published table may shrink by at most this share of the previous report's rows: more
# (e.g. half the customers missing from a delivery) blocks publishing. The quarantine is not
# compared: fewer broken rows is good news; nor the watchlist: it lists today's customers,
# which churn shrinks (a delivery missing customers shows in the movements and the reports).
ROW_COUNT_TOLERANCE = (1, 10)  # 10 %, as a fraction of integers: counts stay exact
ROW_COUNT_EXCLUDED = frozenset({"quarantine", "rpt_account_watchlist"})


def least_rows(previous_rows: int) -> int:
    """The fewest rows a table may have after `previous_rows`: previous less the tolerance,
    rounded up (100 -> 90, 7 -> 7 (6.3 rounds up), 0 -> 0)."""
    share, whole = ROW_COUNT_TOLERANCE
    return -(-(previous_rows * (whole - share)) // whole)


def row_count_frame(
    con,
    tables: dict[str, str],
    previous: PreviousReport | None,
    current_settings: dict[str, str],
    as_of: date,
) -> tuple[pd.DataFrame, str]:
    """One row per published table (name -> warehouse table): its rows now, the previous
    report's rows (from its Parquet file) and the fewest it may have; and a note saying
    what was compared. previous_rows is empty for a first report, a report not comparable
    (other currency, fiscal year start or roll-up, or a later as-of date) and a table the
    previous report did not publish."""
    names = [name for name in tables if name not in ROW_COUNT_EXCLUDED]
    rows = {
        name: con.execute(f"select count(*) from {tables[name]}").fetchone()[0] for name in names
    }
    before: dict[str, int] = {}
    if previous is None:
        note = "First report: no previous report to compare row counts with."
    elif changed := incomparable_settings(previous_settings(con, previous), current_settings):
        note = f"Row counts not compared with the previous report: the {'; '.join(changed)}."
    elif previous.as_of > as_of.isoformat():
        note = (
            f"Row counts not compared: the previous report is as of {previous.as_of}, "
            f"later than this one ({as_of.isoformat()})."
        )
    else:
        for name in names:
            parquet = previous.folder / f"{name}.parquet"
            if parquet.exists():
                query = "select count(*) from read_parquet(?)"
                before[name] = con.execute(query, [str(parquet)]).fetchone()[0]
        note = f"Row counts compared with the previous report (as of {previous.as_of})."
    counts = {
        "rows": [rows[n] for n in names],
        "previous_rows": [before.get(n) for n in names],
        "least_rows": [least_rows(before[n]) if n in before else None for n in names],
    }
    # Floats so that a missing count is NaN (counts stay exact far below 2**53).
    frame = pd.DataFrame({"table_name": names}).assign(
        **{column: pd.Series(values, dtype="float64") for column, values in counts.items()}
    )
    return frame, note


def row_count_findings(frame: pd.DataFrame, previous_as_of: str | None) -> list[str]:
    """A sentence for each table below its least rows, naming both counts."""
    share, whole = ROW_COUNT_TOLERANCE
    dropped = frame[frame["rows"] < frame["least_rows"]]
    return [
        f"{row.table_name} has {int(row.rows):,} rows, the previous report (as of "
        f"{previous_as_of}) had {int(row.previous_rows):,}: more than {100 * share // whole} % "
        "fewer blocks publishing"
        for row in dropped.itertuples()
    ]


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

    def record(self) -> dict[str, Any]:
        """What the report's manifest says about this suite."""
        return {
            "suite": self.suite,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed": len(self.failures),
        }


# The run's check outcomes, one JSON line each, written by the checks as they finish and read
# by publishing as they are: publishing never re-reads Great Expectations' result files.
CHECK_RECORDS = "checks.jsonl"


def record_outcome(folder: Path, outcome: SuiteOutcome) -> None:
    """Save the suite's full result (published as evidence) and append its record."""
    outcome.save(folder / f"{outcome.suite}.json")
    append_line(folder / CHECK_RECORDS, json.dumps(outcome.record()))


def check_records(folder: Path) -> list[dict[str, Any]]:
    """The last record of each suite in folder, by suite name (a re-run check counts once)."""
    latest = {}
    for line in read_json_lines(folder / CHECK_RECORDS):
        if isinstance(line, dict) and "suite" in line:
            latest[line["suite"]] = line
    return [latest[name] for name in sorted(latest)]


def _plain(value: Any) -> Any:
    """numpy scalars as plain Python numbers, for messages and JSON."""
    return value.item() if hasattr(value, "item") else value


def _shown(value: Any) -> str:
    """A sample value as a reader would write it: (10, 13) for a pair of numpy floats."""
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
            finding += f" (e.g. {', '.join(map(_shown, sample[:3]))})"
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
    """Runs suites through a file-backed Great Expectations context rooted at `root`.

    A failing suite renders the Data Docs site (so a blocked night shows why) unless
    docs_on_failure is False: the site is rebuilt from every validation stored so far, which
    unit tests that fail suite after suite on one context do not need."""

    def __init__(self, root: Path, docs_on_failure: bool = True):
        started = time.perf_counter()
        self.docs_on_failure = docs_on_failure
        gx = import_great_expectations()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        root.mkdir(parents=True, exist_ok=True)
        self.root = root
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
                # No Data Docs action: each one rebuilds the whole site. The site is built
                # when a suite fails (so a blocked night shows why) and once when publishing.
                actions=[],
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
        if not result["success"] and self.docs_on_failure:
            self.build_docs()
        return SuiteOutcome(
            suite=name,
            success=bool(result["success"]),
            evaluated=len(result["results"]),
            failures=failures,
            result=result,
        )

    def build_docs(self) -> Path:
        """Render the Data Docs site from every validation stored so far; returns its folder."""
        self.context.build_data_docs()
        return data_docs_dir(self.root)


@cache
def suite_runner(root: Path) -> SuiteRunner:
    """One context per root and process: creating it costs seconds."""
    return SuiteRunner(root)
