"""Ratio benchmark of secured repositories: the price of ACL + audit, the gain of the cache.

Same data, same run, on PostgreSQL:

- ``list`` of 100 records (a page of 5,000): a ``SecureRepo`` with an ACL (row scope, a hidden
  column) and an audit logger, against the same ``ConnectedSQLRepo`` without them, asked for the
  same rows (``owner = 'u1'``); target <= 1.3x;
- ``read`` of one record: cached (a warm ``SecureRepo`` with a memory cache) against uncached (the
  same query going to PostgreSQL every time); target: cached >= 10x faster. The Redis-backed
  cache is shown as well (one Redis round trip instead of one PostgreSQL query).
- writes: ``update`` through the ``SecureRepo`` (audit entry in a SQL table of the same database)
  against a plain ``update``, for information.

Run: ``python benchmarks/bench_repo_acl_cache.py [--write-docs] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import interleaved_medians_async, write_docs_block

from xobj_prototype import XObjPrototype
from xrepo import RepoContext, XRepoFactory
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.audit import AuditLogger, SQLAuditSink
from xrepo.cache import CacheManager
from xrepo.secure import SecureRepo
from xresource import ResourceFactory

PG_URL = os.environ.get("XTEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("XTEST_REDIS_URL", "redis://127.0.0.1:6379/0")
U1 = RepoContext(user_id="u1", roles=("user",))


class Record(XObjPrototype):
    id: int
    owner: str
    title: str
    city: str
    score: float
    salary: int


RULES = [
    ACLRule(
        role="user",
        permissions=["read", "list", "update"],
        conditions={"rows": {"owner": "$user.id"}, "hidden_fields": ["salary"]},
    )
]


async def bench(n: int, repeat: int, inner_loops: int) -> list[tuple[str, str, float, float, str]]:
    db = ResourceFactory.from_url(PG_URL)
    await db.connect()
    table = f"bench_acl_{uuid.uuid4().hex[:8]}"
    q = db.dialect.quote
    await db.execute(
        f"CREATE TABLE {q(table)} (id INTEGER PRIMARY KEY, owner TEXT, title TEXT, city TEXT, "
        "score DOUBLE PRECISION, salary INTEGER)"
    )
    await db.execute(f"CREATE INDEX {q(table + '_owner')} ON {q(table)} (owner, id)")
    sink = SQLAuditSink(db, table=f"{table}_audit")
    memory_cache = CacheManager.memory(namespace=f"{table}m")
    redis_cache = CacheManager.redis(REDIS_URL, namespace=f"{table}r", publish=False)
    results: list[tuple[str, str, float, float, str]] = []
    try:
        plain = await XRepoFactory.create(resource=db, model_class=Record, collection=table)
        await plain.bulk_create(
            [
                {
                    "id": i,
                    "owner": f"u{i % 2 + 1}",
                    "title": f"t{i}",
                    "city": ["oslo", "rome", "lima"][i % 3],
                    "score": i / 7,
                    "salary": i * 10,
                }
                for i in range(1, n + 1)
            ]
        )
        await db.execute(f"ANALYZE {q(table)}")
        secured = SecureRepo(plain, acl=ACLPolicy(RULES), audit=AuditLogger(sink))
        cached = SecureRepo(plain, cache=memory_cache)
        redis_cached = SecureRepo(plain, cache=redis_cache)
        uncached = SecureRepo(plain)

        async def loop(fn: Callable[[], Awaitable[Any]]) -> None:
            for _ in range(inner_loops):
                await fn()

        async def plain_list() -> None:
            rows = await plain.list({"owner": "u1"}, limit=100)
            assert len(rows) == 100

        async def secured_list() -> None:
            rows = await secured.list(limit=100, context=U1)
            assert len(rows) == 100

        ours, theirs = await interleaved_medians_async(
            [lambda: loop(secured_list), lambda: loop(plain_list)], repeat
        )
        results.append(
            ("list 100 with ACL + audit", "same repo without them", ours, theirs, "<= 1.3x")
        )

        async def read_uncached() -> None:
            assert await uncached.read(42) is not None

        async def read_cached() -> None:
            assert await cached.read(42) is not None

        async def read_redis() -> None:
            assert await redis_cached.read(42) is not None

        c, u, r = await interleaved_medians_async(
            [lambda: loop(read_cached), lambda: loop(read_uncached), lambda: loop(read_redis)],
            repeat,
        )
        results.append(("read, memory cache", "uncached read", c, u, ">= 10x faster"))
        results.append(("read, Redis cache", "uncached read", r, u, "(information)"))

        counter = iter(range(10**9))

        async def plain_update() -> None:
            await plain.update(2, {"title": f"p{next(counter)}"})

        async def secured_update() -> None:
            await secured.update(1, {"title": f"s{next(counter)}"}, context=U1)

        w_ours, w_theirs = await interleaved_medians_async(
            [lambda: loop(secured_update), lambda: loop(plain_update)], max(3, repeat // 2)
        )
        results.append(
            ("update with ACL + audit", "plain update", w_ours, w_theirs, "(information)")
        )
    finally:
        await db.execute(f"DROP TABLE IF EXISTS {q(table)}")
        await sink.drop_table()
        await redis_cache.clear()
        await redis_cache.close()
        await memory_cache.close()
        await db.disconnect()
    return results


def table_md(results: list[tuple[str, str, float, float, str]], loops: int) -> str:
    lines = [
        "| operation | compared with | ours (ms/op) | other (ms/op) | ratio | target |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for op, other, ours, theirs, target in results:
        ratio = ours / theirs
        shown = f"{ratio:.2f}x" if ratio >= 0.5 else f"{1 / ratio:.1f}x faster"
        lines.append(
            f"| {op} | {other} | {ours / loops * 1000:.3f} | {theirs / loops * 1000:.3f} | "
            f"{shown} | {target} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeat = 5 if args.quick else 11
    loops = 50 if args.quick else 200
    results = asyncio.run(bench(5_000, repeat, loops))
    md = table_md(results, loops)
    print(md)
    list_ratio = results[0][2] / results[0][3]
    read_speedup = results[1][3] / results[1][2]
    ok = list_ratio <= 1.3 and read_speedup >= 10
    print(
        f"\nlist ratio {list_ratio:.2f}x (<= 1.3x), cached read {read_speedup:.1f}x faster "
        f"(>= 10x): {'met' if ok else 'NOT met'}"
    )
    if args.write_docs:
        write_docs_block("repo_acl_cache", md)


if __name__ == "__main__":
    main()
