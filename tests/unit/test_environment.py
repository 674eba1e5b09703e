"""The runtime environment holds no pyspark: Great Expectations imports it whenever it is
installed, and then every check run from the Dagster UI failed (SystemExit: 0). The Spark
equivalence test has its own environment (.venv-spark, make test-spark)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    sys.prefix.endswith(".venv-spark"), reason="the Spark test's own environment holds pyspark"
)


def test_a_check_step_has_no_pyspark_to_import():
    """Great Expectations imported as a check step imports it (pipeline.validation), in a
    fresh process as a run launched from the UI is: pyspark cannot be imported, and was not."""
    code = (
        "import importlib.util, sys\n"
        "from pipeline.validation import import_great_expectations\n"
        "gx = import_great_expectations()\n"
        "gx.get_context(mode='ephemeral')\n"
        "print(importlib.util.find_spec('pyspark') is None)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip().splitlines()[-2:] == ["True", "[]"]
