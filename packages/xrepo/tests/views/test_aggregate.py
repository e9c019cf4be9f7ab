"""Aggregate repositories: partials per source merged, checked against plain Python."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepoConfigurationError
from xrepo.views import XRepoReadOnlyError, create_aggregate_repo


class Sale(XObjPrototype):
    id: int | None = None
    category: str | None = None
    region: str = "eu"
    amount: float | None = None
    status: str = "paid"


A = [
    {"id": 1, "category": "books", "amount": 10.0},
    {"id": 2, "category": "books", "amount": 30.0, "region": "us"},
    {"id": 3, "category": "games", "amount": 5.0},
    {"id": 4, "category": None, "amount": 1.0},
    {"id": 5, "category": "games", "amount": None},
]
B = [
    {"id": 1, "category": "books", "amount": 2.0},
    {"id": 2, "category": "music", "amount": 8.0, "status": "void"},
    {"id": 3, "category": "games", "amount": 7.0, "region": "us"},
]
CONFIG: dict[str, Any] = {
    "group_by": ["category"],
    "aggregations": {
        "revenue": {"sum": "amount"},
        "n": {"count": "*"},
        "avg": "avg:amount",
        "low": {"$min": "$amount"},
        "high": {"op": "max", "field": "amount"},
    },
}


def expected(rows: list[dict[str, Any]], key: str | None) -> dict[Any, dict[str, Any]]:
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        k = r.get(key) if key else None
        g = out.setdefault(k, {"values": [], "n": 0})
        g["n"] += 1
        if r.get("amount") is not None:
            g["values"].append(r["amount"])
    return out


async def sources() -> list[MaterializedRepo[Sale]]:
    return [MaterializedRepo(model_class=Sale, data=A), MaterializedRepo(model_class=Sale, data=B)]


async def test_group_by_merges_partials() -> None:
    agg = await create_aggregate_repo("sales", await sources(), CONFIG)
    rows = {r.category: r for r in await agg.list(limit=None)}
    want = expected(A + B, "category")
    assert set(rows) == set(want)
    for cat, w in want.items():
        r = rows[cat]
        assert r.n == w["n"]
        assert r.revenue == pytest.approx(sum(w["values"]))
        assert r.avg == (pytest.approx(statistics.mean(w["values"])) if w["values"] else None)
        assert r.low == (min(w["values"]) if w["values"] else None)
        assert r.high == (max(w["values"]) if w["values"] else None)
    assert await agg.count() == len(want)


async def test_filters_sort_and_pushdown() -> None:
    agg = await create_aggregate_repo(
        "paid", await sources(), {**CONFIG, "filters": {"status": "paid"}}
    )
    cats = [r.category for r in await agg.list(sort="-revenue", limit=None)]
    assert "music" not in cats
    assert cats[0] == "books"
    only = await agg.list({"category": "games"})
    assert len(only) == 1
    assert only[0].revenue == pytest.approx(12.0)
    assert await agg.count({"revenue__gt": 10}) == 2
    assert await agg.distinct("category") == ["books", "games"]
    top = await agg.aggregate([{"$match": {"n": {"$gte": 2}}}, {"$project": {"category": 1}}])
    assert sorted(r["category"] for r in top if r["category"]) == ["books", "games"]


async def test_compound_and_no_group_keys() -> None:
    agg = await create_aggregate_repo(
        "by2",
        await sources(),
        {"group_by": ["category", "region"], "aggregations": {"n": "count"}},
    )
    rows = {(r.category, r.region): r.n for r in await agg.list(limit=None)}
    assert rows[("books", "eu")] == 2
    assert rows[("books", "us")] == 1
    total = await create_aggregate_repo(
        "all", await sources(), {"aggregations": {"revenue": {"sum": "amount"}, "n": "count"}}
    )
    (row,) = await total.list()
    assert row.n == 8
    assert row.revenue == pytest.approx(63.0)


async def test_read_only_and_bad_config() -> None:
    srcs = await sources()
    agg = await create_aggregate_repo("s", srcs, CONFIG)
    with pytest.raises(XRepoReadOnlyError):
        await agg.create({"category": "x"})
    for config, match in [
        ({"group_by": ["nope"], "aggregations": {"n": "count"}}, "no field"),
        ({"group_by": "category", "aggregations": {}}, "non-empty"),
        (
            {"group_by": "category", "aggregations": {"x": {"median": "amount"}}},
            "unknown operation",
        ),
        ({"group_by": "category", "aggregations": {"x": "sum"}}, "needs a field"),
        ({"group_by": "category", "aggregations": {"x": {"sum": 5}}}, "must be a name"),
        ({"group_by": 3, "aggregations": {"n": "count"}}, "group_by"),
        ({"aggregations": {"n": "count"}, "having": 1}, "unknown aggregation_config"),
        ({"aggregations": {"category": "count"}, "group_by": "category"}, "distinct"),
        ({"aggregations": {"n": "count"}, "filters": {"nope": 1}}, "bad filters"),
    ]:
        with pytest.raises(XRepoConfigurationError, match=match):
            await create_aggregate_repo("bad", srcs, config)
    with pytest.raises(XRepoConfigurationError, match="at least one"):
        await create_aggregate_repo("bad", [], CONFIG)
    with pytest.raises(XRepoConfigurationError):
        await create_aggregate_repo("bad", srcs, "sum")  # type: ignore[arg-type]
