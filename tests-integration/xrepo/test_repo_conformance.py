"""One suite, every backend: the same operations and pipelines must give the same results.

The ``backend`` fixture builds a repository with the same records on PostgreSQL, MariaDB, SQLite,
MongoDB, DuckDB, a CSV file, a JSON file, in memory, and JSON Lines and CSV files queried where
they lie by the DuckDB engine (unique tables/collections/files, dropped after).
Expected results are computed here by plain Python over the seed data, so no backend is the
oracle of another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from repo_backends import mongo_collections, sql_tables

from xobj_prototype import XObjPrototype
from xrepo import (
    ConnectedEngineFileRepo,
    MaterializedRepo,
    XRepo,
    XRepoConflictError,
    XRepoFactory,
    XRepoValidationError,
)
from xresource import ResourceFactory


class Item(XObjPrototype):
    id: int | None = None
    name: str
    category: str | None = None
    price: float = 0.0
    qty: int = 0
    tags: list[str] = []
    version: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


CATEGORIES = ["books", "games", "music", None]
TAGS = [["a"], ["a", "b"], [], ["c"]]


def seed() -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"item{i:02d}",
            "category": CATEGORIES[i % 4],
            "price": float((i * 37) % 50) + 0.5,
            "qty": (i * 7) % 11,
            "tags": TAGS[i % 4],
        }
        for i in range(1, 31)
    ]


DATA = seed()

DDL = {
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT, "
        "price REAL, qty INTEGER, tags TEXT, version INTEGER, created_at TEXT, "
        "updated_at TEXT, deleted_at TEXT)"
    ),
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT, "
        "price DOUBLE PRECISION, qty INTEGER, tags JSONB, version INTEGER, "
        "created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ)"
    ),
    "mysql": (
        "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, "
        "category VARCHAR(100), price DOUBLE, qty INT, tags JSON, version INT, "
        "created_at DATETIME(6), updated_at DATETIME(6), deleted_at DATETIME(6)) "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ),
    "duckdb": (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, category VARCHAR, "
        "price DOUBLE, qty BIGINT, tags JSON, version BIGINT, created_at TIMESTAMPTZ, "
        "updated_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ)"
    ),
}
ORDER_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, item_id INTEGER, amount INTEGER)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, item_id INTEGER, amount INTEGER)",
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, item_id INT, amount INT)",
    "duckdb": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, item_id BIGINT, amount BIGINT)",
}
ORDERS = [{"id": i, "item_id": (i % 5) + 1, "amount": i * 10} for i in range(1, 9)]

BACKENDS = [
    "memory",
    "sqlite",
    "postgresql",
    "mysql",
    "mongodb",
    "duckdb",
    "csv",
    "json",
    # Files read where they lie by the DuckDB engine: Parquet and JSON Lines by default, CSV by
    # option.
    "parquet",
    "jsonl-engine",
    "csv-engine",
]
#: Backends whose repository holds one file alone: ``$lookup`` is refused by name there.
SINGLE_FILE = ("parquet", "jsonl-engine", "csv-engine")


class Order(XObjPrototype):
    id: int
    item_id: int
    amount: int


@pytest.fixture(params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    unique_name: str,
    postgres_url: str,
    mysql_url: str,
    mongodb_url: str,
) -> AsyncIterator[tuple[str, XRepo[Item], str]]:
    """(backend name, repository seeded with DATA, name of the orders table/collection)."""
    kind: str = request.param
    orders = f"{unique_name}_orders"
    if kind == "memory":
        repo: XRepo[Any] = await XRepoFactory.create(data=DATA, model_class=Item, name=unique_name)
        order_repo = MaterializedRepo(model_class=Order, data=ORDERS)
        assert isinstance(repo, MaterializedRepo)
        repo.add_related(orders, order_repo)
        yield kind, repo, orders
        return
    if kind in SINGLE_FILE:
        fmt = kind.partition("-")[0]
        resource = ResourceFactory.create(
            "json" if fmt == "jsonl" else fmt,
            path=str(tmp_path / f"{unique_name}.{fmt}"),
            create_if_missing=True,
        )
        # Parquet and JSON Lines take the engine by default; CSV only when asked.
        engine = {"engine": True} if fmt == "csv" else {}
        repo = await XRepoFactory.create(
            resource=resource, model_class=Item, lookups=[orders], **engine
        )
        assert isinstance(repo, ConnectedEngineFileRepo)
        await repo.bulk_create(DATA)
        yield kind, repo, orders
        return
    if kind in ("csv", "json"):
        resource = ResourceFactory.create(
            kind, path=str(tmp_path / f"{unique_name}.{kind}"), create_if_missing=True
        )
        repo = await XRepoFactory.create(resource=resource, model_class=Item)
        await repo.bulk_create(DATA)
        assert isinstance(repo, MaterializedRepo)
        repo.add_related(orders, ORDERS)
        yield kind, repo, orders
        return
    if kind == "mongodb":
        url = mongodb_url.replace("/?", "/xrepo_conformance?")
        async with mongo_collections(url, [unique_name, orders]) as resource:
            repo = await XRepoFactory.create(
                resource=resource, model_class=Item, collection=unique_name, lookups=[orders]
            )
            await repo.bulk_create(DATA)
            order_repo = await XRepoFactory.create(
                resource=resource, model_class=Order, collection=orders
            )
            await order_repo.bulk_create(ORDERS)
            yield kind, repo, orders
        return
    url = {
        "sqlite": f"sqlite:///{tmp_path / 'conf.db'}",
        "duckdb": f"duckdb:///{tmp_path / 'conf.duckdb'}",
        "postgresql": postgres_url,
        "mysql": mysql_url,
    }[kind]
    async with sql_tables(url, {unique_name: DDL[kind], orders: ORDER_DDL[kind]}) as resource:
        repo = await XRepoFactory.create(
            resource=resource, model_class=Item, collection=unique_name, lookups=[orders]
        )
        await repo.bulk_create(DATA)
        order_repo = await XRepoFactory.create(
            resource=resource, model_class=Order, collection=orders, soft_delete=False
        )
        await order_repo.bulk_create(ORDERS)
        yield kind, repo, orders


def ids(models: list[Item]) -> list[int | None]:
    return [m.id for m in models]


def where(pred: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [r["id"] for r in DATA if pred(r)]


FILTERS: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ({}, lambda r: True),
    ({"category": "books"}, lambda r: r["category"] == "books"),
    ({"category": None}, lambda r: r["category"] is None),
    ({"category": {"$ne": "books"}}, lambda r: r["category"] != "books"),
    ({"price": {"$gt": 20, "$lte": 40}}, lambda r: 20 < r["price"] <= 40),
    ({"qty__gte": 5, "qty__lt": 9}, lambda r: 5 <= r["qty"] < 9),
    ({"category__in": ["books", "music"]}, lambda r: r["category"] in ("books", "music")),
    ({"category": {"$nin": ["books", None]}}, lambda r: r["category"] not in ("books", None)),
    ({"category": {"$in": [None, "games"]}}, lambda r: r["category"] in (None, "games")),
    ({"category": {"$exists": True}}, lambda r: r["category"] is not None),
    ({"category__isnull": True}, lambda r: r["category"] is None),
    ({"name__contains": "m1"}, lambda r: "m1" in r["name"]),
    ({"name__icontains": "EM2"}, lambda r: "em2" in r["name"]),
    ({"name__startswith": "item0"}, lambda r: r["name"].startswith("item0")),
    ({"name__endswith": "5"}, lambda r: r["name"].endswith("5")),
    ({"$or": [{"qty": 0}, {"price": {"$lt": 5}}]}, lambda r: r["qty"] == 0 or r["price"] < 5),
    (
        {"$nor": [{"category": "books"}, {"qty": {"$gt": 5}}]},
        lambda r: not (r["category"] == "books" or r["qty"] > 5),
    ),
    ({"qty": {"$not": {"$gt": 5}}}, lambda r: not r["qty"] > 5),
    (
        {"$and": [{"category": {"$ne": None}}, {"$or": [{"qty": 1}, {"qty": 2}]}]},
        lambda r: r["category"] is not None and r["qty"] in (1, 2),
    ),
    ({"tags": "a"}, lambda r: "a" in r["tags"]),
    ({"tags": {"$in": ["b", "c"]}}, lambda r: bool({"b", "c"} & set(r["tags"]))),
    ({"name": "x'; DROP TABLE items; --"}, lambda r: False),
]


@pytest.mark.parametrize(("filters", "pred"), FILTERS, ids=[str(f) for f, _ in FILTERS])
async def test_filters(
    backend: tuple[str, XRepo[Item], str],
    filters: dict[str, Any],
    pred: Callable[[dict[str, Any]], bool],
) -> None:
    _, repo, _ = backend
    expected = where(pred)
    assert ids(await repo.list(filters, limit=None)) == expected
    assert await repo.count(filters) == len(expected)


async def test_regex(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    assert ids(await repo.list({"name": {"$regex": "^item1[0-5]$"}})) == list(range(10, 16))
    assert ids(await repo.list({"name": {"$regex": "ITEM2[0-1]", "$options": "i"}})) == [20, 21]
    assert ids(await repo.list({"name": {"$not": {"$regex": "[0-2]$"}}, "id__lte": 10})) == [
        3,
        4,
        5,
        6,
        7,
        8,
        9,
    ]
    assert await repo.count({"name__regex": "^item3"}) == 1


async def test_sort_skip_limit(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    by_price = sorted(DATA, key=lambda r: (-r["price"], r["id"]))
    got = await repo.list(sort=[("price", -1)], skip=3, limit=5)
    assert ids(got) == [r["id"] for r in by_price[3:8]]
    # NULL sorts first ascending, last descending, then the id tie-break
    asc = sorted(DATA, key=lambda r: (r["category"] is not None, r["category"] or "", r["id"]))
    assert ids(await repo.list(sort="category", limit=None)) == [r["id"] for r in asc]
    got = await repo.list({"qty__gt": 2}, sort=["-qty", "name"], limit=4)
    exp = sorted((r for r in DATA if r["qty"] > 2), key=lambda r: (-r["qty"], r["name"]))[:4]
    assert ids(got) == [r["id"] for r in exp]


async def test_reads(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    item = await repo.read(7)
    assert item is not None
    seven = DATA[6]
    assert (item.name, item.category, item.price, item.tags) == (
        "item07",
        seven["category"],
        seven["price"],
        seven["tags"],
    )
    assert await repo.read(999) is None
    assert await repo.exists(7)
    assert not await repo.exists(999)
    found = await repo.find_one({"category": "books"}, sort=[("price", -1)])
    best = max((r for r in DATA if r["category"] == "books"), key=lambda r: (r["price"], -r["id"]))
    assert found is not None
    assert found.id == best["id"]
    assert await repo.find_one({"qty": 99}) is None
    assert await repo.distinct("category") == ["books", "games", "music"]
    assert await repo.distinct("qty", {"category": "books"}) == sorted(
        {r["qty"] for r in DATA if r["category"] == "books"}
    )


async def test_crud_cycle(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    created = await repo.create({"id": 100, "name": "new", "price": 1.25, "tags": ["z"]})
    assert created.version == 1
    assert created.created_at is not None
    assert created.created_at == created.updated_at
    updated = await repo.update(100, {"qty": 3, "version": 1})
    assert updated is not None
    assert updated.qty == 3
    assert updated.version == 2
    with pytest.raises(XRepoConflictError, match="stale"):
        await repo.update(100, {"qty": 4, "version": 1})
    assert (await repo.read(100)).qty == 3  # type: ignore[union-attr]
    assert await repo.update(999, {"qty": 1}) is None
    assert await repo.delete(100) is True  # soft
    assert await repo.read(100) is None
    assert await repo.count() == 30
    assert await repo.count(include_deleted=True) == 31
    assert (await repo.read(100, include_deleted=True)).deleted_at is not None  # type: ignore[union-attr]
    restored = await repo.restore(100)
    assert restored is not None
    assert restored.deleted_at is None
    assert await repo.delete(100, soft=False) is True
    assert await repo.count(include_deleted=True) == 30
    assert await repo.delete(100, soft=False) is False


async def test_bulk_atomic(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    made = await repo.bulk_create([{"id": 200, "name": "b1"}, {"id": 201, "name": "b2"}])
    assert ids(made) == [200, 201]
    with pytest.raises(XRepoConflictError) as info:
        await repo.bulk_create([{"id": 202, "name": "ok"}, {"id": 5, "name": "dup"}])
    assert info.value.item == 1
    assert await repo.read(202) is None  # nothing of the failed batch was written
    with pytest.raises(XRepoValidationError) as bad:
        await repo.bulk_create([{"id": 203, "name": "ok"}, {"id": 204, "price": "cheap"}])
    assert bad.value.item == 1
    assert not await repo.exists(203)
    assert await repo.bulk_update([(200, {"qty": 9}), (201, {"qty": 8}), (999, {"qty": 1})]) == 2
    with pytest.raises(XRepoConflictError) as stale:
        await repo.bulk_update([(200, {"qty": 1}), (201, {"qty": 1, "version": 1})])
    assert stale.value.item == 1
    assert (await repo.read(200)).qty == 9  # type: ignore[union-attr]
    assert await repo.bulk_delete([200, 201, 999]) == 2
    assert await repo.bulk_delete([200, 201], soft=False) == 2
    assert await repo.count(include_deleted=True) == 30


def by_id(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: (d["_id"] is not None, str(d["_id"])))


async def test_group(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    got = await repo.aggregate(
        [
            {"$match": {"qty": {"$gte": 1}}},
            {
                "$group": {
                    "_id": "$category",
                    "n": {"$sum": 1},
                    "total": {"$sum": "$qty"},
                    "avg": {"$avg": "$price"},
                    "lo": {"$min": "$price"},
                    "hi": {"$max": "$qty"},
                    "cnt": {"$count": {}},
                }
            },
            {"$sort": {"_id": 1}},
        ]
    )
    expected = []
    for cat in [None, "books", "games", "music"]:
        rows = [r for r in DATA if r["category"] == cat and r["qty"] >= 1]
        expected.append(
            {
                "_id": cat,
                "n": len(rows),
                "total": sum(r["qty"] for r in rows),
                "avg": sum(r["price"] for r in rows) / len(rows),
                "lo": min(r["price"] for r in rows),
                "hi": max(r["qty"] for r in rows),
                "cnt": len(rows),
            }
        )
    assert len(got) == 4
    for g, e in zip(got, expected, strict=True):
        assert g["avg"] == pytest.approx(e.pop("avg"))
        assert {k: g[k] for k in e} == e


async def test_group_order_accumulators(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    got = await repo.aggregate(
        [
            {"$match": {"category": {"$ne": None}}},
            {"$sort": {"price": 1}},
            {
                "$group": {
                    "_id": {"c": "$category"},
                    "first": {"$first": "$name"},
                    "last": {"$last": "$name"},
                    "names": {"$push": "$name"},
                    "qtys": {"$addToSet": "$qty"},
                }
            },
            {"$sort": {"_id.c": -1}},
        ]
    )
    assert [g["_id"] for g in got] == [{"c": "music"}, {"c": "games"}, {"c": "books"}]
    for g in got:
        rows = sorted(
            (r for r in DATA if r["category"] == g["_id"]["c"]), key=lambda r: (r["price"], r["id"])
        )
        assert g["first"] == rows[0]["name"]
        assert g["last"] == rows[-1]["name"]
        assert sorted(g["names"]) == sorted(r["name"] for r in rows)
        assert sorted(g["qtys"]) == sorted({r["qty"] for r in rows})


async def test_pipeline_shapes(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    got = await repo.aggregate(
        [
            {"$match": {"category": "games"}},
            {"$sort": {"price": -1, "id": 1}},
            {"$skip": 1},
            {"$limit": 3},
            {"$project": {"label": "$name", "price": 1}},
        ]
    )
    rows = sorted(
        (r for r in DATA if r["category"] == "games"), key=lambda r: (-r["price"], r["id"])
    )[1:4]
    assert got == [{"label": r["name"], "price": r["price"]} for r in rows]
    assert await repo.aggregate([{"$match": {"qty": {"$gt": 5}}}, {"$count": "n"}]) == [
        {"n": len([r for r in DATA if r["qty"] > 5])}
    ]
    assert await repo.aggregate([{"$match": {"qty": 99}}, {"$count": "n"}]) == []
    assert (
        await repo.aggregate(
            [{"$match": {"qty": 99}}, {"$group": {"_id": None, "s": {"$sum": "$qty"}}}]
        )
        == []
    )
    totals = await repo.aggregate([{"$group": {"_id": None, "s": {"$sum": "$qty"}}}])
    assert totals == [{"_id": None, "s": sum(r["qty"] for r in DATA)}]
    excluded = await repo.aggregate(
        [
            {"$match": {"id": 3}},
            {
                "$project": {
                    "tags": 0,
                    "created_at": 0,
                    "updated_at": 0,
                    "deleted_at": 0,
                    "version": 0,
                }
            },
        ]
    )
    assert excluded == [{k: v for k, v in DATA[2].items() if k != "tags"}]


def refuses_lookup(kind: str) -> Any:
    """On a file read through its engine, ``$lookup`` is refused by name; elsewhere it runs."""
    if kind in SINGLE_FILE:
        return pytest.raises(XRepoValidationError, match=r"\$lookup .* not supported on a file")
    return None


async def test_lookup_unwind(backend: tuple[str, XRepo[Item], str]) -> None:
    kind, repo, orders = backend
    refused = refuses_lookup(kind)
    if refused is not None:
        with refused:
            await repo.aggregate(
                [
                    {
                        "$lookup": {
                            "from": orders,
                            "localField": "id",
                            "foreignField": "item_id",
                            "as": "o",
                        }
                    }
                ]
            )
        return
    got = await repo.aggregate(
        [
            {"$match": {"id": {"$lte": 6}}},
            {
                "$lookup": {
                    "from": orders,
                    "localField": "id",
                    "foreignField": "item_id",
                    "as": "order",
                }
            },
            {"$unwind": "$order"},
            {"$group": {"_id": "$id", "spent": {"$sum": "$order.amount"}, "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ]
    )
    expected = []
    for i in range(1, 7):
        mine = [o for o in ORDERS if o["item_id"] == i]
        if mine:
            expected.append({"_id": i, "spent": sum(o["amount"] for o in mine), "n": len(mine)})
    assert got == expected
    arrays = await repo.aggregate(
        [
            {"$match": {"id": {"$in": [1, 2]}}},
            {
                "$lookup": {
                    "from": orders,
                    "localField": "id",
                    "foreignField": "item_id",
                    "as": "orders",
                }
            },
            {"$project": {"id": 1, "orders": 1}},
            {"$sort": {"id": 1}},
        ]
    )
    assert [a["id"] for a in arrays] == [1, 2]
    for a in arrays:
        assert sorted(o["amount"] for o in a["orders"]) == sorted(
            o["amount"] for o in ORDERS if o["item_id"] == a["id"]
        )


HOSTILE: list[tuple[Any, str]] = [
    ({"$where": "sleep(1000)"}, r"\$where"),
    ({"name": {"$function": {"body": "x", "args": [], "lang": "js"}}}, r"\$function"),
    ({"name; DROP TABLE x": 1}, "unknown field"),
    ({"qty": {"$foo": 1}}, r"\$foo"),
    ({"qty__between": 1}, "__between"),
    ({"qty": {"$in": "abc"}}, r"\$in needs a list"),
    ({"qty": object()}, "cannot be used"),
    ({"$or": []}, "non-empty"),
]


@pytest.mark.parametrize(("filters", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
async def test_hostile_filters(
    backend: tuple[str, XRepo[Item], str], filters: Any, message: str
) -> None:
    _, repo, _ = backend
    with pytest.raises(XRepoValidationError, match=message):
        await repo.list(filters)


async def test_hostile_pipeline_and_values(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    with pytest.raises(XRepoValidationError, match=r"\$accumulator"):
        await repo.aggregate([{"$group": {"_id": None, "x": {"$accumulator": {}}}}])
    with pytest.raises(XRepoValidationError, match="unknown pipeline stage"):
        await repo.aggregate([{"$out": "stolen"}])
    deep: dict[str, Any] = {"qty": 1}
    for _ in range(40):
        deep = {"$and": [deep]}
    with pytest.raises(XRepoValidationError, match="deeper"):
        await repo.list(deep)
    with pytest.raises(XRepoValidationError, match="more than"):
        await repo.list({"$or": [{"qty": i} for i in range(1000)]})
    hostile_name = "Robert'); DROP TABLE students;--\" `x` $1 %s ?"
    made = await repo.create({"id": 300, "name": hostile_name})
    assert made.name == hostile_name
    assert ids(await repo.list({"name": hostile_name})) == [300]
    assert ids(await repo.list({"name__contains": "%s ?"})) == [300]
    assert ids(await repo.list({"name__contains": "%"})) == [300]
    with pytest.raises(XRepoValidationError, match="qty"):
        await repo.update(300, {"qty": "many"})
    with pytest.raises(XRepoValidationError, match="unknown field"):
        await repo.update(300, {"qty; DROP": 1})
    assert await repo.count() == 31


async def test_lookup_foreign_filter(backend: tuple[str, XRepo[Item], str]) -> None:
    """``Lookup.where`` (set by access control) restricts the joined rows on every backend."""
    import dataclasses

    from xrepo import parse_filter, parse_pipeline

    kind, repo, orders = backend
    look = {"$lookup": {"from": orders, "localField": "id", "foreignField": "item_id", "as": "o"}}
    refused = refuses_lookup(kind)
    if refused is not None:
        with refused:
            await repo.aggregate([look, {"$unwind": "$o"}])
        return
    stages = parse_pipeline(
        [
            {"$match": {"id": {"$lte": 4}}},
            look,
            {"$project": {"id": 1, "o": 1}},
            {"$sort": {"id": 1}},
        ],
        fields=set(repo.fields),
    )
    stages[1] = dataclasses.replace(stages[1], where=parse_filter({"amount": {"$gt": 30}}))
    got = await repo._aggregate(stages)
    assert [(d["id"], sorted(o["amount"] for o in d["o"])) for d in got] == [
        (i, sorted(o["amount"] for o in ORDERS if o["item_id"] == i and o["amount"] > 30))
        for i in range(1, 5)
    ]
    joined = parse_pipeline(
        [look, {"$unwind": "$o"}, {"$group": {"_id": None, "n": {"$sum": 1}}}],
        fields=set(repo.fields),
    )
    joined[0] = dataclasses.replace(joined[0], where=parse_filter({"amount": {"$lte": 20}}))
    assert await repo._aggregate(joined) == [{"_id": None, "n": 2}]


async def test_unwind(backend: tuple[str, XRepo[Item], str]) -> None:
    _, repo, _ = backend
    got = await repo.aggregate(
        [
            {"$match": {"id": {"$lte": 8}}},
            {"$sort": {"id": 1}},
            {"$unwind": "$tags"},
            {"$project": {"id": 1, "tags": 1}},
        ]
    )
    assert got == [{"id": r["id"], "tags": t} for r in DATA[:8] for t in r["tags"]]
    counts = await repo.aggregate(
        [
            {"$unwind": "$tags"},
            {"$match": {"tags": {"$ne": "c"}}},
            {"$group": {"_id": "$tags", "n": {"$sum": 1}, "qty": {"$sum": "$qty"}}},
            {"$sort": {"_id": -1}},
        ]
    )
    assert counts == [
        {
            "_id": t,
            "n": sum(t in r["tags"] for r in DATA),
            "qty": sum(r["qty"] for r in DATA if t in r["tags"]),
        }
        for t in ("b", "a")
    ]
    kept = await repo.aggregate(
        [
            {"$match": {"id": {"$lte": 4}}},
            {"$sort": {"id": 1}},
            {"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True}},
            {"$project": {"id": 1, "tags": 1}},
        ]
    )
    # an empty array keeps its document; the field is gone (MongoDB) or null (SQL)
    assert [(d["id"], d.get("tags")) for d in kept] == [
        (1, "a"),
        (1, "b"),
        (2, None),
        (3, "c"),
        (4, "a"),
    ]
