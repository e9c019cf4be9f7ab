# ruff: noqa: RUF001 - hostile data: Cyrillic and Greek letters that look Latin.
"""SQLite answers as a real ``mongod`` does (issue 14), or refuses clearly.

The same records live in an SQLite file (through ``ConnectedSQLRepo``) and in a plain MongoDB
collection in natural BSON (the oracle). A fixed table holds one case per bug class found on SQLite
(affinity, booleans as 0/1, ``substr(e, -0)``, ASCII-only case folding, ``$push`` order, sums over
text, datetimes as text, Decimals as doubles, hostile values); a hypothesis property compares
generated hostile strings and numbers with their filters. A query either gives mongod's answer or
raises :class:`XRepoValidationError` naming the backend; never a raw driver error.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson.decimal128 import Decimal128
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from pymongo.collection import Collection

from xobj_prototype import XObjPrototype
from xrepo import XRepo, XRepoFactory, XRepoValidationError
from xresource import ResourceFactory

UTC = dt.UTC
ORACLE_DB = "xrepo_sqlite_oracle"
EXAMPLES = int(os.environ.get("XTEST_SQLITE_EXAMPLES") or 60)


class Rec(XObjPrototype):
    id: int
    s: str | None = None
    i: int | None = None
    f: float | None = None
    b: bool | None = None
    d: Decimal | None = None
    at: dt.datetime | None = None
    addr: dict[str, Any] | None = None
    tags: list[str] | None = None
    extra: Any = None


DDL = (
    "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, f REAL, b INTEGER, "
    "d NUMERIC, at TEXT, addr TEXT, tags TEXT, extra)"
)

T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
RECORDS: list[dict[str, Any]] = [
    {
        "id": 1,
        "s": "abc",
        "i": 1,
        "f": 1.5,
        "b": True,
        "d": Decimal("1.10"),
        "at": T0,
        "addr": {"zip": 10, "city": "Oslo", "ok": True},
        "tags": ["é", "a"],
        "extra": "2",
    },
    {
        "id": 2,
        "s": "abc ",
        "i": 0,
        "f": -0.5,
        "b": False,
        "d": Decimal("2.5"),
        "at": T0 + dt.timedelta(milliseconds=500),
        "addr": {"zip": "10", "city": "ÅLESUND", "ok": 1},
        "tags": ["É"],
        "extra": 2,
    },
    {
        "id": 3,
        "s": "0",
        "i": 10,
        "f": 10.0,
        "b": None,
        "d": Decimal("-3"),
        "at": T0 - dt.timedelta(hours=1),
        "addr": {"zip": 10.0, "city": "straße"},
        "tags": [],
        "extra": "x",
    },
    {
        "id": 4,
        "s": "",
        "i": None,
        "f": None,
        "b": True,
        "d": None,
        "at": None,
        "addr": {"zip": True, "city": "STRASSE", "deep": {"a": {"b": {"c": {"d": 5}}}}},
        "tags": None,
        "extra": 1,
    },
    {
        "id": 5,
        "s": "ÉCOLE Ärger",
        "i": -7,
        "f": 2.25,
        "b": False,
        "d": Decimal("0.1"),
        "at": dt.datetime(2023, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
        "addr": {"zip": None, "city": "ΣΟΦΟΣ"},
        "tags": ["ж"],
        "extra": "abc",
    },
    {
        "id": 6,
        "s": "école ärger",
        "i": 3,
        "f": 3.0,
        "b": True,
        "d": Decimal("10"),
        "at": T0 + dt.timedelta(days=1),
        "addr": {"city": "σοφος", "zip": 9},
        "tags": ["a", "b"],
        "extra": 2.5,
    },
    {
        "id": 7,
        "s": "ПРИВЕТ\x00мир\n",
        "i": 2**62,
        "f": 1e300,
        "b": None,
        "d": Decimal("7"),
        "at": T0,
        "addr": {"city": "привет", "zip": -1},
        "tags": ["😀"],
        "extra": None,
    },
    {
        "id": 8,
        "s": "tab\there 😀 ",
        "i": -(2**62),
        "f": float("inf"),
        "b": False,
        "d": Decimal("2.5"),
        "at": T0 + dt.timedelta(microseconds=250000),
        "addr": {"city": "Straße", "zip": "9"},
        "tags": ["a"],
        "extra": "ABC",
    },
]


def oracle_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return Decimal128(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: oracle_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [oracle_value(v) for v in value]
    return value


def oracle_doc(record: dict[str, Any]) -> dict[str, Any]:
    # None stays an explicit null: SQL cannot tell null from missing (a listed deviation).
    return {("_id" if k == "id" else k): oracle_value(v) for k, v in record.items()}


@pytest.fixture
def oracle(mongodb_url: str, unique_name: str) -> Iterator[Collection[Any]]:
    client: MongoClient[Any] = MongoClient(mongodb_url, tz_aware=True)
    coll = client[ORACLE_DB][unique_name]
    coll.insert_many([oracle_doc(r) for r in RECORDS])
    yield coll
    coll.drop()
    client.close()


async def open_repo(path: Path, name: str, records: list[dict[str, Any]]) -> tuple[Any, XRepo[Rec]]:
    resource = ResourceFactory.from_url(f"sqlite:///{path}")
    await resource.connect()
    await resource.execute(DDL.format(t=resource.dialect.quote(name)))
    repo = await XRepoFactory.create(resource=resource, model_class=Rec, collection=name)
    if records:
        await repo.bulk_create(records)
    return resource, repo


@pytest.fixture
async def repo(tmp_path: Path, unique_name: str) -> AsyncIterator[XRepo[Rec]]:
    resource, r = await open_repo(tmp_path / "t.db", unique_name, RECORDS)
    yield r
    await resource.disconnect()


def mongo_ids(coll: Collection[Any], flt: dict[str, Any]) -> list[int]:
    return sorted(d["_id"] for d in coll.find(flt, {"_id": 1}))


async def our_ids(repo: XRepo[Rec], flt: dict[str, Any]) -> list[int]:
    return sorted(r.id for r in await repo.list(flt))


# -- one case per bug class: (our filter, the same filter for mongod) ------------------------------
FILTERS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("endswith-empty", {"s__endswith": ""}, {"s": {"$regex": "$"}}),
    ("startswith-empty", {"s__startswith": ""}, {"s": {"$regex": "^"}}),
    ("contains-empty-nested", {"addr__city__contains": ""}, {"addr.city": {"$regex": ""}}),
    ("endswith", {"s__endswith": "c"}, {"s": {"$regex": "c\\z"}}),
    ("endswith-after-nul", {"s__endswith": "р\n"}, {"s": {"$regex": "р\\n\\z"}}),
    ("startswith-nul", {"s__startswith": "ПРИВЕТ\x00м"}, {"s": {"$regex": "^ПРИВЕТ\\x00м"}}),
    ("icontains-accents", {"s__icontains": "ÉCOLE"}, {"s": {"$regex": "ÉCOLE", "$options": "i"}}),
    ("icontains-umlaut", {"s__icontains": "äRGER"}, {"s": {"$regex": "äRGER", "$options": "i"}}),
    (
        "icontains-cyrillic",
        {"s__icontains": "привет"},
        {"s": {"$regex": "привет", "$options": "i"}},
    ),
    (
        "istartswith-greek",
        {"addr__city__istartswith": "σοφ"},
        {"addr.city": {"$regex": "^σοφ", "$options": "i"}},
    ),
    (
        "iendswith-final-sigma",
        {"addr__city__iendswith": "ος"},
        {"addr.city": {"$regex": "ος\\z", "$options": "i"}},
    ),
    (
        "icontains-sharp-s",
        {"addr__city__icontains": "STRASSE"},
        {"addr.city": {"$regex": "STRASSE", "$options": "i"}},
    ),
    (
        "icontains-sharp-s-2",
        {"addr__city__icontains": "ß"},
        {"addr.city": {"$regex": "ß", "$options": "i"}},
    ),
    (
        "iregex-unicode",
        {"addr.city": {"$regex": "^å", "$options": "i"}},
        {"addr.city": {"$regex": "^å", "$options": "i"}},
    ),
    ("icontains-non-bmp", {"s__icontains": "😀"}, {"s": {"$regex": "😀", "$options": "i"}}),
    ("nested-str-not-number", {"addr.zip": "10"}, {"addr.zip": "10"}),
    ("nested-number-not-str", {"addr.zip": 10}, {"addr.zip": 10}),
    ("nested-true-not-1", {"addr.ok": True}, {"addr.ok": True}),
    ("nested-1-not-true", {"addr.ok": 1}, {"addr.ok": 1}),
    ("nested-gt-number", {"addr.zip": {"$gt": 5}}, {"addr.zip": {"$gt": 5}}),
    ("nested-gt-text", {"addr.zip": {"$gte": ""}}, {"addr.zip": {"$gte": ""}}),
    ("nested-ne", {"addr.zip": {"$ne": 10}}, {"addr.zip": {"$ne": 10}}),
    (
        "nested-in-mixed",
        {"addr.zip": {"$in": ["9", 9.0, True]}},
        {"addr.zip": {"$in": ["9", 9.0, True]}},
    ),
    ("nested-nin-mixed", {"addr.zip": {"$nin": ["9", 10]}}, {"addr.zip": {"$nin": ["9", 10]}}),
    ("nested-deep", {"addr.deep.a.b.c.d": 5}, {"addr.deep.a.b.c.d": 5}),
    ("any-str-not-number", {"extra": "2"}, {"extra": "2"}),
    ("any-number-not-str", {"extra": 2}, {"extra": 2}),
    ("any-lt-number", {"extra": {"$lt": 3}}, {"extra": {"$lt": 3}}),
    ("any-gt-text", {"extra": {"$gt": "a"}}, {"extra": {"$gt": "a"}}),
    ("nested-huge-int", {"addr.zip": {"$lt": 2**70}}, {"addr.zip": {"$lt": 1.180591620717411e21}}),
    ("nested-huge-int-eq", {"addr.zip": 2**64 + 1}, {"addr.zip": {"$in": []}}),
    (
        "nested-inexact-decimal",
        {"addr.zip": {"$gt": Decimal("9.0000000000000000001")}},
        {"addr.zip": {"$gt": Decimal128("9.0000000000000000001")}},
    ),
    ("nested-decimal-eq", {"addr.zip": Decimal("10.0")}, {"addr.zip": Decimal128("10.0")}),
    ("nested-nan", {"addr.zip": float("nan")}, {"addr.zip": float("nan")}),
    ("nested-ne-nan", {"addr.zip": {"$ne": float("nan")}}, {"addr.zip": {"$ne": float("nan")}}),
    ("float-inf", {"f": {"$gte": float("inf")}}, {"f": {"$gte": float("inf")}}),
    ("float-lt-inf", {"f": {"$lt": float("inf")}}, {"f": {"$lt": float("inf")}}),
    ("int-beyond-int64", {"i": {"$lt": 2**64}}, {"i": {"$lt": 1.8446744073709552e19}}),
    ("decimal-order", {"d": {"$gt": Decimal("2.5")}}, {"d": {"$gt": Decimal128("2.5")}}),
    ("decimal-eq", {"d": Decimal("0.1")}, {"d": Decimal128("0.1")}),
    ("datetime-eq", {"at": T0}, {"at": T0}),
    ("datetime-gt-half-second", {"at": {"$gt": T0}}, {"at": {"$gt": T0}}),
    (
        "datetime-lt",
        {"at": {"$lt": T0 + dt.timedelta(milliseconds=300)}},
        {"at": {"$lt": T0 + dt.timedelta(milliseconds=300)}},
    ),
    (
        "datetime-other-offset",
        {"at": dt.datetime(2024, 1, 1, 1, tzinfo=UTC)},
        {"at": dt.datetime(2024, 1, 1, 1, tzinfo=UTC)},
    ),
    (
        "datetime-naive-is-utc",
        {"at": {"$lte": dt.datetime(2024, 1, 1)}},
        {"at": {"$lte": dt.datetime(2024, 1, 1, tzinfo=UTC)}},
    ),
    ("tags-non-ascii", {"tags": "é"}, {"tags": "é"}),
    ("tags-non-bmp", {"tags": "😀"}, {"tags": "😀"}),
    ("control-chars", {"s": "tab\there 😀 "}, {"s": "tab\there 😀 "}),
    ("trailing-space", {"s": "abc"}, {"s": "abc"}),
    ("long-string", {"s": {"$lt": "a" * 100_000}}, {"s": {"$lt": "a" * 100_000}}),
    ("regex-on-numbers", {"extra": {"$regex": "2"}}, {"extra": {"$regex": "2"}}),
    ("contains-on-json-object", {"addr__contains": "zip"}, {"addr": {"$regex": "zip"}}),
]


@pytest.mark.parametrize(("ours", "theirs"), [c[1:] for c in FILTERS], ids=[c[0] for c in FILTERS])
async def test_filter_matches_mongod(
    repo: XRepo[Rec], oracle: Collection[Any], ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    assert await our_ids(repo, ours) == mongo_ids(oracle, theirs)


def canon(value: Any) -> Any:
    """A value as the two sides can both give it (BSON Decimal128 and aware datetimes)."""
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canon(v) for v in value]
    return value


PIPELINES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "push-after-sort",
        [
            {"$sort": {"i": -1}},
            {"$group": {"_id": "$b", "ss": {"$push": "$s"}, "is": {"$push": "$i"}}},
            {"$sort": {"_id": 1}},
        ],
    ),
    (
        "push-after-sort-nested-key",
        [
            {"$sort": {"f": 1}},
            {"$group": {"_id": None, "cities": {"$push": "$addr.city"}}},
        ],
    ),
    (
        "first-last-after-sort",
        [
            {"$sort": {"f": -1}},
            {"$group": {"_id": "$b", "first": {"$first": "$s"}, "last": {"$last": "$id"}}},
            {"$sort": {"_id": 1}},
        ],
    ),
    (
        "sum-avg-ignore-non-numbers",
        [
            {
                "$group": {
                    "_id": None,
                    "sum": {"$sum": "$extra"},
                    "avg": {"$avg": "$extra"},
                    "zsum": {"$sum": "$addr.zip"},
                    "zavg": {"$avg": "$addr.zip"},
                    "ssum": {"$sum": "$s"},
                    "n": {"$sum": 1},
                }
            },
        ],
    ),
    (
        "sum-no-int64-overflow",
        [
            {"$match": {"i": {"$gt": 2**61}}},
            {"$group": {"_id": None, "sum": {"$sum": "$i"}, "twice": {"$sum": "$i"}}},
        ],
    ),
    (
        "sum-of-large-ints",
        [
            {"$group": {"_id": "$b", "sum": {"$sum": "$i"}}},
            {"$sort": {"_id": 1}},
        ],
    ),
    (
        "match-after-group-strict",
        [
            {"$group": {"_id": "$extra", "n": {"$sum": 1}}},
            {"$match": {"_id": "2"}},
        ],
    ),
    (
        "match-after-group-strict-number",
        [
            {"$group": {"_id": "$extra", "n": {"$sum": 1}}},
            {"$match": {"_id": {"$gte": 2}}},
            {"$sort": {"_id": 1}},
        ],
    ),
    (
        "match-after-project-nested",
        [
            {"$project": {"_id": 0, "z": "$addr.zip"}},
            {"$match": {"z": "10"}},
        ],
    ),
    (
        "group-text-vs-number",
        [
            {"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}},
            {"$match": {"_id": {"$in": ["10", "9"]}}},
            {"$sort": {"_id": 1}},
        ],
    ),
]


def mongo_pipeline(stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def fix(value: Any) -> Any:
        if value == "$id":
            return "$_id"
        if isinstance(value, dict):
            return {
                ("_id" if k == "id" and "$sort" not in value else k): fix(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return [fix(s) for s in stages]


@pytest.mark.parametrize("stages", [p[1] for p in PIPELINES], ids=[p[0] for p in PIPELINES])
async def test_pipeline_matches_mongod(
    repo: XRepo[Rec], oracle: Collection[Any], stages: list[dict[str, Any]]
) -> None:
    want = [canon(d) for d in oracle.aggregate(mongo_pipeline(stages))]
    got = [canon(d) for d in await repo.aggregate(stages)]
    assert got == want


async def test_distinct_keeps_types_apart(repo: XRepo[Rec], oracle: Collection[Any]) -> None:
    got = await repo.distinct("addr.zip")
    want = [v for v in oracle.distinct("addr.zip") if v is not None]  # null == missing
    key = lambda v: (type(v).__name__, v)  # noqa: E731
    assert sorted(map(canon, got), key=key) == sorted(map(canon, want), key=key)


async def test_datetimes_stored_fixed_width_utc(repo: XRepo[Rec], tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db")
    try:
        stored = dict(conn.execute(f'SELECT id, at FROM "{repo.table}"').fetchall())
    finally:
        conn.close()
    assert stored[1] == "2024-01-01T00:00:00.000000+00:00"
    assert stored[2] == "2024-01-01T00:00:00.500000+00:00"
    assert stored[5] == "2024-01-01T01:00:00.000000+00:00"  # -02:00 written in UTC
    found = await repo.read(5)
    assert found is not None
    assert found.at == dt.datetime(2024, 1, 1, 1, tzinfo=UTC)
    ordered = [r.id for r in await repo.list({"at__ne": None}, sort=[("at", 1), ("id", 1)])]
    assert ordered == [3, 1, 7, 8, 2, 5, 6]


async def test_rows_written_by_older_versions_compare_by_time(
    repo: XRepo[Rec], tmp_path: Path
) -> None:
    # isoformat() as older versions stored it: no microseconds when 0, the writer's offset,
    # naive text.
    conn = sqlite3.connect(tmp_path / "t.db")
    try:
        conn.executemany(
            f'INSERT INTO "{repo.table}" (id, s, at) VALUES (?, ?, ?)',
            [
                (101, "old", "2024-01-01T00:00:00+00:00"),
                (102, "old", "2024-01-01T02:00:00.250000+02:00"),
                (103, "old", "2024-01-01T00:00:00"),
                (104, "old", "2024-01-01 00:00:01"),
            ],
        )
        conn.commit()
    finally:
        conn.close()
    assert await our_ids(repo, {"s": "old", "at": T0}) == [101, 103]
    assert await our_ids(repo, {"s": "old", "at": {"$gt": T0}}) == [102, 104]
    assert await our_ids(
        repo, {"s": "old", "at": {"$lt": T0 + dt.timedelta(milliseconds=250)}}
    ) == [101, 103]
    assert await our_ids(repo, {"s": "old", "at": {"$in": [T0 + dt.timedelta(seconds=1)]}}) == [104]


HOSTILE_REFUSALS: list[tuple[str, Any]] = [
    ("nan-written", {"id": 50, "f": float("nan")}),
    ("int-beyond-int64-written", {"id": 51, "i": 2**64}),
    ("nan-in-json", {"id": 52, "addr": {"x": float("nan")}}),
]


@pytest.mark.parametrize(
    "record", [h[1] for h in HOSTILE_REFUSALS], ids=[h[0] for h in HOSTILE_REFUSALS]
)
async def test_unstorable_values_are_refused(repo: XRepo[Rec], record: dict[str, Any]) -> None:
    with pytest.raises(XRepoValidationError, match="SQLite"):
        await repo.create(record)
    assert await repo.read(record["id"]) is None


async def test_bad_regex_is_refused_with_its_operator(repo: XRepo[Rec]) -> None:
    with pytest.raises(XRepoValidationError, match=r"invalid regex|\$regex"):
        await repo.list({"s": {"$regex": "(?<"}})


# -- generated: hostile strings and numbers --------------------------------------------------------
TEXT_OPS = ["contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"]
LETTERS = [
    "a",
    "A",
    "é",
    "É",
    "ß",
    "ẞ",
    "σ",
    "ς",
    "Σ",
    "ж",
    "Ж",
    " ",
    "\t",
    "\x00",
    "\n",
    "😀",
    "0",
]
texts = st.lists(st.sampled_from(LETTERS), max_size=5).map("".join)
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-3, 3),
    # JSON has no infinities (writing one is refused, tested on its own).
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.5, -0.0, 2**53 + 1, 1e300]),
)
# SQLite's JSON functions cut a string at a NUL character (a listed limit): none inside JSON.
json_texts = texts.map(lambda t: t.replace("\x00", "\x01"))
json_scalars = st.one_of(st.none(), st.booleans(), json_texts, numbers)
records_strategy = st.lists(
    st.fixed_dictionaries({"s": st.one_of(st.none(), texts), "v": json_scalars}),
    min_size=1,
    max_size=8,
)
leaves = st.one_of(
    st.tuples(st.just("s"), st.sampled_from(TEXT_OPS), texts),
    st.tuples(st.just("addr.v"), st.sampled_from(TEXT_OPS), json_texts),
    st.tuples(
        st.just("addr.v"),
        st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
        json_scalars.filter(lambda v: v is not None),
    ),
    st.tuples(
        st.just("addr.v"),
        st.sampled_from(["$in", "$nin"]),
        st.lists(json_scalars, min_size=1, max_size=3),
    ),
)


def as_filters(path: str, op: str, value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if op.startswith("$"):
        return {path: {op: value}}, {path: {op: value}}
    import re

    pattern = re.escape(value).replace("\x00", "\\x00")  # mongod refuses a raw NUL byte
    pattern = {"contains": pattern, "startswith": "^" + pattern, "endswith": pattern + "\\z"}[
        op.removeprefix("i")
    ]
    mongo: dict[str, Any] = {"$regex": pattern}
    if op.startswith("i"):
        mongo["$options"] = "i"
    return {f"{path.replace('.', '__')}__{op}": value}, {path: mongo}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=records_strategy, leaf=leaves)
def test_generated_hostile_values_match_mongod(
    tmp_path: Path, mongodb_url: str, rows: list[dict[str, Any]], leaf: tuple[str, str, Any]
) -> None:
    import asyncio
    import uuid

    name = f"t_{uuid.uuid4().hex[:12]}"
    records = [{"id": n + 1, "s": r["s"], "addr": {"v": r["v"]}} for n, r in enumerate(rows)]
    ours, theirs = as_filters(*leaf)
    client: MongoClient[Any] = MongoClient(mongodb_url)
    coll = client[ORACLE_DB][name]
    try:
        coll.insert_many([oracle_doc(r) for r in records])
        want = mongo_ids(coll, theirs)
    finally:
        coll.drop()
        client.close()

    async def run() -> list[int] | str:
        resource, repo = await open_repo(tmp_path / f"{name}.db", name, records)
        try:
            return await our_ids(repo, ours)
        except XRepoValidationError as exc:
            return "refused: " + str(exc)
        finally:
            await resource.disconnect()

    got = asyncio.run(run())
    assert got == want, (ours, theirs, records)
