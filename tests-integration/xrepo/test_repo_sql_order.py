"""Order through ``$unwind`` and whole lists on SQL, with a real mongod as the oracle.

The bugs this keeps fixed: ``$sort`` then ``$unwind`` then ``$group`` with ``$first``/``$last``/
``$push`` lost the sort on PostgreSQL, SQLite and MariaDB (the order lived in an ``ORDER BY``
inside a derived table, which no database keeps), and past a ``$limit`` too; ``$sort`` by a list
field sorted JSON text instead of MongoDB's smallest (largest) element; ``$max`` of a list field
gave ``[]`` or ``["a", "A", "a"]`` (mongod: ``["中"]``). What SQL cannot order as MongoDB does
(whole arrays: ``$min``/``$max`` of a list, ``$sort`` by a list ``$group`` key) is refused with
an ``XRepoValidationError`` naming the operator, the field and the backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from repo_backends import mongo_collections, mongo_db_url, seeded_repo_fixture

from xobj_prototype import XObjPrototype
from xrepo import XRepo, XRepoValidationError

BACKENDS = ["sqlite", "postgresql", "mysql", "duckdb"]


class Rec(XObjPrototype):
    id: int
    s: str | None = None
    i: int | None = None
    f: float | None = None
    tags: list[str] | None = None
    nums: list[int] | None = None


# Ties in every sort key, nulls and missing lists, empty lists, non-ASCII and case variants,
# trailing spaces, ints beyond int32 next to small ones.
ROWS: list[dict[str, Any]] = [
    {"id": 1, "s": "abc", "i": -213, "f": 1.5, "tags": ["b", "É"], "nums": [3, -1, 3]},
    {"id": 2, "s": "ABC", "i": -2147483649, "f": None, "tags": ["a ", "中"], "nums": [2]},
    {"id": 3, "s": "É", "i": 7, "f": 1.5, "tags": [], "nums": []},
    {"id": 4, "s": "", "i": 1099511627776, "f": -0.5, "tags": None, "nums": None},
    {"id": 5, "s": "abc ", "i": 0, "f": 2.0, "tags": ["A", "a"], "nums": [1099511627776, 0]},
    {"id": 6, "s": "ß", "i": None, "f": 1.5, "tags": ["é", ""], "nums": [-2147483649, 2]},
    {"id": 7, "s": None, "i": 2, "f": 1e12, "tags": ["ß"], "nums": [2, 2]},
]

DDL = {
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, f REAL, tags TEXT, nums TEXT)"
    ),
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i BIGINT, f DOUBLE PRECISION, "
        "tags JSONB, nums JSONB)"
    ),
    "mysql": (
        "CREATE TABLE {t} (id INT PRIMARY KEY, s VARCHAR(100), i BIGINT, f DOUBLE, tags JSON, "
        "nums JSON)"
    ),
    "duckdb": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s VARCHAR, i BIGINT, f DOUBLE, tags JSON, "
        "nums JSON)"
    ),
}

_NULL = {"_id": None}
# (label, pipeline): every answer is compared in order, as mongod gives it.
CASES: list[tuple[str, list[dict[str, Any]]]] = [
    ("last after unwind", [{"$sort": {"f": -1, "id": 1}}, {"$unwind": "$nums"},
                           {"$group": {**_NULL, "a": {"$last": "$i"}}}]),
    ("first after unwind", [{"$sort": {"f": 1, "id": -1}}, {"$unwind": "$nums"},
                            {"$group": {**_NULL, "a": {"$first": "$i"}, "b": {"$last": "$s"}}}]),
    ("push after unwind", [{"$sort": {"s": 1, "id": 1}}, {"$unwind": "$tags"},
                           {"$group": {**_NULL, "p": {"$push": "$s"}, "t": {"$push": "$tags"}}}]),
    ("push by group after unwind",
     [{"$sort": {"f": -1, "id": 1}}, {"$unwind": "$nums"},
      {"$group": {"_id": "$f", "p": {"$push": "$nums"}, "l": {"$last": "$nums"}}},
      {"$sort": {"_id": 1}}]),
    ("elements in place", [{"$unwind": "$nums"}, {"$group": {**_NULL, "p": {"$push": "$nums"}}}]),
    ("sort by the unwound array", [{"$sort": {"nums": -1, "id": 1}}, {"$unwind": "$nums"},
                                   {"$group": {**_NULL, "p": {"$push": "$id"}}}]),
    ("past a limit", [{"$sort": {"i": 1, "id": 1}}, {"$limit": 5}, {"$unwind": "$tags"},
                      {"$group": {**_NULL, "p": {"$push": "$tags"}, "l": {"$last": "$id"}}}]),
    ("past a skip", [{"$sort": {"s": -1, "id": 1}}, {"$skip": 1}, {"$unwind": "$nums"},
                     {"$group": {**_NULL, "p": {"$push": "$i"}}}]),
    ("two unwinds", [{"$sort": {"f": 1, "id": -1}}, {"$unwind": "$tags"}, {"$unwind": "$nums"},
                     {"$group": {**_NULL, "p": {"$push": "$tags"}, "q": {"$push": "$nums"}}}]),
    ("unwound then sorted again",
     [{"$sort": {"id": -1}}, {"$unwind": "$tags"}, {"$sort": {"tags": 1, "id": 1}},
      {"$project": {"_id": 0, "id": 1, "tags": 1}}]),
    ("sort by a list ascending", [{"$sort": {"tags": 1, "id": 1}},
                                  {"$project": {"_id": 0, "id": 1}}]),
    ("sort by a list descending", [{"$sort": {"tags": -1, "id": 1}},
                                   {"$project": {"_id": 0, "id": 1}}]),
    ("sort by an int list", [{"$sort": {"nums": 1, "id": -1}}, {"$project": {"_id": 0, "id": 1}}]),
    ("sort by an int list descending", [{"$sort": {"nums": -1, "id": -1}},
                                        {"$project": {"_id": 0, "id": 1}}]),
    ("sort by a push", [{"$sort": {"id": 1}}, {"$group": {"_id": "$f", "p": {"$push": "$i"}}},
                        {"$sort": {"p": 1, "_id": 1}}]),
    ("sort by a push descending",
     [{"$sort": {"id": 1}}, {"$group": {"_id": "$f", "p": {"$push": "$s"}}},
      {"$sort": {"p": -1, "_id": 1}}]),
    ("sort by a first list",
     [{"$sort": {"id": 1}}, {"$group": {"_id": "$f", "t": {"$first": "$tags"}}},
      {"$sort": {"t": 1, "_id": 1}}]),
]  # fmt: skip

#: The same, each refused: MongoDB orders whole arrays here, which SQL does not.
REFUSED: list[tuple[str, str, list[dict[str, Any]]]] = [
    ("$max", "tags", [{"$group": {**_NULL, "m": {"$max": "$tags"}}}]),
    ("$min", "nums", [{"$group": {"_id": "$s", "m": {"$min": "$nums"}}}]),
    ("$max", "p", [{"$group": {"_id": "$s", "p": {"$push": "$i"}}},
                   {"$group": {**_NULL, "m": {"$max": "$p"}}}]),
    ("$min", "_id", [{"$group": {"_id": "$tags"}}, {"$group": {**_NULL, "m": {"$min": "$_id"}}}]),
    ("$sort", "_id", [{"$group": {"_id": "$tags"}}, {"$sort": {"_id": 1}}]),
    ("$sort", "_id", [{"$group": {"_id": "$nums", "n": {"$sum": 1}}}, {"$sort": {"_id": -1}}]),
]  # fmt: skip


repo = seeded_repo_fixture(BACKENDS, model=Rec, rows=ROWS, ddl=DDL, database="xrepo_sql_order")


@pytest.fixture
async def oracle(
    request: pytest.FixtureRequest, unique_name: str
) -> AsyncIterator[dict[str, list[Any]]]:
    """Each case's answer from a plain mongod collection holding ``ROWS`` (inserted by id: the
    natural order is the id's, as the SQL backends' default order)."""
    url = mongo_db_url(request.getfixturevalue("mongodb_url"), "xrepo_sql_order")
    name = f"{unique_name}_oracle"
    async with mongo_collections(url, [name]) as resource:
        coll = resource.db[name]
        # Nulls stored as null: SQL cannot tell null from missing (a documented deviation).
        await coll.insert_many([dict(r) for r in ROWS])
        answers: dict[str, list[Any]] = {}
        for label, stages in CASES:
            cursor = await coll.aggregate(stages)
            answers[label] = await cursor.to_list(None)
        yield answers


async def test_order_answers_as_mongod(
    repo: XRepo[Rec], oracle: dict[str, list[Any]], request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["repo"]
    wrong = []
    for label, stages in CASES:
        got = await repo.aggregate(stages)
        if got != oracle[label]:
            wrong.append(f"{backend} {label}: got {got}, mongod {oracle[label]}")
    assert not wrong, "\n".join(wrong)


async def test_the_oracle_sees_the_bugs(oracle: dict[str, list[Any]]) -> None:
    """The cases are not vacuous: the answers the SQL backends gave before differ from these."""
    # f descending (nulls last), id ascending; the last row unwound is id 2's only element.
    assert oracle["last after unwind"] == [{"_id": None, "a": -2147483649}]
    # s ascending (null first), each element in place; id 4 has no tags, id 3 an empty list.
    pushed = oracle["push after unwind"][0]["p"]
    assert pushed == [None, "ABC", "ABC", "abc", "abc", "abc ", "abc ", "ß", "ß"]
    # An empty list below null, then by the smallest element (code points: "" < "A" < "a ").
    assert [d["id"] for d in oracle["sort by a list ascending"]] == [3, 4, 6, 5, 2, 1, 7]
    assert [d["id"] for d in oracle["sort by a list descending"]] == [2, 6, 7, 1, 5, 4, 3]


@pytest.mark.parametrize(
    ("op", "field", "stages"), REFUSED, ids=[f"{o} {f}" for o, f, _ in REFUSED]
)
async def test_whole_array_orders_are_refused(
    repo: XRepo[Rec], request: pytest.FixtureRequest, op: str, field: str, stages: Any
) -> None:
    backend = request.node.callspec.params["repo"]
    with pytest.raises(XRepoValidationError) as err:
        await repo.aggregate(stages)
    message = str(err.value)
    assert op in message
    assert repr(field) in message
    assert ("mariadb" if backend == "mysql" else backend) in message.lower() or (
        backend in message.lower()
    )


async def test_list_sorts_through_list(repo: XRepo[Rec]) -> None:
    """``list(sort=...)`` by a list field sorts as ``$sort`` does (smallest element first)."""
    got = [r.id for r in await repo.list(sort=[("tags", 1), ("id", 1)])]
    assert got == [3, 4, 6, 5, 2, 1, 7]
