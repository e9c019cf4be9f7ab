"""Type names of the schema format, their Python types, and type inference.

A schema names types with short strings (``"int"``, ``"Decimal"``, ``"datetime"``, ``"object"``...)
so that it stays plain JSON. This module maps those names to Python types, tells the type of a
Python value, widens two types to one, and infers the type of text columns (CSV, Excel) from their
values: ``int``, ``float``, ``Decimal``, ``bool``, ``date``, ``datetime``, ``time``, ``UUID``,
``json``, and ``str`` with a ``format`` (``email``, ``url``) where every value has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter, methodcaller
from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator

__all__ = [
    "BSON_TYPES",
    "DEFAULT_NULL_TOKENS",
    "PATTERNS",
    "TYPE_NAMES",
    "DecimalValue",
    "JsonValue",
    "ObjectIdStr",
    "TextColumnTyper",
    "blank_to_none",
    "canonical_type",
    "detect_pattern",
    "infer_text_type",
    "is_numeric_type",
    "python_type",
    "split_union",
    "text_to_int",
    "type_of_value",
    "unify_types",
]

#: Text that means "no value" in a CSV or Excel cell (compared after stripping, case-sensitive).
DEFAULT_NULL_TOKENS: frozenset[str] = frozenset(
    {"", "NULL", "null", "None", "none", "NA", "N/A", "n/a", "NaN", "nan", "-"}
)

#: Python type names of the BSON type aliases (``$type``, ``bsonType``) and of the JSON Schema
#: ``number``; the profiler names the types it counts with it too.

#: The MongoDB collation that compares text by code point (``simple``), whatever collation a
#: collection was created with: every xinspector pipeline runs with it, so that ``'a'`` and
#: ``'A'`` stay two values and bounds follow Python's order, as on every other backend.
MONGO_CODE_POINTS: dict[str, str] = {"locale": "simple"}

BSON_TYPES = {
    "string": "str",
    "int": "int",
    "long": "int",
    "double": "float",
    "decimal": "Decimal",
    "bool": "bool",
    "date": "datetime",
    "timestamp": "datetime",
    "objectId": "ObjectId",
    "object": "object",
    "array": "list",
    "binData": "bytes",
    "null": "None",
    "number": "float",
}


def _oid_to_str(value: Any) -> Any:
    # bson.ObjectId (and anything with a 24-hex str()) validates as its hex string.
    if type(value).__name__ == "ObjectId":
        return str(value)
    return value


def _decimal128_to_decimal(value: Any) -> Any:
    # bson.Decimal128 (how MongoDB stores exact decimals) validates as its Decimal.
    if type(value).__name__ == "Decimal128":
        return value.to_decimal()
    return value


def _decode_json_text(value: Any) -> Any:
    # JSON columns arrive as text from CSV files and some drivers, decoded from others.
    if isinstance(value, str | bytes) and value[:1] in ("{", "[", b"{", b"["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def blank_to_none(value: Any) -> Any:
    """``None`` for text that means "no value" (CSV and Excel cells), the value otherwise."""
    if isinstance(value, str) and value.strip() in DEFAULT_NULL_TOKENS:
        return None
    return value


def text_to_int(value: Any) -> Any:
    """An ``int`` for text holding an integer (a CSV cell), the value otherwise: ``Literal``
    value sets of integers take their own rows' text."""
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("+-").isdigit():
            return int(text)
    return value


#: A MongoDB ``ObjectId`` held as its 24-character hex string in generated models.
ObjectIdStr = Annotated[str, BeforeValidator(_oid_to_str)]
#: A ``Decimal`` that also takes MongoDB's ``Decimal128`` (as read from a collection).
DecimalValue = Annotated[Decimal, BeforeValidator(_decimal128_to_decimal)]
#: Any JSON value; text holding a JSON object or array is decoded first.
JsonValue = Annotated[Any, BeforeValidator(_decode_json_text)]

