"""Field kinds: what each field of a model holds, as far as filtering is concerned.

:func:`field_types` reads a model's fields (their pydantic core schemas) into :class:`FieldType`
values (a :class:`Kind`, and for a list the kind of its elements); :func:`stage_types` and
:func:`pipeline_types` carry them through pipeline stages, so that a ``$match`` after a ``$group``
is typed too (:mod:`._typed` does the typing of values).
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, PydanticSchemaGenerationError, TypeAdapter

from xrepo.query._pipeline import Count, Group, Literal, Lookup, Project, Stage, Unwind

__all__ = [
    "SCALAR_KINDS",
    "FieldType",
    "Kind",
    "annotation_type",
    "field_types",
    "kind_of_schema",
    "kind_of_value",
    "pipeline_types",
    "python_type",
    "stage_types",
]


class Kind(enum.StrEnum):
    """What a field holds, as far as filtering is concerned."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    UUID = "uuid"
    LIST = "list"
    #: A document: a dict or a model (paths inside it are untyped).
    JSON = "json"
    #: Anything: ``Any``, a union of unrelated types, a type with a plain validator.
    ANY = "any"


#: Kinds whose values all compare with each other with Python's operators (one scalar type,
#: numbers across int/float/Decimal).
SCALAR_KINDS = frozenset(
    {
        Kind.STR,
        Kind.INT,
        Kind.FLOAT,
        Kind.DECIMAL,
        Kind.BOOL,
        Kind.DATETIME,
        Kind.DATE,
        Kind.TIME,
        Kind.UUID,
    }
)
_NUMERIC = frozenset({Kind.INT, Kind.FLOAT, Kind.DECIMAL})


@dataclass(frozen=True, slots=True)
class FieldType:
    """The kind of a field; for :attr:`Kind.LIST` also the kind of its elements."""

    kind: Kind
    element: Kind | None = None

    @property
    def scalar(self) -> Kind:
        """The kind a single value is typed by (the element kind for a list)."""
        if self.kind is Kind.LIST:
            return self.element or Kind.ANY
        return self.kind


_ANY = FieldType(Kind.ANY)


# -- kinds from pydantic core schemas ------------------------------------------------------------
_CORE_KINDS = {
    "str": Kind.STR,
    "int": Kind.INT,
    "float": Kind.FLOAT,
    "decimal": Kind.DECIMAL,
    "bool": Kind.BOOL,
    "datetime": Kind.DATETIME,
    "date": Kind.DATE,
    "time": Kind.TIME,
    "uuid": Kind.UUID,
    "dict": Kind.JSON,
    "model": Kind.JSON,
    "dataclass": Kind.JSON,
    "typed-dict": Kind.JSON,
    "model-fields": Kind.JSON,
}
# Wrappers whose inner schema decides the kind (a validator around a core type counts by it:
# ``Annotated[str, BeforeValidator(oid_to_hex)]`` is a str field).
_INNER = {
    "nullable": "schema",
    "default": "schema",
    "function-before": "schema",
    "function-after": "schema",
    "function-wrap": "schema",
    "custom-error": "schema",
    "lax-or-strict": "strict_schema",
    "json-or-python": "python_schema",
}


