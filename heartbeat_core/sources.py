"""Where configuration comes from, as pydantic-settings sources: the environment and the file.

``heartbeat_core.config.load_settings`` layers them under the flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource
from pydantic_settings.sources.utils import parse_env_vars


class ConfigError(ValueError):
    """A configuration that cannot be used; one line per bad location."""

    @classmethod
    def of(cls, exc: ValidationError) -> ConfigError:
        return cls("\n".join(_describe(error) for error in exc.errors()))


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}"


class Environment(EnvSettingsSource):
    """``HEARTBEAT_*`` variables of a given mapping (tests pass their own), shaped like the file."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = parse_env_vars(
            environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class FileValues(PydanticBaseSettingsSource):
    """The configuration file's keys, already read (``read_file`` words its errors for people)."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self.values = dict(values)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self.values


def read_file(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return loaded
