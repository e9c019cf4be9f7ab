"""SQLite's compiler: JSON values keep their type through ``$group`` (true is never 1).

``json_extract`` gives a JSON ``true`` as ``1``; grouping, ``$min``/``$max``, ``$first``/
``$last``, ``$push``/``$addToSet`` and sorts of a JSON path read it as typed JSON text instead,
and ``$min``/``$max`` follow MongoDB's order of types. Run on stdlib ``sqlite3`` with the
functions the repository registers on each connection; expected answers are mongod's.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from xrepo import parse_pipeline
from xrepo.compile.sql import SQLITE_FUNCTIONS, SQLiteCompiler, compiler_for
from xresource import SQLITE

COLS = ["id", "s", "doc", "nums"]
ROWS: list[tuple[Any, ...]] = [
    (1, "a", {"v": True, "w": "x"}, [1, 2]),
    (2, "a", {"v": 1, "w": "é"}, [3]),
    (3, "b", {"v": 10.0, "w": None}, []),
    (4, "b", {"v": 10}, None),
    (5, "c", {"v": "10", "w": "X "}, [1]),
    (6, "c", {"v": False}, [2]),
    (7, "d", None, [1, 2]),
]


@pytest.fixture
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    for name, n, fn in SQLITE_FUNCTIONS:
        c.create_function(name, n, fn, deterministic=True)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, doc, nums)")
    c.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        [(r[0], r[1], json.dumps(r[2]), None if r[3] is None else json.dumps(r[3])) for r in ROWS],
    )
    return c


def run(conn: sqlite3.Connection, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    c = compiler_for(SQLITE, columns=COLS, array_columns={"nums"})
    assert isinstance(c, SQLiteCompiler)
    compiled = c.pipeline('"t"', parse_pipeline(stages, fields=set(COLS)))
    cur = conn.execute(compiled.sql, compiled.params)
    names = [d[0] for d in cur.description]
    return compiled.documents([dict(zip(names, r, strict=True)) for r in cur])


def typed(value: Any) -> Any:
    """``value`` with each bool tagged, so that ``True == 1`` cannot hide a bug."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    return value


def test_group_keeps_true_apart_from_one(conn: sqlite3.Connection) -> None:
    docs = run(conn, [{"$group": {"_id": "$doc.v", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}])
    # MongoDB's order: null, numbers (10 and 10.0 one group), strings, booleans.
    assert typed(docs) == typed(
        [
            {"_id": None, "n": 1},
            {"_id": 1, "n": 1},
            {"_id": 10, "n": 2},
            {"_id": "10", "n": 1},
            {"_id": False, "n": 1},
            {"_id": True, "n": 1},
        ]
    )


def test_min_max_follow_the_order_of_types(conn: sqlite3.Connection) -> None:
    docs = run(
        conn,
        [
            {"$group": {"_id": "$s", "lo": {"$min": "$doc.v"}, "hi": {"$max": "$doc.v"}}},
            {"$sort": {"_id": 1}},
        ],
    )
    assert typed(docs) == typed(
        [
            {"_id": "a", "lo": 1, "hi": True},  # a number below true, not "1 = true"
            {"_id": "b", "lo": 10, "hi": 10},
            {"_id": "c", "lo": "10", "hi": False},  # strings below booleans
            {"_id": "d", "lo": None, "hi": None},  # missing is ignored
        ]
    )


def test_first_push_and_add_to_set_keep_booleans(conn: sqlite3.Connection) -> None:
    docs = run(
        conn,
        [
            {"$sort": {"id": 1}},
            {
                "$group": {
                    "_id": None,
                    "f": {"$first": "$doc.v"},
                    "p": {"$push": "$doc.v"},
                    "w": {"$push": "$doc.w"},
                }
            },
        ],
    )
    # A JSON null is pushed, a missing value is not (id 4 has no "w", id 7 no doc).
    assert typed(docs) == typed(
        [{"_id": None, "f": True, "p": [True, 1, 10, 10, "10", False], "w": ["x", "é", None, "X "]}]
    )
    sets = run(conn, [{"$group": {"_id": None, "t": {"$addToSet": "$doc.v"}}}])
    assert sorted(map(repr, typed(sets[0]["t"]))) == sorted(
        map(repr, typed([True, 1, 10, "10", False]))
    )


def test_match_after_group_tests_typed_values_and_elements(conn: sqlite3.Connection) -> None:
    key = [{"$group": {"_id": "$doc.v", "n": {"$sum": 1}}}]
    assert run(conn, [*key, {"$match": {"_id": 1}}]) == [{"_id": 1, "n": 1}]
    assert typed(run(conn, [*key, {"$match": {"_id": True}}])) == typed([{"_id": True, "n": 1}])
    pushed = [{"$sort": {"id": 1}}, {"$group": {"_id": "$s", "p": {"$push": "$doc.w"}}}]
    got = run(conn, [*pushed, {"$match": {"p": "é"}}])
    assert got == [{"_id": "a", "p": ["x", "é"]}]
    lists = [{"$group": {"_id": "$nums", "n": {"$sum": 1}}}, {"$match": {"_id": 1}}]
    assert sorted(d["n"] for d in run(conn, lists)) == [1, 2]  # [1, 2] twice, [1] once


def test_sort_by_a_json_path_in_the_order_of_types(conn: sqlite3.Connection) -> None:
    docs = run(conn, [{"$sort": {"doc.v": -1, "id": 1}}, {"$project": {"_id": 0, "id": 1}}])
    assert [d["id"] for d in docs] == [1, 6, 5, 3, 4, 2, 7]


def test_pushed_boolean_column_matches_as_booleans() -> None:
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, b INTEGER)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "a", 1), (2, "a", 0), (3, "b", 0)])
    comp = compiler_for(SQLITE, columns=["id", "s", "b"], field_kinds={"b": bool | None})
    stages = [
        {"$group": {"_id": "$s", "t": {"$addToSet": "$b"}}},
        {"$match": {"t": {"$eq": True}}},  # was nothing: the set held 1, and 1 is not true
    ]
    compiled = comp.pipeline('"t"', parse_pipeline(stages, fields={"id", "s", "b"}))
    cur = c.execute(compiled.sql, compiled.params)
    names = [d[0] for d in cur.description]
    docs = compiled.documents([dict(zip(names, r, strict=True)) for r in cur])
    assert len(docs) == 1
    assert docs[0]["_id"] == "a"
    assert sorted(typed(docs[0]["t"])) == [("bool", False), ("bool", True)]
