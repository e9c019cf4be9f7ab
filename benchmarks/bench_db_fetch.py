"""Fetching rows as dicts: xresource's SQL resources against the raw drivers, same data, same run.

Creates a table of 100,000 rows (integer, text, numeric, float, boolean, timestamp and a nullable
text column) in PostgreSQL and in MariaDB, then times, for each database:

- ``fetch_all``: ``PostgreSQLResource.fetch_all`` vs ``asyncpg`` ``pool.fetch`` + ``dict(record)``;
  ``MySQLResource.fetch_all`` vs ``aiomysql`` with a ``DictCursor`` and ``fetchall()``;
- ``stream``: ``resource.stream(batch_size=10,000)`` vs the driver's own server-side cursor
  (``asyncpg`` cursor ``fetch(n)`` in a transaction + ``dict``; ``aiomysql`` ``SSDictCursor``
  ``fetchmany(n)``),

checks that both sides return the same rows, and reports medians and the speed ratio
(raw time / our time; the issue's target is at least 0.9x). The tables are dropped at the end.

    python benchmarks/bench_db_fetch.py                # print the table
    python benchmarks/bench_db_fetch.py --write-docs   # and update docs/benchmarks.md

Addresses come from ``XTEST_POSTGRES_URL`` and ``XTEST_MYSQL_URL`` (loopback defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import decimal
import functools
import os
import platform
import sys
import uuid
from typing import Any

import aiomysql
import asyncpg

from xresource import MySQLResource, PostgreSQLResource, ResourceFactory

try:
    from _report import interleaved_medians_on_loop, publish, speed_cells
except ImportError:  # run as `python -m benchmarks.bench_db_fetch`
    from benchmarks._report import interleaved_medians_on_loop, publish, speed_cells

NAME = "db_fetch"
TARGET = 0.9
BATCH = 10_000

_DDL = {
    "postgresql": "id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, "
    "price NUMERIC(10, 2) NOT NULL, ratio DOUBLE PRECISION NOT NULL, flag BOOLEAN NOT NULL, "
    "created TIMESTAMP NOT NULL, note TEXT",
    "mysql": "id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, qty INT NOT NULL, "
    "price DECIMAL(10, 2) NOT NULL, ratio DOUBLE NOT NULL, flag BOOLEAN NOT NULL, "
    "created DATETIME NOT NULL, note TEXT",
}
COLUMNS = ["id", "name", "qty", "price", "ratio", "flag", "created", "note"]


def _rows(n: int) -> list[tuple[Any, ...]]:
    start = dt.datetime(2024, 1, 1)
    return [
        (
            i,
            f"customer-{i:07d}",
            i % 1000,
            decimal.Decimal(i % 100_000) / 100,
            i / 7,
            i % 2 == 0,
            start + dt.timedelta(minutes=i),
            None if i % 3 else f"note {i}",
        )
        for i in range(n)
    ]


class Case:
    """One database: our resource, the raw pool, the table, and the four timed callables."""

    def __init__(self, kind: str, resource: Any, raw_pool: Any, table: str) -> None:
        self.kind = kind
        self.resource = resource
        self.raw_pool = raw_pool
        self.table = table
        self.sql = f"SELECT {', '.join(COLUMNS)} FROM {table}"

    async def ours_fetch(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.resource.fetch_all(self.sql)
        return rows

    async def ours_stream(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for batch in self.resource.stream(self.sql, batch_size=BATCH):
            out.extend(batch)
        return out

    async def raw_fetch(self) -> list[dict[str, Any]]:
        if self.kind == "postgresql":
            return [dict(r) for r in await self.raw_pool.fetch(self.sql)]
        async with self.raw_pool.acquire() as conn, conn.cursor(aiomysql.DictCursor) as cur:
            await cur.execute(self.sql)
            return list(await cur.fetchall())

    async def raw_stream(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.kind == "postgresql":
            async with self.raw_pool.acquire() as conn, conn.transaction():
                cursor = await conn.cursor(self.sql)
                while records := await cursor.fetch(BATCH):
                    out.extend(dict(r) for r in records)
            return out
        async with self.raw_pool.acquire() as conn, conn.cursor(aiomysql.SSDictCursor) as cur:
            await cur.execute(self.sql)
            while rows := await cur.fetchmany(BATCH):
                out.extend(rows)
        return out


async def _setup(kind: str, url: str, n: int) -> Case:
    resource = ResourceFactory.from_url(url, name=f"bench-{kind}", pool_max_size=2)
    assert isinstance(resource, PostgreSQLResource | MySQLResource)
    await resource.connect()
    table = f"bench_fetch_{uuid.uuid4().hex[:10]}"
    await resource.execute(f"CREATE TABLE {resource.dialect.quote(table)} ({_DDL[kind]})")
    await resource.copy_records(table, COLUMNS, _rows(n))
    if kind == "postgresql":
        raw_pool = await asyncpg.create_pool(
            host=resource.host,
            port=resource.port or 5432,
            user=resource.user,
            database=resource.database,
            min_size=1,
            max_size=2,
        )
    else:
        raw_pool = await aiomysql.create_pool(
            host=resource.host,
            port=resource.port or 3306,
            user=resource.user or "",
            password="",
            db=resource.database,
            charset="utf8mb4",
            autocommit=True,
            minsize=1,
            maxsize=2,
        )
    return Case(kind, resource, raw_pool, resource.dialect.quote(table))


async def _teardown(case: Case) -> None:
    try:
        await case.resource.execute(f"DROP TABLE IF EXISTS {case.table}")
    finally:
        await case.resource.disconnect()
        if case.kind == "postgresql":
            await case.raw_pool.close()
        else:
            case.raw_pool.close()
            await case.raw_pool.wait_closed()


def _normal(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    # MariaDB gives BOOLEAN as 0/1 either way; compare values as the drivers return them.
    return sorted(tuple(r[c] for c in COLUMNS) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--only", choices=["postgresql", "mysql"], default=None)
    args = parser.parse_args(argv)
    urls = {
        "postgresql": os.environ.get(
            "XTEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        "mysql": os.environ.get("XTEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    }
    kinds = [args.only] if args.only else ["postgresql", "mysql"]
    loop = asyncio.new_event_loop()

    # Interleaved (raw, ours, raw, ours...) with a collection before each run, so that load
    # from other processes and garbage left by the previous run hit both sides alike.
    timed_pair = functools.partial(
        interleaved_medians_on_loop, loop, repeat=args.repeat, warmup=False, collect=True
    )

    results: list[tuple[str, str, float, float]] = []
    try:
        for kind in kinds:
            case = loop.run_until_complete(_setup(kind, urls[kind], args.rows))
            try:
                expected = _normal(loop.run_until_complete(case.raw_fetch()))
                for ours in (case.ours_fetch, case.ours_stream, case.raw_stream):
                    got = _normal(loop.run_until_complete(ours()))
                    if got != expected:
                        raise SystemExit(f"{kind}: {ours.__name__} returned different rows")
                label = "PostgreSQL (asyncpg)" if kind == "postgresql" else "MariaDB (aiomysql)"
                raw_f, ours_f = timed_pair([case.raw_fetch, case.ours_fetch])
                raw_s, ours_s = timed_pair([case.raw_stream, case.ours_stream])
                results.append((label, "fetch_all", raw_f, ours_f))
                results.append((label, f"stream (batch {BATCH:,})", raw_s, ours_s))
            finally:
                loop.run_until_complete(_teardown(case))
    finally:
        loop.close()

    lines = [
        f"Fetching {args.rows:,} rows x {len(COLUMNS)} columns as dicts, median of "
        f"{args.repeat} runs (Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs). Speed = raw time / xresource time; target >= {TARGET}x.",
        "",
        "| database | operation | raw driver (ms) | xresource (ms) | speed vs raw | target met |",
        "| --- | --- | ---: | ---: | ---: | :---: |",
    ]
    failed = False
    for label, op, raw, ours in results:
        cells, met = speed_cells(raw, ours, TARGET)
        failed |= not met
        lines.append(f"| {label} | {op} | {cells} |")
    publish(NAME, "\n".join(lines), args.write_docs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
