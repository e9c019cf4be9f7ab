"""CacheManager: keys and isolation, read-through with single flight, failure policy,
invalidation between instances, and the spec's namespace extension."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from xobj_prototype import XConflictError, XNotFoundError, XValidationError
from xrepo.cache import (
    MISSING,
    CacheBackend,
    CacheKey,
    CacheManager,
    Invalidation,
    LocalInvalidationHub,
    MemoryCacheBackend,
    XRepoCacheError,
    XRepoSerializationError,
    cache_key,
)

ADMIN = {"roles": ["admin"], "row_filter": None}
VIEWER = {"roles": ["viewer"], "row_filter": {"tenant": "t1"}}


@pytest.fixture
def cache() -> CacheManager:
    return CacheManager.memory(max_entries=100, default_ttl=60)


# -- keys --------------------------------------------------------------------------------------
def test_keys_hash_the_query_and_the_callers_access() -> None:
    a = cache_key("users", "list", {"age__gte": 18, "limit": 10}, ADMIN)
    b = cache_key("users", "list", {"limit": 10, "age__gte": 18}, dict(reversed(ADMIN.items())))
    assert a == b
    assert a.scope == "users"
    assert len(a.digest) == 64
    assert cache_key("users", "list", {"age__gte": 18, "limit": 10}, VIEWER) != a
    assert cache_key("users", "count", {"age__gte": 18, "limit": 10}, ADMIN) != a
    assert cache_key("orders", "list", {"age__gte": 18, "limit": 10}, ADMIN).digest == a.digest
    assert cache_key("users", "list", {"id": 1}, None) != cache_key(
        "users", "list", {"id": "1"}, None
    )


@pytest.mark.parametrize(
    ("repo", "operation", "args", "error"),
    [
        ("", "list", {}, XRepoCacheError),
        ("has space", "list", {}, XRepoCacheError),
        ("x" * 201, "list", {}, XRepoCacheError),
        (None, "list", {}, XRepoCacheError),
        ("users", "", {}, XRepoCacheError),
        ("users", 3, {}, XRepoCacheError),
        ("users", "list", {"f": lambda: 1}, XRepoSerializationError),
    ],
)
def test_bad_key_material_is_refused(repo: Any, operation: Any, args: Any, error: type) -> None:
    with pytest.raises(error):
        cache_key(repo, operation, args, None)


def test_a_cache_key_validates_itself() -> None:
    with pytest.raises(ValueError, match="digest"):
        CacheKey(scope="users", digest="../../etc")


async def test_two_principals_never_share_an_entry(cache: CacheManager) -> None:
    admin_key = cache.cache_key("users", "list", {}, ADMIN)
    viewer_key = cache.cache_key("users", "list", {}, VIEWER)
    await cache.set(admin_key, ["everyone's rows"])
    assert await cache.get(viewer_key) is None
    loaded = await cache.get_or_set(viewer_key, _const(["tenant t1 rows"]))
    assert loaded == ["tenant t1 rows"]
    assert await cache.get(admin_key) == ["everyone's rows"]


async def test_only_cache_keys_are_accepted(cache: CacheManager) -> None:
    with pytest.raises(XRepoCacheError, match="CacheKey"):
        await cache.get("users:list")  # type: ignore[arg-type]


# -- get / set / delete ------------------------------------------------------------------------
async def test_get_set_delete_and_counters(cache: CacheManager) -> None:
    key = cache.cache_key("users", "read", {"id": 1}, None)
    assert await cache.get(key, default="absent") == "absent"
    await cache.set(key, None)  # None is a value, not a miss
    assert await cache.get(key, default="absent") is None
    assert await cache.delete(key) is True
    assert await cache.get(key, default="absent") == "absent"
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.sets, stats.deletes) == (1, 2, 1, 1)
    assert stats.hit_ratio == pytest.approx(1 / 3)


@pytest.mark.parametrize("ttl", [0, -1, True, "5", float("nan")])
async def test_bad_ttls_are_refused(cache: CacheManager, ttl: Any) -> None:
    key = cache.cache_key("users", "read", {}, None)
    with pytest.raises(XRepoCacheError, match="ttl"):
        await cache.set(key, 1, ttl=ttl)
    with pytest.raises(XRepoCacheError, match="ttl"):
        CacheManager.memory(default_ttl=ttl)


async def test_delete_prefix_invalidates_one_repository(cache: CacheManager) -> None:
    users = [cache.cache_key("users", "read", {"id": i}, None) for i in range(5)]
    orders = cache.cache_key("orders", "read", {"id": 1}, None)
    for key in [*users, orders]:
        await cache.set(key, "v")
    await cache.delete_prefix("users")
    assert [await cache.get(k) for k in users] == [None] * 5
    assert await cache.get(orders) == "v"
    assert cache.stats().entries == 1
    with pytest.raises(XRepoCacheError):
        await cache.delete_prefix("")


async def test_unserializable_values_are_served_but_not_cached(
    cache: CacheManager, caplog: pytest.LogCaptureFixture
) -> None:
    key = cache.cache_key("users", "read", {}, None)
    value = {"handle": object()}
    assert await cache.get_or_set(key, _const(value)) is value
    assert await cache.get(key) is None
    stats = cache.stats()
    assert stats.errors == 1
    assert stats.available  # a bad value says nothing about the backend


# -- single flight -----------------------------------------------------------------------------
async def test_concurrent_misses_do_one_load(cache: CacheManager) -> None:
    key = cache.cache_key("users", "list", {}, ADMIN)
    calls = 0
    gate = asyncio.Event()

    async def load() -> list[int]:
        nonlocal calls
        calls += 1
        await gate.wait()
        return [1, 2, 3]

    tasks = [asyncio.create_task(cache.get_or_set(key, load)) for _ in range(25)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1
    assert results == [[1, 2, 3]] * 25
    assert cache.stats().coalesced == 24
    assert await cache.get_or_set(key, _fail("must not load")) == [1, 2, 3]


async def test_a_loader_error_reaches_every_waiter_and_nothing_is_cached(
    cache: CacheManager,
) -> None:
    key = cache.cache_key("users", "list", {}, ADMIN)
    calls = 0

    async def broken() -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise LookupError("database said no")

    results = await asyncio.gather(
        *(cache.get_or_set(key, broken) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(r, LookupError) for r in results)
    assert await cache.get_or_set(key, _const("recovered")) == "recovered"


async def test_a_cancelled_loader_hands_over_to_a_waiter(cache: CacheManager) -> None:
    key = cache.cache_key("users", "list", {}, ADMIN)
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(10)
        return "slow"

    leader = asyncio.create_task(cache.get_or_set(key, slow))
    await started.wait()
    waiter = asyncio.create_task(cache.get_or_set(key, _const("from the waiter")))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await waiter == "from the waiter"
    assert await cache.get(key) == "from the waiter"


async def test_a_write_during_a_load_keeps_the_stale_value_out(cache: CacheManager) -> None:
    key = cache.cache_key("users", "list", {}, ADMIN)

    async def load_then_write_happens() -> str:
        await cache.delete_prefix("users")  # another request wrote while we were loading
        return "stale"

    assert await cache.get_or_set(key, load_then_write_happens) == "stale"
    assert await cache.get(key) is None


# -- failure policy ----------------------------------------------------------------------------
class FlakyBackend(CacheBackend):
    """A backend whose storage fails on demand, as Redis does when it goes away."""

    local = True

    def __init__(self) -> None:
        self.inner = MemoryCacheBackend(100)
        self.down = False
        self.fail_invalidate = False

    def _check(self) -> None:
        if self.down:
            raise XRepoCacheError("Redis at redis://:hunter2@cache:6379 failed: refused")

    async def lookup(self, scope: str, digest: str) -> tuple[int, Any]:
        self._check()
        return await self.inner.lookup(scope, digest)

    async def generation(self, scope: str) -> int:
        self._check()
        return await self.inner.generation(scope)

    async def store(self, scope: str, generation: int, digest: str, value: Any, ttl: float) -> None:
        self._check()
        await self.inner.store(scope, generation, digest, value, ttl)

    async def delete(self, scope: str, digest: str) -> bool:
        self._check()
        return await self.inner.delete(scope, digest)

    async def invalidate(self, scope: str) -> int:
        self._check()
        if self.fail_invalidate:
            raise XRepoCacheError("INCR failed")
        return await self.inner.invalidate(scope)

    async def clear(self) -> None:
        self._check()
        await self.inner.clear()


async def test_a_dead_backend_degrades_to_uncached(caplog: pytest.LogCaptureFixture) -> None:
    backend = FlakyBackend()
    cache = CacheManager(backend)
    key = cache.cache_key("users", "list", {}, None)
    await cache.set(key, "cached before the outage")
    backend.down = True
    with caplog.at_level(logging.DEBUG, logger="xrepo.cache"):
        assert await cache.get(key, "default") == "default"
        await cache.set(key, "x")
        assert await cache.get_or_set(key, _const("loaded")) == "loaded"
        assert await cache.get_or_set(key, _const("loaded again")) == "loaded again"
        await cache.delete_prefix("users")  # a write: must not fail
        assert await cache.delete(key) is False
    stats = cache.stats()
    assert stats.errors >= 6
    assert not stats.available
    assert stats.pending_invalidations == 1
    assert "hunter2" not in caplog.text
    assert "redis://:**********@cache" in caplog.text
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1  # once per outage

    backend.down = False  # Redis is back: the pending invalidation goes first
    assert await cache.get(key) is None  # the pre-outage value was invalidated
    assert cache.stats().pending_invalidations == 0
    assert cache.stats().available
    await cache.set(key, "fresh")
    assert await cache.get(key) == "fresh"


async def test_a_scope_with_a_pending_invalidation_is_served_uncached() -> None:
    backend = FlakyBackend()
    cache = CacheManager(backend)
    users = cache.cache_key("users", "list", {}, None)
    orders = cache.cache_key("orders", "list", {}, None)
    await cache.set(users, "before the write")
    backend.fail_invalidate = True
    await cache.delete_prefix("users")  # the backend kept the old entry
    assert await backend.inner.lookup("users", users.digest) == (0, "before the write")
    assert await cache.get(users) is None  # ...but it is not served
    await cache.set(users, "not stored")
    assert await cache.get_or_set(users, _const("loaded")) == "loaded"
    assert await backend.inner.lookup("users", users.digest) == (0, "before the write")
    await cache.set(orders, "o")  # other repositories are cached as usual
    assert await cache.get(orders) == "o"
    backend.fail_invalidate = False
    assert await cache.get(users) is None  # the invalidation went through first
    assert await backend.inner.generation("users") == 1
    await cache.set(users, "after")
    assert await cache.get(users) == "after"


# -- invalidation between instances -------------------------------------------------------------
async def test_a_write_in_one_instance_invalidates_the_others() -> None:
    hub = LocalInvalidationHub()
    a = CacheManager.memory(bus=hub.bus())
    b = CacheManager.memory(bus=hub.bus())
    await a.start()
    await b.start()
    users = a.cache_key("users", "list", {}, None)
    one = a.cache_key("orders", "read", {"id": 1}, None)
    two = a.cache_key("orders", "read", {"id": 2}, None)
    for cache in (a, b):
        for key in (users, one, two):
            await cache.set(key, "v")
    await a.delete_prefix("users")
    await a.delete(one)
    assert await b.get(users) is None
    assert await b.get(one) is None
    assert await b.get(two) == "v"
    assert b.stats().remote_invalidations == 2
    assert a.stats().remote_invalidations == 0  # its own messages are ignored
    b._on_reset()  # after a lost subscription everything local goes
    assert await b.get(two) is None
    await a.close()
    await b.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"garbage",
        b"{}",
        b'{"scope": "", "origin": "x"}',
        b'{"scope": "users", "origin": "x", "extra": 1}',
        b'{"scope": "' + b"u" * 300 + b'", "origin": "x"}',
        b"[" * 50_000,
    ],
)
def test_hostile_invalidation_messages_are_rejected(raw: bytes) -> None:
    with pytest.raises(XRepoCacheError, match="malformed"):
        Invalidation.from_bytes(raw)


def test_invalidation_messages_round_trip() -> None:
    msg = Invalidation(scope="users", digest="ab", origin="o1")
    assert Invalidation.from_bytes(msg.to_bytes()) == msg


# -- construction ------------------------------------------------------------------------------
def test_named_backends() -> None:
    assert isinstance(CacheManager("memory").backend, MemoryCacheBackend)
    with pytest.raises(XRepoCacheError, match="redis_url"):
        CacheManager("redis")
    with pytest.raises(XRepoCacheError, match="unknown cache backend"):
        CacheManager("memcached")  # type: ignore[arg-type]
    with pytest.raises(XRepoCacheError, match="CacheBackend"):
        CacheManager(object())  # type: ignore[arg-type]


# -- namespace extension -----------------------------------------------------------------------
async def test_namespace_extension_on_memory(cache: CacheManager) -> None:
    await cache.register_ns("ns.settings.app", {"debug": False})
    await cache.register_ns("ns.models.User", dict)
    await cache.register_ns("ns.fuzzy.users.user123", "John Doe john@example.com")
    await cache.register_ns("ns.fuzzy.users.user456", "Grace Hopper grace@navy.mil")
    assert await cache.get_ns("ns.settings.app") == {"debug": False}
    assert await cache.get_ns("ns.models.User") is dict
    assert await cache.get_ns("ns.nothing.here") is None
    assert await cache.get_ns("ns.nothing.here", "fallback") == "fallback"
    await cache.register_ns("ns.settings.app", {"debug": True})  # the spec's set: overwrite
    assert await cache.get_ns("ns.settings.app") == {"debug": True}
    with pytest.raises(XConflictError):
        await cache.register_ns("ns.settings.app", {}, override=False)

    await cache.register_indirect("user123", "ns.fuzzy.users.user123")
    assert await cache.get_ns_by_key("user123") == "ns.fuzzy.users.user123"
    assert await cache.get_ns_by_key("nobody") is None
    with pytest.raises(XNotFoundError):
        await cache.register_indirect("k", "ns.not.registered")

    assert await cache.list_ns("ns.fuzzy.*") == [
        "ns.fuzzy.users.user123",
        "ns.fuzzy.users.user456",
    ]
    assert await cache.list_ns("ns.*", segments=True) == []
    assert await cache.fuzzy_search("ns.fuzzy.*", "john") == ["ns.fuzzy.users.user123"]
    assert await cache.fuzzy_search("ns.fuzzy.*", "hoper") == ["ns.fuzzy.users.user456"]
    await cache.unregister_ns("ns.fuzzy.users.user123")
    assert await cache.get_ns_by_key("user123") is None
    for bad in ("", "ns..x", "ns.x y", 5):
        with pytest.raises(XValidationError):
            await cache.register_ns(bad, 1)  # type: ignore[arg-type]


def _const(value: Any) -> Any:
    async def load() -> Any:
        return value

    return load


def _fail(message: str) -> Any:
    async def load() -> Any:
        raise AssertionError(message)

    return load


def test_missing_sentinel_is_falsy_and_named() -> None:
    assert not MISSING
    assert repr(MISSING) == "MISSING"
