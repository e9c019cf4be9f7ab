# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""SQLite: ``json_extract``/``json_each`` paths, Python functions per connection, strict types.

SQLite is dynamically typed and converts values by a column's affinity (``'10' = 10`` on an
INTEGER column, ``0 = '0'`` on a TEXT one), stores booleans as ``0``/``1``, has no datetime or
decimal type, folds only ASCII case and cuts some text functions at a NUL character. The rules
below give MongoDB's answers all the same (``docs/xrepo.md`` lists what remains):

- **Types**: every comparison with a scalar also tests the stored type, ``typeof()`` for a
  column and ``json_type()`` for a JSON path, so a string never equals a number and, inside
  JSON, ``true`` never equals ``1``. Numbers compare exactly across int, float and Decimal:
  a value a double cannot hold (an int beyond 2**53 that is not one, an inexact Decimal) is
  compared through its neighbouring doubles; NaN matches nothing (SQLite cannot store it).
- **Datetimes** are stored as fixed-width ISO text in UTC
  (``2024-01-01T00:00:00.000000+00:00``; naive means UTC), so text order is time order. Rows
  written before (``isoformat()``: other offsets, no microseconds) are normalised at comparison
  time by the ``xr_dt`` function.
- **Decimals** are stored as doubles (numeric order and ``$sum`` work; 15-17 significant digits).
- **Text**: ``__icontains`` and friends fold case by Unicode simple case folding
  (:func:`xrepo.compile.fold`, function ``xr_fold``); ``__endswith`` runs in Python
  (``xr_endswith``) because SQLite's ``substr``/``length`` stop at a NUL character.
- **Pipelines**: ``$push`` keeps the ``$sort`` order through a window function (SQLite before
  3.44 has no ``ORDER BY`` inside an aggregate); ``$sum``/``$avg`` ignore non-numbers and
  ``$sum`` of integers never overflows (it sums 32-bit halves, then turns into a double as
  MongoDB does).

The functions (``regexp``, ``xr_regexp``, ``xr_fold``, ``xr_endswith``, ``xr_dt``) are
registered on every connection by the repository (:data:`SQLITE_FUNCTIONS`); a compiler made with
``regexp=False`` refuses what needs them. ``$regex`` compiles to ``xr_regexp(value, pattern,
seconds)``: the ``regex`` module under a time bound per value (:mod:`xrepo.compile`); a
pattern that runs past it stops the statement, and :func:`regex_timed_out` tells the repository
which pattern it was.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import regex as _regex

from xrepo.compile._casefold import fold
from xrepo.compile._patterns import DEFAULT_REGEX_TIMEOUT, compile_pattern
from xrepo.compile.sql._compiler import SQLCompiler
from xrepo.compile.sql._sqlite_functions import (
    _CANONICAL_DT,
    _INT64,
    _RANK,
    _double_bounds,
    _json_default,
    _kind,
    canonical_datetime,
    json_text,
)
from xrepo.compile.sql._statement import (
    INTERNAL_PREFIX,
    ROW_FIRST,
    ROW_LAST,
    CompiledPipeline,
    _Block,
)
from xrepo.errors import XRepoValidationError
from xrepo.query import Accumulator, Group, Node, SortKey, python_type

__all__ = ["SQLiteCompiler"]


