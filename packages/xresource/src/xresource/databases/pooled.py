"""What the pooled SQL resources (PostgreSQL, MySQL/MariaDB, SQLite) share.

A driver module supplies three things: how to open and close its pool, how to borrow and return
one raw connection, and a :class:`ConnectionExecutor` that runs statements on that connection.
:class:`PooledSQLResource` builds the rest on top, identically for every driver:

- **leases**: each call borrows a connection for its own duration; a semaphore with
  ``pool_max_size`` slots bounds them, so a caller that finds every connection lent out waits at
  most ``acquire_timeout`` seconds and then gets ``XResourcePoolExhaustedError`` (and the number
  of waiting callers is known exactly, for :meth:`get_pool_stats`);
- **transactions**: :meth:`transaction` keeps one connection for the block, commits at its end and
  rolls back on any exception (cancellation included);
- **errors**: every driver exception leaves as an ``XResourceError`` naming the resource and the
  operation (:mod:`xresource.databases.sql_errors`);
- a connection whose state is unknown after a timeout, a lost server or an abandoned stream is
  closed instead of returned to the pool.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Any, ClassVar, TypeVar, cast

from pydantic import PrivateAttr

from xresource.databases.base import PoolStats, Row, SQLDatabaseResource, SQLExecutor
from xresource.databases.sql_errors import Classified, ErrorGuard
from xresource.errors import (
    XResourceConnectionError,
    XResourceError,
    XResourcePoolExhaustedError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.url import ParsedURL

__all__ = ["ConnectionExecutor", "PooledSQLResource", "check_batch_size", "check_params"]

_Pool = TypeVar("_Pool")


def check_params(params: Any, operation: str) -> Sequence[Any]:
    """``params`` if it is a list or tuple of values; a clear error for a string, dict or number."""
    if type(params) is tuple or type(params) is list:
        return params
    if isinstance(params, Sequence) and not isinstance(params, str | bytes | bytearray):
        return params
    raise XResourceValidationError(
        f"query parameters must be a list or tuple of values bound in order, got "
        f"{type(params).__name__}",
        operation=operation,
    )


def check_batch_size(batch_size: Any, operation: str = "stream") -> int:
    """``batch_size`` if it is a positive integer."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise XResourceValidationError(
            f"batch_size must be a positive integer, got {batch_size!r}", operation=operation
        )
    return batch_size


class ConnectionExecutor(SQLExecutor, ABC):
    """An :class:`SQLExecutor` bound to one borrowed driver connection.

    ``transaction()`` yields one of these; it may be used only inside its ``async with`` block.
    """

    def __init__(self, resource: PooledSQLResource, raw: Any) -> None:
        self.resource = resource
        #: The driver's connection object (``asyncpg.Connection``, ``aiomysql.Connection``...).
        self.raw = raw
        #: Whether a transaction is open on the connection.
        self.in_transaction = False
        #: Set when the connection must be closed rather than returned (state unknown).
        self.discard = False
        self.released = False

    def _guard(self, operation: str) -> ErrorGuard:
        if self.released:
            raise XResourceError(
                "this transaction's connection was already returned to the pool; run statements "
                "inside the `async with resource.transaction() as tx:` block",
                resource=self.resource.display_name,
                operation=operation,
            )
        return ErrorGuard(self.resource, operation)

    # -- what a driver implements: the bare statements, without guard or bookkeeping ----------
    @abstractmethod
    async def _begin(self) -> None:
        """Send the driver's "begin a transaction"."""

    @abstractmethod
    async def _commit(self) -> None:
        """Send the driver's "commit"."""

    @abstractmethod
    async def _rollback(self) -> None:
        """Send the driver's "roll back"."""

    async def begin(self) -> None:
        """Open a transaction on the connection."""
        with self._guard("begin transaction"):
            await self._begin()
        self.in_transaction = True

    async def commit(self) -> None:
        """Commit the open transaction."""
        with self._guard("commit"):
            await self._commit()
        self.in_transaction = False

    async def rollback(self) -> None:
        """Roll the open transaction back."""
        with self._guard("rollback"):
            await self._rollback()
        self.in_transaction = False

    async def abort(self) -> None:
        """Roll back after a failure; if even that fails, mark the connection for closing
        (closing a connection rolls its transaction back), so the first error stays the one
        the caller sees."""
        if not self.in_transaction:
            return
        try:
            await self.rollback()
        except Exception:
            self.discard = True


