"""Documents as the in-memory engine reads them: dotted paths, MongoDB's order of values, and
hashable stand-ins for values under MongoDB's equality (:func:`freeze`).

A missing field reads as ``None``; values of different types order by MongoDB's type rank
(null < numbers < strings < documents < arrays < ... ), numbers across int/float/Decimal.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from xrepo.query import (
    SortKey,
)

__all__ = ["freeze", "get_path", "sort_key", "sort_rows", "thaw"]

Row = dict[str, Any]
_NUM = frozenset({int, float, Decimal})


def get_path(doc: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``doc``, or ``None`` when any step is missing.

    Through a list of sub-documents the values are collected, as MongoDB does.
    """
    value = doc
    for seg in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(seg)
        elif isinstance(value, list):
            picked = [v.get(seg) for v in value if isinstance(v, Mapping) and seg in v]
            value = picked or None
        else:
            return None
        if value is None:
            return None
    return value


def _has_path(doc: Any, path: str) -> bool:
    value = doc
    for seg in path.split("."):
        if not isinstance(value, Mapping) or seg not in value:
            return False
        value = value[seg]
    return True


# -- ordering -----------------------------------------------------------------------------------
def _rank(value: Any) -> int:
    # MongoDB's BSON order: null < numbers < strings < objects < arrays < binary (UUID)
    # < booleans < dates; times (no BSON type) after them.
    if value is None:
        return 0
    cls = value.__class__
    if cls is bool:
        return 6
    if isinstance(value, int | float | Decimal):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, Mapping):
        return 3
    if isinstance(value, list | tuple):
        return 4
    if isinstance(value, uuid.UUID | bytes):
        return 5
    if isinstance(value, _dt.date):
        return 7
    if isinstance(value, _dt.time):
        return 8
    return 9


def _number_key(value: Any) -> tuple[int, Any]:
    # NaN sorts before every other number, as in MongoDB; Decimal NaN does not compare at all.
    if value != value:
        return 0, 0
    return 1, value


def _moment(value: _dt.date) -> _dt.datetime:
    """Dates and naive/aware datetimes on one naive-UTC time line (naive means UTC)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(_dt.UTC).replace(tzinfo=None)
    return _dt.datetime.combine(value, _dt.time())


def sort_key(value: Any) -> tuple[int, Any]:
    """A total order over mixed values (MongoDB's cross-type order)."""
    rank = _rank(value)
    if rank == 0:
        return 0, 0
    if rank == 1:
        return 1, _number_key(value)
    if rank == 7:
        return 7, _moment(value)
    if rank == 8:
        return 8, value.replace(tzinfo=None).isoformat()
    if rank in (2, 6):
        return rank, value
    if rank == 5:
        return rank, value.bytes if isinstance(value, uuid.UUID) else value
    if rank == 4:
        # arrays element by element (a prefix first), as MongoDB compares whole arrays
        return 4, tuple(sort_key(e) for e in value)
    if rank == 3:
        # documents field by field: the value's type, the name, then the value
        return 3, tuple((_rank(v), k, sort_key(v)) for k, v in value.items())
    return rank, repr(value)


def sort_rows(
    rows: list[Row],
    keys: Sequence[SortKey],
    *,
    limit: int | None = None,
    typed_fields: frozenset[str] | None = None,
) -> list[Row]:
    """Sort ``rows`` by ``keys`` (stable); with ``limit``, only the first ``limit`` are kept.

    ``typed_fields`` are top-level fields whose values all have one scalar type (a validated
    model's field): they are compared with Python's operators; any other path is compared in
    MongoDB's cross-type order (:func:`sort_key`), where a bool is not a number.
    """
    if not keys:
        return rows[:limit] if limit is not None else rows
    fast = typed_fields is not None and all(p in typed_fields for p, _ in keys)
    directions = {d for _, d in keys}
    if limit is not None and len(directions) == 1 and limit < len(rows) // 8:
        # One direction: a bounded heap beats a full sort (same result as sorted()[:limit]).
        pick = heapq.nlargest if -1 in directions else heapq.nsmallest
        if fast:
            try:
                return pick(limit, rows, key=_tuple_getter([p for p, _ in keys]))
            except TypeError:
                pass
        return pick(limit, rows, key=_tuple_getter([p for p, _ in keys], safe=True))
    out = list(rows)
    for path, direction in reversed(keys):
        if fast:
            try:
                out.sort(key=_tuple_getter([path]), reverse=direction < 0)
                continue
            except TypeError:  # a null among the values: the safe key orders it first
                pass
        out.sort(key=_tuple_getter([path], safe=True), reverse=direction < 0)
    return out[:limit] if limit is not None else out


def _tuple_getter(paths: Sequence[str], *, safe: bool = False) -> Callable[[Row], Any]:
    if safe:
        if len(paths) == 1:
            (p,) = paths
            if "." in p:
                return lambda r: sort_key(get_path(r, p))
            return lambda r: sort_key(r.get(p))
        return lambda r: tuple(sort_key(get_path(r, p)) for p in paths)
    if len(paths) == 1:
        (p,) = paths
        # None sorts first, as in MongoDB; a TypeError (None vs int) sends us to the safe key.
        return lambda r: r.get(p)
    return lambda r: tuple(r.get(p) for p in paths)


# -- frozen values ------------------------------------------------------------------------------
_BOOL_TAG = "__bool__"
_NAN_TAG = "__nan__"


def freeze(value: Any) -> Any:
    """A hashable stand-in for ``value`` under MongoDB's equality: ``True`` is not ``1``, every
    NaN is the same, documents and arrays compare element by element."""
    if value.__class__ is bool:
        return (_BOOL_TAG, value)
    if isinstance(value, Mapping):
        return ("__dict__", tuple((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("__list__", tuple(freeze(v) for v in value))
    if isinstance(value, float | Decimal) and value != value:
        return (_NAN_TAG, value)
    return value


def thaw(value: Any) -> Any:
    """The value :func:`freeze` stands for."""
    if value.__class__ is tuple and len(value) == 2:
        tag = value[0]
        if tag == "__dict__":
            return {k: thaw(v) for k, v in value[1]}
        if tag == "__list__":
            return [thaw(v) for v in value[1]]
        if tag in (_BOOL_TAG, _NAN_TAG):
            return value[1]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
