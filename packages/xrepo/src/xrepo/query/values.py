"""Typed values in: filter values converted by the model's field types, once, for every backend.

A filter arrives as JSON would carry it (ISO date strings, decimal strings, UUID strings) and with
values of any type. Before a backend compiles it, :func:`type_filter` rewrites the parsed tree by
the kind of each top-level field (:func:`field_types`), so that every backend answers the same:

- JSON forms become the field's type: ``"2024-01-01"`` on a datetime field is
  ``datetime(2024, 1, 1, tzinfo=UTC)``, ``"1.50"`` on a Decimal field ``Decimal("1.50")``, a UUID
  string a :class:`uuid.UUID`; a naive datetime means UTC;
- a value the field cannot hold (``{"i": "10"}``, ``{"i": True}``, ``{"s": 0}``, a text operator on
  a number) matches nothing (:data:`~xrepo.query.filters.MATCH_NONE`), and its negation
  (``$ne``, ``$nin``, ``$not``, ``$nor``) everything, as in MongoDB;
- on an int field a non-integral number is rewritten exactly (``eq 1.5`` matches nothing,
  ``gt 2.5`` is ``gte 3``, ``lt 2.5`` is ``lte 2``) and bounds beyond int64 are clamped, so no
  driver ever truncates or overflows; on a float field an int or Decimal that no float equals is
  rewritten to the nearest float bound the same way;
- on a list field a value is typed by the element type (MongoDB's array semantics), a list value
  element by element;
- untyped places keep their values: paths inside dict or model fields, ``Any`` fields, unions of
  unrelated types.

Examples:
    >>> from pydantic import BaseModel
    >>> from xrepo.query.filters import parse_filter
    >>> class Item(BaseModel):
    ...     id: int
    ...     qty: int
    >>> type_filter(parse_filter({"qty": {"$lt": 2.5}}), field_types(Item))
    Condition(path='qty', op='lte', value=2)
    >>> type_filter(parse_filter({"qty": "10"}), field_types(Item))
    Or(children=())
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, PydanticSchemaGenerationError, TypeAdapter

from xrepo.query.filters import (
    MATCH_ALL,
    MATCH_NONE,
    TEXT_OPS,
    And,
    Condition,
    Node,
    Nor,
    Not,
    Or,
)
from xrepo.query.pipeline import Count, Group, Literal, Lookup, Match, Project, Stage, Unwind

__all__ = [
    "IMPOSSIBLE",
    "INT64_MAX",
    "INT64_MIN",
    "SCALAR_KINDS",
    "FieldType",
    "Kind",
    "annotation_type",
    "as_utc",
    "field_types",
    "kind_of_schema",
    "kind_of_value",
    "pipeline_types",
    "python_type",
    "simplify",
    "stage_types",
    "type_filter",
    "type_stages",
    "typed_value",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


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


# -- values ---------------------------------------------------------------------------------------
class _Impossible:
    def __repr__(self) -> str:
        return "IMPOSSIBLE"


#: What :func:`typed_value` returns for a value the field cannot hold.
IMPOSSIBLE: Any = _Impossible()

_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_UTC = _dt.UTC


def as_utc(value: _dt.datetime) -> _dt.datetime:
    """``value`` as an aware UTC datetime (``tzinfo is datetime.UTC``): naive means UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    if value.tzinfo is _UTC:
        return value
    return value.astimezone(_UTC)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return True


def _parse_datetime(text: str) -> _dt.datetime | None:
    try:
        return as_utc(_dt.datetime.fromisoformat(text))
    except ValueError:
        return None


def typed_value(kind: Kind, value: Any) -> Any:
    """``value`` as a value of ``kind`` for an equality test, or :data:`IMPOSSIBLE`.

    ``None`` stays ``None`` (null or missing); untyped kinds keep every value.
    """
    if value is None or kind is Kind.ANY:
        return value
    if kind is Kind.STR:
        return value if isinstance(value, str) else IMPOSSIBLE
    if kind is Kind.BOOL:
        return value if isinstance(value, bool) else IMPOSSIBLE
    if kind in _NUMERIC:
        if isinstance(value, str) and kind is Kind.DECIMAL:
            value = _decimal_text(value)
        if not _is_number(value):
            return IMPOSSIBLE
        return _exact_number(kind, value)
    if kind is Kind.DATETIME:
        if isinstance(value, _dt.datetime):
            return as_utc(value)
        if isinstance(value, _dt.date):
            return _dt.datetime.combine(value, _dt.time(), _UTC)
        if isinstance(value, str):
            parsed = _parse_datetime(value)
            return IMPOSSIBLE if parsed is None else parsed
        return IMPOSSIBLE
    if kind is Kind.DATE:
        day, exact = _as_date(value)
        return day if day is not None and exact else IMPOSSIBLE
    if kind is Kind.TIME:
        if isinstance(value, _dt.time):
            return value
        if isinstance(value, str):
            try:
                return _dt.time.fromisoformat(value)
            except ValueError:
                return IMPOSSIBLE
        return IMPOSSIBLE
    if kind is Kind.UUID:
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                return IMPOSSIBLE
        return IMPOSSIBLE
    if kind is Kind.JSON:
        return value if isinstance(value, Mapping) else IMPOSSIBLE
    return value  # Kind.LIST is typed element by element by the caller


