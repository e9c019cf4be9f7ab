"""PostgreSQL's handling of a lost connection, in the parts that need no server.

The integration suite ``tests-integration/xresource/test_fault_postgres.py`` kills a private
server; these check the pieces it relies on: a COPY stops producing rows once the socket has
failed, and the driver's "released back to the pool" / "connection is closed" errors are connection
errors.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip(
    "asyncpg", reason="asyncpg is not installed (pip install 'xresource[postgres]')"
)

from asyncpg import exceptions as pgx

from xresource import PostgreSQLResource, XResourceConnectionError, XResourceQueryError
from xresource.databases.postgres import (
    _LOST_CHECK_EVERY,
    _ConnectionLost,
    _detached,
    _until_lost,
)


class _Transport:
    def __init__(self) -> None:
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing


class _Connection:
    def __init__(self) -> None:
        self._transport = _Transport()


class _Proxy:
    """Shaped as asyncpg's pool proxy: ``_con`` is the connection, ``None`` once detached."""

    def __init__(self, con: _Connection | None) -> None:
        self._con = con


def test_copy_rows_stop_soon_after_the_socket_fails() -> None:
    proxy = _Proxy(_Connection())
    produced = 0

    def rows() -> Any:
        nonlocal produced
        for i in range(1_000_000):
            produced += 1
            if i == 1000:
                assert proxy._con is not None
                proxy._con._transport.closing = True  # a send failed: the transport closed
            yield (i,)

    with pytest.raises(_ConnectionLost):
        for _ in _until_lost(proxy, rows()):
            pass
    # Stopped at the next check, not after the remaining 999,000 rows.
    assert produced <= 1001 + _LOST_CHECK_EVERY


def test_copy_rows_pass_through_unchanged_while_the_connection_lives() -> None:
    rows = [(i, f"r{i} ☂") for i in range(3 * _LOST_CHECK_EVERY + 7)]
    assert list(_until_lost(_Proxy(_Connection()), iter(rows))) == rows


def test_without_a_known_transport_rows_pass_through() -> None:
    rows = [(1,), (2,)]
    assert list(_until_lost(object(), rows)) == rows


def test_a_detached_proxy_is_recognised() -> None:
    assert _detached(_Proxy(None))
    assert not _detached(_Proxy(_Connection()))
    assert not _detached(object())


@pytest.mark.parametrize(
    "text",
    [
        "cannot call Connection.terminate(): connection has been released back to the pool",
        "cannot call Connection.execute(): connection has been released back to the pool",
        "connection is closed",
    ],
)
def test_driver_errors_of_a_closed_connection_are_connection_errors(text: str) -> None:
    db = PostgreSQLResource(host="127.0.0.1", port=5999, database="db")
    classified = db._classify(pgx.InterfaceError(text), "fetch")
    assert classified is not None
    cls, message = classified
    assert cls is XResourceConnectionError
    assert "127.0.0.1:5999" in message
    # Other interface errors stay query errors.
    other = db._classify(pgx.InterfaceError("the server expects 2 arguments"), "fetch")
    assert other is not None
    assert other[0] is XResourceQueryError


def test_a_connection_whose_protocol_state_broke_is_a_connection_error() -> None:
    """Seen in CI: the server terminated the backend between two statements of a transaction and
    the next call met asyncpg's "cannot switch to state" (it was a query error, and the broken
    connection could go back to the pool)."""
    db = PostgreSQLResource(host="127.0.0.1", port=5999, database="db")
    text = "cannot switch to state 15; another operation (2) is in progress"
    classified = db._classify(pgx.InternalClientError(text), "execute")
    assert classified is not None
    cls, message = classified
    assert cls is XResourceConnectionError
    assert "no longer usable" in message
    assert "run the call again" in message
