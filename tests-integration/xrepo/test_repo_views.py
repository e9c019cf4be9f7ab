"""Views across resources: MongoDB users joined with PostgreSQL orders (and MariaDB/SQLite),
every join type on one and two keys, checked against a nested-loop oracle; aggregates across
PostgreSQL, MongoDB and memory; the spec's ``create_view_from_resources`` with XInspector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from repo_backends import mongo_db_url

from xobj_prototype import XObjPrototype
from xrepo import (
    MaterializedRepo,
    XRepo,
    XRepoFactory,
    XRepoValidationError,
    create_view_from_resources,
)
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.secure import SecureRepo
from xrepo.views import XRepoReadOnlyError, create_aggregate_repo
from xresource import ResourceFactory


class User(XObjPrototype):
    id: int
    region: str
    name: str
    status: str = "active"


class Order(XObjPrototype):
    id: int
    user_id: int | None = None
    region: str | None = None
    total: float = 0.0


USERS = [
    {"id": 1, "region": "eu", "name": "ada", "status": "active"},
    {"id": 2, "region": "eu", "name": "bob", "status": "off"},
    {"id": 3, "region": "us", "name": "cy", "status": "active"},
    {"id": 4, "region": "us", "name": "dee", "status": "active"},
]
ORDERS = [
    {"id": 10, "user_id": 1, "region": "eu", "total": 5.0},
    {"id": 11, "user_id": 1, "region": "eu", "total": 7.0},
    {"id": 12, "user_id": 2, "region": "eu", "total": 1.0},
    {"id": 13, "user_id": 9, "region": "eu", "total": 2.0},
    {"id": 14, "user_id": 3, "region": "eu", "total": 3.0},
    {"id": 15, "user_id": None, "region": "us", "total": 4.0},
]
ORDER_DDL = {
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, user_id INTEGER, region TEXT, "
        "total DOUBLE PRECISION)"
    ),
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, user_id INT, region VARCHAR(10), total DOUBLE)",
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, user_id INTEGER, region TEXT, total REAL)",
}
ONE_KEY = {"on": {"users": "id", "orders": "user_id"}}
TWO_KEYS = {"on": [{"users": "id", "orders": "user_id"}, {"users": "region", "orders": "region"}]}


def oracle(how: str, keys: list[tuple[str, str]]) -> list[tuple[Any, Any]]:
    def match(u: dict[str, Any], o: dict[str, Any]) -> bool:
        return all(u[a] is not None and u[a] == o[b] for a, b in keys)

    pairs = [(u["id"], o["id"]) for u in USERS for o in ORDERS if match(u, o)]
    if how in ("left", "full"):
        pairs += [(u["id"], None) for u in USERS if not any(match(u, o) for o in ORDERS)]
    if how in ("right", "full"):
        pairs += [(None, o["id"]) for o in ORDERS if not any(match(u, o) for u in USERS)]
    return sorted(pairs, key=_order)


def _order(p: tuple[Any, Any]) -> tuple[Any, ...]:
    return (p[0] is None, p[0] or 0, p[1] is None, p[1] or 0)


@pytest.fixture
async def mongo(mongodb_url: str, unique_name: str) -> AsyncIterator[tuple[Any, str]]:
    resource = ResourceFactory.from_url(mongo_db_url(mongodb_url, "xrepo_views"))
    await resource.connect()
    name = f"{unique_name}_users"
    try:
        repo = await XRepoFactory.create(resource=resource, model_class=User, collection=name)
        await repo.bulk_create(USERS)
        yield resource, name
    finally:
        await resource.db.drop_collection(name)
        await resource.disconnect()


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
async def sql(
    request: pytest.FixtureRequest,
    postgres_url: str,
    mysql_url: str,
    tmp_path: Path,
    unique_name: str,
) -> AsyncIterator[tuple[Any, str]]:
    url = {
        "postgresql": postgres_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{tmp_path / 'views.db'}",
    }[request.param]
    resource = ResourceFactory.from_url(url)
    await resource.connect()
    name = f"{unique_name}_orders"
    try:
        await resource.execute(ORDER_DDL[request.param].format(t=resource.dialect.quote(name)))
        repo = await XRepoFactory.create(
            resource=resource, model_class=Order, collection=name, soft_delete=False
        )
        await repo.bulk_create(ORDERS)
        yield resource, name
    finally:
        await resource.execute(f"DROP TABLE IF EXISTS {resource.dialect.quote(name)}")
        await resource.disconnect()


async def make_view(mongo: tuple[Any, str], sql: tuple[Any, str], config: dict[str, Any]) -> Any:
    (mres, users), (sres, orders) = mongo, sql
    on = config["on"]
    rename = (
        {users: on[users] if False else on["users"], orders: on["orders"]}
        if isinstance(on, dict)
        else [{users: k["users"], orders: k["orders"]} for k in on]
    )
    return await create_view_from_resources(
        "user_orders",
        [(mres, users), (sres, orders)],
        {**config, "on": rename, "prefixes": {users: "users", orders: "orders"}},
        models={users: User, orders: Order},
    )


@pytest.mark.parametrize("how", ["inner", "left", "right", "full"])
@pytest.mark.parametrize(
    ("config", "keys"),
    [(ONE_KEY, [("id", "user_id")]), (TWO_KEYS, [("id", "user_id"), ("region", "region")])],
    ids=["one key", "two keys"],
)
async def test_join_types_across_mongodb_and_sql(
    mongo: tuple[Any, str],
    sql: tuple[Any, str],
    how: str,
    config: dict[str, Any],
    keys: list[tuple[str, str]],
) -> None:
    view = await make_view(mongo, sql, {**config, "type": how})
    rows = await view.list(limit=None)
    assert sorted(((r.users_id, r.orders_id) for r in rows), key=_order) == oracle(how, keys)
    assert await view.count() == len(oracle(how, keys))
    # pushed-down and post-join conditions together keep the join's meaning
    full = [r.model_dump() for r in rows]
    flt = {"users_status": "active", "orders_total__gte": 3}
    want = sorted(
        (
            (r["users_id"], r["orders_id"])
            for r in full
            if r["users_status"] == "active" and (r["orders_total"] or 0) >= 3
        ),
        key=_order,
    )
    got = await view.list(flt, limit=None)
    assert sorted(((r.users_id, r.orders_id) for r in got), key=_order) == want


async def test_view_queries_and_read_only(mongo: tuple[Any, str], sql: tuple[Any, str]) -> None:
    view = await make_view(mongo, sql, {**ONE_KEY, "type": "left"})
    spent = await view.aggregate(
        [
            {"$group": {"_id": "$users_name", "spent": {"$sum": "$orders_total"}}},
            {"$sort": {"_id": 1}},
        ]
    )
    assert spent == [
        {"_id": "ada", "spent": 12.0},
        {"_id": "bob", "spent": 1.0},
        {"_id": "cy", "spent": 3.0},
        {"_id": "dee", "spent": 0},
    ]
    page = await view.list(sort="-orders_total", limit=2)
    assert [r.orders_id for r in page] == [11, 10]
    active = await view.list({"users_filters": {"status": "active"}}, limit=None)
    assert {r.users_id for r in active} == {1, 3, 4}
    assert await view.distinct("users_region", {"orders_total__gt": 2}) == ["eu", "us"]
    with pytest.raises(XRepoReadOnlyError):
        await view.create({"users_name": "x"})
    with pytest.raises(XRepoReadOnlyError):
        await view.delete(1)
    with pytest.raises(XRepoValidationError):
        await view.list({"users_name": {"$where": "sleep(1)"}})


async def test_view_behind_acl(mongo: tuple[Any, str], sql: tuple[Any, str]) -> None:
    view = await make_view(mongo, sql, {**ONE_KEY, "type": "inner"})
    policy = ACLPolicy(
        [
            ACLRule(
                role="eu",
                permissions=["list", "read"],
                conditions={"rows": {"users_region": "eu"}, "hidden_fields": ["orders_total"]},
            )
        ]
    )
    from xrepo import RepoContext, XRepoPermissionError

    secured = SecureRepo(view, acl=policy)
    ctx = RepoContext(user_id="x", roles=("eu",))
    rows = await secured.list(context=ctx, limit=None)
    assert {r.users_id for r in rows} == {1, 2}
    assert all("orders_total" not in r.model_dump() for r in rows)
    with pytest.raises(XRepoPermissionError):
        await secured.list(sort="orders_total", context=ctx)


async def test_view_with_discovered_schemas(mongo: tuple[Any, str], sql: tuple[Any, str]) -> None:
    """The spec's flow: XInspector discovers each source, the view is built from the schemas."""
    from xinspector import XInspector, generate_joined_model

    (mres, users), (sres, orders) = mongo, sql
    schemas = {
        f"{mres.name}.{users}": await XInspector(mres).discover_schema(users),
        f"{sres.name}.{orders}": await XInspector(sres).discover_schema(orders),
    }
    config = {"on": {users: "id", orders: "user_id"}, "type": "left"}
    model = generate_joined_model(
        {users: schemas[f"{mres.name}.{users}"], orders: schemas[f"{sres.name}.{orders}"]},
        {"on": [], "type": "left"},
    )
    view = await create_view_from_resources(
        "discovered", [(mres, users), (sres, orders)], config, model, schemas=schemas
    )
    rows = await view.list(limit=None)
    assert len(rows) == len(oracle("left", [("id", "user_id")]))


