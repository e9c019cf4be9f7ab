"""Typed values in the repository base and MongoDB's type-strict semantics in the memory engine.

The fixed table holds the cases of issue 14; the property tests compare MaterializedRepo's answer
with a straightforward reference written from MongoDB's rules (exact numeric comparison across
int/float/Decimal, a bool never a number, a str never a number, null matches null and missing).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from xrepo import MaterializedRepo, XRepoValidationError, parse_filter, parse_pipeline
from xrepo.compile import compile_filter, run_pipeline, sort_key, sort_rows

UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))


class Item(BaseModel):
    id: int
    i: int | None = None
    s: str | None = None
    f: float | None = None
    d: Decimal | None = None
    b: bool | None = None
    created_at: dt.datetime | None = None
    day: dt.date | None = None
    u: uuid.UUID | None = None
    tags: list[str] = []
    nums: list[int] = []
    meta: dict[str, Any] = {}
    anything: Any = None


OLD = dt.datetime(2020, 1, 1, tzinfo=UTC)  # set, so that no row is stamped with now()
U1 = uuid.UUID("12345678-1234-5678-1234-567812345678")
ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "i": 1,
        "s": "abc",
        "f": 1.0,
        "d": Decimal("1.50"),
        "b": True,
        "created_at": dt.datetime(2024, 1, 2, 3, 4, 5),  # naive: UTC
        "day": dt.date(2024, 1, 1),
        "u": U1,
        "tags": ["a", "é", "Ä"],
        "nums": [1, 2],
        "meta": {"zip": 10},
        "anything": 1,
    },
    {
        "id": 2,
        "i": 2,
        "s": "abc ",
        "f": 2.5,
        "d": Decimal("2"),
        "b": False,
        "created_at": dt.datetime(2023, 12, 31, 23, 0, tzinfo=PLUS2),  # 21:00 UTC
        "day": dt.date(2024, 1, 2),
        "tags": ["A"],
        "nums": [3],
        "meta": {"zip": "10"},
        "anything": True,
    },
    {
        "id": 3,
        "i": 10,
        "s": "10",
        "f": -0.5,
        "tags": [],
        "meta": {},
        "anything": "1",
        "created_at": dt.datetime(2025, 6, 1, tzinfo=UTC),
    },
    {"id": 4, "s": "Straße", "tags": ["ÉCOLE"], "created_at": OLD},
    {"id": 5, "s": "", "anything": [1, "x"], "i": -(2**63), "tags": ["x\n"], "created_at": OLD},
    {"id": 6, "s": "ÉCOLE", "anything": Decimal("1.0"), "i": 2**63 - 1, "created_at": OLD},
]


@pytest.fixture
def repo() -> MaterializedRepo[Item]:
    return MaterializedRepo(model_class=Item, data=[dict(r) for r in ROWS])


async def ids(repo: MaterializedRepo[Item], filters: dict[str, Any]) -> list[int]:
    return [m.id for m in await repo.list(filters, limit=None)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"i": 1.5}, []),
        ({"i": 1.0}, [1]),
        ({"i": {"$lt": 2.5}}, [1, 2, 5]),
        ({"i": {"$gt": 2.5}}, [3, 6]),
        ({"i": {"$lte": Decimal("1.9")}}, [1, 5]),
        ({"s": 0}, []),
        ({"s": "10"}, [3]),
        ({"i": "10"}, []),
        ({"i": True}, []),
        ({"b": 1}, []),
        ({"b": True}, [1]),
        ({"b": {"$ne": 1}}, [1, 2, 3, 4, 5, 6]),
        ({"i": {"$ne": True}}, [1, 2, 3, 4, 5, 6]),
        ({"i": {"$nin": ["1", True]}}, [1, 2, 3, 4, 5, 6]),
        ({"$nor": [{"i": "1"}]}, [1, 2, 3, 4, 5, 6]),
        ({"i": {"$not": {"$gt": "0"}}}, [1, 2, 3, 4, 5, 6]),
        ({"created_at": {"$gte": "2024-01-01"}}, [1, 3]),
        ({"created_at": {"$lt": "2024-01-01T00:00:00+00:00"}}, [2, 4, 5, 6]),
        ({"created_at": dt.datetime(2024, 1, 2, 3, 4, 5)}, [1]),  # naive filter, naive write
        ({"created_at": dt.datetime(2024, 1, 2, 5, 4, 5, tzinfo=PLUS2)}, [1]),  # same instant
        ({"created_at": "2023-12-31T21:00:00Z"}, [2]),
        ({"day": "2024-01-01"}, [1]),
        ({"day": dt.datetime(2024, 1, 2)}, [2]),
        ({"day": {"$gt": dt.datetime(2024, 1, 1, 6)}}, [2]),
        ({"d": "1.5"}, [1]),
        ({"d": {"$gte": "1.6"}}, [2]),
        ({"d": 1.5}, [1]),
        ({"f": Decimal("2.5")}, [2]),
        ({"u": str(U1)}, [1]),
        ({"u": U1.hex}, [1]),
        ({"u": "nope"}, []),
        ({"i": 2**63}, []),
        ({"i": {"$gte": 2**64}}, []),
        ({"i": {"$lt": 2**64}}, [1, 2, 3, 5, 6]),
        ({"i": {"$lte": -(2**64)}}, []),
        ({"i": -(2**63)}, [5]),
        ({"i": {"$in": [1, "2", True, 10.0, 2.5, None]}}, [1, 3, 4]),
        ({"anything": {"$in": [1, "x"]}}, [1, 5, 6]),
        ({"anything": {"$in": [True]}}, [2]),
        ({"anything": 1}, [1, 5, 6]),  # 1, the array holding 1, Decimal("1.0")
        ({"anything": True}, [2]),
        ({"anything": "1"}, [3]),
        ({"anything": {"$gt": 0}}, [1, 5, 6]),
        ({"anything": {"$gte": False}}, [2]),
        ({"anything": {"$gt": 0.5, "$lt": 1.5}}, [1, 5, 6]),
        ({"anything": None}, [4]),
        ({"anything": {"$lt": "2"}}, [3]),
        ({"meta.zip": "10"}, [2]),
        ({"meta.zip": 10}, [1]),
        ({"s__endswith": ""}, [1, 2, 3, 4, 5, 6]),
        ({"s__endswith": "c"}, [1]),
        ({"tags__endswith": "x"}, []),  # "x\n" does not end with "x"
        ({"s__icontains": "école"}, [6]),
        ({"s__istartswith": "straSSE"}, []),  # ß is not ss
        ({"s__icontains": "STRAßE"}, [4]),
        ({"tags": "é"}, [1]),
        ({"tags__icontains": "ä"}, [1]),
        ({"tags__icontains": "a"}, [1, 2]),
        ({"tags": {"$regex": "^é"}}, [1]),
        ({"tags": 1}, []),
        ({"nums": {"$gt": 2.5}}, [2]),
        ({"nums": 2.0}, [1]),
        ({"i__contains": "1"}, []),
        ({"u__startswith": "1"}, []),
    ],
)
async def test_issue_14_table(
    repo: MaterializedRepo[Item], filters: dict[str, Any], expected: list[int]
) -> None:
    assert await ids(repo, filters) == expected
    assert await repo.count(filters) == len(expected)


async def test_naive_means_utc_on_write_and_read(repo: MaterializedRepo[Item]) -> None:
    first = await repo.read(1)
    assert first is not None
    assert first.created_at is not None
    assert first.created_at.tzinfo is UTC
    assert first.created_at == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    second = await repo.read(2)
    assert second is not None
    assert second.created_at is not None
    assert second.created_at.tzinfo is UTC
    assert second.created_at.hour == 21
    # create() and update() return the stored form, equal to what read() returns.
    made = await repo.create({"id": 10, "created_at": dt.datetime(2024, 5, 5, 1, 2, 3)})
    assert made.created_at == dt.datetime(2024, 5, 5, 1, 2, 3, tzinfo=UTC)
    assert made.created_at is not None
    assert made.created_at.tzinfo is UTC
    assert await repo.read(10) == made
    changed = await repo.update(10, {"created_at": "2024-06-01T02:00:00+02:00"})
    assert changed is not None
    assert changed.created_at is not None
    assert changed.created_at.tzinfo is UTC
    assert changed.created_at == dt.datetime(2024, 6, 1, tzinfo=UTC)
    assert await repo.read(10) == changed
    # bulk_create of model instances: the caller's instances are not changed.
    mine = Item(id=11, created_at=dt.datetime(2024, 1, 1, 12))
    (stored,) = await repo.bulk_create([mine])
    assert mine.created_at is not None
    assert mine.created_at.tzinfo is None
    assert stored.created_at == dt.datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert stored.created_at is not None
    assert stored.created_at.tzinfo is UTC
    assert await repo.read(11) == stored
    # dates stay dates
    assert (await repo.read(1)).day == dt.date(2024, 1, 1)  # type: ignore[union-attr]


async def test_models_without_datetimes_take_the_fast_path() -> None:
    class Plain(BaseModel):
        id: int
        name: str

    repo = MaterializedRepo(model_class=Plain, data=[{"id": 1, "name": "a"}])
    assert repo._datetime_fields == ()
    assert repo._datetime_lists == ()
    assert [m.name for m in await repo.list()] == ["a"]


async def test_an_id_is_never_a_bool(repo: MaterializedRepo[Item]) -> None:
    with pytest.raises(XRepoValidationError, match="invalid id True"):
        await repo.read(True)
    assert (await repo.read(1)) is not None


async def test_distinct_is_typed_and_flattens_lists(repo: MaterializedRepo[Item]) -> None:
    tags = await repo.distinct("tags")
    assert sorted(tags) == sorted({"a", "é", "Ä", "A", "ÉCOLE", "x\n"})
    assert len(tags) == 6
    assert await repo.distinct("nums") == [1, 2, 3]
    assert await repo.distinct("b") == [False, True]
    stamps = await repo.distinct("created_at")
    assert all(s.tzinfo is UTC for s in stamps)
    assert stamps == sorted(stamps)
    # untyped: values as stored, MongoDB order (numbers < strings < arrays < booleans)
    assert await repo.distinct("anything") == [1, "1", "x", True]
    assert await repo.distinct("meta.zip", {"id": {"$in": [1, 2]}}) == [10, "10"]


async def test_pipelines_typed_before_reshaping(repo: MaterializedRepo[Item]) -> None:
    out = await repo.aggregate([{"$match": {"i": {"$lt": 2.5}}}, {"$sort": {"id": 1}}])
    assert [d["id"] for d in out] == [1, 2, 5]
    out = await repo.aggregate([{"$match": {"i": "1"}}])
    assert out == []
    # after $group the values are untyped and compared strictly: "1" is not 1
    out = await repo.aggregate(
        [{"$group": {"_id": "$i", "n": {"$sum": 1}}}, {"$match": {"_id": "1"}}]
    )
    assert out == []
    out = await repo.aggregate(
        [{"$group": {"_id": "$i", "n": {"$sum": 1}}}, {"$match": {"_id": 1.0}}]
    )
    assert out == [{"_id": 1, "n": 1}]


async def test_group_accumulators_follow_mongodb(repo: MaterializedRepo[Item]) -> None:
    out = await repo.aggregate(
        [
            {
                "$group": {
                    "_id": None,
                    "sum": {"$sum": "$anything"},
                    "avg": {"$avg": "$anything"},
                    "min": {"$min": "$anything"},
                    "max": {"$max": "$anything"},
                    "set": {"$addToSet": "$anything"},
                }
            }
        ]
    )
    (doc,) = out
    # only numbers count: 1 and Decimal("1.0"); True, "1" and the array do not
    assert doc["sum"] == 2
    assert doc["avg"] == 1
    assert doc["min"] == 1  # numbers sort before strings, arrays and booleans
    assert doc["max"] is True
    assert [v for v in doc["set"] if v is True] == [True]
    assert len(doc["set"]) == 5  # 1 (== Decimal 1.0), True, "1", [1, "x"], None
    groups = await repo.aggregate([{"$group": {"_id": "$anything", "n": {"$sum": 1}}}])
    keys = [g["_id"] for g in groups]
    assert sorted(map(repr, keys)) == sorted(map(repr, [None, 1, "1", True, [1, "x"]]))
    assert len(groups) == 5  # 1 and Decimal("1.0") are one group; True is another


def test_sum_of_decimals_and_floats() -> None:
    rows = [{"v": Decimal("0.1")}, {"v": 0.2}, {"v": 1}, {"v": True}, {"v": "3"}]
    (doc,) = run_pipeline(parse_pipeline([{"$group": {"_id": None, "s": {"$sum": "$v"}}}]), rows)
    assert doc["s"] == Decimal("1.3")


def test_sort_follows_bson_order() -> None:
    values: list[Any] = [
        True,
        "b",
        2,
        None,
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        1.5,
        False,
        "a",
        {"x": 1},
        [1],
        Decimal("0.5"),
        dt.date(2023, 1, 1),
        dt.datetime(2023, 6, 1),
    ]
    rows = [{"id": i, "v": v} for i, v in enumerate(values)]
    out = [r["v"] for r in sort_rows(rows, [("v", 1)])]
    assert out == [
        None,
        Decimal("0.5"),
        1.5,
        2,
        "a",
        "b",
        {"x": 1},
        [1],
        False,
        True,
        dt.date(2023, 1, 1),
        dt.datetime(2023, 6, 1),
        dt.datetime(2024, 1, 1, tzinfo=UTC),
    ]
    assert [r["v"] for r in sort_rows(rows, [("v", -1)], limit=1)] == [
        dt.datetime(2024, 1, 1, tzinfo=UTC)
    ]
    assert sort_key(math.nan) < sort_key(-math.inf)


def test_untyped_equality_is_type_strict() -> None:
    rows = [
        {"id": 1, "v": 1},
        {"id": 2, "v": True},
        {"id": 3, "v": "1"},
        {"id": 4, "v": 1.0},
        {"id": 5, "v": [True]},
        {"id": 6, "v": {"a": 1}},
        {"id": 7, "v": {"a": True}},
        {"id": 8, "v": dt.date(2024, 1, 1)},
        {"id": 9, "v": dt.datetime(2024, 1, 1)},
    ]

    def run(filters: dict[str, Any]) -> list[int]:
        return [r["id"] for r in compile_filter(parse_filter(filters))(rows)]

    assert run({"v": 1}) == [1, 4]
    assert run({"v": True}) == [2, 5]
    assert run({"v": {"$in": [True]}}) == [2, 5]
    assert run({"v": {"$in": [1]}}) == [1, 4]
    assert run({"v": {"$gte": 1}}) == [1, 4]
    assert run({"v": {"$gte": True}}) == [2, 5]
    assert run({"v": {"a": 1}}) == [6]
    assert run({"v": {"$in": [{"a": True}]}}) == [7]
    assert run({"v": dt.date(2024, 1, 1)}) == [8]
    assert run({"v": {"$lt": dt.date(2025, 1, 1)}}) == [8]


# -- properties -----------------------------------------------------------------------------------
def _exact(x: Any) -> Fraction | float:
    if isinstance(x, float) and not math.isfinite(x):
        return x
    return Fraction(x)


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float | Decimal) and not isinstance(x, bool)


def reference(stored: Any, op: str, value: Any) -> bool:
    """MongoDB's answer for a scalar int/float field: exact numbers, nothing else compares."""
    if op == "ne":
        return not reference(stored, "eq", value)
    if op == "nin":
        return not reference(stored, "in", value)
    if op == "in":
        return any(reference(stored, "eq", v) for v in value)
    if value is None:
        return stored is None and op in ("eq", "gte", "lte")
    if stored is None or not _is_num(value) or (isinstance(value, float) and math.isnan(value)):
        return False
    a, b = _exact(stored), _exact(value)
    return {
        "eq": a == b,
        "gt": a > b,
        "gte": a >= b,
        "lt": a < b,
        "lte": a <= b,
    }[op]


