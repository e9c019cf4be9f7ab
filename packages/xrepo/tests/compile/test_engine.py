"""The in-memory engine (filters and pipelines), checked against SQLite (stdlib ``sqlite3``).

MaterializedRepo, which runs on this engine, is tested in ``tests/repos/test_materialized.py``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xrepo import parse_filter, parse_pipeline
from xrepo.compile import compile_filter, run_pipeline
from xrepo.compile.sql import SQLITE_FUNCTIONS, compiler_for
from xresource import SQLITE

COLUMNS = ["id", "name", "age", "city", "tags"]


def sqlite_rows(rows: list[dict[str, Any]], node: Any, pipeline: Any = None) -> list[Any]:
    """Run the SQL the compiler produces on stdlib sqlite3."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    for fname, n_args, function in SQLITE_FUNCTIONS:  # as the repository does
        conn.create_function(fname, n_args, function, deterministic=True)
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, city TEXT, tags TEXT)"
    )
    conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
        [(r["id"], r["name"], r["age"], r["city"], json.dumps(r["tags"])) for r in rows],
    )
    compiler = compiler_for(SQLITE, columns=COLUMNS, array_columns={"tags"})
    if pipeline is not None:
        compiled = compiler.pipeline('"t"', pipeline)
        out = [dict(r) for r in conn.execute(compiled.sql, compiled.params)]
        return compiled.documents(out)
    sql, params = compiler.select('"t"', node, (("id", 1),))
    return [r["id"] for r in conn.execute(sql, params)]


values = st.one_of(st.none(), st.integers(-3, 3))
names = st.sampled_from(["ann", "bob", "cy", "Ann", "dan"])
cities = st.one_of(st.none(), st.sampled_from(["oslo", "rome"]))
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "name": names,
            "age": values,
            "city": cities,
            "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
        }
    ),
    max_size=15,
)


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    num = st.integers(-3, 3)
    return st.one_of(
        st.builds(
            lambda op, v: {"age": {op: v}},
            st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
            num,
        ),
        st.builds(lambda v: {"age": v}, values),
        st.builds(lambda vs: {"age": {"$in": vs}}, st.lists(values, max_size=3)),
        st.builds(lambda vs: {"city": {"$nin": vs}}, st.lists(cities, max_size=2)),
        st.builds(lambda b: {"city": {"$exists": b}}, st.booleans()),
        st.builds(lambda s: {"name__startswith": s}, st.sampled_from(["a", "A", "b", ""])),
        st.builds(lambda s: {"name__icontains": s}, st.sampled_from(["n", "AN", "%", "_"])),
        st.builds(lambda s: {"name__contains": s}, st.sampled_from(["n", "An", "b"])),
        st.builds(lambda t: {"tags": t}, st.sampled_from(["a", "b"])),
        st.builds(lambda v: {"age": {"$not": {"$gt": v}}}, num),
    )


filters_strategy = st.recursive(
    leaf(),
    lambda children: st.one_of(
        st.builds(lambda cs: {"$and": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$or": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$nor": cs}, st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=6,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rows=rows_strategy, filters=filters_strategy)
def test_python_engine_matches_sqlite(rows: list[dict[str, Any]], filters: dict[str, Any]) -> None:
    data = [{"id": i + 1, **r} for i, r in enumerate(rows)]
    node = parse_filter(filters, fields=set(COLUMNS))
    mine = [r["id"] for r in compile_filter(node, array_fields=frozenset({"tags"}))(data)]
    assert mine == sqlite_rows(data, node)


@settings(max_examples=100, deadline=None)
@given(
    rows=rows_strategy,
    key=st.sampled_from(["$city", "$name", None]),
    acc=st.sampled_from(["$sum", "$min", "$max", "$avg"]),
)
def test_python_group_matches_sqlite(rows: list[dict[str, Any]], key: str | None, acc: str) -> None:
    data = [{"id": i + 1, **r} for i, r in enumerate(rows)]
    stages = parse_pipeline(
        [{"$group": {"_id": key, "v": {acc: "$age"}, "n": {"$sum": 1}}}], fields=set(COLUMNS)
    )
    mine = run_pipeline(stages, data)
    theirs = sqlite_rows(data, None, stages)

    def norm(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (str(d["_id"]), d["n"], None if d["v"] is None else round(d["v"], 6)) for d in docs
        )

    assert norm(mine) == norm(theirs)


def test_cross_type_comparisons_do_not_match() -> None:
    rows = [{"id": 1, "v": "text"}, {"id": 2, "v": 5}, {"id": 3, "v": None}, {"id": 4}]
    node = parse_filter({"v": {"$gt": 1}})
    assert [r["id"] for r in compile_filter(node)(rows)] == [2]
    node = parse_filter({"v": {"$ne": 5}})
    assert [r["id"] for r in compile_filter(node)(rows)] == [1, 3, 4]


def test_pipeline_stages_in_memory() -> None:
    rows = [{"id": 1, "tags": ["a", "b"], "n": 2}, {"id": 2, "tags": [], "n": 3}, {"id": 3, "n": 4}]
    out = run_pipeline(parse_pipeline([{"$unwind": "$tags"}]), rows)
    assert [(d["id"], d["tags"]) for d in out] == [(1, "a"), (1, "b")]
    out = run_pipeline(
        parse_pipeline([{"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True}}]), rows
    )
    assert [d["id"] for d in out] == [1, 1, 2, 3]
    out = run_pipeline(
        parse_pipeline(
            [{"$lookup": {"from": "o", "localField": "id", "foreignField": "uid", "as": "os"}}]
        ),
        rows,
        related={"o": [{"uid": 1, "x": 1}, {"uid": 1, "x": 2}]},
    )
    assert [len(d["os"]) for d in out] == [2, 0, 0]
    out[0]["os"].append("mutated")
    assert rows[0].get("os") is None  # results never share state with the inputs