#: Schema type name -> Python type. ``object`` is a nested model and ``list`` a list whose element
#: type is in the field's ``items``; both are resolved by the model generator.
TYPE_NAMES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "Decimal": DecimalValue,
    "bool": bool,
    "date": date,
    "datetime": datetime,
    "time": time,
    "timedelta": timedelta,
    "UUID": UUID,
    "bytes": bytes,
    "dict": dict[str, Any],
    "object": dict[str, Any],
    "list": list[Any],
    "json": JsonValue,
    "ObjectId": ObjectIdStr,
    "Any": Any,
    "None": type(None),
}

# Spellings found in older schemas (the repo spec's ModelGenerator) and other tools.
_ALIASES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "decimal": "Decimal",
    "uuid": "UUID",
    "EmailStr": "str",
    "HttpUrl": "str",
    "List[Any]": "list",
    "Dict[str, Any]": "dict",
    "array": "list",
    "null": "None",
    "NoneType": "None",
}

_NUMERIC = frozenset({"int", "float", "Decimal"})
_TEMPORAL = frozenset({"date", "datetime", "time"})


def canonical_type(name: str) -> str:
    """The canonical spelling of a type name (``"integer"`` -> ``"int"``); unknown names pass."""
    return _ALIASES.get(name, name)


def split_union(name: str) -> list[str]:
    """The members of a union type name: ``"int | str"`` -> ``["int", "str"]``."""
    return [canonical_type(p.strip()) for p in name.split("|") if p.strip()]


def python_type(name: str) -> Any:
    """The Python type of a schema type name; unions become ``X | Y``; unknown names ``Any``."""
    parts = split_union(name)
    types = [TYPE_NAMES.get(p, Any) for p in parts] or [Any]
    if Any in types:
        return Any
    result = types[0]
    for t in types[1:]:
        result = result | t
    return result


def is_numeric_type(name: str) -> bool:
    """Whether values of this type have a mean and a standard deviation."""
    return canonical_type(name) in _NUMERIC


def type_of_value(value: Any) -> str:
    """The schema type name of one Python value (``True`` is ``bool``, not ``int``)."""
    if value is None:
        return "None"
    # Order matters: bool is an int, datetime is a date.
    for cls, name in (
        (bool, "bool"),
        (int, "int"),
        (float, "float"),
        (Decimal, "Decimal"),
        (str, "str"),
        (datetime, "datetime"),
        (date, "date"),
        (time, "time"),
        (timedelta, "timedelta"),
        (UUID, "UUID"),
        (bytes | bytearray | memoryview, "bytes"),
        (dict, "object"),
        (list | tuple, "list"),
    ):
        if isinstance(value, cls):
            return name
    if type(value).__name__ == "ObjectId":
        return "ObjectId"
    if type(value).__name__ == "Decimal128":
        return "Decimal"
    return "Any"


def unify_types(a: str, b: str) -> str:
    """The narrowest type that holds values of both ``a`` and ``b`` (``int``+``float`` is
    ``float``, ``date``+``datetime`` is ``datetime``, otherwise a union ``"a | b"``)."""
    if a == b:
        return a
    if a == "None":
        return b
    if b == "None":
        return a
    members = set(split_union(a)) | set(split_union(b))
    members.discard("None")
    if "Any" in members:
        return "Any"
    if members <= _NUMERIC:
        return "Decimal" if "Decimal" in members else "float"
    if members == {"date", "datetime"}:
        return "datetime"
    if members == {"object", "dict"}:
        return "object"
    order = [
        "bool",
        "int",
        "float",
        "Decimal",
        "str",
        "date",
        "datetime",
        "time",
        "timedelta",
        "UUID",
        "bytes",
        "ObjectId",
        "object",
        "dict",
        "list",
        "json",
    ]
    return " | ".join(sorted(members, key=lambda m: order.index(m) if m in order else 99))


# -- patterns -------------------------------------------------------------------------------
#: Recognized string patterns: name -> compiled regular expression (full match).
PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    "url": re.compile(r"(?:https?|ftp)://[^\s/$.?#][^\s]*", re.IGNORECASE),
    "uuid": re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
    "phone": re.compile(r"\+?(?:\d[\s().-]{0,2}){7,15}"),
}


