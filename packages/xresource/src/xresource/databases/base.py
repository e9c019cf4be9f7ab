"""Database resources: pool settings, pool statistics and the low-level surface repositories use.

SQL databases share one small surface (:class:`SQLExecutor`): fetch rows as dicts (all, one, a
scalar, or streamed in batches), execute, execute many, and :meth:`SQLDatabaseResource.transaction`
which yields an executor bound to one connection inside one transaction. Queries are SQL text
with bound parameters in the dialect's placeholder style (:mod:`xresource.databases.dialect`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

from pydantic import BaseModel, Field, SecretStr, model_validator

from xresource.base import ParameterAlias, XResource
from xresource.databases.dialect import SQLDialect
from xresource.errors import XResourceError

__all__ = ["DatabaseResource", "PoolStats", "SQLDatabaseResource", "SQLExecutor"]

Row = dict[str, Any]


def noting_failure(records: Iterable[Sequence[Any]], failed: list[BaseException]) -> Iterator[Any]:
    """Yield ``records``; an exception they raise is appended to ``failed`` before it propagates.

    Tells the caller's own error (a record generator that fails) from the driver's, which is
    translated: the caller's passes unchanged.
    """
    try:
        yield from records
    except Exception as exc:
        failed.append(exc)
        raise


class PoolStats(BaseModel):
    """A snapshot of a connection pool (``get_pool_stats()``).

    Readable as attributes or, like the specification's dict, by key: ``stats["in_use"]``.
    """

    min_size: int
    max_size: int
    size: int = Field(description="Connections open now.")
    in_use: int = Field(description="Connections lent out now.")
    idle: int = Field(description="Connections open and free.")
    waiting: int | None = Field(
        default=None, description="Callers waiting for a connection, where the driver tells."
    )

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str) or key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def keys(self) -> list[str]:
        """The statistics' names (``dict(stats)`` and ``stats[name]`` use them)."""
        return list(type(self).model_fields)


class DatabaseResource(XResource, ABC):
    """A database with its own connection pool."""

    pool_min_size: int = Field(default=1, ge=0, description="Connections kept open when idle.")
    pool_max_size: int = Field(default=10, ge=1, description="Most connections open at once.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to open a connection.")
    acquire_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds to wait for a free pooled connection "
        "before XResourcePoolExhaustedError.",
    )
    command_timeout: float | None = Field(
        default=60.0, gt=0, description="Seconds a single statement may run."
    )

    #: The specification's spellings: ``pool_size`` (settings' ``default_pool_size``) is the
    #: pool's maximum; ``connection_timeout`` is in milliseconds, as in its ``settings.toml``.
    parameter_aliases: ClassVar[Mapping[str, str | ParameterAlias]] = {
        "pool_size": "pool_max_size",
        "connection_timeout": ParameterAlias("connect_timeout", 0.001),
    }

    @model_validator(mode="after")
    def _check_pool_bounds(self) -> DatabaseResource:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError(
                f"pool_min_size ({self.pool_min_size}) exceeds pool_max_size "
                f"({self.pool_max_size}); the minimum may not be larger than the maximum"
            )
        return self

    @abstractmethod
    def get_pool_stats(self) -> PoolStats:
        """The pool as it is now; all zeros before ``connect()``."""


class SQLExecutor(ABC):
    """Statements and queries with bound parameters; rows come back as dicts."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""

    @abstractmethod
    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row, or ``None``."""

    @abstractmethod
    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None``."""

    @abstractmethod
    def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch_size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        """Rows in batches of at most ``batch_size`` from a server-side cursor."""

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it affected."""

    @abstractmethod
    async def execute_many(self, sql: str, params_seq: Iterable[Sequence[Any]]) -> int:
        """Run one statement once per parameter tuple, as a batch; rows affected in total."""


class SQLDatabaseResource(DatabaseResource, SQLExecutor, ABC):
    """A SQL database: connection parameters, dialect and the :class:`SQLExecutor` surface.

    Each call on the resource itself borrows a pooled connection for that call; use
    :meth:`transaction` to run several statements atomically on one connection.
    """

    dialect: ClassVar[SQLDialect]

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    database: str | None = None
    user: str | None = None
    password: SecretStr | None = None
    options: dict[str, str] = Field(
        default_factory=dict, description="Driver options from the URL's query string."
    )

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[SQLExecutor]:
        """One connection, one transaction: committed when the block ends, rolled back on error."""

    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
    ) -> int:
        """Insert many rows as fast as the driver allows (``COPY`` where there is one).

        The default is a batched ``INSERT`` inside one transaction: all rows or none. When
        ``records`` is a generator that raises, nothing is written and its exception propagates
        unchanged.
        """
        d = self.dialect
        cols = ", ".join(d.quote(c) for c in columns)
        marks = ", ".join(d.param(i + 1) for i in range(len(columns)))
        sql = f"INSERT INTO {d.qualified(schema, table)} ({cols}) VALUES ({marks})"  # noqa: S608
        failed: list[BaseException] = []
        try:
            async with self.transaction() as tx:
                return await tx.execute_many(sql, noting_failure(records, failed))
        except XResourceError:
            if failed:
                raise failed[0] from None
            raise