class Numbers(BaseModel):
    id: int
    i: int | None = None
    f: float | None = None


int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
stored_ints = st.one_of(st.none(), st.integers(-5, 5), int64)
stored_floats = st.one_of(
    st.none(), st.floats(allow_nan=False), st.integers(-5, 5).map(lambda n: n / 2)
)
filter_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-6, 6),
    st.integers(),
    st.integers(-12, 12).map(lambda n: n / 2),
    st.floats(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10, max_value=10),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
    st.sampled_from(["1", "1.5", "-2", " 1"]),
)
ops = st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ints=st.lists(stored_ints, min_size=1, max_size=8),
    floats=st.lists(stored_floats, min_size=8, max_size=8),
    field=st.sampled_from(["i", "f"]),
    op=ops,
    value=filter_values,
    more=st.lists(filter_values, max_size=4),
)
async def test_numbers_match_the_reference(
    ints: list[Any], floats: list[Any], field: str, op: str, value: Any, more: list[Any]
) -> None:
    data = [{"id": n, "i": v, "f": floats[n]} for n, v in enumerate(ints)]
    repo = MaterializedRepo(model_class=Numbers, data=data)
    operand: Any = [value, *more] if op in ("in", "nin") else value
    got = [m.id for m in await repo.list({field: {f"${op}": operand}}, limit=None)]
    expected = [r["id"] for r in data if reference(r[field], op, operand)]
    assert got == expected


