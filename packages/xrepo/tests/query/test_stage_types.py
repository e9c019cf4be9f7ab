"""Field kinds through pipeline stages (xrepo.query.stage_types) and ``$match`` stages
typed by them wherever they stand, on the memory engine and on SQLite's compiled SQL.

MongoDB's answers are the expected ones (checked against mongod in
``tests-integration/xrepo/test_repo_typed_stages.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from xrepo import MaterializedRepo, parse_pipeline
from xrepo.compile import decode
from xrepo.compile.sql import SQLITE_FUNCTIONS, compiler_for
from xrepo.query import (
    MATCH_NONE,
    FieldType,
    Kind,
    Match,
    annotation_type,
    field_types,
    pipeline_types,
    python_type,
    type_stages,
)
from xresource import SQLITE


class Doc(BaseModel):
    id: int
    s: str | None = None
    i: int | None = None
    f: float | None = None
    d: Decimal | None = None
    b: bool | None = None
    ts: dt.datetime | None = None
    nums: list[int] = []
    flags: list[bool] = []
    tags: list[str] = []
    meta: dict[str, Any] = {}
    anything: Any = None


TYPES = field_types(Doc)
FIELDS = set(Doc.model_fields)
T = FieldType


def kinds(stages: list[dict[str, Any]]) -> dict[str, FieldType]:
    return pipeline_types(parse_pipeline(stages, fields=FIELDS), TYPES)


@pytest.mark.parametrize(
    ("stages", "field", "want"),
    [
        # $group keys
        ([{"$group": {"_id": "$b"}}], "_id", T(Kind.BOOL)),
        ([{"$group": {"_id": "$d"}}], "_id", T(Kind.DECIMAL)),
        ([{"$group": {"_id": "$tags"}}], "_id", T(Kind.LIST, Kind.STR)),
        ([{"$group": {"_id": "$meta.x"}}], "_id", None),
        ([{"$group": {"_id": "$anything"}}], "_id", None),
        ([{"$group": {"_id": {"k": "$b", "t": "$ts"}}}], "_id", T(Kind.JSON)),
        ([{"$group": {"_id": {"k": "$b", "t": "$ts"}}}], "_id.k", T(Kind.BOOL)),
        ([{"$group": {"_id": {"k": "$b", "t": "$ts"}}}], "_id.t", T(Kind.DATETIME)),
        # accumulators
        ([{"$group": {"_id": None, "a": {"$count": {}}}}], "a", T(Kind.INT)),
        ([{"$group": {"_id": None, "a": {"$sum": 1}}}], "a", T(Kind.INT)),
        ([{"$group": {"_id": None, "a": {"$sum": 0.5}}}], "a", T(Kind.FLOAT)),
        ([{"$group": {"_id": None, "a": {"$sum": "$i"}}}], "a", T(Kind.INT)),
        ([{"$group": {"_id": None, "a": {"$sum": "$f"}}}], "a", T(Kind.FLOAT)),
        ([{"$group": {"_id": None, "a": {"$sum": "$d"}}}], "a", T(Kind.DECIMAL)),
        ([{"$group": {"_id": None, "a": {"$sum": "$s"}}}], "a", T(Kind.INT)),  # always 0
        ([{"$group": {"_id": None, "a": {"$sum": "$meta.n"}}}], "a", None),
        ([{"$group": {"_id": None, "a": {"$avg": "$i"}}}], "a", T(Kind.FLOAT)),
        ([{"$group": {"_id": None, "a": {"$avg": "$d"}}}], "a", T(Kind.DECIMAL)),
        ([{"$group": {"_id": None, "a": {"$min": "$ts"}}}], "a", T(Kind.DATETIME)),
        ([{"$group": {"_id": None, "a": {"$max": "$s"}}}], "a", T(Kind.STR)),
        ([{"$group": {"_id": None, "a": {"$first": "$b"}}}], "a", T(Kind.BOOL)),
        ([{"$group": {"_id": None, "a": {"$last": "$tags"}}}], "a", T(Kind.LIST, Kind.STR)),
        ([{"$group": {"_id": None, "a": {"$max": "$anything"}}}], "a", None),
        ([{"$group": {"_id": None, "a": {"$push": "$d"}}}], "a", T(Kind.LIST, Kind.DECIMAL)),
        ([{"$group": {"_id": None, "a": {"$addToSet": "$b"}}}], "a", T(Kind.LIST, Kind.BOOL)),
        ([{"$group": {"_id": None, "a": {"$push": "$tags"}}}], "a", T(Kind.LIST, Kind.LIST)),
        ([{"$group": {"_id": None, "a": {"$push": "$meta.x"}}}], "a", T(Kind.LIST, Kind.ANY)),
        # $project: renames, literals, exclusions
        ([{"$project": {"x": "$b"}}], "x", T(Kind.BOOL)),
        ([{"$project": {"x": "$b"}}], "b", None),
        ([{"$project": {"b": 1}}], "b", T(Kind.BOOL)),
        ([{"$project": {"x": "$meta.n"}}], "x", None),
        ([{"$project": {"x": {"$literal": True}}}], "x", T(Kind.BOOL)),
        ([{"$project": {"x": {"$literal": 2}}}], "x", T(Kind.INT)),
        ([{"$project": {"x": {"$literal": "a"}}}], "x", T(Kind.STR)),
        ([{"$project": {"b": 0}}], "b", None),
        ([{"$project": {"b": 0}}], "i", T(Kind.INT)),
        # $unwind, $lookup, $count
        ([{"$unwind": "$nums"}], "nums", T(Kind.INT)),
        ([{"$unwind": "$flags"}], "flags", T(Kind.BOOL)),
        ([{"$unwind": "$s"}], "s", T(Kind.STR)),  # a non-array stays itself in MongoDB
        ([{"$unwind": "$anything"}], "anything", None),
        (
            [{"$lookup": {"from": "o", "localField": "i", "foreignField": "r", "as": "i"}}],
            "i",
            None,
        ),
        (
            [{"$lookup": {"from": "o", "localField": "i", "foreignField": "r", "as": "o"}}],
            "b",
            T(Kind.BOOL),
        ),
        ([{"$count": "n"}], "n", T(Kind.INT)),
        ([{"$count": "n"}], "b", None),
        # chains
        (
            [{"$unwind": "$nums"}, {"$group": {"_id": "$nums", "m": {"$max": "$d"}}}],
            "_id",
            T(Kind.INT),
        ),
        (
            [{"$group": {"_id": "$b", "m": {"$push": "$i"}}}, {"$unwind": "$m"}],
            "m",
            T(Kind.INT),
        ),
        ([{"$project": {"x": "$d"}}, {"$group": {"_id": "$x"}}], "_id", T(Kind.DECIMAL)),
    ],
)
def test_kinds_follow_the_stages(
    stages: list[dict[str, Any]], field: str, want: FieldType | None
) -> None:
    assert kinds(stages).get(field) == want


def test_annotations_and_python_types() -> None:
    assert annotation_type(int) == T(Kind.INT)
    assert annotation_type(list[bool] | None) == T(Kind.LIST, Kind.BOOL)
    assert annotation_type(Any) == T(Kind.ANY)
    assert annotation_type(None) == T(Kind.ANY)
    assert annotation_type(T(Kind.STR)) == T(Kind.STR)
    assert python_type(T(Kind.BOOL)) is bool
    assert python_type(T(Kind.DATETIME)) is dt.datetime
    assert python_type(T(Kind.LIST, Kind.INT)) is list
    assert python_type(T(Kind.JSON)) is dict
    assert python_type(T(Kind.ANY)) is None
    assert python_type(None) is None


def test_decode_by_kind() -> None:
    assert decode(T(Kind.BOOL), 1) is True
    assert decode(T(Kind.BOOL), 2) == 2  # not a boolean's shape: left alone
    assert decode(T(Kind.LIST, Kind.BOOL), "[1, 0]") == [True, False]
    assert decode(T(Kind.LIST, Kind.ANY), "[1, 0]") == [1, 0]
    assert decode(T(Kind.LIST, Kind.LIST), ['["a"," b"]', "[]"]) == [["a", " b"], []]
    assert decode(T(Kind.DATETIME), "2024-01-01T00:00:00") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert decode(T(Kind.DECIMAL), 1.5) == Decimal("1.5")
    assert decode(T(Kind.INT), Decimal(3)) == 3
    assert decode(T(Kind.JSON), '{"a": 1}') == {"a": 1}
    assert decode(None, "[1]") == "[1]"
    assert decode(T(Kind.ANY), "[1]") == "[1]"


# -- late $match, typed ---------------------------------------------------------------------------
ROWS: list[dict[str, Any]] = [
    {"id": 1, "s": "a", "i": 1, "d": Decimal("-1.5"), "b": True, "nums": [1, 2], "flags": [True]},
    {"id": 2, "s": "1", "i": 0, "d": Decimal("0"), "b": False, "nums": [0], "flags": [False]},
    {"id": 3, "s": "a ", "i": 2, "d": Decimal("2.25"), "b": True, "nums": [], "flags": []},
    {"id": 4, "s": None, "i": None, "d": None, "b": None, "nums": [1], "flags": [True, False]},
]

# (pipeline, MongoDB's answer)
CASES: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = [
    # SQLite stores booleans as 0/1: the group of true answered _id == 1
    ([{"$group": {"_id": "$b"}}, {"$match": {"_id": 1}}], []),
    (
        [{"$group": {"_id": "$b"}}, {"$match": {"_id": {"$ne": 1}}}, {"$sort": {"_id": 1}}],
        [{"_id": None}, {"_id": False}, {"_id": True}],
    ),
    ([{"$group": {"_id": "$b"}}, {"$match": {"_id": True}}], [{"_id": True}]),
    ([{"$unwind": "$nums"}, {"$match": {"nums": True}}], []),
    ([{"$unwind": "$flags"}, {"$match": {"flags": 1}}], []),
    (
        [{"$unwind": "$flags"}, {"$match": {"flags": True}}, {"$project": {"id": 1}}],
        [{"id": 1}, {"id": 4}],
    ),
    ([{"$group": {"_id": "$d"}}, {"$match": {"_id": {"$lte": True}}}], []),
    (
        [{"$group": {"_id": "$d"}}, {"$match": {"_id": {"$lte": 0}}}, {"$sort": {"_id": 1}}],
        [{"_id": Decimal("-1.5")}, {"_id": Decimal("0")}],
    ),
    ([{"$group": {"_id": "$s"}}, {"$match": {"_id": 1}}], []),
    ([{"$project": {"x": "$b"}}, {"$match": {"x": 1}}], []),
    # accumulator results
    ([{"$group": {"_id": None, "n": {"$sum": "$i"}}}, {"$match": {"n": "3"}}], []),
    (
        [{"$group": {"_id": None, "n": {"$sum": "$i"}}}, {"$match": {"n": {"$gt": 2.5}}}],
        [{"_id": None, "n": 3}],
    ),
    ([{"$group": {"_id": None, "n": {"$count": {}}}}, {"$match": {"n": True}}], []),
    ([{"$group": {"_id": None, "m": {"$max": "$b"}}}, {"$match": {"m": 1}}], []),
    (
        [{"$group": {"_id": None, "m": {"$max": "$b"}}}, {"$match": {"m": True}}],
        [{"_id": None, "m": True}],
    ),
]


def _typed(stages: list[dict[str, Any]]) -> list[Any]:
    return type_stages(parse_pipeline(stages, fields=FIELDS), TYPES)


def test_late_match_of_impossible_values_is_match_none() -> None:
    out = _typed([{"$group": {"_id": "$b"}}, {"$match": {"_id": 1}}])
    assert out[1] == Match(MATCH_NONE)
    out = _typed([{"$unwind": "$nums"}, {"$match": {"nums": True}}])
    assert out[1] == Match(MATCH_NONE)
    out = _typed([{"$group": {"_id": "$meta.k"}}, {"$match": {"_id": 1}}])
    assert out[1] == parse_pipeline([{"$match": {"_id": 1}}], fields={"_id"})[0]  # untyped


@pytest.mark.parametrize(("stages", "want"), CASES)
async def test_memory_engine(stages: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    repo = MaterializedRepo(model_class=Doc, data=ROWS)
    got = await repo.aggregate(stages)
    assert got == want


@pytest.fixture
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    for name, n, fn in SQLITE_FUNCTIONS:
        c.create_function(name, n, fn, deterministic=True)
    c.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, f REAL, d REAL, b INTEGER,"
        " ts TEXT, nums, flags, tags, meta, anything)"
    )
    for r in ROWS:
        c.execute(
            "INSERT INTO t (id, s, i, d, b, nums, flags) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                r["id"], r["s"], r["i"], None if r["d"] is None else float(r["d"]),
                None if r["b"] is None else int(r["b"]), json.dumps(r["nums"]),
                json.dumps(r["flags"]),
            ),
        )  # fmt: skip
    return c


@pytest.mark.parametrize(("stages", "want"), CASES)
def test_sqlite(
    conn: sqlite3.Connection, stages: list[dict[str, Any]], want: list[dict[str, Any]]
) -> None:
    c = compiler_for(
        SQLITE,
        columns=sorted(FIELDS),
        array_columns={"nums", "flags", "tags"},
        field_kinds=TYPES,
        element_types={"nums": int, "flags": bool, "tags": str},
    )
    compiled = c.pipeline('"t"', _typed(stages))
    cur = conn.execute(compiled.sql, compiled.params)
    names = [col[0] for col in cur.description]
    got = compiled.documents([dict(zip(names, r, strict=True)) for r in cur])
    assert got == want
