"""SQLite's compiler: strict types, exact numbers, Unicode case, datetimes, ordered ``$push``.

Run on stdlib ``sqlite3`` with the functions the repository registers on each connection.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from typing import Any

import pytest

from xrepo import XRepoValidationError, parse_filter, parse_pipeline
from xrepo.compile import fold
from xrepo.compile.sql import SQLITE_FUNCTIONS, SQLiteCompiler, canonical_datetime, compiler_for
from xresource import SQLITE

COLS = ["id", "s", "n", "at", "doc", "tags"]
ROWS: list[tuple[Any, ...]] = [
    (1, "abc", 1, "2024-01-01T00:00:00.000000+00:00", {"v": 1, "t": "x"}, ["a"]),
    (2, "ÉCOLE", 0, "2024-01-01T00:00:00.500000+00:00", {"v": True, "t": "Σοφος"}, ["é"]),
    (3, "0", 10, "2024-01-01T00:00:00+00:00", {"v": "1", "t": "ΣΟΦΟΣ"}, []),  # older isoformat()
    (4, "", None, "2024-01-01T01:30:00+01:00", {"v": 1.0, "t": ""}, ["b", "a"]),
    (5, "x\x00yz", 2**62, None, {"v": None}, None),
]


@pytest.fixture
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    for name, n, fn in SQLITE_FUNCTIONS:
        c.create_function(name, n, fn, deterministic=True)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n INTEGER, at TEXT, doc, tags)")
    c.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
        [(*r[:4], json.dumps(r[4]), None if r[5] is None else json.dumps(r[5])) for r in ROWS],
    )
    return c


def compiler() -> SQLiteCompiler:
    c = compiler_for(SQLITE, columns=COLS, array_columns={"tags"})
    assert isinstance(c, SQLiteCompiler)
    return c


def ids(conn: sqlite3.Connection, flt: dict[str, Any]) -> list[int]:
    sql, params = compiler().select('"t"', parse_filter(flt), (("id", 1),))
    return [r[0] for r in conn.execute(sql, params)]


@pytest.mark.parametrize(
    ("flt", "want"),
    [
        ({"s__endswith": ""}, [1, 2, 3, 4, 5]),  # was only 4: substr(e, -0)
        ({"s__startswith": ""}, [1, 2, 3, 4, 5]),
        ({"s__endswith": "yz"}, [5]),  # past a NUL character
        ({"s__startswith": "x\x00y"}, [5]),
        ({"s__icontains": "école"}, [2]),
        ({"doc__t__icontains": "σοφος"}, [2, 3]),  # final sigma folds with the other two
        ({"s": 0}, []),  # TEXT affinity made 0 equal '0'
        ({"n": "1"}, []),  # INTEGER affinity made '1' equal 1
        ({"doc.v": True}, [2]),
        ({"doc.v": 1}, [1, 4]),
        ({"doc.v": "1"}, [3]),
        ({"doc.v": {"$ne": 1}}, [2, 3, 5]),
        ({"doc.v": {"$in": ["1", True]}}, [2, 3]),
        ({"n": {"$gt": 2**64}}, []),
        ({"n": {"$lt": 2**64}}, [1, 2, 3, 5]),
        ({"n": 2**62 + 1}, []),
        ({"n": {"$gte": float("nan")}}, []),
        ({"n": {"$ne": float("nan")}}, [1, 2, 3, 4, 5]),
        ({"n": Decimal("10")}, [3]),
        ({"tags": {"$gt": "a"}}, [2, 4]),  # any element, as MongoDB
        ({"tags__startswith": "é"}, [2]),
        ({"at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}, [1, 3]),  # old row without micros
        ({"at": dt.datetime(2024, 1, 1, 0, 30)}, [4]),  # naive is UTC; +01:00 row normalised
        ({"at": {"$gt": dt.datetime(2024, 1, 1, 0, 0, 0, 400000, tzinfo=dt.UTC)}}, [2, 4]),
    ],
)
def test_filters(conn: sqlite3.Connection, flt: dict[str, Any], want: list[int]) -> None:
    assert ids(conn, flt) == want


def test_datetimes_are_stored_fixed_width_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert SQLiteCompiler.adapt(dt.datetime(2024, 1, 1, 1, tzinfo=paris)) == (
        "2024-01-01T00:00:00.000000+00:00"
    )
    assert SQLiteCompiler.adapt(dt.datetime(2024, 1, 1)) == canonical_datetime(
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )
    assert SQLiteCompiler.adapt({"at": dt.datetime(2024, 1, 1)}) == (
        '{"at":"2024-01-01T00:00:00.000000+00:00"}'
    )


@pytest.mark.parametrize("value", [float("nan"), 2**63, {"x": float("inf")}, Decimal("NaN")])
def test_unstorable_values_are_refused(value: Any) -> None:
    with pytest.raises(XRepoValidationError, match="SQLite"):
        SQLiteCompiler.adapt(value)


def test_case_folding_is_simple_and_unicode() -> None:
    assert fold("ÉCOLE") == fold("école")
    assert fold("ΣΟΦΟΣ") == fold("σοφος") == fold("σοφοσ")
    assert fold("ẞ") == fold("ß") != fold("ss")
    assert fold("K") == fold("k")  # Kelvin sign
    assert fold("İ") == "İ"  # no expansion
    assert fold("\u0131") == "\u0131"  # dotless i: no Turkish rules
    assert len(fold("ǅİﬀ")) == 3


def test_text_operators_need_the_connection_functions() -> None:
    c = compiler_for(SQLITE, columns=COLS, regexp=False)
    with pytest.raises(XRepoValidationError, match="__icontains"):
        c.where(parse_filter({"s__icontains": "a"}), COLS)


def run(conn: sqlite3.Connection, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    compiled = compiler().pipeline('"t"', parse_pipeline(stages, fields=set(COLS)))
    cur = conn.execute(compiled.sql, compiled.params)
    names = [d[0] for d in cur.description]
    return compiled.documents([dict(zip(names, r, strict=True)) for r in cur])


def test_push_keeps_the_sort_order(conn: sqlite3.Connection) -> None:
    docs = run(
        conn,
        [
            {"$sort": {"n": -1}},
            {"$group": {"_id": None, "ids": {"$push": "$id"}, "last": {"$last": "$id"}}},
        ],
    )
    assert docs == [{"_id": None, "ids": [5, 3, 1, 2, 4], "last": 4}]


def test_sum_and_avg_ignore_non_numbers_and_never_overflow(conn: sqlite3.Connection) -> None:
    docs = run(
        conn,
        [
            {
                "$group": {
                    "_id": None,
                    "v": {"$sum": "$doc.v"},
                    "a": {"$avg": "$doc.v"},
                    "s": {"$sum": "$s"},
                    "big": {"$sum": "$n"},
                }
            }
        ],
    )
    assert docs[0]["v"] == 2.0  # true and "1" are no numbers
    assert docs[0]["a"] == 1.0
    assert docs[0]["s"] == 0
    assert docs[0]["big"] == 2**62 + 11


def test_distinct_of_json_values_keeps_types_apart(conn: sqlite3.Connection) -> None:
    compiled = compiler().distinct('"t"', "doc.v", parse_filter({}))
    rows = [{"value": r[0]} for r in conn.execute(compiled.sql, compiled.params)]
    values = [d["value"] for d in compiled.documents(rows)]
    assert sorted(map(repr, values)) == sorted(["1", "True", "'1'"])  # 1 and 1.0 are one value
