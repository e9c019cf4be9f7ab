"""aggregate() and distinct() return the Python types that list() gives, on every backend.

The bugs this keeps fixed: SQL backends returned list and dict fields as JSON text, booleans
as 0/1, datetimes as ISO text and Decimals as floats from aggregate(); distinct() of a list
field gave whole lists (SQL) or a JSONDecodeError (memory, MongoDB); ``materialized=True`` over
a SQL table with a list or dict field failed validation.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from repo_backends import URL_FIXTURES, seeded_repo_fixture, sql_tables

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepo, XRepoFactory

BACKENDS = ["memory", "sqlite", "postgresql", "mysql", "mongodb", "duckdb"]
UTC = dt.UTC


class Rec(XObjPrototype):
    id: int
    name: str
    flag: bool | None = None
    tags: list[str] = []
    addr: dict[str, Any] | None = None
    at: dt.datetime | None = None
    day: dt.date | None = None
    price: Decimal | None = None
    uid: uuid.UUID | None = None


ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Åsa ",
        "flag": True,
        "tags": ["é", "a", "A"],
        "addr": {"city": "Zürich", "zip": 10, "geo": {"lat": 47.3}},
        "at": dt.datetime(2024, 1, 1, 10, 30, 0, 123000, tzinfo=UTC),
        "day": dt.date(2024, 1, 1),
        "price": Decimal("19.99"),
        "uid": uuid.UUID(int=1),
    },
    {
        "id": 2,
        "name": "bob",
        "flag": False,
        "tags": ["a", " b"],
        "addr": {"city": "oslo", "zip": "10"},
        "at": dt.datetime(2024, 6, 1, 23, 59, 59, tzinfo=UTC),
        "day": dt.date(2024, 6, 2),
        "price": Decimal("0.10"),
        "uid": uuid.UUID(int=2),
    },
    {"id": 3, "name": "", "flag": True, "tags": [], "addr": None},
    {"id": 4, "name": "ß\tx", "tags": ["ß"], "addr": {"city": "ÉVORA", "zip": True}},
]

DDL = {
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, flag BOOLEAN, tags TEXT, "
        "addr TEXT, at TEXT, day TEXT, price NUMERIC, uid TEXT)"
    ),
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, flag BOOLEAN, tags JSONB, "
        "addr JSONB, at TIMESTAMPTZ, day DATE, price NUMERIC(10, 2), uid UUID)"
    ),
    "mysql": (
        "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, flag BOOLEAN, "
        "tags JSON, addr JSON, at DATETIME(6), day DATE, price DECIMAL(10, 2), uid CHAR(36))"
    ),
    "duckdb": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, flag BOOLEAN, tags JSON, "
        'addr JSON, "at" TIMESTAMPTZ, day DATE, price DECIMAL(10, 2), uid UUID)'
    ),
}


repo = seeded_repo_fixture(BACKENDS, model=Rec, rows=ROWS, ddl=DDL, database="xrepo_typed")


def same(got: Any, want: Any) -> bool:
    """Equal and of the same type, all the way down (1 == True == 1.0 in Python)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    return bool(got == want)


async def test_an_empty_pipeline_returns_what_list_returns(repo: XRepo[Rec]) -> None:
    docs = sorted(await repo.aggregate([]), key=lambda d: d["id"])
    records = [r.model_dump(exclude={"ns"}) for r in await repo.list(sort=[("id", 1)])]
    assert len(docs) == len(records) == len(ROWS)
    for doc, record in zip(docs, records, strict=True):
        for field, want in record.items():
            if field not in doc:
                assert want is None, (field, want)  # MongoDB and memory omit missing fields
                continue
            assert same(doc[field], want), (field, doc[field], want)


