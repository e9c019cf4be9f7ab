"""A ``SecureRepo(inner, ...)`` built directly honours ``inner.metadata`` as the factory does:
``enable_audit`` (an in-memory audit log of ``audit_max_entries``), ``cache_enabled``/
``cache_ttl`` (a memory cache) and ``enable_statistics`` (latency kept or not), from the one
function both paths use (``metadata_components``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel

from xrepo import (
    MaterializedRepo,
    RepoContext,
    RepoMetadata,
    XRepoConfigurationError,
    XRepoFactory,
)
from xrepo.acl import ACLRule
from xrepo.audit import AuditLogger, MemoryAuditSink
from xrepo.cache import CacheManager
from xrepo.secure import SecureRepo, metadata_components
from xrepo.stats import LatencyRecorder


class User(BaseModel):
    id: int
    name: str
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


ROWS = [{"id": i, "name": f"user{i}"} for i in range(1, 6)]
ADMIN = RepoContext(user_id="root", roles=("admin",))
RULES = [ACLRule(role="admin", permissions=["create", "read", "update", "delete", "list", "admin"])]


class FakeClock:
    """Monotonic seconds under the test's control (the memory cache's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def inner(**metadata: Any) -> MaterializedRepo[Any]:
    meta = RepoMetadata(name="users", **metadata) if metadata else None
    return MaterializedRepo(model_class=User, data=ROWS, metadata=meta, name="users")


def components(repo: SecureRepo[Any]) -> tuple[Any, ...]:
    """What the metadata turned into, comparable between the direct and the factory path."""
    audit = repo.audit_logger
    return (
        None
        if audit is None
        else (type(audit.sink).__name__, audit.sink._entries.maxlen, audit.policy),
        None if repo.cache is None else repo.cache_ttl,
        repo.latency.enabled,
    )


# -- the specification's example -----------------------------------------------------------
async def test_spec_metadata_on_a_directly_built_secure_repo() -> None:
    meta = RepoMetadata(
        name="users",
        resource_name="main_db",
        model_name="User",
        enable_audit=True,
        enable_statistics=True,
        cache_enabled=True,
        cache_ttl=60,
    )
    repo = SecureRepo(MaterializedRepo(model_class=User, data=ROWS, metadata=meta), acl=RULES)
    # enable_audit: every write is recorded, without an audit= of its own.
    await repo.update(1, {"name": "x"}, context=ADMIN)
    (entry,) = await repo.get_audit_log(context=ADMIN)
    assert (entry.operation, entry.entity_id, entry.user_id) == ("update", "1", "root")
    # cache_enabled, cache_ttl=60: a read is served from the cache for 60 s, then reloaded.
    assert repo.cache is not None
    clock = FakeClock()
    repo.cache.backend._clock = clock  # type: ignore[attr-defined]
    await repo.list(context=ADMIN)
    await repo.list(context=ADMIN)
    assert repo.cache.stats().hits == 1
    clock.now += 59
    await repo.list(context=ADMIN)
    assert repo.cache.stats().hits == 2
    clock.now += 2
    await repo.list(context=ADMIN)
    assert repo.cache.stats().hits == 2  # expired after cache_ttl
    # enable_statistics: latency per operation.
    stats = await repo.get_statistics(context=ADMIN)
    assert stats.latency["list"].count == 4


async def test_audit_is_bounded_by_audit_max_entries() -> None:
    repo = SecureRepo(inner(audit_max_entries=3))
    for i in range(1, 6):
        await repo.update(i, {"name": f"n{i}"})
    log = await repo.get_audit_log()
    assert [e.entity_id for e in log] == ["5", "4", "3"]  # newest first, the oldest dropped
    assert repo.audit_logger is not None
    assert isinstance(repo.audit_logger.sink, MemoryAuditSink)
    assert repo.audit_logger.sink.dropped == 2
    assert repo.audit_logger.policy == "buffer"


async def test_enable_audit_false_means_no_log_and_a_clear_error() -> None:
    repo = SecureRepo(inner(enable_audit=False))
    assert repo.audit_logger is None
    await repo.update(1, {"name": "x"})
    with pytest.raises(XRepoConfigurationError, match=r"auditing is off .*enable_audit=False"):
        await repo.get_audit_log()


