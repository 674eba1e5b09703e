"""Shared fixtures: a small generated delivery and a pipeline home per test module."""

import os
from datetime import date

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

from pipeline.generate import GenerateOptions, generate  # noqa: E402

SAMPLE_AS_OF = date(2026, 9, 30)


def pytest_collection_modifyitems(items):
    """The slow tests first: with two workers (make test) the longest file starts at once
    and the others share the second worker, instead of starting it last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def sample_extracts(tmp_path_factory):
    """A 150-customer, 3-year delivery (with the generator's few broken rows)."""
    root = tmp_path_factory.mktemp("extracts")
    generate(GenerateOptions(out=root, customers=150, seed=11, as_of=SAMPLE_AS_OF))
    return root


@pytest.fixture(scope="session")
def sample_home(sample_extracts, tmp_path_factory):
    """A home that has run the sample delivery once (its warehouse holds every dbt model)."""
    from pipeline.cli import EXIT_OK, main

    home = tmp_path_factory.mktemp("sample-home") / "home"
    assert main(["run", "--extracts", str(sample_extracts), "--home", str(home)]) == EXIT_OK
    return home
