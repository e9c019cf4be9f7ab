"""Model versions: evolution records, version numbers, migration hooks and bounded history.

A model's schema changes are computed on the schema dict format every package exchanges
(``{"fields": {name: {"type", "required", "nullable", ...}}}``) with ``xinspector``'s schema diff,
so a change found by the registry reads the same as one found by the inspector.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xregistry._shared import utc_now
from xregistry.errors import RegistryNotFoundError, RegistryValidationError

__all__ = [
    "BREAKING_CHANGES",
    "MigrationHook",
    "MigrationRegistry",
    "ModelEvolution",
    "ModelVersion",
    "bump_version",
    "fingerprint",
    "next_version",
    "parse_version",
    "schema_of",
]

MigrationHook = Callable[[dict[str, Any]], dict[str, Any]]
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
#: Change kinds that always break existing records (a major version bump); others say so through
#: their ``breaking`` flag (an added required field, a narrowed type...).
BREAKING_CHANGES = frozenset(
    {
        "field_removed",
        "type_changed",
        "type_narrowed",
        "nullability_narrowed",
        "required_added",
        "primary_key_changed",
    }
)
#: Change kinds that add to a model without breaking it (a minor version bump).
ADDITIVE_CHANGES = frozenset(
    {
        "field_added",
        "type_widened",
        "nullability_widened",
        "required_removed",
        "constraint_widened",
        "index_added",
    }
)


class ModelEvolution(BaseModel):
    """One step of a model's history: from which version to which, and what changed."""

    model_name: str
    from_version: str
    to_version: str
    changes: list[dict[str, Any]] = Field(default_factory=list)
    migration_script: str | None = None
    has_migration: bool = False
    applied_at: datetime = Field(default_factory=utc_now)
    applied_by: str = "system"


class ModelVersion(BaseModel):
    """A version of a model as it was registered: number, schema and the class itself."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    version: str
    json_schema: dict[str, Any]
    fields_schema: dict[str, Any]
    model_class: type[BaseModel] = Field(exclude=True)
    recorded_at: datetime = Field(default_factory=utc_now)
    #: What made this version: ``code``, ``api``, ``discovery`` or ``drift``.
    source: str = "code"
    #: The changes from the previous version (:func:`diff_fields`), empty for the first one.
    changes: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """The hash of the schema snapshot (:func:`fingerprint`)."""
        return fingerprint(self.fields_schema)


def fingerprint(fields_schema: Mapping[str, Any]) -> str:
    """A stable hash of a schema dict: equal schemas, equal fingerprints, whatever the key order.

    >>> a = {"fields": {"a": {"type": "int", "required": True}}}
    >>> fingerprint(a) == fingerprint({"fields": {"a": {"required": True, "type": "int"}}})
    True
    """
    text = json.dumps(fields_schema, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_version(version: str) -> tuple[int, int, int]:
    """``"1.2.3"`` -> ``(1, 2, 3)``.

    Raises:
        RegistryValidationError: not ``MAJOR.MINOR.PATCH``.
    """
    match = _VERSION.match(version) if isinstance(version, str) else None
    if not match:
        raise RegistryValidationError(
            f"model version {version!r} is not MAJOR.MINOR.PATCH (e.g. '2.0.0')"
        )
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch)


def bump_version(version: str, part: str = "minor") -> str:
    """The next ``major``, ``minor`` or ``patch`` version.

    >>> bump_version("1.4.2", "major"), bump_version("1.4.2"), bump_version("1.4.2", "patch")
    ('2.0.0', '1.5.0', '1.4.3')
    """
    major, minor, patch = parse_version(version)
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if part == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise RegistryValidationError(f"version part must be major, minor or patch, not {part!r}")


def next_version(version: str, changes: list[dict[str, Any]]) -> str:
    """Major for breaking changes (removed fields, changed or narrowed types, added required
    fields...), minor for additive ones (optional fields, widened types), patch otherwise."""
    kinds = {c.get("change") or c.get("type") for c in changes}
    breaking = any(c.get("breaking") for c in changes) or bool(kinds & BREAKING_CHANGES)
    if breaking:
        return bump_version(version, "major")
    if kinds & ADDITIVE_CHANGES:
        return bump_version(version, "minor")
    return bump_version(version, "patch")


class MigrationRegistry:
    """Hooks that turn a record of one model version into the next one.

    Examples:
        >>> hooks = MigrationRegistry()
        >>> hooks.register("User", "1.0.0", "2.0.0", lambda r: {**r, "active": True})
        >>> hooks.migrate("User", {"name": "Ada"}, "1.0.0", "2.0.0")
        {'name': 'Ada', 'active': True}
    """

    def __init__(self) -> None:
        self._hooks: dict[str, dict[str, tuple[str, MigrationHook]]] = {}

    def register(
        self, model_name: str, from_version: str, to_version: str, hook: MigrationHook
    ) -> None:
        """Add the hook from ``from_version`` to ``to_version`` (one hook per starting version)."""
        if parse_version(to_version) <= parse_version(from_version):
            raise RegistryValidationError(
                f"a migration of {model_name} must go forward, not {from_version} -> {to_version}"
            )
        if not callable(hook):
            raise RegistryValidationError(f"migration hook of {model_name} must be callable")
        self._hooks.setdefault(model_name, {})[from_version] = (to_version, hook)

    def path(self, model_name: str, from_version: str, to_version: str) -> list[tuple[str, str]]:
        """The ``(from, to)`` steps between two versions.

        Raises:
            RegistryNotFoundError: no chain of hooks leads there.
        """
        steps: list[tuple[str, str]] = []
        hooks = self._hooks.get(model_name, {})
        current = from_version
        while current != to_version:
            if current not in hooks or len(steps) > len(hooks):
                raise RegistryNotFoundError(
                    f"no migration of {model_name} leads from {current} to {to_version}; "
                    "register one with register_migration(...)",
                    details={"model": model_name, "from": current, "to": to_version},
                )
            nxt = hooks[current][0]
            steps.append((current, nxt))
            current = nxt
        return steps

    def migrate(
        self, model_name: str, record: Mapping[str, Any], from_version: str, to_version: str
    ) -> dict[str, Any]:
        """Apply the hooks between two versions to a copy of ``record``."""
        data = dict(record)
        for start, end in self.path(model_name, from_version, to_version):
            hook = self._hooks[model_name][start][1]
            try:
                data = hook(dict(data))
            except Exception as exc:
                raise RegistryValidationError(
                    f"migration of {model_name} from {start} to {end} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(data, dict):
                raise RegistryValidationError(
                    f"migration of {model_name} from {start} to {end} returned "
                    f"{type(data).__name__}, not a dict"
                )
        return data

    def has(self, model_name: str, from_version: str) -> bool:
        """Whether a hook starts at ``from_version``."""
        return from_version in self._hooks.get(model_name, {})


def _type_label(annotation: Any) -> str:
    """The schema type name of an annotation (``str``, ``int``, ``list``, ``object``...)."""
    import datetime as dt
    import decimal
    import enum
    import types
    import typing
    import uuid

    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_type_label(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " | ".join(dict.fromkeys(parts)) or "None"
    if origin is typing.Literal:
        return "str"
    names: dict[Any, str] = {
        str: "str",
        int: "int",
        float: "float",
        bool: "bool",
        bytes: "bytes",
        decimal.Decimal: "Decimal",
        dt.datetime: "datetime",
        dt.date: "date",
        dt.time: "time",
        uuid.UUID: "UUID",
        dict: "dict",
        list: "list",
        set: "list",
        tuple: "list",
        frozenset: "list",
        typing.Any: "Any",
    }
    key = origin if origin is not None else annotation
    if key in names:
        return names[key]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "str"
    return getattr(annotation, "__name__", str(annotation))


def model_fields_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model in the shared schema dict format: ``{"fields": {name: {"type", "required",
    "nullable"}}}`` (what ``xinspector`` discovers from a source)."""
    import types
    import typing

    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "ns" and info.exclude is True:
            continue  # XObjPrototype's own namespace field is not data
        annotation = info.annotation
        args = typing.get_args(annotation)
        nullable = (
            typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args
        )
        fields[info.alias or name] = {
            "type": _type_label(annotation),
            "required": info.is_required(),
            "nullable": nullable,
        }
    return {"fields": fields}


