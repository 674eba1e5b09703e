"""The adapter registry (pipeline/adapters.py) against the adapters' dbt project and the docs:
each declared once, the others derived or checked here."""

from pathlib import Path

import pytest
import yaml

from pipeline.adapters import (
    ADAPTERS,
    ADAPTERS_PROJECT_DIR,
    AdapterError,
    chosen_tables,
    dbt_switches,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sources.md"


def test_every_output_model_and_source_table_exists_in_the_dbt_project():
    for adapter in ADAPTERS.values():
        folder = ADAPTERS_PROJECT_DIR / "models" / adapter.name
        for model in adapter.outputs.values():
            assert (folder / f"{model}.sql").exists(), model
        sources = yaml.safe_load(next(folder.glob("_*__sources.yml")).read_text())["sources"]
        declared = {table["name"] for table in sources[0]["tables"]}
        assert {table.name for table in adapter.tables} == declared, adapter.name


def test_the_docs_describe_every_source_and_every_setting():
    text = DOCS.read_text()
    project = yaml.safe_load((ADAPTERS_PROJECT_DIR / "dbt_project.yml").read_text())
    for adapter in ADAPTERS.values():
        assert f"| `{adapter.name}` |" in text, adapter.name
    for var in project["vars"]:
        assert f"`{var}`" in text or var.endswith("_schema"), var
    project_vars = set(project["vars"])
    for adapter in ADAPTERS.values():
        assert set(adapter.switches) <= project_vars
        assert set(adapter.column_vars) <= project_vars


def test_the_first_alternative_present_is_read_and_switches_follow(tmp_path):
    stripe = ADAPTERS["stripe"]
    names = ("subscription", "subscription_item", "plan", "price", "product", "customer", "coupon")
    files = {name: tmp_path / f"{name}.csv" for name in names}
    tables = chosen_tables(stripe, files, tmp_path)
    # price before plan (plan is not read); coupon without subscription_discount is read but
    # does not turn discounts on.
    assert tables == ["subscription", "subscription_item", "price", "product", "customer", "coupon"]
    assert dbt_switches(stripe, tables) == {
        "stripe_using_subscription_history": False,
        "stripe_using_price": True,
        "stripe_using_discounts": False,
        "stripe_using_usage_records": False,
    }
    del files["customer"]
    with pytest.raises(AdapterError, match=r"customer.csv/.parquet is missing"):
        chosen_tables(stripe, files, tmp_path)
