"""Hostile callers against ACL row rules and ``$lookup``, on every backend that has them (issue 16).

- A caller's attribute is a value: ``{"team": "$user.team"}`` with an attribute that is an
  operator document, a list or a ``$`` string matches only rows whose team literally equals it
  (none, for documents and lists), on memory, SQLite, PostgreSQL, MariaDB and MongoDB.
- ``$lookup`` reads only the collections a repository declares (``lookups=[...]``, ``"*"`` for
  any): an undeclared one (``sqlite_master``, ``pg_catalog.pg_authid``, ``mysql.user``, another
  collection, ``system.users``) is refused with an error naming it and the option; a declared
  one joins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from repo_backends import DOCS, LOOKUP_BACKENDS, Doc, backend_urls, open_backend, seeded_repo

from xrepo import (
    RepoContext,
    XRepo,
    XRepoConfigurationError,
    XRepoFactory,
    XRepoPermissionError,
    XRepoValidationError,
)
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.secure import SecureRepo

RULES = [
    ACLRule(role="member", permissions=["list", "read"], conditions={"team": "$user.team"}),
    ACLRule(role="many", permissions=["list"], conditions={"team": {"$in": "$user.teams"}}),
    ACLRule(role="owner", permissions=["list"], conditions={"owner": "$user.id"}),
]
HOSTILE_TEAMS = ["$where", "$user.id", "$ne", "{'$ne': None}", "é ü"]
#: DOCS plus one document per hostile team string (ids 11...).
ROWS = [
    *DOCS,
    *(
        {"id": 11 + i, "owner": "u9", "team": t, "title": f"h{i}", "salary": 0}
        for i, t in enumerate(HOSTILE_TEAMS)
    ),
]
WIDENING: list[Any] = [
    {"$ne": None},
    {"$gt": ""},
    {"$exists": True},
    {"$in": ["a", "b"]},
    {"$regex": ".*"},
    {"$where": "true"},
    {"$expr": True},
    ["a", "b"],
    [],
    None,
    0,
    True,
]


def member(attribute: Any, role: str = "member", name: str = "team") -> RepoContext:
    return RepoContext(user_id="x", roles=(role,), attributes={name: attribute})


async def _backend(request: pytest.FixtureRequest, tmp_path: Path, unique_name: str) -> Any:
    async with open_backend(
        request.param, name=unique_name, tmp_path=tmp_path, urls=backend_urls(request), docs=ROWS
    ) as (repo, orders, resource):
        yield request.param, repo, orders, resource


#: ``(kind, repository of ROWS declaring its orders lookup, orders name, resource)``.
backend = pytest.fixture(params=LOOKUP_BACKENDS, name="backend")(_backend)
#: The same on the backends with a resource (a memory repository has none, and reaches only the
#: related sources it was built with).
served = pytest.fixture(params=[b for b in LOOKUP_BACKENDS if b != "memory"], name="served")(
    _backend
)


# -- 1. attributes are values ---------------------------------------------------------------------
async def test_an_operator_document_or_a_list_attribute_sees_no_row(backend: Any) -> None:
    _, inner, _, _ = backend
    repo = SecureRepo(inner, acl=ACLPolicy(RULES))
    assert await repo.count(context=member("a")) == 5  # the rule works for a plain value
    for attribute in WIDENING:
        ctx = member(attribute)
        assert await repo.count(context=ctx) == 0, attribute
        assert await repo.list(context=ctx, limit=None) == [], attribute
        assert await repo.aggregate([{"$count": "n"}], context=ctx) == [], attribute
        assert await repo.distinct("team", context=ctx) == [], attribute
        assert await repo.read(1, context=ctx) is None, attribute


async def test_a_dollar_string_attribute_matches_only_that_text(backend: Any) -> None:
    _, inner, _, _ = backend
    repo = SecureRepo(inner, acl=ACLPolicy(RULES))
    for i, team in enumerate(HOSTILE_TEAMS):
        rows = await repo.list(context=member(team), limit=None)
        assert [d.id for d in rows] == [11 + i], team
    # $user.id as an attribute is text, not the caller's id.
    ctx = RepoContext(user_id="u1", roles=("member",), attributes={"team": "$user.id"})
    assert [d.id for d in await repo.list(context=ctx, limit=None)] == [12]


async def test_in_takes_each_element_as_a_value(backend: Any) -> None:
    _, inner, _, _ = backend
    repo = SecureRepo(inner, acl=ACLPolicy(RULES))
    teams = ["$where", {"$ne": None}, ["a"], None, "$user.id"]
    rows = await repo.list(context=member(teams, "many", "teams"), limit=None, sort="id")
    assert [d.id for d in rows] == [11, 12]
    assert await repo.count(context=member({"$ne": None}, "many", "teams")) == 0


async def test_a_hostile_user_id_is_a_value(backend: Any) -> None:
    _, inner, _, _ = backend
    repo = SecureRepo(inner, acl=ACLPolicy(RULES))
    for uid in ("u1' OR '1'='1", "$ne", "u%", "u_", ".*"):
        ctx = RepoContext(user_id=uid, roles=("owner",))
        assert await repo.count(context=ctx) == 0, uid


# -- 2. $lookup reaches only what the repository declares -----------------------------------------
#: Names of other tables/collections, by backend, that a pipeline must not reach undeclared.
FORBIDDEN_SOURCES = {
    "memory": ["users", "sqlite_master"],
    "sqlite": ["sqlite_master", "sqlite_schema", "sqlite_sequence"],
    "postgresql": [
        "pg_catalog.pg_authid",
        "pg_authid",
        "pg_shadow",
        "pg_user",
        "information_schema.tables",
    ],
    "mysql": [
        "mysql.user",
        "user",
        "information_schema.tables",
        "information_schema.USER_PRIVILEGES",
    ],
    "mongodb": ["system.users", "system.views", "system.js", "admin"],
    "duckdb": [
        "duckdb_settings",
        "duckdb_tables",
        "information_schema.tables",
        "pg_catalog.pg_class",
    ],
}


def lookup(source: str, local: str = "id", foreign: str = "doc_id") -> dict[str, Any]:
    return {"$lookup": {"from": source, "localField": local, "foreignField": foreign, "as": "o"}}


async def test_an_undeclared_lookup_is_refused_naming_it_and_the_option(backend: Any) -> None:
    kind, repo, orders, _ = backend
    for source in [*FORBIDDEN_SOURCES[kind], f"{orders} ", "ördérs", orders.upper()]:
        with pytest.raises(XRepoPermissionError) as info:
            await repo.aggregate([lookup(source, "title", "name")])
        message = str(info.value)
        assert f"$lookup into {source!r} is not allowed" in message
        assert "RepoMetadata.lookups" in message
        assert "lookups='*'" in message
        assert repr(orders) in message  # what is declared
    # Deep in a pipeline, after other stages, too.
    with pytest.raises(XRepoPermissionError, match="not allowed"):
        await repo.aggregate(
            [{"$match": {"id": 1}}, lookup(orders), {"$unwind": "$o"}, lookup("sqlite_master")]
        )


async def test_a_declared_lookup_joins(backend: Any) -> None:
    _, repo, orders, _ = backend
    out = await repo.aggregate(
        [{"$match": {"id": {"$in": [1, 2]}}}, lookup(orders), {"$sort": {"id": 1}}]
    )
    assert [[o["id"] for o in d["o"]] for d in out] == [[101], [102]]


async def test_another_collection_is_unreachable_until_declared(served: Any) -> None:
    kind, _, orders, resource = backend = served
    plain: XRepo[Any] = await XRepoFactory.create(
        resource=resource, model_class=Doc, collection=_name(backend)
    )
    with pytest.raises(XRepoPermissionError, match=rf"\$lookup into '{orders}'.*lookups: none"):
        await plain.aggregate([lookup(orders)])
    # The opt-in: any collection.
    anyone: XRepo[Any] = await XRepoFactory.create(
        resource=resource, model_class=Doc, collection=_name(backend), lookups="*"
    )
    out = await anyone.aggregate([{"$match": {"id": 3}}, lookup(orders)])
    assert [o["id"] for o in out[0]["o"]] == [103]
    # A policy's lookups={...} declares too (and restricts the foreign rows by its own rules).
    secured = SecureRepo(
        plain,
        acl=ACLPolicy([ACLRule(role="admin", permissions=["admin"])], lookups={orders: None}),
    )
    admin = RepoContext(user_id="root", roles=("admin",))
    out = await secured.aggregate([{"$match": {"id": 3}}, lookup(orders)], context=admin)
    assert [o["id"] for o in out[0]["o"]] == [103]
    with pytest.raises(XRepoPermissionError, match="not allowed"):
        await secured.aggregate([lookup(FORBIDDEN_SOURCES[kind][0])], context=admin)


async def test_a_wrong_lookups_option_is_refused(served: Any) -> None:
    _, _, _, resource = served
    for bad in ("orders", ["ok", 3], {"orders": 1}, "**"):
        # XRepoConfigurationError from the factory (a pydantic ValidationError from RepoMetadata).
        with pytest.raises((XRepoConfigurationError, ValueError), match="lookups"):
            await XRepoFactory.create(
                resource=resource, model_class=Doc, collection="x", lookups=bad
            )


def _name(backend: Any) -> str:
    _, repo, _, _ = backend
    return str(repo.metadata.collection or repo.name)


# -- a document attribute against a document field: one whole value --------------------------------
class Tagged(BaseModel):
    id: int
    meta: dict[str, Any] | None = None


TAGGED = [
    {"id": 1, "meta": {"$ne": None}},
    {"id": 2, "meta": {"a": 1}},
    {"id": 3, "meta": None},
    {"id": 4, "meta": {"$gt": ""}},
]
TAGGED_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, meta TEXT)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, meta JSONB)",
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, meta JSON)",
    "duckdb": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, meta JSON)",
}


@pytest.mark.parametrize("kind", LOOKUP_BACKENDS)
async def test_a_document_attribute_equals_only_that_whole_document(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path, unique_name: str
) -> None:
    rules = [ACLRule(role="m", permissions=["list"], conditions={"meta": "$user.meta"})]
    async with seeded_repo(
        request,
        kind,
        model=Tagged,
        rows=TAGGED,
        ddl=TAGGED_DDL,
        name=unique_name,
        tmp_path=tmp_path,
    ) as inner:
        repo = SecureRepo(inner, acl=ACLPolicy(rules))
        cases = (({"$ne": None}, [1]), ({"a": 1}, [2]), ({"$gt": ""}, [4]), ({"$exists": 1}, []))
        for attribute, want in cases:
            ctx = member(attribute, "m", "meta")
            if kind in ("sqlite", "postgresql", "mysql", "duckdb"):
                # SQL backends do not compare whole documents: refused, never widened.
                with pytest.raises(XRepoValidationError, match="comparing with a document"):
                    await repo.list(context=ctx, limit=None)
                continue
            rows = await repo.list(context=ctx, limit=None, sort="id")
            assert [r.id for r in rows] == want, attribute
