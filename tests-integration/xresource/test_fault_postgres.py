"""A PostgreSQL server that goes away: terminated connections, a crash mid-query, a cut COPY.

Each test runs its own PostgreSQL (:mod:`private_servers`), which it kills (SIGKILL of the
postmaster and its backends, as a power loss would) or whose connections it terminates
(``pg_terminate_backend``, as an administrator or a failover would), and restarts. What must hold:

- the error is the documented one, ``XResourceConnectionError`` (``XRepoConnectionError`` through a
  repository), never a driver exception such as asyncpg's ``InterfaceError``;
- it comes within a deadline: no wait of the library is unbounded, COPY included;
- nothing half-written survives, and the pool serves the next call once the server is back.

The cutting is done from a thread with its own event loop, so it happens at the moment it is
meant to even while the tested loop is busy encoding rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from private_servers import PrivatePostgres, pg_bindir
from pydantic import BaseModel

from xrepo import XRepoConnectionError, XRepoFactory
from xresource import PostgreSQLResource, ResourceFactory, XResourceConnectionError, XResourceError

pytestmark = pytest.mark.skipif(
    pg_bindir() is None, reason="PostgreSQL server binaries (initdb, postgres) are not installed"
)

APP = "xtest-victim"  # application_name of the connections under test
DEADLINE = 30.0  # seconds any single step may take before the test fails


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    instance = PrivatePostgres()
    try:
        instance.init()
        instance.start()
        yield instance
    finally:
        instance.destroy()


@pytest.fixture
async def running(server: PrivatePostgres) -> PrivatePostgres:
    """The server, started again if an earlier test left it down."""
    if server.process is None:
        await asyncio.to_thread(server.start)
    return server


@pytest.fixture
async def db(running: PrivatePostgres) -> AsyncIterator[PostgreSQLResource]:
    resource = ResourceFactory.from_url(
        f"{running.url}?application_name={APP}&pool_min_size=3&pool_max_size=3"
        "&connect_timeout=5&command_timeout=20"
    )
    assert isinstance(resource, PostgreSQLResource)
    await asyncio.wait_for(resource.connect(), DEADLINE)
    try:
        yield resource
    finally:
        with contextlib.suppress(XResourceError):
            await asyncio.wait_for(resource.disconnect(), DEADLINE)


async def _admin(server: PrivatePostgres) -> asyncpg.Connection:
    return await asyncio.wait_for(asyncpg.connect(server.url, timeout=5), DEADLINE)


async def _victims(admin: asyncpg.Connection) -> list[asyncpg.Record]:
    return await admin.fetch(
        "SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1", APP
    )


async def _until(predicate: Any, what: str) -> None:
    """Poll the async ``predicate`` every 20 ms until it is true; fail after ``DEADLINE``."""
    try:
        async with asyncio.timeout(DEADLINE):
            # Polling: the state lives in another process (pg_stat_activity), no event to await.
            while not await predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"{what} did not happen within {DEADLINE:g}s")


async def _terminate_all(server: PrivatePostgres) -> int:
    """``pg_terminate_backend`` on every connection under test; waits until they are gone."""
    admin = await _admin(server)
    try:
        victims = await _victims(admin)
        for row in victims:
            await admin.fetchval("SELECT pg_terminate_backend($1)", row["pid"])

        pids = {row["pid"] for row in victims}

        async def gone() -> bool:
            # By pid: the pool may already have opened replacements under the same name.
            return not pids & {row["pid"] for row in await _victims(admin)}

        await _until(gone, "the terminated backends' exit")
        return len(victims)
    finally:
        await admin.close(timeout=5)


def _cut_when_copying(url: str, mode: str, server: PrivatePostgres) -> str:
    """In a thread with its own loop: wait until a COPY under test runs, then cut it.

    ``mode`` is ``terminate`` (``pg_terminate_backend`` of that backend) or ``kill`` (the server
    dies). Returns what it saw, for the failure message.
    """

    async def cut() -> str:
        admin = await asyncpg.connect(url, timeout=5)
        try:
            async with asyncio.timeout(DEADLINE):
                while True:
                    rows = await admin.fetch(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
                        "AND state = 'active' AND query LIKE 'COPY %'",
                        APP,
                    )
                    if rows:
                        break
                    await asyncio.sleep(0.01)
            if mode == "terminate":
                await admin.fetchval("SELECT pg_terminate_backend($1)", rows[0]["pid"])
                return f"terminated backend {rows[0]['pid']}"
        finally:
            if not admin.is_closed():
                admin.terminate()
        server.kill()
        return "killed the server"

    return asyncio.run(cut())


# -- a pool whose connections the server terminated --------------------------------------------
async def test_pool_recovers_after_the_server_terminates_every_connection(
    db: PostgreSQLResource, running: PrivatePostgres
) -> None:
    # Three concurrent calls: all three pooled connections are open and idle afterwards.
    await asyncio.gather(*(db.fetch_value("SELECT pg_sleep(0.05)") for _ in range(3)))
    assert await _terminate_all(running) == 3

    # The very next call succeeds (the driver saw the connections close and replaces them)...
    assert await asyncio.wait_for(db.fetch_value("SELECT 41 + 1"), DEADLINE) == 42
    # ...and so do calls that need every pooled connection at once.
    values = await asyncio.wait_for(
        asyncio.gather(*(db.fetch_value("SELECT $1::int", [i]) for i in range(6))), DEADLINE
    )
    assert values == list(range(6))
    stats = db.get_pool_stats()
    assert stats.size <= 3
    assert stats.in_use == 0


async def test_terminated_connection_inside_a_transaction_is_a_connection_error(
    db: PostgreSQLResource, running: PrivatePostgres
) -> None:
    await db.execute("DROP TABLE IF EXISTS tx_cut")
    await db.execute("CREATE TABLE tx_cut (id int PRIMARY KEY)")

    async def cut_between_two_statements() -> None:
        async with asyncio.timeout(DEADLINE), db.transaction() as tx:
            await tx.execute("INSERT INTO tx_cut VALUES (1)")
            await _terminate_all(running)
            await tx.execute("INSERT INTO tx_cut VALUES (2)")

    with pytest.raises(XResourceConnectionError) as info:
        await cut_between_two_statements()
    assert "postgresql" in str(info.value)
    assert not isinstance(info.value.__cause__, asyncpg.InterfaceError)
    # The open transaction died with its connection: nothing of it was committed.
    assert await db.fetch_value("SELECT count(*) FROM tx_cut") == 0


# -- a query in flight when the server dies ------------------------------------------------------
async def test_query_in_flight_when_the_server_dies_is_a_connection_error(
    db: PostgreSQLResource, running: PrivatePostgres
) -> None:
    admin = await _admin(running)
    try:
        query = asyncio.create_task(db.fetch_value("SELECT pg_sleep(60)"))

        async def sleeping() -> bool:
            return any(row["state"] == "active" for row in await _victims(admin))

        await _until(sleeping, "the query's start")
    finally:
        await admin.close(timeout=5)
    await asyncio.to_thread(running.kill)

    with pytest.raises(XResourceConnectionError) as info:
        await asyncio.wait_for(query, DEADLINE)
    # The documented error, naming the resource and the operation; not asyncpg's
    # "cannot call Connection.terminate(): connection has been released back to the pool".
    assert info.value.operation == "fetch"
    assert "released back to the pool" not in str(info.value)

    # While the server is down: a connection error again, within connect_timeout.
    with pytest.raises(XResourceConnectionError):
        await asyncio.wait_for(db.fetch_value("SELECT 1"), DEADLINE)

    await asyncio.to_thread(running.start)
    # Back: the pool serves the next call and concurrent ones.
    assert await asyncio.wait_for(db.fetch_value("SELECT 1"), DEADLINE) == 1
    values = await asyncio.wait_for(
        asyncio.gather(*(db.fetch_value("SELECT $1::int", [i]) for i in range(5))), DEADLINE
    )
    assert values == list(range(5))


async def test_copy_records_cut_midway_raises_and_writes_nothing(
    db: PostgreSQLResource, running: PrivatePostgres
) -> None:
    await db.execute("DROP TABLE IF EXISTS copy_cut")
    await db.execute("CREATE TABLE copy_cut (id int PRIMARY KEY, name text NOT NULL)")
    rows = ((i, f"row {i} é " + "x" * 40) for i in range(2_000_000))
    cutter = asyncio.create_task(asyncio.to_thread(_cut_when_copying, running.url, "kill", running))
    with pytest.raises(XResourceConnectionError) as info:
        await asyncio.wait_for(db.copy_records("copy_cut", ["id", "name"], rows), DEADLINE)
    assert info.value.operation == "copy_records"
    await asyncio.wait_for(cutter, DEADLINE)
    await asyncio.to_thread(running.start)
    assert await asyncio.wait_for(db.fetch_value("SELECT count(*) FROM copy_cut"), DEADLINE) == 0


# -- bulk_create cut during COPY, several times ----------------------------------------------------
class Reading(BaseModel):
    id: int
    sensor: str
    value: float


@pytest.mark.parametrize("mode", ["terminate", "kill"])
async def test_bulk_create_cut_during_copy_raises_within_a_deadline(
    db: PostgreSQLResource, running: PrivatePostgres, mode: str
) -> None:
    await db.execute("DROP TABLE IF EXISTS readings")
    await db.execute(
        "CREATE TABLE readings (id int PRIMARY KEY, sensor text NOT NULL, value float8 NOT NULL)"
    )
    repo = await XRepoFactory.create(
        resource=db, model_class=Reading, collection="readings", name="readings"
    )
    batch = [{"id": i, "sensor": f"capteur-{i % 97} ☂", "value": i / 7} for i in range(300_000)]
    for attempt in range(5):
        cutter = asyncio.create_task(
            asyncio.to_thread(_cut_when_copying, running.url, mode, running)
        )
        with pytest.raises(XRepoConnectionError):
            await asyncio.wait_for(repo.bulk_create(batch), DEADLINE)
        seen = await asyncio.wait_for(cutter, DEADLINE)
        if mode == "kill":
            await asyncio.to_thread(running.start)
        count = await asyncio.wait_for(db.fetch_value("SELECT count(*) FROM readings"), DEADLINE)
        assert count == 0, f"attempt {attempt} ({seen}): {count} rows half-written"
    # The pool is healthy afterwards: a whole batch goes in.
    stored = await asyncio.wait_for(repo.bulk_create(batch[:1000]), DEADLINE)
    assert len(stored) == 1000
    assert await db.fetch_value("SELECT count(*) FROM readings") == 1000
