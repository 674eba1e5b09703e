"""Shared fixtures: a small generated delivery and a pipeline home per test module."""

import os
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

from pipeline.generate import GenerateOptions, generate  # noqa: E402
from tests.shared_runs import copy_run, run_once  # noqa: E402

SAMPLE_AS_OF = date(2026, 9, 30)


# The files that take longest (they run the whole job several times), longest first, as
# measured with `make test` (pytest --durations). The rest follow in the order pytest collects.
LONGEST_FIRST = (
    "reliability/test_crash_recovery.py",
    "integration/test_published_report.py",
    "integration/test_monthly_grain.py",
    "integration/test_reliability_basics.py",
    "integration/test_gate_cases.py",
    "integration/test_hostile_nights.py",
    "integration/test_quarantine_in_dbt.py",
    "integration/test_movement_dbt_tests.py",
    "integration/test_report_row_counts.py",
    "integration/test_finance_outputs.py",
    "reliability/test_edge_numbers.py",
    "integration/test_infra_failures.py",
    "integration/test_dbt_unit_tests.py",
    "unit/test_validation.py",
    "integration/test_dbt_startup.py",
)


def _file_rank(item) -> tuple[bool, int]:
    relative = item.path.relative_to(Path(__file__).parent).as_posix()
    known = LONGEST_FIRST.index(relative) if relative in LONGEST_FIRST else len(LONGEST_FIRST)
    return item.get_closest_marker("slow") is None, known


def pytest_collection_modifyitems(items):
    """The slow tests, then the longest files, first: with a worker per file at a time
    (make test: --dist loadfile) the longest files start at once and the short ones fill in
    around them, instead of one long file starting last. Whole files move (each file's tests
    keep their order: module fixtures and the nights a module runs in turn depend on it)."""
    ranks = {}
    for item in items:
        ranks[item.path] = min(ranks.get(item.path, _file_rank(item)), _file_rank(item))
    items.sort(key=lambda item: ranks[item.path])


def pytest_configure(config):
    """pytest-xdist hands out the files with the most tests first unless told not to
    (--no-loadscope-reorder), which put the one-test crash chain, the longest file, last:
    keep the order above."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.fixture(scope="session")
def sample_extracts(tmp_path_factory):
    """A 150-customer, 3-year delivery (with the generator's few broken rows)."""
    root = tmp_path_factory.mktemp("extracts")
    write_sample_delivery(root)
    return root


def write_sample_delivery(extracts: Path) -> None:
    generate(GenerateOptions(out=extracts, customers=150, seed=11, as_of=SAMPLE_AS_OF))


@pytest.fixture(scope="session")
def sample_once(tmp_path_factory) -> tuple[Path, int]:
    """The sample delivery run once in a fresh home, for the whole session (run_once)."""
    return run_once(tmp_path_factory, "sample", write_sample_delivery)


@pytest.fixture(scope="session")
def sample_home(sample_once, tmp_path_factory):
    """A home that has run the sample delivery once (its warehouse holds every dbt model)."""
    from pipeline.cli import EXIT_OK

    root, code = sample_once
    assert code == EXIT_OK
    return copy_run(root, tmp_path_factory.mktemp("sample-home")) / "home"


@pytest.fixture(scope="session")
def crafted_once(tmp_path_factory) -> tuple[Path, int]:
    """The crafted delivery (tests/integration/crafted.py, 2026-09-30) run once in a fresh
    home, for the whole session (run_once)."""
    from tests.integration.crafted import write_crafted_delivery

    return run_once(tmp_path_factory, "crafted", write_crafted_delivery)
