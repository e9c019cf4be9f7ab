"""A field typed ``Any`` on SQL answers as MongoDB does, with a real mongod as the oracle.

The bug this keeps fixed: an ``Any`` field stored in a JSON column was bound raw (PostgreSQL
JSONB refused an int: ``expected str, got int``; MariaDB's JSON CHECK refused the string ``x``)
and read back as text on SQLite (``'5'``, ``'{"a":1}'``, ``'1'`` for true), so ``{"v": 5}``
matched nothing. Now every value of an ``Any`` field is stored as JSON text (5 -> ``5``, "5" ->
``"5"``, None stays SQL NULL), read back decoded, and compared type-strictly as JSON.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from repo_backends import seeded_repo

from xobj_prototype import XObjPrototype
from xrepo import XRepo

SQL = ["sqlite", "postgresql", "mysql"]


class Box(XObjPrototype):
    id: int
    v: Any = None


VALUES: list[Any] = [
    5,
    2.5,
    "5",
    "x",
    "{",
    True,
    False,
    None,
    {"a": 1, "b": "é"},
    [1, "a"],
    0,
    "",
    " x ",
    -3,
    "null",
    "true",
    "Zürich",
    [],
    {"n": {"deep": [True, None]}},
]
ROWS = [{"id": i, "v": v} for i, v in enumerate(VALUES, start=1)]

DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, v TEXT)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, v JSONB)",
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, v JSON)",
}

#: (xrepo filter, the same question to mongod). ``$exists: true`` means present-and-not-null
#: in xrepo (docs/xrepo.md: SQL cannot tell null from missing), hence mongod's ``$ne: null``.
FILTERS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"v": 5}, {"v": 5}),
    ({"v": 5.0}, {"v": 5.0}),
    ({"v": "5"}, {"v": "5"}),
    ({"v": "x"}, {"v": "x"}),
    ({"v": "{"}, {"v": "{"}),
    ({"v": True}, {"v": True}),
    ({"v": False}, {"v": False}),
    ({"v": 1}, {"v": 1}),
    ({"v": 0}, {"v": 0}),
    ({"v": "a"}, {"v": "a"}),
    ({"v": ""}, {"v": ""}),
    ({"v": "null"}, {"v": "null"}),
    ({"v": None}, {"v": None}),
    ({"v": {"$ne": 5}}, {"v": {"$ne": 5}}),
    ({"v": {"$ne": "x"}}, {"v": {"$ne": "x"}}),
    ({"v": {"$ne": True}}, {"v": {"$ne": True}}),
    ({"v": {"$in": [5, "x", True]}}, {"v": {"$in": [5, "x", True]}}),
    ({"v": {"$in": ["5", 0, "true"]}}, {"v": {"$in": ["5", 0, "true"]}}),
    ({"v": {"$gt": 1}}, {"v": {"$gt": 1}}),
    ({"v": {"$gt": 0}}, {"v": {"$gt": 0}}),
    ({"v": {"$lt": 3}}, {"v": {"$lt": 3}}),
    ({"v": {"$gte": "x"}}, {"v": {"$gte": "x"}}),
    ({"v": {"$gt": "5"}}, {"v": {"$gt": "5"}}),
    ({"v": {"$exists": True}}, {"v": {"$ne": None}}),
    ({"v": {"$exists": False}}, {"v": None}),
    ({"v": {"$nin": [5, "x", None]}}, {"v": {"$nin": [5, "x", None]}}),
    ({"v": {"$in": [None, "5"]}}, {"v": {"$in": [None, "5"]}}),
    ({"v": {"$regex": "^x"}}, {"v": {"$regex": "^x"}}),
    ({"v": {"$not": {"$gt": 1}}}, {"v": {"$not": {"$gt": 1}}}),
    ({"v__contains": "x"}, {"v": {"$regex": "x"}}),
    ({"v__contains": "ü"}, {"v": {"$regex": "ü"}}),
    ({"v__contains": "5"}, {"v": {"$regex": "5"}}),
]


def canonical(value: Any) -> str:
    """A value as a comparable key that keeps types apart (5 is not "5", True is not 1) and
    numbers together (5 is 5.0), as MongoDB compares them."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"n:{float(value)!r}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{canonical(v)}" for k, v in value.items()) + "}"
    raise AssertionError(f"unexpected value {value!r}")


@pytest.fixture(scope="module")
def oracle(mongodb_url: str) -> Iterator[Any]:
    """A plain mongod collection holding ROWS in their natural BSON form."""
    client: MongoClient[Any] = MongoClient(mongodb_url, serverSelectionTimeoutMS=5000)
    coll = client["xrepo_tests"][f"any_oracle_{id(client)}"]
    coll.insert_many([{"_id": r["id"], "v": r["v"]} for r in ROWS])
    yield coll
    coll.drop()
    client.close()