class PooledSQLResource(SQLDatabaseResource, ABC):
    """A SQL database whose calls borrow connections from a bounded pool (see module docs)."""

    #: The server's port when the resource sets none.
    default_port: ClassVar[int | None] = None

    _slots: asyncio.Semaphore | None = PrivateAttr(default=None)
    _waiting: int = PrivateAttr(default=0)

    # -- what a driver module implements ------------------------------------------------------
    @abstractmethod
    async def _open_pool(self) -> None:
        """Create the driver's pool (raising the driver's exceptions on failure)."""

    @abstractmethod
    async def _close_pool(self) -> None:
        """Close the pool and every connection in it."""

    @abstractmethod
    async def _acquire_raw(self) -> Any:
        """Borrow one raw connection (a slot is already held, so this does not wait for one)."""

    @abstractmethod
    async def _release_raw(self, raw: Any, *, discard: bool) -> None:
        """Return ``raw`` to the pool, or close it when ``discard``."""

    @abstractmethod
    def _new_executor(self, raw: Any) -> ConnectionExecutor:
        """The executor for one borrowed connection."""

    @abstractmethod
    def _classify(self, exc: Exception, operation: str) -> Classified | None:
        """The error class and message for a driver exception, or ``None`` for the generic one."""

    @abstractmethod
    def _raw_pool_stats(self) -> tuple[int, int]:
        """``(open connections, idle connections)`` of the connected pool."""

    def _slot_count(self) -> int:
        """How many connections may be lent out at once."""
        return self.pool_max_size

    def _connected_pool(self, pool: _Pool | None) -> _Pool:
        """``pool`` (the driver's pool object), or a clear error when the resource is not
        connected."""
        if pool is None:
            raise XResourceConnectionError(
                "the resource is not connected", resource=self.display_name, operation="acquire"
            )
        return pool

    def _check_copy_columns(self, columns: Sequence[str]) -> None:
        """A clear error unless ``columns`` is a non-empty list of names (not one string)."""
        if isinstance(columns, str) or not columns:
            raise XResourceValidationError(
                f"copy_records needs a non-empty list of column names, got {columns!r}",
                resource=self.display_name,
                operation="copy_records",
            )

    # -- identity -----------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """``host:port`` as errors show it (never credentials)."""
        port = self.port or self.default_port
        return f"{self.host}:{port}" if port else self.host

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """Host, port, user, password and database from the URL; query keys that name a field of
        the resource (``pool_max_size``, ``connect_timeout``...) set it, the others are ``options``.
        """
        params: dict[str, Any] = {}
        if url.host:
            params["host"] = url.host
        if url.port:
            params["port"] = url.port
        if url.username:
            params["user"] = url.username
        if url.password is not None:
            params["password"] = url.password
        if url.database:
            params["database"] = url.database
        options: dict[str, str] = {}
        for key, value in url.query.items():
            if key in ("user", "password", "database"):
                params.setdefault(key, value)
            elif key in cls.model_fields or key in cls.url_field_aliases:
                params[cls.url_field_aliases.get(key, key)] = value
            else:
                options[key] = value
        if options:
            params["options"] = options
        return params

    #: Query-string keys that set a differently named field (``schema`` -> ``schema_name``).
    url_field_aliases: ClassVar[dict[str, str]] = {"pool_size": "pool_max_size"}

    # -- lifecycle ----------------------------------------------------------------------------
    async def _connect(self) -> None:
        with ErrorGuard(self, "connect"):
            await self._open_pool()
        self._slots = asyncio.Semaphore(self._slot_count())
        self._waiting = 0

    async def _disconnect(self) -> None:
        self._slots = None
        await self._close_pool()

    # -- leases -------------------------------------------------------------------------------
    async def _take_slot(self, slots: asyncio.Semaphore) -> None:
        if not slots.locked():
            await slots.acquire()  # free slot: returns at once
            return
        self._waiting += 1
        try:
            async with asyncio.timeout(self.acquire_timeout):
                await slots.acquire()
        except TimeoutError:
            raise XResourcePoolExhaustedError(
                f"no pooled connection became free within acquire_timeout="
                f"{self.acquire_timeout:g}s (all {self._slot_count()} are in use); raise "
                "pool_max_size or acquire_timeout, or hold connections (transactions, streams) "
                "for less time",
                resource=self.display_name,
                operation="acquire",
            ) from None
        finally:
            self._waiting -= 1

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[ConnectionExecutor]:
        """Borrow one connection for the block (no transaction is opened)."""
        if not self._connected:
            await self.connect()
        slots = self._slots
        if slots is None:
            raise XResourceConnectionError(
                "the resource was disconnected", resource=self.display_name, operation="acquire"
            )
        await self._take_slot(slots)
        try:
            with ErrorGuard(self, "acquire"):
                raw = await self._acquire_raw()
        except BaseException:
            slots.release()
            raise
        executor = self._new_executor(raw)
        failed: BaseException | None = None
        try:
            yield executor
        except BaseException as exc:
            failed = exc
            raise
        finally:
            executor.released = True
            discard = (
                executor.discard
                or executor.in_transaction
                or isinstance(
                    failed,
                    XResourceTimeoutError | XResourceConnectionError | asyncio.CancelledError,
                )
            )
            try:
                await self._return(raw, discard=discard)
            finally:
                slots.release()

    async def _return(self, raw: Any, *, discard: bool) -> None:
        """Give ``raw`` back (or close it) within ``connect_timeout``, never raising: the call's
        own result or error is what the caller must see, and a connection that cannot be
        returned cleanly (its server went away) is of no further use anyway."""
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._release_raw(raw, discard=discard)
        except Exception:  # noqa: S110 - deliberately silent, see above
            pass

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLExecutor]:
        """One connection, one transaction: committed when the block ends, rolled back on error.

        Examples:
            >>> async with db.transaction() as tx:  # doctest: +SKIP
            ...     await tx.execute("UPDATE acct SET v = v - 1 WHERE id = ?", [1])
            ...     await tx.execute("UPDATE acct SET v = v + 1 WHERE id = ?", [2])
        """
        async with self.lease() as executor:
            await executor.begin()
            try:
                yield executor
            except BaseException:
                await executor.abort()
                raise
            await executor.commit()

    # -- SQLExecutor: one lease per call -----------------------------------------------------
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query, as dicts."""
        async with self.lease() as executor:
            return await executor.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row as a dict, or ``None``."""
        async with self.lease() as executor:
            return await executor.fetch_one(sql, params)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None``."""
        async with self.lease() as executor:
            return await executor.fetch_value(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (autocommitted); the number of rows it affected."""
        async with self.lease() as executor:
            return await executor.execute(sql, params)

    async def execute_many(self, sql: str, params_seq: Iterable[Sequence[Any]]) -> int:
        """Run a statement once per parameter tuple, atomically; rows affected in total."""
        async with self.lease() as executor:
            return await executor.execute_many(sql, params_seq)

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch_size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        """Rows in lists of at most ``batch_size``, read incrementally from the server.

        The stream holds one pooled connection until it is exhausted or closed; to stop early,
        close it (``async with contextlib.aclosing(db.stream(...)) as batches:``).
        """
        check_batch_size(batch_size)
        async with (
            self.lease() as executor,
            aclosing(
                cast(
                    AsyncGenerator[list[Row], None],
                    executor.stream(sql, params, batch_size=batch_size),
                )
            ) as batches,
        ):
            async for batch in batches:
                yield batch

    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
    ) -> int:
        """Insert many rows in one transaction: all of them, or none when one is bad."""
        self._check_copy_columns(columns)
        return await super().copy_records(table, columns, records, schema=schema)

    # -- health and statistics ---------------------------------------------------------------
    async def validate_connection(self) -> bool:
        """Whether the server answers ``SELECT 1`` within ``connect_timeout``; never raises."""
        try:
            async with asyncio.timeout(self.connect_timeout):
                return bool(await self.fetch_value("SELECT 1") == 1)
        except Exception:
            return False

    def get_pool_stats(self) -> PoolStats:
        """Open, lent-out and idle connections and waiting callers, read from the pool now."""
        max_size = self._slot_count()
        min_size = min(self.pool_min_size, max_size)
        if not self._connected or self._slots is None:
            return PoolStats(
                min_size=min_size, max_size=max_size, size=0, in_use=0, idle=0, waiting=0
            )
        size, idle = self._raw_pool_stats()
        return PoolStats(
            min_size=min_size,
            max_size=max_size,
            size=size,
            in_use=max(size - idle, 0),
            idle=idle,
            waiting=self._waiting,
        )
