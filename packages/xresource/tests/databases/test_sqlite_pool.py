"""SQLiteResource: transactions, the connection pool, concurrency, errors and bad paths."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from xresource import (
    SQLiteResource,
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourcePoolExhaustedError,
    XResourceQueryError,
    XResourceTimeoutError,
)


@pytest.fixture
async def db(tmp_path: Path):
    async with SQLiteResource(name="pool", path=str(tmp_path / "pool.db")) as resource:
        await resource.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
        await resource.execute_many("INSERT INTO acct (id, v) VALUES (?, ?)", [(1, 100), (2, 0)])
        yield resource


async def test_transaction_commits_at_the_end_of_the_block(db: SQLiteResource) -> None:
    async with db.transaction() as tx:
        assert await tx.execute("UPDATE acct SET v = v - 30 WHERE id = ?", [1]) == 1
        assert await tx.execute("UPDATE acct SET v = v + 30 WHERE id = ?", [2]) == 1
        assert await tx.fetch_value("SELECT v FROM acct WHERE id = 2") == 30
        assert [b async for b in tx.stream("SELECT id FROM acct ORDER BY id")] == [
            [{"id": 1}, {"id": 2}]
        ]
    rows = await db.fetch_all("SELECT id, v FROM acct ORDER BY id")
    assert rows == [{"id": 1, "v": 70}, {"id": 2, "v": 30}]


async def test_transaction_rolls_back_on_error(db: SQLiteResource) -> None:
    async def fail_half_way() -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE acct SET v = 0 WHERE id = 1")
            await tx.execute_many("INSERT INTO acct (id, v) VALUES (?, ?)", [(3, 1), (4, 1)])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_half_way()
    assert await db.fetch_value("SELECT v FROM acct WHERE id = 1") == 100
    assert await db.fetch_value("SELECT count(*) FROM acct") == 2
    assert db.get_pool_stats().in_use == 0


async def test_failed_statement_rolls_back_the_whole_transaction(db: SQLiteResource) -> None:
    async def transfer() -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE acct SET v = 1 WHERE id = 1")
            await tx.execute("INSERT INTO acct (id, v) VALUES (2, 5)")  # duplicate key

    with pytest.raises(XResourceIntegrityError):
        await transfer()
    assert await db.fetch_value("SELECT v FROM acct WHERE id = 1") == 100


async def test_cancelled_transaction_rolls_back(db: SQLiteResource) -> None:
    started = asyncio.Event()

    async def slow() -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE acct SET v = -1")
            started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.fetch_value("SELECT min(v) FROM acct") == 0
    assert db.get_pool_stats().in_use == 0


async def test_executor_cannot_be_used_after_its_block(db: SQLiteResource) -> None:
    async with db.transaction() as tx:
        pass
    with pytest.raises(XResourceError, match="already returned to the pool"):
        await tx.fetch_all("SELECT 1")


async def test_readers_are_not_blocked_by_a_writer_in_wal_mode(db: SQLiteResource) -> None:
    async with db.transaction() as tx:
        await tx.execute("UPDATE acct SET v = 999 WHERE id = 1")
        # Another pooled connection reads the last committed state meanwhile.
        assert await db.fetch_value("SELECT v FROM acct WHERE id = 1") == 100
    assert await db.fetch_value("SELECT v FROM acct WHERE id = 1") == 999


async def test_second_writer_waits_busy_timeout_then_times_out(tmp_path: Path) -> None:
    async with SQLiteResource(path=str(tmp_path / "busy.db"), busy_timeout=0.2) as db:
        await db.execute("CREATE TABLE t (v INTEGER)")
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(XResourceTimeoutError, match="busy_timeout"):
                await db.execute("INSERT INTO t VALUES (2)")
        assert await db.fetch_all("SELECT v FROM t") == [{"v": 1}]


async def test_writers_queue_and_all_commit(db: SQLiteResource) -> None:
    async def move(i: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE acct SET v = v - 1 WHERE id = 1")
            await asyncio.sleep(0)
            await tx.execute("UPDATE acct SET v = v + 1 WHERE id = 2")
            await tx.execute("INSERT INTO acct (id, v) VALUES (?, 0)", [100 + i])

    await asyncio.gather(*(move(i) for i in range(40)))
    rows = await db.fetch_all("SELECT v FROM acct WHERE id IN (1, 2) ORDER BY id")
    assert rows == [{"v": 60}, {"v": 40}]
    assert await db.fetch_value("SELECT count(*) FROM acct") == 42


async def test_concurrent_calls_never_exceed_the_pool(db: SQLiteResource) -> None:
    seen: list[int] = []

    async def read(i: int) -> int:
        seen.append(db.get_pool_stats().in_use)
        value = await db.fetch_value("SELECT ? + v FROM acct WHERE id = 2", [i])
        assert isinstance(value, int)
        return value

    results = await asyncio.gather(*(read(i) for i in range(100)))
    assert results == list(range(100))
    stats = db.get_pool_stats()
    assert stats.size <= db.pool_max_size
    assert stats.in_use == 0
    assert stats.idle == stats.size
    assert max(seen) <= db.pool_max_size


async def test_pool_stats_follow_leases(tmp_path: Path) -> None:
    db = SQLiteResource(path=str(tmp_path / "stats.db"), pool_max_size=2, acquire_timeout=1.0)
    before = db.get_pool_stats()
    assert (before.size, before.in_use, before.idle, before.max_size) == (0, 0, 0, 2)
    async with db:
        assert db.get_pool_stats().size == 1
        async with db.transaction(), db.lease():
            stats = db.get_pool_stats()
            assert (stats.size, stats.in_use, stats.idle) == (2, 2, 0)
            waiter = asyncio.create_task(db.fetch_value("SELECT 1"))
            await asyncio.sleep(0.05)
            assert db.get_pool_stats().waiting == 1
            with pytest.raises(XResourcePoolExhaustedError, match=r"acquire_timeout=1s"):
                await waiter
        stats = db.get_pool_stats()
        assert (stats.size, stats.in_use, stats.idle, stats.waiting) == (2, 0, 2, 0)


async def test_memory_database_serialises_callers_on_one_connection() -> None:
    async with SQLiteResource() as db:
        await db.execute("CREATE TABLE t (v INTEGER)")
        await asyncio.gather(*(db.execute("INSERT INTO t VALUES (?)", [i]) for i in range(50)))
        assert await db.fetch_value("SELECT count(*) FROM t") == 50
        db.acquire_timeout = 0.2
        async with db.transaction():
            with pytest.raises(XResourcePoolExhaustedError):
                await db.fetch_value("SELECT 1")


async def test_missing_table_names_it(db: SQLiteResource) -> None:
    with pytest.raises(XResourceNotFoundError, match="'no_such_table'") as info:
        await db.fetch_all("SELECT * FROM no_such_table")
    assert info.value.resource == "sqlite 'pool'"
    assert info.value.operation == "fetch"


async def test_other_sql_errors_are_query_errors(db: SQLiteResource) -> None:
    with pytest.raises(XResourceQueryError, match="syntax error"):
        await db.execute("SELEKT 1")
    with pytest.raises(XResourceQueryError, match="no such column"):
        await db.fetch_all("SELECT nope FROM acct")
    with pytest.raises(XResourceQueryError, match="bindings"):
        await db.fetch_all("SELECT ? + ?", [1])
    # The connection is still usable afterwards.
    assert await db.fetch_value("SELECT count(*) FROM acct") == 2


async def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "x.db"
    db = SQLiteResource(path=str(path))
    with pytest.raises(XResourceNotFoundError, match="does not exist; create it first") as info:
        await db.connect()
    assert str(path.parent) in str(info.value)
    assert not db.is_connected
    assert await db.validate_connection() is False


async def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("this is not an SQLite file, just some text " * 100)
    db = SQLiteResource(path=str(path))
    try:
        with pytest.raises(XResourceConnectionError, match="not an SQLite database"):
            await db.fetch_all("SELECT * FROM sqlite_master")
    finally:
        await db.disconnect()


async def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    db = SQLiteResource(path=str(tmp_path))
    with pytest.raises(XResourceConnectionError, match="cannot open database file"):
        await db.connect()


async def test_validate_connection(db: SQLiteResource) -> None:
    assert await db.validate_connection() is True
    await db.disconnect()
    # A ping reconnects lazily.
    assert await db.validate_connection() is True


async def test_command_timeout_interrupts_a_runaway_statement(tmp_path: Path) -> None:
    forever = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    for path in (":memory:", str(tmp_path / "slow.db")):
        async with SQLiteResource(path=path, command_timeout=0.3) as db:
            with pytest.raises(XResourceTimeoutError, match="command_timeout") as info:
                await db.fetch_value(forever)
            assert info.value.operation == "fetch"
            with pytest.raises(XResourceTimeoutError):
                async for _ in db.stream(forever):
                    pass
            # The connection was interrupted, not left busy: the next call answers at once.
            assert await db.fetch_value("SELECT 42") == 42