async def test_group_accumulators_keep_the_fields_types(repo: XRepo[Rec]) -> None:
    out = await repo.aggregate(
        [
            {"$match": {"flag": {"$ne": None}}},
            {"$sort": {"id": 1}},
            {
                "$group": {
                    "_id": "$flag",
                    "tags": {"$push": "$tags"},
                    "first_at": {"$first": "$at"},
                    "days": {"$push": "$day"},
                    "cheapest": {"$min": "$price"},
                    "addr": {"$first": "$addr"},
                    "n": {"$sum": 1},
                }
            },
            {"$sort": {"_id": 1}},
        ]
    )
    assert [d["_id"] for d in out] == [False, True]
    assert all(type(d["_id"]) is bool for d in out)
    no, yes = out
    assert same(no["tags"], [["a", " b"]])
    assert same(yes["tags"], [["é", "a", "A"], []])
    assert same(no["first_at"], dt.datetime(2024, 6, 1, 23, 59, 59, tzinfo=UTC))
    assert same(yes["days"], [dt.date(2024, 1, 1), None])
    assert same(no["cheapest"], Decimal("0.10"))
    assert same(yes["addr"], {"city": "Zürich", "zip": 10, "geo": {"lat": 47.3}})
    assert same(yes["n"], 2)


async def test_group_by_a_boolean_and_a_datetime(repo: XRepo[Rec]) -> None:
    out = await repo.aggregate(
        [
            {"$match": {"at": {"$ne": None}}},
            {"$group": {"_id": {"flag": "$flag", "at": "$at"}, "ids": {"$push": "$id"}}},
            {"$sort": {"_id.at": 1}},
        ]
    )
    assert same(
        [d["_id"] for d in out],
        [
            {"flag": True, "at": dt.datetime(2024, 1, 1, 10, 30, 0, 123000, tzinfo=UTC)},
            {"flag": False, "at": dt.datetime(2024, 6, 1, 23, 59, 59, tzinfo=UTC)},
        ],
    )


async def test_distinct_of_a_list_field_gives_its_elements(repo: XRepo[Rec]) -> None:
    assert same(await repo.distinct("tags"), [" b", "A", "a", "ß", "é"])
    assert same(await repo.distinct("tags", {"id": 2}), [" b", "a"])


async def test_distinct_keeps_types(repo: XRepo[Rec]) -> None:
    assert same(await repo.distinct("flag"), [False, True])
    assert same(
        await repo.distinct("at"),
        [
            dt.datetime(2024, 1, 1, 10, 30, 0, 123000, tzinfo=UTC),
            dt.datetime(2024, 6, 1, 23, 59, 59, tzinfo=UTC),
        ],
    )
    assert same(await repo.distinct("day"), [dt.date(2024, 1, 1), dt.date(2024, 6, 2)])
    assert same(await repo.distinct("price"), [Decimal("0.10"), Decimal("19.99")])
    assert same(await repo.distinct("name"), ["", "bob", "Åsa ", "ß\tx"])


async def test_distinct_of_a_nested_path_keeps_json_types(repo: XRepo[Rec]) -> None:
    # the number 10, the string "10" and true are three values, in MongoDB's order of types
    assert same(await repo.distinct("addr.zip"), [10, "10", True])
    assert same(await repo.distinct("addr.city"), ["Zürich", "oslo", "ÉVORA"])


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
async def test_materialized_snapshot_of_a_sql_table(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path, unique_name: str
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'snap.db'}"
        if kind == "sqlite"
        else request.getfixturevalue(URL_FIXTURES[kind])
    )
    async with sql_tables(url, {unique_name: DDL[kind]}) as resource:
        connected = await XRepoFactory.create(
            resource=resource, model_class=Rec, collection=unique_name
        )
        await connected.bulk_create(ROWS)
        snapshot = await XRepoFactory.create(
            resource=resource, model_class=Rec, collection=unique_name, materialized=True
        )
        assert isinstance(snapshot, MaterializedRepo)
        assert await snapshot.list(sort=[("id", 1)]) == await connected.list(sort=[("id", 1)])
        assert [r.id for r in await snapshot.list({"tags": "é"})] == [1]
