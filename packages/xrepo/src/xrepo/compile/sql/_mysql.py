# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""MariaDB and MySQL: exact strings whatever the table's collation, typed JSON paths.

MongoDB compares strings byte by byte (code-point order, trailing spaces and case significant)
and never compares values of different types. MariaDB compares by the column's collation
(``utf8mb4_general_ci`` by default: ``"abc" = "ABC " = "àbc"``; even ``utf8mb4_bin`` pads
trailing spaces) and converts between strings and numbers (``'abc' = 0``). So this compiler:

- gives every string it compares, sorts, groups or aggregates the collation
  ``utf8mb4_nopad_bin`` (byte order of UTF-8 = code-point order, no padding): on a text column
  in an output place (``ORDER BY``, ``GROUP BY``, ``DISTINCT``, ``MIN``/``MAX``, projections, so
  later stages inherit it), on JSON values and on unwound array elements. An equality on a text
  column stays sargable: ``col = ? AND col = ? COLLATE utf8mb4_nopad_bin`` (the first term walks
  the index under the column's collation, which is coarser, the second keeps the exact rows);
- compares typed: a JSON path value is read by ``JSON_TYPE`` (a string never equals a number, a
  boolean never equals 1), a column of unknown type (``Any`` fields, values after ``$group`` or
  ``$project``) is checked with ``CHARSET()`` (``binary`` for numbers and temporals);
- tests list membership on the elements (``JSON_TABLE``), not on the JSON text, whose escapes
  (``"\\u00e9"`` against ``"é"``) depend on who wrote it;
- sums and averages only numbers; ``$avg`` is computed in ``DOUBLE`` as MongoDB does (exact
  ``DECIMAL`` division for ``Decimal`` fields);
- folds case with ``LOWER`` under ``utf8mb4_uca1400_ai_ci`` (Unicode 14 case mapping, like
  Python's ``str.lower()``; the default collation's ``LOWER`` leaves ``ẞ`` and letters outside
  the BMP as they are).
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from xrepo.compile.sql._compiler import SQLCompiler
from xrepo.compile.sql._statement import like_pattern
from xrepo.query import TEXT_OPS, Condition, Kind, Node, Not, Or, python_type

__all__ = ["MySQLCompiler"]

#: Byte order of UTF-8 (= code-point order), trailing spaces significant.
EXACT = "utf8mb4_nopad_bin"
#: The collation whose ``LOWER`` follows Unicode's case mapping (MariaDB 10.10 and later).
CASE_FOLD = "utf8mb4_uca1400_ai_ci"

#: SQL types of unwound array elements, by the list's declared element type.
_ELEMENT_TYPES: dict[Any, str] = {
    str: f"LONGTEXT CHARACTER SET utf8mb4 COLLATE {EXACT}",
    int: "BIGINT",
    float: "DOUBLE",
}
#: Integral doubles below 2**53 are exact as integers.
_EXACT_DOUBLE = "9007199254740992"
#: The JSON types of numbers.
_NUMBER = "('INTEGER','DOUBLE')"
#: MongoDB's order of types, as the rank of each ``JSON_TYPE`` (null/missing lowest).
_RANK = (
    "CASE COALESCE(JSON_TYPE({x}), 'NULL') WHEN 'NULL' THEN 0 WHEN 'INTEGER' THEN 1 "
    "WHEN 'DOUBLE' THEN 1 WHEN 'STRING' THEN 2 WHEN 'OBJECT' THEN 3 WHEN 'ARRAY' THEN 4 "
    "WHEN 'BOOLEAN' THEN 5 END"
)
# PCRE2 (MariaDB's REGEXP) spells Python's \uXXXX and \UXXXXXXXX escapes \x{...}.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")


def _value_kind(value: Any) -> str:
    """``text``, ``bool``, ``number`` or ``other`` (dates, times, UUIDs...)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def _column_kind(kind: Any) -> str:
    """How a column of field kind ``kind`` compares: ``text``, ``number``, ``bool``, ``array``,
    ``document``, ``other`` (temporal, UUID...) or ``unknown`` (checked at run time)."""
    if kind is None:
        return "unknown"
    if kind is list:
        return "array"
    if kind is dict:
        return "document"
    if kind is str:
        return "text"
    if kind is bool:
        return "bool"
    if kind in (int, float):
        return "number"
    if kind is Decimal:
        return "decimal"
    if kind is uuid.UUID:
        return "text"
    if kind in (_dt.datetime, _dt.date, _dt.time):
        return "other"
    return "unknown"


class MySQLCompiler(SQLCompiler):
    """The compiler of MariaDB and MySQL (MariaDB 10.10+ for the Unicode case folding)."""

    no_limit = "18446744073709551615"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # How each expression just compiled compares (keyed by its SQL text; a later expr()
        # of the same text overwrites it, and every hook runs right after its expr()).
        self._kinds: dict[str, str] = {}
        # The field each expression reads (for errors), and the columns of the current derived
        # block that hold JSON text (a nested path projected or grouped on, say).
        self._paths: dict[str, str] = {}
        self._json_names: set[str] = set(self.any_columns)  # Any columns: JSON text

    @staticmethod
    def adapt(value: Any) -> Any:
        value = SQLCompiler.adapt(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    # -- expressions ----------------------------------------------------------------------------
    def expr(
        self,
        path: str,
        fields: Sequence[str] | None,
        *,
        filtering: Any = None,
        for_output: bool = False,
    ) -> tuple[str, bool]:
        e, is_json = super().expr(path, fields, filtering=filtering, for_output=for_output)
        if e in self._kinds and fields is not None and path not in fields:
            return e, is_json  # a JSON path: nested() said how it compares
        # Only the table's own columns have a known type: a name after $project/$group may
        # hold anything.
        self._paths[e] = path
        # The kinds of the fields this stage reads, followed from the table's through the
        # earlier stages: a derived column keeps its table's collation (general_ci, say), so a
        # text field after $unwind or $group is made exact like the table's own columns.
        known = self.kinds_in.get(path) if fields is not None and path in fields else None
        if fields is self.columns and self.columns is not None and path not in self.any_columns:
            kind = _column_kind(python_type(self.field_kinds.get(path)))
        elif known is not None and known.kind is Kind.LIST:
            kind = "array"  # a list (a $push, a $group key): compared element by element
        elif path in self._json_names:
            # JSON text in a derived column: compared by JSON_TYPE like a nested path.
            if filtering is not None and for_output is False:
                e = self._typed_json(e, filtering) or e
                return e, False
            self._kinds[e] = "json"
            return e, True
        else:
            kind = _column_kind(python_type(known))
        if kind == "text" and filtering is None:
            # Outside a filter: sort, group, aggregate, project exactly; later stages inherit it.
            e = f"{e} COLLATE {EXACT}"
            kind = "exact"
        self._kinds[e] = kind
        return e, is_json

    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        pp = self.p(self.json_path(segs))
        x = f"JSON_EXTRACT({col}, {pp})"
        if for_output or filtering is None:
            self._kinds[x] = "json"
            return x, True
        typed = self._typed_json(x, filtering)
        if typed is None:
            v = f"JSON_VALUE({col}, {pp})"
            self._kinds[v] = "other"
            return v, False
        return typed, False

    def _typed_json(self, x: str, filtering: Any) -> str | None:
        """The JSON value ``x`` as SQL of the type of ``filtering``, ``NULL`` when it holds
        another type (so it never equals, and ``$ne`` always holds); ``None`` for values of no
        JSON type (dates...)."""
        t = f"JSON_TYPE({x})"
        v = f"JSON_VALUE({x}, '$')"
        kind = _value_kind(filtering)
        if kind == "text":
            e = f"IF({t} = 'STRING', {v}, NULL) COLLATE {EXACT}"
        elif kind == "number":
            e = f"IF({t} IN {_NUMBER}, CAST({v} AS DOUBLE), NULL)"
        elif kind == "bool":
            e = f"IF({t} = 'BOOLEAN', {v} = '1', NULL)"  # JSON_VALUE spells true '1'
        else:
            return None
        self._kinds[e] = "exact"
        return e

    def _nested_path(self, path: str, fields: Sequence[str] | None) -> bool:
        return fields is not None and path not in fields and "." in path

    # -- filters --------------------------------------------------------------------------------
    def condition(self, c: Condition, fields: Sequence[str] | None) -> str:
        json_text = fields is not None and c.path in fields and c.path in self._json_names
        if json_text and not self.list_valued(c.path):
            return self._any_condition(c, fields)
        if self._nested_path(c.path, fields):
            node = self._nested_condition(c)
            if node is not None:
                return self.where(node, fields)
            if (c.op == "exists") or (c.value is None and c.op in ("eq", "ne", "gte", "lte")):
                present = self._present(c.path, fields)
                if c.op == "exists":
                    return present if c.value else f"(NOT {present})"
                return present if c.op == "ne" else f"(NOT {present})"
        return super().condition(c, fields)

    def _any_condition(self, c: Condition, fields: Sequence[str] | None) -> str:
        """A condition on a column holding JSON text (an ``Any`` column, a JSON column of a
        derived block): a scalar is compared type-strictly, an array matches when one of its
        elements does (MongoDB's rule for arrays)."""
        op, value = c.op, c.value
        sample = value[0] if op in ("in", "nin") and value else value
        if isinstance(sample, dict | list):
            return super().condition(c, fields)  # refused by the base, naming the field
        if op == "exists" or (value is None and op in ("eq", "ne", "gte", "lte")):
            present = self._present(c.path, fields)
            return present if (value if op == "exists" else op == "ne") else f"(NOT {present})"
        if value is None:
            return self.false  # $gt/$lt null: nothing
        node = self._nested_condition(c)
        if node is not None:  # $in/$nin: one typed equality per value
            return self.where(node, fields)
        if op == "ne":
            return (
                f"(NOT COALESCE({self._any_condition(Condition(c.path, 'eq', value), fields)}, 0))"
            )
        e = self.q(c.path)
        typed = self._typed_json(e, "") if op in TEXT_OPS else self._typed_json(e, value)
        self._kinds[e] = "array"
        if op in _SYMBOLS:
            scalar = self.compare(typed, _SYMBOLS[op], value) if typed else self.false
            elements = self.compare(e, _SYMBOLS[op], value)
        elif op == "regex":
            scalar, elements = self.regex(typed or e, *value), self.regex(e, *value)
        else:
            scalar, elements = self.like(typed or e, op, value), self.like(e, op, value)
        return f"({scalar} OR (JSON_TYPE({e}) = 'ARRAY' AND {elements}))"

    def _nested_condition(self, c: Condition) -> Node | None:
        """``$in``/``$nin`` on a JSON path as one typed equality per value."""
        if c.op not in ("in", "nin") or not isinstance(c.value, list | tuple):
            return None
        node: Node = Or(tuple(Condition(c.path, "eq", v) for v in c.value))
        return Not(node) if c.op == "nin" else node

    def _present(self, path: str, fields: Sequence[str] | None) -> str:
        """Whether a JSON path holds a value other than null (objects and arrays included)."""
        x, _ = self.expr(path, fields, for_output=True)
        return f"COALESCE(JSON_TYPE({x}) <> 'NULL', 0)"

    def compare(self, e: str, symbol: str, value: Any) -> str:
        kind, vk = self._kinds.get(e, "unknown"), _value_kind(value)
        if kind in ("exact", "other"):
            return f"{e} {symbol} {self.p(value)}"
        if kind == "text":
            if vk != "text":
                return self.false
            exact = f"{e} {symbol} {self.p(value)} COLLATE {EXACT}"
            if symbol == "=":
                # The first term can walk an index under the column's (coarser) collation.
                return f"({e} = {self.p(value)} AND {exact})"
            return exact
        if kind in ("number", "decimal"):
            return f"{e} {symbol} {self.p(value)}" if vk == "number" else self.false
        if kind == "bool":
            return f"{e} {symbol} {self.p(value)}" if vk == "bool" else self.false
        if kind == "array":
            return self._any_element(e, lambda v, t: _element_test(self, v, t, symbol, value))
        if kind == "document":
            return self.false
        # Unknown type: the comparison holds only between values of the same type.
        if vk == "text":
            return f"({e} {symbol} {self.p(value)} COLLATE {EXACT} AND CHARSET({e}) <> 'binary')"
        if vk in ("number", "bool"):
            return f"({e} {symbol} {self.p(value)} AND CHARSET({e}) = 'binary')"
        return f"{e} {symbol} {self.p(value)}"

    def compare_in(self, e: str, values: Sequence[Any]) -> str:
        kind = self._kinds.get(e, "unknown")
        kinds = {_value_kind(v) for v in values}
        if kind == "text" and kinds == {"text"}:
            listed = ", ".join(self.p(v) for v in values)
            exact = ", ".join(f"{self.p(v)} COLLATE {EXACT}" for v in values)
            return f"({e} IN ({listed}) AND {e} IN ({exact}))"
        if kind in ("number", "decimal", "bool", "other", "exact") and len(kinds) == 1:
            if kind in ("number", "decimal") and kinds != {"number"}:
                return self.false
            if kind == "bool" and kinds != {"bool"}:
                return self.false
            return super().compare_in(e, values)
        return "(" + " OR ".join(self.compare(e, "=", v) for v in values) + ")"

    def array_contains(self, e: str, value: Any) -> str:
        return self._any_element(e, lambda v, t: _element_test(self, v, t, "=", value))

    def _any_element(self, e: str, test: Any) -> str:
        """Whether an element of the JSON array ``e`` passes ``test(text, json)``: the
        element's text (exact collation) and its JSON form (for ``JSON_TYPE``)."""
        u = self.q(self.alias("j"))
        cond = test(f"{u}.v", f"{u}.j")
        return (
            f"EXISTS (SELECT 1 FROM JSON_TABLE({e}, '$[*]' COLUMNS ("
            f"v LONGTEXT CHARACTER SET utf8mb4 COLLATE {EXACT} PATH '$', j JSON PATH '$')) "
            f"AS {u} WHERE {cond})"
        )

    def like(self, e: str, op: str, value: str) -> str:
        kind = self._kinds.get(e, "unknown")
        if kind == "array":
            return self._any_element(
                e, lambda v, t: f"(JSON_TYPE({t}) = 'STRING' AND {self._like(v, op, value)})"
            )
        if kind not in ("text", "exact", "unknown"):
            return self.false  # MongoDB: text operators never match a number, a date...
        sql = self._like(e, op, value)
        return sql if kind != "unknown" else f"({sql} AND CHARSET({e}) <> 'binary')"

    def _like(self, e: str, op: str, value: str) -> str:
        insensitive = op.startswith("i")
        pattern = like_pattern(op, value)
        if not insensitive:
            return f"(CONVERT({e} USING utf8mb4) COLLATE {EXACT} LIKE {self.p(pattern)} ESCAPE '!')"
        # Both sides lowered under the Unicode collation, then matched exactly (the column's
        # own collation would also ignore accents).
        subject = f"LOWER(CONVERT({e} USING utf8mb4) COLLATE {CASE_FOLD}) COLLATE {EXACT}"
        lowered = f"LOWER({self.p(pattern)} COLLATE {CASE_FOLD}) COLLATE {EXACT}"
        return f"({subject} LIKE {lowered} ESCAPE '!')"

    def regex(self, e: str, pattern: str, flags: str) -> str:
        self.check_regex_flags(flags)
        kind = self._kinds.get(e, "unknown")
        prefix = "(?i)" if "i" in flags else "(?-i)"
        pattern = _UNICODE_ESCAPE.sub(
            lambda m: f"{m.group(1)}\\x{{{m.group(2) or m.group(3)}}}", pattern
        )
        if kind == "array":
            return self._any_element(
                e,
                lambda v, t: (
                    f"(JSON_TYPE({t}) = 'STRING' AND {v} REGEXP {self.p(prefix + pattern)})"
                ),
            )
        if kind not in ("text", "exact", "unknown"):
            return self.false
        sql = f"({e} REGEXP {self.p(prefix + pattern)})"
        return sql if kind != "unknown" else f"({sql} AND CHARSET({e}) <> 'binary')"

    # -- order and aggregation ------------------------------------------------------------------
    def order_term(self, e: str, path: str, direction: int) -> str:
        d = "ASC" if direction > 0 else "DESC"
        if self._kinds.get(e) != "json":
            return f"{e} {d}"
        # A JSON value: MongoDB's order of types, then numbers by value, strings and booleans
        # (false < true) by code point.
        rank = _RANK.format(x=e)
        num = f"IF(JSON_TYPE({e}) IN {_NUMBER}, CAST(JSON_VALUE({e}, '$') AS DOUBLE), NULL)"
        text = (
            f"IF(JSON_TYPE({e}) IN ('STRING','BOOLEAN'), "
            f"CAST(JSON_VALUE({e}, '$') AS CHAR CHARACTER SET utf8mb4) COLLATE {EXACT}, NULL)"
        )
        return f"{rank} {d}, {num} {d}, {text} {d}"

    def aggregate(self, op: str, e: str) -> str:
        kind = self._kinds.get(e, "unknown")
        if kind == "json":
            return self._json_aggregate(op, e)
        if op in ("min", "max"):
            if kind in ("array", "document"):
                raise self.error(
                    f"${op} of the {'list' if kind == 'array' else 'document'} field "
                    f"{self._paths.get(e, e)!r} is not supported on {self.d.name}",
                    "aggregate",
                )
            return super().aggregate(op, e)
        if kind in ("number", "decimal"):
            if op == "sum":
                return f"COALESCE(SUM({e}), 0)"
            if kind == "decimal":
                return f"(CAST(SUM({e}) AS DECIMAL(65,30)) / NULLIF(COUNT({e}), 0))"
            return f"AVG(CAST({e} AS DOUBLE))"
        if kind == "unknown":
            # CHARSET() is 'binary' for numbers (and temporals): strings are left out.
            num = f"IF(CHARSET({e}) = 'binary', {e}, NULL)"
            if op == "sum":
                return f"COALESCE(SUM({num}), 0)"
            return f"AVG(CAST({num} AS DOUBLE))"
        # Strings, booleans, dates, lists, documents: MongoDB sums no such value.
        return "0" if op == "sum" else "NULL"

    def _json_aggregate(self, op: str, x: str) -> str:
        num = f"IF(JSON_TYPE({x}) IN {_NUMBER}, CAST(JSON_VALUE({x}, '$') AS DOUBLE), NULL)"
        if op == "sum":
            return f"COALESCE(SUM({num}), 0)"
        if op == "avg":
            return f"AVG({num})"
        # $min/$max across types, as JSON text: numbers < strings < booleans in MongoDB's order
        # (documents and arrays are not compared on this backend).
        text = f"IF(JSON_TYPE({x}) = 'STRING', JSON_VALUE({x}, '$') COLLATE {EXACT}, NULL)"
        boolean = f"IF(JSON_TYPE({x}) = 'BOOLEAN', JSON_VALUE({x}, '$'), NULL)"
        fn = op.upper()
        as_json = [
            f"IF(COUNT({num}) = 0, NULL, CAST({fn}({num}) AS CHAR))",
            f"JSON_QUOTE({fn}({text}))",
            f"CASE {fn}({boolean}) WHEN '1' THEN 'true' WHEN '0' THEN 'false' END",
        ]
        return f"COALESCE({', '.join(as_json if op == 'min' else reversed(as_json))})"

    def wrap(self, b: Any) -> Any:
        out = super().wrap(b)
        self._json_names = set(out.json_cols)
        return out

    def wrap_join(self, b: Any, order: list[tuple[str, int]]) -> Any:
        out = super().wrap_join(b, order)
        self._json_names = set(out.json_cols)
        return out

    def json_accumulator(self, acc: Any, fields: Sequence[str] | None) -> bool:
        return acc.path is not None and self._nested_path(acc.path, fields)

    def literal(self, value: Any) -> str:
        if isinstance(value, str):
            return f"{self.p(value)} COLLATE {EXACT}"
        return self.p(value)

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        order = f" ORDER BY {ordered}" if ordered else ""
        kind = self._kinds.get(e, "unknown")
        if kind == "bool":
            # JSON booleans, so that a later $match compares them as booleans (not as 0/1).
            value = f"CASE WHEN {e} IS NULL THEN 'null' WHEN {e} THEN 'true' ELSE 'false' END"
            item = f"JSON_EXTRACT({value}, '$')"
        elif kind == "json" and distinct:
            # $addToSet: one element per value as MongoDB compares them (10 and 10.0 are one):
            # the canonical text a $group key on the value has.
            item = f"JSON_EXTRACT({self.group_key(e)[0]}, '$')"
        else:
            # Each value made a JSON value first: JSON_ARRAYAGG of a text value grouped over a
            # JSON_TABLE (an $unwind) turns non-ASCII letters into '?' in MariaDB 10.11
            # ('é' -> '?'); through JSON_ARRAY the text is escaped as JSON and survives.
            item = f"JSON_EXTRACT(JSON_ARRAY({e}), '$[0]')"
        return (
            f"COALESCE(JSON_ARRAYAGG({'DISTINCT ' if distinct else ''}{item}{order}), JSON_ARRAY())"
        )

    def group_key(self, e: str) -> tuple[str, list[str]]:
        kind = self._kinds.get(e, "unknown")
        if kind == "json":
            # MongoDB groups numerically equal numbers together (10 and 10.0): an integral
            # JSON number is grouped (and returned) as the integer, other values as they are.
            d = f"CAST(JSON_VALUE({e}, '$') AS DOUBLE)"
            integral = (
                f"JSON_TYPE({e}) IN {_NUMBER} AND {d} = FLOOR({d}) AND ABS({d}) < {_EXACT_DOUBLE}"
            )
            # JSON null is missing (one group), and the JSON text is compared byte by byte.
            value = (
                f"CASE WHEN COALESCE(JSON_TYPE({e}), 'NULL') = 'NULL' THEN NULL "
                f"WHEN {integral} THEN CAST(CAST({d} AS SIGNED) AS CHAR) "
                f"ELSE CONVERT({e} USING utf8mb4) END"
            )
            return f"({value}) COLLATE {EXACT}", []
        if kind == "unknown":
            # A column of unknown type (a field of a $lookup's table) compares by its own
            # collation: its bytes split what that collation merges ('x', 'X', 'x ').
            return e, [f"IF(CHARSET({e}) <> 'binary', CAST({e} AS BINARY), NULL)"]
        return e, []

    def list_order_term(self, e: str, direction: int) -> str:
        # The smallest (largest) element in MongoDB's order of types, then numbers by value,
        # strings and booleans by code point; an empty array first, below null and missing.
        t = self.alias("jt")
        x = f"{t}.x"
        way = "ASC" if direction > 0 else "DESC"
        rank = _RANK.format(x=x)
        num = f"IF(JSON_TYPE({x}) IN {_NUMBER}, CAST(JSON_VALUE({x}, '$') AS DOUBLE), NULL)"
        text = (
            f"IF(JSON_TYPE({x}) IN ('STRING','BOOLEAN'), "
            f"CAST(JSON_VALUE({x}, '$') AS CHAR CHARACTER SET utf8mb4) COLLATE {EXACT}, NULL)"
        )
        source = f"FROM JSON_TABLE({e}, '$[*]' COLUMNS (x JSON PATH '$')) AS {t}"
        pick = f"{source} ORDER BY {rank} {way}, {num} {way}, {text} {way} LIMIT 1"
        empty = f"IF(JSON_LENGTH({e}) = 0, 0, 1)"
        terms = [f"COALESCE((SELECT {rank} {pick}), 0)", f"(SELECT {num} {pick})"]
        terms.append(f"(SELECT {text} {pick})")
        return ", ".join(f"{term} {way}" for term in [empty, *terms])

    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        sql_type = _ELEMENT_TYPES.get(kind, "JSON")
        join = "LEFT JOIN" if preserve else "CROSS JOIN"
        joined = (
            f"{source} {join} JSON_TABLE({col}, '$[*]' COLUMNS (n FOR ORDINALITY, "
            f"elem {sql_type} PATH '$')) AS {u}" + (" ON 1=1" if preserve else "")
        )
        return joined, f"{u}.elem", f"{u}.n", sql_type == "JSON"

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        pairs = ", ".join(f"{self.p(c)}, {alias}.{self.q(c)}" for c in cols)
        return (
            f"(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT({pairs})), JSON_ARRAY()) "
            f"FROM {source} AS {alias} WHERE {on})"
        )

    def lookup_on(self, local: str, foreign: str, *, correlated: bool) -> str:
        # <=> is MariaDB's null-safe equality, and still walks an index on the foreign side.
        return f"{foreign} <=> {local}"

    def json_object(self, pairs: Sequence[tuple[str, str, bool]]) -> str:
        # JSON_EXTRACT(.., '$') marks JSON text as JSON, so it nests instead of being quoted.
        items = ", ".join(
            f"{self.p(k)}, {f'JSON_EXTRACT({v}, {self.p(chr(36))})' if is_json else v}"
            for k, v, is_json in pairs
        )
        return f"JSON_OBJECT({items})"


_SYMBOLS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _element_test(c: MySQLCompiler, v: str, t: str, symbol: str, value: Any) -> str:
    """An array element (text ``v``, JSON ``t``) compared with ``value``, types kept apart."""
    kind = _value_kind(value)
    if kind == "text":
        return f"(JSON_TYPE({t}) = 'STRING' AND {v} {symbol} {c.p(value)})"
    if kind == "bool":
        return f"(JSON_TYPE({t}) = 'BOOLEAN' AND ({v} = 'true') {symbol} {c.p(value)})"
    if kind == "number":
        return f"(JSON_TYPE({t}) IN {_NUMBER} AND CAST({v} AS DOUBLE) {symbol} {c.p(value)})"
    return f"{v} {symbol} {c.p(value)}"
