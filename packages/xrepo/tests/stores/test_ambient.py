"""The ambient transaction a write and its audit entry share (no database needed)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from xrepo.stores import _ambient as ambient


class FakeSQLResource:
    """Stands for a SQL resource's transaction API: records what the block saw."""

    dialect = "sql"

    def __init__(self) -> None:
        self.committed: list[str] = []

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[str]:
        yield "tx-1"
        self.committed.append("tx-1")


class Store:
    """A store on ``resource`` that runs transactions (as SQLStore does)."""

    def __init__(self, resource: Any) -> None:
        self.resource = resource

    async def supports_transactions(self) -> bool:
        return True

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return ambient.open_transaction(self.resource)


class MemoryLike:
    """A store without transactions (as MemoryStore and FileStore)."""

    resource = FakeSQLResource()

    async def supports_transactions(self) -> bool:
        return False


class Sink:
    def __init__(self, resource: Any) -> None:
        self.resource = resource


class Logger:
    def __init__(self, sink: Any) -> None:
        self.sink = sink


async def test_transaction_is_ambient_only_inside_the_block() -> None:
    resource = FakeSQLResource()
    factory = await ambient.transaction_for(Store(resource), Logger(Sink(resource)))
    assert factory is not None
    assert not ambient.active()
    async with factory() as (tx, options):
        assert tx == "tx-1"
        assert ambient.active()
        assert ambient.current(resource) == "tx-1"
        assert ambient.current(FakeSQLResource()) is None  # another resource: its own
        assert options == {"executor": "tx-1"}  # the sink shares the database
    assert not ambient.active()
    assert resource.committed == ["tx-1"]


async def test_sink_elsewhere_joins_nothing() -> None:
    resource = FakeSQLResource()
    factory = await ambient.transaction_for(Store(resource), Logger(Sink(FakeSQLResource())))
    assert factory is not None
    async with factory() as (_, options):
        assert options == {}


async def test_stores_without_transactions_get_none() -> None:
    assert await ambient.transaction_for(MemoryLike(), Logger(Sink(None))) is None

    class Standalone(Store):  # a standalone MongoDB server
        async def supports_transactions(self) -> bool:
            return False

    assert await ambient.transaction_for(Standalone(FakeSQLResource()), Logger(None)) is None
