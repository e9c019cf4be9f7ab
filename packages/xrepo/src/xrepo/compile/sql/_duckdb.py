# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""DuckDB: PostgreSQL's SQL, with JSON as text read by the ``json`` functions.

DuckDB follows PostgreSQL closely (typed columns, ``FILTER``, ordered aggregates, lateral joins,
``WITH ORDINALITY``), so this compiler keeps :class:`~._postgres.PostgresCompiler`'s rules and
respells what DuckDB says otherwise:

* **typed columns** compare natively, with every bound value cast to its own type (a parameter
  compared with a ``BIGINT`` column would otherwise be read as a ``BIGINT``: ``i = 1.5`` as
  ``i = 2``); an integer column compares with a fraction exactly (``i < 2.5`` is ``i < 3``);
  datetimes compare by their microseconds since the epoch, so ``TIMESTAMP`` (naive, read as
  UTC) and ``TIMESTAMPTZ`` columns answer alike whatever the session's time zone;
* **untyped values** (paths inside JSON, ``Any`` columns, fields after ``$group``/``$project``/
  ``$unwind``) compare as JSON, type-strictly (:func:`~._duckdb_values.json_scalar`), an array
  matching when one of its elements does;
* **text** compares and sorts by code point (DuckDB's default binary collation); the
  case-insensitive lookups and ``$regex`` run on RE2, which folds case by Unicode simple case
  folding as MongoDB does, in linear time (no pattern can run away: the bound every backend
  keeps holds by construction). A pattern RE2 does not take (lookaround, backreferences) is
  refused by the database; the store names it.
* **nulls** sort first ascending and last descending, spelled out: DuckDB's default puts them
  last both ways.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from xrepo.compile.sql._compiler import SQLCompiler
from xrepo.compile.sql._duckdb_values import (
    INTEGERS,
    NUMBERS,
    epoch_us,
    integer_bound,
    json_scalar,
    literal_pattern,
    mongo_order,
    re2_pattern,
    sql_type,
)
from xrepo.compile.sql._postgres import PostgresCompiler
from xrepo.compile.sql._statement import ROW_FIRST, ROW_LAST, _Block
from xrepo.query import Group

__all__ = ["DuckDBCompiler"]

_RANGE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_NUMBER_KINDS = (int, float, Decimal)


class DuckDBCompiler(PostgresCompiler):
    """The compiler of DuckDB (a ``duckdb:///`` database, or a file through its engine)."""

    false = "FALSE"
    no_limit = None

    @staticmethod
    def adapt(value: Any) -> Any:
        value = SQLCompiler.adapt(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    # -- what a path is -------------------------------------------------------------------------
    def as_json(self, path: str, fields: Sequence[str] | None) -> str:
        """The value at ``path`` as JSON (SQL ``NULL`` when missing or JSON ``null``)."""
        e, is_json = self.expr(path, fields, for_output=True)
        if is_json or (fields is not None and path in fields and path in self.json_names):
            return f"NULLIF(CAST({e} AS JSON), 'null'::JSON)"
        return f"to_json({e})"

    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        # A JSON null is missing, as MongoDB groups and sorts them together.
        path = self.p(self.json_path(segs))
        return f"NULLIF(json_extract(CAST({col} AS JSON), {path}), 'null'::JSON)", True

    # -- filters --------------------------------------------------------------------------------
    def typed_param(self, value: Any) -> str:
        """A bound value cast to its own type, never to the column's."""
        if isinstance(value, Decimal):
            return f"CAST({self.p(float(value))} AS DOUBLE)"
        return f"CAST({self.p(value)} AS {sql_type(value)})"

    def _native_compare(self, e: str, kind: Any, symbol: str, value: Any) -> str:
        """``e <symbol> value`` on a typed column of ``kind`` that can hold ``value``."""
        if kind is int and isinstance(value, _NUMBER_KINDS) and not isinstance(value, bool):
            return self._integer_compare(e, symbol, value)
        if kind is _dt.datetime and isinstance(value, _dt.datetime):
            return f"epoch_us({e}) {symbol} {self.p(epoch_us(value))}"
        return f"{e} {symbol} {self.typed_param(value)}"

    def _integer_compare(self, e: str, symbol: str, value: Any) -> str:
        bound = integer_bound(symbol, value)
        if bound is None or bound is False:
            return "1=0"
        if bound is True:
            return f"{e} IS NOT NULL"
        op, n = bound
        return f"{e} {op} {self.typed_param(n)}"

    def _native_in(self, e: str, kind: Any, values: Sequence[Any]) -> str:
        """One comparison per value: each casts its own value (see :meth:`typed_param`)."""
        return "(" + " OR ".join(self._native_compare(e, kind, "=", v) for v in values) + ")"

    def _elements(self, j: str, test: str, v: str) -> str:
        """``test`` holds for the JSON value ``j`` or, when it is an array, for one of its
        elements (bound as ``v``.``e``)."""
        return (
            f"EXISTS (SELECT 1 FROM unnest(CASE WHEN json_type({j}) = 'ARRAY' "
            f"THEN CAST({j} AS JSON[]) ELSE [{j}] END) AS {self.q(v)}({self.q('e')}) "
            f"WHERE {test})"
        )

    def _is_null(self, j: str) -> str:
        """The JSON value ``j`` is missing, null, or an array holding null (MongoDB)."""
        holds_null = (
            f"EXISTS (SELECT 1 FROM unnest({_as_list(j)}) AS n(x) "
            f"WHERE x IS NULL OR json_type(x) = 'NULL')"
        )
        return f"({j} IS NULL OR json_type({j}) = 'NULL' OR {holds_null})"

    def _json_text(self, j: str) -> str:
        return json_scalar(j)["string"]

    def json_compare(self, j: str, symbol: str, value: Any) -> str:
        """The JSON scalar ``j`` compared with ``value`` within ``value``'s type only."""
        s = json_scalar(j)
        if isinstance(value, bool):
            return f"COALESCE({s['boolean']} {symbol} {self.p(value)}::BOOLEAN, FALSE)"
        if isinstance(value, int | float | Decimal):
            ints = self._integer_compare(s["int"], symbol, value)
            bound = float(value) if isinstance(value, Decimal) else value
            doubles = f"{s['double']} {symbol} {self.typed_param(float(bound))}"
            t = f"json_type({j})"
            return (
                f"(CASE WHEN {t} IN {INTEGERS} THEN COALESCE({ints}, FALSE) "
                f"WHEN {t} = 'DOUBLE' THEN COALESCE({doubles}, FALSE) ELSE FALSE END)"
            )
        if isinstance(value, _dt.datetime):
            return f"COALESCE({s['epoch']} {symbol} {self.p(epoch_us(value))}, FALSE)"
        if isinstance(value, _dt.date):
            return f"COALESCE({s['date']} {symbol} {self.p(value)}::DATE, FALSE)"
        text = value if isinstance(value, str) else str(value)
        return f"COALESCE({s['string']} {symbol} {self.p(text)}::VARCHAR, FALSE)"

    def array_contains(self, e: str, value: Any) -> str:
        v = self.alias("v")
        test = self.json_compare(f"{self.q(v)}.{self.q('e')}", "=", self.adapt(value))
        return (
            f"COALESCE(EXISTS (SELECT 1 FROM unnest({_as_list(f'CAST({e} AS JSON)')}) "
            f"AS {self.q(v)}({self.q('e')}) WHERE {test}), FALSE)"
        )

    def like(self, e: str, op: str, value: str) -> str:
        kind = op.removeprefix("i")
        if op.startswith("i"):
            # RE2 folds case by Unicode simple case folding, as MongoDB does; the operand is
            # quoted (\Q...\E), so it is matched literally.
            body = literal_pattern(value)
            pattern = {"contains": body, "startswith": "^" + body, "endswith": body + "\\z"}
            return f"regexp_matches({e}, {self.p(pattern[kind])}::VARCHAR, 'i')"
        fn = {"contains": "contains", "startswith": "starts_with", "endswith": "ends_with"}
        return f"{fn[kind]}({e}, {self.p(value)}::VARCHAR)"

    def regex(self, e: str, pattern: str, flags: str) -> str:
        self.check_regex_flags(flags)
        options = ", 'i'" if "i" in flags else ""
        return f"regexp_matches({e}, {self.p(re2_pattern(pattern))}::VARCHAR{options})"

    # -- order ----------------------------------------------------------------------------------
    def order_by(self, keys: Sequence[tuple[str, int]], fields: Sequence[str] | None) -> str:
        parts: list[str] = []
        for path, direction in keys:
            if self.list_valued(path):  # by an element, as MongoDB sorts arrays (or refused)
                parts.append(SQLCompiler.order_by(self, [(path, direction)], fields))
                continue
            kind = self.native_kind(path, fields)
            if kind is not None or fields is None:
                e, _ = self.expr(path, fields, for_output=True)
                parts.append(self.order_term(e, path, direction))
            else:
                parts.extend(mongo_order(self.as_json(path, fields), direction))
        return ", ".join(parts)

    def order_term(self, e: str, path: str, direction: int) -> str:
        return f"{e} ASC NULLS FIRST" if direction > 0 else f"{e} DESC NULLS LAST"

    def list_order_term(self, e: str, direction: int) -> str:
        # The smallest (largest) element in MongoDB's order; an empty array first, below null
        # and missing.
        x = self.alias("x")
        way = "ASC" if direction > 0 else "DESC"
        elem = f"{x}.e"
        pick = ", ".join(mongo_order(elem, direction))
        elements = f"unnest({_as_list(f'CAST({e} AS JSON)')}) AS {x}(e)"
        element = f"(SELECT {elem} FROM {elements} ORDER BY {pick} LIMIT 1)"
        empty = f"(CASE WHEN json_array_length(CAST({e} AS JSON)) = 0 THEN 0 ELSE 1 END) {way}"
        return ", ".join([empty, *(f"{t} NULLS FIRST" for t in mongo_order(element, direction))])

    def literal(self, value: Any) -> str:
        if isinstance(value, Decimal):
            return f"CAST({self.p(float(value))} AS DOUBLE)"
        return f"CAST({self.p(value)} AS {sql_type(value)})"

    # -- grouping -------------------------------------------------------------------------------
    def group_key(self, e: str) -> tuple[str, list[str]]:
        """A JSON key groups by its canonical text: ``10`` and ``10.0`` are one group (MongoDB
        groups numbers by value), and ``{"a": 1}`` written with or without spaces too."""
        if not self._is_json_expr(e):
            return e, []
        return _canonical(e), []

    def _is_json_expr(self, e: str) -> bool:
        return e.startswith("NULLIF(json_extract(") or e in {self.q(c) for c in self.json_names}

    # -- accumulators ---------------------------------------------------------------------------
    def group(self, b: _Block, stage: Group) -> _Block:
        """As the base; a ``$sum`` of JSON values comes out as JSON text (an integer or a
        double, as MongoDB answers), decoded on output."""
        self._json_sums: set[int] = set()
        out = super().group(b, stage)
        out.json_cols |= {
            name for name, acc in stage.accumulators.items() if id(acc) in self._json_sums
        }
        return out

    def accumulator(self, acc: Any, fields: Sequence[str] | None, order: Sequence[Any]) -> str:
        if acc.op == "count" or acc.path is None:
            return SQLCompiler.accumulator(self, acc, fields, order)
        kind = self.native_kind(acc.path, fields)
        nested = self.is_nested(acc.path, fields)
        e, _ = self.expr(acc.path, fields, for_output=True)
        if acc.op in ("first", "last"):
            rn = self.q(ROW_FIRST if acc.op == "first" else ROW_LAST)
            return f"(array_agg({e}) FILTER (WHERE {rn} = 1))[1]"
        if acc.op in ("sum", "avg"):
            # MongoDB ignores non-numbers (booleans included).
            if kind is not None:
                if kind not in _NUMBER_KINDS:
                    return "0" if acc.op == "sum" else "CAST(NULL AS DOUBLE)"
                n = f"CAST({e} AS DOUBLE)" if kind is Decimal and acc.op == "avg" else e
                return f"AVG({n})" if acc.op == "avg" else f"COALESCE(SUM({n}), 0)"
            j = self.as_json(acc.path, fields) if not nested else e
            s = json_scalar(j)
            if acc.op == "avg":
                return f"AVG({s['double']})"
            ints = f"(CASE WHEN json_type({j}) IN {INTEGERS} THEN CAST({j} AS HUGEINT) END)"
            doubles = f"(CASE WHEN json_type({j}) = 'DOUBLE' THEN CAST({j} AS DOUBLE) END)"
            total = f"COALESCE(SUM({ints}), 0)"
            big = f"{total} NOT BETWEEN -9223372036854775808 AND 9223372036854775807"
            # JSON text: an integer sum stays an integer, a sum with doubles is a double.
            self._json_sums.add(id(acc))
            return (
                f"(CASE WHEN COUNT({doubles}) > 0 OR {big} THEN "
                f"CAST(CAST({total} AS DOUBLE) + COALESCE(SUM({doubles}), 0) AS VARCHAR) "
                f"ELSE CAST({total} AS VARCHAR) END)::JSON"
            )
        if acc.op in ("min", "max"):
            if kind is not None:
                return f"{acc.op.upper()}({e})"
            j = e if nested else self.as_json(acc.path, fields)
            terms = ", ".join(mongo_order(j, 1 if acc.op == "min" else -1))
            return f"(array_agg({j} ORDER BY {terms}) FILTER (WHERE {j} IS NOT NULL))[1]"
        distinct = acc.op == "addToSet"
        ordered = "" if distinct or not order else self.order_by(order, fields)
        if nested:
            # A missing value is not pushed, a JSON null is (MongoDB).
            head, _, rest = acc.path.partition(".")
            path = self.p(self.json_path(rest.split(".")))
            raw = f"json_extract(CAST({self.q(head)} AS JSON), {path})"
            where = f"{raw} IS NOT NULL"
            return self._json_list(raw, distinct=distinct, ordered=ordered, where=where)
        return self.array_agg(e, distinct=distinct, ordered=ordered)

    def json_accumulator(self, acc: Any, fields: Sequence[str] | None) -> bool:
        if acc.path is None:
            return False
        return self.is_nested(acc.path, fields) or (
            acc.op in ("min", "max") and self.native_kind(acc.path, fields) is None
        )

    def _json_list(self, e: str, *, distinct: bool, ordered: str, where: str = "") -> str:
        order = f" ORDER BY {ordered}" if ordered else ""
        keep = f" FILTER (WHERE {where})" if where else ""
        # $addToSet: one element per value as MongoDB compares them (10 and 10.0 are one).
        item = f"DISTINCT CAST({_canonical(e)} AS JSON)" if distinct else f"CAST({e} AS JSON)"
        agg = f"list({item}{order}){keep}"
        return f"COALESCE(CAST(to_json({agg}) AS VARCHAR), '[]')"

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        if not self._is_json_expr(e):
            e = f"to_json({e})"
        return self._json_list(e, distinct=distinct, ordered=ordered)

    # -- unwind, lookups ------------------------------------------------------------------------
    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        join = "LEFT JOIN LATERAL" if preserve else "CROSS JOIN LATERAL"
        joined = (
            f"{source} {join} unnest({_as_list(f'CAST({col} AS JSON)')}) WITH ORDINALITY "
            f"AS {u}(elem, n)" + (" ON TRUE" if preserve else "")
        )
        elem = f"NULLIF({u}.elem, 'null'::JSON)"
        if kind is str:
            return joined, f"json_extract_string({elem}, '$')", f"{u}.n", False
        if kind in (int, float, bool):
            sql = {int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN"}[kind]
            return joined, f"CAST({elem} AS {sql})", f"{u}.n", False
        return joined, elem, f"{u}.n", True

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        pairs = ", ".join(f"{self.p(c)}::VARCHAR, {alias}.{self.q(c)}" for c in cols)
        return (
            f"(SELECT COALESCE(CAST(to_json(list(json_object({pairs}))) AS VARCHAR), '[]') "
            f"FROM {source} AS {alias} WHERE {on})"
        )

    def lookup_on(self, local: str, foreign: str, *, correlated: bool) -> str:
        # MongoDB never joins a number with a string: DuckDB would cast one side, or fail.
        return f"{foreign} IS NOT DISTINCT FROM {local}"

    def json_object(self, pairs: Sequence[tuple[str, str, bool]]) -> str:
        items = ", ".join(
            f"{self.p(k)}::VARCHAR, {f'CAST({v} AS JSON)' if is_json else v}"
            for k, v, is_json in pairs
        )
        return f"json_object({items})"


def _as_list(j: str) -> str:
    """The elements of the JSON value ``j`` when it is an array (``NULL`` otherwise). The cast
    sits under the ``CASE``: DuckDB evaluates a subquery's ``unnest`` for every row, whatever
    condition surrounds the subquery."""
    return f"(CASE WHEN json_type({j}) = 'ARRAY' THEN CAST({j} AS JSON[]) END)"


def _canonical(e: str) -> str:
    """The canonical text of the JSON value ``e`` (``NULL`` for JSON null): an integral number
    as an integer, so that ``10`` and ``10.0`` are one value, as MongoDB compares them; other
    values re-serialized, so that spacing does not split them."""
    d = f"CAST({e} AS DOUBLE)"
    t = f"json_type({e})"
    integral = (
        f"{t} IN {NUMBERS} AND isfinite({d}) AND {d} = floor({d}) AND abs({d}) < 9007199254740992"
    )
    return (
        f"(CASE WHEN {e} IS NULL OR {t} = 'NULL' THEN NULL "
        f"WHEN {t} = 'DOUBLE' AND {integral} THEN CAST(CAST({d} AS BIGINT) AS VARCHAR) "
        f"ELSE CAST(json(CAST({e} AS JSON)) AS VARCHAR) END)"
    )
