"""``SQLStore``: one table of PostgreSQL, MariaDB/MySQL or SQLite.

Every query is compiled to one SQL statement (:mod:`xrepo.compile.sql`) and runs on the server:
filters, sorting, paging, counting, distinct values and whole pipelines (``GROUP BY``, window
functions for ``$first``/``$last``, joins for ``$lookup``). Writes that touch several rows run in
one transaction: a bulk operation either completes or leaves the table as it was, and its error
names the failing item.
"""

from __future__ import annotations

import contextlib
import json
import operator
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from xrepo.compile import regex_conditions
from xrepo.compile.sql import (
    SQLITE_FUNCTIONS,
    SQLCompiler,
    adapt_value,
    compiler_for,
    json_text,
    regex_timed_out,
)
from xrepo.errors import XRepoConfigurationError, XRepoValidationError
from xrepo.query import Lookup, Match, Node, RegexBoundExceeded, SortKey, Stage
from xrepo.stores import _ambient as ambient
from xrepo.stores._errors import repo_errors, translate
from xrepo.stores._protocol import (
    INCREMENT,
    BoundLayout,
    Row,
    RowLayout,
    UpdateItem,
    VersionConflict,
)
from xrepo.stores._sql_dialects import (
    columns_query,
    refuse_taken_ids,
    refused_regex,
    savepoints,
)
from xresource import (
    SQLDatabaseResource,
    XResourceConnectionError,
    XResourceError,
    XResourceTimeoutError,
)

__all__ = ["SQLStore"]


def _row_fault(exc: XResourceError) -> bool:
    """Whether a failed write may be one row's fault (worth finding which row).

    A lost connection or a timeout is no row's fault, and probing row by row would run one
    statement per row against a server that has just failed."""
    return not isinstance(exc, XResourceConnectionError | XResourceTimeoutError)


#: Rows per multi-row INSERT statement (bounded by the drivers' parameter limits).
INSERT_CHUNK = 500
#: From this many rows with known ids, PostgreSQL inserts go through COPY.
COPY_THRESHOLD = 1000
#: Records prepared at a time while a COPY streams (the server works on the earlier ones).
COPY_PREPARE_CHUNK = 5000


_PLAIN = frozenset({int, float, str, bool, type(None)})


class _DatabaseIds(Exception):
    """Raised inside COPY's record stream to abort it: some row leaves its id to the database."""


class _Rollback(Exception):
    """Raised inside a transaction to roll it back on purpose."""