async def test_an_audit_logger_given_wins_over_the_default_log() -> None:
    sink = MemoryAuditSink()
    repo = SecureRepo(inner(), audit=AuditLogger(sink, policy="fail"))
    await repo.update(1, {"name": "x"})
    assert repo.audit_logger is not None
    assert repo.audit_logger.sink is sink
    assert len(sink) == 1


async def test_cache_follows_cache_enabled() -> None:
    assert SecureRepo(inner()).cache is None  # off by default
    repo = SecureRepo(inner(cache_enabled=True, cache_ttl=5))
    assert repo.cache is not None
    await repo.count()
    await repo.update(1, {"name": "changed"})  # a write drops the cached reads
    assert await repo.count({"name": "changed"}) == 1
    await repo.count({"name": "changed"})
    assert repo.cache.stats().hits == 1


async def test_metadata_cache_ttl_applies_to_a_cache_given() -> None:
    cache = CacheManager.memory(default_ttl=300)
    repo = SecureRepo(inner(cache_ttl=7), cache=cache)
    clock = FakeClock()
    cache.backend._clock = clock  # type: ignore[attr-defined]
    await repo.list()
    clock.now += 8
    await repo.list()
    assert cache.stats().hits == 0  # 7 s, not the cache's own 300
    # Without cache_ttl in the metadata, the cache's default stays.
    other = SecureRepo(inner(), cache=CacheManager.memory(default_ttl=300))
    assert other.cache_ttl is None


async def test_enable_statistics_false_keeps_no_latency() -> None:
    repo = SecureRepo(inner(enable_statistics=False))
    await repo.list()
    assert not repo.latency.enabled
    assert (await repo.get_statistics()).latency == {}
    on = SecureRepo(inner())
    await on.list()
    assert (await on.get_statistics()).latency["list"].count == 1


@pytest.mark.parametrize(
    ("metadata", "given", "message"),
    [
        ({"enable_audit": False}, {"audit": AuditLogger(MemoryAuditSink())}, "enable_audit=False"),
        ({"cache_enabled": False}, {"cache": CacheManager.memory()}, "cache_enabled=False"),
        ({"enable_statistics": False}, {"latency": LatencyRecorder()}, "enable_statistics=False"),
        ({}, {"cache_ttl": 5}, "cache_ttl= was given without a cache"),
        ({}, {"cache": CacheManager.memory(), "cache_ttl": 0}, "positive number"),
        ({}, {"cache": CacheManager.memory(), "cache_ttl": "60"}, "positive number"),
        ({}, {"cache": CacheManager.memory(), "cache_ttl": True}, "positive number"),
        ({}, {"latency": "fast"}, "latency must be a LatencyRecorder"),
    ],
)
def test_contradictions_and_wrong_types_are_errors(
    metadata: dict[str, Any], given: dict[str, Any], message: str
) -> None:
    with pytest.raises(XRepoConfigurationError, match=message):
        SecureRepo(inner(**metadata), **given)


# -- the direct path and the factory path agree ----------------------------------------------
@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"enable_audit": False},
        {"audit_max_entries": 7},
        {"cache_enabled": True, "cache_ttl": 42},
        {"enable_statistics": False, "enable_audit": False, "cache_enabled": True},
    ],
)
async def test_direct_and_factory_paths_build_the_same_components(
    metadata: dict[str, Any],
) -> None:
    direct = SecureRepo(inner(**metadata), acl=RULES)
    built = await XRepoFactory.create(
        data=ROWS, model_class=User, metadata=RepoMetadata(name="users", **metadata), acl=RULES
    )
    assert isinstance(built, SecureRepo)
    assert components(direct) == components(built)


def test_metadata_components_leaves_what_is_given() -> None:
    repo = inner(cache_enabled=True)
    logger = AuditLogger(MemoryAuditSink())
    cache = CacheManager.memory()
    latency = LatencyRecorder()
    audit, got_cache, ttl, got_latency = metadata_components(
        repo, audit=logger, cache=cache, cache_ttl=9, latency=latency
    )
    assert (audit, got_cache, ttl, got_latency) == (logger, cache, 9, latency)
    audit, got_cache, ttl, got_latency = metadata_components(repo)
    assert audit is not None
    assert got_cache is repo.cache  # the repository's own memory cache, shared
    assert ttl == 300
    assert got_latency.enabled
