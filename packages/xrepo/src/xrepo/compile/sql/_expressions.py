# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""Column expressions, filters and sorts in SQL: the part of the compiler every statement uses.

:class:`_ExpressionCompiler` holds the compiler's state (the table's columns and kinds, the
parameters bound so far), quoting, the value at a path, ``WHERE`` conditions with MongoDB's
semantics (a missing value is ``NULL``; ``$ne`` and ``$nin`` match ``NULL``; negations are
two-valued), ``ORDER BY`` (``NULL`` first) and the rendering of a statement block. The dialect
hooks are overridden by one subclass per database.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from xrepo.compile.sql._documents import (
    children,
    document_condition,
    document_value,
)
from xrepo.compile.sql._statement import _Block, finalize, like_pattern, number
from xrepo.errors import XRepoValidationError
from xrepo.query import (
    TEXT_OPS,
    And,
    Condition,
    FieldType,
    Kind,
    Node,
    Nor,
    Not,
    Or,
    SortKey,
    annotation_type,
)
from xresource import SQLDialect

__all__: list[str] = []

#: Operators whose value says nothing of the column's type (text patterns, ``exists``).
_UNTYPED_OPS = TEXT_OPS | {"exists"}
_JSON_SEGMENT = re.compile(r"[A-Za-z0-9_\- ]+")


class _ExpressionCompiler:
    """State, quoting, expressions, filters and sorts of :class:`~.SQLCompiler` (its base)."""

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
        #: the block the current pipeline stage reads (see :mod:`._documents`).
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

    def json_object(self, pairs: Sequence[tuple[str, str, bool]]) -> str:
        """Dialect hook: a JSON object of ``(key, SQL value, the value is JSON text)`` pairs, in
        order: a sub-document read as one value (:mod:`._documents`)."""
        raise NotImplementedError
