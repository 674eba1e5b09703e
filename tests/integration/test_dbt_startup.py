"""A new home's first dbt command reuses the project's saved parse instead of parsing it all.

dagster-dbt copies dbt_project/target/partial_parse.msgpack (saved by `make manifest`) into a
home that has none; dbt reuses it only if the profile reads as it did when it was saved.
"""

import os
import shutil
import subprocess
import sys

import pytest

from pipeline.defs.dbt import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

FULL_PARSE = "Unable to do partial parsing"


def _dbt(executable: str, target, env: dict[str, str]) -> str:
    completed = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), executable),
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        env={
            **os.environ,
            "DBT_TARGET_PATH": str(target),
            "DBT_LOG_PATH": str(target),
            "PYTHONPATH": str(DBT_PROJECT_DIR.parent),  # nrr-dbt from this checkout
            **env,
        },
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    return (target / "dbt.log").read_text()


def test_a_new_home_reuses_the_parse_saved_by_make_manifest(tmp_path):
    saved = tmp_path / "project-target"
    # As `make manifest` saves it.
    _dbt("dbt", saved, {"NRR_WAREHOUSE_PATH": "warehouse.duckdb"})
    home = tmp_path / "home"
    target = home / "dbt_target"
    target.mkdir(parents=True)
    shutil.copy(saved / "partial_parse.msgpack", target)  # as dagster-dbt copies it
    log = _dbt(
        "nrr-dbt",
        target,
        {
            "DAGSTER_DBT_CLI": "true",
            "NRR_WAREHOUSE_PATH": str(home / "warehouse.duckdb"),
            "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        },
    )
    assert FULL_PARSE not in log
    assert "Partial parsing enabled" in log
