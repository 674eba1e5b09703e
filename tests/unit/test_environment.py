"""The runtime environment holds no pyspark: Great Expectations imports it whenever it is
installed, and then every check run from the Dagster UI failed (SystemExit: 0). The Spark
equivalence test has its own environment (.venv-spark, make test-spark)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    sys.prefix.endswith(".venv-spark"), reason="the Spark test's own environment holds pyspark"
)


def test_a_check_step_has_no_pyspark_to_import(tmp_path):
    """What a check step does (pipeline.validation's runner validating a frame), in a fresh
    process as a run launched from the UI is: pyspark cannot be imported, and was not."""
    code = (
        "import importlib.util, sys, pandas as pd\n"
        "from pathlib import Path\n"
        "from pipeline.validation import suite_runner\n"
        f"runner = suite_runner(Path({str(tmp_path)!r}))\n"
        "frame = pd.DataFrame({'rate_date': ['2026-09-30'], 'currency': ['EUR'],"
        " 'rate_to_reporting': ['1.10']})\n"
        "runner.validate('raw__fx_rates', frame)\n"
        "print(importlib.util.find_spec('pyspark') is None)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip().splitlines()[-2:] == ["True", "[]"]
