# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""``$lookup`` and ``$unwind`` in SQL: joins, correlated subqueries and JSON array expansion.

A ``$lookup`` followed by ``$unwind`` of its output is one ``LEFT JOIN`` (``preserve...``) or
``JOIN``; a lone ``$lookup`` is a correlated subquery building a JSON array of the joined rows;
``$unwind`` of an array column expands it with the dialect's JSON table function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xrepo.compile.sql._expressions import _ExpressionCompiler
from xrepo.compile.sql._statement import INTERNAL_PREFIX, _Block
from xrepo.query import (
    Lookup,
    SortKey,
    Unwind,
)

__all__: list[str] = []


class _JoinCompiler(_ExpressionCompiler):
    """The ``$lookup``/``$unwind`` part of :class:`~.SQLCompiler` (its base)."""

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
        position = f"{INTERNAL_PREFIX}{u}"
        select.append((ordinal, position))
        order: list[SortKey] = []
        for key, direction in keys:
            if key == path or key.startswith(path + "."):
                # The sort read the array itself, which the element now replaces: keep it.
                kept = f"{INTERNAL_PREFIX}{u}_{len(order)}"
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
