"""Per-type defaults from Dynaconf: the ``[resources.<type>]`` sections under prefix ``XRESOURCE``.

The specification's own file works as written (``settings.toml`` in the working directory is read
the first time a resource is created; ``ResourceFactory.settings.configure(settings_files=[...])``
names another)::

    [resources.mongodb]
    default_connection_string = "mongodb://localhost:27017"
    default_pool_size = 10          # the pool's maximum (pool_max_size)
    connection_timeout = 5000       # milliseconds (connect_timeout = 5.0 seconds)

    [resources.csv]
    default_encoding = "utf-8"
    default_delimiter = ","

    [resources.api]                 # the rest type; [resources.rest] works too
    default_timeout = 30            # seconds per request ("timeout" is accepted too)
    retry_attempts = 3              # retries after the first attempt (max_retries)

Files may also be split into environments (``[default.resources.postgresql]``,
``[production.resources.postgresql]``), secrets kept in ``.secrets.toml``, and any value set by an
environment variable (``XRESOURCE_RESOURCES__API__RETRY_ATTEMPTS=5``).

A key may carry the spec's ``default_`` prefix (``default_pool_size``) and may be any spelling the
type accepts in code (its fields and :attr:`~xresource.base.XResource.parameter_aliases`). Keys
that match no parameter of the type are an error that lists the valid ones, so a typo never goes
unnoticed; so is a parameter set twice (``timeout`` and ``default_timeout``). Values given in
code always win over the settings.
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
        """The raw ``[resources.<resource_type>]`` table (keys lower-cased; empty when absent)."""
        if self._data is None:
            self.configure(settings_files=None)
        assert self._data is not None
        resources = self._data.get("resources", {}) or {}
        if not isinstance(resources, Mapping):
            raise XResourceConfigurationError(
                "settings 'resources' must be a table of [resources.<type>] sections, got a "
                f"single {type(resources).__name__}",
                operation="configure",
            )
        section = resources.get(resource_type.lower(), {}) or {}
        if not isinstance(section, Mapping):
            raise XResourceConfigurationError(
                f"settings [resources.{resource_type}] must be a table of keys, got a single "
                f"{type(section).__name__}",
                operation="configure",
            )
        return {str(k).lower(): v for k, v in section.items()}

    def defaults_for(
        self, resource_class: type[XResource], section_names: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The settings defaults for ``resource_class``, keys mapped onto its fields.

        Read from ``[resources.<resource_type>]`` and from the sections named ``section_names``
        (the type's aliases, e.g. ``api`` for ``rest``). A key may carry the ``default_``
        prefix and may be one of the class's :attr:`~xresource.base.XResource.parameter_aliases`
        (``connection_timeout`` in milliseconds -> ``connect_timeout`` in seconds).

        Raises:
            XResourceConfigurationError: a key matches no parameter (the message lists the valid
                ones), or two keys (in one section or in two sections of the same type) set the
                same parameter.
        """
        fields = resource_class.model_fields
        aliases = resource_class.all_parameter_aliases()
        names = [resource_class.resource_type, *section_names]
        out: dict[str, Any] = {}
        origin: dict[str, str] = {}
        unknown: dict[str, list[str]] = {}
        for section_name in dict.fromkeys(n.lower() for n in names):
            for key, value in self.section(section_name).items():
                where = f"[resources.{section_name}] {key}"
                name = key.removeprefix("default_")
                if name not in fields and name not in aliases:
                    name = key  # a field whose own name starts with "default_"
                if name not in fields and name not in aliases:
                    unknown.setdefault(section_name, []).append(key)
                    continue
                try:
                    canonical = resource_class.canonical_params({name: value})
                except ValueError as exc:
                    raise XResourceConfigurationError(
                        f"settings {where}: {exc}", operation="configure"
                    ) from None
                ((field, converted),) = canonical.items()
                if field in out:
                    raise XResourceConfigurationError(
                        f"settings {origin[field]} and {where} both set "
                        f"{resource_class.resource_type} parameter {field}; keep one of them",
                        operation="configure",
                    )
                out[field] = converted
                origin[field] = where
        if unknown:
            hidden = {"metadata"} | (
                set() if resource_class.accepts_connection_params else {"connection_params"}
            )
            valid = sorted({*fields, *aliases} - hidden)
            found = "; ".join(
                f"[resources.{section}] has unknown keys {', '.join(sorted(keys))}"
                for section, keys in unknown.items()
            )
            raise XResourceConfigurationError(
                f"settings {found}; valid keys (each may carry a default_ prefix) for "
                f"{resource_class.resource_type} resources: {', '.join(valid)}",
                operation="configure",
            )
        return out
