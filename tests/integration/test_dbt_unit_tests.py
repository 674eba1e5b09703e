"""dbt's own unit tests (movement rules, motions, FX, hierarchy, fiscal calendar).

They need the upstream relations to exist, so they run against a warehouse the nightly job
has just built.
"""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipeline.dbt_project import DBT_PROJECT_DIR, dbt_vars
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_every_dbt_unit_test_passes(sample_home, tmp_path):
    home = sample_home
    dbt = Path(sys.executable).parent / "dbt"
    completed = subprocess.run(
        [
            str(dbt),
            "test",
            "--select",
            "test_type:unit",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            # Explicit vars: NRR_DBT_* left in this process by an earlier job must not leak in.
            json.dumps(dbt_vars(Settings(), date(2026, 9, 30))),
        ],
        env={**os.environ, "NRR_WAREHOUSE_PATH": str(home / "warehouse.duckdb")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    summary = [line for line in completed.stdout.splitlines() if "Done. PASS=" in line]
    assert summary and "PASS=48" in summary[0] and "ERROR=0" in summary[0], summary
