"""Models built from outside JSON schemas (``ModelSource.EXTERNAL``).

Covers what object schemas from other systems use: the scalar types and their formats
(``date-time``, ``date``, ``email`` kept as ``str``...), ``enum``, ``array`` with ``items``,
nested ``object``s, ``$ref`` into ``$defs``/``definitions``, ``anyOf`` with ``null``, ``required``
and the usual constraints. Anything else is refused with the path that holds it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from xregistry.errors import RegistryValidationError

__all__ = ["model_from_json_schema"]

_SCALARS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": type(None),
}
_FORMATS: dict[str, Any] = {"date-time": dt.datetime, "date": dt.date, "time": dt.time}
_CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minItems": "min_length",
    "maxItems": "max_length",
}
_IDENT = re.compile(r"[^A-Za-z0-9_]")


def _class_name(title: str) -> str:
    cleaned = _IDENT.sub("_", title).strip("_") or "ExternalModel"
    return cleaned if not cleaned[0].isdigit() else f"M_{cleaned}"


class _Builder:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.defs: Mapping[str, Any] = {**root.get("definitions", {}), **root.get("$defs", {})}
        self.built: dict[str, type[BaseModel]] = {}

    def ref(self, ref: str, where: str) -> Any:
        match = re.fullmatch(r"#/(?:\$defs|definitions)/(.+)", ref)
        if not match or match.group(1) not in self.defs:
            raise RegistryValidationError(f"external schema: unresolvable $ref {ref!r} at {where}")
        key = match.group(1)
        if key not in self.built:
            self.built[key] = self.model(self.defs[key], key, where=f"{where}->{key}")
        return self.built[key]

    def annotation(self, spec: Any, where: str, name: str) -> Any:
        if not isinstance(spec, Mapping):
            raise RegistryValidationError(f"external schema: {where} must be an object")
        if "$ref" in spec:
            return self.ref(spec["$ref"], where)
        if "enum" in spec:
            values = tuple(spec["enum"])
            if not values:
                raise RegistryValidationError(f"external schema: empty enum at {where}")
            return Literal[values]
        if "const" in spec:
            return Literal[(spec["const"],)]
        for key in ("anyOf", "oneOf"):
            if key in spec:
                options = [self.annotation(o, f"{where}.{key}", name) for o in spec[key]]
                result = options[0]
                for option in options[1:]:
                    result = result | option
                return result
        kind = spec.get("type", "any")
        if isinstance(kind, list):
            result = None
            for k in kind:
                part = self.annotation({**spec, "type": k}, where, name)
                result = part if result is None else result | part
            return result
        if kind in ("string",) and spec.get("format") in _FORMATS:
            return _FORMATS[spec["format"]]
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            items = spec.get("items")
            inner = self.annotation(items, f"{where}.items", name) if items else Any
            return list[inner]  # type: ignore[valid-type]
        if kind == "object":
            if "properties" in spec:
                return self.model(spec, spec.get("title") or f"{name}_item", where=where)
            return dict[str, Any]
        if kind == "any":
            return Any
        raise RegistryValidationError(f"external schema: unsupported type {kind!r} at {where}")

    def model(self, spec: Mapping[str, Any], title: str, where: str) -> type[BaseModel]:
        if spec.get("type", "object") != "object" or not isinstance(
            spec.get("properties", {}), Mapping
        ):
            raise RegistryValidationError(
                f"external schema: {where} must be an object schema with properties"
            )
        required = set(spec.get("required", []))
        fields: dict[str, Any] = {}
        for prop, sub in spec.get("properties", {}).items():
            if not isinstance(prop, str) or not prop.isidentifier() or prop.startswith("_"):
                raise RegistryValidationError(
                    f"external schema: property {prop!r} at {where} is not a usable field name"
                )
            annotation = self.annotation(sub, f"{where}.{prop}", prop)
            kwargs = {target: sub[src] for src, target in _CONSTRAINTS.items() if src in sub}
            if sub.get("description"):
                kwargs["description"] = sub["description"]
            if prop in required:
                default: Any = ...
            else:
                default = sub.get("default")
                if default is None:
                    annotation = annotation | None
            fields[prop] = (annotation, Field(default, **kwargs))
        model = create_model(_class_name(title), **fields)
        model.__doc__ = spec.get("description") or model.__doc__
        return model


def model_from_json_schema(schema: Mapping[str, Any], name: str | None = None) -> type[BaseModel]:
    """A Pydantic model class from a JSON object schema.

    >>> M = model_from_json_schema({"title": "Point", "type": "object",
    ...     "properties": {"x": {"type": "integer"}, "y": {"type": "integer", "default": 0}},
    ...     "required": ["x"]})
    >>> M(x=1).model_dump()
    {'x': 1, 'y': 0}
    """
    if not isinstance(schema, Mapping):
        raise RegistryValidationError(
            f"an external schema must be a JSON object schema (a mapping), got "
            f"{type(schema).__name__}"
        )
    title = name or schema.get("title") or "ExternalModel"
    try:
        return _Builder(schema).model(schema, str(title), where=str(title))
    except RegistryValidationError:
        raise
    except Exception as exc:  # pydantic refuses a constraint on a type, a bad pattern...
        raise RegistryValidationError(
            f"external schema {title!r} cannot become a model: {type(exc).__name__}: {exc}"
        ) from exc