def _category(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "bool"
    if _is_num(x):
        return "num"
    return type(x).__name__


def strict_reference(stored: Any, op: str, value: Any) -> bool:
    """MongoDB on an untyped field: same category only; arrays match by any element."""
    if op == "ne":
        return not strict_reference(stored, "eq", value)
    if isinstance(stored, list):
        return any(strict_reference(e, op, value) for e in stored) or (
            op == "eq" and stored == value and _category(value) == "list"
        )
    if value is None:
        return stored is None and op in ("eq", "gte", "lte")
    if _category(stored) != _category(value):
        return False
    if isinstance(stored, float) and math.isnan(stored):
        return False
    pair = (_exact(stored), _exact(value)) if _category(value) == "num" else (stored, value)
    a, b = pair
    return {"eq": a == b, "gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


untyped_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(-6, 6).map(lambda n: n / 2),
    st.decimals(places=1, min_value=-3, max_value=3, allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "1", "a", "A", "é", " a", "a "]),
)


class Loose(BaseModel):
    id: int
    v: Any = None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stored=st.lists(st.one_of(untyped_values, st.lists(untyped_values, max_size=3)), max_size=8),
    op=st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
    value=untyped_values,
)
async def test_untyped_fields_match_the_strict_reference(
    stored: list[Any], op: str, value: Any
) -> None:
    data = [{"id": n, "v": v} for n, v in enumerate(stored)]
    repo = MaterializedRepo(model_class=Loose, data=data)
    got = [m.id for m in await repo.list({"v": {f"${op}": value}}, limit=None)]
    assert got == [r["id"] for r in data if strict_reference(r["v"], op, value)]


