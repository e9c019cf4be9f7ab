"""``ResourceFactory``: create any resource by type name or URL.

Built-in types are registered by import path and imported on first use, so a core install never
imports a driver it does not have. Third-party packages add types through the entry point group
``xresource.resources`` (``name = "package.module:ResourceClass"``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import PurePath
from typing import Any, ClassVar

from pydantic import ValidationError

from xobj_prototype import XValidationError
from xresource.base import XResource
from xresource.errors import XResourceConfigurationError, XResourceUnknownTypeError
from xresource.settings import ResourceSettingsStore
from xresource.url import ParsedURL, parse_url

__all__ = ["ENTRY_POINT_GROUP", "ResourceFactory"]

ENTRY_POINT_GROUP = "xresource.resources"

_BUILTIN: dict[str, str] = {
    "csv": "xresource.files.csv:CSVResource",
    "excel": "xresource.files.excel:ExcelResource",
    "json": "xresource.files.json:JSONResource",
    "parquet": "xresource.files.parquet:ParquetResource",
    "yaml": "xresource.files.yaml:YAMLResource",
    "sqlite": "xresource.databases.sqlite:SQLiteResource",
    "duckdb": "xresource.databases.duckdb:DuckDBResource",
    "postgresql": "xresource.databases.postgres:PostgreSQLResource",
    "mysql": "xresource.databases.mysql:MySQLResource",
    "mongodb": "xresource.databases.mongodb:MongoDBResource",
    "rest": "xresource.network.rest:RESTResource",
    "websocket": "xresource.streams.websocket:WebSocketResource",
    "sse": "xresource.streams.sse:SSEResource",
    "redis": "xresource.streams.redis:RedisPubSubResource",
    "kafka": "xresource.streams.kafka:KafkaResource",
    "rabbitmq": "xresource.streams.rabbitmq:RabbitMQResource",
    "mqtt": "xresource.streams.mqtt:MQTTResource",
}
_ALIASES = {
    "postgres": "postgresql",
    "pg": "postgresql",
    "mariadb": "mysql",
    "mongo": "mongodb",
    "api": "rest",
    "rest_api": "rest",
    "http": "rest",
    "xlsx": "excel",
    "yml": "yaml",
    "jsonl": "json",
    "ndjson": "json",
    "ws": "websocket",
    "amqp": "rabbitmq",
    "redis_pubsub": "redis",
}
_SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+asyncpg": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+aiomysql": "mysql",
    "mongodb": "mongodb",
    "mongodb+srv": "mongodb",
    "sqlite": "sqlite",
    "sqlite+aiosqlite": "sqlite",
    "duckdb": "duckdb",
    "http": "rest",
    "https": "rest",
    "sse+http": "sse",
    "sse+https": "sse",
    "ws": "websocket",
    "wss": "websocket",
    "redis": "redis",
    "rediss": "redis",
    "kafka": "kafka",
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
}
_FILE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".duckdb": "duckdb",
}


class ResourceFactory:
    """Create resources by type name (``create``) or URL (``from_url``).

    Examples:
        >>> r = ResourceFactory.from_url("sqlite:///:memory:")
        >>> r.resource_type
        'sqlite'
    """

    _registry: ClassVar[dict[str, type[XResource] | str]] = dict(_BUILTIN)
    _entry_points_loaded: ClassVar[bool] = False
    settings: ClassVar[ResourceSettingsStore] = ResourceSettingsStore()

    @classmethod
    def register(
        cls, resource_type: str, resource_class: type[XResource], *, override: bool = False
    ) -> None:
        """Register ``resource_class`` under ``resource_type``; a taken name needs ``override``.

        Registering the same class under its name again does nothing. ``resource_class`` must be
        a concrete :class:`XResource` subclass: one that overrides ``connect``/``disconnect``
        (the specification's plugins) or ``_connect``/``_disconnect``, and implements
        ``validate_connection`` and ``list_collections_or_tables``.

        Raises:
            XResourceConfigurationError: the name is not an identifier, the class is not a
                concrete resource, or the name is taken by another class and ``override`` is
                false.
        """
        if not isinstance(resource_type, str) or not resource_type.isidentifier():
            raise XResourceConfigurationError(
                f"resource type name must be an identifier, got {resource_type!r}",
                operation="register",
            )
        if not (isinstance(resource_class, type) and issubclass(resource_class, XResource)):
            raise XResourceConfigurationError(
                f"{resource_class!r} is not an XResource subclass", operation="register"
            )
        missing = sorted(getattr(resource_class, "__abstractmethods__", ()))
        if missing:
            raise XResourceConfigurationError(
                f"{resource_class.__name__} cannot be registered as {resource_type!r}: it does "
                f"not implement {', '.join(missing)} (a resource implements connect, disconnect, "
                "validate_connection and list_collections_or_tables)",
                operation="register",
            )
        key = resource_type.lower()
        existing = cls._registry.get(key)
        if existing is not None and existing is not resource_class and not override:
            raise XResourceConfigurationError(
                f"resource type {key!r} is already registered; pass override=True to replace it",
                operation="register",
            )
        cls._registry[key] = resource_class

    @classmethod
    def known_types(cls) -> list[str]:
        """Every registered type name (built-in, registered and from entry points)."""
        cls._load_entry_points()
        return sorted(cls._registry)

    @classmethod
    def resolve(cls, resource_type: str) -> type[XResource]:
        """The class registered for ``resource_type`` (aliases such as ``postgres`` accepted)."""
        cls._load_entry_points()
        key = str(resource_type).lower()
        key = _ALIASES.get(key, key)
        target = cls._registry.get(key)
        if target is None:
            raise XResourceUnknownTypeError(
                f"unknown resource type {resource_type!r}; known types: "
                f"{', '.join(cls.known_types())}",
                operation="create",
            )
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            try:
                target = getattr(importlib.import_module(module_name), attr)
            except ImportError as exc:
                extra = {
                    "postgresql": "postgres",
                    "mongodb": "mongodb",
                    "mysql": "mysql",
                    "excel": "excel",
                    "yaml": "yaml",
                    "rest": "rest",
                    "duckdb": "duckdb",
                    "parquet": "duckdb",
                }.get(key, key)
                raise XResourceConfigurationError(
                    f"resource type {key!r} needs a driver that is not installed ({exc.name}); "
                    f"install it with: pip install 'xresource[{extra}]'",
                    operation="create",
                ) from exc
            cls._registry[key] = target
        assert isinstance(target, type)
        return target

    @classmethod
    def section_names(cls, resource_class: type[XResource]) -> list[str]:
        """Settings sections read for ``resource_class``: its type and that type's aliases
        (``[resources.rest]`` and ``[resources.api]``, ``[resources.rest_api]``...)."""
        own = resource_class.resource_type.lower()
        names = [own]
        names += [name for name, target in cls._registry.items() if target is resource_class]
        names += [alias for alias, target in _ALIASES.items() if target in names]
        return list(dict.fromkeys(names))

    @classmethod
    def create(cls, resource_type: str, **kwargs: Any) -> XResource:
        """Create a resource of ``resource_type``; settings defaults apply under ``kwargs``.

        A parameter given here wins over the settings' value, whichever spelling either uses
        (``max_pool_size=5`` here beats ``default_pool_size = 10`` in ``settings.toml``).
        """
        resource_class = cls.resolve(resource_type)
        defaults = cls.settings.defaults_for(resource_class, cls.section_names(resource_class))
        return cls._build(resource_class, defaults, kwargs)

    @classmethod
    def from_url(cls, url: str, *, resource_type: str | None = None, **kwargs: Any) -> XResource:
        """Create a resource from a URL; the scheme (or a file's suffix) picks the type.

        ``resource_type`` overrides the choice, e.g. ``"sse"`` for an ``https://`` event stream.
        """
        parsed = parse_url(url)
        type_name = resource_type or cls._type_for(parsed)
        resource_class = cls.resolve(type_name)
        defaults = cls.settings.defaults_for(resource_class, cls.section_names(resource_class))
        try:
            params = resource_class.params_from_url(parsed)
        except XResourceConfigurationError:
            raise
        except (ValueError, TypeError) as exc:
            raise XResourceConfigurationError(
                f"cannot read {parsed.redacted!r} as a {type_name} URL: {exc}", operation="from_url"
            ) from None
        return cls._build(resource_class, defaults, params, kwargs)

    # -- internals ----------------------------------------------------------------------------
    @classmethod
    def _type_for(cls, parsed: ParsedURL) -> str:
        if parsed.scheme == "file":
            suffix = PurePath(parsed.path).suffix.lower()
            if suffix not in _FILE_SUFFIXES:
                raise XResourceConfigurationError(
                    f"cannot tell the file type of {parsed.path!r} from its suffix; known "
                    f"suffixes: {', '.join(sorted(_FILE_SUFFIXES))}; pass resource_type=...",
                    operation="from_url",
                )
            return _FILE_SUFFIXES[suffix]
        if parsed.scheme not in _SCHEMES:
            raise XResourceConfigurationError(
                f"unknown URL scheme {parsed.scheme!r} in {parsed.redacted!r}; known schemes: "
                f"{', '.join(sorted(_SCHEMES))}, file",
                operation="from_url",
            )
        return _SCHEMES[parsed.scheme]

    @classmethod
    def _build(cls, resource_class: type[XResource], *layers: Mapping[str, Any]) -> XResource:
        """Build from parameter ``layers``, later ones winning (settings, URL, keywords).

        Each layer is put in canonical names first, so that a value the caller gives under one
        spelling replaces the settings' value under another instead of clashing with it.
        """
        subject = f"{resource_class.resource_type} resource parameters"
        params: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        try:
            for layer in layers:
                params.update(resource_class.canonical_params(layer, given_as=given_as))
        except ValueError as exc:
            raise XResourceConfigurationError(
                f"invalid {subject}: {exc}", operation="create"
            ) from None
        try:
            return resource_class(**params)
        except ValidationError as exc:
            err = XValidationError.from_pydantic(exc, subject=subject)
            message = err.message
            for field, alias in given_as.items():
                # Name the parameter as the caller wrote it, not only its canonical field.
                message = re.sub(rf"\b{re.escape(field)}\b", f"{field} (given as {alias})", message)
            raise XResourceConfigurationError(
                message, operation="create", details={"errors": err.errors}
            ) from None

    @classmethod
    def _load_entry_points(cls) -> None:
        if cls._entry_points_loaded:
            return
        cls._entry_points_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            cls._registry.setdefault(ep.name.lower(), ep.value)
