"""A repository with a Redis cache while a PRIVATE redis-server is killed (SIGKILL) and restarted.

The shared Redis of CONVENTIONS.md is never touched: every test starts its own ``redis-server``
(in ``tmp_path``, on a free port), kills it as a crash would and starts it again on the same port.
The data source is a SQLite repository (the truth); the cache is ``CacheManager.redis`` attached
through ``XRepoFactory.create(..., cache=...)`` as docs/xrepo-cache-audit.md shows.

Two ways Redis comes back:

- empty (no RDB, no AOF): the cache is cold; nothing stale can be served;
- with its old data (``--appendonly yes --appendfsync always``): the entries cached before the
  crash are back, and a write made during the outage could not invalidate them. Neither the
  process that wrote nor another process sharing the Redis (a second ``CacheManager``) may serve
  them: entries are addressed under the server's ``run_id`` (the epoch), which a restart changes.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from repo_backends import Doc, open_backend
from stream_helpers import BrokerProcess

from xrepo import XRepo, XRepoFactory
from xrepo.cache import CacheManager

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _redis_argv(data_dir: Path, *, persist: bool) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        common = [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "",
        ]
        if persist:
            # Every write reaches the AOF before Redis answers: a SIGKILL loses nothing.
            return [*common, "--appendonly", "yes", "--appendfsync", "always"]
        return [*common, "--appendonly", "no"]

    return argv


def _private_redis(tmp_path: Path, *, persist: bool) -> Iterator[BrokerProcess]:
    (tmp_path / "redis").mkdir()
    server = BrokerProcess("redis-server", _redis_argv(tmp_path / "redis", persist=persist))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def empty_redis(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A private redis-server that comes back empty after a kill (RDB and AOF off)."""
    yield from _private_redis(tmp_path, persist=False)


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A private redis-server that comes back with its data after a kill (AOF, fsync always)."""
    yield from _private_redis(tmp_path, persist=True)


@pytest.fixture
async def sqlite_docs(tmp_path: Path, unique_name: str) -> AsyncIterator[tuple[Any, str]]:
    """``(connected SQLite resource, table)`` seeded with the ten DOCS rows."""
    async with open_backend("sqlite", name=unique_name, tmp_path=tmp_path, urls={}) as (
        _,
        _,
        resource,
    ):
        yield resource, unique_name


async def _cached_repo(resource: Any, table: str, cache: CacheManager) -> XRepo[Doc]:
    return await XRepoFactory.create(
        resource=resource, model_class=Doc, collection=table, cache=cache
    )


def _cache(port: int, namespace: str) -> CacheManager:
    # Short client timeouts so that a dead server is noticed at once.
    return CacheManager.redis(
        f"redis://127.0.0.1:{port}/0",
        namespace=namespace,
        socket_timeout=1.0,
        socket_connect_timeout=0.5,
    )


async def _title(repo: XRepo[Doc], doc_id: int) -> str:
    doc = await asyncio.wait_for(repo.read(doc_id), 10)
    assert doc is not None
    return doc.title


async def _until_cached(repo: XRepo[Doc], cache: CacheManager, doc_id: int, limit: float = 15.0):
    """Read ``doc_id`` until a read is a cache hit (the backend's retry interval passes)."""
    deadline = time.monotonic() + limit
    while True:
        hits = cache.stats().hits
        title = await _title(repo, doc_id)
        if cache.stats().hits > hits:
            return title
        if time.monotonic() > deadline:
            raise AssertionError(f"the cache never served doc {doc_id} again: {cache.stats()}")
        await asyncio.sleep(0.2)


async def _keys(port: int, pattern: str) -> list[bytes]:
    client = aioredis.Redis(port=port)
    try:
        return [k async for k in client.scan_iter(match=pattern)]
    finally:
        await client.aclose()


async def test_reads_go_on_uncached_while_redis_is_dead_and_cache_again_after_an_empty_restart(
    empty_redis: BrokerProcess, sqlite_docs: tuple[Any, str], unique_name: str
) -> None:
    resource, table = sqlite_docs
    cache = _cache(empty_redis.port, unique_name)
    repo = await _cached_repo(resource, table, cache)
    try:
        assert await _title(repo, 1) == "t1"
        assert await _title(repo, 1) == "t1"
        assert cache.stats().hits == 1
        assert await _keys(empty_redis.port, f"{unique_name}:c:*")

        empty_redis.stop()  # SIGKILL
        # Uncached, correct, never an error: reads, a write, and the read after it.
        hits = cache.stats().hits
        assert await _title(repo, 2) == "t2"
        await asyncio.wait_for(repo.update(1, {"title": "written while redis was dead"}), 10)
        assert await _title(repo, 1) == "written while redis was dead"
        assert [d.id for d in await asyncio.wait_for(repo.list(limit=None), 10)] == list(
            range(1, 11)
        )
        stats = cache.stats()
        assert stats.hits == hits
        assert stats.errors > 0
        assert stats.available is False

        empty_redis.start()  # empty: RDB and AOF are off
        assert await _keys(empty_redis.port, f"{unique_name}:*") == []
        # It caches again once the retry interval has passed, and the data is the new one.
        assert await _until_cached(repo, cache, 1) == "written while redis was dead"
        assert cache.stats().available is True
        assert cache.stats().pending_invalidations == 0
        # A write after the return invalidates as before.
        await repo.update(1, {"title": "after the return"})
        assert await _title(repo, 1) == "after the return"
    finally:
        await cache.close()


async def test_redis_back_with_its_old_data_serves_no_entry_a_write_during_the_outage_made_stale(
    persistent_redis: BrokerProcess, sqlite_docs: tuple[Any, str], unique_name: str
) -> None:
    resource, table = sqlite_docs
    # Two repositories with two cache managers on the same Redis and namespace, as two
    # processes of one service would have.
    cache_a = _cache(persistent_redis.port, unique_name)
    cache_b = _cache(persistent_redis.port, unique_name)
    repo_a = await _cached_repo(resource, table, cache_a)
    repo_b = await _cached_repo(resource, table, cache_b)
    try:
        assert await _title(repo_a, 1) == "t1"
        assert await _title(repo_b, 1) == "t1"  # the entry repo_a stored
        assert cache_b.stats().hits == 1
        assert await _title(repo_a, 3) == "t3"
        before = sorted(await _keys(persistent_redis.port, f"{unique_name}:c:*"))
        assert len(before) == 2

        persistent_redis.stop()  # SIGKILL; the AOF holds both entries
        await asyncio.wait_for(repo_a.update(1, {"title": "written during the outage"}), 10)
        assert cache_a.stats().pending_invalidations == 1  # remembered, not applied

        persistent_redis.start()
        # The old entries are back in Redis, at the generation they had: nobody could bump it.
        assert sorted(await _keys(persistent_redis.port, f"{unique_name}:c:*")) == before
        # The process that did not write never heard of the write, yet serves the new value.
        assert await _title(repo_b, 1) == "written during the outage"
        # And the process that wrote serves it too (its pending invalidation is applied first).
        assert await _until_cached(repo_a, cache_a, 1) == "written during the outage"
        assert cache_a.stats().pending_invalidations == 0
        assert await _until_cached(repo_b, cache_b, 1) == "written during the outage"
        # Unchanged data is cached again under the new server's epoch, by both.
        assert await _until_cached(repo_b, cache_b, 3) == "t3"
        assert await _until_cached(repo_a, cache_a, 3) == "t3"
        # The writer's remembered invalidation did reach Redis after its return.
        client = aioredis.Redis(port=persistent_redis.port)
        try:
            assert await client.get(f"{unique_name}:gen:{table}") == b"1"
        finally:
            await client.aclose()
    finally:
        await cache_a.close()
        await cache_b.close()


async def test_the_writer_alone_across_a_restart_with_data(
    persistent_redis: BrokerProcess, sqlite_docs: tuple[Any, str], unique_name: str
) -> None:
    resource, table = sqlite_docs
    cache = _cache(persistent_redis.port, unique_name)
    repo = await _cached_repo(resource, table, cache)
    try:
        assert await _title(repo, 5) == "t5"
        assert await _until_cached(repo, cache, 5) == "t5"
        persistent_redis.stop()
        await asyncio.wait_for(repo.delete(5), 10)
        assert await asyncio.wait_for(repo.read(5), 10) is None
        persistent_redis.start()
        # Every read after the return sees the deletion, the first one as well as later hits.
        for _ in range(5):
            assert await asyncio.wait_for(repo.read(5), 10) is None
            await asyncio.sleep(0.3)
        assert cache.stats().pending_invalidations == 0
    finally:
        await cache.close()
