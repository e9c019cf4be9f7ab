"""DuckDB's share of the SQL compiler that is not a hook: the SQL of JSON scalars by type,
MongoDB's order of JSON types, exact number comparisons and PCRE patterns in RE2's dialect.

DuckDB's ``JSON`` is text that the ``json`` functions parse: ``json_type()`` names a value's type
(``BIGINT``/``UBIGINT``/``DOUBLE`` for numbers, ``VARCHAR``, ``BOOLEAN``, ``OBJECT``, ``ARRAY``,
``NULL``), and a cast reads it as a SQL value. Casts run only under a ``CASE`` on the type (DuckDB
evaluates both sides of an ``AND``, and ``TRY_CAST('1.5'::JSON AS BIGINT)`` rounds to 2).
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal
from typing import Any

from xrepo.compile.sql._statement import rewrite_pattern

__all__ = [
    "INTEGERS",
    "NUMBERS",
    "epoch_us",
    "json_scalar",
    "mongo_order",
    "rank",
    "re2_pattern",
]

#: ``json_type()`` of integral JSON numbers, and of every JSON number.
INTEGERS = "('BIGINT', 'UBIGINT', 'HUGEINT')"
NUMBERS = "('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')"
#: An ISO 8601 date or datetime in a JSON string (JSON has no datetime: a nested datetime is
#: stored as its ISO text, and compares as a datetime with a datetime value).
_ISO = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_ISO_OFFSET = r"\d:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
#: Integers DuckDB holds exactly (``HUGEINT``).
_HUGE = 2**127


def json_scalar(j: str) -> dict[str, str]:
    """SQL of the typed value of the JSON value ``j`` by its JSON type (``NULL`` for others):
    ``int`` (``HUGEINT``), ``double``, ``string``, ``boolean``, ``epoch`` (microseconds of an
    ISO datetime string: naive means UTC) and ``date``."""
    t = f"json_type({j})"
    text = f"json_extract_string({j}, '$')"
    iso = f"regexp_full_match({text}, '{_ISO}')"
    return {
        "int": f"(CASE WHEN {t} IN {INTEGERS} THEN CAST({j} AS HUGEINT) END)",
        "double": f"(CASE WHEN {t} IN {NUMBERS} THEN CAST({j} AS DOUBLE) END)",
        "string": f"(CASE WHEN {t} = 'VARCHAR' THEN {text} END)",
        "boolean": f"(CASE WHEN {t} = 'BOOLEAN' THEN CAST({j} AS BOOLEAN) END)",
        "epoch": (
            f"(CASE WHEN {t} = 'VARCHAR' THEN CASE WHEN {iso} THEN "
            f"CASE WHEN regexp_matches({text}, '{_ISO_OFFSET}') "
            f"THEN epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)) "
            f"ELSE epoch_us(TRY_CAST({text} AS TIMESTAMP)) END END END)"
        ),
        "date": (
            f"(CASE WHEN {t} = 'VARCHAR' THEN CASE WHEN regexp_full_match({text}, '{_DATE}') "
            f"THEN TRY_CAST({text} AS DATE) END END)"
        ),
    }


def rank(j: str) -> str:
    """MongoDB's order of types of the JSON value ``j``: null and missing, numbers, strings,
    documents, arrays, booleans."""
    return (
        f"(CASE WHEN json_type({j}) IN {NUMBERS} THEN 1 WHEN json_type({j}) = 'VARCHAR' THEN 2 "
        f"WHEN json_type({j}) = 'OBJECT' THEN 3 WHEN json_type({j}) = 'ARRAY' THEN 4 "
        f"WHEN json_type({j}) = 'BOOLEAN' THEN 5 ELSE 0 END)"
    )


def mongo_order(j: str, direction: int) -> list[str]:
    """``ORDER BY`` terms sorting the JSON value ``j`` in MongoDB's order of types, then numbers
    by value, strings by code point (DuckDB's binary collation), booleans false first, documents
    and arrays by their text. Equal numbers tie (``10`` and ``10.0``, ``0.0`` and ``-0.0``), as
    in MongoDB, so that a later sort key decides."""
    way = "ASC" if direction > 0 else "DESC"
    s = json_scalar(j)
    nested = f"(CASE WHEN json_type({j}) IN ('OBJECT', 'ARRAY') THEN CAST({j} AS VARCHAR) END)"
    return [
        f"{rank(j)} {way}",
        f"{s['double']} {way}",
        f"{s['string']} {way}",
        f"{s['boolean']} {way}",
        f"{nested} {way}",
    ]


def epoch_us(value: _dt.datetime) -> int:
    """Microseconds since the epoch of ``value`` (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def integer_bound(symbol: str, value: int | float | Decimal) -> tuple[str, int] | bool | None:
    """``e <symbol> value`` for an integer ``e`` as a comparison with an integer DuckDB holds
    exactly (``(symbol, n)``), or a constant (``True``: every integer, ``False``: none), or
    ``None`` for NaN (matches nothing). ``i = 1.5`` never holds; ``i < 2.5`` is ``i < 3``."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal) and value.is_nan():
        return None
    if isinstance(value, float | Decimal) and not (
        math.isfinite(value) if isinstance(value, float) else value.is_finite()
    ):
        above = value > 0
        return symbol in ("<", "<=") if above else symbol in (">", ">=")
    exact = Decimal(value) if isinstance(value, float) else value
    if exact == int(exact):
        n = int(exact)
        if -_HUGE <= n < _HUGE:
            return symbol, n
        above = n > 0
        return symbol in ("<", "<=") if above else symbol in (">", ">=")
    if symbol == "=":
        return False
    floor = math.floor(exact)
    # A fraction lies strictly between floor and floor + 1.
    if symbol in (">", ">="):
        return integer_bound(">", floor) if -_HUGE <= floor < _HUGE else floor < 0
    return integer_bound("<", floor + 1) if -_HUGE <= floor + 1 < _HUGE else floor > 0


def re2_pattern(pattern: str) -> str:
    """``pattern`` (PCRE, as MongoDB reads it) in RE2's dialect (DuckDB's ``regexp_matches``)
    where the two read the same text differently: ``$`` is the end of the text or just before a
    final newline in PCRE, the end only in RE2 (it becomes ``(?:\\n?\\z)``; RE2 has no
    lookahead, and a match test may consume the newline). ``.`` already stops at a newline in
    both. Escaped characters and characters inside a bracket expression stay as they are."""
    return rewrite_pattern(pattern, {"$": "(?:\\n?\\z)"})


def literal_pattern(text: str) -> str:
    """An RE2 pattern matching ``text`` literally (``\\Q...\\E``; a ``\\E`` inside is split)."""
    parts = text.split("\\E")
    return "\\\\E".join(f"\\Q{p}\\E" if p else "" for p in parts)


def sql_type(value: Any) -> str:
    """The DuckDB type a bound scalar ``value`` is cast to (so that a parameter never takes the
    column's type: ``i = ?`` with 1.5 would be read as ``i = 2``)."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT" if -(2**63) <= value < 2**63 else "HUGEINT"
    if isinstance(value, float | Decimal):
        return "DOUBLE"
    if isinstance(value, _dt.datetime):
        return "TIMESTAMPTZ"
    if isinstance(value, _dt.date):
        return "DATE"
    if isinstance(value, _dt.time):
        return "TIME"
    return "VARCHAR"
