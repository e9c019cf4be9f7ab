"""CacheManager hits against the raw driver: what the cache layer costs on top of Redis.

For a typical cached result (a page of 20 rows with datetimes and Decimals) it times, in the same
run on the same data:

- a Redis-backed ``CacheManager.get`` hit (one Lua round trip: generation + entry, tagged JSON
  decode) against a raw ``redis.asyncio`` ``GET`` of the same bytes plus ``json.loads``;
- a memory ``CacheManager.get`` hit (LRU, TTL check, decode of a private copy) against that same
  raw Redis read, i.e. what a process-local cache saves per read.

    python benchmarks/bench_cache.py               # print the table
    python benchmarks/bench_cache.py --write-docs  # and update docs/benchmarks.md

Needs the Redis of CONVENTIONS.md (``XTEST_REDIS_URL``, default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from xrepo.cache import CacheManager, serializer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import median_time, write_docs_block

NAME = "cache"
OPS = 2000


def page() -> list[dict[str, Any]]:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [
        {
            "id": i,
            "name": f"user {i}",
            "email": f"user{i}@example.com",
            "balance": Decimal(f"{i}.25"),
            "created_at": t0 + dt.timedelta(hours=i),
            "tags": ["a", "b"],
        }
        for i in range(20)
    ]


def timed(loop: asyncio.AbstractEventLoop, op: Callable[[], Awaitable[Any]], repeat: int) -> float:
    async def batch() -> None:
        for _ in range(OPS):
            await op()

    return median_time(lambda: loop.run_until_complete(batch()), repeat) / OPS


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("XTEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    loop = asyncio.new_event_loop()
    rows = page()
    raw = aioredis.Redis.from_url(url)
    redis_cache = CacheManager.redis(url, namespace=namespace, publish=False)
    memory_cache = CacheManager.memory()
    key = redis_cache.cache_key("users", "list", {"limit": 20}, {"roles": ["admin"]})
    raw_key = f"{namespace}:raw"

    async def setup() -> None:
        await raw.set(raw_key, serializer.dumps(rows))
        await redis_cache.set(key, rows)
        await memory_cache.set(key, rows)
        assert await redis_cache.get(key) == rows
        assert await memory_cache.get(key) == rows

    async def raw_get() -> Any:
        return json.loads(await raw.get(raw_key))

    async def raw_get_typed() -> Any:
        return serializer.loads(await raw.get(raw_key))

    try:
        loop.run_until_complete(setup())
        t_raw = timed(loop, raw_get, args.repeat)
        t_typed = timed(loop, raw_get_typed, args.repeat)
        t_redis = timed(loop, lambda: redis_cache.get(key), args.repeat)
        t_memory = timed(loop, lambda: memory_cache.get(key), args.repeat)
    finally:
        loop.run_until_complete(redis_cache.clear())

        async def cleanup() -> None:
            await raw.delete(raw_key, f"{namespace}:gen:users")
            await redis_cache.close()
            await raw.aclose()

        loop.run_until_complete(cleanup())
        loop.close()

    table = "\n".join(
        [
            f"A cache hit of a 20-row page (datetimes, Decimals), median of {args.repeat} runs "
            f"of {OPS:,} reads (Python {platform.python_version()}, Redis on loopback, "
            f"{platform.machine()}, {os.cpu_count()} CPUs). Speed = raw time / ours. The raw "
            "read uses a default client (no socket timeouts) and returns untyped JSON (dates as "
            "strings); ours fails fast (connect/read timeouts), checks the generation in the "
            "same MGET, and returns typed values. The third row is the raw GET with our "
            "typed decode, to separate the two costs.",
            "",
            "| read | time per read | raw Redis GET + json.loads | speed |",
            "| --- | ---: | ---: | ---: |",
            f"| `CacheManager.redis(...).get` | {fmt(t_redis)} | {fmt(t_raw)} | "
            f"{t_raw / t_redis:.2f}x |",
            f"| `CacheManager.memory().get` | {fmt(t_memory)} | {fmt(t_raw)} | "
            f"{t_raw / t_memory:.2f}x |",
            f"| raw GET + `xrepo.cache.serializer.loads` | {fmt(t_typed)} | {fmt(t_raw)} | "
            f"{t_raw / t_typed:.2f}x |",
        ]
    )
    print(table)
    if args.write_docs:
        print(f"updated {write_docs_block(NAME, table)}")


if __name__ == "__main__":
    main()
