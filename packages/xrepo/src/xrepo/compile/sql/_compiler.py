# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""The SQL compiler every dialect shares: filters, sorts and pipelines to SQL text.

What differs between databases lives in one subclass per dialect (:mod:`._postgres`,
:mod:`._mysql`, :mod:`._sqlite`), each overriding the hooks marked "dialect hook"; this module
holds the statements and the pipeline stages, :mod:`._expressions` the expressions, filters and
sorts, :mod:`._joins` ``$lookup`` and ``$unwind``: the structure of a statement, which is the same
everywhere.

Nothing a caller supplies becomes SQL text: values are bound parameters, identifiers go through
:meth:`SQLDialect.quote` (validated and quoted), and the only literals written into the text are
numbers this module produced or type-checked itself (limits, offsets, ``$sum`` constants).

Parameters are written as markers renumbered at the end (:func:`._statement.finalize`).

Semantics follow MongoDB (and the in-memory engine): a missing value is SQL ``NULL``; ``$ne`` and
``$nin`` match ``NULL``; ``NULL`` sorts first; negations are two-valued (``NOT COALESCE(..)``);
``$group`` with ``_id: null`` over no rows and ``$count`` of nothing yield no row.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from xrepo.compile.sql._documents import (
    children,
    expand,
    expand_keys,
)
from xrepo.compile.sql._joins import _JoinCompiler
from xrepo.compile.sql._statement import (
    ROW_FIRST,
    ROW_LAST,
    CompiledPipeline,
    _Block,
    json_text,
    number,
)
from xrepo.query import (
    Count,
    FieldType,
    Group,
    Kind,
    Limit,
    Literal,
    Lookup,
    Match,
    Node,
    Project,
    Skip,
    Sort,
    SortKey,
    Stage,
    Unwind,
    pipeline_types,
    stage_types,
)

__all__ = ["SQLCompiler"]


class SQLCompiler(_JoinCompiler):
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
                arrays_in = set(self.array_columns)
                b = self.group(b, stage)
                # What holds lists now: $first/$last/$min/$max of a list column are one of its
                # lists; the input's columns are gone (an output may reuse a name).
                self.array_columns = {
                    name
                    for name, acc in stage.accumulators.items()
                    if acc.op in ("first", "last", "min", "max") and acc.path in arrays_in
                }
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
            renamed_arrays: set[str] = set()
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
                    # A renamed list column is still a list ({"t": "$tags"}): later stages
                    # compare its elements, as MongoDB does.
                    if col in self.array_columns:
                        renamed_arrays.add(name)
                    elif name != col:
                        self.array_columns.discard(name)
                    if "." in name:
                        nested.add(name)
                    if is_json or col in b.json_cols:
                        json_cols.add(name)
            self.array_columns |= renamed_arrays
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
                (f"ROW_NUMBER() OVER ({partition}{'ORDER BY ' + fwd if fwd else ''})", ROW_FIRST),
                (f"ROW_NUMBER() OVER ({partition}{'ORDER BY ' + rev if rev else ''})", ROW_LAST),
            ]
            b = self.wrap(b)
            b.fields = [f for f in (b.fields or []) if f not in (ROW_FIRST, ROW_LAST)]
            fields_for_expr: list[str] | None = [*(b.fields or []), ROW_FIRST, ROW_LAST]
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
            return f"MAX(CASE WHEN {self.q(ROW_FIRST)} = 1 THEN {e} END)"
        if acc.op == "last":
            return f"MAX(CASE WHEN {self.q(ROW_LAST)} = 1 THEN {e} END)"
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
