"""The DuckDB compiler, run on an in-process DuckDB and checked against the in-memory engine
(MongoDB's rules): typed columns, JSON documents and lists, text, patterns, sorts, pipelines."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xrepo import parse_filter, parse_pipeline
from xrepo.compile import compile_filter, run_pipeline, sort_rows
from xrepo.compile.sql import DuckDBCompiler, compiler_for
from xrepo.compile.sql._duckdb_values import (
    epoch_us,
    integer_bound,
    literal_pattern,
    re2_pattern,
)
from xresource import DUCKDB

UTC = dt.UTC
COLS = ["id", "i", "f", "s", "b", "at", "day", "tags", "doc"]
KINDS: dict[str, Any] = {
    "id": int, "i": int, "f": float, "s": str, "b": bool, "at": dt.datetime,
    "day": dt.date, "tags": list[str], "doc": dict,
}  # fmt: skip
DDL = (
    "CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, f DOUBLE, s VARCHAR, b BOOLEAN, "
    '"at" TIMESTAMPTZ, day DATE, tags JSON, doc JSON)'
)
ROWS: list[dict[str, Any]] = [
    {"id": 1, "i": 1, "f": 1.5, "s": "abc", "b": True, "at": dt.datetime(2024, 1, 1, tzinfo=UTC),
     "day": dt.date(2024, 1, 1), "tags": ["a", "b"], "doc": {"zip": "10", "n": 1}},
    {"id": 2, "i": 2, "f": -0.5, "s": "abc ", "b": False, "at": None, "day": None,
     "tags": [], "doc": {"zip": 10, "n": 1.5, "flag": True}},
    {"id": 3, "i": None, "f": None, "s": "ABC", "b": None,
     "at": dt.datetime(2023, 6, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "day": dt.date(2000, 2, 29), "tags": None, "doc": None},
    {"id": 4, "i": -(2**40), "f": 1e300, "s": "é\n", "b": True, "at": None, "day": None,
     "tags": ["É", "ß"], "doc": {"zip": None, "sub": {"k": [1, "x"]}}},
    {"id": 5, "i": 2**40, "f": 0.0, "s": "", "b": False, "at": None, "day": None,
     "tags": ["a"], "doc": {"zip": "010", "n": 10}},
    {"id": 6, "i": 7, "f": 2.0, "s": "ẞ straße", "b": None, "at": None, "day": None,
     "tags": ["1", "x"], "doc": {"n": "10"}},
    {"id": 7, "i": 0, "f": 10.0, "s": "a.b$c", "b": True, "at": None, "day": None,
     "tags": None, "doc": {"zip": [10, "10"], "n": -3}},
]  # fmt: skip


@pytest.fixture(scope="module")
def con() -> Any:
    c = duckdb.connect()
    c.execute(DDL)
    for r in ROWS:
        c.execute(
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                r["id"],
                r["i"],
                r["f"],
                r["s"],
                r["b"],
                r["at"],
                r["day"],
                None if r["tags"] is None else json.dumps(r["tags"]),
                None if r["doc"] is None else json.dumps(r["doc"]),
            ],
        )
    yield c
    c.close()


def compiler() -> DuckDBCompiler:
    c = compiler_for(
        DUCKDB, columns=COLS, field_kinds=KINDS, array_columns=["tags"],
        element_types={"tags": str}, repo="r",
    )  # fmt: skip
    assert isinstance(c, DuckDBCompiler)
    return c


def fetch(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def duck_ids(con: Any, filters: dict[str, Any]) -> list[int]:
    sql, params = compiler().select("t", parse_filter(filters), [("id", 1)])
    return [r["id"] for r in fetch(con, sql, params)]


def memory_ids(filters: dict[str, Any]) -> list[int]:
    run = compile_filter(
        parse_filter(filters),
        array_fields=frozenset({"tags"}),
        typed_fields=frozenset({"i", "f", "s", "b", "at", "day"}),
    )
    return [r["id"] for r in run(ROWS)]


#: Each filter once found or feared to differ between DuckDB and MongoDB's rules.
FILTERS: list[dict[str, Any]] = [
    {"i": 1.5}, {"i": {"$lt": 2.5}}, {"i": {"$gte": 1.5}}, {"i": {"$in": [1.0, 2.5, 7]}},
    {"i": {"$lt": 2**64}}, {"i": {"$gt": -(2**70)}}, {"i": {"$ne": 2**63}},
    {"s": 0}, {"i": "1"}, {"i": None}, {"i": {"$ne": None}},
    {"f": {"$gt": 1e299}}, {"f": {"$lte": 0}}, {"f": 2}, {"f": {"$in": [Decimal("1.5"), 10]}},
    {"s": "abc"}, {"s": {"$gt": "Z"}}, {"s": {"$lt": "a"}}, {"s": ""},
    {"s__icontains": "STRASSE"}, {"s__icontains": "É"}, {"s__istartswith": "ẞ"},
    {"s__iendswith": "C "}, {"s__endswith": "c"}, {"s__endswith": ""}, {"s__contains": "$c"},
    {"s__contains": ".b"}, {"s__icontains": "\\E"}, {"s__startswith": "a.b"},
    {"s": {"$regex": "^abc$"}}, {"s": {"$regex": "c$"}}, {"s": {"$regex": "^abc.$"}},
    {"s": {"$regex": "^é", "$options": "i"}}, {"s": {"$regex": "[$]"}},
    {"s": {"$not": {"$regex": "^a"}}},
    {"tags": "a"}, {"tags": "É"}, {"tags": {"$in": ["b", "x"]}}, {"tags": {"$nin": ["a"]}},
    {"tags": {"$ne": "a"}}, {"tags": None}, {"tags": {"$regex": "^[ab]"}}, {"tags": 1},
    {"tags__icontains": "SS"},
    {"doc.zip": "10"}, {"doc.zip": 10}, {"doc.zip": {"$gt": 5}}, {"doc.zip": None},
    {"doc.zip": {"$ne": None}}, {"doc.n": {"$gte": 1}}, {"doc.n": 1.5}, {"doc.flag": 1},
    {"doc.flag": True}, {"doc.sub.k": 1}, {"doc.sub.k": "x"}, {"doc.sub.k": None},
    {"doc.zip": {"$in": ["010", 10]}}, {"doc.n": {"$exists": True}}, {"doc__n__isnull": True},
    {"doc.zip__contains": "1"},
    {"at": {"$lt": dt.datetime(2023, 6, 1, 10, 30, tzinfo=UTC)}},
    {"day": dt.date(2000, 2, 29)},
    {"day": {"$lt": dt.date(2024, 1, 1)}},
    {"$or": [{"i": 0}, {"f": {"$lt": 0}}]}, {"$nor": [{"b": True}, {"i": {"$gt": 5}}]},
    {"i": {"$not": {"$gt": 1}}},
]  # fmt: skip


@pytest.mark.parametrize("filters", FILTERS, ids=[repr(f) for f in FILTERS])
def test_filters_answer_as_the_memory_engine(con: Any, filters: dict[str, Any]) -> None:
    assert duck_ids(con, filters) == memory_ids(filters)


#: Where the memory engine below the repository is no oracle (the repository types a value by
#: its field first), MongoDB's answers, written out.
EXPECTED: list[tuple[dict[str, Any], list[int]]] = [
    ({"i": True}, []),  # a boolean is never a number
    ({"b": 1}, []),
    ({"at": {"$gt": dt.datetime(2023, 6, 1, 9, 30)}}, [1, 3]),  # naive means UTC
    ({"at": dt.datetime(2024, 1, 1)}, [1]),
    ({"at": {"$gte": dt.datetime(2023, 6, 1, 10, tzinfo=UTC)}}, [1, 3]),
]


@pytest.mark.parametrize(("filters", "ids"), EXPECTED, ids=[repr(f) for f, _ in EXPECTED])
def test_filters_answer_as_mongodb(con: Any, filters: dict[str, Any], ids: list[int]) -> None:
    assert duck_ids(con, filters) == ids


@settings(max_examples=150, deadline=None)
@given(
    op=st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
    path=st.sampled_from(["i", "f", "doc.n", "doc.zip"]),
    value=st.one_of(
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, width=64),
        st.decimals(
            allow_nan=False, allow_infinity=False, places=3, max_value=10**12, min_value=-(10**12)
        ),
        st.sampled_from([0, 1, 1.5, 2.5, 10, -3, 2**40, -(2**40), "10"]),
    ),
)
def test_numbers_compare_as_mongodb_does(con: Any, op: str, path: str, value: Any) -> None:
    filters = {path: {op: value}}
    assert duck_ids(con, filters) == memory_ids(filters)


def memory_pipeline(stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parsed = parse_pipeline(stages, fields=set(COLS))
    return run_pipeline(
        parsed, [dict(r) for r in ROWS], array_fields=frozenset({"tags"}),
    )  # fmt: skip


def duck_pipeline(con: Any, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    compiled = compiler().pipeline("t", parse_pipeline(stages, fields=set(COLS)))
    return compiled.documents(fetch(con, compiled.sql, compiled.params))


def canon(docs: list[dict[str, Any]]) -> list[str]:
    """Documents as sorted JSON texts, nulls and missing keys alike, numbers by value."""

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
            return float(v)
        return v

    return sorted(json.dumps(norm(d), sort_keys=True, default=str) for d in docs)


PIPELINES: list[list[dict[str, Any]]] = [
    [{"$group": {"_id": "$b", "n": {"$sum": 1}, "s": {"$sum": "$i"}, "a": {"$avg": "$f"}}}],
    [{"$group": {"_id": "$doc.zip", "n": {"$sum": 1}}}],
    [
        {
            "$group": {
                "_id": None,
                "s": {"$sum": "$doc.n"},
                "lo": {"$min": "$doc.n"},
                "hi": {"$max": "$doc.n"},
            }
        }
    ],
    [
        {"$sort": {"id": 1}},
        {
            "$group": {
                "_id": "$b",
                "first": {"$first": "$s"},
                "last": {"$last": "$s"},
                "all": {"$push": "$i"},
            }
        },
    ],
    [{"$unwind": "$tags"}, {"$group": {"_id": "$tags", "n": {"$sum": 1}}}],
    [
        {"$sort": {"id": 1}},
        {"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True}},
        {"$project": {"id": 1, "tags": 1}},
    ],
    [{"$project": {"z": "$doc.zip", "id": 1}}, {"$match": {"z": {"$gt": 5}}}],
    [{"$group": {"_id": "$s", "n": {"$sum": 1}}}, {"$match": {"n": 1}}, {"$count": "c"}],
    [
        {"$match": {"i": {"$gt": 0}}},
        {"$sort": {"f": -1}},
        {"$skip": 1},
        {"$limit": 2},
        {"$project": {"i": 1}},
    ],
]


@pytest.mark.parametrize("stages", PIPELINES, ids=[str(i) for i in range(len(PIPELINES))])
def test_pipelines_answer_as_the_memory_engine(con: Any, stages: list[dict[str, Any]]) -> None:
    assert canon(duck_pipeline(con, stages)) == canon(memory_pipeline(stages))


@pytest.mark.parametrize(
    "key",
    [
        [("s", 1)],
        [("s", -1)],
        [("f", 1)],
        [("i", -1)],
        [("doc.zip", 1)],
        [("doc.n", -1)],
        [("at", 1)],
        [("b", -1)],
    ],
)
def test_sorts_follow_mongodb_order(con: Any, key: list[tuple[str, int]]) -> None:
    sql, params = compiler().select("t", parse_filter({}), [*key, ("id", 1)])
    got = [r["id"] for r in fetch(con, sql, params)]
    want = [r["id"] for r in sort_rows([dict(r) for r in ROWS], [*key, ("id", 1)])]
    assert got == want


def test_lists_sort_by_their_smallest_or_largest_element(con: Any) -> None:
    """MongoDB: ascending by the smallest element, an empty array before null and missing;
    descending by the largest (code points: "ß" is after "x")."""
    for direction, want in [(1, [2, 3, 7, 6, 1, 5, 4]), (-1, [4, 6, 1, 5, 3, 7, 2])]:
        sql, params = compiler().select("t", parse_filter({}), [("tags", direction), ("id", 1)])
        assert [r["id"] for r in fetch(con, sql, params)] == want


def test_bound_values_take_their_own_type_never_the_columns() -> None:
    c = compiler()
    sql, params = c.finish(c.where(parse_filter({"f": 2}), c.columns))
    assert sql == '"f" = CAST($1 AS BIGINT)'
    sql, params = c.finish(c.where(parse_filter({"i": 1.5}), c.columns))
    assert sql == "1=0"  # an integer never equals a fraction
    sql, params = c.finish(c.where(parse_filter({"i": {"$lt": 2.5}}), c.columns))
    assert (sql, params) == ('"i" < CAST($1 AS BIGINT)', [3])


def test_patterns_speak_re2() -> None:
    assert re2_pattern("abc$") == "abc(?:\\n?\\z)"
    assert re2_pattern("[$]x\\$") == "[$]x\\$"
    assert re2_pattern("[]$]") == "[]$]"
    assert literal_pattern("a.b") == "\\Qa.b\\E"
    assert literal_pattern("x\\Ey") == "\\Qx\\E\\\\E\\Qy\\E"


@pytest.mark.parametrize(
    ("symbol", "value", "bound"),
    [
        ("=", 1.5, False),
        ("<", 2.5, ("<", 3)),
        ("<=", 2.5, ("<", 3)),
        (">", 2.5, (">", 2)),
        (">=", -2.5, (">", -3)),
        ("=", 2.0, ("=", 2)),
        ("<", float("inf"), True),
        (">", float("inf"), False),
        ("=", float("nan"), None),
        ("<", 2**200, True),
        (">", Decimal("1.25"), (">", 1)),
    ],
)
def test_integers_against_any_number(symbol: str, value: Any, bound: Any) -> None:
    assert integer_bound(symbol, value) == bound


def test_epoch_reads_naive_as_utc() -> None:
    aware = dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert epoch_us(dt.datetime(2024, 1, 1)) == epoch_us(aware) == 1704067200000000


def test_refusals_name_what_is_wrong() -> None:
    c = compiler()
    with pytest.raises(Exception, match="regex option"):
        c.where(parse_filter({"s": {"$regex": "a", "$options": "x"}}), c.columns)
    with pytest.raises(Exception, match="nested field name"):
        c.where(parse_filter({"doc.a'b": 1}), c.columns)
