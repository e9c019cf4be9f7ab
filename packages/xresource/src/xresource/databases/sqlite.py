"""``SQLiteResource``: the embedded default database, on ``aiosqlite``.

Nothing to install or run: a file path (or ``":memory:"``) is the whole configuration.

- **File databases** get a small pool of connections (``pool_max_size``, default 4) in WAL mode,
  so readers never block the writer nor each other; writers queue on SQLite's lock for up to
  ``busy_timeout`` seconds, then fail with ``XResourceTimeoutError``.
- **``:memory:``** uses one shared connection: every SQLite connection to ``:memory:`` would
  otherwise see its own, empty database. Concurrent calls take turns on it.
- Every connection has ``foreign_keys = ON``; rows come back as dicts; :meth:`stream` reads with
  ``fetchmany``; :meth:`transaction` starts with ``BEGIN IMMEDIATE`` (the write lock is taken up
  front, so a transaction never fails half-way on a lock upgrade).
- ``command_timeout`` interrupts a statement that runs longer (``sqlite3`` ``interrupt()``), so
  a runaway query never holds its connection: ``XResourceTimeoutError``.

URLs follow SQLAlchemy: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``,
``sqlite:///:memory:`` (and ``sqlite://``).

Example::

    async with SQLiteResource(path="app.db") as db:
        await db.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)")
        await db.execute("INSERT INTO users (name) VALUES (?)", ["ada"])
        rows = await db.fetch_all("SELECT * FROM users WHERE name = ?", ["ada"])
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, ClassVar

import aiosqlite
from pydantic import Field, PrivateAttr

from xresource.databases._embedded import MEMORY, EmbeddedSQLResource
from xresource.databases.base import Row
from xresource.databases.dialect import SQLITE, SQLDialect
from xresource.databases.pooled import (
    ConnectionExecutor,
    check_batch_size,
    check_params,
)
from xresource.databases.sql_errors import (
    Classified,
    integrity_error,
    missing_table_name,
    not_found_error,
)
from xresource.databases.value_scrub import scrub_record_values
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceTimeoutError,
)
from xresource.url import ParsedURL

__all__ = ["MEMORY", "SQLiteResource"]

#: The path of an in-memory database.


class _NoStatementArguments(logging.Filter):
    """Keep record values out of aiosqlite's DEBUG log.

    aiosqlite logs every call it runs as ``executing functools.partial(<execute>, 'INSERT ...',
    ['tok-123', ...])``: with DEBUG logging on, every bound value (passwords, tokens) would reach
    the log. The record keeps the operation's name and loses its arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            first = record.args[0]
            if isinstance(first, functools.partial):
                name = getattr(first.func, "__name__", type(first.func).__name__)
                record.args = (f"{name}(...)", *record.args[1:])
            elif isinstance(first, BaseException):
                record.args = (scrub_record_values(str(first)), *record.args[1:])
        return True


logging.getLogger("aiosqlite").addFilter(_NoStatementArguments())


# Python types sqlite3 cannot bind (or binds through adapters deprecated since Python 3.12),
# stored as text that SQLite's NUMERIC affinity and date functions understand.
_ADAPTERS: dict[type, Callable[[Any], Any]] = {
    Decimal: str,
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
}


def _adapt(params: Sequence[Any]) -> Sequence[Any]:
    """``params`` with Decimal, datetime, date and time values as text; unchanged otherwise."""
    for value in params:
        if type(value) in _ADAPTERS:
            return [_ADAPTERS[type(v)](v) if type(v) in _ADAPTERS else v for v in params]
    return params


def _adapt_all(params_seq: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    for params in params_seq:
        yield _adapt(params)


def _dicts(description: Any, rows: Iterable[Sequence[Any]]) -> list[Row]:
    names = [d[0] for d in description]
    return [dict(zip(names, row, strict=False)) for row in rows]


class _Deadline:
    """``command_timeout`` for SQLite: on expiry, interrupt the statement running in the
    connection's thread (``sqlite3.Connection.interrupt`` is thread-safe), so the connection
    is free again at once, and let ``TimeoutError`` reach the error guard."""

    __slots__ = ("_conn", "_timeout")

    def __init__(self, conn: aiosqlite.Connection, seconds: float | None) -> None:
        self._conn = conn
        self._timeout = asyncio.timeout(seconds)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)
        except TimeoutError:
            await self._conn.interrupt()
            raise


