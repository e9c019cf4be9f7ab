"""The repository cache on a real Redis: round trips, generation invalidation, single flight,
invalidation of a memory cache in a second real process, and outages (a closed port, a server
that goes away and comes back)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis
from repo_backends import TcpProxy

from xrepo.cache import (
    CacheManager,
    RedisCacheBackend,
    RedisInvalidationBus,
    XRepoCacheError,
)

ADMIN = {"roles": ["admin"]}


@pytest.fixture
async def namespace(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    ns = f"xt{uuid.uuid4().hex[:12]}"
    yield ns
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{ns}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_round_trip_of_tagged_values(redis_url: str, namespace: str) -> None:
    async with CacheManager.redis(redis_url, namespace=namespace) as cache:
        key = cache.cache_key("users", "list", {"age__gte": 18}, ADMIN)
        rows = [
            {
                "id": uuid.UUID(int=7),
                "joined": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
                "balance": Decimal("10.10"),
                "avatar": b"\x89PNG",
                "tags": ("a", "b"),
            }
        ]
        await cache.set(key, rows, ttl=30)
        assert await cache.get(key) == rows
        assert cache.stats().hits == 1


async def test_entries_live_under_a_generation_with_a_ttl(
    redis_url: str, namespace: str, raw: aioredis.Redis
) -> None:
    async with CacheManager.redis(redis_url, namespace=namespace) as cache:
        key = cache.cache_key("users", "read", {"id": 1}, ADMIN)
        await cache.set(key, {"id": 1}, ttl=20)
        # The epoch is the server's run_id: entries of an earlier server lifetime are not read.
        epoch = (await raw.info("server"))["run_id"][:16]
        assert cache.backend.epoch == epoch  # type: ignore[attr-defined]
        stored = f"{namespace}:c:users:{epoch}:0:{key.digest}"
        assert json.loads(await raw.get(stored)) == {"id": 1}
        assert 0 < await raw.pttl(stored) <= 20_000
        await cache.delete_prefix("users")
        # O(1): the generation moved on; the old entry was not searched for, it just expires.
        assert await raw.get(f"{namespace}:gen:users") == b"1"
        assert await raw.exists(stored) == 1
        assert await cache.get(key) is None
        await cache.set(key, {"id": 1, "v": 2})
        assert await raw.exists(f"{namespace}:c:users:{epoch}:1:{key.digest}") == 1


async def test_two_services_share_entries_and_invalidations(redis_url: str, namespace: str) -> None:
    async with (
        CacheManager.redis(redis_url, namespace=namespace) as a,
        CacheManager.redis(redis_url, namespace=namespace) as b,
    ):
        users = a.cache_key("users", "list", {}, ADMIN)
        orders = a.cache_key("orders", "list", {}, ADMIN)
        await a.set(users, ["u"])
        await a.set(orders, ["o"])
        assert await b.get(users) == ["u"]
        await b.delete_prefix("users")
        assert await a.get(users) is None
        assert await a.get(orders) == ["o"]
        assert await b.delete(orders) is True
        assert await a.get(orders) is None


async def test_principals_do_not_share_entries_in_redis(redis_url: str, namespace: str) -> None:
    async with CacheManager.redis(redis_url, namespace=namespace) as cache:
        await cache.set(cache.cache_key("users", "list", {}, ADMIN), ["all rows"])
        viewer = cache.cache_key("users", "list", {}, {"roles": ["viewer"]})
        assert await cache.get(viewer) is None


async def test_single_flight_over_redis(redis_url: str, namespace: str) -> None:
    async with CacheManager.redis(redis_url, namespace=namespace) as cache:
        key = cache.cache_key("users", "count", {}, ADMIN)
        calls = 0

        async def load() -> int:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)
            return 42

        assert await asyncio.gather(*(cache.get_or_set(key, load) for _ in range(20))) == [42] * 20
        assert calls == 1
        assert await cache.get(key) == 42


async def test_a_corrupt_entry_is_a_miss_not_a_crash(
    redis_url: str, namespace: str, raw: aioredis.Redis
) -> None:
    async with CacheManager.redis(redis_url, namespace=namespace) as cache:
        key = cache.cache_key("users", "read", {"id": 1}, ADMIN)
        epoch = (await raw.info("server"))["run_id"][:16]
        await raw.set(f"{namespace}:c:users:{epoch}:0:{key.digest}", b"\x80\x04\x95pickle?")
        assert await cache.get(key, "miss") == "miss"
        assert await cache.get_or_set(key, _const({"id": 1})) == {"id": 1}
        assert await cache.get(key) == {"id": 1}
        stats = cache.stats()
        assert (stats.corrupt_entries, stats.errors) == (1, 0)


CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from xrepo.cache import CacheManager, RedisInvalidationBus

    async def main(url, namespace):
        bus = RedisInvalidationBus(url, namespace=namespace)
        cache = CacheManager.memory(bus=bus, namespace=namespace)
        if not await cache.start():
            print("NOT SUBSCRIBED", flush=True)
            return
        keys = {
            repo: cache.cache_key(repo, "list", {}, {"roles": ["admin"]})
            for repo in ("users", "orders")
        }
        for repo, key in keys.items():
            await cache.set(key, repo + "-rows")

        async def report():
            got = {repo: await cache.get(key) for repo, key in keys.items()}
            got["remote"] = cache.stats().remote_invalidations
            print(json.dumps(got), flush=True)

        print("READY", flush=True)
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if line == "GET":
                await report()
            elif line.startswith("WAIT_GONE "):
                repo = line.split()[1]
                for _ in range(200):
                    if await cache.get(keys[repo]) is None:
                        break
                    await asyncio.sleep(0.05)
                await report()
            else:
                break
        await cache.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_a_write_in_one_process_invalidates_a_memory_cache_in_another(
    redis_url: str, namespace: str
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        redis_url,
        namespace,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None

    async def ask(command: str) -> Any:
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write(command.encode() + b"\n")
        await child.stdin.drain()
        return json.loads(await asyncio.wait_for(child.stdout.readline(), 30))

    try:
        ready = await asyncio.wait_for(child.stdout.readline(), 60)
        assert ready == b"READY\n", ready + (await child.stderr.read() if child.stderr else b"")
        before = await ask("GET")
        assert before == {"users": "users-rows", "orders": "orders-rows", "remote": 0}
        async with CacheManager.redis(redis_url, namespace=namespace) as writer:
            await writer.delete_prefix("users")  # this process writes to "users"
            after = await ask("WAIT_GONE users")
            assert after["users"] is None
            assert after["orders"] == "orders-rows"  # other repositories keep their entries
            assert after["remote"] >= 1
            await writer.delete(writer.cache_key("orders", "list", {}, ADMIN))
            assert (await ask("WAIT_GONE orders"))["orders"] is None
    finally:
        if child.returncode is None:
            child.stdin.write(b"QUIT\n")
            await child.stdin.drain()
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
                await child.wait()
    assert child.returncode == 0


async def test_redis_down_reads_work_uncached_and_writes_succeed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    bus = RedisInvalidationBus(url, namespace="down", start_timeout=0.3)
    cache = CacheManager(RedisCacheBackend(url, namespace="down"), namespace="down", bus=bus)
    assert await cache.start() is False
    key = cache.cache_key("users", "list", {}, ADMIN)
    loads = 0

    async def load() -> list[str]:
        nonlocal loads
        loads += 1
        return ["from the database"]

    assert await cache.get(key, "default") == "default"
    assert await cache.get_or_set(key, load) == ["from the database"]
    assert await cache.get_or_set(key, load) == ["from the database"]
    await cache.set(key, "ignored")
    await cache.delete_prefix("users")
    await cache.delete(key)
    assert loads == 2
    stats = cache.stats()
    assert not stats.available
    assert stats.errors >= 5
    assert stats.pending_invalidations == 1
    await cache.close()
    assert "hunter2" not in caplog.text


async def test_the_cache_reconnects_after_an_outage(redis_url: str, namespace: str) -> None:
    async with TcpProxy.in_front_of(redis_url, 6379) as (relay, url):
        backend = RedisCacheBackend(url, namespace=namespace, retry_interval=0.05)
        async with CacheManager(backend, namespace=namespace) as cache:
            key = cache.cache_key("users", "list", {}, ADMIN)
            await cache.set(key, "cached")
            await relay.stop()  # Redis goes away
            assert await cache.get_or_set(key, _const("uncached")) == "uncached"
            await cache.delete_prefix("users")  # a write during the outage
            assert not cache.stats().available
            await relay.start()  # ...and comes back
            await asyncio.sleep(0.1)  # past retry_interval: the next call tries again
            assert await cache.get(key) is None  # the pending invalidation was applied
            assert cache.stats().available
            assert cache.stats().pending_invalidations == 0
            await cache.set(key, "fresh")
            assert await cache.get(key) == "fresh"


async def test_a_memory_cache_forgets_everything_after_losing_its_subscription(
    redis_url: str, namespace: str
) -> None:
    async with TcpProxy.in_front_of(redis_url, 6379) as (relay, url):
        bus = RedisInvalidationBus(url, namespace=namespace, max_backoff=0.2)
        cache = CacheManager.memory(bus=bus, namespace=namespace)
        assert await cache.start() is True
        key = cache.cache_key("users", "list", {}, ADMIN)
        await cache.set(key, "held locally")
        await relay.stop()  # invalidations sent now would be lost...
        for _ in range(100):
            if not bus.subscribed:
                break
            await asyncio.sleep(0.05)
        assert not bus.subscribed
        assert await cache.get(key) == "held locally"
        await relay.start()
        for _ in range(200):
            if bus.subscribed:
                break
            await asyncio.sleep(0.05)
        assert bus.subscribed
        assert await cache.get(key) is None  # ...so the local entries were dropped
        await cache.close()


async def test_bad_redis_urls_are_refused_without_echoing_secrets() -> None:
    with pytest.raises(XRepoCacheError) as info:
        CacheManager.redis("http://user:hunter2@example.com")
    assert "hunter2" not in str(info.value)
    with pytest.raises(XRepoCacheError):
        RedisCacheBackend(42)  # type: ignore[arg-type]


def _const(value: Any) -> Any:
    async def load() -> Any:
        return value

    return load