def _decimal_text(text: str) -> Any:
    if len(text) > 200 or not _DECIMAL_TEXT.fullmatch(text):
        return IMPOSSIBLE
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        return IMPOSSIBLE


def _as_date(value: Any) -> tuple[_dt.date | None, bool]:
    """``(date, exact)``: the day ``value`` falls on (UTC) and whether it is midnight."""
    if isinstance(value, _dt.datetime):
        moment = as_utc(value)
        return moment.date(), moment.timetz().replace(tzinfo=None) == _dt.time()
    if isinstance(value, _dt.date):
        return value, True
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value), True
        except ValueError:
            parsed = _parse_datetime(value)
            return _as_date(parsed) if parsed is not None else (None, False)
    return None, False


def _exact_number(kind: Kind, value: int | float | Decimal) -> Any:
    """An equal value the backends can bind, or IMPOSSIBLE when the field holds no equal one."""
    if _is_nan(value):
        return IMPOSSIBLE  # NaN equals nothing a filter can name portably
    if kind is Kind.INT:
        if not _finite(value) or value != int(value):
            return IMPOSSIBLE
        n = int(value)
        return n if INT64_MIN <= n <= INT64_MAX else IMPOSSIBLE
    if kind is Kind.FLOAT:
        if isinstance(value, float):
            return value
        if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
            return value
        f = _to_float(value)
        return f if f == value else IMPOSSIBLE
    # Decimal: a float means the number it prints as (what a JSON 0.1 means; pydantic agrees).
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else IMPOSSIBLE
    if isinstance(value, Decimal) and not value.is_finite():
        return IMPOSSIBLE
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return Decimal(value)
    return value


def _to_float(value: int | Decimal) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


# -- range bounds ---------------------------------------------------------------------------------
_UPPER = {"gt", "gte"}  # value is a lower bound: the field must be above it


def _range(path: str, op: str, kind: Kind, value: Any) -> Node:
    """``path op value`` with ``value`` typed by ``kind`` and rewritten to an exact bound."""
    if value is None or kind in (Kind.ANY, Kind.JSON, Kind.LIST):
        return Condition(path, op, value)
    lower = op in _UPPER
    if kind in _NUMERIC:
        if isinstance(value, str) and kind is Kind.DECIMAL:
            value = _decimal_text(value)
        if not _is_number(value):
            return MATCH_NONE
        return _numeric_range(path, op, kind, value, lower)
    if kind is Kind.DATE:
        day, exact = _as_date(value)
        if day is None:
            return MATCH_NONE
        if exact:
            return Condition(path, op, day)
        # A moment inside `day`: dates after it start the next day, dates before it are <= day.
        return Condition(path, "gt" if lower else "lte", day)
    typed = typed_value(kind, value)
    return MATCH_NONE if typed is IMPOSSIBLE else Condition(path, op, typed)


def _numeric_range(path: str, op: str, kind: Kind, value: Any, lower: bool) -> Node:
    if _is_nan(value):
        return MATCH_NONE
    if kind is Kind.FLOAT:
        if isinstance(value, float) or (isinstance(value, int) and INT64_MIN <= value <= INT64_MAX):
            return Condition(path, op, value)
        f = _to_float(value)
        if f == value:
            return Condition(path, op, f)
        # No float equals `value`: the bound is the nearest float on the right side of it.
        if lower:
            return Condition(path, "gte", f if f > value else math.nextafter(f, math.inf))
        return Condition(path, "lte", f if f < value else math.nextafter(f, -math.inf))
    if not _finite(value):
        above = value > 0
        if lower:  # field > +inf: nothing; field > -inf: every number
            return MATCH_NONE if above else _every_number(path, kind)
        return _every_number(path, kind) if above else MATCH_NONE
    if kind is Kind.DECIMAL:
        if isinstance(value, float):
            value = Decimal(repr(value))
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            value = Decimal(value)
        return Condition(path, op, value)
    # int field: round the bound inward, then clamp to int64.
    if value == int(value):
        n, new_op = int(value), op
    elif lower:
        n, new_op = _ceil(value), "gte"
    else:
        n, new_op = _floor(value), "lte"
    if n > INT64_MAX:
        return MATCH_NONE if lower else Condition(path, "lte", INT64_MAX)
    if n < INT64_MIN:
        return Condition(path, "gte", INT64_MIN) if lower else MATCH_NONE
    return Condition(path, new_op, n)