async def test_aggregate_across_postgres_mongodb_and_memory(
    mongo: tuple[Any, str], postgres_url: str, unique_name: str
) -> None:
    pg = ResourceFactory.from_url(postgres_url)
    await pg.connect()
    table = f"{unique_name}_o2"
    mres, _ = mongo
    coll = f"{unique_name}_o3"
    try:
        await pg.execute(ORDER_DDL["postgresql"].format(t=pg.dialect.quote(table)))
        pg_repo: XRepo[Order] = await XRepoFactory.create(
            resource=pg, model_class=Order, collection=table, soft_delete=False
        )
        await pg_repo.bulk_create(ORDERS[:3])
        mongo_repo: XRepo[Order] = await XRepoFactory.create(
            resource=mres, model_class=Order, collection=coll
        )
        await mongo_repo.bulk_create(ORDERS[3:5])
        memory = MaterializedRepo(model_class=Order, data=ORDERS[5:])
        agg = await create_aggregate_repo(
            "by_region",
            [pg_repo, mongo_repo, memory],
            {
                "group_by": "region",
                "aggregations": {
                    "total": {"sum": "total"},
                    "n": "count",
                    "avg": {"avg": "total"},
                    "top": {"max": "total"},
                },
            },
        )
        rows = {r.region: r for r in await agg.list(limit=None)}
        assert set(rows) == {"eu", "us"}
        eu = [o["total"] for o in ORDERS if o["region"] == "eu"]
        assert rows["eu"].n == len(eu)
        assert rows["eu"].total == pytest.approx(sum(eu))
        assert rows["eu"].avg == pytest.approx(sum(eu) / len(eu))
        assert rows["eu"].top == max(eu)
        assert rows["us"].n == 1
        assert await agg.count({"region": "us"}) == 1
    finally:
        await pg.execute(f"DROP TABLE IF EXISTS {pg.dialect.quote(table)}")
        await pg.disconnect()
        await mres.db.drop_collection(coll)


async def test_factory_builds_secured_views(mongo: tuple[Any, str], sql: tuple[Any, str]) -> None:
    from xrepo import RepoContext, XRepoPermissionError

    (mres, users), (sres, orders) = mongo, sql
    view = await XRepoFactory.create_view_from_resources(
        "secured_view",
        [(mres, users), (sres, orders)],
        {
            "on": {users: "id", orders: "user_id"},
            "type": "full",
            "prefixes": {users: "users", orders: "orders"},
        },
        models={users: User, orders: Order},
        acl=[ACLRule(role="analyst", permissions=["list"])],
    )
    assert isinstance(view, SecureRepo)
    ctx = RepoContext(roles=("analyst",))
    assert await view.count(context=ctx) == len(oracle("full", [("id", "user_id")]))
    with pytest.raises(XRepoPermissionError):
        await view.count(context=RepoContext(roles=("guest",)))
