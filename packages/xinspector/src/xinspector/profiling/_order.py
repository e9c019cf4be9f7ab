"""One order of values for every backend: ``top_values`` and ``distinct_values``.

Top values are ranked by count, most frequent first, and values of the same count by
:func:`value_key` ascending; distinct values are sorted by :func:`value_key`. Every profiling path
(streaming, SQL pushdown, the DuckDB engine, MongoDB) ends with these two functions, so that a
report does not reorder between runs or backends and a schema ``enum`` does not look like drift.
The databases push the same tie-break into their queries (``ORDER BY count DESC, value`` in
code-point order, ``$sort: {c: -1, _id: 1}``) so that a ``LIMIT`` keeps the same values.

:func:`value_key` is a total order over the values a column can mix, by family first (in
MongoDB's BSON order where MongoDB has the family, so that its ``$sort`` agrees):

1. numbers (``int``, ``float``, ``Decimal``, ``Decimal128``) by value, NaN after every number
   (as PostgreSQL and DuckDB sort it);
2. text in code-point order (Python's ``str`` order, the byte order of UTF-8: ``"A" < "a" <
   "á"``, trailing spaces significant), which is what the SQL queries ask for explicitly
   (``COLLATE "C"``, ``utf8mb4_nopad_bin``, SQLite's ``BINARY``, DuckDB's ``binary``);
3. objects, then lists (by their JSON text, keys sorted);
4. bytes and UUIDs (by their bytes);
5. ObjectIds; 6. booleans (``False < True``);
7. dates and datetimes chronologically (naive ones before aware ones, which compare in UTC);
8. anything else by type name, then text; ``None`` last.

Only exact counts make a reproducible order. Past the exact-counting limits the top values are
estimates (the streaming pass's capped counter, DuckDB's ``approx_top_k``, PostgreSQL's
planner statistics; ``top_values_exact=False``): they are still sorted this way, but which
values a sketch keeps, and so the order among values of equal approximate count, is not
guaranteed to be the same between backends or runs.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from numbers import Integral, Real
from typing import Any
from uuid import UUID

__all__ = ["rank_counts", "sorted_values", "value_key"]


def _number(value: Any) -> tuple[Any, ...]:
    if isinstance(value, Decimal):
        nan = value.is_nan()
    else:  # integers are never NaN (and one beyond 1e308 has no float to ask)
        nan = not isinstance(value, Integral) and math.isnan(value)
    # NaN equals nothing, not even itself: after every number, all NaNs alike.
    return (0, 1, 0) if nan else (0, 0, value)


def _temporal(value: date) -> tuple[Any, ...]:
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return (7, 1, value.astimezone(UTC).replace(tzinfo=None), 1)
        return (7, 0, value.replace(tzinfo=None), 1)
    # A date sorts as its midnight, just before a datetime of that midnight.
    return (7, 0, datetime(value.year, value.month, value.day), 0)


def value_key(value: Any) -> tuple[Any, ...]:
    """The sort key of one value (see the module docstring); total over mixed types.

    >>> sorted(["b", None, 10, "B", 2, True, 1.5], key=value_key)
    [1.5, 2, 10, 'B', 'b', True, None]
    """
    if value is None:
        return (9,)
    if isinstance(value, bool):
        return (6, value)
    if isinstance(value, Real | Decimal):  # numpy's numbers too
        return _number(value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, dict | list | tuple):
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
        return (2 if isinstance(value, dict) else 3, text)
    if isinstance(value, UUID):
        return (4, value.bytes)
    if isinstance(value, bytes | bytearray | memoryview):
        return (4, bytes(value))
    if isinstance(value, date):
        return _temporal(value)
    to_decimal = getattr(value, "to_decimal", None)  # BSON Decimal128
    if to_decimal is not None:
        return _number(to_decimal())
    if type(value).__name__ == "ObjectId":
        return (5, str(value))  # 24 hex digits: the text order is the byte order
    if isinstance(value, time):
        # ISO text orders naive times chronologically; aware ones come after them.
        return (8, "time", value.utcoffset() is not None, value.isoformat())
    return (8, type(value).__name__, False, str(value))


def rank_counts(pairs: Iterable[tuple[Any, int]], k: int | None = None) -> list[tuple[Any, int]]:
    """``(value, count)`` pairs by count descending, ties by :func:`value_key`; the first
    ``k`` when given.

    >>> rank_counts([("b", 2), ("a", 2), ("c", 5)])
    [('c', 5), ('a', 2), ('b', 2)]
    """

    def rank(pair: tuple[Any, int]) -> tuple[Any, ...]:
        return (-pair[1], value_key(pair[0]))

    return sorted(pairs, key=rank) if k is None else heapq.nsmallest(k, pairs, key=rank)


def sorted_values(values: Iterable[Any]) -> list[Any]:
    """The values sorted by :func:`value_key` (the order of ``distinct_values``)."""
    return sorted(values, key=value_key)
