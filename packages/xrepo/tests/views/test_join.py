"""Views: joins of in-memory repositories checked against a nested-loop oracle."""

from __future__ import annotations

from typing import Any

import pytest

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepoConfigurationError, XRepoValidationError
from xrepo.views import ViewRepo, XRepoReadOnlyError, create_view


class User(XObjPrototype):
    id: int | None = None
    region: str
    name: str
    status: str = "active"


class Order(XObjPrototype):
    id: int | None = None
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
    {"id": 14, "user_id": 3, "region": "eu", "total": 3.0},  # region mismatch for 2 keys
    {"id": 15, "user_id": None, "region": "us", "total": 4.0},  # null key never matches
]

ONE_KEY = {"users": "id", "orders": "user_id"}
TWO_KEYS = [{"users": "id", "orders": "user_id"}, {"users": "region", "orders": "region"}]


def oracle(how: str, keys: list[tuple[str, str]]) -> list[tuple[Any, Any]]:
    def match(u: dict[str, Any], o: dict[str, Any]) -> bool:
        return all(u[a] is not None and u[a] == o[b] for a, b in keys)

    pairs = [(u["id"], o["id"]) for u in USERS for o in ORDERS if match(u, o)]
    if how in ("left", "full"):
        pairs += [(u["id"], None) for u in USERS if not any(match(u, o) for o in ORDERS)]
    if how in ("right", "full"):
        pairs += [(None, o["id"]) for o in ORDERS if not any(match(u, o) for u in USERS)]
    return sorted(pairs, key=lambda p: (p[0] is None, p[0] or 0, p[1] is None, p[1] or 0))


def repos() -> tuple[MaterializedRepo[User], MaterializedRepo[Order]]:
    return MaterializedRepo(model_class=User, data=USERS), MaterializedRepo(
        model_class=Order, data=ORDERS
    )


def view(how: str, on: Any = ONE_KEY, **extra: Any) -> ViewRepo:
    users, orders = repos()
    return create_view(
        "uo", [("users", users), ("orders", orders)], {"on": on, "type": how, **extra}
    )


def pairs_of(rows: list[Any]) -> list[tuple[Any, Any]]:
    got = [(r.users_id, r.orders_id) for r in rows]
    return sorted(got, key=lambda p: (p[0] is None, p[0] or 0, p[1] is None, p[1] or 0))


@pytest.mark.parametrize("how", ["inner", "left", "right", "full"])
@pytest.mark.parametrize(
    ("on", "keys"),
    [(ONE_KEY, [("id", "user_id")]), (TWO_KEYS, [("id", "user_id"), ("region", "region")])],
    ids=["one key", "two keys"],
)
async def test_join_types(how: str, on: Any, keys: list[tuple[str, str]]) -> None:
    v = view(how, on)
    expected = oracle(how, keys)
    assert pairs_of(await v.list(limit=None)) == expected
    assert await v.count() == len(expected)


@pytest.mark.parametrize("how", ["inner", "left", "right", "full"])
async def test_filters_keep_join_semantics(how: str) -> None:
    """Conditions on either side give what filtering the full join would give."""
    v = view(how)
    full = [r.model_dump() for r in await v.list(limit=None)]
    for flt, pred in [
        ({"orders_total__gte": 4}, lambda r: (r["orders_total"] or 0) >= 4),
        ({"users_status": "active"}, lambda r: r["users_status"] == "active"),
        ({"users_name": None}, lambda r: r["users_name"] is None),
        ({"orders_id": None}, lambda r: r["orders_id"] is None),
        (
            {"$or": [{"users_region": "us"}, {"orders_total": 1.0}]},
            lambda r: r["users_region"] == "us" or r["orders_total"] == 1.0,
        ),
    ]:
        expected = sorted(
            ((r["users_id"], r["orders_id"]) for r in full if pred(r)),
            key=lambda p: (p[0] is None, p[0] or 0, p[1] is None, p[1] or 0),
        )
        assert pairs_of(await v.list(flt, limit=None)) == expected, (how, flt)
        assert await v.count(flt) == len(expected), (how, flt)


async def test_shared_key_appears_once_unprefixed() -> None:
    class A(XObjPrototype):
        id: int | None = None
        k: int
        a: str

    class B(XObjPrototype):
        id: int | None = None
        k: int
        b: str

    left = MaterializedRepo(
        model_class=A, data=[{"id": 1, "k": 1, "a": "x"}, {"id": 2, "k": 2, "a": "y"}]
    )
    right = MaterializedRepo(
        model_class=B, data=[{"id": 1, "k": 2, "b": "z"}, {"id": 2, "k": 3, "b": "w"}]
    )
    v = create_view("ab", [("db.a", left), ("b", right)], {"on": "k", "type": "full"})
    assert "k" in v.fields
    assert "a_k" not in v.fields
    assert {"a_a", "b_b", "a_id", "b_id", "row_id"} <= v.fields
    rows = await v.list(sort="k", limit=None)
    assert [(r.k, r.a_a, r.b_b) for r in rows] == [(1, "x", None), (2, "y", "z"), (3, None, "w")]
    assert await v.list({"k": 3}) == [rows[2]]


