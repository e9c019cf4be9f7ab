"""DuckDBResource: round trips, types, streaming, transactions, pool, timeouts, errors, URLs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import multiprocessing
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from xresource import (
    DUCKDB,
    DuckDBResource,
    ResourceFactory,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourcePoolExhaustedError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)

CREATE = (
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, price DOUBLE, "
    "amount DECIMAL(38, 10), ts TIMESTAMPTZ, day DATE, data BLOB, note VARCHAR)"
)


@pytest.fixture
async def db(tmp_path: Path):
    async with DuckDBResource(name="unit", path=str(tmp_path / "unit.duckdb")) as resource:
        await resource.execute(CREATE)
        yield resource


async def test_round_trip_keeps_types_and_unicode(db: DuckDBResource) -> None:
    at = dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC)
    inserted = await db.execute(
        "INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            1,
            "Antônio Carlos Jobim ☕ 𝄞",
            1e-300,
            Decimal("-12345678901234567890.0123456789"),
            at,
            dt.date(1, 1, 1),
            b"\x00\xff",
            None,
        ],
    )
    assert inserted == 1
    row = await db.fetch_one("SELECT * FROM items WHERE id = $1", [1])
    assert row is not None
    assert row["name"] == "Antônio Carlos Jobim ☕ 𝄞"
    assert row["price"] == 1e-300
    assert row["amount"] == Decimal("-12345678901234567890.0123456789")
    assert row["ts"] == at
    assert row["day"] == dt.date(1, 1, 1)
    assert row["data"] == b"\x00\xff"
    assert row["note"] is None
    assert await db.fetch_one("SELECT name FROM items WHERE id = $1", [2]) is None
    assert await db.fetch_value("SELECT count(*) FROM items") == 1
    assert await db.execute("UPDATE items SET price = price * 2 WHERE id >= $1", [0]) == 1
    assert await db.execute("DELETE FROM items WHERE id = $1", [42]) == 0
    # A statement without rows: nothing to fetch, nothing affected.
    assert await db.fetch_all("CREATE TABLE other (a INTEGER)") == []
    assert await db.execute("CREATE VIEW v AS SELECT 1 AS one") == 0


async def test_qmark_placeholders_work_too(db: DuckDBResource) -> None:
    assert await db.fetch_value("SELECT ? + ?", [2, 3]) == 5
    assert DUCKDB.param(2) == "$2"
    assert DUCKDB.quote('we"ird name') == '"we""ird name"'


async def test_special_floats_uuids_lists_and_structs(db: DuckDBResource) -> None:
    row = await db.fetch_one(
        "SELECT $1::DOUBLE AS inf, $2::DOUBLE AS nan, $3::UUID AS u, [1, 2, NULL] AS l, "
        "{'a': 'x', 'b': NULL} AS s, ''::VARCHAR AS empty",
        [math.inf, math.nan, UUID("12345678-1234-5678-1234-567812345678")],
    )
    assert row is not None
    assert row["inf"] == math.inf
    assert math.isnan(row["nan"])
    assert row["u"] == UUID("12345678-1234-5678-1234-567812345678")
    assert row["l"] == [1, 2, None]
    assert row["s"] == {"a": "x", "b": None}
    assert row["empty"] == ""


async def test_stream_batches_and_early_stop(db: DuckDBResource) -> None:
    batches = [b async for b in db.stream("SELECT i FROM range(2500) t(i)", batch_size=1000)]
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert [r["i"] for b in batches for r in b] == list(range(2500))
    stream = db.stream("SELECT i FROM range(1000000) t(i)", batch_size=10)
    async with contextlib.aclosing(stream) as batches_iter:
        async for batch in batches_iter:
            assert batch[0]["i"] == 0
            break
    # The stream's cursor is free again, and closed: its query was left open on it.
    stats = db.get_pool_stats()
    assert (stats.in_use, stats.size) == (0, 0)
    assert await db.fetch_value("SELECT 1") == 1
    assert [b async for b in db.stream("CREATE TABLE s (a INTEGER)")] == []
    with pytest.raises(XResourceValidationError, match="batch_size"):
        async for _ in db.stream("SELECT 1", batch_size=0):
            pass


async def test_execute_many_and_copy_records_are_atomic(db: DuckDBResource) -> None:
    sql = "INSERT INTO items (id, name) VALUES ($1, $2)"
    assert await db.execute_many(sql, [[1, "a"], [2, "b"]]) == 2
    assert await db.execute_many(sql, []) == 0
    with pytest.raises(XResourceIntegrityError):
        await db.execute_many(sql, [[3, "c"], [4, "a"]])  # "a" is taken: nothing is written
    assert await db.fetch_value("SELECT count(*) FROM items") == 2
    assert await db.copy_records("items", ["id", "name"], [(5, "e"), (6, "f")]) == 2

    def failing():
        yield (7, "g")
        raise ValueError("the caller's own generator failed")

    with pytest.raises(ValueError, match="own generator"):
        await db.copy_records("items", ["id", "name"], failing())
    assert await db.fetch_value("SELECT count(*) FROM items") == 4


async def test_transaction_commits_or_rolls_back(db: DuckDBResource) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "a"])
        assert await tx.fetch_value("SELECT count(*) FROM items") == 1

    async def delete_then_fail() -> None:
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM items")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        await delete_then_fail()
    assert await db.fetch_value("SELECT count(*) FROM items") == 1

    async def second_insert_fails() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [2, "b"])
            await tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [3, "b"])

    with pytest.raises(XResourceIntegrityError):
        await second_insert_fails()
    assert await db.fetch_value("SELECT count(*) FROM items") == 1
    leaked = None
    async with db.transaction() as tx:
        leaked = tx
    with pytest.raises(XResourceError, match="already returned"):
        await leaked.execute("SELECT 1")


async def test_concurrent_transactions_that_conflict() -> None:
    async with DuckDBResource(pool_max_size=2) as db:
        await db.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, v INTEGER)")
        await db.execute("INSERT INTO acct VALUES (1, 0)")
        first_updated = asyncio.Event()
        second_done = asyncio.Event()

        async def first() -> None:
            async with db.transaction() as tx:
                await tx.execute("UPDATE acct SET v = v + 1 WHERE id = 1")
                first_updated.set()
                await second_done.wait()

        async def second() -> None:
            await first_updated.wait()
            try:
                async with db.transaction() as tx:
                    await tx.execute("UPDATE acct SET v = v + 10 WHERE id = 1")
            finally:
                second_done.set()

        results = await asyncio.gather(first(), second(), return_exceptions=True)
        assert results[0] is None
        assert isinstance(results[1], XResourceQueryError)
        assert "run the transaction again" in str(results[1])
        assert await db.fetch_value("SELECT v FROM acct") == 1


async def test_memory_database_is_shared_by_every_cursor() -> None:
    async with DuckDBResource(pool_max_size=3) as db:
        await db.execute("CREATE TABLE t AS SELECT 42 AS n")

        async def read() -> int:
            async with db.transaction() as tx:
                await asyncio.sleep(0.01)  # hold the cursor so that each read takes its own
                return int(await tx.fetch_value("SELECT n FROM t"))

        assert await asyncio.gather(*(read() for _ in range(3))) == [42, 42, 42]
        stats = db.get_pool_stats()
        assert (stats.size, stats.in_use, stats.max_size) == (3, 0, 3)


async def test_pool_exhaustion_names_the_limit() -> None:
    async with DuckDBResource(pool_max_size=1, acquire_timeout=0.05) as db:
        async with db.transaction():
            with pytest.raises(XResourcePoolExhaustedError, match="pool_max_size"):
                await db.fetch_value("SELECT 1")
        assert await db.fetch_value("SELECT 1") == 1


async def test_command_timeout_interrupts_and_frees_the_cursor() -> None:
    async with DuckDBResource(command_timeout=0.2, pool_max_size=1) as db:
        with pytest.raises(XResourceTimeoutError, match="command_timeout"):
            await db.fetch_value("SELECT count(*) FROM range(100000000000) a(i), range(10) b(j)")
        assert await db.fetch_value("SELECT 7") == 7


async def test_cancellation_interrupts_the_query() -> None:
    async with DuckDBResource(command_timeout=None, pool_max_size=1) as db:
        task = asyncio.ensure_future(
            db.fetch_value("SELECT count(*) FROM range(100000000000) a(i), range(10) b(j)")
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await db.fetch_value("SELECT 8") == 8


async def test_errors_are_translated_and_hide_record_values(db: DuckDBResource) -> None:
    await db.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "tok-secret-1"])
    with pytest.raises(XResourceIntegrityError) as dup:
        await db.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [2, "tok-secret-1"])
    assert "tok-secret-1" not in str(dup.value)
    assert dup.value.__cause__ is None
    assert dup.value.__context__ is None
    with pytest.raises(XResourceValidationError) as conv:
        await db.fetch_value("SELECT CAST($1 AS INTEGER)", ["tok-secret-2"])
    assert "tok-secret-2" not in str(conv.value)
    with pytest.raises(XResourceValidationError) as literal:
        await db.fetch_value("SELECT CAST('tok-secret-3' AS INTEGER)")
    assert "tok-secret-3" not in str(literal.value)  # the statement echo is dropped
    with pytest.raises(XResourceNotFoundError, match="nope"):
        await db.fetch_all("SELECT * FROM nope")
    with pytest.raises(XResourceQueryError, match="syntax error"):
        await db.execute("SELEC 1")
    with pytest.raises(XResourceValidationError, match="list or tuple"):
        await db.fetch_all("SELECT $1", "abc")  # type: ignore[arg-type]


def _hold_lock(path: str, ready: multiprocessing.synchronize.Event, stop) -> None:  # type: ignore[name-defined]
    import duckdb

    con = duckdb.connect(path)
    ready.set()
    stop.wait(30)
    con.close()


async def test_file_locked_by_another_process_and_read_only(tmp_path: Path) -> None:
    path = str(tmp_path / "locked.duckdb")
    async with DuckDBResource(path=path) as db:
        await db.execute("CREATE TABLE t AS SELECT 1 AS a")
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(path, ready, stop))
    holder.start()
    try:
        assert await asyncio.to_thread(ready.wait, 30)
        with pytest.raises(XResourceConnectionError, match="locked by another process"):
            await DuckDBResource(path=path).connect()
    finally:
        stop.set()
        await asyncio.to_thread(holder.join, 30)
    async with DuckDBResource(path=path, read_only=True) as ro:
        assert await ro.fetch_value("SELECT a FROM t") == 1
        with pytest.raises(XResourceQueryError, match="read-only"):
            await ro.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(XResourceNotFoundError, match="does not exist"):
        await DuckDBResource(path=str(tmp_path / "missing.duckdb"), read_only=True).connect()
    with pytest.raises(XResourceNotFoundError, match="directory"):
        await DuckDBResource(path=str(tmp_path / "no" / "such" / "x.duckdb")).connect()


async def test_bad_settings_and_parameters() -> None:
    with pytest.raises(XResourceError, match=r"nope_setting"):
        await DuckDBResource(options={"nope_setting": "1"}).connect()
    with pytest.raises(ValueError, match="read_only"):
        DuckDBResource(read_only=True)
    with pytest.raises(ValueError, match="NUL"):
        DuckDBResource(path="a\x00b")
    with pytest.raises(ValueError, match="path"):
        DuckDBResource(path="   ")


async def test_not_a_duckdb_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(XResourceConnectionError, match=r"junk\.duckdb"):
        await DuckDBResource(path=str(junk)).connect()


def test_urls(tmp_path: Path) -> None:
    memory = ResourceFactory.from_url("duckdb:///:memory:")
    assert isinstance(memory, DuckDBResource)
    assert memory.is_memory
    assert ResourceFactory.from_url("duckdb://").is_memory  # type: ignore[attr-defined]
    rel = ResourceFactory.from_url("duckdb:///data/x.duckdb?threads=2&read_only=true")
    assert isinstance(rel, DuckDBResource)
    assert (rel.path, rel.read_only, rel.options) == ("data/x.duckdb", True, {"threads": "2"})
    absolute = ResourceFactory.from_url(f"duckdb:///{tmp_path}/x.duckdb?pool_size=2")
    assert isinstance(absolute, DuckDBResource)
    assert (absolute.path, absolute.pool_max_size) == (f"{tmp_path}/x.duckdb", 2)
    by_suffix = ResourceFactory.from_url(f"{tmp_path}/y.duckdb")
    assert isinstance(by_suffix, DuckDBResource)
    assert by_suffix.path == f"{tmp_path}/y.duckdb"
    with pytest.raises(XResourceConfigurationError, match="not a host"):
        ResourceFactory.from_url("duckdb://server/x.duckdb")
    assert ResourceFactory.create("duckdb").resource_type == "duckdb"


async def test_metadata_and_tables(db: DuckDBResource) -> None:
    await db.execute('CREATE VIEW "a view ☕" AS SELECT 1 AS one')
    assert await db.list_collections_or_tables() == ["a view ☕", "items"]
    meta = db.get_metadata()
    assert meta["path"].endswith("unit.duckdb")
    assert "host" not in meta
    assert "password" not in meta
    assert await db.validate_connection() is True
    assert await DuckDBResource(path="/nonexistent-dir/x.duckdb").validate_connection() is False


@pytest.mark.usefixtures("isolated_factory")
def test_without_the_extra_every_entry_point_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import xresource.databases
    import xresource.files
    from xobj_prototype import MissingExtraError

    monkeypatch.setitem(sys.modules, "duckdb", None)  # what an install without the extra sees
    for module in ("xresource.databases.duckdb", "xresource.files.parquet"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setitem(
        ResourceFactory._registry, "duckdb", "xresource.databases.duckdb:DuckDBResource"
    )
    monkeypatch.setitem(
        ResourceFactory._registry, "parquet", "xresource.files.parquet:ParquetResource"
    )
    with pytest.raises(XResourceConfigurationError, match=r"xresource\[duckdb\]"):
        ResourceFactory.from_url("duckdb:///:memory:")
    with pytest.raises(XResourceConfigurationError, match=r"xresource\[duckdb\]"):
        ResourceFactory.from_url("/data/events.parquet")
    # The faces cache a loaded name in their namespace: forget it (restored afterwards).
    monkeypatch.delitem(vars(xresource.databases), "DuckDBResource", raising=False)
    monkeypatch.delitem(vars(xresource.files), "ParquetResource", raising=False)
    with pytest.raises(MissingExtraError, match=r"xresource\[duckdb\]"):
        _ = xresource.databases.DuckDBResource
    with pytest.raises(MissingExtraError, match=r"xresource\[duckdb\]"):
        _ = xresource.files.ParquetResource


async def test_connections_draw_no_progress_bar(tmp_path: Path) -> None:
    # DuckDB draws its progress bar on stdout during long queries, even into a pipe, which
    # corrupted a child process's report of its figures: every connection turns it off.
    async with DuckDBResource(name="quiet", path=str(tmp_path / "q.duckdb")) as resource:
        setting = "SELECT current_setting('enable_progress_bar') AS on"
        assert await resource.fetch_value(setting) is False
    async with DuckDBResource(name="loud", options={"enable_progress_bar": "true"}) as resource:
        assert await resource.fetch_value(setting) is True  # the caller's option still wins
    csv = tmp_path / "a.csv"
    csv.write_text("a\n1\n", encoding="utf-8")
    async with ResourceFactory.from_url(str(csv)).engine() as engine:  # type: ignore[attr-defined]
        assert await engine.fetch_value(setting) is False
