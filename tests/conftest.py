"""Shared fixtures: a small generated delivery and a pipeline home per test module."""

import os
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

from pipeline.generate import GenerateOptions, generate  # noqa: E402
from tests.shared_runs import copy_run, run_once  # noqa: E402

SAMPLE_AS_OF = date(2026, 9, 30)


def pytest_collection_modifyitems(items):
    """The slow tests first: with two workers (make test) the longest file starts at once
    and the others share the second worker, instead of starting it last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
