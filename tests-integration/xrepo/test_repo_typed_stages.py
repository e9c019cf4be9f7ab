"""``$match`` after ``$group``/``$unwind``/``$project`` typed by the kinds of the fields at that
point, on every backend, with a real mongod as the oracle.

The bugs this keeps fixed: SQLite (booleans stored as 0/1) answered
``{"$group": {"_id": "$b"}}, {"$match": {"_id": 1}}`` with the ``true`` group and
``{"$unwind": "$nums"}, {"$match": {"nums": true}}`` with the 1s; a Decimal group key compared
with ``true``; accumulator results compared with strings and booleans. MongoDB answers nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128
from repo_backends import mongo_collections, mongo_db_url, seeded_repo_fixture

from xobj_prototype import XObjPrototype
from xrepo import XRepo

BACKENDS = ["memory", "sqlite", "postgresql", "mysql", "mongodb", "duckdb"]
UTC = dt.UTC


class Rec(XObjPrototype):
    id: int
    s: str | None = None
    i: int | None = None
    d: Decimal | None = None
    b: bool | None = None
    ts: dt.datetime | None = None
    nums: list[int] = []
    flags: list[bool] = []


ROWS: list[dict[str, Any]] = [
    {"id": 1, "s": "Ésa ", "i": 1, "d": Decimal("-1.5"), "b": True,
     "ts": dt.datetime(2024, 1, 1, 10, 30, tzinfo=UTC), "nums": [1, 2, 1], "flags": [True]},
    {"id": 2, "s": "1", "i": 0, "d": Decimal("0"), "b": False,
     "ts": dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC), "nums": [0], "flags": [False]},
    {"id": 3, "s": "", "i": 2, "d": Decimal("2.25"), "b": True, "nums": [], "flags": []},
    {"id": 4, "s": "ß\t", "i": -3, "d": Decimal("10"), "b": None, "nums": [1],
     "flags": [True, False]},
    {"id": 5, "s": None, "i": None, "d": None, "b": False, "nums": [-1, 0],
     "flags": [False, False]},
]  # fmt: skip

DDL = {
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, d NUMERIC, b BOOLEAN, "
        "ts TEXT, nums TEXT, flags TEXT)"
    ),
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i BIGINT, d NUMERIC(12, 4), "
        "b BOOLEAN, ts TIMESTAMPTZ, nums JSONB, flags JSONB)"
    ),
    "mysql": (
        "CREATE TABLE {t} (id INT PRIMARY KEY, s VARCHAR(100), i BIGINT, d DECIMAL(12, 4), "
        "b BOOLEAN, ts DATETIME(6), nums JSON, flags JSON)"
    ),
    "duckdb": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s VARCHAR, i BIGINT, d DECIMAL(12, 4), "
        "b BOOLEAN, ts TIMESTAMPTZ, nums JSON, flags JSON)"
    ),
}

_COMPOUND_ORACLE = {"k": {"$ifNull": ["$b", None]}, "t": {"$ifNull": ["$i", None]}}

# (label, xrepo pipeline, mongod pipeline when it differs: JSON forms typed, null == missing)
CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None]] = [
    ("bool key = 1", [{"$group": {"_id": "$b"}}, {"$match": {"_id": 1}}], None),
    ("bool key != 1", [{"$group": {"_id": "$b"}}, {"$match": {"_id": {"$ne": 1}}}], None),
    ("bool key in 0/1", [{"$group": {"_id": "$b"}}, {"$match": {"_id": {"$in": [0, 1]}}}], None),
    ("bool key = true", [{"$group": {"_id": "$b"}}, {"$match": {"_id": True}}], None),
    ("bool key >= 0", [{"$group": {"_id": "$b"}}, {"$match": {"_id": {"$gte": 0}}}], None),
    ("unwound int = true",
     [{"$unwind": "$nums"}, {"$match": {"nums": True}}, {"$count": "n"}], None),
    ("unwound int = 1",
     [{"$unwind": "$nums"}, {"$match": {"nums": 1}}, {"$count": "n"}], None),
    ("unwound bool = 1",
     [{"$unwind": "$flags"}, {"$match": {"flags": 1}}, {"$count": "n"}], None),
    ("unwound bool = true",
     [{"$unwind": "$flags"}, {"$match": {"flags": True}}, {"$count": "n"}], None),
    ("unwound bool <= 0",
     [{"$unwind": "$flags"}, {"$match": {"flags": {"$lte": 0}}}, {"$count": "n"}], None),
    ("decimal key <= true",
     [{"$group": {"_id": "$d", "m": {"$min": "$d"}}}, {"$match": {"_id": {"$lte": True}}}], None),
    ("decimal key <= 0", [{"$group": {"_id": "$d"}}, {"$match": {"_id": {"$lte": 0}}}], None),
    ("decimal key = 2.25", [{"$group": {"_id": "$d"}}, {"$match": {"_id": 2.25}}], None),
    ("str key = 1", [{"$group": {"_id": "$s"}}, {"$match": {"_id": 1}}], None),
    ("str key > 0", [{"$group": {"_id": "$s"}}, {"$match": {"_id": {"$gt": 0}}}], None),
    ("str key = '1'", [{"$group": {"_id": "$s"}}, {"$match": {"_id": "1"}}], None),
    ("int key = '1'", [{"$group": {"_id": "$i"}}, {"$match": {"_id": "1"}}], None),
    ("int key = true", [{"$group": {"_id": "$i"}}, {"$match": {"_id": True}}], None),
    ("int key < 2.5", [{"$group": {"_id": "$i"}}, {"$match": {"_id": {"$lt": 2.5}}}], None),
    ("int key = 1.5", [{"$group": {"_id": "$i"}}, {"$match": {"_id": 1.5}}], None),
    ("sum = '3'",
     [{"$group": {"_id": None, "n": {"$sum": "$i"}}}, {"$match": {"n": "0"}}], None),
    ("sum > -0.5",
     [{"$group": {"_id": "$b", "n": {"$sum": "$i"}}}, {"$match": {"n": {"$gt": -0.5}}}], None),
    ("count = true",
     [{"$group": {"_id": "$b", "n": {"$count": {}}}}, {"$match": {"n": True}}], None),
    ("count = 2", [{"$group": {"_id": "$b", "n": {"$count": {}}}}, {"$match": {"n": 2}}], None),
    ("max bool = 1",
     [{"$group": {"_id": "$s", "m": {"$max": "$b"}}}, {"$match": {"m": 1}}], None),
    ("max bool = true",
     [{"$group": {"_id": "$s", "m": {"$max": "$b"}}}, {"$match": {"m": True}}], None),
    ("first str = 0",
     [{"$sort": {"id": 1}}, {"$group": {"_id": "$b", "f": {"$first": "$s"}}},
      {"$match": {"f": 0}}], None),
    ("avg >= 1",
     [{"$group": {"_id": "$b", "a": {"$avg": "$i"}}}, {"$match": {"a": {"$gte": 1}}}], None),
    ("avg = true",
     [{"$group": {"_id": "$b", "a": {"$avg": "$i"}}}, {"$match": {"a": True}}], None),
    ("sum decimal < true",
     [{"$group": {"_id": "$b", "t": {"$sum": "$d"}}}, {"$match": {"t": {"$lt": True}}}], None),
    ("push holds true",
     [{"$group": {"_id": "$b", "p": {"$push": "$i"}}}, {"$match": {"p": True}}], None),
    ("push holds 1",
     [{"$group": {"_id": "$b", "p": {"$push": "$i"}}}, {"$match": {"p": 1}}], None),
    ("addToSet of bools holds 0",
     [{"$group": {"_id": "$s", "p": {"$addToSet": "$b"}}}, {"$match": {"p": 0}}], None),
    ("renamed bool = 1",
     [{"$project": {"x": "$b"}}, {"$match": {"x": 1}}, {"$count": "n"}], None),
    ("renamed int = '1'",
     [{"$project": {"x": "$i"}}, {"$match": {"x": "1"}}, {"$count": "n"}], None),
    ("kept bool != 1",
     [{"$project": {"b": 1}}, {"$match": {"b": {"$ne": 1}}}, {"$count": "n"}], None),
    ("compound key part = 1",
     [{"$group": {"_id": {"k": "$b", "t": "$i"}}}, {"$match": {"_id.k": 1}}],
     [{"$group": {"_id": _COMPOUND_ORACLE}}, {"$match": {"_id.k": 1}}]),
    ("compound key part = true",
     [{"$group": {"_id": {"k": "$b", "t": "$i"}}}, {"$match": {"_id.k": True}}],
     [{"$group": {"_id": _COMPOUND_ORACLE}}, {"$match": {"_id.k": True}}]),
    ("min datetime >= ISO string",
     [{"$group": {"_id": "$b", "t": {"$min": "$ts"}}},
      {"$match": {"t": {"$gte": "2024-01-01"}}}],
     [{"$group": {"_id": "$b", "t": {"$min": "$ts"}}},
      {"$match": {"t": {"$gte": dt.datetime(2024, 1, 1, tzinfo=UTC)}}}]),
    ("datetime key = a number",
     [{"$group": {"_id": "$ts"}}, {"$match": {"_id": 1}}], None),
]  # fmt: skip


def _bson(row: dict[str, Any]) -> dict[str, Any]:
    return {k: Decimal128(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def canon(value: Any) -> Any:
    """A form that compares as MongoDB compares: a bool is never a number, numbers of any type
    numerically, datetimes as instants, documents by key, null and missing alike."""
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float | Decimal):
        return ("number", Decimal(str(value)).normalize() if value == value else "nan")
    if isinstance(value, dt.datetime):
        return ("date", value.replace(tzinfo=UTC) if value.tzinfo is None else value)
    if isinstance(value, dict):
        return ("doc", tuple(sorted((k, canon(v)) for k, v in value.items() if v is not None)))
    if isinstance(value, list | tuple):
        return ("array", tuple(canon(v) for v in value))
    if value is None:
        return ("null",)
    return (type(value).__name__, value)


def canon_docs(docs: list[dict[str, Any]]) -> list[Any]:
    return sorted((canon(d) for d in docs), key=repr)


repo = seeded_repo_fixture(BACKENDS, model=Rec, rows=ROWS, ddl=DDL, database="xrepo_typed_stages")


@pytest.fixture
async def oracle(
    request: pytest.FixtureRequest, unique_name: str
) -> AsyncIterator[dict[str, list[Any]]]:
    """Each case's answer from a plain mongod collection holding ``ROWS`` in BSON form."""
    url = mongo_db_url(request.getfixturevalue("mongodb_url"), "xrepo_typed_stages")
    name = f"{unique_name}_oracle"
    async with mongo_collections(url, [name]) as resource:
        coll = resource.db[name]
        await coll.insert_many([_bson(r) for r in ROWS])
        answers: dict[str, list[Any]] = {}
        for label, stages, raw in CASES:
            cursor = await coll.aggregate(raw if raw is not None else stages)
            answers[label] = canon_docs(await cursor.to_list(None))
        yield answers


async def test_late_match_answers_as_mongod(repo: XRepo[Rec], oracle: dict[str, list[Any]]) -> None:
    wrong = []
    for label, stages, _ in CASES:
        got = canon_docs(await repo.aggregate(stages))
        if got != oracle[label]:
            wrong.append(f"{label}: got {got}, mongod {oracle[label]}")
    assert not wrong, "\n".join(wrong)


async def test_the_oracle_sees_the_bugs(oracle: dict[str, list[Any]]) -> None:
    """The cases are not vacuous: mongod answers some of them with documents."""
    assert oracle["bool key = true"] == [canon({"_id": True})]
    assert oracle["unwound bool = true"] == [canon({"n": 2})]
    assert oracle["bool key = 1"] == []
    assert oracle["unwound int = true"] == []
    assert oracle["min datetime >= ISO string"] == [canon({"_id": True, "t": ROWS[0]["ts"]})]
