"""``MySQLResource``: MySQL and MariaDB on an ``aiomysql`` pool.

- Placeholders are ``%s`` (the ``format`` paramstyle); rows come back as dicts. With parameters,
  a literal ``%`` in a string literal of the SQL text is written ``%%`` (the driver %-formats the
  text), but inside a backtick-quoted identifier (what ``dialect.quote`` makes) ``%`` is always
  written once: the executor doubles it for the driver, so a table named ``growth %`` works with
  and without parameters.
- Connections run in autocommit mode with ``utf8mb4``; :meth:`transaction` opens an explicit
  ``BEGIN`` on one connection. DDL statements (``CREATE``/``DROP``/``ALTER``) commit implicitly in
  MySQL, so they cannot be rolled back: keep them out of transactions you may need to undo.
- :meth:`stream` reads with an unbuffered server-side cursor (``SSCursor``), ``batch_size`` rows at
  a time; a stream closed early drops its connection rather than reading the rest of the result.
- ``command_timeout`` bounds every call on the client side (the driver has no statement timeout);
  a connection that timed out is closed, never reused.
- URL: ``mysql://user:pw@host:3306/db?charset=utf8mb4&sql_mode=ANSI_QUOTES``; options are
  ``charset``, ``sql_mode`` and ``init_command``.

Example::

    async with MySQLResource(database="shop", user="app", password="...") as my:
        rows = await my.fetch_all("SELECT * FROM orders WHERE total > %s", [100])
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, ClassVar

import aiomysql
from aiomysql.cursors import RE_INSERT_VALUES
from pydantic import PrivateAttr
from pymysql import err as myerr  # type: ignore[import-untyped]

from xresource.databases.base import Row
from xresource.databases.dialect import MYSQL, SQLDialect
from xresource.databases.pooled import (
    ConnectionExecutor,
    PooledSQLResource,
    check_batch_size,
    check_params,
)
from xresource.databases.sql_errors import (
    Classified,
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

__all__ = ["MySQLResource"]

_OPTIONS = frozenset({"charset", "sql_mode", "init_command"})
# Server and client error numbers, by what they mean to the caller.
_AUTH = frozenset({1044, 1045, 1698, 1227})
_CONNECTION = frozenset({1040, 1053, 1927, 2002, 2003, 2005, 2006, 2013, 2055})
_INTEGRITY = frozenset(
    {1022, 1048, 1062, 1169, 1216, 1217, 1364, 1451, 1452, 1557, 1586, 3819, 4025}
)
_TIMEOUT = frozenset({1205, 1317, 1969, 3024})
# A name the server refuses: too long (1059), or a database, table or column name that is not
# allowed (1102, 1103, 1166: a trailing space, which quoting cannot fix).
_BAD_NAME = frozenset({1059, 1102, 1103, 1166})


#: MariaDB's "Regex error 'match limit exceeded'" (PCRE2 gave up backtracking) is a warning
#: and the row simply does not match: a wrong answer, turned into an error here.
_REGEX_ERROR = 1139


# What may hold a backtick without starting an identifier: string literals and comments. Matched
# first at each position, so that the backticks and quotes inside them are skipped as a whole.
_SQL_SPANS = re.compile(
    r"`(?:[^`]|``)*`"
    r"|'(?:[^'\\]|\\.|'')*'"
    r'|"(?:[^"\\]|\\.|"")*"'
    r"|#[^\n]*|--[ \t][^\n]*|/\*.*?\*/",
    re.DOTALL,
)


def _escape_identifier_percent(sql: str) -> str:
    """``sql`` with each ``%`` inside a backtick-quoted identifier doubled.

    aiomysql %-formats the whole statement text when parameters are passed, quoted identifiers
    included: a table or output name such as ``growth %`` would fail with "unsupported format
    character". Literals and comments are left as written (the driver's own rule applies there).
    """
    if "%" not in sql or "`" not in sql:
        return sql

    def repl(m: re.Match[str]) -> str:
        span = m[0]
        return span.replace("%", "%%") if span[0] == "`" else span

    return _SQL_SPANS.sub(repl, sql)


def _escape_many(sql: str) -> str:
    """:func:`_escape_identifier_percent` for ``executemany``: aiomysql formats the ``INSERT ...
    VALUES`` prefix and the row group, but sends an ``ON DUPLICATE KEY UPDATE`` tail as is."""
    m = RE_INSERT_VALUES.match(sql)
    if m is None:
        return _escape_identifier_percent(sql)
    return _escape_identifier_percent(m[1]) + sql[m.end(1) :]


class _Cursor(aiomysql.Cursor):  # type: ignore[misc]
    """aiomysql's cursor without its ``SHOW WARNINGS`` round trip and Python warning per note
    (``DROP TABLE IF EXISTS`` of a missing table...): server notes are not errors, except a
    regular expression the server gave up on (then the statement fails)."""

    _sql: str = ""

    async def execute(self, query: str, args: Any = None) -> int:
        self._sql = query
        count: int = await super().execute(query, args)
        return count

    async def _show_warnings(self, conn: Any) -> None:
        if "REGEXP" not in self._sql.upper():
            return
        for warning in await conn.show_warnings() or ():
            if warning[1] == _REGEX_ERROR:
                raise myerr.OperationalError(_REGEX_ERROR, str(warning[2]))


class _SSCursor(_Cursor, aiomysql.SSCursor):  # type: ignore[misc]
    """The unbuffered (server-side) cursor of :meth:`MySQLResource.stream`, equally quiet."""


def _dicts(description: Any, rows: Iterable[Sequence[Any]]) -> list[Row]:
    names = [d[0] for d in description]
    return [dict(zip(names, row, strict=False)) for row in rows]


class _MySQLExecutor(ConnectionExecutor):
    """Statements on one ``aiomysql`` connection."""

    raw: aiomysql.Connection

    def _deadline(self) -> asyncio.Timeout:
        return asyncio.timeout(self.resource.command_timeout)

    async def _run(self, sql: str, params: Sequence[Any], operation: str, fetch: str | None) -> Any:
        params = check_params(params, operation)
        with self._guard(operation):
            async with self._deadline():
                cursor = await self.raw.cursor(_Cursor)
                try:
                    # No params, no %-formatting: a literal % in the SQL stays as written.
                    if params:
                        sql = _escape_identifier_percent(sql)
                    count = await cursor.execute(sql, params or None)
                    if fetch is None:
                        return count
                    if cursor.description is None:
                        return [] if fetch == "all" else None
                    if fetch == "all":
                        return _dicts(cursor.description, await cursor.fetchall())
                    row = await cursor.fetchone()
                    if row is None:
                        return None
                    if fetch == "value":
                        return row[0]
                    return _dicts(cursor.description, (row,))[0]
                finally:
                    await cursor.close()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._run(sql, params, "fetch", "all")
        return rows

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = await self._run(sql, params, "fetch", "one")
        return row

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._run(sql, params, "fetch", "value")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        count = await self._run(sql, params, "execute", None)
        return max(int(count or 0), 0)

    async def execute_many(self, sql: str, params_seq: Iterable[Sequence[Any]]) -> int:
        args = params_seq if isinstance(params_seq, list) else list(params_seq)
        if not args:
            return 0
        own_transaction = not self.in_transaction
        if own_transaction:
            await self.begin()
        try:
            with self._guard("execute_many"):
                async with self._deadline():
                    cursor = await self.raw.cursor(_Cursor)
                    try:
                        # INSERT ... VALUES becomes one multi-row statement in the driver.
                        count = await cursor.executemany(_escape_many(sql), args)
                    finally:
                        await cursor.close()
        except BaseException:
            if own_transaction:
                await self.abort()
            raise
        if own_transaction:
            await self.commit()
        return max(int(count or 0), 0)

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch_size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        params = check_params(params, "stream")
        check_batch_size(batch_size)
        with self._guard("stream"):
            async with self._deadline():
                cursor = await self.raw.cursor(_SSCursor)
                if params:
                    sql = _escape_identifier_percent(sql)
                await cursor.execute(sql, params or None)
        done = False
        try:
            names = [d[0] for d in cursor.description or ()]
            while names:
                with self._guard("stream"):
                    async with self._deadline():
                        rows = await cursor.fetchmany(batch_size)
                if rows:
                    yield [dict(zip(names, row, strict=False)) for row in rows]
                if len(rows) < batch_size:
                    break
            done = True
        finally:
            if done or self.in_transaction:
                # Inside a transaction the connection must stay usable: read the rest.
                with self._guard("stream"):
                    await cursor.close()
            else:
                # Unread rows would block the connection; dropping it is faster than draining.
                self.discard = True

    async def _begin(self) -> None:
        await self.raw.begin()

    async def _commit(self) -> None:
        await self.raw.commit()

    async def _rollback(self) -> None:
        await self.raw.rollback()


class MySQLResource(PooledSQLResource):
    """A MySQL or MariaDB database (see module docs).

    Args:
        host, port, database, user, password: where and who; the password is a ``SecretStr``.
        pool_min_size, pool_max_size, connect_timeout, acquire_timeout, command_timeout: the pool.
        options: ``charset`` (default ``utf8mb4``), ``sql_mode``, ``init_command``.
    """

    resource_type: ClassVar[str] = "mysql"
    url_schemes: ClassVar[tuple[str, ...]] = ("mysql", "mariadb", "mysql+aiomysql")
    dialect: ClassVar[SQLDialect] = MYSQL
    default_port: ClassVar[int | None] = 3306

    _pool: aiomysql.Pool | None = PrivateAttr(default=None)

    def _pool_kwargs(self) -> dict[str, Any]:
        unknown = set(self.options) - _OPTIONS
        if unknown:
            raise XResourceConfigurationError(
                f"unknown MySQL option(s) {', '.join(sorted(unknown))}; supported: "
                f"{', '.join(sorted(_OPTIONS))}",
                resource=self.display_name,
                operation="connect",
            )
        return {
            "host": self.host,
            "port": self.port or self.default_port,
            "user": self.user or "",
            "password": self.password.get_secret_value() if self.password else "",
            "db": self.database,
            "charset": self.options.get("charset", "utf8mb4"),
            "sql_mode": self.options.get("sql_mode"),
            "init_command": self.options.get("init_command"),
            "autocommit": True,
            "connect_timeout": self.connect_timeout,
            "minsize": self.pool_min_size,
            "maxsize": self.pool_max_size,
        }

    async def _open_pool(self) -> None:
        kwargs = self._pool_kwargs()
        async with asyncio.timeout(self.connect_timeout * 2):
            self._pool = await aiomysql.create_pool(**kwargs)

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.close()
        try:
            async with asyncio.timeout(5):
                await pool.wait_closed()
        except TimeoutError:
            pool.terminate()

    def _require_pool(self) -> aiomysql.Pool:
        return self._connected_pool(self._pool)

    async def _acquire_raw(self) -> aiomysql.Connection:
        async with asyncio.timeout(self.connect_timeout):
            return await self._require_pool().acquire()

    async def _release_raw(self, raw: aiomysql.Connection, *, discard: bool) -> None:
        if discard:
            raw.close()
        pool = self._pool
        if pool is None:
            raw.close()
            return
        # A connection left in a transaction is closed by the pool (which rolls it back).
        await pool.release(raw)

    def _new_executor(self, raw: Any) -> _MySQLExecutor:
        return _MySQLExecutor(self, raw)

    def _raw_pool_stats(self) -> tuple[int, int]:
        pool = self._require_pool()
        return pool.size, pool.freesize

    # -- errors ---------------------------------------------------------------------------------
    def _classify(self, exc: Exception, operation: str) -> Classified | None:
        if isinstance(exc, myerr.MySQLError):
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
            if code in _AUTH:
                return auth_error(text)
            if code == 1049:
                return not_found_error("database", self.database, text)
            if code == 1146:
                return not_found_error("table", missing_table_name(text), text)
            if code in _CONNECTION or isinstance(exc, myerr.InterfaceError):
                return XResourceConnectionError, (
                    f"lost or refused the connection to {self.address}: {text or 'closed'}; "
                    "check that the server is running and that host and port are right"
                )
            if code in _INTEGRITY or isinstance(exc, myerr.IntegrityError):
                return integrity_error(text)
            if code in _TIMEOUT:
                return XResourceTimeoutError, f"the server stopped the statement: {text}"
            if code in _BAD_NAME:
                return XResourceValidationError, (
                    f"{text} (error {code}): MariaDB/MySQL does not accept this name (a database, "
                    "table or column name may not end with a space); choose another name"
                )
            return XResourceQueryError, f"{text} (error {code})" if code else text
        return None

    # -- metadata -------------------------------------------------------------------------------
    async def list_collections_or_tables(self) -> list[str]:
        """Tables and views of the current database, sorted."""
        rows = await self.fetch_all(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() ORDER BY table_name"
        )
        return [row["name"] for row in rows]