class _SQLiteExecutor(ConnectionExecutor):
    """Statements on one ``aiosqlite`` connection (autocommit unless a transaction is open)."""

    raw: aiosqlite.Connection

    def _deadline(self) -> _Deadline:
        return _Deadline(self.raw, self.resource.command_timeout)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        params = _adapt(check_params(params, "fetch"))
        with self._guard("fetch"):
            async with self._deadline(), self.raw.execute(sql, params) as cursor:
                rows = await cursor.fetchall()
                return _dicts(cursor.description, rows) if cursor.description else []

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        params = _adapt(check_params(params, "fetch"))
        with self._guard("fetch"):
            async with self._deadline(), self.raw.execute(sql, params) as cursor:
                row = await cursor.fetchone()
                if row is None or not cursor.description:
                    return None
                return _dicts(cursor.description, (row,))[0]

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        params = _adapt(check_params(params, "fetch"))
        with self._guard("fetch"):
            async with self._deadline(), self.raw.execute(sql, params) as cursor:
                row = await cursor.fetchone()
                return None if row is None else row[0]

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch_size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        params = _adapt(check_params(params, "stream"))
        check_batch_size(batch_size)
        with self._guard("stream"):
            async with self._deadline():
                cursor = await self.raw.execute(sql, params)
        try:
            names = [d[0] for d in cursor.description or ()]
            while True:
                with self._guard("stream"):
                    async with self._deadline():
                        rows = await cursor.fetchmany(batch_size)
                if not rows:
                    return
                yield [dict(zip(names, row, strict=False)) for row in rows]
        finally:
            with self._guard("stream"):
                async with self._deadline():
                    await cursor.close()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        params = _adapt(check_params(params, "execute"))
        with self._guard("execute"):
            async with self._deadline(), self.raw.execute(sql, params) as cursor:
                return max(cursor.rowcount, 0)

    async def execute_many(self, sql: str, params_seq: Iterable[Sequence[Any]]) -> int:
        if self.in_transaction:
            with self._guard("execute_many"):
                async with (
                    self._deadline(),
                    self.raw.executemany(sql, _adapt_all(params_seq)) as cursor,
                ):
                    return max(cursor.rowcount, 0)
        await self.begin()
        try:
            with self._guard("execute_many"):
                async with (
                    self._deadline(),
                    self.raw.executemany(sql, _adapt_all(params_seq)) as cursor,
                ):
                    count = max(cursor.rowcount, 0)
        except BaseException:
            await self.abort()
            raise
        await self.commit()
        return count

    async def _begin(self) -> None:
        await self.raw.execute("BEGIN IMMEDIATE")

    async def _commit(self) -> None:
        await self.raw.execute("COMMIT")

    async def _rollback(self) -> None:
        await self.raw.execute("ROLLBACK")