class SQLiteCompiler(SQLCompiler):
    """The compiler of SQLite (see the module's documentation for its rules)."""

    no_limit = "-1"

    def __init__(
        self, *args: Any, regex_timeout: float = DEFAULT_REGEX_TIMEOUT, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        #: Seconds one ``$regex`` evaluation may take (``xr_regexp``'s third argument).
        self.regex_timeout = regex_timeout
        #: JSON-path expressions this compiler made -> (column, path): their json_type().
        self._json_paths: dict[str, tuple[str, str]] = {}
        #: Elements of a JSON array column being tested (``je.value``) -> their ``je.type``.
        self._elements: dict[str, str] = {}
        #: Canonical JSON text of a path (:func:`json_text`) -> its ``json_extract`` expression.
        self._json_texts: dict[str, str] = {}
        #: Output columns holding a list that are not JSON text columns (a group key on one).
        self._list_columns: set[str] = set()

    # -- values ---------------------------------------------------------------------------------
    @staticmethod
    def adapt(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, dict | list | tuple):
            try:
                return json.dumps(
                    value, default=_json_default, separators=(",", ":"), allow_nan=False
                )
            except ValueError:
                raise XRepoValidationError(
                    "NaN and infinity cannot be stored in a JSON value on SQLite"
                ) from None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
            raise XRepoValidationError(
                f"the integer {value} is beyond SQLite's 64-bit range; store it as a float or "
                "a Decimal"
            )
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, float) and math.isnan(value):
            raise XRepoValidationError("SQLite cannot store NaN (it would store NULL)")
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, _dt.datetime):
            return canonical_datetime(value)
        if isinstance(value, _dt.time):
            return value.isoformat(timespec="microseconds")
        if isinstance(value, _dt.date):
            return value.isoformat()
        return value

    # -- column expressions ---------------------------------------------------------------------
    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        path = self.json_path(segs)
        e = f"json_extract({col}, {self.p(path)})"
        self._json_paths[e] = (col, path)
        if not for_output:
            return e, False
        # Read out (grouped, projected, sorted, accumulated) as typed JSON text: json_extract()
        # gives true as 1, and a group would merge them.
        text = json_text(e, f"json_type({col}, {self.p(path)})")
        self._json_texts[text] = e
        return text, True

    def _json_column(self, e: str) -> bool:
        """Whether ``e`` is a column of the current block that holds JSON text."""
        return e in {self.q(c) for c in self.json_names}

    def _type_of(self, e: str) -> tuple[str, bool]:
        """SQL for the stored type of ``e`` and whether it is ``json_type`` (else ``typeof``)."""
        if e in self._elements:
            return self._elements[e], True
        found = self._json_paths.get(e)
        if found is not None:
            return f"json_type({found[0]}, {self.p(found[1])})", True
        return f"typeof({e})", False

    def _guard(self, e: str, kind: str) -> str:
        """A test that ``e`` holds a value of type bracket ``kind`` (``""``: no test)."""
        if not kind:
            return ""
        t, is_json = self._type_of(e)
        if kind == "number":
            return f"{t} IN ('integer', 'real')"
        if kind == "bool":
            # A boolean column holds 0/1 (its model tells it apart, before compiling); inside
            # JSON, true and false have their own type.
            return f"{t} IN ('true', 'false')" if is_json else f"{t} = 'integer'"
        return f"{t} = 'text'"

    def _operand(self, e: str, kind: str) -> str:
        """``e`` as it compares with a value of ``kind`` (datetimes: normalised text)."""
        if kind == "datetime" and self.regexp:
            return f"(CASE WHEN {e} GLOB '{_CANONICAL_DT}' THEN {e} ELSE xr_dt({e}) END)"
        return e

    def _any_element(self, e: str, test: Callable[[str], str]) -> str | None:
        """For a JSON array column ``e``: ``test`` holds for one of its elements (MongoDB's
        array semantics for comparisons, patterns and regexes); ``None`` for other columns."""
        listed = {self.q(c) for c in self.array_columns | self._list_columns}
        if e in listed:
            source = e
        elif self._json_column(e):
            # JSON text after a $group/$lookup: a scalar is tested itself (json_each yields it),
            # an array by its elements, a document never equals a scalar.
            source = f"CASE WHEN json_type({e}) = 'object' THEN NULL ELSE {e} END"
        else:
            return None
        je = self.alias("je")
        self._elements[f"{je}.value"] = f"{je}.type"
        return f"EXISTS (SELECT 1 FROM json_each({source}) AS {je} WHERE {test(f'{je}.value')})"

    # -- comparisons ----------------------------------------------------------------------------
    def compare(self, e: str, symbol: str, value: Any) -> str:
        found = self._any_element(e, lambda x: self.compare(x, symbol, value))
        if found is not None:
            return found
        if isinstance(value, enum.Enum):
            value = value.value
        kind = _kind(value)
        if kind == "number":
            bounds = _double_bounds(value)
            if bounds is None:  # NaN: SQLite stores none, so nothing compares with it
                return "1=0"
            if isinstance(bounds, tuple):  # between two doubles: never equal
                if symbol == "=":
                    return "1=0"
                symbol, value = (">", bounds[0]) if symbol[0] == ">" else ("<", bounds[1])
            else:
                value = bounds
        guard = self._guard(e, kind)
        test = f"{self._operand(e, kind)} {symbol} {self.p(value)}"
        return f"({test} AND {guard})" if guard else test

    def compare_in(self, e: str, values: Sequence[Any]) -> str:
        parts = [self.compare(e, "=", v) for v in values]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def array_contains(self, e: str, value: Any) -> str:
        if isinstance(value, enum.Enum):
            value = value.value
        kind = _kind(value)
        if kind == "number":
            bounds = _double_bounds(value)
            if not isinstance(bounds, int | float):
                return "1=0"
            value = bounds
        guard = {
            "number": "je.type IN ('integer', 'real')",
            "bool": "je.type IN ('true', 'false')",
            "text": "je.type = 'text'",
            "datetime": "je.type = 'text'",
        }.get(kind)
        test = f"je.value = {self.p(value)}" + (f" AND {guard}" if guard else "")
        return f"EXISTS (SELECT 1 FROM json_each({e}) AS je WHERE {test})"

    # -- text -----------------------------------------------------------------------------------
    def _needs_functions(self, what: str) -> None:
        if not self.regexp:
            raise self.error(
                f"{what} needs the Python functions the repository registers on each SQLite "
                "connection; this connection has none"
            )

    def like(self, e: str, op: str, value: str) -> str:
        found = self._any_element(e, lambda x: self.like(x, op, value))
        if found is not None:
            return found
        guard = self._guard(e, "text")
        insensitive = op.startswith("i")
        kind = op[1:] if insensitive else op
        if value == "":  # every string contains, starts and ends with ""
            return f"({guard})"
        if insensitive:
            self._needs_functions(f"__{op}")
            e, value = f"xr_fold({e})", fold(value)
        v = self.p(value)
        if kind == "contains":
            test = f"instr({e}, {v}) > 0"
        elif kind == "startswith":
            # instr() is exact with NUL characters, substr()/length() are not.
            test = f"instr({e}, {v}) = 1"
        elif self.regexp:
            test = f"xr_endswith({e}, {v})"
        else:
            tail = f"substr({e}, length({e}) - length({v}) + 1)"
            test = f"length({e}) >= length({v}) AND {tail} = {v}"
        return f"({guard} AND {test})"

    def regex(self, e: str, pattern: str, flags: str) -> str:
        self.check_regex_flags(flags)
        if not self.regexp:
            raise self.error(
                "$regex needs a REGEXP function on this SQLite connection; use "
                "__contains/__startswith or register one"
            )
        found = self._any_element(e, lambda x: self.regex(x, pattern, flags))
        if found is not None:
            return found
        full = ("(?i)" if "i" in flags else "") + pattern
        try:
            compile_pattern(full)
        except _regex.error as exc:
            raise self.error(
                f"$regex {pattern!r} is not a valid pattern on sqlite (Python regex): {exc}"
            ) from None
        bound = self.p(float(self.regex_timeout))
        return f"({self._guard(e, 'text')} AND xr_regexp({e}, {self.p(full)}, {bound}))"

    # -- distinct -------------------------------------------------------------------------------
    def distinct(self, table: str, path: str, node: Node) -> CompiledPipeline:
        """Of a JSON path, the distinct values as JSON text typed by ``json_type``: ``true``
        never merges with ``1`` (``json_extract`` gives both as 1), ``"1"`` never with ``1``,
        while ``10`` and ``10.0`` do (numbers compare by value, as in MongoDB)."""
        if self.columns is None or "." not in path or path in self.columns:
            return super().distinct(table, path, node)
        where = self.where(node, self.columns)
        value, _ = self.expr(path, self.columns, for_output=True)
        sql, params = self.finish(
            f"SELECT DISTINCT {value} AS {self.q('value')} FROM {table} "
            f"WHERE {where} AND {value} IS NOT NULL"
        )
        return CompiledPipeline(sql, params, json_columns={"value"})

    def group_key(self, e: str) -> tuple[str, list[str]]:
        """A column holding JSON text (an ``Any`` column, a derived JSON column) groups by its
        canonical text: ``5`` and ``5.0`` are one group, as MongoDB groups numbers by value."""
        if self._json_column(e):
            return json_text(f"json_extract({e}, '$')", f"json_type({e})"), []
        return e, []

    # -- order ----------------------------------------------------------------------------------
    def order_term(self, e: str, path: str, direction: int) -> str:
        """JSON values sort in MongoDB's order of types (a JSON ``true`` after every number,
        not as 1), then by value; other columns as SQLite orders them."""
        extracted = self._json_texts.get(e)
        if extracted is not None:
            t = self._type_of(extracted)[0]
            value = extracted
        elif self._json_column(e):
            t, value = f"json_type({e})", f"json_extract({e}, '$')"
        else:
            return super().order_term(e, path, direction)
        way = "ASC" if direction > 0 else "DESC"
        return f"{_RANK.format(t=t)} {way}, {value} {way}"

    def _min_max_order(self, e: str, op: str) -> str:
        """The window order putting the ``$min``/``$max`` of the JSON text ``e`` first: values
        before null and missing (both ignored), then MongoDB's order of types, then value."""
        t, value = f"json_type({e})", f"json_extract({e}, '$')"
        way = "ASC" if op == "min" else "DESC"
        return f"({e} IS NULL) ASC, {_RANK.format(t=t)} {way}, {value} {way}"

    # -- pipelines ------------------------------------------------------------------------------
    def _nested(self, path: str | None, fields: Sequence[str] | None) -> bool:
        return (
            path is not None
            and fields is not None
            and path not in fields
            and path.partition(".")[0] in fields
        )

    def json_accumulator(self, acc: Any, fields: Sequence[str] | None) -> bool:
        return self._nested(acc.path, fields)

    def _json_valued(self, path: str | None, fields: Sequence[str] | None) -> bool:
        """Whether ``path`` is a column of the current block holding JSON text (an ``Any``
        column, say): its ``$min``/``$max`` follow MongoDB's order of types, like a path's."""
        if path is None or fields is None or path not in fields:
            return False
        # A list (a $push result) is refused by the base: MongoDB compares whole arrays.
        return path in self.json_names and not self.list_valued(path)

    def _pushed(self, path: str, fields: Sequence[str] | None, *, distinct: bool) -> str:
        """The JSON array of the values at the JSON path ``path``, typed (a JSON true is pushed
        as true, not 1): a JSON null is pushed, a missing value is not (MongoDB)."""
        head, _, rest = path.partition(".")
        col, jp = self.q(head), self.p(self.json_path(rest.split(".")))
        text = json_text(f"json_extract({col}, {jp})", f"json_type({col}, {jp})", null="'null'")
        return (
            f"json_group_array({'DISTINCT ' if distinct else ''}json({text})) "
            f"FILTER (WHERE {text} IS NOT NULL)"
        )

    def _element(self, path: str, fields: Sequence[str] | None) -> str:
        """The SQL of ``path`` as a ``json_group_array`` element: a boolean column (0/1) as
        JSON true/false, so that ``$match`` tests the pushed array's elements as booleans."""
        e, _ = self.expr(path, fields)
        kind = python_type(self.kinds_in.get(path))
        if kind is bool:
            return f"(CASE {e} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END)"
        if kind in (list, dict) or self._json_column(e):
            return f"json({e})"  # a list or document nests instead of being pushed as text
        return e

    def accumulator(self, acc: Any, fields: Sequence[str] | None, order: Sequence[SortKey]) -> str:
        if acc.op in ("push", "addToSet") and not self._nested(acc.path, fields):
            e = self._element(acc.path, fields)
            return self.array_agg(e, distinct=acc.op == "addToSet", ordered="")
        if acc.op in ("first", "last", "push", "addToSet") and self._nested(acc.path, fields):
            # Typed JSON text: a JSON true is pushed (and comes out) as true, not 1.
            e, _ = self.expr(acc.path, fields, for_output=True)
            if acc.op in ("first", "last"):
                rn = self.q(ROW_FIRST if acc.op == "first" else ROW_LAST)
                return f"MAX(CASE WHEN {rn} = 1 THEN {e} END)"
            return self._pushed(acc.path, fields, distinct=acc.op == "addToSet")
        if acc.op in ("sum", "avg") and acc.path is not None:
            e, _ = self.expr(acc.path, fields)
            if self._json_column(e):  # JSON text (an Any column): its value, typed by json_type
                x = f"json_extract({e}, '$')"
                self._json_paths[x] = (e, "$")
                e = x
            # A boolean column holds 0/1: never a number to MongoDB.
            is_bool = python_type(self.kinds_in.get(acc.path)) is bool
            guard = "0" if is_bool else self._guard(e, "number")
            if acc.op == "avg":
                return f"AVG(CASE WHEN {guard} THEN {e} END)"
            # SUM() raises "integer overflow"; MongoDB turns to a double. Sum the high and the
            # low 32 bits of the integers apart (neither can overflow), join them (SQLite's
            # arithmetic turns to a double on overflow), add the doubles.
            ints = f"CASE WHEN {guard} AND {self._type_of(e)[0]} = 'integer' THEN {e} END"
            reals = f"CASE WHEN {guard} AND {self._type_of(e)[0]} = 'real' THEN {e} END"
            return (
                f"(COALESCE(SUM(({ints}) >> 32), 0) * 4294967296 "
                f"+ COALESCE(SUM(({ints}) & 4294967295), 0) "
                f"+ (CASE WHEN COUNT({reals}) > 0 THEN TOTAL({reals}) ELSE 0 END))"
            )
        return super().accumulator(acc, fields, order)

    def group(self, b: _Block, stage: Group) -> _Block:
        """``$push`` in order: each group's array is a window aggregate over its rows in the
        sort order (whole partition), then taken as ``$first`` of the group."""
        order = b.order or ([(self.id_field, 1)] if b.fields and self.id_field in b.fields else [])
        pushes = [n for n, a in stage.accumulators.items() if a.op == "push"] if order else []
        # $min/$max of a JSON path: MongoDB's order of types (numbers < strings < documents <
        # arrays < booleans), which MIN() over json_extract() (true as 1) does not follow.
        extremes = [
            n
            for n, a in stage.accumulators.items()
            if a.op in ("min", "max")
            and (self._nested(a.path, b.fields) or self._json_valued(a.path, b.fields))
        ]
        if b.shaped:
            b = self.wrap(b)
        self._list_columns.discard("_id")
        if isinstance(stage.key, str) and stage.key in self.array_columns:
            self._list_columns.add("_id")  # $match on the key tests its elements
        if not pushes and not extremes:
            return super().group(b, stage)
        keys = [stage.key] if isinstance(stage.key, str) else list((stage.key or {}).values())
        partition = ", ".join(self.expr(p, b.fields, for_output=True)[0] for p in keys)
        over = f"OVER ({'PARTITION BY ' + partition + ' ' if partition else ''}"
        whole = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
        select = [(self.q(f), f) for f in b.fields or []]
        accumulators = dict(stage.accumulators)
        added: list[str] = []
        for i, name in enumerate(pushes):
            acc = accumulators[name]
            column = f"{INTERNAL_PREFIX}push{i}"
            if self._nested(acc.path, b.fields):
                pushed = self._pushed(acc.path or "", b.fields, distinct=False)
            else:
                pushed = f"json_group_array({self._element(acc.path or '', b.fields)})"
            window = f"{over}ORDER BY {self.order_by(order, b.fields)} {whole}"
            select.append((f"{pushed} {window}", column))
            accumulators[name] = Accumulator("first", column)
            added.append(column)
        for i, name in enumerate(extremes):
            acc = accumulators[name]
            column = f"{INTERNAL_PREFIX}extreme{i}"
            e, _ = self.expr(acc.path or "", b.fields, for_output=True)
            window = f"{over}ORDER BY {self._min_max_order(e, acc.op)} {whole}"
            select.append((f"FIRST_VALUE({e}) {window}", column))
            # Every row of a group holds its extreme: MAX() of the group reads it.
            accumulators[name] = Accumulator("max", column)
            added.append(column)
        b.select = select
        b = self.wrap(b)
        b.order = list(order) if all(p in (b.fields or []) for p, _ in order) else []
        b.json_cols |= set(added)
        return super().group(b, replace(stage, accumulators=accumulators))

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        if self._json_column(e):
            e = f"json({e})"  # JSON text (a sub-document...) nests instead of being quoted
        return f"json_group_array({'DISTINCT ' if distinct else ''}{e})"

    def list_order_term(self, e: str, direction: int) -> str:
        # The smallest (largest) element in MongoDB's order of types (null, numbers, strings
        # by code point, documents, arrays, booleans), then value; an empty array first, below
        # null and missing.
        je = self.alias("je")
        way = "ASC" if direction > 0 else "DESC"
        rank = (
            f"(CASE {je}.type WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 "
            f"WHEN 'object' THEN 3 WHEN 'array' THEN 4 WHEN 'true' THEN 5 WHEN 'false' THEN 5 "
            "ELSE 0 END)"
        )
        pick = f"FROM json_each({e}) AS {je} ORDER BY {rank} {way}, {je}.value {way} LIMIT 1"
        empty = f"(CASE WHEN json_type({e}) = 'array' AND json_array_length({e}) = 0 THEN 0 END)"
        empty = f"COALESCE({empty}, 1)"
        return (
            f"{empty} {way}, COALESCE((SELECT {rank} {pick}), 0) {way}, "
            f"(SELECT {je}.value {pick}) {way}"
        )

    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        join = "LEFT JOIN" if preserve else "JOIN"
        return f"{source} {join} json_each({col}) AS {u} ON 1=1", f"{u}.value", f"{u}.key", False

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        pairs = ", ".join(f"{self.p(c)}, {alias}.{self.q(c)}" for c in cols)
        return (
            f"(SELECT json_group_array(json_object({pairs})) FROM {source} AS {alias} WHERE {on})"
        )

    def lookup_on(self, local: str, foreign: str, *, correlated: bool) -> str:
        # IS is SQLite's null-safe equality, and still walks an index on the foreign side.
        return f"{foreign} IS {local}"

    def json_object(self, pairs: Sequence[tuple[str, str, bool]]) -> str:
        # json() marks JSON text as JSON, so it nests instead of being quoted.
        items = ", ".join(
            f"{self.p(k)}, {f'json({v})' if is_json else v}" for k, v, is_json in pairs
        )
        return f"json_object({items})"
