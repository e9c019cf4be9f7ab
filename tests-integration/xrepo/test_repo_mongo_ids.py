"""MongoDB collections as MongoDB makes them (issue 14, item 5), against the real ``mongod``.

The documents are inserted with plain PyMongo, so ``_id`` is the ObjectId the driver assigns, as
in every real collection; references (``users_id``) are ObjectIds too. XInspector discovers the
collection, generates the model, and the repository must work by the hex strings ``list()``
returns. The MongoDB backend's own semantics (datetimes, Decimals, text operators, typed
aggregate/distinct) are checked on the same hostile data, and a fixed table lists each bug of
the issue with the call that showed it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128, ObjectId
from repo_backends import mongo_collections, mongo_db_url, sql_tables

from xinspector import XInspector
from xobj_prototype import XObjPrototype
from xrepo import ConnectedMongoRepo, XRepoFactory, create_view_from_resources
from xresource import MongoDBResource

UTC = dt.UTC
ADA, BOB, CY = ObjectId(), ObjectId(), ObjectId()
NAMES = {ADA: "Åsa ", BOB: "bob", CY: "ÉLODIE"}


def _orders() -> list[dict[str, Any]]:
    """Orders as an application writes them with PyMongo: no _id, ObjectId references,
    naive and aware datetimes, Decimal128 and float prices, lists, a missing field."""
    return [
        {
            "users_id": ADA,
            "note": "abc",
            "at": dt.datetime(2024, 1, 1, 10, 30, 0, 123456),  # naive: UTC
            "price": Decimal128("19.99"),
            "tags": ["é", "a"],
            "deleted_at": None,
        },
        {
            "users_id": ADA,
            "note": "abc\n",
            "at": dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "price": Decimal128("0.10"),
            "tags": ["A"],
            "deleted_at": None,
        },
        {
            "users_id": BOB,
            "note": "ÉCOLE\x00x",
            "at": dt.datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "price": Decimal128("3"),
            "tags": [],
            "deleted_at": None,
        },
        {
            "users_id": CY,
            "note": " école ",
            "at": dt.datetime(2024, 6, 1, tzinfo=UTC),
            "price": Decimal128("-1.5"),
            "tags": ["é"],
            "deleted_at": None,
        },
    ]


#: A new order for the generated model (every field the documents all hold is required).
NEW = {
    "users_id": str(ADA),
    "note": "new",
    "at": dt.datetime(2025, 1, 1, tzinfo=UTC),
    "price": Decimal("1"),
    "tags": [],
}


@pytest.fixture
async def mongo(mongodb_url: str, unique_name: str) -> AsyncIterator[MongoDBResource]:
    names = [unique_name, f"{unique_name}_users", f"{unique_name}_strs"]
    async with mongo_collections(mongo_db_url(mongodb_url, "xrepo_ids"), names) as resource:
        await resource.collection(f"{unique_name}_users").insert_many(
            [{"_id": k, "name": v} for k, v in NAMES.items()]
        )
        await resource.collection(unique_name).insert_many(_orders())
        yield resource


@pytest.fixture
async def orders(mongo: MongoDBResource, unique_name: str) -> ConnectedMongoRepo[Any]:
    repo = await XRepoFactory.create_from_resource(
        mongo, collection=unique_name, lookups=[f"{unique_name}_users"]
    )
    assert isinstance(repo, ConnectedMongoRepo)
    return repo


async def _raw(mongo: MongoDBResource, collection: str, key: Any) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await mongo.collection(collection).find_one({"_id": key})
    return doc


# -- discovery and the generated model -------------------------------------------------------
async def test_discovery_exposes_the_object_id_as_an_optional_hex_string(
    mongo: MongoDBResource, unique_name: str
) -> None:
    inspector = XInspector(mongo)
    schema = await inspector.discover(unique_name)
    key = schema.fields["_id"]
    assert (key.type, key.primary_key, key.required) == ("ObjectId", True, False)
    assert schema.fields["users_id"].required  # every document holds it
    Model = await inspector.generate_model(unique_name)
    assert not Model.model_fields["id"].is_required()
    assert Model.model_fields["id"].alias == "_id"
    doc = await mongo.collection(unique_name).find_one({"users_id": BOB})
    assert doc is not None
    record = Model.model_validate(doc)
    assert record.id == str(doc["_id"])
    assert record.users_id == str(BOB)


# -- the id as list() returned it -------------------------------------------------------------
async def test_crud_by_the_hex_string_list_returned(
    orders: ConnectedMongoRepo[Any], mongo: MongoDBResource, unique_name: str
) -> None:
    assert orders.id_field == "id"
    listed = await orders.list(sort="at")
    assert [r.note for r in listed] == ["ÉCOLE\x00x", "abc\n", "abc", " école "]
    ids = [r.id for r in listed]
    assert all(isinstance(i, str) and ObjectId.is_valid(i) for i in ids)
    first = ids[0]
    assert (await orders.read(first)).note == "ÉCOLE\x00x"  # type: ignore[union-attr]
    assert await orders.exists(first)
    assert (await orders.find_one({"id": first})).users_id == str(BOB)  # type: ignore[union-attr]
    updated = await orders.update(first, {"note": "ß"})
    assert updated is not None
    assert updated.note == "ß"
    assert updated.id == first
    assert await orders.bulk_update([(ids[1], {"note": "x"}), (ids[2], {"note": "y"})]) == 2
    stored = await _raw(mongo, unique_name, ObjectId(ids[1]))
    assert stored is not None
    assert stored["note"] == "x"
    assert await orders.delete(ids[3])  # soft: the documents have deleted_at
    assert not await orders.exists(ids[3])
    restored = await orders.restore(ids[3])
    assert restored is not None
    assert restored.id == ids[3]
    assert await orders.bulk_delete([ids[2], ids[3]], soft=False) == 2
    assert await _raw(mongo, unique_name, ObjectId(ids[2])) is None
    assert await orders.count() == 2
    assert await orders.read("0" * 24) is None
    assert await orders.read(ids[0].upper()) is None  # list() never returns upper-case hex


async def test_create_lets_mongodb_assign_an_object_id(
    orders: ConnectedMongoRepo[Any], mongo: MongoDBResource, unique_name: str
) -> None:
    made = await orders.create({**NEW, "users_id": str(CY), "tags": ["ü"]})
    assert isinstance(made.id, str)
    assert ObjectId.is_valid(made.id)
    stored = await _raw(mongo, unique_name, ObjectId(made.id))
    assert stored is not None
    # The generated model types users_id as ObjectIdStr: the reference stays an ObjectId.
    assert stored["users_id"] == CY
    assert await orders.read(made.id) == made
    many = await orders.bulk_create([{**NEW, "note": n} for n in ("p", "q")])
    assert len({m.id for m in many}) == 2
    assert [await orders.read(m.id) for m in many] == many


async def test_id_filters_sort_and_paging(orders: ConnectedMongoRepo[Any]) -> None:
    ids = sorted(r.id for r in await orders.list())
    assert [r.id for r in await orders.list({"id": ids[1]})] == [ids[1]]
    assert [r.id for r in await orders.list({"id": {"$in": [ids[0], ids[3], "nope"]}})] == [
        ids[0],
        ids[3],
    ]
    assert [r.id for r in await orders.list({"id": {"$nin": ids[:2]}})] == ids[2:]
    assert [r.id for r in await orders.list({"id": {"$ne": ids[0]}})] == ids[1:]
    assert [r.id for r in await orders.list({"id__gt": ids[1]})] == ids[2:]
    assert [r.id for r in await orders.list({"id": {"$lte": ids[1]}})] == ids[:2]
    assert [r.id for r in await orders.list(sort="-id")] == ids[::-1]
    pages = [r.id for s in (0, 2) for r in await orders.list(skip=s, limit=2, sort="id")]
    assert pages == ids


async def test_ids_stored_as_plain_strings_are_still_found(
    mongo: MongoDBResource, unique_name: str
) -> None:
    name = f"{unique_name}_strs"
    hex_string, other = str(ObjectId()), "user-1 é"
    await mongo.collection(name).insert_many(
        [{"_id": ObjectId(), "n": 1}, {"_id": hex_string, "n": 2}, {"_id": other, "n": 3}]
    )
    repo = await XRepoFactory.create_from_resource(mongo, collection=name)
    assert (await repo.read(hex_string)).n == 2  # type: ignore[union-attr]
    assert (await repo.read(other)).n == 3  # type: ignore[union-attr]
    assert await repo.count({"id": {"$in": [hex_string, other]}}) == 2
    assert await repo.count({"id": {"$nin": [hex_string]}}) == 2
    listed = await repo.list()
    assert sorted(r.n for r in listed) == [1, 2, 3]
    assert {r.id for r in listed} >= {hex_string, other}


class Order(XObjPrototype):
    """A hand-written model: plain ``str`` id and reference, no ObjectIdStr."""

    id: str | None = None
    users_id: str
    note: str
    at: dt.datetime | None = None
    price: Decimal | None = None
    tags: list[str] = []
    deleted_at: dt.datetime | None = None


async def test_a_hand_written_str_model_reads_object_ids_as_hex(
    mongo: MongoDBResource, unique_name: str
) -> None:
    repo = await XRepoFactory.create(resource=mongo, model_class=Order, collection=unique_name)
    rows = await repo.list({"users_id": str(ADA)}, sort="at")
    assert [r.users_id for r in rows] == [str(ADA), str(ADA)]
    assert (await repo.read(rows[0].id)) == rows[0]
    assert await repo.count({"users_id": {"$in": [str(BOB), str(CY)]}}) == 2
    assert await repo.count({"users_id": {"$ne": str(ADA)}}) == 2
    # A plain str field stores what it is given: a str, found by the same filter.
    made = await repo.create({"users_id": str(BOB), "note": "n"})
    raw = await mongo.collection(unique_name).find_one({"_id": ObjectId(made.id)})
    assert raw is not None
    assert raw["users_id"] == str(BOB)
    assert await repo.count({"users_id": str(BOB)}) == 2
    assert await repo.distinct("users_id") == sorted({str(ADA), str(BOB), str(CY)})


# -- pipelines ---------------------------------------------------------------------------------
async def test_pipelines_see_the_hex_strings(
    orders: ConnectedMongoRepo[Any], unique_name: str
) -> None:
    ids = sorted(r.id for r in await orders.list())
    by_id = await orders.aggregate(
        [{"$match": {"id": {"$in": ids[:2]}}}, {"$group": {"_id": "$id", "n": {"$sum": 1}}}]
    )
    assert sorted(d["_id"] for d in by_id) == ids[:2]
    by_user = await orders.aggregate(
        [{"$group": {"_id": "$users_id", "n": {"$count": {}}}}, {"$sort": {"_id": 1}}]
    )
    assert by_user == sorted(
        [{"_id": str(ADA), "n": 2}, {"_id": str(BOB), "n": 1}, {"_id": str(CY), "n": 1}],
        key=lambda d: d["_id"],
    )
    after = await orders.aggregate([{"$sort": {"at": 1}}, {"$match": {"id": ids[0]}}])
    assert [d["id"] for d in after] == [ids[0]]
    joined = await orders.aggregate(
        [
            {"$match": {"users_id": str(ADA)}},
            {
                "$lookup": {
                    "from": f"{unique_name}_users",
                    "localField": "users_id",
                    "foreignField": "id",
                    "as": "user",
                }
            },
            {"$unwind": "$user"},
            {"$project": {"name": "$user.name", "uid": "$user.id", "users_id": 1}},
        ]
    )
    assert [(d["name"], d["uid"], d["users_id"]) for d in joined] == [
        ("Åsa ", str(ADA), str(ADA))
    ] * 2


async def test_lookup_joins_an_object_id_with_its_hex_string(
    mongo: MongoDBResource, unique_name: str
) -> None:
    """users._id are ObjectIds, the foreign key holds their hex strings, and the other way."""
    repo = await XRepoFactory.create(
        resource=mongo, model_class=Order, collection=unique_name, lookups=[f"{unique_name}_users"]
    )
    await repo.bulk_create([{"users_id": str(BOB), "note": "s"}, {"users_id": "nope", "note": "t"}])
    out = await repo.aggregate(
        [
            {"$match": {"note": {"$in": ["s", "t"]}}},
            {
                "$lookup": {
                    "from": f"{unique_name}_users",
                    "localField": "users_id",
                    "foreignField": "id",
                    "as": "user",
                }
            },
            {"$sort": {"note": 1}},
        ]
    )
    assert [[u["name"] for u in d["user"]] for d in out] == [["bob"], []]
    assert "__xrepo_lookup_key" not in out[0]
    users = await XRepoFactory.create_from_resource(
        mongo, collection=f"{unique_name}_users", lookups=[unique_name]
    )
    back = await users.aggregate(
        [
            {"$match": {"id": str(BOB)}},
            {
                "$lookup": {
                    "from": unique_name,
                    "localField": "id",
                    "foreignField": "users_id",
                    "as": "orders",
                }
            },
        ]
    )
    # BOB's first order holds an ObjectId reference, the new one its hex string.
    assert sorted(o["note"] for o in back[0]["orders"]) == ["s", "ÉCOLE\x00x"]


# -- the issue's view: MongoDB users with PostgreSQL orders -----------------------------------
async def test_view_joins_object_ids_with_a_postgres_text_key(
    mongo: MongoDBResource, unique_name: str, postgres_url: str
) -> None:
    table = f"{unique_name}_pg"
    ddl = "CREATE TABLE {t} (id INTEGER PRIMARY KEY, users_id TEXT, total NUMERIC(10, 2))"
    async with sql_tables(postgres_url, {table: ddl}) as pg:
        await pg.execute(
            f'INSERT INTO "{table}" (id, users_id, total) VALUES '
            f"(1, '{ADA}', 5.00), (2, '{ADA}', 7.50), (3, '{CY}', 1.25), (4, 'ghost', 9.00)"
        )
        view = await create_view_from_resources(
            "user_orders",
            [(mongo, f"{unique_name}_users"), (pg, table)],
            {
                "on": {f"{unique_name}_users": "id", table: "users_id"},
                "type": "left",
                "prefixes": {f"{unique_name}_users": "users", table: "orders"},
            },
        )
        rows = await view.list(sort=[("orders_id", 1)], limit=None)
        pairs = sorted((r.users_name, r.orders_id) for r in rows if r.orders_id is not None)
        assert pairs == [("Åsa ", 1), ("Åsa ", 2), ("ÉLODIE", 3)]
        assert {r.users_id for r in rows} == {str(ADA), str(BOB), str(CY)}
        assert [r.users_name for r in rows if r.orders_id is None] == ["bob"]
        only = await view.list({"users_id": str(CY)})
        assert [(r.users_name, r.orders_total) for r in only] == [("ÉLODIE", Decimal("1.25"))]


# -- the backend's semantics on the same data -------------------------------------------------
async def test_datetimes_are_aware_utc_with_milliseconds(
    orders: ConnectedMongoRepo[Any], mongo: MongoDBResource, unique_name: str
) -> None:
    rows = await orders.list(sort="at")
    assert [r.at for r in rows] == [
        dt.datetime(2023, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 10, 30, 0, 123000, tzinfo=UTC),
        dt.datetime(2024, 6, 1, tzinfo=UTC),
    ]
    assert all(r.at.tzinfo is UTC for r in rows)
    naive = dt.datetime(2025, 3, 4, 5, 6, 7, 891011)
    made = await orders.create({**NEW, "at": naive})
    assert made.at == dt.datetime(2025, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    assert await orders.read(made.id) == made
    assert await orders.count({"at": naive.replace(microsecond=891000)}) == 1  # naive is UTC
    out = await orders.aggregate([{"$group": {"_id": None, "last": {"$max": "$at"}}}])
    assert out == [{"_id": None, "last": made.at}]
    assert out[0]["last"].tzinfo is UTC
    changed = await orders.update(made.id, {"at": dt.datetime(2025, 1, 1, 1, 0, 0, 1)})
    assert changed is not None
    assert changed.at == dt.datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
    raw = await mongo.collection(unique_name).find_one({"_id": ObjectId(made.id)})
    assert raw is not None
    assert raw["at"].tzinfo is UTC


async def test_decimals_are_decimal128_and_read_back_exact(
    mongo: MongoDBResource, unique_name: str
) -> None:
    repo = await XRepoFactory.create(resource=mongo, model_class=Order, collection=unique_name)
    made = await repo.create({"users_id": "u", "note": "d", "price": Decimal("0.30")})
    raw = await mongo.collection(unique_name).find_one({"_id": ObjectId(made.id)})
    assert raw is not None
    assert raw["price"] == Decimal128("0.30")
    assert (await repo.read(made.id)).price == Decimal("0.30")  # type: ignore[union-attr]
    assert [r.price for r in await repo.list({"price__gt": 1}, sort="price")] == [
        Decimal("3"),
        Decimal("19.99"),
    ]
    assert await repo.count({"price": 3}) == 1  # an int finds Decimal128("3")
    assert await repo.count({"price": {"$lt": -1.25}}) == 1
    total = await repo.aggregate([{"$group": {"_id": None, "s": {"$sum": "$price"}}}])
    assert total == [{"_id": None, "s": Decimal("21.89")}]
    assert await repo.distinct("price") == [
        Decimal("-1.5"),
        Decimal("0.10"),
        Decimal("0.30"),
        Decimal("3"),
        Decimal("19.99"),
    ]


async def test_text_operators_anchor_at_the_very_ends(orders: ConnectedMongoRepo[Any]) -> None:
    async def notes(**filters: Any) -> list[str]:
        return sorted(r.note for r in await orders.list(filters))

    assert await notes(note__endswith="c") == ["abc"]  # not "abc\n"
    assert await notes(note__endswith="\n") == ["abc\n"]
    assert await notes(note__startswith="abc") == ["abc", "abc\n"]
    assert await notes(note__contains="\x00") == ["ÉCOLE\x00x"]
    assert await notes(note__icontains="éco") == [" école ", "ÉCOLE\x00x"]
    assert await notes(note__istartswith=" É") == [" école "]
    assert await notes(note__iendswith="LE ") == [" école "]
    assert await notes(note__contains=".") == []
    assert await notes(note__endswith="") == sorted(r.note for r in await orders.list())


async def test_aggregate_and_distinct_return_what_list_returns(
    orders: ConnectedMongoRepo[Any],
) -> None:
    listed = {r.id: r for r in await orders.list()}
    docs = await orders.aggregate([])
    assert {d["id"]: orders.model_class.model_validate(d) for d in docs} == listed
    for d in docs:
        assert isinstance(d["id"], str)
        assert isinstance(d["users_id"], str)
        assert d["at"].tzinfo is UTC
    assert await orders.distinct("users_id") == sorted(str(k) for k in NAMES)
    assert await orders.distinct("id") == sorted(listed)
    pushed = await orders.aggregate(
        [{"$sort": {"at": 1}}, {"$group": {"_id": None, "ids": {"$push": "$users_id"}}}]
    )
    assert pushed[0]["ids"] == [str(BOB), str(ADA), str(ADA), str(CY)]


async def test_distinct_of_a_list_field_gives_its_elements(
    orders: ConnectedMongoRepo[Any],
) -> None:
    assert await orders.distinct("tags") == ["A", "a", "é"]
    assert await orders.distinct("tags", {"users_id": str(ADA)}) == ["A", "a", "é"]
    assert await orders.distinct("tags", {"users_id": str(BOB)}) == []


# -- each bug of the issue, as it was seen ----------------------------------------------------
BUGS = [
    "the generated model requires _id on create",
    "read by the id list() returned finds nothing",
    "exists by the id list() returned is false",
    "update by the id list() returned changes nothing",
    "delete by the id list() returned deletes nothing",
    "find_one by the id list() returned finds nothing",
    "endswith 'c' matches 'abc\\n'",
    "a naive datetime written reads back not equal",
    "aggregate returns ObjectIds where list() returns str",
]


@pytest.mark.parametrize("bug", BUGS)
async def test_issue_14_bugs(bug: str, orders: ConnectedMongoRepo[Any]) -> None:
    listed = await orders.list(sort="at")
    first = listed[0].id
    if bug == BUGS[0]:
        made = await orders.create(NEW)
        assert ObjectId.is_valid(made.id)
    elif bug == BUGS[1]:
        assert await orders.read(first) == listed[0]
    elif bug == BUGS[2]:
        assert await orders.exists(first) is True
    elif bug == BUGS[3]:
        assert (await orders.update(first, {"note": "z"})).note == "z"  # type: ignore[union-attr]
    elif bug == BUGS[4]:
        assert await orders.delete(first, soft=False) is True
        assert await orders.read(first) is None
    elif bug == BUGS[5]:
        assert await orders.find_one({"id": first}) == listed[0]
    elif bug == BUGS[6]:
        assert [r.note for r in await orders.list({"note__endswith": "c"})] == ["abc"]
    elif bug == BUGS[7]:
        naive = dt.datetime(2024, 2, 29, 12, 0, 0, 5000)
        made = await orders.create({**NEW, "at": naive})
        assert made.at == naive.replace(tzinfo=UTC) == (await orders.read(made.id)).at  # type: ignore[union-attr]
    else:
        out = await orders.aggregate([{"$match": {"id": first}}])
        assert out[0]["id"] == first
        assert out[0]["users_id"] == listed[0].users_id
