"""One local Spark session for the Spark tests (starting one costs seconds of JVM)."""

import os

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="the spark extra is not installed")
    root = tmp_path_factory.mktemp("spark")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("nrr-equivalence")
        .config("spark.sql.warehouse.dir", str(root / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={root}")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
        .enableHiveSupport()
        .getOrCreate()
    )
    yield session
    session.stop()
