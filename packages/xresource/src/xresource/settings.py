"""Per-type defaults from Dynaconf: the ``[resources.<type>]`` sections under prefix ``XRESOURCE``.

    # settings.toml
    [default.resources.postgresql]
    pool_max_size = 20
    command_timeout = 30

    # .secrets.toml
    [default.resources.postgresql]
    password = "..."

A key may also carry the spec's ``default_`` prefix (``default_pool_size``); keys that match no
parameter of the type are an error that lists the valid ones, so a typo never goes unnoticed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xobj_prototype import read_settings
from xresource.errors import XResourceConfigurationError

if TYPE_CHECKING:
    from xresource.base import XResource

__all__ = ["ENV_PREFIX", "ResourceSettingsStore"]

ENV_PREFIX = "XRESOURCE"


class ResourceSettingsStore:
    """Lazily read settings; ``configure`` replaces them (tests, applications with own files)."""

    def __init__(self) -> None:
        self._data: dict[str, Any] | None = None

    def configure(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        settings_files: Sequence[str | os.PathLike[str]] | None = None,
        root: str | os.PathLike[str] | None = None,
        environment: str | None = None,
    ) -> None:
        """Use ``settings`` (a mapping like the files' content) or re-read the given files."""
        if settings is not None:
            self._data = {str(k).lower(): v for k, v in settings.items()}
        else:
            self._data = read_settings(
                ENV_PREFIX, settings_files=settings_files, root=root, environment=environment
            )

    def reset(self) -> None:
        """Forget loaded settings: the next use reads the files again."""
        self._data = None

    def section(self, resource_type: str) -> dict[str, Any]:
        if self._data is None:
            self.configure(settings_files=None)
        assert self._data is not None
        resources = self._data.get("resources", {}) or {}
        section = resources.get(resource_type, {}) or {}
        return {str(k).lower(): v for k, v in section.items()}

    def defaults_for(self, resource_class: type[XResource]) -> dict[str, Any]:
        """The settings defaults for ``resource_class``, keys mapped onto its fields."""
        raw = self.section(resource_class.resource_type)
        fields = resource_class.model_fields
        out: dict[str, Any] = {}
        unknown = []
        for key, value in raw.items():
            name = key.removeprefix("default_")
            if name in fields:
                out[name] = value
            elif key in fields:
                out[key] = value
            else:
                unknown.append(key)
        if unknown:
            raise XResourceConfigurationError(
                f"settings [resources.{resource_class.resource_type}] has unknown keys "
                f"{', '.join(sorted(unknown))}; valid keys: {', '.join(sorted(fields))}",
                operation="configure",
            )
        return out
