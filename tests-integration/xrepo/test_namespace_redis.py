"""RedisNamespace on a real Redis: one namespace shared by several service instances, glob by
literal prefix, fuzzy search, indirect keys, value rules, and the spec's CacheManager methods."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import redis.asyncio as aioredis
from pydantic import BaseModel, SecretStr

from xobj_prototype import (
    FuzzyField,
    XConflictError,
    XNotFoundError,
    XObjPrototype,
    XValidationError,
)
from xrepo.cache import (
    CacheManager,
    ObjectRef,
    RedisNamespace,
    XRepoCacheError,
    XRepoSerializationError,
)


class Person(XObjPrototype):
    name: str = FuzzyField()
    email: str = FuzzyField()
    role: str = "user"


class Credentials(BaseModel):
    user: str
    password: SecretStr


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    name = f"xt{uuid.uuid4().hex[:12]}:ns"
    yield name
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{name}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def two(redis_url: str, prefix: str) -> AsyncIterator[tuple[RedisNamespace, RedisNamespace]]:
    """Two instances, two connections, one namespace: two services."""
    a = RedisNamespace(redis_url, prefix=prefix)
    b = RedisNamespace(redis_url, prefix=prefix)
    yield a, b
    await a.close()
    await b.close()


async def test_entries_are_shared_between_instances(
    two: tuple[RedisNamespace, RedisNamespace],
) -> None:
    a, b = two
    await a.register("ns.settings.app", {"debug": True, "since": dt.date(2026, 1, 1)})
    assert await b.get("ns.settings.app") == {"debug": True, "since": dt.date(2026, 1, 1)}
    with pytest.raises(XConflictError, match="already registered"):
        await b.register("ns.settings.app", {})
    await b.register("ns.settings.app", {"debug": False}, override=True)
    assert await a.get("ns.settings.app") == {"debug": False}
    await a.unregister("ns.settings.app")
    with pytest.raises(XNotFoundError, match=r"ns\.settings\.app"):
        await b.get("ns.settings.app")
    assert await b.get("ns.settings.app", None) is None
    with pytest.raises(XNotFoundError):
        await b.unregister("ns.settings.app")


async def test_glob_and_prefix_listing(two: tuple[RedisNamespace, RedisNamespace]) -> None:
    a, b = two
    paths = [
        "ns.functions.math.basic.add",
        "ns.functions.math.advanced.power",
        "ns.functions.mathx.other",
        "ns.functions.text.upper",
        "ns.models.User",
        "ns.models.Order",
    ]
    for path in paths:
        await a.register(path, path.rsplit(".", 1)[1])
    for i in range(1500):  # more than one ZRANGEBYLEX batch below one prefix
        await a.register(f"ns.bulk.item{i:04d}", i)
    assert await b.find("ns.functions.math.*") == [
        "ns.functions.math.advanced.power",
        "ns.functions.math.basic.add",
    ]
    assert await b.find("ns.functions.math.*", segments=True) == []
    assert await b.find("ns.functions.math.*.add", segments=True) == ["ns.functions.math.basic.add"]
    assert await b.find("*.User") == ["ns.models.User"]
    assert await b.find("ns.models.[OU]*") == ["ns.models.Order", "ns.models.User"]
    assert await b.find("ns.models.User") == ["ns.models.User"]
    assert await b.find("ns.models.Nobody") == []
    assert await b.list_prefix("ns.models") == ["ns.models.Order", "ns.models.User"]
    assert await b.list_prefix("ns.function") == []  # segment-aligned
    bulk = await b.find("ns.bulk.*")
    assert len(bulk) == 1500
    assert bulk == sorted(bulk)
    assert await b.find("ns.bulk.item149?") == [f"ns.bulk.item149{i}" for i in range(10)]
    assert len(await b.find("*")) == 1506
    for bad in ("", "ns. x", 5):
        with pytest.raises(XValidationError):
            await b.find(bad)  # type: ignore[arg-type]


async def test_fuzzy_search(two: tuple[RedisNamespace, RedisNamespace]) -> None:
    a, b = two
    await a.register("ns.fuzzy.users.user123", Person(name="John Doe", email="john@example.com"))
    await a.register("ns.fuzzy.users.user456", "Grace Hopper grace@navy.mil")
    await a.register("ns.models.Invoice", "billing document")
    hits = await b.fuzzy_search("john")
    assert [m.path for m in hits] == ["ns.fuzzy.users.user123"]
    assert hits[0].score == 1.0
    typo = await b.fuzzy_search("hoppr", "ns.fuzzy.*")
    assert [m.path for m in typo] == ["ns.fuzzy.users.user456"]
    assert 0.6 <= typo[0].score < 1.0
    assert await b.fuzzy_search("invoice", "ns.fuzzy.*") == []
    assert [m.path for m in await b.fuzzy_search("invoice")] == ["ns.models.Invoice"]
    for bad in ({"term": ""}, {"term": "x", "limit": 0}, {"term": "x", "cutoff": 2}):
        with pytest.raises(XValidationError):
            await b.fuzzy_search(**bad)  # type: ignore[arg-type]


async def test_indirect_keys(two: tuple[RedisNamespace, RedisNamespace]) -> None:
    a, b = two
    await a.register("ns.repos.users", {"table": "users"})
    await a.register_indirect("user-repo", "ns.repos.users")
    assert await b.resolve("user-repo") == "ns.repos.users"
    assert await b.get_by_key("user-repo") == {"table": "users"}
    with pytest.raises(XNotFoundError, match="register_indirect"):
        await b.resolve("nobody")
    with pytest.raises(XNotFoundError):
        await b.register_indirect("k", "ns.repos.missing")
    with pytest.raises(XValidationError):
        await b.register_indirect("  ", "ns.repos.users")
    await b.unregister("ns.repos.users")  # drops the keys pointing at it
    with pytest.raises(XNotFoundError):
        await a.resolve("user-repo")


async def test_value_rules(two: tuple[RedisNamespace, RedisNamespace]) -> None:
    a, b = two
    await a.register("ns.models.Person", Person)
    ref = await b.get("ns.models.Person")
    assert isinstance(ref, ObjectRef)
    assert ref == f"{__name__}:Person"
    assert ref.load() is Person
    await a.register("ns.functions.dumps", __import__("json").dumps)
    assert (await b.get("ns.functions.dumps")).load().__name__ == "dumps"
    await a.register("ns.creds.app", Credentials(user="app", password=SecretStr("hunter2")))
    assert await b.get("ns.creds.app") == {"user": "app", "password": "**********"}
    await a.register("ns.values.amount", Decimal("10.10"))
    assert await b.get("ns.values.amount") == Decimal("10.10")

    def local() -> None: ...

    for bad in (lambda: 1, local, threading.Lock(), object()):
        with pytest.raises(XRepoSerializationError, match=r"ns\.bad\.value"):
            await a.register("ns.bad.value", bad)
    assert await b.find("ns.bad.*") == []
    await a.register("ns.classes.socket", socket.socket)  # any importable class is a reference
    assert (await b.get("ns.classes.socket")).load() is socket.socket
    with pytest.raises(XNotFoundError, match="cannot be imported"):
        ObjectRef("no_such_module_xyz:Thing").load()
    with pytest.raises(XValidationError):
        await a.register("ns..bad", 1)


async def test_the_spec_methods_on_a_redis_cache_manager(redis_url: str, prefix: str) -> None:
    namespace = prefix.removesuffix(":ns")
    async with (
        CacheManager.redis(redis_url, namespace=namespace) as one,
        CacheManager("redis", redis_url=redis_url, namespace=namespace) as other,
    ):
        await one.register_ns("ns.settings.app", {"debug": False})
        await one.register_ns("ns.fuzzy.users.user123", "John Doe john@example.com")
        await one.register_indirect("user123", "ns.fuzzy.users.user123")
        assert await other.get_ns("ns.settings.app") == {"debug": False}
        assert await other.get_ns("ns.settings.none", "dflt") == "dflt"
        assert await other.get_ns_by_key("user123") == "ns.fuzzy.users.user123"
        assert await other.get_ns_by_key("nobody") is None
        assert await other.list_ns("ns.*") == ["ns.fuzzy.users.user123", "ns.settings.app"]
        assert await other.fuzzy_search("ns.fuzzy.*", "doe") == ["ns.fuzzy.users.user123"]


async def test_redis_down_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ns = RedisNamespace(f"redis://:hunter2@127.0.0.1:{port}/0", prefix="down:ns")
    with pytest.raises(XRepoCacheError, match="unavailable") as info:
        await ns.register("ns.a.b", 1)
    assert "hunter2" not in str(info.value)
    with pytest.raises(XRepoCacheError):
        await ns.find("ns.*")
    with pytest.raises(XRepoCacheError):
        await ns.get("ns.a.b")
    await ns.close()
    with pytest.raises(XRepoCacheError, match="prefix"):
        RedisNamespace(f"redis://127.0.0.1:{port}/0", prefix="has space")


class CountingNamespace(RedisNamespace):
    """Counts the paths Redis hands back, to show what a glob reads."""

    read = 0

    async def _range(self, prefix: str, zset: str | None = None) -> AsyncIterator[str]:
        async for path in super()._range(prefix, zset):
            self.read += 1
            yield path


async def test_globs_read_only_their_literal_prefix_or_suffix(redis_url: str, prefix: str) -> None:
    ns = CountingNamespace(redis_url, prefix=prefix)
    for i in range(300):
        await ns.register(f"ns.bulk.item{i:03d}", i)
    for path in ("ns.models.User", "ns.models.Order", "ns.repos.User"):
        await ns.register(path, 1)
    assert await ns.find("ns.models.*") == ["ns.models.Order", "ns.models.User"]
    assert ns.read == 2  # a range of the sorted set, not a scan of 303 paths
    ns.read = 0
    assert await ns.find("*.User") == ["ns.models.User", "ns.repos.User"]
    assert ns.read == 2  # the reversed paths' range
    ns.read = 0
    assert await ns.find("ns.bulk.item1?5") == [f"ns.bulk.item1{i}5" for i in range(10)]
    assert ns.read == 100  # the prefix "ns.bulk.item1"
    await ns.unregister("ns.repos.User")
    ns.read = 0
    assert await ns.find("*.User") == ["ns.models.User"]
    assert ns.read == 1
    await ns.drop()
    assert await ns.find("*") == []
    await ns.close()
