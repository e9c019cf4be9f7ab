"""Fetching documents: ``MongoDBResource`` against raw PyMongo ``AsyncMongoClient``, same run.

Inserts 100,000 documents (an int, strings, a float, a bool, a date, an array and a nested
object) into a scratch collection, then times:

- ``fetch_all``: ``MongoDBResource.fetch_all(collection)`` vs
  ``AsyncMongoClient[db][coll].find().to_list()``;
- ``stream``: ``MongoDBResource.find(collection, batch_size=10,000)`` (async iterator of
  batches) vs the raw cursor read with ``to_list(10,000)`` until empty,

checks that both sides return the same documents, and reports medians and the speed ratio
(raw time / our time; the issue's target is at least 0.9x). The scratch database is dropped.

    python benchmarks/bench_mongo_fetch.py                # print the table
    python benchmarks/bench_mongo_fetch.py --write-docs   # and update docs/benchmarks.md

The address comes from ``XTEST_MONGODB_URL`` (default ``mongodb://127.0.0.1:27017/?replicaSet=rs0``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import os
import platform
import sys
import uuid
from typing import Any

from pymongo import AsyncMongoClient

from xresource import MongoDBResource, ResourceFactory

try:
    from _report import interleaved_medians_on_loop, publish, speed_cells
except ImportError:  # run as `python -m benchmarks.bench_mongo_fetch`
    from benchmarks._report import interleaved_medians_on_loop, publish, speed_cells

NAME = "mongo_fetch"
TARGET = 0.9
BATCH = 10_000
COLLECTION = "docs"


def _documents(n: int) -> list[dict[str, Any]]:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return [
        {
            "_id": i,
            "name": f"customer-{i:07d}",
            "email": f"c{i}@example.com",
            "qty": i % 1000,
            "ratio": i / 7,
            "active": i % 2 == 0,
            "created": start + dt.timedelta(minutes=i),
            "tags": ["a", "b"] if i % 3 else [],
            "address": {"city": f"city-{i % 50}", "zip": f"{i % 99999:05d}"},
        }
        for i in range(n)
    ]


class Case:
    """Our resource and a raw client on the same collection, and the four timed callables."""

    def __init__(
        self, resource: MongoDBResource, raw: AsyncMongoClient[dict[str, Any]], database: str
    ) -> None:
        self.resource, self.raw, self.database = resource, raw, database

    async def ours_fetch(self) -> list[dict[str, Any]]:
        return await self.resource.fetch_all(COLLECTION)

    async def raw_fetch(self) -> list[dict[str, Any]]:
        return await self.raw[self.database][COLLECTION].find().to_list()

    async def ours_stream(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for batch in self.resource.find(COLLECTION, batch_size=BATCH):
            out.extend(batch)
        return out

    async def raw_stream(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = self.raw[self.database][COLLECTION].find(batch_size=BATCH)
        while batch := await cursor.to_list(BATCH):
            out.extend(batch)
        return out


async def _setup(url: str, n: int) -> Case:
    database = f"bench_mongo_{uuid.uuid4().hex[:8]}"
    resource = ResourceFactory.create("mongodb", connection_string=url, database=database)
    assert isinstance(resource, MongoDBResource)
    await resource.connect()
    # The same client options on both sides: dict documents, timezone-aware dates.
    raw: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, tz_aware=True)
    docs = _documents(n)
    for start in range(0, n, BATCH):
        await raw[database][COLLECTION].insert_many(docs[start : start + BATCH])
    return Case(resource, raw, database)


async def _teardown(case: Case) -> None:
    await case.raw.drop_database(case.database)
    await case.raw.close()
    await case.resource.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    url = os.environ.get("XTEST_MONGODB_URL", "mongodb://127.0.0.1:27017/?replicaSet=rs0")
    loop = asyncio.new_event_loop()

    # Interleaved runs (raw, ours, raw, ours...), after a warm-up of both sides.
    timed_pair = functools.partial(interleaved_medians_on_loop, loop, repeat=args.repeat)

    try:
        case = loop.run_until_complete(_setup(url, args.docs))
        try:
            expected = loop.run_until_complete(case.raw_fetch())
            if len(expected) != args.docs:
                raise SystemExit(f"raw fetch returned {len(expected)} documents, not {args.docs}")
            for fn in (case.ours_fetch, case.ours_stream, case.raw_stream):
                if loop.run_until_complete(fn()) != expected:
                    raise SystemExit(f"{fn.__name__} returned different documents")
            raw_f, ours_f = timed_pair([case.raw_fetch, case.ours_fetch])
            raw_s, ours_s = timed_pair([case.raw_stream, case.ours_stream])
        finally:
            loop.run_until_complete(_teardown(case))
    finally:
        loop.close()

    results = [("fetch_all", raw_f, ours_f), (f"stream (batch {BATCH:,})", raw_s, ours_s)]
    lines = [
        f"Fetching {args.docs:,} documents (9 fields, nested object, array, date) from MongoDB "
        f"6.0 on loopback, median of {args.repeat} interleaved runs "
        f"(Python {platform.python_version()}, PyMongo async, {platform.machine()}, "
        f"{os.cpu_count()} CPUs). Speed = raw time / "
        f"xresource time; target >= {TARGET}x.",
        "",
        "| operation | raw AsyncMongoClient (ms) | MongoDBResource (ms) | speed vs raw "
        "| target met |",
        "| --- | ---: | ---: | ---: | :---: |",
    ]
    failed = False
    for op, raw, ours in results:
        cells, met = speed_cells(raw, ours, TARGET)
        failed |= not met
        lines.append(f"| {op} | {cells} |")
    publish(NAME, "\n".join(lines), args.write_docs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