def detect_pattern(values: Iterable[str], *, threshold: float = 0.9) -> tuple[str | None, float]:
    """The pattern most values match, and the fraction of values that match it.

    ``(None, 0.0)`` when no pattern reaches ``threshold`` (or there are no values).
    """
    sample = [v for v in values if isinstance(v, str)]
    if not sample:
        return None, 0.0
    best: tuple[str | None, float] = (None, 0.0)
    for name, pattern in PATTERNS.items():
        hits = sum(1 for _ in filter(None, map(pattern.fullmatch, sample)))
        share = hits / len(sample)
        if share > best[1]:
            best = (name, share)
    return best if best[1] >= threshold else (None, best[1])


# -- text columns ---------------------------------------------------------------------------
# The strict spellings reject leading zeros ("007"): such codes are text, not numbers.
_INT = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
_INT_LOOSE = re.compile(r"[+-]?[0-9]+")
_FIXED = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)")
_FIXED_LOOSE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FLOAT = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_FLOAT_LOOSE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}"
    r"(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?")
_BOOL_TOKENS = frozenset({"true", "false", "yes", "no", "t", "f", "y", "n"})
_IMPLIES = {
    "int": frozenset({"Decimal", "float"}),
    "Decimal": frozenset({"float"}),
    "date": frozenset({"datetime"}),
}
# Text candidates in order of preference: the first one every value satisfies wins.
_TEXT_ORDER = ("bool", "int", "Decimal", "float", "date", "datetime", "time", "UUID", "json")


_SCALED: dict[tuple[int, bool], re.Pattern[str]] = {}


def _fixed_with_scale(scale: int, strict: bool) -> re.Pattern[str]:
    """Fixed-point numbers with at most ``scale`` digits after the point."""
    key = (scale, strict)
    pattern = _SCALED.get(key)
    if pattern is None:
        whole = "(?:0|[1-9][0-9]*)" if strict else "[0-9]+"
        frac = rf"(?:\.[0-9]{{0,{scale}}})?"
        lead = rf"|\.[0-9]{{1,{scale}}}" if scale else ""
        pattern = _SCALED[key] = re.compile(rf"[+-]?(?:{whole}{frac}{lead})")
    return pattern


def _all_parse(parser: Any, values: list[str]) -> bool:
    # Run the parser over every value at C speed; the first failure answers.
    try:
        for _ in map(parser, values):
            pass
    except (ValueError, TypeError):
        return False
    return True


def _is_json_container(values: list[str]) -> bool:
    for v in values:
        if not v or v[0] not in "{[":
            return False
        try:
            json.loads(v)
        except ValueError:
            return False
    return True


