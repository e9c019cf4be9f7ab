"""The ambient transaction a write and its audit entry share (no database needed)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from xrepo.secure import ambient


class FakeSQLResource:
    """Stands for a SQL resource's transaction API: records what the block saw."""

    dialect = "sql"

    def __init__(self) -> None:
        self.committed: list[str] = []

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[str]:
        yield "tx-1"
        self.committed.append("tx-1")


class Repo:
    ambient_transactions: ClassVar[bool] = True

    def __init__(self, resource: Any) -> None:
        self.resource = resource


class PlainRepo:
    resource = FakeSQLResource()


class Sink:
    def __init__(self, resource: Any) -> None:
        self.resource = resource


class Logger:
    def __init__(self, sink: Any) -> None:
        self.sink = sink


async def test_transaction_is_ambient_only_inside_the_block() -> None:
    resource = FakeSQLResource()
    factory = await ambient.transaction_for(Repo(resource), Logger(Sink(resource)))
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
    factory = await ambient.transaction_for(Repo(resource), Logger(Sink(FakeSQLResource())))
    assert factory is not None
    async with factory() as (_, options):
        assert options == {}


async def test_repositories_that_cannot_join_get_none() -> None:
    assert await ambient.transaction_for(PlainRepo(), Logger(Sink(None))) is None
    assert await ambient.transaction_for(Repo(None), Logger(Sink(None))) is None

    class Standalone(Repo):
        async def supports_transactions(self) -> bool:
            return False

    assert await ambient.transaction_for(Standalone(FakeSQLResource()), Logger(None)) is None
