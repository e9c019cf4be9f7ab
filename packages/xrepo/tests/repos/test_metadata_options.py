"""RepoMetadata's options as the specification writes them: enable_audit, enable_statistics,
cache_enabled, cache_ttl (and the bounded audit log), on a repository built directly and by
XRepoFactory.create; an unknown option, or a value of the wrong type, is a clear error."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from xrepo import (
    MaterializedRepo,
    RepoContext,
    RepoMetadata,
    XRepoConfigurationError,
    XRepoFactory,
)
from xrepo.acl import ACLRule
from xrepo.audit import AuditEntry, AuditLogger, AuditRing, MemoryAuditSink
from xrepo.secure import SecureRepo


class User(BaseModel):
    id: int
    name: str
    email: str = ""
    password: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


ROWS = [{"id": i, "name": f"user{i}", "email": f"u{i}@example.org"} for i in range(1, 6)]
ADMIN = RepoContext(user_id="root", roles=("admin",))


def spec_metadata(**overrides: Any) -> RepoMetadata:
    """The specification's RepoMetadata, every field spelled out as the document lists it."""
    fields: dict[str, Any] = {
        "name": "users",
        "description": "Application users",
        "resource_name": "main_db",
        "model_name": "User",
        "indexes": [["email"]],
        "constraints": [],
        "enable_audit": True,
        "enable_statistics": True,
        "cache_enabled": True,
        "cache_ttl": 300,
        "acl_rules": [],
        "soft_delete": True,
        "auto_timestamps": True,
    }
    fields.update(overrides)
    return RepoMetadata(**fields)