def diff_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Changes from one schema dict to another, computed by ``xinspector.diff_schemas``.

    One dict per change: ``change`` (and ``type``, the document's key) is the kind
    (``field_added``, ``field_removed``, ``type_widened``, ``type_narrowed``, ``type_changed``,
    ``nullability_*``, ``required_*``, ``constraint_*``, ``primary_key_changed``, ``index_*``),
    ``field`` the dotted path, ``old``/``new``, ``breaking`` and a ``message``.

    Raises:
        RegistryValidationError: a schema dict the inspector cannot read.
    """
    from xinspector import XInspectorError, diff_schemas

    try:
        changes = diff_schemas(_named(old, "old"), _named(new, "new"))
    except XInspectorError as exc:
        raise RegistryValidationError(f"cannot compare model schemas: {exc}") from None
    return [
        {
            "change": c.kind,
            "type": c.kind,
            "field": c.path,
            "old": c.old,
            "new": c.new,
            "breaking": c.breaking,
            "message": c.message,
        }
        for c in changes
    ]


def _named(schema: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The schema with a name key, which the inspector's reader wants."""
    data = dict(schema)
    if not any(k in data for k in ("table", "collection", "file", "name", "endpoint", "stream")):
        data["name"] = name
    return data


def schema_of(model: type[BaseModel], fallback: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The schema dict of a model: the source schema a generated model carries
    (``Meta.source_schema``, as discovered by ``xinspector``), else ``fallback``, else the schema
    derived from its fields (:func:`model_fields_schema`)."""
    meta = getattr(model, "meta", None)
    if callable(meta):
        try:
            source = meta().source_schema
        except Exception:  # a model's own `meta` attribute that is not XObjPrototype's
            source = None
        if isinstance(source, Mapping) and isinstance(source.get("fields"), Mapping):
            return dict(source)
    if fallback is not None:
        return dict(fallback)
    return model_fields_schema(model)
