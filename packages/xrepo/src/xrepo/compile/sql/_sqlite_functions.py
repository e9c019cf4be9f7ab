"""What SQLite lacks, supplied in Python: stored values and the functions of every connection.

- **stored values**: datetimes as fixed-width ISO text in UTC (:func:`canonical_datetime`, so
  text order is time order), JSON text of documents (``_json_default``), the type bracket of a
  value and the doubles SQLite compares a number with (``_double_bounds``), MongoDB's order of
  JSON types (``_RANK``) and the canonical JSON text of a JSON value (``json_text``);
- **functions** registered on every connection by the repository (:data:`SQLITE_FUNCTIONS`):
  ``regexp``, ``xr_regexp`` (the ``regex`` module under a time bound per value; a pattern that
  runs past it is recorded for :func:`regex_timed_out`), ``xr_fold`` (Unicode simple case
  folding), ``xr_endswith`` (SQLite's text functions stop at a NUL character) and ``xr_dt``
  (stored datetime text in the canonical form).
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import math
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from xrepo.compile._casefold import fold
from xrepo.compile._patterns import DEFAULT_REGEX_TIMEOUT, compile_pattern

__all__ = ["SQLITE_FUNCTIONS", "canonical_datetime", "regex_timed_out"]

_INT64 = (-(2**63), 2**63 - 1)
#: ``GLOB`` of the canonical datetime text (rows written by this version).
_CANONICAL_DT = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]."
    "[0-9][0-9][0-9][0-9][0-9][0-9]+00:00"
)


def canonical_datetime(value: _dt.datetime) -> str:
    """The stored text of a datetime: UTC (naive means UTC), microseconds always written."""
    aware = value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value.astimezone(_dt.UTC)
    return aware.isoformat(timespec="microseconds")


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return canonical_datetime(value)
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def _kind(value: Any) -> str:
    """The type bracket of a value: ``bool``, ``number``, ``text``, ``datetime`` or ``""``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, str | _dt.date | _dt.time | uuid.UUID):
        return "text"
    return ""


def _double_bounds(value: int | float | Decimal) -> float | tuple[float, float] | None:
    """``value`` as SQLite compares it: an int64 or a double when exact (a Decimal as the double
    it is stored as); else, for an int beyond int64, the doubles just below and above it;
    ``None`` for NaN."""
    if isinstance(value, Decimal):
        # Decimals are stored as doubles: compare with the double a Decimal is stored as.
        value = float("nan") if value.is_nan() else float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
        return value  # SQLite compares 64-bit integers with doubles exactly
    try:
        f = float(value)
    except OverflowError:
        f = math.inf if value > 0 else -math.inf
    if math.isinf(f):
        if f > 0:
            return (sys.float_info.max, math.inf)
        return (-math.inf, -sys.float_info.max)
    exact = Decimal(f)
    if exact == value:
        return f
    if exact > value:
        return (math.nextafter(f, -math.inf), f)
    return (f, math.nextafter(f, math.inf))


#: MongoDB's order of types over ``json_type()``: null and missing, numbers, strings, documents,
#: arrays, booleans.
_RANK = (
    "(CASE {t} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'object' THEN 3 "
    "WHEN 'array' THEN 4 WHEN 'true' THEN 5 WHEN 'false' THEN 5 ELSE 0 END)"
)


def json_text(x: str, t: str, *, null: str = "NULL") -> str:
    """SQL for the canonical JSON text of the JSON value ``x`` (``json_extract``) of type ``t``
    (``json_type``): ``true`` stays ``true`` (``json_extract`` gives 1), ``"1"`` stays a string,
    and an integral real is written as an integer, so ``10`` and ``10.0`` are one text (MongoDB
    groups numbers by value). JSON ``null`` becomes ``null`` (``NULL``: the same as missing)."""
    integral = f"{x} = CAST({x} AS INTEGER) AND abs({x}) < 9007199254740992"
    return (
        f"(CASE {t} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN {null} "
        f"WHEN 'text' THEN json_quote({x}) WHEN 'integer' THEN CAST({x} AS TEXT) "
        f"WHEN 'real' THEN CASE WHEN {integral} THEN CAST(CAST({x} AS INTEGER) AS TEXT) "
        f"ELSE printf('%!.17g', {x}) END ELSE json({x}) END)"
    )


# -- functions registered on every SQLite connection ----------------------------------------------
#: Patterns (as sent to SQLite) whose evaluation ran past its bound -> the bound. SQLite
#: replaces a function's exception by "user-defined function raised exception": this is how the
#: repository learns which ``$regex`` it was (:func:`regex_timed_out`).
_TIMED_OUT: dict[str, float] = {}


def _regexp_bounded(value: Any, pattern: Any, bound: Any) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not bound > 0:
        bound = DEFAULT_REGEX_TIMEOUT
    try:
        # concurrent=True: the GIL is released while matching, for the loop's thread.
        found = compile_pattern(pattern).search(value, timeout=bound, concurrent=True)
    except TimeoutError:
        if len(_TIMED_OUT) >= 256:  # entries are taken by the repository; never grow unbounded
            _TIMED_OUT.clear()
        _TIMED_OUT[pattern] = float(bound)
        raise
    return found is not None


def _regexp(pattern: Any, value: Any) -> bool:
    # SQLite calls regexp(pattern, value) for `value REGEXP pattern` (kept for callers' own SQL).
    return _regexp_bounded(value, pattern, DEFAULT_REGEX_TIMEOUT)


def regex_timed_out(pattern: str) -> float | None:
    """The bound ``pattern`` (as sent to SQLite, with a leading ``(?i)`` for ``i``) ran past
    since the last call, or ``None``; the record is taken."""
    return _TIMED_OUT.pop(pattern, None)


def _fold(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def _endswith(value: Any, suffix: Any) -> bool:
    return isinstance(value, str) and isinstance(suffix, str) and value.endswith(suffix)


@functools.lru_cache(maxsize=4096)
def _dt_text(value: Any) -> Any:
    """Stored datetime text (any ``isoformat()``, any offset, naive meaning UTC) in the
    canonical form; anything else unchanged (it then compares as the text it is)."""
    if not isinstance(value, str):
        return value
    try:
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return canonical_datetime(parsed)


#: ``(name, number of arguments, function)`` to register on every SQLite connection
#: (``create_function(..., deterministic=True)``).
SQLITE_FUNCTIONS: tuple[tuple[str, int, Callable[..., Any]], ...] = (
    ("regexp", 2, _regexp),
    ("xr_regexp", 3, _regexp_bounded),
    ("xr_fold", 1, _fold),
    ("xr_endswith", 2, _endswith),
    ("xr_dt", 1, _dt_text),
)