class FakeClock:
    """Monotonic seconds under the test's control (the memory cache's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the specification's example, built directly and by the factory -------------------------------
@pytest.mark.parametrize("build", ["direct", "factory"])
async def test_spec_metadata_is_honoured(build: str) -> None:
    meta = spec_metadata(cache_ttl=60)
    if build == "direct":
        repo: Any = MaterializedRepo(model_class=User, data=ROWS, metadata=meta)
    else:
        repo = await XRepoFactory.create(data=ROWS, model_class=User, metadata=meta)
    assert not isinstance(repo, SecureRepo)  # no wrapper needed for the metadata's options

    # enable_audit: every write is in the log, newest first, as the spec's AuditEntry
    await repo.create({"id": 6, "name": "Ada"}, user_id="u1")
    await repo.update(6, {"name": "Ada L."}, user_id="u1")
    await repo.delete(6, user_id="u2")
    log = await repo.get_audit_log()
    assert [e.operation for e in log] == ["delete", "update", "create"]
    assert [e.user_id for e in log] == ["u2", "u1", "u1"]
    assert all(isinstance(e, AuditEntry) and e.repo == "users" for e in log)
    assert log[1].entity_id == "6"
    assert log[1].changes is not None
    assert log[1].changes["name"] == "Ada L."
    assert [e.operation for e in await repo.get_audit_log({"operation": "update"})] == ["update"]
    assert len(await repo.get_audit_log(limit=2)) == 2

    # enable_statistics: each operation's latency is collected
    await repo.list({"name__startswith": "user"})
    await repo.count()
    stats = await repo.get_statistics()
    assert stats.latency["create"].count == 1
    assert stats.latency["list"].count == 1
    assert stats.latency["count"].count == 1
    assert set(stats.query_performance) >= {"create", "update", "delete", "list", "count"}

    # cache_enabled / cache_ttl: reads are served from a memory cache for 60 seconds
    assert repo.cache is not None
    clock = FakeClock()
    repo.cache.backend._clock = clock  # the memory backend's clock, under the test's control
    assert (await repo.read(1)).name == "user1"
    # A change behind the repository's back (the primitive, as another process would):
    # cached reads do not see it until the TTL has passed.
    await repo._update_where([(repo._id_node(1, "test"), {"name": "renamed"}, None)])
    clock.now += 59
    assert (await repo.read(1)).name == "user1"
    assert repo.cache.stats().hits >= 1
    clock.now += 2
    assert (await repo.read(1)).name == "renamed"


async def test_a_write_through_the_repository_invalidates_its_cached_reads() -> None:
    repo = MaterializedRepo(model_class=User, data=ROWS, metadata=spec_metadata())
    assert await repo.count() == 5
    assert [u.id for u in await repo.list(sort=[("id", -1)], limit=1)] == [5]
    await repo.create({"id": 7, "name": "new"})
    assert await repo.count() == 6
    assert [u.id for u in await repo.list(sort=[("id", -1)], limit=1)] == [7]
    await repo.update(7, {"name": "newer"})
    assert (await repo.find_one({"id": 7})).name == "newer"
    assert await repo.bulk_update([(1, {"name": "b1"}), (2, {"name": "b2"})]) == 2
    assert await repo.distinct("name", {"id__in": [1, 2]}) == ["b1", "b2"]
    await repo.delete(7)
    assert not await repo.exists(7)
    assert (await repo.restore(7)) is not None
    assert await repo.exists(7)
    await repo.bulk_delete([1, 2], soft=False)
    rows = await repo.aggregate([{"$group": {"_id": None, "n": {"$sum": 1}}}])
    assert rows[0]["n"] == 4


async def test_options_off() -> None:
    meta = spec_metadata(enable_audit=False, enable_statistics=False, cache_enabled=False)
    repo = MaterializedRepo(model_class=User, data=ROWS, metadata=meta)
    assert repo.audit_ring is None
    assert repo.latency is None
    assert repo.cache is None
    await repo.update(1, {"name": "x"})
    with pytest.raises(XRepoConfigurationError, match="enable_audit=False"):
        await repo.get_audit_log()
    await repo.list()
    stats = await repo.get_statistics()
    assert stats.query_performance == {}
    assert stats.latency == {}
    assert stats.total_count == 5
    # no cache: a change behind the repository's back shows at once
    await repo._update_where([(repo._id_node(1, "test"), {"name": "renamed"}, None)])
    assert (await repo.read(1)).name == "renamed"


async def test_spec_defaults() -> None:
    meta = RepoMetadata(name="users", resource_name="main_db", model_name="User")
    assert (meta.enable_audit, meta.enable_statistics, meta.cache_enabled, meta.cache_ttl) == (
        True,
        True,
        False,
        300,
    )
    assert meta.audit_max_entries == 10_000
    repo = MaterializedRepo(model_class=User, data=ROWS, metadata=meta)
    assert repo.audit_ring is not None
    assert repo.audit_ring.max_entries == 10_000
    assert repo.latency is not None
    assert repo.cache is None
    plain = MaterializedRepo(model_class=User, data=ROWS)  # no metadata: the same defaults
    await plain.update(1, {"name": "x"})
    assert [e.operation for e in await plain.get_audit_log()] == ["update"]


# -- the bounded audit log ---------------------------------------------------------------------
async def test_audit_log_is_a_bounded_ring() -> None:
    repo = MaterializedRepo(
        model_class=User, data=ROWS, metadata=spec_metadata(audit_max_entries=3)
    )
    for i in range(1, 6):
        await repo.update(i, {"name": f"n{i}"})
    log = await repo.get_audit_log(limit=100)
    assert [e.entity_id for e in log] == ["5", "4", "3"]  # the oldest two were dropped
    assert repo.audit_ring is not None
    assert repo.audit_ring.dropped == 2
    assert len(repo.audit_ring) == 3
    # ids are stable from one read to the next
    assert [e.id for e in await repo.get_audit_log()] == [e.id for e in log]


async def test_audit_log_masks_secrets_and_keeps_the_values_of_its_time() -> None:
    repo = MaterializedRepo(model_class=User, data=[], metadata=spec_metadata())
    await repo.create({"id": 1, "name": "Ada", "password": "hunter2-zq"})
    await repo.update(1, {"name": "Ada L.", "password": "other-zq"})
    (created,) = await repo.get_audit_log({"action": "create"})
    (updated,) = await repo.get_audit_log({"action": "update"})
    assert created.changes is not None
    assert updated.changes is not None
    assert created.changes["name"] == "Ada"  # the value when it was created, not the current
    assert "hunter2-zq" not in created.model_dump_json()
    assert "other-zq" not in updated.model_dump_json()
    assert updated.changes["name"] == "Ada L."


async def test_audit_log_filters_are_validated() -> None:
    repo = MaterializedRepo(model_class=User, data=ROWS)
    await repo.update(1, {"name": "x"}, context=RepoContext(user_id="ü-1", request_id="r1"))
    (entry,) = await repo.get_audit_log({"user_id": "ü-1"})
    assert entry.request_id == "r1"
    assert await repo.get_audit_log({"user_id": "nobody"}) == []
    with pytest.raises(Exception, match="colour"):
        await repo.get_audit_log({"colour": "red"})
    with pytest.raises(Exception, match="limit"):
        await repo.get_audit_log(limit=0)


def test_audit_ring_rejects_a_bad_bound() -> None:
    for bad in (0, -1, True, 2.5, "10"):
        with pytest.raises(ValueError, match="audit_max_entries"):
            AuditRing(bad)  # type: ignore[arg-type]


# -- AuditEntry.operation --------------------------------------------------------------------
def test_audit_entry_operation_is_the_spec_name_of_action() -> None:
    entry = AuditEntry(operation="update", user_id="u1", entity_id=7, changes={"a": 1})
    assert entry.operation == "update"
    assert entry.action == "update"
    dumped = entry.model_dump()
    assert dumped["action"] == "update"
    assert "operation" not in dumped  # stored once, as action: sinks read it back unchanged
    assert AuditEntry.model_validate(dumped) == entry
    assert AuditEntry.model_validate_json(entry.model_dump_json()).operation == "update"
    with pytest.raises(ValidationError, match="frozen"):
        entry.operation = "delete"  # type: ignore[misc]
    assert entry.operation == "update"


# -- the factory ---------------------------------------------------------------------------------
async def test_factory_takes_the_options_as_keywords_or_as_a_dict() -> None:
    repo = await XRepoFactory.create(
        data=ROWS, model_class=User, name="users", cache_enabled=True, cache_ttl=5
    )
    assert repo.cache is not None
    assert repo.metadata.cache_ttl == 5
    quiet = await XRepoFactory.create(
        data=ROWS, model_class=User, enable_audit=False, enable_statistics=False
    )
    assert quiet.audit_ring is None
    assert quiet.latency is None
    from_dict = await XRepoFactory.create(
        data=ROWS,
        model_class=User,
        metadata={"name": "users", "enable_audit": False, "cache_enabled": True, "cache_ttl": 9},
    )
    assert from_dict.audit_ring is None
    assert from_dict.metadata.cache_ttl == 9
    with pytest.raises(XRepoConfigurationError, match="both"):
        await XRepoFactory.create(
            data=ROWS, model_class=User, metadata=spec_metadata(), enable_audit=False
        )


async def test_factory_turns_the_options_into_the_secure_repos_components() -> None:
    rules = [ACLRule(role="admin", permissions=["admin"])]
    repo = await XRepoFactory.create(
        data=ROWS, model_class=User, metadata=spec_metadata(cache_ttl=30), acl=rules
    )
    assert isinstance(repo, SecureRepo)
    assert repo.audit_logger is not None  # enable_audit: a bounded memory log
    assert isinstance(repo.audit_logger.sink, MemoryAuditSink)
    assert repo.cache is not None  # cache_enabled
    await repo.update(1, {"name": "x"}, context=ADMIN)
    (entry,) = await repo.get_audit_log(context=ADMIN)
    assert entry.operation == "update"
    assert entry.changes is not None
    assert entry.changes["name"] == {"from": "user1", "to": "x"}
    await repo.list(context=ADMIN)
    await repo.list(context=ADMIN)
    assert repo.cache.stats().hits == 1
    stats = await repo.get_statistics(context=ADMIN)
    assert stats.latency["list"].count == 2

    off = await XRepoFactory.create(
        data=ROWS,
        model_class=User,
        metadata=spec_metadata(enable_audit=False, enable_statistics=False, cache_enabled=False),
        acl=rules,
    )
    assert isinstance(off, SecureRepo)
    assert off.audit_logger is None
    assert off.cache is None
    await off.list(context=ADMIN)
    assert (await off.get_statistics(context=ADMIN)).latency == {}


async def test_factory_refuses_contradicting_options() -> None:
    with pytest.raises(XRepoConfigurationError, match="enable_audit=False"):
        await XRepoFactory.create(
            data=ROWS,
            model_class=User,
            metadata=spec_metadata(enable_audit=False),
            audit=AuditLogger(MemoryAuditSink()),
        )
    from xrepo.cache import CacheManager

    with pytest.raises(XRepoConfigurationError, match="cache_enabled=False"):
        await XRepoFactory.create(
            data=ROWS,
            model_class=User,
            metadata=spec_metadata(cache_enabled=False),
            cache=CacheManager.memory(),
        )


# -- hostile input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("cache_tll", "did you mean 'cache_ttl'"),
        ("enable_auditing", "did you mean 'enable_audit'"),
        ("cäche_ttl", "did you mean 'cache_ttl'"),
        (" cache_ttl", "did you mean 'cache_ttl'"),
        ("", "known: "),
        ("source_schema", "known: "),
    ],
)
async def test_an_unknown_option_is_an_error_naming_it(key: str, hint: str) -> None:
    with pytest.raises(ValidationError) as info:
        RepoMetadata(**{"name": "users", key: 1})
    message = str(info.value)
    assert f"unknown RepoMetadata option(s) {key!r}" in message
    assert hint in message
    # dict metadata given to the factory goes through the same validation
    with pytest.raises(XRepoConfigurationError) as factory_info:
        await XRepoFactory.create(data=ROWS, model_class=User, metadata={"name": "u", key: 1})
    assert repr(key) in str(factory_info.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cache_ttl", -1, "greater than 0"),
        ("cache_ttl", 0, "greater than 0"),
        ("cache_ttl", "60", "valid integer"),
        ("cache_ttl", True, "valid integer"),
        ("cache_ttl", 1.5, "valid integer"),
        ("cache_ttl", None, "valid integer"),
        ("enable_audit", "yes", "valid boolean"),
        ("enable_audit", 1, "valid boolean"),
        ("enable_statistics", None, "valid boolean"),
        ("cache_enabled", "true", "valid boolean"),
        ("audit_max_entries", 0, "greater than or equal to 1"),
        ("audit_max_entries", -5, "greater than or equal to 1"),
        ("audit_max_entries", "10", "valid integer"),
    ],
)
async def test_wrong_values_are_clear_errors(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        RepoMetadata(**{"name": "users", field: value})
    assert field in str(info.value)
    assert message in str(info.value)
    with pytest.raises(XRepoConfigurationError) as factory_info:
        await XRepoFactory.create(data=ROWS, model_class=User, **{field: value})
    assert field in str(factory_info.value)
    assert message in str(factory_info.value)


def test_cache_needs_a_name_usable_as_a_cache_scope() -> None:
    with pytest.raises(XRepoConfigurationError, match="cache scope"):
        MaterializedRepo(
            model_class=User, data=ROWS, metadata=RepoMetadata(name="my users", cache_enabled=True)
        )


# -- updated_today --------------------------------------------------------------------------------
async def test_updated_today_counts_a_record_created_and_updated_today() -> None:
    repo = MaterializedRepo(model_class=User, data=[])
    await repo.create({"id": 1, "name": "a"})
    await repo.create({"id": 2, "name": "b"})
    stats = await repo.get_statistics()
    assert (stats.created_today, stats.updated_today) == (2, 0)
    await repo.update(1, {"name": "a2"})
    stats = await repo.get_statistics()
    assert (stats.created_today, stats.updated_today) == (2, 1)
    await repo.update(1, {"name": "a3"})  # the same record again: still one record
    assert (await repo.get_statistics()).updated_today == 1