@pytest.fixture(params=SQL)
async def repo(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[XRepo[Box]]:
    async with seeded_repo(
        request,
        request.param,
        model=Box,
        rows=ROWS,
        ddl=DDL,
        name=unique_name,
        tmp_path=tmp_path,
    ) as r:
        yield r


async def test_values_read_back_as_written(repo: XRepo[Box]) -> None:
    got = [r.v for r in await repo.list(sort=[("id", 1)])]
    assert got == VALUES
    # Types too: == says True == 1 and 5 == 5.0.
    assert [type(v) for v in got] == [type(v) for v in VALUES]
    for row in ROWS:
        found = await repo.read(row["id"])
        assert found is not None
        assert type(found.v) is type(row["v"])
        assert found.v == row["v"]


async def test_create_and_update_store_json(repo: XRepo[Box]) -> None:
    created = await repo.create({"id": 100, "v": "7"})
    assert created.v == "7"
    assert await repo.count({"v": "7"}) == 1
    assert await repo.count({"v": 7}) == 0
    await repo.update(100, {"v": 7})
    again = await repo.read(100)
    assert again is not None
    assert again.v == 7
    assert type(again.v) is int
    assert await repo.count({"v": 7}) == 1
    assert await repo.count({"v": "7"}) == 0


@pytest.mark.parametrize(("query", "mongo"), FILTERS, ids=[repr(f[0]) for f in FILTERS])
async def test_filters_answer_as_mongodb(
    repo: XRepo[Box], oracle: Any, query: dict[str, Any], mongo: dict[str, Any]
) -> None:
    expected = sorted(d["_id"] for d in oracle.find(mongo, {"_id": 1}))
    got = sorted(r.id for r in await repo.list(query))
    assert got == expected
    assert await repo.count(query) == len(expected)


async def test_distinct_answers_as_mongodb(repo: XRepo[Box], oracle: Any) -> None:
    expected = sorted(canonical(v) for v in oracle.distinct("v") if v is not None)
    got = sorted(canonical(v) for v in await repo.distinct("v"))
    assert got == expected


async def test_group_answers_as_mongodb(repo: XRepo[Box], oracle: Any) -> None:
    more = [{"id": 50, "v": 5.0}, {"id": 51, "v": "x"}, {"id": 52, "v": 1}]
    await repo.bulk_create(more)
    oracle.insert_many([{"_id": r["id"], "v": r["v"]} for r in more])
    try:
        stages: list[dict[str, Any]] = [{"$group": {"_id": "$v", "n": {"$sum": 1}}}]
        expected = sorted((canonical(d["_id"]), d["n"]) for d in oracle.aggregate(stages))
        got = sorted((canonical(d["_id"]), d["n"]) for d in await repo.aggregate(stages))
        assert got == expected
    finally:
        oracle.delete_many({"_id": {"$in": [50, 51, 52]}})


#: Left out of the sort test, known limits: MongoDB sorts an array by its smallest (largest)
#: element, SQL backends order an ``Any`` array as a whole value; MongoDB orders documents field
#: by field, PostgreSQL's jsonb by their number of keys first.
UNSORTED_IDS = [r["id"] for r in ROWS if isinstance(r["v"], list | dict)]


@pytest.mark.parametrize("direction", [1, -1])
async def test_sort_answers_as_mongodb(repo: XRepo[Box], oracle: Any, direction: int) -> None:
    mongo = {"_id": {"$nin": UNSORTED_IDS}}
    keys = [("v", direction), ("_id", 1)]
    expected = [d["_id"] for d in oracle.find(mongo, {"_id": 1}).sort(keys)]
    query = {"id": {"$nin": UNSORTED_IDS}}
    got = [r.id for r in await repo.list(query, sort=[("v", direction), ("id", 1)])]
    assert got == expected


async def test_match_after_group_answers_as_mongodb(repo: XRepo[Box], oracle: Any) -> None:
    stages: list[dict[str, Any]] = [
        {"$group": {"_id": "$v", "n": {"$sum": 1}}},
        {"$match": {"_id": {"$in": [5, "5", True]}}},
    ]
    expected = sorted(canonical(d["_id"]) for d in oracle.aggregate(stages))
    got = sorted(canonical(d["_id"]) for d in await repo.aggregate(stages))
    assert got == expected


@pytest.mark.parametrize("op", ["$sum", "$avg", "$min", "$max"])
async def test_accumulators_answer_as_mongodb(repo: XRepo[Box], oracle: Any, op: str) -> None:
    stages: list[dict[str, Any]] = [{"$group": {"_id": None, "x": {op: "$v"}}}]
    expected = [canonical(d["x"]) for d in oracle.aggregate(stages)]
    got = [canonical(d["x"]) for d in await repo.aggregate(stages)]
    assert got == expected


@pytest.mark.parametrize("op", ["$push", "$addToSet"])
async def test_push_answers_as_mongodb(repo: XRepo[Box], oracle: Any, op: str) -> None:
    group = {"$group": {"_id": None, "p": {op: "$v"}}}
    expected = [
        canonical(v) for d in oracle.aggregate([{"$sort": {"_id": 1}}, group]) for v in d["p"]
    ]
    got = [
        canonical(v) for d in await repo.aggregate([{"$sort": {"id": 1}}, group]) for v in d["p"]
    ]
    if op == "$addToSet":  # a set: no order
        expected, got = sorted(expected), sorted(got)
    assert got == expected


async def test_bulk_create_of_many_rows(repo: XRepo[Box]) -> None:
    """1200 rows: PostgreSQL sends them by COPY, which must write JSON text too."""
    many = [{"id": 1000 + i, "v": VALUES[i % len(VALUES)]} for i in range(1200)]
    await repo.bulk_create(many)
    got = await repo.list({"id": {"$gte": 1000}}, limit=None, sort=[("id", 1)])
    assert [r.v for r in got] == [r["v"] for r in many]
    assert [type(r.v) for r in got] == [type(r["v"]) for r in many]
    fives = sum(1 for r in many if r["v"] == 5 and type(r["v"]) is int)
    assert await repo.count({"id": {"$gte": 1000}, "v": 5}) == fives + sum(
        1 for r in many if isinstance(r["v"], list) and 5 in r["v"]
    )
