"""Configuration: one ``strata.toml`` with a section per server, plus ``STRATA_*`` environment variables.

Precedence, highest first: command-line flag (passed as init kwargs) > ``STRATA_<SERVER>_<NAME>``
environment variable > project ``strata.toml`` > user ``strata.toml`` > default.

The project file is ``$STRATA_CONFIG`` if set, else ``./strata.toml``. The user file is
``<user dir>/strata.toml`` where the user dir is ``$STRATA_HOME`` or ``~/.config/strata``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from strata.shared.errors import ConfigError

__all__ = ["ServerSettings", "config_files", "load_config_section", "user_dir"]

CONFIG_FILENAME = "strata.toml"


def user_dir() -> Path:
    """The one per-user Strata directory (config, caches); ``$STRATA_HOME`` overrides it."""
    home = os.environ.get("STRATA_HOME")
    return Path(home).expanduser() if home else Path.home() / ".config" / "strata"


def config_files() -> list[Path]:
    """Config files that exist, lowest precedence first: the user file, then the project file."""
    project = os.environ.get("STRATA_CONFIG")
    candidates = [user_dir() / CONFIG_FILENAME, Path(project) if project else Path.cwd() / CONFIG_FILENAME]
    seen: list[Path] = []
    for path in candidates:
        if path.is_file() and path.resolve() not in {p.resolve() for p in seen}:
            seen.append(path)
    return seen


def load_config_section(section: str, files: list[Path] | None = None) -> dict[str, Any]:
    """Merge one ``[section]`` table from every config file; later files override earlier keys."""
    merged: dict[str, Any] = {}
    for path in config_files() if files is None else files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] in {path} must be a table, got {type(table).__name__}")
        merged = _deep_merge(merged, table)
    return merged


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _TomlSectionSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], section: str) -> None:
        super().__init__(settings_cls)
        self._data = load_config_section(section) if section else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class ServerSettings(BaseSettings):
    """Base for each server's settings: set ``section`` and ``env_prefix`` in the subclass."""

    section: ClassVar[str] = ""
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__", validate_default=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSectionSource(settings_cls, cls.section))
