# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""The SQL compiler every dialect shares: filters, sorts and pipelines to SQL text.

What differs between databases lives in one subclass per dialect (:mod:`.postgres`,
:mod:`.mysql`, :mod:`.sqlite`), each overriding the hooks marked "dialect hook" below; this module
holds the structure of a statement, which is the same everywhere.

Nothing a caller supplies becomes SQL text: values are bound parameters, identifiers go through
:meth:`SQLDialect.quote` (validated and quoted), and the only literals written into the text are
numbers this module produced or type-checked itself (limits, offsets, ``$sum`` constants).

While compiling, every parameter is written as a private marker (``\\x00<n>\\x00``) and the
markers are renumbered in text order at the end, so fragments can be nested in any order and
still come out right for positional styles (``?``, ``%s``) as for numbered ones (``$1``).

Semantics follow MongoDB (and the in-memory engine): a missing value is SQL ``NULL``; ``$ne`` and
``$nin`` match ``NULL``; ``NULL`` sorts first; negations are two-valued (``NOT COALESCE(..)``);
``$group`` with ``_id: null`` over no rows and ``$count`` of nothing yield no row.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xrepo.compile.sql.decode import decode
from xrepo.compile.sql.documents import (
    children,
    document_condition,
    document_value,
    expand,
    expand_keys,
)
from xrepo.errors import XRepoValidationError
from xrepo.query import (
    TEXT_OPS,
    And,
    Condition,
    Count,
    FieldType,
    Group,
    Kind,
    Limit,
    Literal,
    Lookup,
    Match,
    Node,
    Nor,
    Not,
    Or,
    Project,
    Skip,
    Sort,
    SortKey,
    Stage,
    Unwind,
    annotation_type,
    pipeline_types,
    stage_types,
)
from xresource.databases.dialect import SQLDialect

__all__ = ["CompiledPipeline", "SQLCompiler", "finalize", "json_text", "like_pattern", "number"]

#: Operators whose value says nothing of the column's type (text patterns, ``exists``).
_UNTYPED_OPS = TEXT_OPS | {"exists"}
_MARK = re.compile("\x00(\\d+)\x00")
_JSON_SEGMENT = re.compile(r"[A-Za-z0-9_\- ]+")


