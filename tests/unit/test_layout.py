"""The pure core imports no Dagster: only the wiring (pipeline/defs, definitions.py) and the
CLI that runs the job do, so every rule can be tested and reused without it."""

import ast
from pathlib import Path

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"
WIRING = {"definitions.py", "cli.py"}


def _imports_dagster(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] in ("dagster", "dagster_dbt") for name in names):
            return True
    return False


def test_only_the_wiring_imports_dagster():
    importers = {
        str(path.relative_to(PIPELINE)) for path in PIPELINE.rglob("*.py") if _imports_dagster(path)
    }
    outside = {p for p in importers if not p.startswith("defs/") and p not in WIRING}
    assert outside == set()
    assert "defs/landing.py" in importers  # the check sees real imports