class SQLiteResource(EmbeddedSQLResource):
    """An SQLite database file (or ``":memory:"``): the embedded default (see module docs).

    Args:
        path: the database file (created when missing; its directory must exist) or ``":memory:"``.
        busy_timeout: seconds a statement waits for another connection's write lock.
        pool_max_size: connections to a file database (``:memory:`` always uses one).
    """

    resource_type: ClassVar[str] = "sqlite"
    url_schemes: ClassVar[tuple[str, ...]] = ("sqlite", "sqlite+aiosqlite")
    dialect: ClassVar[SQLDialect] = SQLITE

    busy_timeout: float = Field(
        default=5.0, ge=0, description="Seconds to wait for another connection's lock."
    )
    pool_max_size: int = Field(default=4, ge=1, description="Most connections open at once.")

    _idle: list[aiosqlite.Connection] = PrivateAttr(default_factory=list)
    _open: set[aiosqlite.Connection] = PrivateAttr(default_factory=set)

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:``."""
        params: dict[str, Any] = {"path": cls._url_path(url, "an SQLite", ".db")}
        allowed = {"busy_timeout", "pool_max_size", "pool_min_size", "acquire_timeout", "pool_size"}
        for key, value in url.query.items():
            if key not in allowed:
                raise XResourceConfigurationError(
                    f"unknown SQLite URL option {key!r}; valid options: busy_timeout, "
                    "pool_max_size, pool_min_size, acquire_timeout",
                    operation="from_url",
                )
            params[cls.url_field_aliases.get(key, key)] = value
        return params

    # -- pool -----------------------------------------------------------------------------------
    def _slot_count(self) -> int:
        return 1 if self.is_memory else self.pool_max_size

    async def _new_connection(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            await conn.execute("PRAGMA foreign_keys = ON")
            if not self.is_memory:
                await conn.execute("PRAGMA journal_mode = WAL")
                # Durable at every checkpoint and safe against corruption in WAL mode.
                await conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            await conn.close()
            raise
        self._open.add(conn)
        return conn

    async def _open_pool(self) -> None:
        await self._check_directory()
        self._idle = []
        self._open = set()
        for _ in range(max(1, min(self.pool_min_size, self._slot_count()))):
            self._idle.append(await self._new_connection())

    async def _close_pool(self) -> None:
        conns, self._open, self._idle = list(self._open), set(), []
        for conn in conns:
            await conn.close()

    async def _acquire_raw(self) -> aiosqlite.Connection:
        if self._idle:
            return self._idle.pop()
        return await self._new_connection()

    async def _release_raw(self, raw: aiosqlite.Connection, *, discard: bool) -> None:
        if raw not in self._open:  # the pool was closed meanwhile
            await raw.close()
            return
        if raw.in_transaction:  # a transaction abandoned half-way: undo it before reuse
            try:
                await raw.execute("ROLLBACK")
            except Exception:
                discard = True
        # The one :memory: connection is never closed: its data would go with it.
        if discard and not self.is_memory:
            self._open.discard(raw)
            await raw.close()
            return
        self._idle.append(raw)

    def _new_executor(self, raw: Any) -> _SQLiteExecutor:
        return _SQLiteExecutor(self, raw)

    def _raw_pool_stats(self) -> tuple[int, int]:
        return len(self._open), len(self._idle)

    # -- errors ---------------------------------------------------------------------------------
    def _classify(self, exc: Exception, operation: str) -> Classified | None:
        text = str(exc)
        if isinstance(exc, sqlite3.IntegrityError):
            return integrity_error(text)
        if isinstance(exc, sqlite3.OperationalError):
            if text.startswith("no such table"):
                return not_found_error("table", missing_table_name(text), text)
            if "database is locked" in text or "database is busy" in text:
                return XResourceTimeoutError, (
                    f"another connection held the database's lock longer than busy_timeout="
                    f"{self.busy_timeout:g}s ({text}); keep transactions short or raise "
                    "busy_timeout"
                )
            if "unable to open database file" in text:
                return XResourceConnectionError, (
                    f"cannot open database file {self.path!r} ({text}); check the path and its "
                    "permissions"
                )
        if isinstance(exc, sqlite3.DatabaseError) and "file is not a database" in text:
            return XResourceConnectionError, (
                f"{self.path!r} is not an SQLite database file ({text})"
            )
        if isinstance(exc, ValueError) and "no active connection" in text:
            return XResourceConnectionError, "the SQLite connection was closed"
        return None

    # -- metadata -------------------------------------------------------------------------------
    async def list_collections_or_tables(self) -> list[str]:
        """Tables and views of the database (SQLite's internal tables excluded)."""
        rows = await self.fetch_all(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
        return [row["name"] for row in rows]

    def get_metadata(self) -> dict[str, Any]:
        """Type, name, path and pool settings (no server fields: SQLite has none)."""
        meta = super().get_metadata()
        for key in ("host", "port", "user", "password", "database", "options"):
            meta.pop(key, None)
        return meta
