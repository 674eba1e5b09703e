"""The adapters' SQL runs unchanged inside a warehouse: every source's models built on Spark
(dbt-spark, session mode) over the connector's tables give the rows `nrr adapt` writes on the
embedded DuckDB, value for value (docs/sources.md, "One mapping, two places to run it").

The fixtures (tests/fixtures/adapters/<source>/) are loaded as Spark tables in a schema named
after the source, every column as text as a CSV export gives it (the staging models cast),
optional columns the export lacks as empty, as `nrr adapt` does.
"""

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.adapters import (
    ADAPTERS,
    ADAPTERS_PROJECT_DIR,
    adapt,
    chosen_tables,
    dbt_switches,
    source_files,
)

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark.sql", reason="the spark extra is not installed")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"


def text(value) -> str:
    """A Spark value as the DuckDB CSV writes it (empty for null)."""
    return "" if value is None else str(value)


@pytest.mark.parametrize("source", list(ADAPTERS))
def test_each_adapter_gives_the_same_rows_on_spark(source, spark, tmp_path, monkeypatch):
    from dbt.cli.main import dbtRunner
    from pyspark.sql import functions as F

    adapter = ADAPTERS[source]
    folder = FIXTURES / source
    files = source_files(folder)
    tables = chosen_tables(adapter, files, folder)
    spark.sql(f"create database if not exists {source}")
    for name in tables:
        frame = spark.read.option("header", True).option("escape", '"').csv(str(files[name]))
        for column in adapter.table(name).optional_columns:
            if column not in frame.columns:
                frame = frame.withColumn(column, F.lit(None).cast("string"))
        frame.write.mode("overwrite").saveAsTable(f"{source}.`{name}`")

    monkeypatch.setenv("NRR_ADAPT_TARGET", "spark")
    monkeypatch.setenv("NRR_SPARK_SCHEMA", "adapted")
    result = dbtRunner().invoke(
        [
            "build",
            "--project-dir",
            str(ADAPTERS_PROJECT_DIR),
            "--profiles-dir",
            str(ADAPTERS_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--select",
            f"tag:{source}",
            "--vars",
            json.dumps(dbt_switches(adapter, tables)),
        ]
    )
    assert result.success, f"{source} on Spark: {result.exception}"

    monkeypatch.delenv("NRR_ADAPT_TARGET")
    written = adapt(source, folder, tmp_path / "duckdb", date(2025, 12, 31))
    for extract, model in adapter.outputs.items():
        path = written.folder / f"{extract}.csv"
        with path.open(newline="") as handle:
            expected = [tuple(row) for row in list(csv.reader(handle))[1:]]
        frame = spark.table(f"adapted.{model}")
        actual = sorted(tuple(text(v) for v in row) for row in frame.collect())
        assert actual == sorted(expected), f"{source}: {model}"
        assert len(expected) > 0
