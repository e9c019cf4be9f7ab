"""Canonical forms of answers, so that mongod's and a backend's can be compared.

The only normalisations are the deviations docs/xrepo.md lists, plus the representation of
values that are the same value in BSON and in Python:

- numbers compare by value across int, float, Decimal and Decimal128 (design rule 1), but a bool
  is never a number and a str never a number: ``1`` from a boolean column is a mismatch;
- a ``date`` equals the midnight-UTC datetime the oracle stores for it; a datetime must be aware
  (design rule 2: every backend returns aware UTC datetimes): a naive one is a mismatch;
- ``null`` == missing: keys whose value is ``None`` are dropped from documents, and ``None``
  elements are dropped from ``$push``/``$addToSet`` arrays (mongod pushes an explicit null but
  skips a missing field; SQL cannot tell them apart);
- with ``tolerant``, floats are compared to 10 significant digits (``$avg`` and ``$sum`` over
  floats: the order of summation differs between servers).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bson import ObjectId
from bson.decimal128 import Decimal128

Canon = Any


def _num(value: Any, tolerant: bool) -> Canon:
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, float):
        if tolerant and value != 0:
            return ("num", Decimal(f"{value:.10g}").normalize())
        value = Decimal(repr(value))
    elif tolerant and isinstance(value, Decimal) and value.is_finite() and value != 0:
        return ("num", Decimal(f"{float(value):.10g}").normalize())
    number = Decimal(value)
    return ("num", number.normalize() if number != 0 else Decimal(0))


def canon(value: Any, tolerant: bool = False, sets: frozenset[str] = frozenset(),
          bags: frozenset[str] = frozenset()) -> Canon:  # fmt: skip
    """A hashable, ordered canonical form of ``value``."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float | Decimal | Decimal128):
        return _num(value, tolerant)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return ("naive datetime", value.isoformat())
        return ("datetime", value.astimezone(dt.UTC).isoformat())
    if isinstance(value, dt.date):
        return (
            "datetime",
            dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).isoformat(),
        )
    if isinstance(value, ObjectId):
        return ("objectid", str(value))
    if isinstance(value, list | tuple):
        return ("list", tuple(canon(v, tolerant) for v in value))
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, list) and (k in sets or k in bags):
                elements = [canon(e, tolerant) for e in v if e is not None]
                unique = (
                    sorted(set(elements), key=repr) if k in sets else sorted(elements, key=repr)
                )
                items.append((k, ("list", tuple(unique))))
            elif k in sets or k in bags:
                items.append((k, canon(v, tolerant)))
            else:
                items.append(
                    (
                        k,
                        canon(v, tolerant)
                        if not isinstance(v, list)
                        else ("list", tuple(canon(e, tolerant) for e in v if e is not None))
                        if k.startswith("a") and k[1:].isdigit()
                        else canon(v, tolerant),
                    )
                )
        return ("doc", tuple(sorted(items)))
    return ("other", type(value).__name__, repr(value))


def canon_rows(rows: list[Any], ordered: bool, **kw: Any) -> list[Canon]:
    """Canonical rows; sorted (a multiset) unless ``ordered``."""
    out = [canon(r, **kw) for r in rows]
    return out if ordered else sorted(out, key=repr)


def show(value: Any) -> str:
    """A short readable form for reports."""
    text = repr(value)
    return text if len(text) <= 600 else text[:600] + "..."
