"""Typed values in: filter values converted by the model's field types, once, for every backend.

A filter arrives as JSON would carry it (ISO date strings, decimal strings, UUID strings) and with
values of any type. Before a backend compiles it, :func:`type_filter` rewrites the parsed tree by
the kind of each top-level field (:func:`field_types`), so that every backend answers the same:

- JSON forms become the field's type: ``"2024-01-01"`` on a datetime field is
  ``datetime(2024, 1, 1, tzinfo=UTC)``, ``"1.50"`` on a Decimal field ``Decimal("1.50")``, a UUID
  string a :class:`uuid.UUID`; a naive datetime means UTC;
- a value the field cannot hold (``{"i": "10"}``, ``{"i": True}``, ``{"s": 0}``, a text operator on
  a number) matches nothing (:data:`~xrepo.query.MATCH_NONE`), and its negation
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
    >>> from xrepo.query import field_types, parse_filter
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
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from xrepo.query._filters import (
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
from xrepo.query._kinds import _NUMERIC, FieldType, Kind, stage_types
from xrepo.query._pipeline import Match, Stage

__all__ = [
    "IMPOSSIBLE",
    "INT64_MAX",
    "INT64_MIN",
    "as_utc",
    "simplify",
    "type_filter",
    "type_stages",
    "typed_value",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


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