def kind_of_schema(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> FieldType:
    """The :class:`FieldType` of a pydantic core schema (``definitions``: its ``ref`` targets)."""
    return _kind(schema, definitions, 0)


def _kind(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> FieldType:
    if depth > 30:  # a self-referencing schema: give up typing it
        return _ANY
    tag = schema.get("type")
    if tag in _INNER:
        return _kind(schema[_INNER[tag]], defs, depth + 1)
    if tag == "definitions":
        inner_defs = {**defs, **{d["ref"]: d for d in schema.get("definitions", ()) if "ref" in d}}
        return _kind(schema["schema"], inner_defs, depth + 1)
    if tag == "definition-ref":
        target = defs.get(schema.get("schema_ref", ""))
        return _ANY if target is None else _kind(target, defs, depth + 1)
    if tag == "chain":
        steps = schema.get("steps") or ()
        return _kind(steps[-1], defs, depth + 1) if steps else _ANY
    if tag in _CORE_KINDS:
        return FieldType(_CORE_KINDS[str(tag)])
    if tag in ("list", "set", "frozenset", "generator"):
        items = schema.get("items_schema")
        return FieldType(Kind.LIST, _element(items, defs, depth))
    if tag == "tuple":
        items = schema.get("items_schema") or []
        if len(items) == 1 and schema.get("variadic_item_index") == 0:
            return FieldType(Kind.LIST, _element(items[0], defs, depth))
        return FieldType(Kind.LIST, Kind.ANY)
    if tag == "enum":
        sub = {"str": Kind.STR, "int": Kind.INT, "float": Kind.FLOAT}.get(
            str(schema.get("sub_type"))
        )
        return FieldType(sub) if sub is not None else _ANY
    if tag == "literal":
        return FieldType(_literal_kind(schema.get("expected") or ()))
    if tag in ("union", "tagged-union"):
        choices = schema.get("choices") or ()
        if isinstance(choices, Mapping):
            choices = list(choices.values())
        kinds = {
            _kind(c[0] if isinstance(c, tuple) else c, defs, depth + 1)
            for c in choices
            if (c[0] if isinstance(c, tuple) else c).get("type") != "none"
        }
        return _union(kinds)
    return _ANY


def _element(items: Any, defs: Mapping[str, Any], depth: int) -> Kind:
    if not items:
        return Kind.ANY
    inner = _kind(items, defs, depth + 1)
    # A list of lists is untyped at the element level; a list of documents is JSON.
    return Kind.ANY if inner.kind is Kind.LIST else inner.kind


def _literal_kind(expected: Sequence[Any]) -> Kind:
    kinds = {type(v) for v in expected if v is not None}
    if kinds and all(issubclass(k, bool) for k in kinds):
        return Kind.BOOL
    if any(issubclass(k, bool) for k in kinds):
        return Kind.ANY
    if kinds and all(issubclass(k, str) for k in kinds):
        return Kind.STR
    if kinds and all(issubclass(k, int) for k in kinds):
        return Kind.INT
    return Kind.ANY


def _union(kinds: set[FieldType]) -> FieldType:
    if len(kinds) == 1:
        return next(iter(kinds))
    plain = {k.kind for k in kinds}
    if plain and plain <= _NUMERIC and not any(k.element for k in kinds):
        # int | float holds either; float compares numerically with both. int | Decimal alike.
        return FieldType(Kind.FLOAT if Kind.FLOAT in plain else Kind.DECIMAL)
    return _ANY


def field_types(model: type[BaseModel]) -> dict[str, FieldType]:
    """The :class:`FieldType` of each field of ``model``, from its pydantic core schema.

    Examples:
        >>> class M(BaseModel):
        ...     tags: list[str] | None = None
        >>> field_types(M)["tags"]
        FieldType(kind=<Kind.LIST: 'list'>, element=<Kind.STR: 'str'>)
    """
    schema: Any = model.__pydantic_core_schema__
    defs: dict[str, Any] = {}
    for _ in range(30):
        tag = schema.get("type")
        if tag == "definitions":
            defs.update({d["ref"]: d for d in schema.get("definitions", ()) if "ref" in d})
            schema = schema["schema"]
        elif tag == "definition-ref":
            schema = defs[schema["schema_ref"]]
        elif tag in ("model", "function-before", "function-after", "function-wrap"):
            schema = schema["schema"]
        else:
            break
    fields = schema.get("fields") if schema.get("type") == "model-fields" else None
    if not isinstance(fields, Mapping):
        return dict.fromkeys(model.model_fields, _ANY)
    out = {}
    for name, spec in fields.items():
        out[name] = _kind(spec.get("schema", {}), defs, 0)
    return out


def annotation_type(annotation: Any) -> FieldType:
    """The :class:`FieldType` of a type annotation, as a model field of that type has it
    (``None`` and ``Any`` are untyped).

    Examples:
        >>> annotation_type(list[bool] | None)
        FieldType(kind=<Kind.LIST: 'list'>, element=<Kind.BOOL: 'bool'>)
    """
    if isinstance(annotation, FieldType):
        return annotation
    if annotation is None or annotation is Any:
        return _ANY
    try:
        schema = TypeAdapter(annotation).core_schema
    except (PydanticSchemaGenerationError, TypeError):
        return _ANY
    return kind_of_schema(schema, {})


# -- kinds through a pipeline ---------------------------------------------------------------------
_SCALAR_OF: dict[type, Kind] = {
    bool: Kind.BOOL,  # before int: a bool is an int to Python
    int: Kind.INT,
    float: Kind.FLOAT,
    Decimal: Kind.DECIMAL,
    str: Kind.STR,
    _dt.datetime: Kind.DATETIME,  # before date
    _dt.date: Kind.DATE,
    _dt.time: Kind.TIME,
    uuid.UUID: Kind.UUID,
}


def kind_of_value(value: Any) -> FieldType | None:
    """The :class:`FieldType` of a constant (a ``$literal``), ``None`` when it has none."""
    for cls, kind in _SCALAR_OF.items():
        if isinstance(value, cls):
            return FieldType(kind)
    return FieldType(Kind.JSON) if isinstance(value, Mapping) else None


def _accumulated(op: str, source: FieldType | None, constant: Any) -> FieldType | None:
    """The kind of a ``$group`` accumulator's result over values of ``source`` (MongoDB's)."""
    if op == "count":
        return FieldType(Kind.INT)
    if op == "sum":
        if source is None:
            # $sum of a constant: n times the number, or 0 for a non-number (MongoDB ignores it).
            if constant is None:
                return None
            const = kind_of_value(constant)
            return const if const is not None and const.kind in _NUMERIC else FieldType(Kind.INT)
        if source.kind in _NUMERIC:
            return source
        # Scalars that are never numbers sum to 0; arrays, documents and unions are unknown.
        return FieldType(Kind.INT) if source.kind in SCALAR_KINDS else None
    if op == "avg":
        if source is not None and source.kind is Kind.DECIMAL:
            return source
        # A double, or null when no value is a number.
        return FieldType(Kind.FLOAT)
    if op in ("push", "addToSet"):
        if source is None:
            return FieldType(Kind.LIST, Kind.ANY)
        # A list of lists: element kind LIST (arrays, their own elements untyped).
        return FieldType(Kind.LIST, source.kind)
    return source  # min, max, first, last: one of the values (or null)


def stage_types(stage: Stage, types: Mapping[str, FieldType]) -> dict[str, FieldType]:
    """The kinds of the fields of the documents ``stage`` outputs, from those it reads.

    Fields of unknown kind are left out (untyped). A compound ``$group`` key is ``_id`` (a
    document) plus ``_id.<name>`` for each part, the way the compilers name them.

    Examples:
        >>> from xrepo.query import Accumulator, FieldType, Group, Kind
        >>> out = stage_types(Group("b", {"n": Accumulator("count")}), {"b": FieldType(Kind.BOOL)})
        >>> out["_id"].kind, out["n"].kind
        (<Kind.BOOL: 'bool'>, <Kind.INT: 'int'>)
    """
    out = _stage_types(stage, types)
    return {k: v for k, v in out.items() if v.kind is not Kind.ANY}


def _stage_types(stage: Stage, types: Mapping[str, FieldType]) -> dict[str, FieldType]:
    out: dict[str, FieldType] = {}
    if isinstance(stage, Project):
        if stage.include is None:
            gone = set(stage.exclude)
            return {k: v for k, v in types.items() if k not in gone}
        if "_id" in types and not stage.drop_id and "_id" not in stage.include:
            out["_id"] = types["_id"]
        for name, source in stage.include.items():
            found = (
                kind_of_value(source.value) if isinstance(source, Literal) else types.get(source)
            )
            if found is not None:
                out[name] = found
        return out
    if isinstance(stage, Group):
        if isinstance(stage.key, str):
            if stage.key in types:
                out["_id"] = types[stage.key]
        elif isinstance(stage.key, dict):
            out["_id"] = FieldType(Kind.JSON)
            for name, path in stage.key.items():
                if path in types:
                    out[f"_id.{name}"] = types[path]
        for name, acc in stage.accumulators.items():
            of = types.get(acc.path) if acc.path is not None else None
            result = _accumulated(acc.op, of, acc.constant)
            if result is not None:
                out[name] = result
        return out
    if isinstance(stage, Count):
        return {stage.name: FieldType(Kind.INT)}
    if isinstance(stage, Unwind):
        out = dict(types)
        kind = out.pop(stage.path, None)
        if kind is not None:
            if kind.kind is not Kind.LIST:
                out[stage.path] = kind  # MongoDB keeps a non-array value as it is
            elif kind.element not in (None, Kind.ANY, Kind.LIST):
                out[stage.path] = FieldType(kind.element)
        return out
    if isinstance(stage, Lookup):
        # Documents of another source: untyped here, and so is anything under the name.
        under = stage.as_ + "."
        return {k: v for k, v in types.items() if k != stage.as_ and not k.startswith(under)}
    return dict(types)  # $match, $sort, $skip, $limit keep the shape


def pipeline_types(stages: Sequence[Stage], types: Mapping[str, FieldType]) -> dict[str, FieldType]:
    """The kinds of the output fields of ``stages`` over fields of ``types`` (:func:`stage_types`
    stage after stage)."""
    current = dict(types)
    for stage in stages:
        current = stage_types(stage, current)
    return current


# -- Python types ---------------------------------------------------------------------------------
_PYTHON: dict[Kind, type] = {kind: cls for cls, kind in _SCALAR_OF.items()}
_PYTHON[Kind.LIST] = list
_PYTHON[Kind.JSON] = dict


def python_type(ftype: FieldType | None) -> type | None:
    """The Python type values of ``ftype`` have after validation (``list`` for a list, ``dict``
    for a document, ``None`` when unknown), for code that dispatches on Python types."""
    return None if ftype is None else _PYTHON.get(ftype.kind)