def finalize(dialect: SQLDialect, text: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """Replace parameter markers by the dialect's placeholders, in text order."""
    params: list[Any] = []

    def repl(m: re.Match[str]) -> str:
        params.append(values[int(m.group(1))])
        return dialect.param(len(params))

    return _MARK.sub(repl, text), params


def like_pattern(op: str, value: str) -> str:
    """The ``LIKE`` pattern of a text lookup (``contains``, ``istartswith``...) for ``value``,
    escaped with ``!`` (the compilers write ``ESCAPE '!'``)."""
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    kind = op.removeprefix("i")
    before = "%" if kind in ("contains", "endswith") else ""
    after = "%" if kind in ("contains", "startswith") else ""
    return f"{before}{escaped}{after}"


def number(value: Any) -> str:
    """A type-checked number as SQL text (never user text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise XRepoValidationError(f"expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise XRepoValidationError(f"expected a finite number, got {value!r}")
    return repr(int(value)) if isinstance(value, int) else repr(float(value))


@dataclass
class CompiledPipeline:
    """SQL of a pipeline plus what turning its rows into documents needs."""

    sql: str
    params: list[Any]
    json_columns: set[str] = field(default_factory=set)
    numeric_columns: set[str] = field(default_factory=set)
    #: The kind of each output column (:mod:`.decode`): values come out as ``list()`` types them.
    kinds: dict[str, FieldType] = field(default_factory=dict)
    nested_columns: set[str] = field(default_factory=set)
    optional_prefixes: set[str] = field(default_factory=set)

    def documents(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Decode JSON columns, normalize numbers and rebuild nested fields."""
        out: list[dict[str, Any]] = []
        for row in rows:
            doc: dict[str, Any] = {}
            for key, value in row.items():
                if key.startswith("__"):
                    continue
                if key in self.json_columns and isinstance(value, str | bytes):
                    value = json.loads(value)
                kind = self.kinds.get(key)
                if kind is not None:
                    value = decode(kind, value)
                elif key in self.numeric_columns and isinstance(value, Decimal):
                    value = int(value) if value == value.to_integral_value() else float(value)
                if key in self.nested_columns:
                    head, _, rest = key.partition(".")
                    target = doc.setdefault(head, {})
                    if isinstance(target, dict):
                        _set_nested(target, rest, value)
                    continue
                doc[key] = value
            for prefix in self.optional_prefixes:
                sub = doc.get(prefix)
                if isinstance(sub, dict) and all(v is None for v in sub.values()):
                    del doc[prefix]
            out.append(doc)
        return out


def json_text(value: Any) -> Any:
    """The JSON text of a value of an ``Any`` column (``None`` stays SQL ``NULL``)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    return json.dumps(value, default=str, separators=(",", ":"))


def _set_nested(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for seg in parts[:-1]:
        doc = doc.setdefault(seg, {})
    doc[parts[-1]] = value


@dataclass
class _Block:
    source: str
    alias: str | None
    fields: list[str] | None
    nested: set[str] = field(default_factory=set)
    json_cols: set[str] = field(default_factory=set)
    numeric: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)
    where: list[str] = field(default_factory=list)
    select: list[tuple[str, str]] | None = None
    group_by: list[str] | None = None
    having: list[str] = field(default_factory=list)
    order: list[SortKey] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0

    @property
    def shaped(self) -> bool:
        """Whether the rows are projected, grouped or paged already: a filter, a grouping or
        a join of the result must then wrap the block in a subquery first."""
        return (
            self.select is not None
            or self.group_by is not None
            or self.limit is not None
            or bool(self.offset)
        )


class SQLCompiler:
    """Compiles the query language for one table; subclassed once per SQL dialect.

    Use :func:`xrepo.compile.sql.compiler_for` to get the compiler of a dialect.

    Args:
        dialect: placeholder style and quoting.
        columns: the table's columns (the model's fields); paths outside them are rejected.
        array_columns: columns holding JSON arrays (equality means "contains").
        id_field: the primary key (the default order for ``$first``/``$last``).
        foreign_columns: columns of other tables ``$lookup`` may read.
        regexp: whether the connection has a ``REGEXP`` operator (SQLite needs a function).
        element_types: the scalar type of the elements of list columns, where declared.
        field_kinds: each column's kind (:func:`xrepo.query.field_types`, or a type
            annotation), so that ``aggregate()`` and ``distinct()`` return the types ``list()``
            gives.
        repo: the repository's name, for errors.
        json_columns: columns of untyped fields (``Any``): their values, scalars too, are
            stored as JSON text and compared as JSON, type-strictly.
    """

    def __init__(
        self,
        dialect: SQLDialect,
        *,
        columns: Collection[str] | None,
        array_columns: Collection[str] = (),
        id_field: str = "id",
        foreign_columns: Mapping[str, Sequence[str]] | None = None,
        regexp: bool = True,
        element_types: Mapping[str, Any] | None = None,
        field_kinds: Mapping[str, FieldType | Any] | None = None,
        repo: str | None = None,
        json_columns: Collection[str] = (),
    ) -> None:
        self.d = dialect
        self.columns = list(columns) if columns is not None else None
        self.array_columns = set(array_columns)
        self.id_field = id_field
        self.foreign_columns = dict(foreign_columns or {})
        self.regexp = regexp
        self.element_types = dict(element_types or {})
        kinds = {k: annotation_type(v) for k, v in (field_kinds or {}).items()}
        self.field_kinds = {k: v for k, v in kinds.items() if v.kind is not Kind.ANY}
        self.repo = repo
        self.values: list[Any] = []
        self.n = 0
        #: Sub-documents a ``$lookup`` may have left out, and the columns holding JSON text, of
        #: the block the current pipeline stage reads (see :mod:`.documents`).
        self.optional: set[str] = set()
        #: An ``Any`` column holds JSON text (a number 5 is ``5``, a string ``"5"``): it
        #: compares and reads out as JSON, like a derived column holding JSON text.
        self.any_columns = frozenset(json_columns)
        self.json_names: set[str] = set(self.any_columns)
        #: The kinds of the fields the current pipeline stage reads (the table's outside a
        #: pipeline): a dialect types the columns of derived blocks by them.
        self.kinds_in: dict[str, FieldType] = dict(self.field_kinds)

    # -- basics ---------------------------------------------------------------------------------
    def error(self, message: str, operation: str = "query") -> XRepoValidationError:
        return XRepoValidationError(message, repo=self.repo, operation=operation)

    def q(self, ident: str) -> str:
        try:
            return self.d.quote(ident)
        except Exception as exc:  # XResourceValidationError: keep our hierarchy
            raise self.error(str(exc)) from None

    def q_alias(self, ident: str) -> str:
        """An output name (``AS <name>``), quoted; refused where the database would alter it."""
        try:
            return self.d.quote_alias(ident)
        except Exception as exc:  # XResourceValidationError: keep our hierarchy
            raise self.error(str(exc)) from None

    def p(self, value: Any) -> str:
        """A bound parameter for ``value`` (adapted for the driver)."""
        return self.p_raw(self.adapt(value))

    @staticmethod
    def adapt(value: Any) -> Any:
        """Dialect hook: a Python value as the driver binds it (JSON text for dicts and lists)."""
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, dict | list | tuple):
            return json.dumps(value, default=str, separators=(",", ":"))
        return value

    def p_raw(self, value: Any) -> str:
        """A bound parameter passed to the driver as is (a PostgreSQL text[] path, say)."""
        self.values.append(value)
        return f"\x00{len(self.values) - 1}\x00"

    def finish(self, text: str) -> tuple[str, list[Any]]:
        sql, params = finalize(self.d, text, self.values)
        self.values = []
        return sql, params

    def alias(self, prefix: str = "s") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    # -- column expressions ---------------------------------------------------------------------
    def json_path(self, segments: Sequence[str]) -> str:
        for seg in segments:
            if not _JSON_SEGMENT.fullmatch(seg):
                raise self.error(
                    f"nested field name {seg!r} is not supported in SQL JSON paths "
                    "(letters, digits, '_', '-', space)"
                )
        return "$" + "".join(f'."{seg}"' for seg in segments)

    def expr(
        self,
        path: str,
        fields: Sequence[str] | None,
        *,
        filtering: Any = None,
        for_output: bool = False,
    ) -> tuple[str, bool]:
        """SQL for the value at ``path``; the flag says it is JSON text to decode on output."""
        if fields is None or path in fields:
            return self.q(path), fields is self.columns and path in self.any_columns
        head, _, rest = path.partition(".")
        if not rest or head not in fields:
            if children(path, fields):
                return document_value(self, path, fields), True
            raise self.error(f"unknown field {path!r}; fields: {', '.join(fields)}")
        return self.nested(self.q(head), rest.split("."), filtering, for_output)

    def nested(
        self, col: str, segs: Sequence[str], filtering: Any, for_output: bool
    ) -> tuple[str, bool]:
        """Dialect hook: the value at JSON path ``segs`` inside column ``col``; the flag says
        the SQL yields JSON text to decode on output. ``filtering`` is the value it will be
        compared with (``""`` for text operators, ``None`` when not filtering)."""
        raise NotImplementedError

    # -- filters --------------------------------------------------------------------------------
    def where(self, node: Node, fields: Sequence[str] | None) -> str:
        """A boolean SQL expression for ``node``."""
        if isinstance(node, And):
            if not node.children:
                return "1=1"
            return "(" + " AND ".join(self.where(c, fields) for c in node.children) + ")"
        if isinstance(node, Or):
            if not node.children:
                return "1=0"
            return "(" + " OR ".join(self.where(c, fields) for c in node.children) + ")"
        if isinstance(node, Nor):
            if not node.children:
                return "1=1"
            inner = " OR ".join(self.where(c, fields) for c in node.children)
            return f"(NOT COALESCE(({inner}), {self.false}))"
        if isinstance(node, Not):
            return f"(NOT COALESCE(({self.where(node.child, fields)}), {self.false}))"
        cols = children(node.path, fields)
        if cols and fields is not None:
            return document_condition(self, node, cols, fields)
        return self.condition(node, fields)

    #: Dialect hook: the SQL spelling of false.
    false = "0"

    def condition(self, c: Condition, fields: Sequence[str] | None) -> str:
        op, value = c.op, c.value
        sample = value[0] if op in ("in", "nin") and value else value
        if isinstance(sample, dict | list):
            raise self.error(
                f"field {c.path!r}: comparing with a document or list is not "
                f"supported on {self.d.name}"
            )
        e, _ = self.expr(
            c.path,
            fields,
            filtering=sample if op not in _UNTYPED_OPS else "",
        )
        is_array = c.path in self.array_columns
        if op in ("eq", "ne"):
            if value is None:
                return f"{e} IS NULL" if op == "eq" else f"{e} IS NOT NULL"
            test = self.array_contains(e, value) if is_array else self.compare(e, "=", value)
            if op == "eq":
                return test
            return f"(NOT COALESCE({test}, {self.false}))"
        if op in ("gt", "gte", "lt", "lte"):
            if value is None:
                return "1=0" if op in ("gt", "lt") else f"{e} IS NULL"
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            return self.compare(e, symbol, value)
        if op in ("in", "nin"):
            present = [v for v in value if v is not None]
            has_null = len(present) != len(value)
            if is_array:
                parts = [self.array_contains(e, v) for v in present]
                if has_null:
                    parts.append(f"{e} IS NULL")
                test = "(" + " OR ".join(parts) + ")" if parts else "1=0"
            else:
                parts = []
                if present:
                    parts.append(self.compare_in(e, present))
                if has_null:
                    parts.append(f"{e} IS NULL")
                test = "(" + " OR ".join(parts) + ")" if parts else "1=0"
            if op == "in":
                return test
            return f"(NOT COALESCE({test}, {self.false}))"
        if op == "exists":
            return f"{e} IS NOT NULL" if value else f"{e} IS NULL"
        if op == "regex":
            return self.regex(e, *value)
        return self.like(e, op, value)

    def compare(self, e: str, symbol: str, value: Any) -> str:
        """Dialect hook: ``e`` compared (``=``, ``<``, ``>=``...) with a non-null scalar."""
        return f"{e} {symbol} {self.p(value)}"

    def compare_in(self, e: str, values: Sequence[Any]) -> str:
        """Dialect hook: ``e`` equals one of the non-null scalars ``values``."""
        return f"{e} IN ({', '.join(self.p(v) for v in values)})"

    def array_contains(self, e: str, value: Any) -> str:
        """Dialect hook: whether the JSON array ``e`` holds ``value``."""
        raise NotImplementedError

    def like(self, e: str, op: str, value: str) -> str:
        """``__contains`` and friends as ``LIKE`` with an escaped pattern (a dialect may do
        better)."""
        insensitive = op.startswith("i")
        pattern = like_pattern(op, value)
        if insensitive:
            return f"(LOWER({e}) LIKE LOWER({self.p(pattern)}) ESCAPE '!')"
        return f"({e} LIKE {self.p(pattern)} ESCAPE '!')"

    def regex(self, e: str, pattern: str, flags: str) -> str:
        """Dialect hook: ``e`` matches ``pattern`` (flags: only ``i`` is portable)."""
        raise NotImplementedError

    def check_regex_flags(self, flags: str) -> None:
        unsupported = set(flags) - {"i"}
        if unsupported:
            raise self.error(
                f"regex option(s) {''.join(sorted(unsupported))!r} are not "
                f"supported on {self.d.name}; only 'i' is"
            )

    def order_by(self, keys: Sequence[SortKey], fields: Sequence[str] | None) -> str:
        parts = []
        for path, direction in keys:
            e, _ = self.expr(path, fields, for_output=True)
            if self.list_valued(path):
                if path == "_id":
                    # mongod orders a list _id (a $group key) as a whole value, element by
                    # element after every scalar; no dialect here compares JSON arrays so.
                    raise self.error(
                        f"$sort by the list field {path!r} (a $group key) is not supported on "
                        f"{self.d.name}: MongoDB orders it as a whole array, element by element",
                        "aggregate",
                    )
                parts.append(self.list_order_term(e, direction))
                continue
            parts.append(self.order_term(e, path, direction))
        return ", ".join(parts)

    def list_valued(self, path: str) -> bool:
        """Whether ``path`` holds lists where the current stage reads it (a list column, a
        ``$push``/``$addToSet`` result, a ``$group`` key on a list field)."""
        if path in self.array_columns:
            return True
        kind = self.kinds_in.get(path)
        return kind is not None and kind.kind is Kind.LIST

    def list_order_term(self, e: str, direction: int) -> str:
        """Dialect hook: the ``ORDER BY`` terms of the JSON array ``e`` as MongoDB sorts an
        array: by its smallest element ascending, its largest descending (MongoDB's order of
        types, then value); an empty array below null and missing."""
        raise self.error(f"$sort by a list field is not supported on {self.d.name}", "aggregate")

    def order_term(self, e: str, path: str, direction: int) -> str:
        """Dialect hook: one ``ORDER BY`` term; nulls first ascending, last descending."""
        return f"{e} {'ASC' if direction > 0 else 'DESC'}"

    #: Dialect hook: the ``LIMIT`` that means "no limit" before an ``OFFSET`` (``None``: omit).
    no_limit: str | None = None

    def limit_clause(self, skip: int, limit: int | None) -> str:
        if limit is None and not skip:
            return ""
        if limit is None:
            if self.no_limit is None:
                return f" OFFSET {number(skip)}"
            return f" LIMIT {self.no_limit} OFFSET {number(skip)}"
        return f" LIMIT {number(limit)}" + (f" OFFSET {number(skip)}" if skip else "")

    # -- statements -----------------------------------------------------------------------------
    def select(
        self,
        table: str,
        node: Node,
        sort: Sequence[SortKey] = (),
        skip: int = 0,
        limit: int | None = None,
    ) -> tuple[str, list[Any]]:
        cols = ", ".join(self.q(c) for c in self.columns) if self.columns else "*"
        text = f"SELECT {cols} FROM {table} WHERE {self.where(node, self.columns)}"
        if sort:
            text += f" ORDER BY {self.order_by(sort, self.columns)}"
        text += self.limit_clause(skip, limit)
        return self.finish(text)

    def count(self, table: str, node: Node) -> tuple[str, list[Any]]:
        return self.finish(f"SELECT COUNT(*) FROM {table} WHERE {self.where(node, self.columns)}")

    def distinct(self, table: str, path: str, node: Node) -> CompiledPipeline:
        """The distinct non-null values of ``path`` among the rows matching ``node``, as rows
        ``{"value": ...}``; of a list field its distinct elements, as MongoDB's ``distinct``."""
        where = self.where(node, self.columns)
        value = self.q("value")
        kind = self.field_kinds.get(path) if "." not in path else None
        if path in self.array_columns:
            alias, u = self.alias("d"), self.alias("u")
            inner = f"(SELECT {self.q(path)} FROM {table} WHERE {where}) AS {self.q(alias)}"
            source, elem, _, is_json = self.unwind_source(
                inner,
                f"{self.q(alias)}.{self.q(path)}",
                self.q(u),
                self.element_types.get(path),
                preserve=False,
            )
            text = f"SELECT DISTINCT {elem} AS {value} FROM {source} WHERE {elem} IS NOT NULL"
            element = kind.element if kind is not None and kind.kind is Kind.LIST else None
            kind = FieldType(element) if element is not None else None
        else:
            e, is_json = self.expr(path, self.columns, for_output=True)
            e, _ = self.group_key(e)
            text = f"SELECT DISTINCT {e} AS {value} FROM {table} WHERE {where} AND {e} IS NOT NULL"
        sql, params = self.finish(text)
        return CompiledPipeline(
            sql,
            params,
            json_columns={"value"} if is_json else set(),
            kinds={"value": kind} if kind is not None else {},
        )

    def update(
        self, table: str, node: Node, changes: Mapping[str, Any], increment: Collection[str] = ()
    ) -> tuple[str, list[Any]]:
        sets = [
            f"{self.q(k)} = {self.p(self.stored(k, v))}"
            for k, v in changes.items()
            if k not in increment
        ]
        sets += [f"{self.q(k)} = COALESCE({self.q(k)}, 0) + 1" for k in increment]
        return self.finish(
            f"UPDATE {table} SET {', '.join(sets)} WHERE {self.where(node, self.columns)}"
        )

    def delete(self, table: str, node: Node) -> tuple[str, list[Any]]:
        return self.finish(f"DELETE FROM {table} WHERE {self.where(node, self.columns)}")

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Mapping[str, Any]],
        *,
        returning: bool,
    ) -> tuple[str, list[Any]]:
        cols = ", ".join(self.q(c) for c in columns)
        tuples = ", ".join(
            "(" + ", ".join(self.p(self.stored(c, r.get(c))) for c in columns) + ")" for r in rows
        )
        text = f"INSERT INTO {table} ({cols}) VALUES {tuples}"
        if returning:
            all_cols = ", ".join(self.q(c) for c in (self.columns or columns))
            text += f" RETURNING {all_cols}"
        return self.finish(text)

    def stored(self, column: str, value: Any) -> Any:
        """``value`` as column ``column`` stores it: JSON text in an ``Any`` column (SQL
        ``NULL`` stays ``NULL``), so that 5 and ``"5"`` stay apart."""
        if column in self.any_columns:
            return json_text(value)
        return value

    # -- pipelines ------------------------------------------------------------------------------
    def render(self, b: _Block) -> str:
        if b.select is None:
            cols = ", ".join(self.q(f) for f in b.fields) if b.fields else "*"
        else:
            cols = ", ".join(f"{e} AS {self.q_alias(a)}" for e, a in b.select)
        text = f"SELECT {cols} FROM {b.source}"
        if b.where:
            text += " WHERE " + " AND ".join(b.where)
        if b.group_by:
            text += " GROUP BY " + ", ".join(b.group_by)
        if b.having:
            text += " HAVING " + " AND ".join(b.having)
        if b.order:
            text += " ORDER BY " + self.order_by(
                b.order, b.fields if b.select is None or b.group_by is None else self.out(b)
            )
        text += self.limit_clause(b.offset, b.limit)
        return text

    def out(self, b: _Block) -> list[str] | None:
        if b.select is None:
            return b.fields
        return [a for _, a in b.select]

    def wrap(self, b: _Block) -> _Block:
        alias = self.alias()
        inner = self.render(b)
        fields = self.out(b)
        # The rows keep their order past a $limit/$skip too: a later $unwind, $push, $first or
        # $last reads it.
        order = [
            k
            for k in b.order
            if fields is None or k[0] in fields or k[0].partition(".")[0] in fields
        ]
        return _Block(
            source=f"({inner}) AS {self.q(alias)}",
            alias=alias,
            fields=fields,
            nested=set(b.nested),
            json_cols=set(b.json_cols),
            numeric=set(b.numeric),
            optional=set(b.optional),
            order=order,
        )

    def pipeline(self, table: str, stages: Sequence[Stage]) -> CompiledPipeline:
        """Compile a validated pipeline over ``table`` into one SQL statement."""
        b = _Block(source=table, alias=None, fields=self.columns)
        b.json_cols = set(self.any_columns)  # Any columns hold JSON text
        i = 0
        while i < len(stages):
            stage, start = stages[i], i
            self.optional, self.json_names = set(b.optional), set(b.json_cols)
            if isinstance(stage, Match):
                if b.shaped:
                    b = self.wrap(b)
                b.where.append(self.where(stage.node, b.fields))
            elif isinstance(stage, Sort):
                if b.select is not None or b.limit is not None or b.offset:
                    b = self.wrap(b)
                # A sub-document sorts field by field. Validate the names now; parameters of
                # this dry run are never referenced.
                b.order = expand_keys(stage.keys, b.fields)
                self.order_by(b.order, b.fields)
            elif isinstance(stage, Skip):
                b.offset += stage.n
                if b.limit is not None:
                    b.limit = max(0, b.limit - stage.n)
            elif isinstance(stage, Limit):
                b.limit = stage.n if b.limit is None else min(b.limit, stage.n)
            elif isinstance(stage, Project):
                if b.select is not None or b.group_by is not None:
                    b = self.wrap(b)
                b = self.project(b, stage)
            elif isinstance(stage, Group):
                if b.shaped:
                    b = self.wrap(b)
                b = self.group(b, stage)
            elif isinstance(stage, Count):
                b = self.wrap(b)
                b.select = [("COUNT(*)", stage.name)]
                b.having = ["COUNT(*) > 0"]
                b.order = []
                b.numeric = {stage.name}
                b.nested, b.json_cols, b.optional = set(), set(), set()
                b = self.wrap(b)
            elif isinstance(stage, Lookup):
                nxt = stages[i + 1] if i + 1 < len(stages) else None
                if isinstance(nxt, Unwind) and nxt.path == stage.as_:
                    b = self.join(b, stage, nxt.preserve_null_and_empty)
                    i += 1
                else:
                    b = self.lookup_array(b, stage)
            elif isinstance(stage, Unwind):
                b = self.unwind(b, stage)
            i += 1
            for done in stages[start:i]:
                self.kinds_in = stage_types(done, self.kinds_in)
        sql, params = self.finish(self.render(b))
        self.kinds_in = dict(self.field_kinds)
        kinds = pipeline_types(stages, self.field_kinds)
        return CompiledPipeline(
            sql,
            params,
            json_columns=b.json_cols,
            numeric_columns=b.numeric,
            kinds=kinds,
            nested_columns=b.nested,
            optional_prefixes=b.optional,
        )

    def project(self, b: _Block, stage: Project) -> _Block:
        fields = b.fields
        select: list[tuple[str, str]] = []
        nested: set[str] = set()
        json_cols: set[str] = set()
        if stage.include is None:
            if fields is None:
                raise self.error("an exclusion $project needs the table's columns", "aggregate")
            for path in stage.exclude:
                if "." in path and path not in fields:
                    raise self.error(
                        f"excluding the nested field {path!r} is not supported on {self.d.name}",
                        "aggregate",
                    )
            removed = set(stage.exclude)
            for f in fields:
                # A removed sub-document takes its columns along.
                if f not in removed and not any(f.startswith(r + ".") for r in removed):
                    select.append((self.q(f), f))
                    if f in b.nested:
                        nested.add(f)
                    if f in b.json_cols:
                        json_cols.add(f)
        else:
            if (
                fields is not None
                and ("_id" in fields or children("_id", fields))
                and not stage.drop_id
                and "_id" not in stage.include
            ):
                for col, name in expand("_id", "_id", fields):  # a compound _id: its columns
                    select.append((self.q(col), name))
                    if "." in name:
                        nested.add(name)
            for out_name, out_source in stage.include.items():
                if isinstance(out_source, Literal):
                    value = out_source.value
                    select.append(("NULL" if value is None else self.literal(value), out_name))
                    continue
                if out_source in b.optional:
                    b.optional.add(out_name)
                # A sub-document is projected as its columns, each keeping its type.
                for col, name in expand(out_source, out_name, fields):
                    e, is_json = self.expr(col, fields, for_output=True)
                    select.append((e, name))
                    if "." in name:
                        nested.add(name)
                    if is_json or col in b.json_cols:
                        json_cols.add(name)
            # nested columns produced earlier keep their flag when projected as-is
            for name, source in stage.include.items():
                if isinstance(source, str) and source in b.nested and name == source:
                    nested.add(name)
        b.select = select
        b.nested = nested | {n for n in b.nested if any(a == n for _, a in select)}
        b.json_cols = json_cols
        b.numeric = {n for n in b.numeric if any(a == n for _, a in select)}
        return b

    def literal(self, value: Any) -> str:
        """Dialect hook: a constant of a ``$project`` (a bound parameter, typed if need be)."""
        return self.p(value)

    def group(self, b: _Block, stage: Group) -> _Block:
        needs_order = any(a.op in ("first", "last") for a in stage.accumulators.values())
        key_paths: list[tuple[str, str]] = []
        if isinstance(stage.key, str):
            key_paths = [(stage.key, "_id")]
        elif isinstance(stage.key, dict):
            key_paths = [(p, f"_id.{k}") for k, p in stage.key.items()]
        # A sub-document groups by its columns, and comes out as them (``_id.<name>``).
        key_paths = [kp for p, a in key_paths for kp in expand(p, a, b.fields)]
        order = b.order or ([(self.id_field, 1)] if b.fields and self.id_field in b.fields else [])
        if needs_order:
            # The keys as grouped (for output): a partition must split exactly as the groups do
            # (PostgreSQL's text of a JSON path would merge "10" with 10).
            keys_sql = ", ".join(
                term
                for p, _ in key_paths
                for key, exact in [self.group_key(self.expr(p, b.fields, for_output=True)[0])]
                for term in (key, *exact)
            )
            partition = f"PARTITION BY {keys_sql} " if keys_sql else ""
            fwd = self.order_by(order, b.fields) if order else ""
            rev = self.order_by([(p, -d) for p, d in order], b.fields) if order else ""
            base = [(self.q(f), f) for f in (b.fields or [])]
            b.select = [
                *base,
                (f"ROW_NUMBER() OVER ({partition}{'ORDER BY ' + fwd if fwd else ''})", "__rn_f"),
                (f"ROW_NUMBER() OVER ({partition}{'ORDER BY ' + rev if rev else ''})", "__rn_l"),
            ]
            b = self.wrap(b)
            b.fields = [f for f in (b.fields or []) if not f.startswith("__rn_")]
            fields_for_expr: list[str] | None = [*(b.fields or []), "__rn_f", "__rn_l"]
        else:
            fields_for_expr = b.fields
        select: list[tuple[str, str]] = []
        group_by: list[str] = []
        nested: set[str] = set()
        json_cols: set[str] = set()
        for path, alias in key_paths:
            e, is_json = self.expr(path, fields_for_expr, for_output=True)
            e, exact = self.group_key(e)
            select.append((e, alias))
            # By position: a repeated expression would bind its JSON-path parameter twice,
            # and PostgreSQL would not see the two as the same expression.
            group_by.append(str(len(select)))
            group_by.extend(exact)
            if "." in alias:
                nested.add(alias)
            if is_json or path in b.json_cols:
                json_cols.add(alias)
        if stage.key is None:
            select.append(("NULL", "_id"))
        numeric: set[str] = set()
        for name, acc in stage.accumulators.items():
            if acc.op in ("min", "max") and acc.path is not None and self.list_valued(acc.path):
                # MongoDB compares whole arrays here (element by element, after every scalar),
                # an order no dialect here gives JSON arrays: refused rather than wrong.
                raise self.error(
                    f"${acc.op} of the list field {acc.path!r} is not supported on "
                    f"{self.d.name} (MongoDB compares whole arrays element by element)",
                    "aggregate",
                )
            document = acc.path is not None and bool(children(acc.path, fields_for_expr))
            if document and acc.op in ("sum", "avg", "min", "max"):
                if acc.op in ("min", "max"):
                    raise self.error(
                        f"${acc.op} of the document field {acc.path!r} is not supported on "
                        f"{self.d.name} (MongoDB's order of documents)",
                        "aggregate",
                    )
                # MongoDB sums and averages numbers only: a document is none. (Aggregates of
                # nothing, not constants: a group by nothing needs an aggregate for HAVING.)
                nothing = "COUNT(*) * 0" if acc.op == "sum" else "CASE WHEN COUNT(*) < 0 THEN 0 END"
                select.append((f"({nothing})", name))
                numeric.add(name)
                continue
            select.append((self.accumulator(acc, fields_for_expr, order), name))
            if acc.op in ("push", "addToSet"):
                json_cols.add(name)
            else:
                numeric.add(name)
            if acc.op in ("first", "last", "min", "max") and (
                document or acc.path in b.json_cols or self.json_accumulator(acc, fields_for_expr)
            ):
                json_cols.add(name)
        out = _Block(
            source=b.source,
            alias=b.alias,
            fields=b.fields,
            where=b.where,
            select=select,
            group_by=group_by or None,
            nested=nested,
            json_cols=json_cols,
            numeric=numeric,
        )
        if isinstance(stage.key, str) and stage.key in b.optional:
            out.optional = {"_id"}  # grouped on a document a $lookup may have left out
        if not group_by:
            out.having = ["COUNT(*) > 0"]
            out.group_by = None
        return self.wrap(out)

    def group_key(self, e: str) -> tuple[str, list[str]]:
        """Dialect hook: a ``$group`` key (or ``distinct()`` value) ``e`` as selected, and more
        ``GROUP BY`` terms that split it exactly (MongoDB's equality) where ``e`` alone would
        not."""
        return e, []

    def accumulator(self, acc: Any, fields: Sequence[str] | None, order: Sequence[SortKey]) -> str:
        if acc.op == "count":
            return "COUNT(*)"
        if acc.op == "sum" and acc.path is None:
            return f"COUNT(*) * {number(acc.constant)}"
        e, _ = self.expr(acc.path, fields)
        if acc.op in ("sum", "avg", "min", "max"):
            return self.aggregate(acc.op, e)
        if acc.op == "first":
            return f"MAX(CASE WHEN {self.q('__rn_f')} = 1 THEN {e} END)"
        if acc.op == "last":
            return f"MAX(CASE WHEN {self.q('__rn_l')} = 1 THEN {e} END)"
        distinct = acc.op == "addToSet"
        ordered = "" if distinct or not order else self.order_by(order, fields)
        return self.array_agg(e, distinct=distinct, ordered=ordered)

    def json_accumulator(self, acc: Any, fields: Sequence[str] | None) -> bool:
        """Dialect hook: whether ``$first``/``$last``/``$min``/``$max`` of ``acc`` yields JSON
        text to decode (a dialect that accumulates nested paths as JSON says so)."""
        return False

    def aggregate(self, op: str, e: str) -> str:
        """Dialect hook: ``$sum``/``$avg``/``$min``/``$max`` of ``e`` over a group."""
        if op == "sum":
            return f"COALESCE(SUM({e}), 0)"
        if op == "avg":
            return f"AVG({e})"
        return f"{op.upper()}({e})"

    def array_agg(self, e: str, *, distinct: bool, ordered: str) -> str:
        """Dialect hook: the JSON array of ``e`` over a group (``$push``/``$addToSet``), in the
        order ``ordered`` (an ``ORDER BY`` list, or ``""``)."""
        raise NotImplementedError

    def _foreign(self, lookup: Lookup) -> list[str]:
        cols = self.foreign_columns.get(lookup.source)
        if not cols:
            raise self.error(f"$lookup: unknown table {lookup.source!r}", "aggregate")
        if lookup.foreign not in cols:
            raise self.error(
                f"$lookup: table {lookup.source!r} has no column {lookup.foreign!r}", "aggregate"
            )
        return list(cols)

    def _lookup_sides(
        self, b: _Block, lookup: Lookup, *, plain: bool
    ) -> tuple[_Block, list[str], str, str]:
        """The local block ready for a ``$lookup`` (wrapped unless it is a bare aliased table
        - without a WHERE too when ``plain``), the foreign columns, both sides' aliases."""
        cols = self._foreign(lookup)
        if b.fields is None or lookup.local not in b.fields:
            raise self.error(f"$lookup.localField {lookup.local!r} must be a column", "aggregate")
        if b.shaped or b.alias is None or (plain and b.where):
            b = self.wrap(b)
        return b, cols, b.alias or "", self.alias("f")

    def join(self, b: _Block, lookup: Lookup, preserve: bool) -> _Block:
        b, cols, left, right = self._lookup_sides(b, lookup, plain=True)
        kind = "LEFT JOIN" if preserve else "JOIN"
        source = (
            f"{b.source} {kind} {self.foreign_source(lookup, cols)} AS {self.q(right)} ON "
            + self.lookup_on(
                f"{self.q(left)}.{self.q(lookup.local)}",
                f"{self.q(right)}.{self.q(lookup.foreign)}",
                correlated=False,
            )
        )
        select = [(f"{self.q(left)}.{self.q(f)}", f) for f in b.fields or [] if f != lookup.as_]
        select += [(f"{self.q(right)}.{self.q(c)}", f"{lookup.as_}.{c}") for c in cols]
        nested = {n for n in b.nested if n != lookup.as_} | {f"{lookup.as_}.{c}" for c in cols}
        order = [(f"{self.q(left)}.{self.q(p)}", d) for p, d in b.order]
        joined = _Block(
            source=source,
            alias=None,
            fields=None,
            select=select,
            nested=nested,
            json_cols=set(b.json_cols),
            numeric=set(b.numeric),
            optional=({lookup.as_} if preserve else set()) | b.optional,
        )
        return self.wrap_join(joined, order)

    def wrap_join(self, b: _Block, order: list[tuple[str, int]]) -> _Block:
        alias = self.alias()
        cols = ", ".join(f"{e} AS {self.q_alias(a)}" for e, a in b.select or [])
        text = f"SELECT {cols} FROM {b.source}"
        if order:
            text += " ORDER BY " + ", ".join(f"{e} {'ASC' if d > 0 else 'DESC'}" for e, d in order)
        fields = [a for _, a in b.select or []]
        return _Block(
            source=f"({text}) AS {self.q(alias)}",
            alias=alias,
            fields=fields,
            nested=b.nested,
            json_cols=b.json_cols,
            numeric=b.numeric,
            optional=b.optional,
        )

    def unwind(self, b: _Block, stage: Unwind) -> _Block:
        """``$unwind`` of a JSON array column: a lateral join with the array's elements."""
        path = stage.path
        if (
            b.fields is None
            or path not in b.fields
            or path in b.nested
            or path not in self.array_columns
        ):
            raise self.error(
                f"$unwind on {self.d.name} needs a top-level JSON array column; {path!r} is not "
                "one (after a $lookup, $unwind its result directly)",
                "aggregate",
            )
        if (
            b.select is not None
            or b.group_by is not None
            or b.limit is not None
            or b.offset
            or b.alias is None
            or b.where
        ):
            b = self.wrap(b)
        left, u = b.alias or "", self.alias("u")
        col = f"{self.q(left)}.{self.q(path)}"
        source, elem, ordinal, decode = self.unwind_source(
            b.source,
            col,
            self.q(u),
            self.element_types.get(path),
            preserve=stage.preserve_null_and_empty,
        )
        select = [(f"{self.q(left)}.{self.q(f)}", f) for f in b.fields or [] if f != path]
        select.append((elem, path))
        # MongoDB's order of the unwound rows: the documents' (their $sort, else the natural
        # order), then each element's position. The block carries it as sort keys, the
        # position as a hidden column: an ORDER BY inside a derived table binds no database
        # (PostgreSQL, SQLite and MariaDB all dropped it under a $group's $push/$first/$last).
        keys = b.order or ([(self.id_field, 1)] if self.id_field in (b.fields or ()) else [])
        position = f"__{u}"
        select.append((ordinal, position))
        order: list[SortKey] = []
        for key, direction in keys:
            if key == path or key.startswith(path + "."):
                # The sort read the array itself, which the element now replaces: keep it.
                kept = f"__{u}_{len(order)}"
                select.append((f"{self.q(left)}.{self.q(path)}", kept))
                self.array_columns.add(kept)
                key = kept + key[len(path) :]
            order.append((key, direction))
        order.append((position, 1))
        self.array_columns.discard(path)  # from here on the field holds single elements
        json_cols = set(b.json_cols) - {path}
        if decode:
            json_cols.add(path)
        unwound = _Block(
            source=source,
            alias=None,
            fields=None,
            select=select,
            nested=set(b.nested),
            json_cols=json_cols,
            numeric=set(b.numeric),
            optional=set(b.optional),
        )
        out = self.wrap_join(unwound, [])
        out.order = order
        return out

    def unwind_source(
        self, source: str, col: str, u: str, kind: Any, *, preserve: bool
    ) -> tuple[str, str, str, bool]:
        """Dialect hook: ``source`` joined with the elements of the JSON array ``col`` under
        the quoted alias ``u`` (kept when empty or null if ``preserve``). Returns the joined
        source, the element and ordinal expressions, and whether the element is JSON text."""
        raise NotImplementedError

    def foreign_source(self, lookup: Lookup, cols: Sequence[str]) -> str:
        """The foreign table of a ``$lookup``, restricted by its ``where`` when it has one."""
        if lookup.where is None:
            return self.q(lookup.source)
        listed = ", ".join(self.q(c) for c in cols)
        return (
            f"(SELECT {listed} FROM {self.q(lookup.source)} WHERE {self.where(lookup.where, cols)})"
        )

    def lookup_array(self, b: _Block, lookup: Lookup) -> _Block:
        b, cols, left, right = self._lookup_sides(b, lookup, plain=False)
        on = self.lookup_on(
            f"{self.q(left)}.{self.q(lookup.local)}",
            f"{self.q(right)}.{self.q(lookup.foreign)}",
            correlated=True,
        )
        sub = self.rows_as_json(self.foreign_source(lookup, cols), self.q(right), cols, on)
        b.select = [(f"{self.q(left)}.{self.q(f)}", f) for f in b.fields or [] if f != lookup.as_]
        b.select.append((sub, lookup.as_))
        b.json_cols = {c for c in b.json_cols if c != lookup.as_} | {lookup.as_}
        order = b.order
        b.order = []
        out = self.wrap(b)
        out.order = [k for k in order if k[0] in (out.fields or [])]
        return out

    def rows_as_json(self, source: str, alias: str, cols: Sequence[str], on: str) -> str:
        """Dialect hook: a scalar subquery, the JSON array of the rows of ``source`` (aliased
        ``alias``, columns ``cols``) where ``on`` holds; ``[]`` when none does."""
        raise NotImplementedError

    def lookup_on(self, local: str, foreign: str, *, correlated: bool) -> str:
        """Dialect hook: the join condition of a ``$lookup``, null-safe: MongoDB joins a null or
        missing local value with the foreign rows whose field is null or missing (SQL's ``=``
        never joins ``NULL``). ``correlated`` says it is the ``WHERE`` of the subquery of a lone
        ``$lookup`` (``local`` is then a value of the outer row), else the ``ON`` of a join."""
        return f"({foreign} = {local} OR ({foreign} IS NULL AND {local} IS NULL))"

    def json_object(self, pairs: Sequence[tuple[str, str, bool]]) -> str:
        """Dialect hook: a JSON object of ``(key, SQL value, the value is JSON text)`` pairs, in
        order: a sub-document read as one value (:mod:`.documents`)."""
        raise NotImplementedError
