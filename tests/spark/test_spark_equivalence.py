"""The same dbt models on Spark (dbt-spark, session mode) give the DuckDB results row for row.

Run with `make test-spark` (installs the `spark` extra). The DuckDB pipeline lands and
quarantines a generated delivery; its typed checked tables and rejects are copied into a
local Spark catalog; dbt builds the models on the `spark` target in this process (session
mode shares the SparkSession); both marts are then compared exactly.
"""

import json

import duckdb
import pytest

from pipeline.cli import EXIT_OK, main
from pipeline.dbt_project import DBT_PROJECT_DIR, dbt_build, dbt_vars
from pipeline.settings import Settings

pytestmark = pytest.mark.spark
pyspark_sql = pytest.importorskip("pyspark.sql", reason="the spark extra is not installed")

# What dbt reads: the typed checked tables (staging), the row rejects (the gated quarantine,
# valued in dbt) and the landed charges (the raw values of the customer-level rules' rows).
RAW_TABLES = (
    "checked_billing_charges",
    "checked_crm_accounts",
    "checked_fx_rates",
    "checked_account_signals",
    "quarantine_rejects",
    "billing_charges",
)
COMPARED = {
    "fct_arr_movements": ["customer_id", "quarter_label"],
    "fct_arr_bridge": ["quarter_label", "dimension", "dimension_value"],
    "quarantine": ["extract", "row_number"],
}


@pytest.fixture(scope="module")
def duckdb_home(sample_extracts, tmp_path_factory):
    home = tmp_path_factory.mktemp("duckdb-home")
    assert main(["run", "--extracts", str(sample_extracts), "--home", str(home)]) == EXIT_OK
    return home


def _frame(con, table):
    """Rows with Decimal money (via Arrow), as Spark's toPandas gives them."""
    return con.execute(f"select * from {table}").to_arrow_table().to_pandas()


def test_spark_builds_the_same_marts_as_duckdb(duckdb_home, spark, tmp_path, monkeypatch):
    from dbt.cli.main import dbtRunner

    con = duckdb.connect(str(duckdb_home / "warehouse.duckdb"), read_only=True)
    spark.sql("create database if not exists raw")
    for table in RAW_TABLES:
        arrow = con.execute(f"select * from raw.{table}").to_arrow_table()
        spark.createDataFrame(arrow).write.mode("overwrite").saveAsTable(f"raw.{table}")
    settings = Settings(home=duckdb_home)
    as_of = con.sql("select max(delivery_date) from raw.delivery_log").fetchall()[0][0]

    monkeypatch.setenv("NRR_DBT_TARGET", "spark")
    monkeypatch.setenv("NRR_SPARK_SCHEMA", "nrr")
    # What a night with these settings builds (dbt_build: no monthly models unless
    # NRR_PERIODS asks for them), data tests included: their SQL must run on Spark too.
    build = dbt_build(settings)
    what = [*build.args, "--exclude", build.exclude] if build.exclude else list(build.args)
    result = dbtRunner().invoke(
        [
            *what,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            json.dumps(dbt_vars(settings, as_of)),
        ]
    )
    failures = [r.node.name for r in (result.result or []) if r.status not in ("success", "pass")]
    assert result.success, f"dbt on Spark failed: {failures or result.exception}"

    for table, key in COMPARED.items():
        expected = _frame(con, f"main.{table}").sort_values(key).reset_index(drop=True)
        actual = spark.table(f"nrr.{table}").toPandas().sort_values(key).reset_index(drop=True)
        assert list(actual.columns) == list(expected.columns), table
        assert len(actual) == len(expected), table
        for column in expected.columns:
            left, right = expected[column].tolist(), actual[column].tolist()
            assert left == right, f"{table}.{column} differs"
    con.close()
