# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""PostgreSQL: typed columns compared natively, JSON values compared type-strictly as MongoDB does.

Two kinds of value reach a comparison:

* a **typed column** of the table (``list()``'s filters; the query layer has converted the value
  to the field's type): compared natively so that indexes work, with numbers bound as ``int8``,
  ``float8`` or ``numeric`` so that ``i = 1.5`` never truncates the float, and a value of another
  type matching nothing (MongoDB never coerces; a database would, or fail);
* an **untyped value**: a path inside a JSON document, a column of unknown kind, or a field after
  ``$group``/``$project``/``$unwind``. It is compared as ``jsonb``, type-strictly: a number only
  with numbers (numerically), a string only with strings (by code point), a boolean only with
  booleans; an array matches when one of its elements does (MongoDB's rule), and a text operator
  on a non-string matches nothing.

Text compares and sorts by code point whatever the database's locale (``COLLATE "C"``), and the
case-insensitive operators fold Unicode with ICU's root locale (``und-x-icu``), whatever the
database's ``LC_CTYPE`` (under ``C`` PostgreSQL's ``lower()`` folds ASCII only). Sorting on an
untyped value follows MongoDB's order of types: null, numbers, strings, documents, arrays, booleans.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from xrepo.compile.sql._compiler import SQLCompiler
from xrepo.compile.sql._statement import ROW_FIRST, ROW_LAST, like_pattern, rewrite_pattern
from xrepo.query import TEXT_OPS, Condition, python_type

__all__ = ["PostgresCompiler", "pcre_pattern", "pg_cast"]

#: Case-insensitive operators fold with ICU's root locale, not the database's ``LC_CTYPE``.
FOLD = '"und-x-icu"'
#: Code-point order of text.
BINARY = '"C"'
_INT64 = range(-(2**63), 2**63)
_RANGE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_NUMBER_KINDS = (int, float, Decimal)
#: Kinds of typed columns compared natively (anything else is compared as JSON).
_NATIVE_KINDS = (*_NUMBER_KINDS, str, bool, _dt.datetime, _dt.date, _dt.time, uuid.UUID)
#: An ISO 8601 date or datetime in a JSON string (JSON has no datetime type: a nested
#: datetime is stored as its ISO text and compares as a datetime with a datetime value).
_ISO = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_ISO_OFFSET = r"\d:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"


def pg_cast(value: Any) -> str:
    """The PostgreSQL type a bound ``value`` is cast to (an ``int`` beyond 64 bits: numeric)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint" if value in _INT64 else "numeric"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, _dt.datetime):
        return "timestamptz"
    if isinstance(value, _dt.date):
        return "date"
    return "text"


def _fits(kind: Any, value: Any) -> bool:
    """Whether a column of ``kind`` can hold ``value`` (a bool is never a number)."""
    if isinstance(value, bool):
        return kind is bool
    if isinstance(value, int | float | Decimal):
        return kind in _NUMBER_KINDS
    if kind is _dt.date:
        return isinstance(value, _dt.date) and not isinstance(value, _dt.datetime)
    if kind is uuid.UUID and isinstance(value, str):
        return _uuid(value) is not None
    return isinstance(value, kind)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _adapted(compiler: SQLCompiler, op: str, value: Any) -> Any:
    """The operand of ``op`` as bound (enums by value); text operators keep theirs."""
    if op in ("in", "nin"):
        return [compiler.adapt(v) for v in value]
    return value if op in TEXT_OPS or op == "exists" else compiler.adapt(value)


def _json_scalar(j: str) -> dict[str, str]:
    """SQL for the typed value of the JSON scalar ``j``, by its JSON type (NULL for the others).

    ``CASE`` guards each cast, so a string is never cast to a number (PostgreSQL may evaluate
    the operands of ``AND`` in any order)."""
    text = f"({j} #>> '{{}}')"
    return {
        "number": f"(CASE WHEN jsonb_typeof({j}) = 'number' THEN ({j})::numeric END)",
        "string": f"(CASE WHEN jsonb_typeof({j}) = 'string' THEN {text} END)",
        "boolean": f"(CASE WHEN jsonb_typeof({j}) = 'boolean' THEN ({j})::boolean END)",
        "datetime": (
            f"(CASE WHEN jsonb_typeof({j}) = 'string' THEN CASE WHEN {text} ~ '{_ISO}' THEN "
            f"CASE WHEN {text} ~ '{_ISO_OFFSET}' THEN {text}::timestamptz "
            f"ELSE {text}::timestamp AT TIME ZONE 'UTC' END END END)"
        ),
        "date": (
            f"(CASE WHEN jsonb_typeof({j}) = 'string' THEN CASE WHEN {text} ~ "
            f"'^\\d{{4}}-\\d{{2}}-\\d{{2}}$' THEN {text}::date END END)"
        ),
    }


def mongo_order(j: str, direction: int) -> list[str]:
    """``ORDER BY`` terms sorting the ``jsonb`` value ``j`` in MongoDB's order of types (null
    and missing, numbers, strings by code point, documents, arrays, booleans)."""
    way = "ASC" if direction > 0 else "DESC"
    s = _json_scalar(j)
    rank = (
        f"(CASE jsonb_typeof({j}) WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'object' "
        f"THEN 3 WHEN 'array' THEN 4 WHEN 'boolean' THEN 5 ELSE 0 END)"
    )
    return [
        f"{rank} {way}",
        f"{s['number']} {way}",
        f"{s['string']} COLLATE {BINARY} {way}",
        f"{j} {way}",
    ]


def pcre_pattern(pattern: str) -> str:
    """``pattern`` (PCRE, as MongoDB and MariaDB read it; Python reads it alike) in PostgreSQL's
    regex dialect where the two read the same text differently.

    - ``$`` is the end of the text or just before a final newline in PCRE, the end only in
      PostgreSQL: it becomes the lookahead ``(?=\\n?$)``.
    - ``.`` matches any character but a newline in PCRE (without the ``s`` option, which SQL
      backends refuse), any character in PostgreSQL: it becomes ``[^\\n]``.

    Escaped characters and characters inside a bracket expression stay as they are.
    """
    return rewrite_pattern(pattern, {"$": "(?=\\n?$)", ".": "[^\\n]"})


class PostgresCompiler(SQLCompiler):
    """The compiler of PostgreSQL (asyncpg binds Python values natively)."""

    false = "FALSE"
    no_limit = None

    @staticmethod
    def adapt(value: Any) -> Any:
        return SQLCompiler.adapt(value)

    # -- what a path is -------------------------------------------------------------------------
    def native_kind(self, path: str, fields: Sequence[str] | None) -> Any:
        """The kind of ``path`` when it is a typed scalar column of the table itself (compared
        natively); ``None`` when its values must be compared as JSON."""
        if fields is not self.columns or fields is None or path not in fields:
            return None
        if path in self.array_columns:
            return None
        kind = python_type(self.field_kinds.get(path))
        return kind if isinstance(kind, type) and issubclass(kind, _NATIVE_KINDS) else None

    def is_nested(self, path: str, fields: Sequence[str] | None) -> bool:
        return fields is not None and path not in fields and "." in path

    def as_json(self, path: str, fields: Sequence[str] | None) -> str:
        """The value at ``path`` as ``jsonb`` (SQL ``NULL`` when missing or JSON ``null``)."""
        e, is_json = self.expr(path, fields, for_output=True)
        return e if is_json else f"to_jsonb({e})"

    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        self.json_path(segs)
        if for_output:
            # A JSON null is missing, as MongoDB groups and sorts them together.
            return f"NULLIF({col}::jsonb #> {self.p_raw(list(segs))}::text[], 'null'::jsonb)", True
        return f"({col}::jsonb #>> {self.p_raw(list(segs))}::text[])", False

    # -- filters --------------------------------------------------------------------------------
    def condition(self, c: Condition, fields: Sequence[str] | None) -> str:
        op, value = c.op, c.value
        sample = value[0] if op in ("in", "nin") and value else value
        if fields is None or isinstance(sample, dict | list):
            return super().condition(c, fields)  # no column list / refused by the base
        typed_array = c.path in self.array_columns and c.path in fields and fields is self.columns
        if typed_array and op in ("eq", "ne", "in", "nin", "exists"):
            return super().condition(c, fields)  # jsonb containment (GIN-indexable)
        kind = self.native_kind(c.path, fields)
        if kind is not None:
            return self.native_condition(self.q(c.path), kind, op, value)
        return self.json_condition(self.as_json(c.path, fields), op, value)

    def typed_param(self, value: Any) -> str:
        """A bound number typed so that the column is never cast down to it (``i = 1.5`` must
        not read ``i = 1``); other values take the column's type."""
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return f"{self.p(value)}::{pg_cast(value)}"
        return self.p(value)

    def native_condition(self, e: str, kind: Any, op: str, value: Any) -> str:
        """``op`` on a typed column; a value the column cannot hold matches nothing."""
        value = _adapted(self, op, value)
        if op == "exists":
            return f"{e} IS NOT NULL" if value else f"{e} IS NULL"
        if op in TEXT_OPS:
            if kind is not str:
                return "1=0"  # MongoDB: a text operator never matches a non-string
            return self.regex(e, *value) if op == "regex" else self.like(e, op, value)
        if op in ("eq", "ne"):
            if value is None:
                return f"{e} IS NULL" if op == "eq" else f"{e} IS NOT NULL"
            test = self._native_compare(e, kind, "=", value) if _fits(kind, value) else "1=0"
            return test if op == "eq" else f"(NOT COALESCE({test}, FALSE))"
        if op in _RANGE:
            if value is None:
                return "1=0" if op in ("gt", "lt") else f"{e} IS NULL"
            if not _fits(kind, value):
                return "1=0"
            return self._native_compare(e, kind, _RANGE[op], value)
        # in / nin
        present = [v for v in value if v is not None and _fits(kind, v)]
        parts = [self._native_in(e, kind, present)] if present else []
        if any(v is None for v in value):
            parts.append(f"{e} IS NULL")
        test = "(" + " OR ".join(parts) + ")" if parts else "1=0"
        return test if op == "in" else f"(NOT COALESCE({test}, FALSE))"

    def _native_compare(self, e: str, kind: Any, symbol: str, value: Any) -> str:
        """``e <symbol> value`` on a typed column of ``kind`` that can hold ``value`` (text
        ordered by code point, as MongoDB orders it)."""
        left = f"{e} COLLATE {BINARY}" if kind is str and symbol != "=" else e
        return f"{left} {symbol} {self.typed_param(value)}"

    def _native_in(self, e: str, kind: Any, values: Sequence[Any]) -> str:
        """``e`` equal to one of ``values`` (none null, each one the column can hold)."""
        return f"{e} IN ({', '.join(self.typed_param(v) for v in values)})"

    def json_condition(self, j: str, op: str, value: Any) -> str:
        """``op`` on the JSON value ``j``, type-strictly, an array matching by its elements as
        in MongoDB."""
        value = _adapted(self, op, value)
        if op == "exists":
            return f"{j} IS NOT NULL" if value else f"{j} IS NULL"
        if op in ("eq", "ne") and value is None:
            return self._is_null(j) if op == "eq" else f"(NOT {self._is_null(j)})"
        if op in _RANGE and value is None:
            return "1=0" if op in ("gt", "lt") else self._is_null(j)
        v = self.alias("v")
        elem = f"{self.q(v)}.{self.q('e')}"
        if op in TEXT_OPS:
            s = self._json_text(elem)
            test = self.regex(s, *value) if op == "regex" else self.like(s, op, value)
        elif op in ("in", "nin"):
            tests = [self.json_compare(elem, "=", x) for x in value if x is not None]
            test = "(" + " OR ".join(tests) + ")" if tests else "1=0"
        else:
            test = self.json_compare(elem, _RANGE.get(op, "="), value)
        any_elem = self._elements(j, test, v)
        if op in ("in", "nin") and any(x is None for x in value):
            any_elem = f"({any_elem} OR {self._is_null(j)})"
        if op in ("ne", "nin"):
            return f"(NOT COALESCE({any_elem}, FALSE))"
        return any_elem

    def _elements(self, j: str, test: str, v: str) -> str:
        """``test`` holds for the JSON value ``j`` or, when it is an array, for one of its
        elements (bound as ``v``.``e``)."""
        return (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({j}) = 'array' "
            f"THEN {j} ELSE jsonb_build_array({j}) END) AS {self.q(v)}({self.q('e')}) "
            f"WHERE {test})"
        )

    def _is_null(self, j: str) -> str:
        """The JSON value ``j`` is missing, null, or an array holding null (MongoDB)."""
        return (
            f"({j} IS NULL OR {j} = 'null'::jsonb OR "
            f"(jsonb_typeof({j}) = 'array' AND {j} @> '[null]'::jsonb))"
        )

    def _json_text(self, j: str) -> str:
        """The JSON scalar ``j`` as text when it is a string (``NULL`` otherwise)."""
        return _json_scalar(j)["string"]

    def json_compare(self, j: str, symbol: str, value: Any) -> str:
        """The JSON scalar ``j`` compared with ``value`` within ``value``'s type only."""
        s = _json_scalar(j)
        if isinstance(value, bool):
            return f"{s['boolean']} {symbol} {self.p(value)}::boolean"
        if isinstance(value, int | float | Decimal):
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            return f"{s['number']} {symbol} {self.p(number)}::numeric"
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=_dt.UTC)  # naive means UTC
            return f"{s['datetime']} {symbol} {self.p(value)}::timestamptz"
        if isinstance(value, _dt.date):
            return f"{s['date']} {symbol} {self.p(value)}::date"
        text = value if isinstance(value, str) else str(value)
        return f"{s['string']} COLLATE {BINARY} {symbol} {self.p(text)}::text"

    def array_contains(self, e: str, value: Any) -> str:
        value = self.adapt(value)
        cast = pg_cast(value)
        if isinstance(value, float | Decimal) or (isinstance(value, int) and cast == "numeric"):
            value, cast = Decimal(repr(value)) if isinstance(value, float) else value, "numeric"
        elif not isinstance(value, bool | int | str):
            value, cast = str(value), "text"
        return f"COALESCE({e}::jsonb @> jsonb_build_array({self.p(value)}::{cast}), FALSE)"

    def like(self, e: str, op: str, value: str) -> str:
        if not op.startswith("i"):
            return super().like(e, op, value)
        pattern = like_pattern(op, value)
        return (
            f"(lower({e} COLLATE {FOLD}) LIKE lower({self.p(pattern)}::text COLLATE {FOLD}) "
            "ESCAPE '!')"
        )

    def regex(self, e: str, pattern: str, flags: str) -> str:
        self.check_regex_flags(flags)
        pattern = pcre_pattern(pattern)
        if "i" in flags:
            return f"({e} COLLATE {FOLD} ~* {self.p(pattern)}::text)"
        return f"({e} ~ {self.p(pattern)}::text)"

    # -- order ----------------------------------------------------------------------------------
    def order_by(self, keys: Sequence[tuple[str, int]], fields: Sequence[str] | None) -> str:
        parts: list[str] = []
        for path, direction in keys:
            if self.list_valued(path):  # by an element, as MongoDB sorts arrays (or refused)
                parts.append(super().order_by([(path, direction)], fields))
                continue
            kind = self.native_kind(path, fields)
            if kind is not None or fields is None:
                e, _ = self.expr(path, fields, for_output=True)
                if kind is str:
                    e = f"{e} COLLATE {BINARY}"
                parts.append(self.order_term(e, path, direction))
            else:
                parts.extend(mongo_order(self.as_json(path, fields), direction))
        return ", ".join(parts)

    def order_term(self, e: str, path: str, direction: int) -> str:
        if path == self.id_field:
            # NULLS FIRST would stop PostgreSQL from walking the primary key's index; the id is
            # never null, so it needs none.
            return super().order_term(e, path, direction)
        return f"{e} ASC NULLS FIRST" if direction > 0 else f"{e} DESC NULLS LAST"

    def list_order_term(self, e: str, direction: int) -> str:
        # The smallest (largest) element in MongoDB's order, found by a subquery per term; an
        # empty array first, below null and missing.
        x = self.alias("x")
        way = "ASC" if direction > 0 else "DESC"
        pick = ", ".join(mongo_order(x, direction))
        elements = f"jsonb_array_elements(({e})::jsonb) AS {x}"
        element = f"(SELECT {x} FROM {elements} ORDER BY {pick} LIMIT 1)"
        empty = f"(CASE WHEN ({e})::jsonb = '[]'::jsonb THEN 0 ELSE 1 END) {way}"
        return ", ".join([empty, *mongo_order(element, direction)])

    def literal(self, value: Any) -> str:
        return f"CAST({self.p(value)} AS {pg_cast(value)})"

    # -- accumulators ---------------------------------------------------------------------------
    def json_accumulator(self, acc: Any, fields: Sequence[str] | None) -> bool:
        return acc.path is not None and self.is_nested(acc.path, fields)

    def accumulator(self, acc: Any, fields: Sequence[str] | None, order: Sequence[Any]) -> str:
        if acc.op == "count" or acc.path is None:
            return super().accumulator(acc, fields, order)
        kind = self.native_kind(acc.path, fields)
        nested = self.is_nested(acc.path, fields)
        e, _ = self.expr(acc.path, fields, for_output=True)
        if acc.op in ("first", "last"):
            rn = self.q(ROW_FIRST if acc.op == "first" else ROW_LAST)
            return f"(array_agg({e}) FILTER (WHERE {rn} = 1))[1]"
        if acc.op in ("sum", "avg"):
            # MongoDB ignores non-numbers (booleans included); AVG of integers is exact numeric.
            if kind is not None:
                n = e if kind in _NUMBER_KINDS else "NULL::numeric"
            else:
                n = _json_scalar(e if nested else f"to_jsonb({e})")["number"]
            if acc.op == "sum":
                return f"COALESCE(SUM({n}), 0)"
            if kind is float:
                # AVG(float8) also sums the squares (for variances) and overflows on 1e300.
                return f"(SUM({n}) / NULLIF(COUNT({n}), 0))"
            return f"AVG({n})"
        if acc.op in ("min", "max"):
            if kind is str:
                return f"{acc.op.upper()}({e} COLLATE {BINARY})"
            if kind is bool:
                return f"{'bool_and' if acc.op == 'min' else 'bool_or'}({e})"
            if kind in (*_NUMBER_KINDS, _dt.datetime, _dt.date, _dt.time):
                return f"{acc.op.upper()}({e})"
            j = e if nested else f"to_jsonb({e})"
            terms = ", ".join(mongo_order(j, 1 if acc.op == "min" else -1))
            return f"(array_agg({e} ORDER BY {terms}) FILTER (WHERE {j} IS NOT NULL))[1]"
        distinct = acc.op == "addToSet"
        ordered = "" if distinct or not order else self.order_by(order, fields)
        if nested:
            # A missing value is not pushed, a JSON null is (MongoDB).
            head, _, rest = acc.path.partition(".")
            raw = f"({self.q(head)}::jsonb #> {self.p_raw(rest.split('.'))}::text[])"
            agg = f"json_agg({'DISTINCT ' if distinct else ''}{raw}"
            agg += f" ORDER BY {ordered})" if ordered else ")"
            return f"COALESCE({agg} FILTER (WHERE {raw} IS NOT NULL), '[]'::json)"
        return self.array_agg(e, distinct=distinct, ordered=ordered)

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        order = f" ORDER BY {ordered}" if ordered else ""
        return f"COALESCE(json_agg({'DISTINCT ' if distinct else ''}{e}{order}), '[]'::json)"

    # -- unwind, lookups ------------------------------------------------------------------------
    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        fn = "jsonb_array_elements" if kind is None else "jsonb_array_elements_text"
        join = "LEFT JOIN LATERAL" if preserve else "CROSS JOIN LATERAL"
        joined = f"{source} {join} {fn}({col}::jsonb) WITH ORDINALITY AS {u}(elem, n)" + (
            " ON TRUE" if preserve else ""
        )
        elem = f"{u}.elem"
        if kind is not None and kind is not str:
            elem = f"({elem})::{pg_cast(kind())}"
        return joined, elem, f"{u}.n", kind is None

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        return (
            f"(SELECT COALESCE(json_agg(row_to_json({alias})), '[]'::json) "
            f"FROM {source} AS {alias} WHERE {on})"
        )

    def lookup_on(self, local: str, foreign: str, *, correlated: bool) -> str:
        if correlated:
            # The OR form walks an index on the foreign column (a BitmapOr of "= local" and
            # "IS NULL" per outer row); IS NOT DISTINCT FROM walks none.
            return super().lookup_on(local, foreign, correlated=True)
        # One-element jsonb arrays compare null-safely ([null] = [null]) and can be hash- or
        # merge-joined; IS NOT DISTINCT FROM and the OR form force a nested loop over both
        # tables. Like MongoDB they never join a number with a string (no driver error either).
        return f"jsonb_build_array({foreign}) = jsonb_build_array({local})"

    def json_object(self, pairs: Sequence[tuple[str, str, bool]]) -> str:
        # jsonb, not json: $addToSet needs equality (DISTINCT), sorts need jsonb_typeof().
        items = ", ".join(
            f"{self.p(k)}::text, {f'({v})::jsonb' if is_json else v}" for k, v, is_json in pairs
        )
        return f"jsonb_build_object({items})"