def _bson_rank(x: Any) -> int:
    return {"null": 0, "num": 1, "str": 2, "list": 4, "bool": 6}[_category(x)]


@settings(max_examples=200, deadline=None)
@given(stored=st.lists(untyped_values, max_size=10), descending=st.booleans())
def test_untyped_sort_matches_bson_order(stored: list[Any], descending: bool) -> None:
    rows = [{"id": n, "v": v} for n, v in enumerate(stored)]
    got = [r["id"] for r in sort_rows(rows, [("v", -1 if descending else 1), ("id", 1)])]

    def key(r: dict[str, Any]) -> Any:
        v = r["v"]
        inner = _exact(v) if _category(v) == "num" else (0 if v is None else v)
        return (_bson_rank(v), inner)

    ordered = sorted(rows, key=lambda r: r["id"])
    ordered = sorted(ordered, key=key, reverse=descending)
    assert got == [r["id"] for r in ordered]


@settings(max_examples=200, deadline=None)
@given(stored=st.lists(untyped_values, max_size=10))
def test_sum_and_avg_ignore_non_numbers(stored: list[Any]) -> None:
    rows = [{"v": v} for v in stored]
    stages = parse_pipeline(
        [{"$group": {"_id": None, "s": {"$sum": "$v"}, "a": {"$avg": "$v"}, "n": {"$sum": 1}}}]
    )
    out = run_pipeline(stages, rows)
    if not rows:
        assert out == []
        return
    (doc,) = out
    numbers = [_exact(v) for v in stored if _is_num(v)]
    assert _exact(doc["s"]) == sum(numbers)
    if numbers:
        assert math.isclose(float(doc["a"]), float(sum(numbers) / len(numbers)))
    else:
        assert doc["a"] is None


