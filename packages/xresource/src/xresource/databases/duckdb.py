"""``DuckDBResource``: the embedded columnar database, on ``duckdb`` (the ``duckdb`` extra).

A DuckDB database file (or ``":memory:"``) is opened once per resource; every concurrent use
borrows a *cursor* of it (DuckDB's name for a further connection to the same database instance),
from a bounded pool of ``pool_max_size``. DuckDB's Python API is synchronous: every call runs in
a worker thread, so the event loop never waits on a query.

- Cursors of one instance share everything, ``:memory:`` databases included: a table created on
  one cursor is visible on the others (unlike SQLite's ``:memory:``).
- :meth:`transaction` runs ``BEGIN TRANSACTION`` ... ``COMMIT`` on one cursor. DuckDB's
  concurrency control is optimistic: two transactions that change the same rows conflict, and
  the later one fails with ``XResourceQueryError`` (run it again).
- ``command_timeout`` interrupts a statement that runs longer (``interrupt()``), so a runaway
  query never holds its cursor: ``XResourceTimeoutError``.
- Only one process may open a database file for writing; another process (or a ``read_only``
  resource while a writer holds it) gets ``XResourceConnectionError`` naming the lock.
- Query-string options of the URL are DuckDB settings (``threads``, ``memory_limit``...),
  checked by DuckDB when the database opens.

URLs: ``duckdb:///relative.duckdb``, ``duckdb:////abs/path.duckdb``, ``duckdb:///:memory:``
(and ``duckdb://``); a ``.duckdb`` file path or ``file:`` URL works with
``ResourceFactory.from_url`` too.

Example::

    async with DuckDBResource(path="warehouse.duckdb") as db:
        await db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name VARCHAR)")
        await db.execute("INSERT INTO t VALUES ($1, $2)", [1, "ada"])
        rows = await db.fetch_all("SELECT * FROM t WHERE name = $1", ["ada"])
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import duckdb
from pydantic import Field, PrivateAttr, model_validator

from xresource.databases._duckdb_quiet import PROGRESS_BAR, quiet_connect, set_progress_bar
from xresource.databases._embedded import MEMORY, EmbeddedSQLResource
from xresource.databases.base import Row
from xresource.databases.dialect import DUCKDB, SQLDialect
from xresource.databases.pooled import (
    ConnectionExecutor,
    check_batch_size,
    check_params,
)
from xresource.databases.sql_errors import Classified, integrity_error, not_found_error
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceNotFoundError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.url import ParsedURL

__all__ = ["MEMORY", "DuckDBResource"]

#: The path of an in-memory database.

_T = TypeVar("_T")

#: Rows per INSERT of :meth:`DuckDBResource.copy_records` (bounds the lists built at once).
COPY_BATCH = 100_000

# DuckDB repeats the statement under its message ("LINE 1: SELECT ... 'tok-123' ..." with a
# caret): literals of the statement would reach logs and HTTP answers, and the position helps
# little without the statement. The message keeps what precedes it.
_STATEMENT_ECHO = re.compile(r"\n\s*\nLINE \d+:.*", re.DOTALL)
_MISSING_TABLE = re.compile(r"Table with name (?P<name>.+?) does not exist")


def _affected(cursor: duckdb.DuckDBPyConnection) -> int:
    """Rows affected by the statement just run on ``cursor`` (0 for statements without)."""
    return max(cursor.rowcount, 0)


def _message(exc: BaseException) -> str:
    return _STATEMENT_ECHO.sub("", str(exc)).strip()


def _dicts(description: Any, rows: Iterable[Sequence[Any]]) -> list[Row]:
    names = [d[0] for d in description]
    return [dict(zip(names, row, strict=False)) for row in rows]


class _DuckDBExecutor(ConnectionExecutor):
    """Statements on one DuckDB cursor, each run in a worker thread (autocommit unless a
    transaction is open)."""

    raw: duckdb.DuckDBPyConnection

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` in a worker thread, interrupted after ``command_timeout``.

        The thread is always awaited to its end, also on timeout or cancellation (after
        ``interrupt()``, it ends at once): the cursor is never returned to the pool, nor
        closed, while a thread still uses it.
        """
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        try:
            async with asyncio.timeout(self.resource.command_timeout):
                return await asyncio.shield(work)
        except asyncio.CancelledError:
            await self._stop(work)
            raise
        except TimeoutError:
            await self._stop(work)
            if not work.cancelled() and work.exception() is None:
                return work.result()  # it finished just as the deadline came
            raise

    async def _stop(self, work: asyncio.Future[Any]) -> None:
        """Interrupt the statement ``work`` runs and wait for its thread to end."""
        if work.done():
            return
        self.raw.interrupt()
        with contextlib.suppress(BaseException):
            await asyncio.shield(work)

    # -- the synchronous bodies, run in a worker thread ----------------------------------------
    def _fetch_all(self, sql: str, params: Sequence[Any]) -> list[Row]:
        cursor = self.raw.execute(sql, params)
        description = cursor.description
        return _dicts(description, cursor.fetchall()) if description else []

    def _fetch_one(self, sql: str, params: Sequence[Any]) -> Row | None:
        cursor = self.raw.execute(sql, params)
        description = cursor.description
        row = cursor.fetchone() if description else None
        return None if row is None else _dicts(description, (row,))[0]

    def _fetch_value(self, sql: str, params: Sequence[Any]) -> Any:
        cursor = self.raw.execute(sql, params)
        row = cursor.fetchone() if cursor.description else None
        return None if row is None else row[0]

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        return _affected(self.raw.execute(sql, params))

    def _execute_many(self, sql: str, params_seq: Iterable[Sequence[Any]]) -> int:
        batch = [check_params(p, "execute_many") for p in params_seq]
        if not batch:
            return 0
        return _affected(self.raw.executemany(sql, batch))

    # -- SQLExecutor ---------------------------------------------------------------------------
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        params = check_params(params, "fetch")
        with self._guard("fetch"):
            return await self._run(self._fetch_all, sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        params = check_params(params, "fetch")
        with self._guard("fetch"):
            return await self._run(self._fetch_one, sql, params)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        params = check_params(params, "fetch")
        with self._guard("fetch"):
            return await self._run(self._fetch_value, sql, params)

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch_size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        params = check_params(params, "stream")
        check_batch_size(batch_size)
        with self._guard("stream"):
            cursor = await self._run(self.raw.execute, sql, params)
        names = [d[0] for d in cursor.description or ()]
        if not names:
            return
        finished = False
        try:
            while True:
                # DuckDB produces the result in vectors as fetchmany asks: memory stays bounded.
                with self._guard("stream"):
                    rows = await self._run(cursor.fetchmany, batch_size)
                if not rows:
                    finished = True
                    return
                yield [dict(zip(names, row, strict=False)) for row in rows]
        finally:
            if not finished and not self.in_transaction:
                # A stream stopped early leaves its query open on the cursor (its snapshot
                # and buffers): the cursor is closed rather than lent again.
                self.discard = True

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        params = check_params(params, "execute")
        with self._guard("execute"):
            return await self._run(self._execute, sql, params)

    async def execute_many(self, sql: str, params_seq: Iterable[Sequence[Any]]) -> int:
        if self.in_transaction:
            with self._guard("execute_many"):
                return await self._run(self._execute_many, sql, params_seq)
        await self.begin()
        try:
            with self._guard("execute_many"):
                count = await self._run(self._execute_many, sql, params_seq)
        except BaseException:
            await self.abort()
            raise
        await self.commit()
        return count

    async def _begin(self) -> None:
        await self._run(self.raw.execute, "BEGIN TRANSACTION")

    async def _commit(self) -> None:
        await self._run(self.raw.execute, "COMMIT")

    async def _rollback(self) -> None:
        await self._run(self.raw.execute, "ROLLBACK")


class DuckDBResource(EmbeddedSQLResource):
    """A DuckDB database file (or ``":memory:"``), see the module docs.

    Args:
        path: the database file (created when missing unless ``read_only``; its directory must
            exist) or ``":memory:"``.
        read_only: open the file read-only: several processes may then read it at once.
        pool_max_size: cursors lent out at once (concurrent queries).
        options: DuckDB settings applied when the database opens (``{"threads": "4"}``).
    """

    resource_type: ClassVar[str] = "duckdb"
    url_schemes: ClassVar[tuple[str, ...]] = ("duckdb",)
    dialect: ClassVar[SQLDialect] = DUCKDB

    read_only: bool = Field(default=False, description="Open the database file read-only.")
    pool_max_size: int = Field(default=4, ge=1, description="Most cursors lent out at once.")

    _db: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _idle: list[duckdb.DuckDBPyConnection] = PrivateAttr(default_factory=list)
    _open: set[duckdb.DuckDBPyConnection] = PrivateAttr(default_factory=set)

    @model_validator(mode="after")
    def _check_read_only(self) -> DuckDBResource:
        if self.read_only and self.is_memory:
            raise ValueError("an in-memory database cannot be read_only (it would stay empty)")
        return self

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``duckdb:///relative.duckdb``, ``duckdb:////abs/path.duckdb``, ``duckdb:///:memory:``,
        ``file:///abs/path.duckdb``; query keys that name a field set it (``read_only``,
        ``pool_max_size``...), the others are DuckDB settings (``threads``, ``memory_limit``)."""
        params: dict[str, Any] = {"path": cls._url_path(url, "a DuckDB", ".duckdb")}
        options: dict[str, str] = {}
        fields = {"read_only", "pool_max_size", "pool_min_size", "acquire_timeout"}
        for key, value in url.query.items():
            if key in fields or key in cls.url_field_aliases:
                params[cls.url_field_aliases.get(key, key)] = value
            elif key in ("command_timeout", "connect_timeout"):
                params[key] = value
            else:
                options[key] = value
        if options:
            params["options"] = options
        return params

    # -- pool -----------------------------------------------------------------------------------
    def _open_database(self) -> duckdb.DuckDBPyConnection:
        if not self.is_memory and self.read_only and not Path(self.path).expanduser().exists():
            raise XResourceNotFoundError(
                f"database file {self.path!r} does not exist (read_only opens only an existing "
                "file); check the path",
                resource=self.display_name,
                operation="connect",
            )
        return quiet_connect(self.path, read_only=self.read_only, config=self.options)

    async def _open_pool(self) -> None:
        await self._check_directory()
        # Opening never waits on another process (a held lock fails at once): no timeout, which
        # could only leak a database the thread opens after the caller gave up.
        self._db = await asyncio.to_thread(self._open_database)
        self._idle = []
        self._open = set()

    async def _close_pool(self) -> None:
        db, self._db = self._db, None
        cursors, self._open, self._idle = list(self._open), set(), []

        def close() -> None:
            for cursor in cursors:
                with contextlib.suppress(Exception):
                    cursor.close()
            if db is not None:
                db.close()

        await asyncio.to_thread(close)

    async def _acquire_raw(self) -> duckdb.DuckDBPyConnection:
        if self._idle:
            return self._idle.pop()
        db = self._db
        if db is None:
            raise XResourceConnectionError(
                "the resource was disconnected", resource=self.display_name, operation="acquire"
            )
        cursor = await asyncio.to_thread(self._new_cursor, db)
        self._open.add(cursor)
        return cursor

    def _new_cursor(self, db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        cursor = db.cursor()
        set_progress_bar(cursor, self.options.get(PROGRESS_BAR, False))
        return cursor

    async def _release_raw(self, raw: duckdb.DuckDBPyConnection, *, discard: bool) -> None:
        if raw not in self._open:  # the pool was closed meanwhile
            with contextlib.suppress(Exception):
                await asyncio.to_thread(raw.close)
            return
        if discard:
            # A cursor whose state is unknown (a transaction left open, an interrupted call):
            # closing it rolls back whatever it held.
            self._open.discard(raw)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(raw.close)
            return
        self._idle.append(raw)

    def _new_executor(self, raw: Any) -> _DuckDBExecutor:
        return _DuckDBExecutor(self, raw)

    def _raw_pool_stats(self) -> tuple[int, int]:
        return len(self._open), len(self._idle)

    # -- errors ---------------------------------------------------------------------------------
    def _classify(self, exc: Exception, operation: str) -> Classified | None:
        text = _message(exc)
        if isinstance(exc, duckdb.ConstraintException):
            return integrity_error(text)
        if isinstance(exc, duckdb.InterruptException):
            return XResourceTimeoutError, (
                f"the statement did not finish within command_timeout={self.command_timeout}s "
                "and was interrupted; make it cheaper or raise command_timeout"
            )
        if isinstance(exc, duckdb.CatalogException):
            missing = _MISSING_TABLE.search(text)
            if missing:
                return not_found_error("table", missing["name"], text)
            return XResourceQueryError, text
        if isinstance(exc, duckdb.ConversionException | duckdb.OutOfRangeException):
            return XResourceValidationError, f"a value does not fit its type: {text}"
        if isinstance(exc, duckdb.TransactionException):
            return XResourceQueryError, (
                f"{text}; another transaction changed the same rows at the same time: run "
                "the transaction again"
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return XResourceQueryError, (
                f"{text}; raise the memory_limit setting or make the query cheaper"
            )
        if isinstance(exc, duckdb.IOException):
            if operation == "connect" and "lock" in text.lower():
                return XResourceConnectionError, (
                    f"database file {self.path!r} is locked by another process ({text}); only "
                    "one process may write it, several may open it with read_only=True"
                )
            if operation == "connect":
                return XResourceConnectionError, (
                    f"cannot open database file {self.path!r} ({text}); check the path, its "
                    "permissions, and that it is a DuckDB database"
                )
            return XResourceQueryError, text
        if isinstance(exc, duckdb.InvalidInputException) and operation == "connect":
            return XResourceConfigurationError, (
                f"cannot open database file {self.path!r} with these settings ({text})"
            )
        if isinstance(exc, duckdb.ConnectionException):
            return XResourceConnectionError, f"the DuckDB connection was closed ({text})"
        if isinstance(exc, duckdb.Error):
            return XResourceQueryError, text
        return None

    # -- bulk insert ----------------------------------------------------------------------------
    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
    ) -> int:
        """Insert many rows in one transaction, a column at a time: all rows or none.

        Each batch of :data:`COPY_BATCH` rows reaches DuckDB as one list per column, unnested in
        SQL and cast to the column's type (``executemany`` converts row by row, a thousand
        times slower). When ``records`` is a generator that raises, nothing is written and its
        exception propagates unchanged.
        """
        self._check_copy_columns(columns)
        d = self.dialect
        target = d.qualified(schema, table)
        names = list(columns)
        types = await self._column_types(table, schema, names)
        marks = ", ".join(f"unnest(${i}::{types[i - 1]}[])" for i in range(1, len(names) + 1))
        cols = ", ".join(d.quote(c) for c in names)
        sql = f"INSERT INTO {target} ({cols}) SELECT {marks}"
        total = 0
        async with self.transaction() as tx:
            batch: list[Sequence[Any]] = []
            for record in records:  # the caller's exceptions pass unchanged
                if isinstance(record, str | bytes) or len(record) != len(names):
                    raise XResourceValidationError(
                        f"copy_records: record {total + len(batch)} has "
                        f"{len(record) if not isinstance(record, str | bytes) else 'no'} "
                        f"values for {len(names)} columns",
                        resource=self.display_name,
                        operation="copy_records",
                    )
                batch.append(record)
                if len(batch) >= COPY_BATCH:
                    total += await self._copy_batch(tx, sql, batch, len(names))
                    batch = []
            if batch:
                total += await self._copy_batch(tx, sql, batch, len(names))
        return total

    @staticmethod
    async def _copy_batch(tx: Any, sql: str, batch: list[Sequence[Any]], width: int) -> int:
        await tx.execute(sql, [[row[i] for row in batch] for i in range(width)])
        return len(batch)

    async def _column_types(self, table: str, schema: str | None, names: list[str]) -> list[str]:
        """The DuckDB type of each of ``names`` in ``table`` (names are case-insensitive)."""
        rows = await self.fetch_all(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = $1 AND table_schema = coalesce($2, current_schema()) "
            "AND table_catalog = current_database()",
            [table, schema],
        )
        if not rows:
            raise XResourceNotFoundError(
                f"table {table!r} does not exist; check the name or create it first",
                resource=self.display_name,
                operation="copy_records",
            )
        types = {str(r["column_name"]).casefold(): str(r["data_type"]) for r in rows}
        missing = [n for n in names if n.casefold() not in types]
        if missing:
            raise XResourceValidationError(
                f"copy_records: {', '.join(map(repr, missing))} are not columns of {table!r}",
                resource=self.display_name,
                operation="copy_records",
            )
        return [types[n.casefold()] for n in names]

    # -- metadata -------------------------------------------------------------------------------
    async def list_collections_or_tables(self) -> list[str]:
        """Tables and views of the database's default schema, by name."""
        rows = await self.fetch_all(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_catalog = current_database() "
            "ORDER BY table_name"
        )
        return [row["name"] for row in rows]

    def get_metadata(self) -> dict[str, Any]:
        """Type, name, path, settings and pool settings (no server fields: DuckDB has none)."""
        meta = super().get_metadata()
        for key in ("host", "port", "user", "password", "database"):
            meta.pop(key, None)
        return meta