class SQLStore(BoundLayout):
    """One SQL table, queried natively: every query is one statement on the server.

    Args:
        resource: a :class:`~xresource.SQLDatabaseResource` (SQLite, PostgreSQL, MySQL...).
        table: the table name (default: the metadata's ``collection``, the model's
            ``Meta.collection``, then the repository name).
        db_schema: the schema holding the table, when not the connection's default.

    Examples:
        >>> repo = XRepo(model_class=User, store=SQLStore(pg, table="users"))
    """

    backend = "sql"
    #: Rows per multi-row INSERT statement (bounded by the drivers' parameter limits).
    INSERT_CHUNK = INSERT_CHUNK
    #: From this many rows with known ids, PostgreSQL inserts go through COPY.
    COPY_THRESHOLD = COPY_THRESHOLD
    #: Records prepared at a time while a COPY streams (the server works on the earlier ones).
    COPY_PREPARE_CHUNK = COPY_PREPARE_CHUNK

    def __init__(
        self,
        resource: SQLDatabaseResource,
        table: str | None = None,
        *,
        db_schema: str | None = None,
    ) -> None:
        if not isinstance(resource, SQLDatabaseResource):
            raise XRepoConfigurationError(
                f"a SQL store needs a SQL database resource, got {type(resource).__name__}"
            )
        if table is not None:
            resource.dialect.quote(table)  # validates the name early
        self._resource = resource
        self._table = table or ""
        self._db_schema = db_schema
        self._columns_cache: dict[str, list[str]] = {}
        #: Untyped fields (``Any``): stored as JSON text, scalars too (see :meth:`_decoded`).
        self._any_fields: frozenset[str] = frozenset()

    def bind(self, layout: RowLayout) -> None:
        """Serve the repository of ``layout``: its columns and, unless given, its table."""
        self._check_unbound(layout)
        meta_collection = getattr(layout.model_class, "meta", None)
        name = (
            self._table
            or layout.collection
            or (meta_collection().collection if callable(meta_collection) else None)
            or layout.repo
        )
        self._resource.dialect.quote(name)  # validates the name early
        self._layout = layout
        self._table = name
        self._name = layout.repo
        self._any_fields = layout.fields - layout.field_types.keys()
        self._columns = sorted(layout.fields)

    @property
    def resource(self) -> SQLDatabaseResource:
        """The database resource."""
        return self._resource

    @property
    def table(self) -> str:
        """The table name."""
        return self._table

    @property
    def db_schema(self) -> str | None:
        """The schema holding the table (``None``: the connection's default)."""
        return self._db_schema

    async def supports_transactions(self) -> bool:
        """``True``: a SQL database runs transactions."""
        return True

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A transaction on the database, ambient for the block: the statements of every store
        on this resource run in it (a write and its audit entry commit together)."""
        return ambient.open_transaction(self._resource)

    @property
    def _qualified(self) -> str:
        return self._resource.dialect.qualified(self._db_schema, self._table)

    def compiler(self) -> SQLCompiler:
        """The SQL compiler of this table: the statements the store runs (to ``EXPLAIN`` them,
        for instance)."""
        return self._compiler()

    def _compiler(self, foreign: Mapping[str, Sequence[str]] | None = None) -> SQLCompiler:
        sqlite = self._resource.dialect.name == "sqlite"
        return compiler_for(
            self._resource.dialect,
            columns=list(self._columns),
            array_columns=self.layout.array_fields,
            id_field=self.layout.id_field,
            foreign_columns=foreign,
            regexp=self._resource.dialect.name != "sqlite" or self._sqlite_regexp,
            repo=self._name,
            element_types=self.layout.element_types,
            field_kinds=self.layout.field_types,
            json_columns=self._any_fields,
            # SQLite runs $regex in Python (xr_regexp), under this bound per value.
            **({"regex_timeout": self.layout.limits.regex_timeout} if sqlite else {}),
        )

    def _decoded(self, rows: list[Row]) -> list[Row]:
        """``rows`` with the JSON text of their ``Any`` fields decoded (here, not in the shared
        ``_to_model``: MongoDB and memory hold native values, where a string "5" is a string)."""
        names = self._any_fields
        if not names:
            return rows
        out = []
        for row in rows:
            row = dict(row)
            for name in names:
                value = row.get(name)
                if isinstance(value, str | bytes):
                    # A row written before Any fields were JSON text is kept as stored.
                    with contextlib.suppress(ValueError):
                        row[name] = json.loads(value)
            out.append(row)
        return out

    # -- reads ----------------------------------------------------------------------------------
    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        sql, params = self._compiler().select(self._qualified, node, sort, skip, limit)
        async with repo_errors(self._name, "list"), self._regex_bound("list", node):
            return self._decoded(await self._fetch_all(sql, params))

    async def count(self, node: Node) -> int:
        sql, params = self._compiler().count(self._qualified, node)
        async with repo_errors(self._name, "count"), self._regex_bound("count", node):
            rows = await self._fetch_all(sql, params)
            return int(next(iter(rows[0].values())) or 0) if rows else 0

    async def distinct(self, path: str, node: Node) -> list[Any]:
        compiled = self._compiler().distinct(self._qualified, path, node)
        async with repo_errors(self._name, "distinct"), self._regex_bound("distinct", node):
            rows = await self._fetch_all(compiled.sql, compiled.params)
        values = [d["value"] for d in compiled.documents(rows) if d["value"] is not None]
        if path in self._any_fields:
            return _distinct_elements(values)
        return values

    async def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` in this database (cached), in table order."""
        cached = self._columns_cache.get(table)
        if cached is not None:
            return cached
        sql, params = columns_query(self._resource.dialect, table, self._db_schema)
        async with repo_errors(self._name, "aggregate"):
            rows = await self._resource.fetch_all(sql, params)
        cols = [r["name"] for r in rows]
        self._columns_cache[table] = cols
        return cols

    async def aggregate(self, stages: list[Stage]) -> list[Row]:
        foreign: dict[str, list[str]] = {}
        for stage in stages:
            if isinstance(stage, Lookup):
                foreign[stage.source] = await self.table_columns(stage.source)
        compiled = self._compiler(foreign).pipeline(self._qualified, stages)
        filters = [s.node for s in stages if isinstance(s, Match)] + [
            s.where for s in stages if isinstance(s, Lookup) and s.where is not None
        ]
        async with repo_errors(self._name, "aggregate"), self._regex_bound("aggregate", *filters):
            rows = await self._fetch_all(compiled.sql, compiled.params)
        return compiled.documents(rows)

    # -- writes ---------------------------------------------------------------------------------
    def _copies(self, count: int) -> bool:
        """Whether ``count`` new rows go through COPY (PostgreSQL, outside a transaction)."""
        return (
            self._resource.dialect.name == "postgresql"
            and count >= COPY_THRESHOLD
            and ambient.current(self._resource) is None  # COPY runs on its own connection
        )

    def _records(self, rows: Sequence[Row], columns: list[str]) -> list[Any]:
        """COPY records (tuples in ``columns`` order) for ``rows``."""
        records: list[Any] = list(map(operator.itemgetter(*columns), rows))
        if len(columns) == 1:
            records = [(v,) for v in records]
        if self._any_fields:  # JSON text, as the compiler's INSERT binds them
            at = [i for i, c in enumerate(columns) if c in self._any_fields]
            records = [
                tuple(json_text(v) if i in at else v for i, v in enumerate(rec)) for rec in records
            ]
        if not self.layout.plain_dump:  # a value may need adapting (JSON, enums...)
            d = self._resource.dialect
            records = [
                tuple(v if v.__class__ in _PLAIN else adapt_value(d, v) for v in rec)
                for rec in records
            ]
        return records

    async def insert_streamed(
        self, total: int, prepare: Callable[[int, int], list[Row]], operation: str
    ) -> list[Row] | None:
        """On PostgreSQL, store ``total`` new rows through COPY while the repository prepares
        them: ``prepare(start, stop)`` validates records ``start:stop`` into rows, chunk by
        chunk, and the server inserts the earlier chunks meanwhile. ``None`` (nothing done)
        where COPY does not apply: the repository then prepares everything and calls
        :meth:`insert`.

        Nothing is committed until the last row is in. An error while preparing (invalid item,
        duplicate id) aborts the COPY, so the table is left as it was.
        """
        if not self._copies(total):
            return None
        columns = list(self._columns)
        id_field = self.layout.id_field
        rows: list[Row] = []

        def records() -> Iterator[Any]:
            for start in range(0, total, COPY_PREPARE_CHUNK):
                chunk = prepare(start, min(start + COPY_PREPARE_CHUNK, total))
                rows.extend(chunk)
                if None in [r.get(id_field) for r in chunk]:
                    raise _DatabaseIds("some rows leave their id to the database")
                yield from self._records(chunk, columns)

        try:
            await self._resource.copy_records(
                self._table, columns, records(), schema=self._db_schema
            )
        except _DatabaseIds:
            # Nothing was written: prepare the rest and insert with RETURNING.
            rows += prepare(len(rows), total)
            return await self.insert(rows)
        except XResourceError as exc:
            item = await self._failing_item(rows, columns) if _row_fault(exc) else None
            raise translate(exc, self._name, operation, item) from exc
        return rows

    async def insert(self, rows: list[Row]) -> list[Row]:
        columns = list(self._columns)
        id_field = self.layout.id_field
        try:
            if None not in [r.get(id_field) for r in rows]:
                tx = ambient.current(self._resource)
                if tx is not None and not savepoints(self._resource.dialect):
                    # A failed INSERT would doom the caller's whole transaction: refuse a taken
                    # id first, naming its item.
                    await refuse_taken_ids(tx, self._compiler(), self._qualified, rows, id_field)
                if self._copies(len(rows)):
                    await self._resource.copy_records(
                        self._table, columns, self._records(rows, columns), schema=self._db_schema
                    )
                    return rows
                async with self._transaction() as tx:
                    for start in range(0, len(rows), INSERT_CHUNK):
                        chunk = rows[start : start + INSERT_CHUNK]
                        try:
                            sql, params = self._compiler().insert(
                                self._qualified, columns, chunk, returning=False
                            )
                        except XRepoValidationError as exc:
                            # A value the dialect cannot store (SQLite's 64-bit integers):
                            # name the item, as a database-side failure would.
                            raise self._unstorable(exc, chunk, columns, start) from None
                        await tx.execute(sql, params)
                return rows
            stored: list[Row] = []
            async with self._transaction() as tx:
                for row in rows:
                    cols = [
                        c
                        for c in columns
                        if c != self.layout.id_field or row.get(self.layout.id_field) is not None
                    ]
                    sql, params = self._compiler().insert(
                        self._qualified, cols, [row], returning=True
                    )
                    back = await tx.fetch_one(sql, params)
                    stored.append(dict(back) if back is not None else row)
            return self._decoded(stored)
        except XResourceError as exc:
            item = (exc.details or {}).get("item")  # known already (refuse_taken_ids)
            if item is None and _row_fault(exc):
                item = await self._failing_item(rows, columns) if len(rows) > 1 else 0
            raise translate(
                exc, self._name, "create" if len(rows) == 1 else "bulk_create", item
            ) from exc

    def _unstorable(
        self, exc: XRepoValidationError, chunk: list[Row], columns: list[str], offset: int
    ) -> XRepoValidationError:
        """``exc`` naming the first row of ``chunk`` that does not compile (``offset`` is the
        chunk's position in the batch); ``exc`` itself when it already names one."""
        if exc.item is not None:
            return exc
        for i, row in enumerate(chunk):
            try:
                self._compiler().insert(self._qualified, columns, [row], returning=False)
            except XRepoValidationError:
                item = offset + i
                return XRepoValidationError(
                    f"item {item}: {exc.message}",
                    repo=self._name,
                    operation="create" if len(chunk) == 1 else "bulk_create",
                    item=item,
                )
        return exc

    async def _failing_item(self, rows: list[Row], columns: list[str]) -> int | None:
        """Find which row of a failed batch the database rejects (rolled back afterwards).

        Inside a caller's transaction the probe runs there, in a savepoint: a second connection
        would wait for the row locks that transaction still holds (MariaDB's 50 s lock wait,
        SQLite's busy timeout) and then blame the wrong row.
        """
        found: int | None = None
        try:
            async with self._transaction() as tx:
                for i, row in enumerate(rows):
                    cols = [
                        c
                        for c in columns
                        if c != self.layout.id_field or row.get(self.layout.id_field) is not None
                    ]
                    sql, params = self._compiler().insert(
                        self._qualified, cols, [row], returning=False
                    )
                    try:
                        await tx.execute(sql, params)
                    except XResourceError:
                        found = i
                        break
                raise _Rollback
        except (_Rollback, XResourceError):
            pass
        return found

    async def update_where(self, batch: list[UpdateItem]) -> list[int]:
        counts: list[int] = []
        mysql = self._resource.dialect.name == "mysql"
        filters = [n for node, _, conflict in batch for n in (node, conflict) if n is not None]
        try:
            async with self._regex_bound("update", *filters), self._transaction() as tx:
                await self._prepare(tx)
                for i, (node, changes, conflict) in enumerate(batch):
                    increment = [k for k, v in changes.items() if v is INCREMENT]
                    sql, params = self._compiler().update(self._qualified, node, changes, increment)
                    n = await tx.execute(sql, params)
                    if n == 0 and (conflict is not None or mysql):
                        # MySQL reports changed rows, not matched ones: ask.
                        probe = conflict if conflict is not None else node
                        csql, cparams = self._compiler().count(self._qualified, probe)
                        found = int(await tx.fetch_value(csql, cparams) or 0)
                        if conflict is not None and found:
                            raise VersionConflict(i)
                        if mysql and conflict is None:
                            n = found
                    counts.append(n)
        except XResourceError as exc:
            raise translate(
                exc, self._name, "update", len(counts) if len(batch) > 1 else None
            ) from exc
        return counts

    async def delete_where(self, node: Node) -> int:
        sql, params = self._compiler().delete(self._qualified, node)
        async with repo_errors(self._name, "delete"), self._regex_bound("delete", node):
            tx = ambient.current(self._resource)
            if tx is not None:
                await self._prepare(tx)
                return int(await tx.execute(sql, params))
            if not self._sqlite_regexp:
                return await self._resource.execute(sql, params)
            async with self._resource.lease() as executor:  # type: ignore[attr-defined]
                await self._prepare(executor)
                return int(await executor.execute(sql, params))

    # -- SQLite's REGEXP ----------------------------------------------------------------------
    @asynccontextmanager
    async def _regex_bound(self, operation: str, *nodes: Node) -> AsyncIterator[None]:
        """A statement stopped by a ``$regex`` of ``nodes`` becomes
        :class:`~xrepo.query.RegexBoundExceeded` naming the field and the pattern:
        on SQLite one that ran past its time bound (SQLite reports only "user-defined function
        raised exception"), on MariaDB one PCRE2 gave up on (error 1139, "match limit
        exceeded")."""
        try:
            yield
        except XResourceError as exc:
            dialect = self._resource.dialect.name
            found = [c for node in nodes for c in regex_conditions(node)]
            if found and refused_regex(self._resource.dialect, exc.message):
                patterns = " / ".join(repr(c.value[0]) for c in found)
                raise XRepoValidationError(
                    f"$regex {patterns} is not a pattern {dialect} takes (RE2: no lookaround, "
                    f"no backreferences): {exc.message}",
                    repo=self._name,
                    operation=operation,
                ) from None
            if dialect == "mysql" and found and "(error 1139)" in exc.message:
                # The server does not say which pattern: the only one, or the first of several.
                c = found[0]
                raise RegexBoundExceeded(
                    c.path if len(found) == 1 else None,
                    c.value[0] if len(found) == 1 else " / ".join(x.value[0] for x in found),
                    None,
                    limit="MariaDB's regular expression match limit (PCRE2)",
                    repo=self._name,
                    operation=operation,
                ) from None
            if dialect != "sqlite":
                raise
            for c in found:
                pattern, flags = c.value
                bound = regex_timed_out(("(?i)" if "i" in flags else "") + pattern)
                if bound is not None:
                    raise RegexBoundExceeded(
                        c.path, pattern, bound, repo=self._name, operation=operation
                    ) from None
            raise

    @property
    def _sqlite_regexp(self) -> bool:
        """Whether this is SQLite with per-connection functions (``lease()`` and ``raw``)."""
        return self._resource.dialect.name == "sqlite" and hasattr(self._resource, "lease")

    async def _prepare(self, executor: Any) -> None:
        """Give an SQLite connection the ``REGEXP`` operator (once per connection)."""
        if not self._sqlite_regexp:
            return
        raw = getattr(executor, "raw", None)
        if raw is None or raw in _REGEXP_READY:
            return
        # REGEXP, Unicode case folding, datetime normalisation (xrepo.compile.sql): they
        # run inside SQLite's own scan, like any SQL function.
        for name, n_args, function in SQLITE_FUNCTIONS:
            await raw.create_function(name, n_args, function, deterministic=True)
        _REGEXP_READY.add(raw)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        """The caller's ambient transaction on this database (``store.transaction()``),
        or a new one committed at the end of the block.

        In the caller's transaction the block runs in a savepoint, so that a failed statement
        undoes only this block's work and leaves the transaction usable (PostgreSQL refuses every
        statement after an error until a rollback), as a block in its own transaction would.
        """
        tx = ambient.current(self._resource)
        if tx is not None and not savepoints(self._resource.dialect):
            yield tx  # a failure dooms the caller's transaction, which then rolls back whole
            return
        if tx is not None:
            await tx.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                yield tx
            except BaseException:
                await tx.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                raise
            await tx.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
            return
        async with self._resource.transaction() as own:
            yield own

    async def _fetch_all(self, sql: str, params: Sequence[Any]) -> list[Row]:
        tx = ambient.current(self._resource)
        if tx is not None:  # inside a caller's transaction: read what it wrote
            await self._prepare(tx)
            found: list[Row] = await tx.fetch_all(sql, params)
            return found
        if not self._sqlite_regexp:
            return await self._resource.fetch_all(sql, params)
        async with self._resource.lease() as executor:  # type: ignore[attr-defined]
            await self._prepare(executor)
            rows: list[Row] = await executor.fetch_all(sql, params)
            return rows


_REGEXP_READY: weakref.WeakSet[Any] = weakref.WeakSet()
#: The savepoint a block in a caller's transaction runs in (nested blocks reuse the name: each
#: SAVEPOINT shadows the outer one until released, in PostgreSQL, MariaDB and SQLite alike).
_SAVEPOINT = "xrepo_block"


def _distinct_elements(values: Sequence[Any]) -> list[Any]:
    """MongoDB's ``distinct`` over the distinct values of an ``Any`` field: an array gives its
    elements, and values equal as MongoDB compares them (``5`` and ``5.0``; never ``True`` and
    ``1``) are one."""
    out: list[Any] = []
    seen: set[str] = set()
    for value in values:
        for v in value if isinstance(value, list) else [value]:
            key = _mongo_key(v)
            if key not in seen:
                seen.add(key)
                out.append(v)
    return out


def _mongo_key(value: Any) -> str:
    """A text equal for values MongoDB's ``distinct`` counts as one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return json.dumps(value, default=str, separators=(",", ":"))
    return f"number:{float(value)!r}" if isinstance(value, float) else f"number:{value}.0"
