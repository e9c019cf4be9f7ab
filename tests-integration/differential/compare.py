"""Canonical forms of answers, so that mongod's and a backend's can be compared.

The only normalisations are the deviations docs/xrepo.md lists, plus the representation of
values that are the same value in BSON and in Python:

- numbers compare by value across int, float, Decimal and Decimal128 (design rule 1: "numbers
  compare numerically across int, float and Decimal"), but a bool is never a number and a str
  never a number: ``1`` from a boolean column is a mismatch;
- a ``date`` equals the midnight-UTC datetime the oracle stores for it (design rule 2: dates stay
  dates; BSON has no date type), at any depth (group keys, ``$first``, ``$push`` elements); a
  datetime must be aware (design rule 2: every backend returns aware UTC datetimes): a naive one
  is a mismatch;
- ``null`` == missing (docs/xrepo.md: "a missing field and `null` are the same thing"): keys
  whose value is ``None`` are dropped from documents, and ``None`` elements from the arrays of
  ``$push``/``$addToSet`` (mongod skips a missing field there but pushes an explicit null; SQL
  cannot tell them apart); compound keys see null for missing on the oracle (``$ifNull``);
- the results of ``$avg`` and ``$sum`` (:attr:`approx` keys) that mongod gives inexactly (a
  double, or a Decimal128 of up to 34 digits where PostgreSQL keeps at least 16 and MariaDB 14
  decimal places) compare to a relative 1e-9, or an absolute ``1e-14 x`` the sum of the dataset's
  magnitudes (the bound of a naive float summation of that data); an exact integer result must
  be exact;
- ``$addToSet`` arrays compare as sets, a ``$lookup`` array (bags) as a multiset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bson import ObjectId
from bson.decimal128 import Decimal128

Canon = Any
REL_TOL = Decimal("1e-9")
_NUMS = ("num", "~num")
ABS_FLOOR = Decimal("1e-12")


def _num(value: Any, approx: bool) -> Canon:
    inexact = isinstance(value, float | Decimal | Decimal128)
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    number = number.normalize() if number != 0 else Decimal(0)
    return ("~num" if approx and inexact else "num", number)


def canon(value: Any, sets: frozenset[str] = frozenset(), bags: frozenset[str] = frozenset(),
          approx: frozenset[str] = frozenset(), _near: bool = False) -> Canon:  # fmt: skip
    """A canonical form of ``value``: tuples, hashable and ordered by :func:`repr`."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float | Decimal | Decimal128):
        return _num(value, _near)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return ("naive datetime", value.isoformat())
        return ("datetime", value.astimezone(dt.UTC).isoformat())
    if isinstance(value, dt.date):
        midnight = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return ("datetime", midnight.isoformat())
    if isinstance(value, ObjectId):
        return ("objectid", str(value))
    if isinstance(value, list | tuple):
        return ("list", tuple(canon(v, _near=_near) for v in value))
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, list) and (k in sets or k in bags or _accumulated(k)):
                # null == missing: mongod pushes an explicit null but skips a missing field,
                # SQL cannot tell them apart, so null elements of accumulated arrays are dropped.
                elements = [canon(e) for e in v if e is not None]
                if not (k in sets or k in bags):
                    items.append((k, ("list", tuple(elements))))
                    continue
                unique = set(elements) if k in sets else elements
                items.append((k, ("list", tuple(sorted(unique, key=repr)))))
            else:
                items.append((k, canon(v, _near=k in approx)))
        return ("doc", tuple(sorted(items)))
    return ("other", type(value).__name__, repr(value))


def _accumulated(key: str) -> bool:
    """Whether ``key`` names a generated accumulator (``a0``, ``a1``...)."""
    return key.startswith("a") and key[1:].isdigit()


def canon_rows(rows: list[Any], ordered: bool, **kw: Any) -> list[Canon]:
    """Canonical rows; sorted (a multiset) unless ``ordered``."""
    out = [canon(r, **kw) for r in rows]
    return out if ordered else sorted(out, key=repr)


@dataclass(frozen=True)
class Tolerance:
    """How close an inexact number of mongod's (``~num``) must be: see the module docstring."""

    absolute: Decimal = ABS_FLOOR

    @classmethod
    def for_data(cls, data: Sequence[dict[str, Any]]) -> Tolerance:
        total = Decimal(0)

        def walk(node: Any) -> None:
            nonlocal total
            if isinstance(node, dict):
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
            elif isinstance(node, int | float | Decimal) and not isinstance(node, bool):
                total += abs(Decimal(repr(node)) if isinstance(node, float) else Decimal(node))

        walk(list(data))
        return cls(max(ABS_FLOOR, total * Decimal("1e-14")))

    def close(self, want: Canon, got: Canon) -> bool:
        """``got`` equals mongod's ``want``, inexact numbers of ``want`` within tolerance."""
        if want == got:
            return True
        if not (isinstance(want, tuple) and isinstance(got, tuple) and want and got):
            return False
        if want[0] in _NUMS and got[0] in _NUMS:
            a, b = want[1], got[1]
            if want[0] == "num":
                return bool(a == b)  # mongod's exact result (an int): no tolerance
            return abs(a - b) <= max(self.absolute, REL_TOL * max(abs(a), abs(b)))
        if want[0] != got[0] or len(want) != len(got):
            return False
        if want[0] == "doc":
            if [k for k, _ in want[1]] != [k for k, _ in got[1]]:
                return False
            return all(self.close(w, g) for (_, w), (_, g) in zip(want[1], got[1], strict=True))
        if want[0] == "list":
            return len(want[1]) == len(got[1]) and all(
                self.close(w, g) for w, g in zip(want[1], got[1], strict=True)
            )
        return False

    def same_rows(self, want: list[Canon], got: list[Canon], ordered: bool) -> bool:
        """The rows agree: in order, or as multisets (each of mongod's rows matched once)."""
        if len(want) != len(got):
            return False
        if ordered:
            return all(self.close(w, g) for w, g in zip(want, got, strict=True))
        left = list(got)
        for w in want:
            for n, g in enumerate(left):
                if self.close(w, g):
                    del left[n]
                    break
            else:
                return False
        return True


def row_diff(want: list[Canon], got: list[Canon], ordered: bool, tolerance: Tolerance) -> str:
    """A short account of how two canonical answers differ (for reports)."""
    if tolerance.same_rows(want, got, ordered=False):
        for n, (w, g) in enumerate(zip(want, got, strict=True)):
            if not tolerance.close(w, g):
                return f"same rows, order differs from position {n}"
    only_w = [w for w in want if not any(tolerance.close(w, g) for g in got)]
    only_g = [g for g in got if not any(tolerance.close(w, g) for w in want)]
    return f"mongod only: {show(only_w)}; ours only: {show(only_g)}"


def show(value: Any) -> str:
    """A short readable form for reports."""
    text = repr(value)
    return text if len(text) <= 600 else text[:600] + "..."