class Stamped(BaseModel):
    id: int
    t: dt.datetime | None = None


zones = st.sampled_from([None, UTC, PLUS2, dt.timezone(dt.timedelta(hours=-5, minutes=-30))])
moments = st.builds(
    lambda base, minutes, tz: (base + dt.timedelta(minutes=minutes)).replace(tzinfo=tz),
    st.just(dt.datetime(2024, 1, 1)),
    st.integers(-3000, 3000),
    zones,
)


def _instant(value: Any) -> dt.datetime | None:
    """What a filter value means on a datetime field (naive means UTC), or None: no instant."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stored=st.lists(st.one_of(st.none(), moments), max_size=6),
    op=st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
    value=st.one_of(
        moments,
        moments.map(lambda m: m.isoformat()),
        moments.map(lambda m: m.date()),
        moments.map(lambda m: m.date().isoformat()),
        st.sampled_from(["2024-01-01", "not a date", "", "2024-02-30"]),
        st.integers(0, 2),
        st.booleans(),
    ),
)
async def test_datetimes_match_instants(stored: list[Any], op: str, value: Any) -> None:
    data = [{"id": n, "t": v} for n, v in enumerate(stored)]
    repo = MaterializedRepo(model_class=Stamped, data=data)
    got = [m.id for m in await repo.list({"t": {f"${op}": value}}, limit=None)]
    wanted = _instant(value)

    def holds(v: dt.datetime | None) -> bool:
        if op == "ne":
            return v is None or wanted is None or _instant(v) != wanted
        if v is None or wanted is None:
            return False
        a = _instant(v)
        assert a is not None
        return {
            "eq": a == wanted,
            "gt": a > wanted,
            "gte": a >= wanted,
            "lt": a < wanted,
            "lte": a <= wanted,
        }[op]

    assert got == [r["id"] for r in data if holds(r["t"])]
    for model in await repo.list(limit=None):
        assert model.t is None or model.t.tzinfo is UTC


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stored=st.lists(st.one_of(untyped_values, st.lists(untyped_values, max_size=3)), max_size=8),
    values=st.lists(untyped_values, max_size=4),
    negate=st.booleans(),
)
async def test_untyped_in_matches_the_strict_reference(
    stored: list[Any], values: list[Any], negate: bool
) -> None:
    data = [{"id": n, "v": v} for n, v in enumerate(stored)]
    repo = MaterializedRepo(model_class=Loose, data=data)
    op = "$nin" if negate else "$in"
    got = [m.id for m in await repo.list({"v": {op: values}}, limit=None)]
    hits = [r["id"] for r in data if any(strict_reference(r["v"], "eq", v) for v in values)]
    expected = [r["id"] for r in data if r["id"] not in hits] if negate else hits
    assert got == expected


def test_arrays_and_documents_order_element_by_element() -> None:
    values: list[Any] = [
        [3],
        [1099511627776],
        [],
        ["中"],
        [1, 2],
        {"b": 1},
        {"a": 2},
        {"a": 1, "b": 0},
    ]
    rows = [{"id": i, "v": v} for i, v in enumerate(values)]
    assert [r["v"] for r in sort_rows(rows, [("v", 1)])] == [
        {"a": 1, "b": 0},
        {"a": 2},
        {"b": 1},
        [],
        [1, 2],
        [3],
        [1099511627776],
        ["中"],
    ]
    stages = parse_pipeline([{"$group": {"_id": None, "hi": {"$max": "$v"}, "lo": {"$min": "$v"}}}])
    (doc,) = run_pipeline(stages, rows)
    assert doc["hi"] == ["中"]
    assert doc["lo"] == {"a": 1, "b": 0}
