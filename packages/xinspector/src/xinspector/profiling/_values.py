"""From a column's spellings to its values: converters, and the sample values by value.

The streaming pass counts a column's cells as they are written (``"1.5"`` and ``"1.50"``,
``"abc..."`` and ``"ABC..."``, ``"...10:00+02:00"`` and ``"...08:00Z"``): hashing the text is
what keeps it fast, and which of these are one value depends on the column's type, which is only
known at the end. Values equal in Python (``==`` of the converted values: numbers by value,
UUIDs by their 128 bits, aware datetimes by instant) are one value in every result; this module
holds the conversions and the sample values, which must be gathered before the type is known.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

__all__ = [
    "BOOL_TRUE",
    "REFINED",
    "SampleSpellings",
    "convert_text",
    "identity",
    "merged",
    "safe",
    "value_key",
]

# What the strings of a column of Python values are when every one of them is one of these.
REFINED = frozenset({"date", "datetime", "time", "UUID"})
BOOL_TRUE = frozenset({"true", "yes", "t", "y"})
# Types whose spellings are merged by value. Text and JSON text are values as written (as the
# engine, which groups JSON by its text); Python values ("Any") are already values.
_MERGED = frozenset({"bool", "int", "Decimal", "float", "date", "datetime", "time", "UUID"})


def _to_bool(v: str) -> bool:
    return v.lower() in BOOL_TRUE


def _to_json(v: str) -> Any:
    return json.loads(v)


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "Decimal": Decimal,
    "bool": _to_bool,
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
    "time": time.fromisoformat,
    "UUID": UUID,
    "json": _to_json,
}


def convert_text(type_name: str) -> Callable[[str], Any]:
    """The value of a text cell of a column of type ``type_name`` (``str`` for unknown ones)."""
    return _CONVERTERS.get(type_name, str)


def identity(value: Any) -> Any:
    return value


def safe(convert: Callable[[Any], Any], value: Any) -> Any:
    """``convert(value)``, or ``value`` itself when it does not convert."""
    try:
        return convert(value)
    except (ValueError, TypeError, InvalidOperation):
        return value


def merged(type_name: str) -> bool:
    """Whether the spellings of a ``type_name`` column are merged by value."""
    return type_name in _MERGED


def value_key(type_name: str) -> Callable[[Any], Any]:
    """What makes two spellings of a ``type_name`` column one value (hashable, compared
    with ``==``): the converted value for typed columns, the spelling itself otherwise."""
    return convert_text(type_name) if type_name in _MERGED else identity


class SampleSpellings:
    """The spellings that first wrote a column's first ``size`` distinct values, in input order.

    Spellings are kept while fewer than ``size`` values are known under the type the column
    has so far (its guess), at most ``cap`` of them (a few values written in thousands of ways,
    as UUIDs in random letter case can be, end the sampling rather than keep every way). Every
    new spelling is kept, including another spelling of a known value: the final type may tell
    them apart (a UUID-looking column that turns out to be text). :meth:`values` de-duplicates
    them under the final type.
    """

    def __init__(self, size: int, *, cap: int = 1_000) -> None:
        self.size = size
        self.cap = max(cap, 20 * size)
        self.spellings: list[Any] = []
        self._kept: set[Any] = set()
        self._guess: str | None = None
        self._values: set[Any] = set()

    def is_open(self) -> bool:
        """Whether more spellings are wanted."""
        return len(self._values) < self.size and len(self.spellings) < self.cap

    def fold(self, keys: Iterable[Any], guess: str) -> None:
        """Take new spellings from ``keys`` (distinct, non-null, in input order) for a column
        that is of type ``guess`` so far."""
        if guess != self._guess:
            # Another type, other equalities: the values of the kept spellings again.
            self._guess = guess
            key = value_key(guess)
            self._values = {safe(key, s) for s in self.spellings}
        if not self.is_open():
            return
        key = value_key(guess)
        for spelling in keys:
            if spelling in self._kept:
                continue
            self._kept.add(spelling)
            self.spellings.append(spelling)
            self._values.add(safe(key, spelling))
            if not self.is_open():
                return

    def values(self, convert: Callable[[Any], Any], *, merged: bool) -> list[Any]:
        """The first ``size`` values (``convert`` of each spelling), one per value when
        ``merged``, else one per spelling."""
        out: list[Any] = []
        seen: set[Any] = set()
        for spelling in self.spellings:
            value = safe(convert, spelling)
            if merged:
                if value in seen:
                    continue
                seen.add(value)
            out.append(value)
            if len(out) == self.size:
                break
        return out
