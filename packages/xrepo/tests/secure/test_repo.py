"""SecureRepo over the in-memory engine: ACL bypass attempts, audit completeness, caching."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from xobj_prototype import XObjPrototype
from xrepo import (
    MaterializedRepo,
    RepoContext,
    RepoMetadata,
    XRepoConfigurationError,
    XRepoPermissionError,
    XRepoValidationError,
)
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.audit import (
    AuditEntry,
    AuditFilter,
    AuditLogger,
    AuditSink,
    MemoryAuditSink,
    XRepoAuditError,
)
from xrepo.cache import CacheManager
from xrepo.secure import SecureRepo


class Doc(XObjPrototype):
    id: int | None = None
    owner: str
    team: str = "a"
    title: str
    salary: int = 0
    version: int | None = None
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


class Order(XObjPrototype):
    id: int
    doc_id: int
    owner: str
    cost: int
    margin: int = 0


def seed() -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "owner": "u1" if i % 2 else "u2",
            "team": "a" if i <= 5 else "b",
            "title": f"t{i}",
            "salary": i * 100,
        }
        for i in range(1, 11)
    ]


ORDERS = [
    {"id": 100 + i, "doc_id": i, "owner": "u1" if i % 3 else "u2", "cost": i} for i in range(1, 11)
]

RULES = [
    ACLRule(role="admin", permissions=["admin"]),
    ACLRule(
        role="user",
        permissions=["read", "list", "create", "update", "delete"],
        conditions={
            "rows": {"owner": "$user.id"},
            "hidden_fields": ["salary"],
            "readonly_fields": ["owner", "team"],
        },
    ),
    ACLRule(role="lead", permissions=["list", "read"], conditions={"team": "$user.team"}),
]

U1 = RepoContext(user_id="u1", roles=("user",))
U2 = RepoContext(user_id="u2", roles=("user",))
ADMIN = RepoContext(user_id="root", roles=("admin",))
LEAD_A = RepoContext(user_id="l", roles=("lead",), attributes={"team": "a"})
NOBODY = RepoContext(user_id="x", roles=("guest",))


class FlakySink(AuditSink):
    """A sink that can be switched off (the state of a real one whose server is down)."""

    def __init__(self) -> None:
        self.inner = MemoryAuditSink()
        self.down = False

    async def write(self, entries: Sequence[AuditEntry]) -> None:
        if self.down:
            raise ConnectionError("audit store unreachable")
        await self.inner.write(entries)

    async def query(self, filters: AuditFilter) -> list[AuditEntry]:
        return await self.inner.query(filters)


def make(
    *,
    audit: AuditLogger | None = None,
    cache: CacheManager | None = None,
    lookups: dict[str, Any] | None = None,
) -> tuple[SecureRepo[Doc], MaterializedRepo[Doc]]:
    orders = MaterializedRepo(model_class=Order, data=ORDERS)
    inner = MaterializedRepo(model_class=Doc, data=seed(), related={"orders": orders})
    policy = ACLPolicy(RULES, lookups=lookups)
    if lookups:
        for name in lookups:
            policy.set_lookup_fields(name, orders.fields)
    return SecureRepo(inner, acl=policy, audit=audit, cache=cache), inner


async def entries(logger: AuditLogger) -> list[AuditEntry]:
    return list(reversed(await logger.get_audit_log(limit=1000)))


# -- row-level ---------------------------------------------------------------------------------
async def test_rows_are_scoped_everywhere() -> None:
    repo, _ = make()
    mine = [d.id for d in await repo.list(context=U1, limit=None)]
    assert mine == [1, 3, 5, 7, 9]
    assert await repo.count(context=U1) == 5
    assert await repo.count(context=ADMIN) == 10
    assert await repo.exists(2, context=U1) is False
    assert await repo.exists(3, context=U1) is True
    assert await repo.read(2, context=U1) is None
    assert await repo.find_one({"title": "t2"}, context=U1) is None
    assert await repo.distinct("owner", context=U1) == ["u1"]
    assert await repo.distinct("team", context=LEAD_A) == ["a"]
    # $or cannot widen the scope: it is ANDed with it
    assert await repo.count({"$or": [{"owner": "u2"}, {"id": {"$gte": 0}}]}, context=U1) == 5
    groups = await repo.aggregate([{"$group": {"_id": "$owner", "n": {"$sum": 1}}}], context=U1)
    assert groups == [{"_id": "u1", "n": 5}]


async def test_writes_are_scoped() -> None:
    repo, inner = make()
    assert await repo.update(2, {"title": "stolen"}, context=U1) is None
    assert (await inner.read(2)).title == "t2"  # type: ignore[union-attr]
    assert await repo.delete(2, context=U1) is False
    assert await inner.read(2) is not None
    assert await repo.bulk_delete([1, 2, 3], context=U1) == 2
    assert await inner.read(2) is not None
    assert await repo.bulk_update([(5, {"title": "x"}), (6, {"title": "y"})], context=U1) == 1
    assert (await inner.read(6)).title == "t6"  # type: ignore[union-attr]


async def test_create_must_land_inside_the_scope() -> None:
    policy = ACLPolicy(
        [ACLRule(role="user", permissions=["create", "list"], conditions={"owner": "$user.id"})]
    )
    inner = MaterializedRepo(model_class=Doc, data=[])
    repo = SecureRepo(inner, acl=policy)
    with pytest.raises(XRepoPermissionError, match="outside"):
        await repo.create({"owner": "u2", "title": "x"}, context=U1)
    with pytest.raises(XRepoPermissionError, match="item 1"):
        await repo.bulk_create(
            [{"owner": "u1", "title": "a"}, {"owner": "u2", "title": "b"}], context=U1
        )
    assert len(inner) == 0
    made = await repo.create({"owner": "u1", "title": "ok"}, context=U1)
    assert made.owner == "u1"


async def test_update_cannot_move_a_record_out_of_scope() -> None:
    policy = ACLPolicy(
        [ACLRule(role="user", permissions=["update", "list"], conditions={"owner": "$user.id"})]
    )
    inner = MaterializedRepo(model_class=Doc, data=seed())
    repo = SecureRepo(inner, acl=policy)
    with pytest.raises(XRepoPermissionError, match="outside"):
        await repo.update(1, {"owner": "u2"}, context=U1)
    assert (await inner.read(1)).owner == "u1"  # type: ignore[union-attr]
    updated = await repo.update(1, {"title": "fine"}, context=U1)
    assert updated is not None
    assert updated.title == "fine"


# -- column-level ------------------------------------------------------------------------------
async def test_hidden_fields_are_removed() -> None:
    repo, _ = make()
    docs = await repo.list(context=U1)
    assert "salary" not in docs[0].model_dump()
    assert not hasattr(docs[0], "salary")
    one = await repo.read(1, context=U1)
    assert one is not None
    assert "salary" not in one.model_dump()
    raw = await repo.aggregate([{"$match": {"id": 1}}], context=U1)
    assert "salary" not in raw[0]
    admin = await repo.read(1, context=ADMIN)
    assert admin is not None
    assert admin.salary == 100


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda r: r.list({"salary__gt": 500}, context=U1), "filter"),
        (lambda r: r.list({"$or": [{"salary": 100}]}, context=U1), "filter"),
        (lambda r: r.list({"$not": {"salary": {"$gt": 1}}}, context=U1), "filter"),
        (lambda r: r.count({"salary": 300}, context=U1), "count"),
        (lambda r: r.find_one({"salary": 300}, context=U1), "find_one"),
        (lambda r: r.list(sort="-salary", context=U1), "sort"),
        (lambda r: r.list(sort=[("salary", 1)], context=U1), "sort"),
        (lambda r: r.find_one({}, sort="salary", context=U1), "sort"),
        (lambda r: r.distinct("salary", context=U1), "distinct"),
        (lambda r: r.distinct("title", {"salary": 1}, context=U1), "distinct filter"),
        (lambda r: r.aggregate([{"$match": {"salary": {"$gt": 1}}}], context=U1), "$match"),
        (lambda r: r.aggregate([{"$sort": {"salary": -1}}], context=U1), "$sort"),
        (lambda r: r.aggregate([{"$group": {"_id": "$salary"}}], context=U1), "group key"),
        (
            lambda r: r.aggregate([{"$group": {"_id": {"s": "$salary"}}}], context=U1),
            "group key",
        ),
        (
            lambda r: r.aggregate(
                [{"$group": {"_id": None, "m": {"$max": "$salary"}}}], context=U1
            ),
            "accumulator",
        ),
        (lambda r: r.aggregate([{"$project": {"s": "$salary"}}], context=U1), "$project"),
        (lambda r: r.aggregate([{"$project": {"salary": 1}}], context=U1), "$project"),
        (lambda r: r.aggregate([{"$unwind": "$salary"}], context=U1), "$unwind"),
        (lambda r: r.update(1, {"salary": 1}, context=U1), "write hidden"),
        (lambda r: r.update(1, {"owner": "u1"}, context=U1), "write readonly"),
        (lambda r: r.create({"owner": "u1", "title": "x", "salary": 5}, context=U1), "create"),
        (lambda r: r.update(1, {"team": "b"}, context=U1), "update readonly"),
        (lambda r: r.bulk_update([(1, {"team": "b"})], context=U1), "bulk_update"),
    ],
)
async def test_hidden_field_probes_are_refused(call: Any, what: str) -> None:
    logger = AuditLogger(MemoryAuditSink())
    repo, inner = make(audit=logger)
    before = [d.model_dump() for d in await inner.list(limit=None)]
    with pytest.raises(XRepoPermissionError):
        await call(repo)
    assert [d.model_dump() for d in await inner.list(limit=None)] == before, what
    log = await entries(logger)
    assert len(log) == 1, what
    assert log[0].outcome == "denied"
    assert log[0].user_id == "u1"


async def test_renamed_outputs_are_not_confused_with_hidden_fields() -> None:
    repo, _ = make()
    out = await repo.aggregate(
        [{"$project": {"salary": "$title"}}, {"$match": {"salary": "t1"}}], context=U1
    )
    assert out == [{"salary": "t1"}]


# -- $lookup -----------------------------------------------------------------------------------
async def test_lookup_needs_a_declared_source() -> None:
    repo, _ = make()
    pipeline = [
        {"$lookup": {"from": "orders", "localField": "id", "foreignField": "doc_id", "as": "o"}}
    ]
    with pytest.raises(XRepoPermissionError, match="lookups"):
        await repo.aggregate(pipeline, context=U1)
    open_repo, _ = make(lookups={"orders": None})
    out = await open_repo.aggregate(pipeline, context=U1)
    assert [r["id"] for r in out] == [1, 3, 5, 7, 9]
    assert all(len(r["o"]) == 1 for r in out)


async def test_lookup_foreign_hidden_fields() -> None:
    orders_policy = ACLPolicy(
        [ACLRule(role="user", permissions=["list"], conditions={"hidden_fields": ["margin"]})]
    )
    repo, _ = make(lookups={"orders": orders_policy})
    look = {"$lookup": {"from": "orders", "localField": "id", "foreignField": "doc_id", "as": "o"}}
    out = await repo.aggregate([look], context=U1)
    assert all("margin" not in o for r in out for o in r["o"])
    assert all("cost" in o for r in out for o in r["o"])
    unwound = await repo.aggregate([look, {"$unwind": "$o"}], context=U1)
    assert all("margin" not in r["o"] for r in unwound)
    for probe in (
        [look, {"$match": {"o.margin": 0}}],
        [look, {"$unwind": "$o"}, {"$group": {"_id": None, "m": {"$sum": "$o.margin"}}}],
        [look, {"$project": {"x": "$o"}}],
        [look, {"$sort": {"o.margin": 1}}],
    ):
        with pytest.raises(XRepoPermissionError):
            await repo.aggregate(probe, context=U1)
    hidden_key = {
        "$lookup": {"from": "orders", "localField": "id", "foreignField": "margin", "as": "o"}
    }
    with pytest.raises(XRepoPermissionError):
        await repo.aggregate([hidden_key], context=U1)
    hidden_local = {
        "$lookup": {"from": "orders", "localField": "salary", "foreignField": "cost", "as": "o"}
    }
    with pytest.raises(XRepoPermissionError):
        await repo.aggregate([hidden_local], context=U1)


async def test_lookup_foreign_rows_are_scoped_or_refused() -> None:
    orders_policy = ACLPolicy(
        [ACLRule(role="user", permissions=["list"], conditions={"owner": "$user.id"})]
    )
    repo, _ = make(lookups={"orders": orders_policy})
    look = {"$lookup": {"from": "orders", "localField": "id", "foreignField": "doc_id", "as": "o"}}
    out = await repo.aggregate([look], context=U1)
    assert all(o["owner"] == "u1" for r in out for o in r["o"])
    # order 103 (doc 3) belongs to u2: doc 3's lookup must come back empty
    assert next(r for r in out if r["id"] == 3)["o"] == []


async def test_lookup_source_refusing_the_caller() -> None:
    orders_policy = ACLPolicy([ACLRule(role="admin", permissions=["admin"])])
    repo, _ = make(lookups={"orders": orders_policy})
    look = {"$lookup": {"from": "orders", "localField": "id", "foreignField": "doc_id", "as": "o"}}
    with pytest.raises(XRepoPermissionError, match="may not list"):
        await repo.aggregate([look], context=U1)


# -- refusals and audit ------------------------------------------------------------------------
async def test_every_write_and_refusal_leaves_one_entry() -> None:
    logger = AuditLogger(MemoryAuditSink())
    repo, _ = make(audit=logger)
    await repo.list(context=U1)  # reads are not audited
    created = await repo.create({"owner": "u1", "title": "new"}, context=U1)
    await repo.update(created.id, {"title": "newer"}, context=U1)
    await repo.bulk_create(
        [{"owner": "u1", "title": "b1"}, {"owner": "u1", "title": "b2"}], context=U1
    )
    await repo.bulk_update([(1, {"title": "x"}), (3, {"title": "y"})], context=U1)
    await repo.delete(1, context=U1)
    await repo.restore(1, context=U1)
    await repo.bulk_delete([3, 5], context=U1)
    await repo.delete(7, soft=False, context=U1)
    with pytest.raises(XRepoPermissionError):
        await repo.list(context=NOBODY)
    with pytest.raises(XRepoPermissionError):
        await repo.delete(1, context=LEAD_A)
    log = await entries(logger)
    assert [(e.action, e.outcome) for e in log] == [
        ("create", "success"),
        ("update", "success"),
        ("bulk_create", "success"),
        ("bulk_update", "success"),
        ("delete", "success"),
        ("restore", "success"),
        ("bulk_delete", "success"),
        ("delete", "success"),
        ("list", "denied"),
        ("delete", "denied"),
    ]
    update = log[1]
    assert update.changes is not None
    assert update.changes["title"] == {"from": "new", "to": "newer"}
    assert update.entity_id == str(created.id)
    assert update.user_id == "u1"
    assert log[2].metadata["count"] == 2
    assert log[6].metadata["ids"] == [3, 5]
    assert log[7].metadata["soft"] is False
    admin_view = await repo.get_audit_log({"outcome": "denied"}, context=ADMIN)
    assert len(admin_view) == 2
    with pytest.raises(XRepoPermissionError):
        await repo.get_audit_log(context=U1)


async def test_failed_write_leaves_one_failure_entry() -> None:
    logger = AuditLogger(MemoryAuditSink())
    repo, _ = make(audit=logger)
    with pytest.raises(Exception, match="exists already"):
        await repo.create({"id": 1, "owner": "u1", "title": "dup"}, context=U1)
    log = await entries(logger)
    assert [(e.action, e.outcome) for e in log] == [("create", "failure")]
    assert log[0].error is not None


async def test_secrets_never_reach_the_audit_log() -> None:
    from xobj_prototype import SecretField

    class Account(XObjPrototype):
        id: int | None = None
        name: str
        api_key: str = SecretField()

    sink = MemoryAuditSink()
    repo = SecureRepo(MaterializedRepo(model_class=Account, data=[]), audit=AuditLogger(sink))
    made = await repo.create({"name": "a", "api_key": "sk-very-secret"})
    await repo.update(made.id, {"api_key": "sk-other-secret"})
    dumped = "".join(e.model_dump_json() for e in await sink.query(AuditFilter()))
    assert "sk-very-secret" not in dumped
    assert "sk-other-secret" not in dumped


async def test_audit_sink_down_with_fail_policy_writes_nothing() -> None:
    sink = FlakySink()
    logger = AuditLogger(sink, policy="fail")
    repo, inner = make(audit=logger)
    snapshot = [d.model_dump() for d in await inner.list(limit=None, include_deleted=True)]
    sink.down = True
    with pytest.raises(XRepoAuditError):
        await repo.create({"owner": "u1", "title": "new"}, context=U1)
    with pytest.raises(XRepoAuditError):
        await repo.update(1, {"title": "changed"}, context=U1)
    with pytest.raises(XRepoAuditError):
        await repo.bulk_update([(1, {"title": "a"}), (3, {"title": "b"})], context=U1)
    with pytest.raises(XRepoAuditError):
        await repo.delete(1, context=U1)
    with pytest.raises(XRepoAuditError):
        await repo.delete(3, soft=False, context=U1)
    with pytest.raises(XRepoAuditError):
        await repo.bulk_create([{"owner": "u1", "title": "x"}], context=U1)
    after = [d.model_dump() for d in await inner.list(limit=None, include_deleted=True)]
    assert after == snapshot
    sink.down = False
    await repo.update(1, {"title": "ok"}, context=U1)
    assert len(await sink.query(AuditFilter())) == 1


async def test_audit_sink_down_with_buffer_policy_delivers_later() -> None:
    sink = FlakySink()
    logger = AuditLogger(sink, policy="buffer", retry_initial=0.01, retry_max=0.05)
    repo, inner = make(audit=logger)
    sink.down = True
    made = await repo.create({"owner": "u1", "title": "buffered"}, context=U1)
    assert await inner.read(made.id) is not None
    assert await sink.query(AuditFilter()) == []
    assert len(logger.pending()) == 1
    sink.down = False
    assert await logger.flush()
    stored = await sink.query(AuditFilter())
    assert [(e.action, e.entity_id) for e in stored] == [("create", str(made.id))]
    await logger.close()


# -- cache -------------------------------------------------------------------------------------
async def test_cache_never_shares_results_between_different_access() -> None:
    cache = CacheManager.memory()
    repo, _ = make(cache=cache)
    assert [d.id for d in await repo.list(context=U1)] == [1, 3, 5, 7, 9]
    assert [d.id for d in await repo.list(context=U2)] == [2, 4, 6, 8, 10]
    assert await repo.count(context=U1) == 5
    assert await repo.count(context=ADMIN) == 10
    # repeated: served from the cache, still per caller
    hits = cache.stats().hits
    assert [d.id for d in await repo.list(context=U2)] == [2, 4, 6, 8, 10]
    assert [d.id for d in await repo.list(context=U1)] == [1, 3, 5, 7, 9]
    assert cache.stats().hits == hits + 2
    admin_doc = await repo.read(1, context=ADMIN)
    user_doc = await repo.read(1, context=U1)
    assert admin_doc is not None
    assert user_doc is not None
    assert admin_doc.salary == 100
    assert "salary" not in user_doc.model_dump()


async def test_writes_invalidate_the_cache() -> None:
    repo, _ = make(cache=CacheManager.memory())
    assert (await repo.read(1, context=U1)).title == "t1"  # type: ignore[union-attr]
    await repo.update(1, {"title": "fresh"}, context=U1)
    assert (await repo.read(1, context=U1)).title == "fresh"  # type: ignore[union-attr]
    assert await repo.count(context=U1) == 5
    await repo.delete(1, context=U1)
    assert await repo.count(context=U1) == 4


# -- statistics, configuration -----------------------------------------------------------------
async def test_latency_and_statistics() -> None:
    repo, _ = make()
    await repo.list(context=U1)
    await repo.count(context=U1)
    with pytest.raises(XRepoPermissionError):
        await repo.list(context=NOBODY)
    snap = repo.latency.snapshot()
    assert snap["list"].count == 2
    stats = await repo.get_statistics(context=ADMIN)
    assert stats.total_count == 10
    assert stats.query_performance["list"] >= 0
    assert stats.field_cardinalities["owner"] == 2
    with pytest.raises(XRepoPermissionError):
        await repo.get_statistics(context=U1)


def test_configuration_errors() -> None:
    inner = MaterializedRepo(model_class=Doc, data=[])
    with pytest.raises(XRepoConfigurationError):
        SecureRepo("not a repo")  # type: ignore[arg-type]
    with pytest.raises(XRepoConfigurationError):
        SecureRepo(inner, acl="admin")  # type: ignore[arg-type]
    with pytest.raises(XRepoConfigurationError):
        SecureRepo(inner, audit=MemoryAuditSink())  # type: ignore[arg-type]
    with pytest.raises(XRepoConfigurationError):
        SecureRepo(inner, cache={})  # type: ignore[arg-type]
    secured = SecureRepo(inner, acl=RULES)
    with pytest.raises(XRepoConfigurationError):
        SecureRepo(secured)
    with pytest.raises(XRepoConfigurationError, match="unknown field"):
        SecureRepo(
            inner, acl=[ACLRule(role="r", permissions=["list"], conditions={"fields": ["nope"]})]
        )


async def test_no_audit_logger_configured() -> None:
    # enable_audit (the default) without audit=: a bounded in-memory log, as the factory does.
    audited = SecureRepo(MaterializedRepo(model_class=Doc, data=seed()))
    await audited.update(1, {"title": "x"})
    assert [e.action for e in await audited.get_audit_log()] == ["update"]
    meta = RepoMetadata(name="docs", enable_audit=False)
    repo = SecureRepo(MaterializedRepo(model_class=Doc, data=seed(), metadata=meta))
    with pytest.raises(XRepoConfigurationError, match="auditing is off"):
        await repo.get_audit_log()
    assert await repo.count() == 10


async def test_restore_reads_back_fresh_data_despite_the_cache() -> None:
    repo, _ = make(cache=CacheManager.memory(), audit=AuditLogger(MemoryAuditSink()))
    await repo.delete(1, context=U1)
    assert await repo.read(1, context=U1) is None  # cached: gone
    restored = await repo.restore(1, context=U1)
    assert restored is not None
    assert restored.id == 1
    again = await repo.read(1, context=U1)
    assert again is not None


# -- factory wiring ----------------------------------------------------------------------------
async def test_factory_options_wrap_in_a_secure_repo() -> None:
    from xrepo import XRepoFactory

    logger = AuditLogger(MemoryAuditSink())
    repo = await XRepoFactory.create(
        data=seed(),
        model_class=Doc,
        name="docs",
        acl=RULES,
        audit=logger,
        cache=CacheManager.memory(),
    )
    assert isinstance(repo, SecureRepo)
    assert await repo.count(context=U1) == 5
    with pytest.raises(XRepoPermissionError):
        await repo.list(context=NOBODY)
    assert len(await repo.get_audit_log(context=ADMIN)) == 1
    plain = await XRepoFactory.create(data=seed(), model_class=Doc)
    assert not isinstance(plain, SecureRepo)
    assert await plain.get_audit_log() == []  # enable_audit: its own bounded in-memory log
    unaudited = await XRepoFactory.create(data=seed(), model_class=Doc, enable_audit=False)
    with pytest.raises(XRepoConfigurationError, match="auditing is off"):
        await unaudited.get_audit_log()
    stats = await plain.get_statistics()
    assert stats.total_count == 10
    with pytest.raises(XRepoConfigurationError, match="unknown option"):
        XRepoFactory.secure(plain, acls=RULES)


async def test_metadata_acl_rules_are_applied() -> None:
    from xrepo import RepoMetadata, XRepoFactory

    meta = RepoMetadata(
        name="docs",
        acl_rules=[{"role": "user", "permissions": ["list"], "conditions": {"owner": "$user.id"}}],
    )
    repo = await XRepoFactory.create(data=seed(), model_class=Doc, metadata=meta)
    assert isinstance(repo, SecureRepo)
    assert await repo.count(context=U2) == 5
    with pytest.raises(XRepoPermissionError):
        await repo.count(context=ADMIN)  # admin has no rule here


async def test_factory_aggregate_repo() -> None:
    from xrepo import XRepoFactory, XRepoReadOnlyError

    agg = await XRepoFactory.create_aggregate_repo(
        "by_owner",
        [MaterializedRepo(model_class=Doc, data=seed())],
        {"group_by": "owner", "aggregations": {"n": "count", "pay": {"sum": "salary"}}},
        acl=[ACLRule(role="user", permissions=["list"], conditions={"owner": "$user.id"})],
    )
    assert isinstance(agg, SecureRepo)
    rows = await agg.list(context=U1)
    assert [(r.owner, r.n, r.pay) for r in rows] == [("u1", 5, 2500.0)]
    with pytest.raises(XRepoPermissionError):
        await agg.create({"owner": "u1"}, context=U1)
    with pytest.raises(XRepoReadOnlyError):
        await agg.inner.create({"owner": "u1"})


async def test_delete_permission_alone_allows_soft_delete() -> None:
    policy = ACLPolicy(
        [ACLRule(role="cleaner", permissions=["list", "delete"], conditions={"owner": "$user.id"})]
    )
    inner = MaterializedRepo(model_class=Doc, data=seed())
    repo = SecureRepo(inner, acl=policy)
    ctx = RepoContext(user_id="u1", roles=("cleaner",))
    assert await repo.delete(1, context=ctx) is True
    assert await repo.delete(2, context=ctx) is False
    assert await repo.count(context=ctx) == 4
    with pytest.raises(XRepoPermissionError):
        await repo.update(3, {"title": "x"}, context=ctx)


# -- the caller: one principal type, resolved once -----------------------------------------------
async def test_the_principal_is_the_stacks_one_principal_type() -> None:
    import xobj_prototype
    from xrepo.acl import ContextResolver, Principal

    assert Principal is xobj_prototype.Principal
    found = await ContextResolver().resolve(
        RepoContext(user_id="u1", roles=("user",), request_id="r-1", attributes={"team": "a"})
    )
    assert (found.id, found.roles, found.request_id) == ("u1", frozenset({"user"}), "r-1")
    assert found.attributes == {"team": "a"}


@pytest.mark.parametrize(
    ("user_id", "roles"),
    [("line\nbreak", ("user",)), ("   ", ("user",)), ("u1", ("*",)), ("u1", ("",))],
)
def test_a_context_whose_identity_is_not_valid_cannot_be_built(
    user_id: str, roles: tuple[str, ...]
) -> None:
    # RepoContext is the stack's Principal: the application cannot build a forged identity.
    with pytest.raises(ValidationError):
        RepoContext(user_id=user_id, roles=roles)


@pytest.mark.parametrize("user_id", ["line\nbreak", "   ", "", "x" * 300, "tab\there"])
async def test_a_user_id_that_is_not_valid_is_refused_and_audited(user_id: str) -> None:
    logger = AuditLogger(MemoryAuditSink())
    repo, _ = make(audit=logger)
    with pytest.raises(XRepoPermissionError, match="could not be identified"):
        await repo.list(user_id=user_id)
    (entry,) = await entries(logger)
    assert (entry.action, entry.outcome) == ("list", "denied")
    assert "identity is not valid" in (entry.error or "")
    # The refused id is not written into the log as given (it may forge a log line).
    assert entry.user_id is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context": {"user_id": "u1"}}, "context must be a RepoContext"),
        ({"user_id": 42}, "user_id must be a string"),
    ],
)
async def test_a_wrong_caller_type_is_a_validation_error_not_a_refusal(
    kwargs: dict[str, Any], message: str
) -> None:
    # A caller's programming error names what was wrong; it is not an unidentified caller.
    logger = AuditLogger(MemoryAuditSink())
    repo, _ = make(audit=logger)
    with pytest.raises(XRepoValidationError, match=message):
        await repo.list(**kwargs)
    assert await entries(logger) == []