def _every_number(path: str, kind: Kind) -> Node:
    if kind is Kind.INT:
        return Condition(path, "gte", INT64_MIN)
    return Condition(path, "exists", True)


def _ceil(value: float | Decimal) -> int:
    if isinstance(value, Decimal):
        return int(value.to_integral_value(rounding=ROUND_CEILING))
    return math.ceil(value)


def _floor(value: float | Decimal) -> int:
    if isinstance(value, Decimal):
        return int(value.to_integral_value(rounding=ROUND_FLOOR))
    return math.floor(value)


# -- the tree -------------------------------------------------------------------------------------
def _typed_eq(ftype: FieldType, value: Any) -> Any:
    """An equality operand for a field of ``ftype``: a scalar (element) or a whole list."""
    if value is None:
        return None
    if ftype.kind is Kind.LIST:
        if isinstance(value, list | tuple):
            element = ftype.element or Kind.ANY
            out = [typed_value(element, v) if v is not None else None for v in value]
            return IMPOSSIBLE if any(v is IMPOSSIBLE for v in out) else out
        return typed_value(ftype.scalar, value)
    if isinstance(value, list | tuple) and ftype.kind is not Kind.ANY:
        return IMPOSSIBLE  # a scalar or document field never equals an array
    return typed_value(ftype.kind, value)


def _condition(c: Condition, ftype: FieldType) -> Node:
    op = c.op
    kind = ftype.scalar
    if op == "exists":
        return c
    if op in TEXT_OPS:
        return c if kind in (Kind.STR, Kind.ANY) else MATCH_NONE
    if op in ("eq", "ne"):
        value = _typed_eq(ftype, c.value)
        if value is IMPOSSIBLE:
            return MATCH_NONE if op == "eq" else MATCH_ALL
        return c if value is c.value else Condition(c.path, op, value)
    if op in ("in", "nin"):
        kept = [v for v in (_typed_eq(ftype, v) for v in c.value) if v is not IMPOSSIBLE]
        if not kept:
            return MATCH_NONE if op == "in" else MATCH_ALL
        return Condition(c.path, op, tuple(kept))
    if op in ("gt", "gte", "lt", "lte"):
        if ftype.kind is Kind.LIST and isinstance(c.value, list | tuple):
            return c  # an array compared with an array: untyped
        return _range(c.path, op, kind, c.value)
    return c


def simplify(node: Node) -> Node:
    """Fold :data:`MATCH_ALL`/:data:`MATCH_NONE` children into their parents (one level)."""
    if isinstance(node, And):
        if any(_is_none(c) for c in node.children):
            return MATCH_NONE
        kept = tuple(c for c in node.children if not _is_all(c))
        return kept[0] if len(kept) == 1 else And(kept)
    if isinstance(node, Or):
        if any(_is_all(c) for c in node.children):
            return MATCH_ALL
        kept = tuple(c for c in node.children if not _is_none(c))
        return kept[0] if len(kept) == 1 else Or(kept)
    if isinstance(node, Nor):
        if any(_is_all(c) for c in node.children):
            return MATCH_NONE
        kept = tuple(c for c in node.children if not _is_none(c))
        return Nor(kept) if kept else MATCH_ALL
    if isinstance(node, Not):
        if _is_all(node.child):
            return MATCH_NONE
        if _is_none(node.child):
            return MATCH_ALL
    return node


def _is_all(node: Node) -> bool:
    return isinstance(node, And) and not node.children


def _is_none(node: Node) -> bool:
    return isinstance(node, Or) and not node.children


def type_filter(node: Node, types: Mapping[str, FieldType]) -> Node:
    """``node`` with every value typed by the field it tests (see the module's docstring).

    Paths with a dot and fields missing from ``types`` are untyped and keep their values.
    """
    if isinstance(node, Condition):
        ftype = types.get(node.path)
        return node if ftype is None or ftype.kind is Kind.ANY else _condition(node, ftype)
    if isinstance(node, Not):
        child = type_filter(node.child, types)
        return simplify(node if child is node.child else Not(child))
    children = tuple(type_filter(c, types) for c in node.children)
    if all(a is b for a, b in zip(children, node.children, strict=True)):
        return node
    return simplify(type(node)(children))


def type_stages(stages: Sequence[Stage], types: Mapping[str, FieldType]) -> list[Stage]:
    """Every ``$match`` of ``stages`` typed by :func:`type_filter` with the kinds known at its
    point of the pipeline (:func:`stage_types`): after ``$group``, ``$unwind`` or ``$project`` a
    value the field cannot hold matches nothing too. Fields of unknown kind stay untyped."""
    out: list[Stage] = []
    current: Mapping[str, FieldType] = types
    for stage in stages:
        if isinstance(stage, Match) and current:
            stage = Match(type_filter(stage.node, current))
        out.append(stage)
        current = stage_types(stage, current)
    return out


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
        >>> from xrepo.query.pipeline import Accumulator, Group
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
