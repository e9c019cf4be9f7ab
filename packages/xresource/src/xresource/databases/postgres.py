"""``PostgreSQLResource``: PostgreSQL on an ``asyncpg`` pool.

- Placeholders are ``$1, $2, ...`` (asyncpg's); rows come back as dicts.
- :meth:`stream` reads through a server-side cursor inside a transaction, ``batch_size`` rows per
  round trip; :meth:`copy_records` uses ``COPY ... FROM STDIN`` (one statement: all rows or none).
- ``schema_name`` (``schema=`` in the constructor or the URL, default ``public``) is the schema that
  :meth:`list_collections_or_tables` lists; when it is not ``public`` it is also put first on the
  connections' ``search_path``, so unqualified names find its tables.
- URL: ``postgresql://user:pw@host:5432/db?sslmode=require&application_name=etl``. ``sslmode`` goes
  to asyncpg's ``ssl``; ``statement_cache_size`` to the driver; any other option is a server
  setting (``server_settings``), e.g. ``application_name``, ``timezone``, ``search_path``.

Example::

    async with PostgreSQLResource(database="shop", user="app", password="...") as pg:
        rows = await pg.fetch_all("SELECT * FROM orders WHERE total > $1", [100])
        async with pg.transaction() as tx:
            await tx.execute("UPDATE stock SET qty = qty - $1 WHERE sku = $2", [1, "a-1"])
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

import asyncpg
from asyncpg import exceptions as pgx
from pydantic import AliasChoices, Field, PrivateAttr

from xresource.databases.base import Row, noting_failure
from xresource.databases.dialect import POSTGRESQL, SQLDialect
from xresource.databases.pooled import (
    ConnectionExecutor,
    PooledSQLResource,
    check_batch_size,
    check_params,
)
from xresource.databases.sql_errors import (
    Classified,
    ErrorGuard,
    auth_error,
    integrity_error,
    missing_table_name,
    not_found_error,
)
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)

__all__ = ["PostgreSQLResource"]

_T = TypeVar("_T")

_SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


def _dicts(records: list[asyncpg.Record]) -> list[Row]:
    if not records:
        return []
    # One key tuple for the whole result: zip with it beats dict(record) per row.
    keys = tuple(records[0].keys())
    return [dict(zip(keys, record, strict=False)) for record in records]


def _affected(status: str) -> int:
    """Rows affected, from a command status such as ``INSERT 0 3`` or ``UPDATE 2``."""
    last = status.rsplit(" ", 1)[-1] if status else ""
    return int(last) if last.isdigit() else 0


def _detached(raw: Any) -> bool:
    """Whether the pooled connection proxy ``raw`` was already given back by the driver.

    asyncpg gives a connection's slot back to its pool by itself when the connection is lost
    (``connection_lost`` cleans up), which detaches the proxy we hold.
    """
    return getattr(raw, "_con", raw) is None


class _ConnectionLost(Exception):
    """Raised from the records of a COPY to stop encoding rows for a connection that is gone."""


#: Rows between two checks of the socket while a COPY streams (a check is one attribute read).
_LOST_CHECK_EVERY = 512


def _until_lost(raw: Any, records: Iterable[Any]) -> Iterator[Any]:
    """``records``, stopped with :class:`_ConnectionLost` once ``raw``'s socket has failed.

    asyncpg encodes COPY rows without yielding to the event loop while the socket accepts
    data, and after a send fails it silently drops what it is given: without this check a
    lost connection would be noticed only after every remaining row was prepared (the
    repository validates them on the way) and sent nowhere. The transport knows at once (a
    failed send closes it), long before the event loop runs the driver's connection_lost.
    """
    transport = getattr(getattr(raw, "_con", None), "_transport", None)
    closing = getattr(transport, "is_closing", None)
    if closing is None:  # another driver layout: rely on the deadline alone
        yield from records
        return
    for n, record in enumerate(records):
        if n % _LOST_CHECK_EVERY == 0 and closing():
            raise _ConnectionLost
        yield record


def _terminate(raw: Any) -> None:
    """Close ``raw`` at once (no round trip), whatever state it is in."""
    if _detached(raw):
        return
    with contextlib.suppress(pgx.InterfaceError):
        raw.terminate()


class _PGExecutor(ConnectionExecutor):
    """Statements on one ``asyncpg`` connection."""

    raw: asyncpg.Connection

    _tx: Any = None

    def _guard(self, operation: str) -> ErrorGuard:
        if not self.released and (_detached(self.raw) or self.raw.is_closed()):
            # Lost while idle (between two statements of a transaction, or in the pool): the
            # driver has already given it back, and the server rolled its transaction back.
            self.discard = True
            raise XResourceConnectionError(
                f"the connection to {self.resource.address} was lost (closed by the server or "
                "the network); an open transaction on it was rolled back, run it again",
                resource=self.resource.display_name,
                operation=operation,
            )
        return super()._guard(operation)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        params = check_params(params, "fetch")
        with self._guard("fetch"):
            return _dicts(await self.raw.fetch(sql, *params))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        params = check_params(params, "fetch")
        with self._guard("fetch"):
            record = await self.raw.fetchrow(sql, *params)
        return None if record is None else dict(record.items())

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        params = check_params(params, "fetch")
        with self._guard("fetch"):
            return await self.raw.fetchval(sql, *params)

    async def _batches(
        self, sql: str, params: Sequence[Any], batch_size: int
    ) -> AsyncIterator[list[Row]]:
        with self._guard("stream"):
            cursor = await self.raw.cursor(sql, *params)
        while True:
            with self._guard("stream"):
                records = await cursor.fetch(batch_size)
            if records:
                yield _dicts(records)
            if len(records) < batch_size:
                return

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch_size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        params = check_params(params, "stream")
        check_batch_size(batch_size)
        if self.in_transaction:
            async for batch in self._batches(sql, params, batch_size):
                yield batch
            return
        # A server-side cursor lives only inside a transaction.
        await self.begin()
        try:
            async for batch in self._batches(sql, params, batch_size):
                yield batch
        except BaseException:
            await self.abort()
            raise
        await self.commit()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        params = check_params(params, "execute")
        with self._guard("execute"):
            return _affected(await self.raw.execute(sql, *params))

    async def execute_many(self, sql: str, params_seq: Iterable[Sequence[Any]]) -> int:
        # asyncpg discards each statement's status, so the count is of parameter sets run
        # (exact for INSERT, an upper bound for UPDATE/DELETE). executemany() is atomic.
        count = 0

        def counted() -> Iterator[Sequence[Any]]:
            nonlocal count
            for params in params_seq:
                count += 1
                yield params

        with self._guard("execute_many"):
            await self.watched("execute_many", lambda: self.raw.executemany(sql, counted()))
        return count

    async def watched(self, operation: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """Await ``call()`` (a driver call that streams data to the server) with a deadline, and
        end it at once when the connection is lost.

        asyncpg's COPY and ``executemany`` wait for the socket to accept more data (flow
        control). When the connection drops during that wait nothing wakes them, and the
        driver's own ``timeout`` does not cover it: they would wait forever. A termination
        listener ends the wait as soon as the driver notices the loss, which is then an
        ``XResourceConnectionError``; ``command_timeout`` bounds a server that stops answering
        without closing the socket (an ``XResourceTimeoutError``). Either way the connection is
        closed, never returned to the pool.
        """
        raw = self.raw
        loop = asyncio.get_running_loop()
        lost = False
        waiting = True
        try:
            async with asyncio.timeout(self.resource.command_timeout) as deadline:

                def on_lost(_connection: object) -> None:
                    nonlocal lost
                    lost = True
                    if waiting:  # the deadline may only move while its block runs
                        deadline.reschedule(loop.time())

                raw.add_termination_listener(on_lost)
                try:
                    return await call()
                finally:
                    waiting = False
                    if not _detached(raw):
                        raw.remove_termination_listener(on_lost)
        except (TimeoutError, _ConnectionLost) as exc:
            self.discard = True
            lost = lost or isinstance(exc, _ConnectionLost)
            if lost:
                raise XResourceConnectionError(
                    f"lost the connection to {self.resource.address} during {operation}; "
                    "nothing was committed, retry when the server is back",
                    resource=self.resource.display_name,
                    operation=operation,
                ) from None
            raise

    async def _begin(self) -> None:
        tx = self.raw.transaction()
        await tx.start()
        self._tx = tx

    async def _commit(self) -> None:
        await self._tx.commit()

    async def _rollback(self) -> None:
        await self._tx.rollback()


class PostgreSQLResource(PooledSQLResource):
    """A PostgreSQL database (see module docs).

    Args:
        host, port, database, user, password: where and who; the password is a ``SecretStr``.
        schema_name: the schema to list and (when not ``public``) to search first; ``schema=``.
        pool_min_size, pool_max_size, connect_timeout, acquire_timeout, command_timeout: the pool.
        options: ``sslmode``, ``statement_cache_size`` or server settings.
    """

    resource_type: ClassVar[str] = "postgresql"
    url_schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres", "postgresql+asyncpg")
    dialect: ClassVar[SQLDialect] = POSTGRESQL
    default_port: ClassVar[int | None] = 5432
    url_field_aliases: ClassVar[dict[str, str]] = {
        "pool_size": "pool_max_size",
        "schema": "schema_name",
        "currentSchema": "schema_name",
    }

    schema_name: str = Field(
        default="public",
        min_length=1,
        validation_alias=AliasChoices("schema", "schema_name"),
        description="Schema listed by list_collections_or_tables.",
    )

    _pool: asyncpg.Pool | None = PrivateAttr(default=None)

    def _connect_kwargs(self) -> dict[str, Any]:
        options = dict(self.options)
        kwargs: dict[str, Any] = {}
        sslmode = options.pop("sslmode", None) or options.pop("ssl", None)
        if sslmode is not None:
            if sslmode not in _SSL_MODES:
                raise XResourceConfigurationError(
                    f"unknown sslmode {sslmode!r}; use one of {', '.join(sorted(_SSL_MODES))}",
                    resource=self.display_name,
                    operation="connect",
                )
            kwargs["ssl"] = sslmode
        if "statement_cache_size" in options:
            kwargs["statement_cache_size"] = int(options.pop("statement_cache_size"))
        options.pop("connect_timeout", None)  # a libpq spelling; the field already holds it
        if self.schema_name != "public" and "search_path" not in options:
            options["search_path"] = f"{self.dialect.quote(self.schema_name)}, public"
        kwargs["server_settings"] = options
        return kwargs

    async def _open_pool(self) -> None:
        kwargs = self._connect_kwargs()
        async with asyncio.timeout(self.connect_timeout * 2):
            self._pool = await asyncpg.create_pool(
                host=self.host,
                port=self.port or self.default_port,
                user=self.user,
                password=self.password.get_secret_value() if self.password else None,
                database=self.database,
                min_size=self.pool_min_size,
                max_size=self.pool_max_size,
                timeout=self.connect_timeout,
                command_timeout=self.command_timeout,
                **kwargs,
            )

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            async with asyncio.timeout(5):
                await pool.close()
        except TimeoutError:
            pool.terminate()

    def _require_pool(self) -> asyncpg.Pool:
        return self._connected_pool(self._pool)

    async def _acquire_raw(self) -> asyncpg.Connection:
        return await self._require_pool().acquire(timeout=self.connect_timeout)

    async def _release_raw(self, raw: asyncpg.Connection, *, discard: bool) -> None:
        # Never raises: the caller's own result or error is what matters, and a connection that
        # cannot be returned cleanly is closed instead (the pool opens a fresh one when needed).
        if _detached(raw):
            # The driver already closed it (connection lost) and gave its slot back to the pool;
            # any call on it now would raise "connection has been released back to the pool".
            return
        pool = self._pool
        if discard or pool is None:
            _terminate(raw)
            return
        try:
            # release() resets the session (and rolls back an open transaction) before reuse;
            # the deadline bounds a server that stopped answering without closing the socket.
            async with asyncio.timeout(self.connect_timeout):
                await pool.release(raw, timeout=self.connect_timeout)
        except (Exception, asyncio.CancelledError) as exc:
            _terminate(raw)
            if isinstance(exc, asyncio.CancelledError):
                raise

    def _new_executor(self, raw: Any) -> _PGExecutor:
        return _PGExecutor(self, raw)

    def _raw_pool_stats(self) -> tuple[int, int]:
        pool = self._require_pool()
        return pool.get_size(), pool.get_idle_size()

    # -- errors ---------------------------------------------------------------------------------
    def _classify(self, exc: Exception, operation: str) -> Classified | None:
        text = str(exc)
        if isinstance(exc, pgx.InvalidPasswordError | pgx.InvalidAuthorizationSpecificationError):
            return auth_error(text)
        if isinstance(exc, pgx.UndefinedTableError):
            return not_found_error("table", missing_table_name(text), text)
        if isinstance(exc, pgx.InvalidCatalogNameError):
            return not_found_error("database", self.database, text)
        if isinstance(exc, pgx.InvalidSchemaNameError):
            return not_found_error("schema", None, text)
        if isinstance(exc, pgx.IntegrityConstraintViolationError):
            return integrity_error(text)  # asyncpg's text includes the DETAIL line
        if isinstance(exc, pgx.QueryCanceledError):
            return XResourceTimeoutError, f"the server cancelled the statement: {text}"
        if isinstance(
            exc,
            pgx.PostgresConnectionError
            | pgx.ConnectionDoesNotExistError
            | pgx.CannotConnectNowError
            | pgx.TooManyConnectionsError
            | pgx.AdminShutdownError,
        ):
            return XResourceConnectionError, (
                f"lost or refused the connection to {self.address}: {text}"
            )
        if isinstance(exc, pgx.DataError):
            return XResourceValidationError, f"a parameter does not fit its column: {text}"
        if isinstance(exc, pgx.PostgresError):
            return XResourceQueryError, f"{text} (SQLSTATE {exc.sqlstate})"
        if isinstance(exc, pgx.InternalClientError):
            # "cannot switch to state 15; another operation is in progress": the protocol state
            # of this connection is broken (seen when the server terminated the backend between
            # two statements of a transaction); the pool must drop it, as a lost connection.
            return XResourceConnectionError, (
                f"the connection to {self.address} is no longer usable ({text}); run the call again"
            )
        if isinstance(exc, pgx.InterfaceError):
            if "released back to the pool" in text or "connection is closed" in text:
                # The driver closed the connection under us (it was lost mid-call).
                return XResourceConnectionError, (
                    f"lost the connection to {self.address}; run the call again"
                )
            return XResourceQueryError, text
        return None

    # -- PostgreSQL specifics -------------------------------------------------------------------
    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
    ) -> int:
        """Insert many rows with ``COPY ... FROM STDIN``: one statement, all rows or none.

        ``records`` may be a generator: rows are sent as it yields them, so the server works
        while the caller prepares the next ones. An exception it raises aborts the COPY (nothing
        is written) and propagates unchanged.
        """
        self._check_copy_columns(columns)
        # asyncpg quotes the names itself; quoting here validates them (no control characters).
        for name in (table, schema or self.schema_name, *columns):
            self.dialect.quote(name)
        failed: list[BaseException] = []
        async with self.lease() as executor:
            assert isinstance(executor, _PGExecutor)
            with ErrorGuard(self, "copy_records", passthrough=failed):
                status = await executor.watched(
                    "copy_records",
                    lambda: executor.raw.copy_records_to_table(
                        table,
                        records=_until_lost(executor.raw, noting_failure(records, failed)),
                        columns=list(columns),
                        schema_name=schema or self.schema_name,
                        timeout=self.command_timeout,
                    ),
                )
        return _affected(status)

    async def list_collections_or_tables(self) -> list[str]:
        """Tables and views of ``schema_name``, sorted."""
        rows = await self.fetch_all(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 "
            "ORDER BY table_name",
            [self.schema_name],
        )
        return [row["name"] for row in rows]
