"""DuckDBResource on real data, with PostgreSQL as the oracle.

Chinook (the PostgreSQL script; DuckDB cannot add foreign keys with ALTER TABLE, so those
statements are left out) is loaded into a DuckDB file and into PostgreSQL: the same queries give
the same answers. Then what a busy application does to it: many concurrent callers on a small
pool, streams of 50,000 rows, hostile identifiers and values, hostile numbers and datetimes that
PostgreSQL stores too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from chinook import CHINOOK_TABLES, load_chinook, split_statements

from xresource import (
    DuckDBResource,
    PostgreSQLResource,
    ResourceFactory,
    XResourceValidationError,
)

QUERIES = [
    "SELECT genre_id, count(*) AS n, sum(unit_price) AS total, min(name) AS first "
    "FROM track GROUP BY genre_id ORDER BY genre_id",
    "SELECT c.country, count(DISTINCT c.customer_id) AS customers, sum(i.total) AS revenue "
    "FROM customer c JOIN invoice i ON i.customer_id = c.customer_id "
    "GROUP BY c.country ORDER BY revenue DESC, c.country",
    "SELECT a.title, count(t.track_id) AS tracks FROM album a "
    "LEFT JOIN track t ON t.album_id = a.album_id GROUP BY a.title "
    "HAVING count(t.track_id) > 20 ORDER BY a.title",
    "SELECT billing_city, max(invoice_date) AS last FROM invoice "
    "WHERE billing_city LIKE $1 GROUP BY billing_city ORDER BY billing_city",
]


async def _load_duckdb(db: DuckDBResource, datasets: Path) -> None:
    script = (datasets / "chinook" / "Chinook_PostgreSql.sql").read_text(encoding="utf-8")
    statements = [
        s
        for s in split_statements(script)
        if not (s.upper().startswith("ALTER TABLE") and "FOREIGN KEY" in s.upper())
    ]
    async with db.transaction() as tx:
        for statement in statements:
            await tx.execute(statement)


async def test_chinook_answers_as_postgresql_does(
    datasets: Path, postgres_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "chinook.duckdb"
    async with DuckDBResource(path=str(path)) as duck:
        await _load_duckdb(duck, datasets)
    pg = ResourceFactory.from_url(postgres_url)
    assert isinstance(pg, PostgreSQLResource)
    async with pg, await load_chinook(pg, "postgresql") as chinook:
        expected = [await chinook.fetch_all(q, ["S%"] if "$1" in q else []) for q in QUERIES]
    async with DuckDBResource(path=str(path), read_only=True) as duck:
        counts = {
            t: await duck.fetch_value(f'SELECT count(*) FROM "{t}"')
            for t in CHINOOK_TABLES["postgresql"]
        }
        got = [await duck.fetch_all(q, ["S%"] if "$1" in q else []) for q in QUERIES]
    assert counts == CHINOOK_TABLES["postgresql"]
    for query, want, have in zip(QUERIES, expected, got, strict=True):
        assert have == want, query


async def test_many_concurrent_callers_share_a_small_pool(tmp_path: Path) -> None:
    async with DuckDBResource(path=str(tmp_path / "busy.duckdb"), pool_max_size=3) as db:
        await db.execute("CREATE TABLE hits (worker INTEGER, n INTEGER)")

        async def worker(i: int) -> int:
            await db.execute("INSERT INTO hits VALUES ($1, $2)", [i, i * i])
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO hits VALUES ($1, $2)", [i, -1])
                return int(await tx.fetch_value("SELECT count(*) FROM hits WHERE worker = $1", [i]))

        seen = await asyncio.gather(*(worker(i) for i in range(60)))
        assert seen == [2] * 60
        assert await db.fetch_value("SELECT count(*) FROM hits") == 120
        stats = db.get_pool_stats()
        assert stats.size <= 3
        assert stats.in_use == 0


async def test_stream_50k_rows_while_others_query(tmp_path: Path) -> None:
    async with DuckDBResource(path=str(tmp_path / "s.duckdb"), pool_max_size=2) as db:
        await db.execute("CREATE TABLE big AS SELECT i, 'row ' || i AS s FROM range(50000) t(i)")
        total = 0
        batches = 0
        async for batch in db.stream("SELECT i, s FROM big ORDER BY i", batch_size=5000):
            assert batch[0]["i"] == total
            assert batch[-1]["s"] == f"row {total + len(batch) - 1}"
            total += len(batch)
            batches += 1
            # The stream holds one cursor; the other serves calls meanwhile.
            assert await db.fetch_value("SELECT count(*) FROM big WHERE i < $1", [10]) == 10
        assert (total, batches) == (50000, 10)


async def test_hostile_identifiers_and_values(tmp_path: Path, unique_name: str) -> None:
    async with DuckDBResource(path=str(tmp_path / "h.duckdb")) as db:
        d = db.dialect
        table = f"{unique_name}\"`'; DROP TABLE x; -- ☕"
        column = "c`\"'); DELETE FROM x; -- é"
        quoted = d.quote(table)
        await db.execute(f"CREATE TABLE {quoted} ({d.quote(column)} VARCHAR)")
        hostile = ["' OR '1'='1", "x'); DROP TABLE y; --", "\\'; --", "%s %% $1 ?", "😀 \x01", ""]
        assert await db.copy_records(table, [column], [(v,) for v in hostile]) == len(hostile)
        rows = await db.fetch_all(f"SELECT {d.quote(column)} FROM {quoted}")
        assert sorted(r[column] for r in rows) == sorted(hostile)
        where = f"SELECT count(*) FROM {quoted} WHERE {d.quote(column)} = {d.param(1)}"
        assert await db.fetch_value(where, ["' OR '1'='1"]) == 1
        assert await db.fetch_value(where, ["nothing' OR 'a'='a"]) == 0
        assert table in await db.list_collections_or_tables()
        with pytest.raises(XResourceValidationError, match="control characters"):
            d.quote("bad\nname")


async def test_numbers_and_datetimes_round_trip_as_in_postgresql(
    postgres_url: str, tmp_path: Path, unique_name: str
) -> None:
    values = [
        (1, Decimal("12345678901234567890.123456789"), 1e308, dt.datetime(1, 1, 1, 0, 0)),
        (2, Decimal("-0.000000001"), 5e-324, dt.datetime(9999, 12, 31, 23, 59, 59, 999999)),
        (3, Decimal(0), -0.0, dt.datetime(2024, 2, 29, 12, 0)),
        (4, None, None, None),
    ]
    columns = ["id", "amount", "f", "ts"]
    ddl = "(id INTEGER PRIMARY KEY, amount NUMERIC(38, 9), f DOUBLE PRECISION, ts TIMESTAMP)"
    async with DuckDBResource(path=str(tmp_path / "n.duckdb")) as duck:
        await duck.execute(f"CREATE TABLE {unique_name} {ddl}")
        await duck.copy_records(unique_name, columns, values)
        got = await duck.fetch_all(f"SELECT * FROM {unique_name} ORDER BY id")
    pg = ResourceFactory.from_url(postgres_url)
    async with pg:
        assert isinstance(pg, PostgreSQLResource)
        await pg.execute(f"CREATE TABLE {unique_name} {ddl}")
        try:
            await pg.copy_records(unique_name, columns, values)
            want = await pg.fetch_all(f"SELECT * FROM {unique_name} ORDER BY id")
        finally:
            await pg.execute(f"DROP TABLE {unique_name}")
    assert got == want
    assert [tuple(r.values()) for r in got] == values
