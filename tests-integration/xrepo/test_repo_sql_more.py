"""JSON values keep their type through ``$group`` on SQLite and PostgreSQL, with mongod as oracle.

The bugs this keeps fixed: SQLite's ``json_extract`` gives a JSON ``true`` as ``1``, so
``$group`` by ``$addr.zip`` merged ``true`` with ``1``, ``$min``/``$max``/``$first``/``$push``/
``$addToSet`` of ``$addr.n`` gave ``1`` for ``true``, and ``$min``/``$max`` over mixed JSON types
ignored MongoDB's order of types (numbers < strings < documents < booleans); ``$match`` after
``$group`` did not test the elements of a pushed array or of a list key. PostgreSQL partitioned
``$first``/``$last`` by the text of a JSON key (``"10"`` with ``10``) while grouping by its value,
so ``$last: "$i"`` read another group's row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from repo_backends import mongo_collections, mongo_db_url, seeded_repo_fixture

from xobj_prototype import XObjPrototype
from xrepo import XRepo

BACKENDS = ["sqlite", "postgresql", "duckdb"]


class Rec(XObjPrototype):
    id: int
    s: str | None = None
    i: int | None = None
    nums: list[int] | None = None
    addr: dict[str, Any] | None = None


# JSON true next to 1, 10 next to 10.0 and "10", null next to missing, strings with trailing
# spaces and case variants, a document among scalars, ints beyond int32.
ROWS: list[dict[str, Any]] = [
    {"id": 1, "s": "b", "i": 3, "nums": [1, 2], "addr": {"zip": True, "n": True, "c": "Oslo"}},
    {"id": 2, "s": "a", "i": -1, "nums": [3], "addr": {"zip": 1, "n": 1.5, "c": "oslo "}},
    {"id": 3, "s": "É", "i": 2147483648, "nums": [], "addr": {"zip": 10, "n": "x", "c": None}},
    {"id": 4, "s": None, "i": 0, "nums": None, "addr": {"zip": 10.0, "n": False}},
    {"id": 5, "s": "A", "i": 7, "nums": [1], "addr": {"zip": "10", "n": {"k": 1}, "c": "ß"}},
    {"id": 6, "s": "ab", "i": None, "nums": [2, 1], "addr": {"zip": None, "n": -2}},
    {"id": 7, "s": "", "i": 5, "nums": [1, 2], "addr": None},
    {"id": 8, "s": "b ", "i": -3, "nums": [3], "addr": {"zip": True, "n": "X", "c": "Oslo"}},
    {"id": 9, "s": "z", "i": 11, "nums": [0], "addr": {"zip": 1, "n": False, "c": "é"}},
]

DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, nums TEXT, addr TEXT)",
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i BIGINT, nums JSONB, addr JSONB)"
    ),
    "duckdb": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s VARCHAR, i BIGINT, nums JSON, addr JSON)"
    ),
}

_SORTED_ID = {"$sort": {"_id": 1}}
# (label, pipeline, whether the answer's order is defined)
CASES: list[tuple[str, list[dict[str, Any]], bool]] = [
    ("group by a JSON key", [{"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}}], False),
    ("group by a JSON key, sorted", [{"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}},
                                     _SORTED_ID], True),
    ("group by a JSON key, sorted down",
     [{"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}}, {"$sort": {"_id": -1}}], True),
    ("min and max over mixed types",
     [{"$group": {"_id": "$s", "lo": {"$min": "$addr.n"}, "hi": {"$max": "$addr.n"}}}], False),
    ("min and max of all",
     [{"$group": {"_id": None, "lo": {"$min": "$addr.n"}, "hi": {"$max": "$addr.n"}}}], True),
    ("min and max by a JSON key",
     [{"$group": {"_id": "$addr.zip", "lo": {"$min": "$addr.n"}, "hi": {"$max": "$addr.n"}}}],
     False),
    ("first and last of a JSON boolean",
     [{"$sort": {"i": 1, "id": 1}},
      {"$group": {"_id": "$addr.zip", "f": {"$first": "$addr.n"}, "l": {"$last": "$addr.n"}}}],
     False),
    ("push of JSON values in order",
     [{"$sort": {"i": -1, "id": 1}}, {"$group": {"_id": None, "p": {"$push": "$addr.n"}}}], True),
    ("push by a JSON key in order",
     [{"$sort": {"s": 1, "id": 1}}, {"$group": {"_id": "$addr.zip", "p": {"$push": "$addr.c"}}}],
     False),
    ("last by a JSON key, sorted down",
     [{"$sort": {"s": 1, "id": 1}}, {"$group": {"_id": "$addr.zip", "a": {"$last": "$i"}}},
      {"$sort": {"_id": -1}}], True),
    ("first by a JSON key, sorted",
     [{"$sort": {"i": -1, "id": 1}}, {"$group": {"_id": "$addr.zip", "a": {"$first": "$s"}}},
      _SORTED_ID], True),
    ("match a JSON key after group",
     [{"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}}, {"$match": {"_id": 10}}], True),
    ("match a JSON boolean key after group",
     [{"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}}, {"$match": {"_id": True}}], True),
    ("match a JSON string key after group",
     [{"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}}, {"$match": {"_id": {"$gte": "1"}}}],
     True),
    ("match a list key's elements",
     [{"$group": {"_id": "$nums", "n": {"$sum": 1}}}, {"$match": {"_id": 1}},
      {"$project": {"_id": 0, "n": 1}}], False),
    ("match a pushed array's elements",
     [{"$sort": {"id": 1}}, {"$group": {"_id": "$addr.zip", "p": {"$push": "$s"}}},
      {"$match": {"p": {"$lte": "a"}}}], False),
    ("project a JSON boolean", [{"$sort": {"id": 1}}, {"$project": {"_id": 0, "n": "$addr.n"}}],
     True),
    ("sort by a JSON path of mixed types",
     [{"$sort": {"addr.zip": 1, "id": 1}}, {"$project": {"_id": 0, "id": 1}}], True),
]  # fmt: skip

#: ``$addToSet`` (a set: compared without order).
SETS = [
    ("add JSON values to a set", [{"$group": {"_id": None, "t": {"$addToSet": "$addr.n"}}}]),
    ("add by a JSON key", [{"$group": {"_id": "$addr.zip", "t": {"$addToSet": "$addr.zip"}}}]),
]


def canon(value: Any) -> Any:
    """A typed, hashable form: ``True`` is never ``1``, ``10`` equals ``10.0``."""
    if value is None or isinstance(value, bool | str):
        return (type(value).__name__, value)
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return ("number", number.normalize() if number else Decimal(0))
    if isinstance(value, list):
        return ("list", tuple(canon(v) for v in value))
    if isinstance(value, dict):
        return ("doc", tuple(sorted((k, canon(v)) for k, v in value.items() if v is not None)))
    return ("other", repr(value))


def canon_rows(rows: list[Any], ordered: bool, sets: bool = False) -> Any:
    out = []
    for row in rows:
        if sets:  # arrays as sets of typed values
            typed = {k: tuple(sorted(map(canon, v), key=repr)) if isinstance(v, list) else canon(v)
                     for k, v in row.items()}  # fmt: skip
            out.append(repr(sorted(typed.items())))
        else:
            out.append(canon(row))
    return out if ordered else sorted(out, key=repr)


repo = seeded_repo_fixture(BACKENDS, model=Rec, rows=ROWS, ddl=DDL, database="xrepo_sql_more")


@pytest.fixture
async def oracle(request: pytest.FixtureRequest, unique_name: str) -> AsyncIterator[Any]:
    """Each case's answer from a plain mongod collection holding ``ROWS``."""
    url = mongo_db_url(request.getfixturevalue("mongodb_url"), "xrepo_sql_more")
    name = f"{unique_name}_oracle"
    async with mongo_collections(url, [name]) as resource:
        coll = resource.db[name]
        # Nulls stored as null: SQL cannot tell null from missing (a documented deviation).
        await coll.insert_many([dict(r) for r in ROWS])
        answers: dict[str, list[Any]] = {}
        for label, stages, _ in CASES:
            answers[label] = await (await coll.aggregate(stages)).to_list(None)
        for label, stages in SETS:
            answers[label] = await (await coll.aggregate(stages)).to_list(None)
        yield answers


async def test_json_values_answer_as_mongod(
    repo: XRepo[Rec], oracle: dict[str, list[Any]], request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["repo"]
    wrong = []
    for label, stages, ordered in CASES:
        got = await repo.aggregate(stages)
        if canon_rows(got, ordered) != canon_rows(oracle[label], ordered):
            wrong.append(f"{backend} {label}: got {got}, mongod {oracle[label]}")
    for label, stages in SETS:
        got = await repo.aggregate(stages)
        if canon_rows(got, False, sets=True) != canon_rows(oracle[label], False, sets=True):
            wrong.append(f"{backend} {label}: got {got}, mongod {oracle[label]}")
    assert not wrong, "\n".join(wrong)


async def test_the_oracle_sees_the_bugs(oracle: dict[str, list[Any]]) -> None:
    """The cases are not vacuous: true and 1 are two groups, and true is above every number."""
    keys = [canon(d["_id"]) for d in oracle["group by a JSON key, sorted"]]
    assert keys == [canon(None), canon(1), canon(10), canon("10"), canon(True)]
    assert oracle["min and max of all"] == [{"_id": None, "lo": -2, "hi": True}]
    assert oracle["match a JSON boolean key after group"] == [{"_id": True, "n": 2}]