class TextColumnTyper:
    """Infers the type of a column of text values, fed in chunks of distinct values.

    Candidates that a value contradicts are dropped as chunks arrive, so each chunk costs one
    regular-expression pass per surviving candidate (C-level ``map``), and the memory is constant.

    Args:
        decimal_scale_limit: fixed-point numbers with at most this many digits after the point
            are ``Decimal`` (exact, like money); more digits or an exponent make them ``float``.
        strict_leading_zeros: an integer-looking value with a leading zero (``"0062465600"``)
            keeps the column ``str``: converting it would destroy data.

    Examples:
        >>> t = TextColumnTyper()
        >>> t.update(["1", "2", "3.50"])
        >>> t.result()
        ('Decimal', None, {'decimal_places': 2})
    """

    def __init__(self, *, decimal_scale_limit: int = 4, strict_leading_zeros: bool = True) -> None:
        self.decimal_scale_limit = decimal_scale_limit
        self.strict_leading_zeros = strict_leading_zeros
        self._candidates = list(_TEXT_ORDER)
        self._formats = ["email", "url"]
        self._max_scale = 0
        self._seen = 0

    def update(self, values: Iterable[str]) -> None:
        """Narrow the candidates with more distinct, non-null, stripped values."""
        vals = values if isinstance(values, list) else list(values)
        if not vals:
            return
        self._seen += len(vals)
        kept: list[str] = []
        implied: frozenset[str] = frozenset()
        for cand in self._candidates:
            if cand in implied:
                # int values are Decimal and float values too; dates are datetimes.
                kept.append(cand)
            elif self._accepts(cand, vals):
                kept.append(cand)
                implied = implied | _IMPLIES.get(cand, frozenset())
        self._candidates = kept
        if kept:
            # Values that parse as a number, date, UUID, JSON or bool are never e-mails or URLs.
            self._formats = []
        elif self._formats:
            self._formats = [f for f in self._formats if all(map(PATTERNS[f].fullmatch, vals))]

    def _accepts(self, cand: str, vals: list[str]) -> bool:
        # Every check is one C-level pass (``all(map(regex.fullmatch, ...))``): this runs over
        # each chunk's distinct values, the hot path of profiling a file.
        strict = self.strict_leading_zeros
        if cand == "bool":
            return all(map(_BOOL_TOKENS.__contains__, map(str.lower, vals)))
        if cand == "int":
            # Fast path: plain digits with no leading zero (str.isdigit also accepts other
            # Unicode digits, so it only ever short-cuts to the regular expression).
            if (
                all(map(str.isascii, vals))
                and all(map(str.isdigit, vals))
                and (not strict or "0" not in set(map(itemgetter(0), vals)))
            ):
                return True
            return all(map((_INT if strict else _INT_LOOSE).fullmatch, vals))
        if cand == "Decimal":
            # One pass when no value has more decimals than seen before (the usual case).
            if all(map(_fixed_with_scale(self._max_scale, strict).fullmatch, vals)):
                return True
            if not all(map((_FIXED if strict else _FIXED_LOOSE).fullmatch, vals)):
                return False
            scale = max(map(len, map(itemgetter(2), map(methodcaller("partition", "."), vals))))
            self._max_scale = max(self._max_scale, scale)
            return self._max_scale <= self.decimal_scale_limit
        if cand == "float":
            return all(map((_FLOAT if strict else _FLOAT_LOOSE).fullmatch, vals))
        if cand == "date":
            return all(map(_DATE.fullmatch, vals)) and _all_parse(date.fromisoformat, vals)
        if cand == "datetime":
            return all(map(_DATETIME.fullmatch, vals)) and _all_parse(datetime.fromisoformat, vals)
        if cand == "time":
            return all(map(_TIME.fullmatch, vals)) and _all_parse(time.fromisoformat, vals)
        if cand == "UUID":
            return all(map(PATTERNS["uuid"].fullmatch, vals))
        if cand == "json":
            return _is_json_container(vals)
        return False

    @property
    def candidates(self) -> tuple[str, ...]:
        """The types every value seen so far satisfies, most specific first."""
        return tuple(self._candidates)

    @property
    def formats(self) -> tuple[str, ...]:
        """The text formats (``email``, ``url``) every value seen so far matches."""
        return tuple(self._formats)

    def result(self) -> tuple[str, str | None, dict[str, Any]]:
        """``(type, format, constraints)``; ``("None", None, {})`` when no value was seen."""
        if not self._seen:
            return "None", None, {}
        for cand in self._candidates:
            if cand == "Decimal":
                return "Decimal", None, {"decimal_places": self._max_scale}
            return cand, ("json" if cand == "json" else None), {}
        fmt = self._formats[0] if self._formats else None
        return "str", fmt, {}


def infer_text_type(
    values: Iterable[str | None], *, null_tokens: frozenset[str] = DEFAULT_NULL_TOKENS
) -> str:
    """The type name of a small list of text values (nulls skipped): a convenience wrapper."""
    typer = TextColumnTyper()
    typer.update(
        sorted({v.strip() for v in values if v is not None and v.strip() not in null_tokens})
    )
    return typer.result()[0]