async def test_per_source_filters_and_static_filters() -> None:
    v = view("left")
    got = await v.list({"users_filters": {"status": "active"}}, limit=None)
    assert {r.users_id for r in got} == {1, 3, 4}
    got = await v.list({"user_filters": {"status": "active"}, "orders_total__gt": 4}, limit=None)
    assert pairs_of(got) == [(1, 10), (1, 11)]
    with pytest.raises(XRepoValidationError):
        await v.list({"users_filters": {"nope": 1}})
    static = view("inner", filters={"orders": {"total__gte": 5}})
    assert pairs_of(await static.list(limit=None)) == [(1, 10), (1, 11)]


async def test_aggregate_distinct_sort_page() -> None:
    v = view("left")
    out = await v.aggregate(
        [
            {
                "$group": {
                    "_id": "$users_name",
                    "spent": {"$sum": "$orders_total"},
                    "n": {"$count": {}},
                }
            },
            {"$sort": {"spent": -1, "_id": 1}},
        ]
    )
    assert out[0] == {"_id": "ada", "spent": 12.0, "n": 2}
    assert {r["_id"] for r in out} == {"ada", "bob", "cy", "dee"}
    assert await v.distinct("users_region") == ["eu", "us"]
    page = await v.list(sort=[("orders_total", -1)], skip=1, limit=2)
    assert [r.orders_total for r in page] == [5.0, 3.0]


async def test_result_model_and_projection() -> None:
    class Narrow(XObjPrototype):
        users_name: str | None = None
        orders_total: float | None = None

    users, orders = repos()
    v = create_view("n", [("users", users), ("orders", orders)], {"on": ONE_KEY}, Narrow)
    rows = await v.list(sort="orders_total", limit=None)
    assert isinstance(rows[0], Narrow)
    assert [r.orders_total for r in rows] == [1.0, 3.0, 5.0, 7.0]

    class Wrong(XObjPrototype):
        nope: int = 0

    with pytest.raises(XRepoConfigurationError, match="does not produce"):
        create_view("w", [("users", users), ("orders", orders)], {"on": ONE_KEY}, Wrong)


async def test_writes_are_refused() -> None:
    v = view("inner")
    for call in (
        lambda: v.create({"users_name": "x"}),
        lambda: v.bulk_create([{"users_name": "x"}]),
        lambda: v.update(1, {"users_name": "x"}),
        lambda: v.bulk_update([(1, {"users_name": "x"})]),
        lambda: v.delete(1),
        lambda: v.bulk_delete([1]),
        lambda: v.restore(1),
    ):
        with pytest.raises(XRepoReadOnlyError, match="read-only"):
            await call()


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"on": ONE_KEY, "type": "sideways"}, "unknown join type"),
        ({"on": {"users": "id"}}, "no key for source 'orders'"),
        ({"on": {"users": "nope", "orders": "user_id"}}, "not a field"),
        ({"on": 5}, "must be a field name"),
        ({"on": ONE_KEY, "prefixes": {"ghost": "g"}}, "unknown source"),
        ({"on": ONE_KEY, "filters": {"users": {"nope": 1}}}, "bad filter"),
        ({"on": ONE_KEY, "prefixes": {"users": "x", "orders": "x"}}, "distinct prefixes"),
    ],
)
def test_bad_configuration(config: dict[str, Any], match: str) -> None:
    users, orders = repos()
    with pytest.raises(XRepoConfigurationError, match=match):
        create_view("bad", [("users", users), ("orders", orders)], config)


def test_bad_sources() -> None:
    users, _ = repos()
    with pytest.raises(XRepoConfigurationError, match="at least two"):
        create_view("bad", [("users", users)], {"on": "id"})
    with pytest.raises(XRepoConfigurationError, match="must be a repository"):
        create_view("bad", [("users", users), ("x", [1, 2])], {"on": "id"})  # type: ignore[list-item]
    with pytest.raises(XRepoConfigurationError, match="distinct"):
        create_view("bad", [("users", users), ("users", users)], {"on": "id"})
    with pytest.raises(XRepoConfigurationError, match="dict"):
        create_view("bad", [("users", users), ("u2", users)], "id")  # type: ignore[arg-type]


async def test_hostile_filter_values_are_plain_values() -> None:
    v = view("left")
    assert await v.list({"users_name": "x'; DROP TABLE users; --"}) == []
    with pytest.raises(XRepoValidationError):
        await v.list({"users_name": {"$where": "1"}})


async def test_view_behind_acl_checks_per_source_filters() -> None:
    from xrepo import RepoContext, XRepoPermissionError
    from xrepo.acl import ACLRule
    from xrepo.secure import SecureRepo

    secured = SecureRepo(
        view("left"),
        acl=[
            ACLRule(
                role="eu",
                permissions=["list"],
                conditions={"rows": {"users_region": "eu"}, "hidden_fields": ["orders_total"]},
            )
        ],
    )
    ctx = RepoContext(user_id="x", roles=("eu",))
    rows = await secured.list({"users_filters": {"status": "active"}}, context=ctx, limit=None)
    assert pairs_of(rows) == [(1, 10), (1, 11)]
    assert all("orders_total" not in r.model_dump() for r in rows)
    with pytest.raises(XRepoPermissionError):
        await secured.list({"orders_filters": {"total": 5.0}}, context=ctx)
    with pytest.raises(XRepoPermissionError):
        await secured.count({"orders_total__gt": 1}, context=ctx)
