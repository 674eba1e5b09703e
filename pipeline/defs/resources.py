"""The Dagster resource `nrr`: the run settings (the warehouse itself is pipeline.warehouse)."""

import dataclasses
from pathlib import Path
from typing import get_type_hints

import dagster as dg
import pydantic

from pipeline.locking import acquire_home_lock, release_home_lock
from pipeline.settings import Settings, settings_from_record


class _SettingsResource(dg.ConfigurableResource):
    """The run settings as the Dagster resource `nrr`: its fields are Settings' fields
    (generated below), so a new setting is a Settings field and nothing else."""

    @classmethod
    def from_settings(cls, settings: Settings) -> "NrrSettingsResource":
        record = settings.as_record()
        return cls(**{name: _config_value(name, value) for name, value in record.items()})

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Hold the home's run lock for the whole run: DuckDB has one writer per file."""
        acquire_home_lock(Path(self.home))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        release_home_lock(Path(self.home))

    def settings(self) -> Settings:
        return settings_from_record(self.model_dump())


_SETTINGS_TYPES = get_type_hints(Settings)


def _config_type(name: str) -> type:
    """Dagster config carries int and str: other settings (paths, amounts, dates) as text."""
    hint = _SETTINGS_TYPES[name]
    return hint if hint in (int, str) else str


def _config_value(name: str, text: str) -> int | str:
    return int(text) if _config_type(name) is int else text


def _config_default(field: dataclasses.Field) -> object:
    if isinstance(field.default, Path):
        return ...  # a run names its extracts folder and its home
    if field.default is None:
        return ""
    return field.default if _config_type(field.name) is type(field.default) else str(field.default)


NrrSettingsResource = pydantic.create_model(
    "NrrSettingsResource",
    __base__=_SettingsResource,
    __module__=__name__,
    **{
        field.name: (_config_type(field.name), _config_default(field))
        for field in dataclasses.fields(Settings)
    },
)
