"""Access control on every backend: row scopes, hidden fields, $lookup, and the cache.

Each test runs on PostgreSQL, MariaDB, SQLite, MongoDB, CSV/JSON files and in memory, through a
``SecureRepo`` around the backend's own repository: the same bypass attempts must fail the same
way everywhere, and what a caller may not see must never come back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from repo_backends import (
    LOOKUP_BACKENDS,
    Doc,
    backend_and_orders,  # noqa: F401 (the backend fixture)
    backend_urls,
    open_backend,
)

from xrepo import RepoContext, XRepo, XRepoPermissionError
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.audit import AuditLogger, MemoryAuditSink
from xrepo.cache import CacheManager
from xrepo.secure import SecureRepo

RULES = [
    ACLRule(role="admin", permissions=["admin"]),
    ACLRule(
        role="user",
        permissions=["read", "list", "create", "update", "delete"],
        conditions={
            "rows": {"owner": "$user.id"},
            "hidden_fields": ["salary"],
            "readonly_fields": ["owner"],
        },
    ),
    ACLRule(role="lead", permissions=["list"], conditions={"team": {"$in": "$user.teams"}}),
]
U1 = RepoContext(user_id="u1", roles=("user",))
U2 = RepoContext(user_id="u2", roles=("user",))
ADMIN = RepoContext(user_id="root", roles=("admin",))
LEAD = RepoContext(user_id="l", roles=("lead",), attributes={"teams": ["b"]})
HOSTILE = RepoContext(user_id="u1' OR '1'='1", roles=("user",))


def secure(repo: XRepo[Doc], **kw: Any) -> SecureRepo[Doc]:
    return SecureRepo(repo, acl=ACLPolicy(RULES, lookups=kw.pop("lookups", None)), **kw)


async def test_row_scope_on_every_read(backend: tuple[str, XRepo[Doc], str]) -> None:
    _, inner, _ = backend
    repo = secure(inner)
    assert [d.id for d in await repo.list(context=U1, limit=None)] == [1, 3, 5, 7, 9]
    assert await repo.count(context=U1) == 5
    assert await repo.count(context=ADMIN) == 10
    assert await repo.count(context=LEAD) == 5
    assert await repo.count(context=HOSTILE) == 0
    assert await repo.exists(2, context=U1) is False
    assert await repo.read(2, context=U1) is None
    assert await repo.find_one({"id": 2}, context=U1) is None
    assert await repo.distinct("owner", context=U1) == ["u1"]
    assert await repo.count({"$or": [{"owner": "u2"}, {"id": {"$gt": 0}}]}, context=U1) == 5
    out = await repo.aggregate(
        [{"$group": {"_id": "$owner", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}], context=U1
    )
    assert out == [{"_id": "u1", "n": 5}]


async def test_hidden_field_is_never_readable(backend: tuple[str, XRepo[Doc], str]) -> None:
    _, inner, _ = backend
    repo = secure(inner)
    docs = await repo.list(context=U1, limit=None)
    assert all("salary" not in d.model_dump() for d in docs)
    rows = await repo.aggregate([{"$match": {"id": 1}}], context=U1)
    assert "salary" not in rows[0]
    probes = [
        lambda: repo.list({"salary__gte": 500}, context=U1),
        lambda: repo.count({"salary": 300}, context=U1),
        lambda: repo.list(sort="-salary", context=U1),
        lambda: repo.distinct("salary", context=U1),
        lambda: repo.aggregate([{"$group": {"_id": "$salary"}}], context=U1),
        lambda: repo.aggregate([{"$group": {"_id": None, "s": {"$sum": "$salary"}}}], context=U1),
        lambda: repo.aggregate([{"$sort": {"salary": 1}}], context=U1),
        lambda: repo.aggregate([{"$project": {"x": "$salary"}}], context=U1),
    ]
    for probe in probes:
        with pytest.raises(XRepoPermissionError):
            await probe()
    admin = await repo.read(3, context=ADMIN)
    assert admin is not None
    assert admin.salary == 300


async def test_writes_stay_in_scope(backend: tuple[str, XRepo[Doc], str]) -> None:
    _, inner, _ = backend
    repo = secure(inner)
    assert await repo.update(2, {"title": "stolen"}, context=U1) is None
    assert await repo.delete(2, context=U1) is False
    assert await repo.bulk_delete([2, 4], context=U1) == 0
    with pytest.raises(XRepoPermissionError):
        await repo.update(1, {"owner": "u2"}, context=U1)
    with pytest.raises(XRepoPermissionError):
        await repo.update(1, {"salary": 1}, context=U1)
    with pytest.raises(XRepoPermissionError):
        await repo.create({"owner": "u2", "title": "planted"}, context=U1)
    two = await inner.read(2)
    assert two is not None
    assert two.title == "t2"
    assert await inner.count({"title": "planted"}) == 0
    updated = await repo.update(1, {"title": "mine"}, context=U1)
    assert updated is not None
    assert updated.title == "mine"


@pytest.mark.parametrize("kind", LOOKUP_BACKENDS)
async def test_lookup_foreign_side_is_restricted(
    kind: str, tmp_path: Path, unique_name: str, request: pytest.FixtureRequest
) -> None:
    urls = backend_urls(request)
    async with open_backend(kind, name=unique_name, tmp_path=tmp_path, urls=urls) as (
        inner,
        orders,
        _,
    ):
        look = {
            "$lookup": {"from": orders, "localField": "id", "foreignField": "doc_id", "as": "o"}
        }
        closed = secure(inner)
        with pytest.raises(XRepoPermissionError, match="lookups"):
            await closed.aggregate([look], context=U1)
        policy = ACLPolicy(
            [
                ACLRule(
                    role="user",
                    permissions=["list"],
                    conditions={"rows": {"owner": "$user.id"}, "hidden_fields": ["margin"]},
                )
            ]
        )
        from repo_backends import Order

        repo = secure(inner, lookups={orders: policy})
        repo.acl.set_lookup_fields(orders, Order.model_fields)  # type: ignore[union-attr]
        out = await repo.aggregate([look, {"$sort": {"id": 1}}], context=U1)
        assert [r["id"] for r in out] == [1, 3, 5, 7, 9]
        for r in out:
            for o in r["o"]:
                assert "margin" not in o
                assert o["owner"] == "u1"
        # order 103 belongs to u2: doc 3 sees no order
        assert next(r for r in out if r["id"] == 3)["o"] == []
        for probe in (
            [look, {"$match": {"o.margin": {"$gt": 0}}}],
            [look, {"$unwind": "$o"}, {"$group": {"_id": None, "m": {"$max": "$o.margin"}}}],
            [look, {"$project": {"all": "$o"}}],
        ):
            with pytest.raises(XRepoPermissionError):
                await repo.aggregate(probe, context=U1)


async def test_cache_never_crosses_callers(
    backend: tuple[str, XRepo[Doc], str], redis_url: str, unique_name: str
) -> None:
    _, inner, _ = backend
    cache = CacheManager.redis(redis_url, namespace=f"acl_{unique_name}")
    try:
        repo = secure(inner, cache=cache)
        for _ in range(2):  # the second round is served from Redis
            assert [d.id for d in await repo.list(context=U1, limit=None)] == [1, 3, 5, 7, 9]
            assert [d.id for d in await repo.list(context=U2, limit=None)] == [2, 4, 6, 8, 10]
            assert await repo.count(context=U1) == 5
            assert await repo.count(context=ADMIN) == 10
            one = await repo.read(1, context=U1)
            assert one is not None
            assert "salary" not in one.model_dump()
            full = await repo.read(1, context=ADMIN)
            assert full is not None
            assert full.salary == 100
            assert await repo.read(2, context=U1) is None
        assert cache.stats().hits >= 6
    finally:
        await cache.clear()
        await cache.close()


async def test_refusals_are_audited_once(backend: tuple[str, XRepo[Doc], str]) -> None:
    _, inner, _ = backend
    logger = AuditLogger(MemoryAuditSink())
    repo = secure(inner, audit=logger)
    with pytest.raises(XRepoPermissionError):
        await repo.list({"salary": 1}, context=U1)
    with pytest.raises(XRepoPermissionError):
        await repo.delete(1, context=LEAD)
    with pytest.raises(XRepoPermissionError):
        await repo.list(context=RepoContext(user_id="nobody"))
    log = await logger.get_audit_log()
    assert len(log) == 3
    assert {e.outcome for e in log} == {"denied"}
