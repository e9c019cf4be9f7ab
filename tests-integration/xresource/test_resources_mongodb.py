"""``MongoDBResource`` against the real MongoDB (single-node replica set ``rs0``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from mongo_samples import drop_loaded, expected_counts, load_mongo_sample
from pydantic import SecretStr, ValidationError
from pymongo import AsyncMongoClient

from xresource import (
    MongoDBResource,
    ResourceFactory,
    XResourceAuthenticationError,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourcePoolExhaustedError,
    XResourceValidationError,
)

SECRET = "hunter2-mongo-secret"


def make(mongodb_url: str, database: str, **kwargs: Any) -> MongoDBResource:
    resource = ResourceFactory.create(
        "mongodb", connection_string=mongodb_url, database=database, **kwargs
    )
    assert isinstance(resource, MongoDBResource)
    return resource


@pytest.fixture
async def mongo(mongodb_url: str) -> AsyncIterator[MongoDBResource]:
    """A connected resource on a database of its own, dropped afterwards."""
    resource = make(mongodb_url, f"xres_{uuid.uuid4().hex[:12]}")
    await resource.connect()
    try:
        yield resource
    finally:
        await resource.client.drop_database(resource.database)
        await resource.disconnect()


async def test_round_trip(mongo: MongoDBResource, unique_name: str) -> None:
    docs = [{"sku": f"s{i:03d}", "qty": i % 7, "tags": ["a"] if i % 2 else []} for i in range(50)]
    ids = await mongo.insert_many(unique_name, docs)
    assert len(ids) == 50
    assert await mongo.count(unique_name) == 50
    assert await mongo.count(unique_name, {"qty": 0}) == 8
    rows = await mongo.fetch_all(
        unique_name,
        {"qty": {"$gte": 5}},
        projection={"_id": 0, "sku": 1},
        sort=[("sku", -1)],
        skip=1,
        limit=3,
    )
    assert rows == [{"sku": "s047"}, {"sku": "s041"}, {"sku": "s040"}]
    one = await mongo.fetch_one(unique_name, {"sku": "s010"})
    assert one is not None
    assert one["qty"] == 3
    assert await mongo.update_many(unique_name, {"qty": 0}, {"$set": {"zero": True}}) == 8
    assert await mongo.count(unique_name, {"zero": True}) == 8
    # an update pipeline works too
    assert (
        await mongo.update_many(
            unique_name, {"sku": "s001"}, [{"$set": {"double": {"$multiply": ["$qty", 2]}}}]
        )
        == 1
    )
    assert (await mongo.fetch_one(unique_name, {"sku": "s001"}) or {})["double"] == 2
    grouped = await mongo.aggregate(
        unique_name, [{"$group": {"_id": "$qty", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]
    )
    assert [g["n"] for g in grouped] == [8, 7, 7, 7, 7, 7, 7]
    assert await mongo.delete_many(unique_name, {"qty": {"$lt": 3}}) == 22
    assert await mongo.count(unique_name) == 28
    assert unique_name in await mongo.list_collections_or_tables()
    assert await mongo.get_collections() == await mongo.list_collections_or_tables()
    assert (await mongo.get_collection(unique_name)).name == unique_name
    assert await mongo.validate_connection() is True


UUIDS = [
    uuid.UUID(int=0),
    uuid.UUID(int=2**128 - 1),
    uuid.UUID("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
]


async def test_uuids_round_trip_as_uuids(mongo: MongoDBResource, unique_name: str) -> None:
    # PyMongo's own default refuses to write a uuid.UUID; the resource stores it as BSON's
    # UUID (binary subtype 4), which any driver reads, and reads it back as a uuid.UUID.
    await mongo.insert_many(unique_name, [{"u": u, "k": i} for i, u in enumerate(UUIDS)])
    rows = await mongo.fetch_all(unique_name, sort=[("k", 1)], projection={"_id": 0})
    assert [r["u"] for r in rows] == UUIDS
    assert all(type(r["u"]) is uuid.UUID for r in rows)
    assert await mongo.count(unique_name, {"u": UUIDS[2]}) == 1
    stored = await mongo.aggregate(
        unique_name, [{"$match": {"k": 2}}, {"$project": {"t": {"$type": "$u"}}}]
    )
    assert stored[0]["t"] == "binData"


@pytest.mark.parametrize("where", ["uri", "options"])
async def test_a_chosen_uuid_representation_is_kept(
    mongodb_url: str, unique_name: str, where: str
) -> None:
    # The default never overrides the user's choice, in the URI (where a keyword argument
    # would win over it) or in options.
    if where == "uri":
        sep = "&" if "?" in mongodb_url else "?"
        resource = make(mongodb_url + f"{sep}uuidRepresentation=unspecified", "xres_uuid")
    else:
        resource = make(mongodb_url, "xres_uuid", options={"uuidRepresentation": "unspecified"})
    async with resource:
        try:
            with pytest.raises(XResourceValidationError):
                await resource.insert_many(unique_name, [{"u": UUIDS[0]}])
        finally:
            await resource.client.drop_database("xres_uuid")


async def test_aggregate_collation(mongo: MongoDBResource, unique_name: str) -> None:
    # The collection's default collation ignores case; a pipeline may compare code points.
    await mongo.db.create_collection(unique_name, collation={"locale": "en", "strength": 2})
    await mongo.insert_many(unique_name, [{"t": t} for t in ["a", "A", "b", "B", "b"]])
    group = [{"$group": {"_id": "$t", "n": {"$sum": 1}}}]
    assert len(await mongo.aggregate(unique_name, group)) == 2
    simple = {"locale": "simple"}
    rows = await mongo.aggregate(unique_name, group, collation=simple)
    assert sorted((r["_id"], r["n"]) for r in rows) == [("A", 1), ("B", 1), ("a", 1), ("b", 2)]
    batches = mongo.aggregate_stream(unique_name, group, collation=simple, batch_size=2)
    async with aclosing(batches) as stream:
        streamed = [r async for batch in stream for r in batch]
    assert len(streamed) == 4
    with pytest.raises(XResourceError, match=r"locale.*no-such-locale"):
        await mongo.aggregate(unique_name, group, collation={"locale": "no-such-locale"})


async def test_streaming_in_batches(mongo: MongoDBResource, unique_name: str) -> None:
    await mongo.insert_many(unique_name, [{"i": i} for i in range(2500)])
    sizes, seen = [], []
    async for batch in mongo.find(unique_name, sort="i", batch_size=1000):
        sizes.append(len(batch))
        seen.extend(d["i"] for d in batch)
    assert sizes == [1000, 1000, 500]
    assert seen == list(range(2500))
    stream_sizes = [
        len(b)
        async for b in mongo.aggregate_stream(
            unique_name, [{"$match": {"i": {"$lt": 1500}}}], batch_size=600
        )
    ]
    assert stream_sizes == [600, 600, 300]
    # leaving a stream early (closed with aclosing) closes its server-side cursor
    stream = mongo.find(unique_name, batch_size=100)
    async with aclosing(stream):
        async for batch in stream:
            assert len(batch) == 100
            break
    assert mongo.get_pool_stats().in_use == 0
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_transaction_commit(mongo: MongoDBResource, unique_name: str) -> None:
    async with mongo.transaction() as session:
        await mongo.insert_many(unique_name, [{"n": 1}, {"n": 2}], session=session)
        await mongo.update_many(unique_name, {"n": 1}, {"$set": {"x": 1}}, session=session)
        # inside: visible to the session, not outside
        assert await mongo.count(unique_name, session=session) == 2
        assert await mongo.count(unique_name) == 0
    assert await mongo.count(unique_name) == 2
    assert await mongo.count(unique_name, {"x": 1}) == 1


async def test_transaction_abort_writes_nothing(mongo: MongoDBResource, unique_name: str) -> None:
    await mongo.insert_many(unique_name, [{"n": 0}])

    async def change_then_fail() -> None:
        async with mongo.transaction() as session:
            await mongo.insert_many(unique_name, [{"n": 1}, {"n": 2}], session=session)
            await mongo.delete_many(unique_name, {"n": 0}, session=session)
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await change_then_fail()
    assert [d["n"] for d in await mongo.fetch_all(unique_name)] == [0]


async def test_duplicate_key_is_an_integrity_error(
    mongo: MongoDBResource, unique_name: str
) -> None:
    await mongo.collection(unique_name).create_index("email", unique=True)
    await mongo.insert_many(unique_name, [{"email": "a@x"}])
    with pytest.raises(XResourceIntegrityError, match="duplicate key") as info:
        await mongo.insert_many(unique_name, [{"email": "b@x"}, {"email": "a@x"}, {"email": "c@x"}])
    assert "1 document(s) were written" in str(info.value)
    assert await mongo.count(unique_name) == 2  # ordered: b@x went in, c@x did not
    with pytest.raises(XResourceIntegrityError, match="nothing is committed"):
        await mongo.insert_many(unique_name, [{"email": "d@x"}, {"email": "a@x"}], atomic=True)
    assert await mongo.count(unique_name, {"email": "d@x"}) == 0
    with pytest.raises(XResourceIntegrityError):
        await mongo.update_many(unique_name, {"email": "b@x"}, {"$set": {"email": "a@x"}})


async def test_duplicate_key_in_a_transaction_rolls_back(
    mongo: MongoDBResource, unique_name: str
) -> None:
    await mongo.collection(unique_name).create_index("k", unique=True)

    async def insert_twice() -> None:
        async with mongo.transaction() as session:
            await mongo.insert_many(unique_name, [{"k": 1}], session=session)
            await mongo.insert_many(unique_name, [{"k": 1}], session=session)

    with pytest.raises(XResourceIntegrityError):
        await insert_twice()
    assert await mongo.count(unique_name) == 0


async def test_pool_exhaustion(mongodb_url: str, unique_name: str) -> None:
    """The only pooled connection is held by a change stream's getMore (the server keeps it
    waiting up to maxAwaitTimeMS), so a second operation waits for waitQueueTimeoutMS."""
    resource = make(
        mongodb_url,
        f"xres_{uuid.uuid4().hex[:12]}",
        pool_max_size=1,
        pool_min_size=0,
        acquire_timeout=0.3,
    )
    async with resource:
        await resource.insert_many(unique_name, [{"n": 1}])
        stream = await resource.collection(unique_name).watch(max_await_time_ms=3000)
        holder = asyncio.create_task(stream.try_next())
        try:
            for _ in range(100):  # wait until the getMore has the connection checked out
                if resource.get_pool_stats().in_use == 1:
                    break
                await asyncio.sleep(0.02)
            stats = resource.get_pool_stats()
            assert (stats.in_use, stats.max_size, stats.idle) == (1, 1, 0)
            with pytest.raises(XResourcePoolExhaustedError, match="pool_max_size=1"):
                await resource.count(unique_name)
        finally:
            await holder
            await stream.close()
        assert await resource.count(unique_name) == 1  # the pool recovers
        assert resource.get_pool_stats().in_use == 0
        await resource.client.drop_database(resource.database)


async def test_dead_server_is_a_connection_error() -> None:
    resource = ResourceFactory.create(
        "mongodb", connection_string=f"mongodb://app:{SECRET}@127.0.0.1:1/x", connect_timeout=1
    )
    with pytest.raises(
        XResourceConnectionError, match=r"no MongoDB server answered within 1\.0s"
    ) as info:
        await resource.connect()
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert not resource.is_connected
    assert await resource.validate_connection() is False


async def test_wrong_credentials_are_an_authentication_error(mongodb_url: str) -> None:
    url = mongodb_url.replace("mongodb://", f"mongodb://nobody:{SECRET}@")
    resource = ResourceFactory.create(
        "mongodb", connection_string=url, database="x", connect_timeout=3
    )
    with pytest.raises(XResourceAuthenticationError) as info:
        await resource.connect()
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("call", "operator"),
    [
        (lambda m, c: m.fetch_all(c, {"$where": "sleep(1000) || true"}), "$where"),
        (lambda m, c: m.count(c, {"$or": [{"a": 1}, {"$where": "true"}]}), "$where"),
        (
            lambda m, c: m.fetch_all(
                c, {"$expr": {"$function": {"body": "return 1", "args": [], "lang": "js"}}}
            ),
            "$function",
        ),
        (
            lambda m, c: m.aggregate(c, [{"$group": {"_id": None, "x": {"$accumulator": {}}}}]),
            "$accumulator",
        ),
        (
            lambda m, c: m.aggregate(
                c,
                [
                    {
                        "$lookup": {
                            "from": "o",
                            "pipeline": [{"$match": {"$where": "true"}}],
                            "as": "o",
                        }
                    }
                ],
            ),
            "$where",
        ),
        (lambda m, c: m.update_many(c, {}, [{"$set": {"x": {"$function": {}}}}]), "$function"),
        (lambda m, c: m.delete_many(c, {"$where": "true"}), "$where"),
    ],
)
async def test_server_side_javascript_is_refused(
    mongo: MongoDBResource, unique_name: str, call: Any, operator: str
) -> None:
    await mongo.insert_many(unique_name, [{"a": 1}])
    with pytest.raises(XResourceValidationError, match=f"uses \\{operator}"):
        await call(mongo, unique_name)
    assert await mongo.count(unique_name) == 1


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda m: m.fetch_all(""), "non-empty string"),
        (lambda m: m.fetch_all(None), "non-empty string"),
        (lambda m: m.fetch_all("a$b"), "not a usable collection name"),
        (lambda m: m.fetch_all("system.users"), "not a usable collection name"),
        (lambda m: m.fetch_all("c", ["not", "a", "mapping"]), "filter must be a mapping"),
        (lambda m: m.fetch_all("c", {}, sort=[("a", 2)]), "sort must be"),
        (lambda m: m.fetch_all("c", {}, sort=5), "sort must be"),
        (lambda m: m.fetch_all("c", {}, limit=-1), "limit must be"),
        (lambda m: m.fetch_all("c", {}, skip="3"), "skip must be"),
        (lambda m: m.fetch_all("c", {}, batch_size=0), "batch_size"),
        (lambda m: m.fetch_all("c", {}, projection="name"), "projection"),
        (lambda m: m.aggregate("c", {"$match": {}}), "list of stages"),
        (lambda m: m.aggregate("c", [{"$match": {}, "$limit": 1}]), "stage #0"),
        (lambda m: m.update_many("c", {}, {"name": "replaced"}), "update operators"),
        (lambda m: m.update_many("c", None, {"$set": {"a": 1}}), "filter must be a mapping"),
        (lambda m: m.delete_many("c", None), "filter must be a mapping"),
        (lambda m: m.insert_many("c", [{"a": 1}, "text"]), "document #1"),
    ],
)
async def test_bad_input_is_a_validation_error(
    mongo: MongoDBResource, call: Any, fragment: str
) -> None:
    with pytest.raises(XResourceValidationError, match=fragment):
        await call(mongo)


async def test_unencodable_document(mongo: MongoDBResource, unique_name: str) -> None:
    with pytest.raises(XResourceValidationError):
        await mongo.insert_many(unique_name, [{"a": object()}])
    assert await mongo.count(unique_name) == 0


async def test_collection_handle_needs_a_connection(mongodb_url: str) -> None:
    resource = make(mongodb_url, "xres_unused")
    with pytest.raises(XResourceConnectionError, match="not connected"):
        resource.collection("c")
    assert resource.get_pool_stats().size == 0


async def test_password_is_never_shown(mongodb_url: str) -> None:
    url = (
        f"mongodb://app:{SECRET}@127.0.0.1:27017/shop?replicaSet=rs0&authSource=admin"
        f"&tlsCertificateKeyFilePassword={SECRET}x"
    )
    resource = ResourceFactory.from_url(url)
    assert isinstance(resource, MongoDBResource)
    assert resource.database == "shop"
    assert resource.user == "app"
    assert resource.password is not None
    assert resource.password.get_secret_value() == SECRET
    assert resource.connection_string == (
        "mongodb://127.0.0.1:27017/shop?replicaSet=rs0&authSource=admin"
    )
    for text in (
        repr(resource),
        str(resource),
        repr(resource.get_metadata()),
        resource.model_dump_json(),
    ):
        assert SECRET not in text
    kwargs = resource._client_kwargs()
    assert kwargs["password"] == SECRET
    assert kwargs["tlsCertificateKeyFilePassword"] == SECRET + "x"


def test_secret_client_options_are_kept_masked() -> None:
    resource = ResourceFactory.create(
        "mongodb",
        connection_string="mongodb://h/db",
        options={"appname": "svc", "tlsCertificateKeyFilePassword": SECRET},
    )
    assert isinstance(resource, MongoDBResource)
    assert resource.options == {"appname": "svc"}
    assert SECRET not in repr(resource)
    assert SECRET not in repr(resource.get_metadata())
    assert resource._client_kwargs()["tlsCertificateKeyFilePassword"] == SECRET
    with pytest.raises(ValidationError, match="looks secret"):
        resource.options = {"password": SECRET}


@pytest.mark.parametrize(
    ("url", "database", "clean"),
    [
        (
            "mongodb://127.0.0.1:27017/?replicaSet=rs0&database=app",
            "app",
            "mongodb://127.0.0.1:27017/?replicaSet=rs0",
        ),
        (
            "mongodb://h1:27017,h2:27018/inv?replicaSet=rs0",
            "inv",
            "mongodb://h1:27017,h2:27018/inv?replicaSet=rs0",
        ),
        (
            "mongodb+srv://u:pw@cluster0.example.net/prod?retryWrites=true",
            "prod",
            "mongodb+srv://cluster0.example.net/prod?retryWrites=true",
        ),
    ],
)
def test_params_from_url(url: str, database: str, clean: str) -> None:
    resource = ResourceFactory.from_url(url)
    assert isinstance(resource, MongoDBResource)
    assert (resource.database, resource.connection_string) == (database, clean)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"connection_string": "mongodb://127.0.0.1:27017"}, "no database given"),
        ({"connection_string": "postgresql://h/db"}, "mongodb://"),
        ({"connection_string": "mongodb://h/db\n"}, "control characters"),
        ({"connection_string": "mongodb://h/", "database": "a/b"}, "not a valid MongoDB database"),
        (
            {"connection_string": "mongodb://h/db", "pool_min_size": 5, "pool_max_size": 2},
            "exceeds pool_max_size",
        ),
        ({"connection_string": 27017}, "must be a string"),
    ],
)
def test_bad_parameters(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=fragment):
        ResourceFactory.create("mongodb", **kwargs)


async def test_bad_client_option_is_a_configuration_error(mongodb_url: str) -> None:
    resource = make(mongodb_url, "x", options={"heartbeatFrequencyMS": "often"})
    with pytest.raises(XResourceConfigurationError, match="invalid MongoDB options"):
        await resource.connect()
    # A pool option is a field of the resource: refused when the resource is built.
    with pytest.raises(XResourceConfigurationError, match="maxPoolSize must be a number"):
        make(mongodb_url, "x", options={"maxPoolSize": "many"})


async def test_metadata_and_pool_stats(mongo: MongoDBResource, unique_name: str) -> None:
    await mongo.insert_many(unique_name, [{"a": 1}])
    meta = mongo.get_metadata()
    assert meta["type"] == "mongodb"
    assert meta["database"] == mongo.database
    assert meta["connected"] is True
    assert meta["pool"]["size"] >= 1
    assert meta["pool"]["in_use"] == 0
    assert meta["pool"]["max_size"] == mongo.pool_max_size


@pytest.mark.parametrize("name", ["sample_mflix", "sample_analytics", "mongodb_json_files"])
async def test_load_samples(mongodb_url: str, datasets: Path, name: str) -> None:
    database = f"xres_{name}_{uuid.uuid4().hex[:8]}"
    resource = make(mongodb_url, database)
    try:
        counts = await load_mongo_sample(resource, name, database=database, root=datasets)
        assert counts == expected_counts(name, datasets)
        for collection, count in counts.items():
            assert await resource.count(collection) == count
        # idempotent: a second load changes nothing
        assert await load_mongo_sample(resource, name, database=database, root=datasets) == counts
        assert sorted(await resource.list_collections_or_tables()) == sorted(counts)
        if name == "sample_mflix":
            assert counts == {"sessions": 1, "theaters": 1564, "users": 185}
            info = await resource.collection("users").index_information()
            assert info["email_1"]["unique"] is True
            user = await resource.fetch_one("users", {}, {"_id": 0})
            assert user is not None
            with pytest.raises(XResourceIntegrityError):
                await resource.insert_many("users", [user])  # email_1 is unique
            theater = await resource.fetch_one("theaters", {"theaterId": 1000})
            assert theater is not None
            assert theater["location"]["geo"]["type"] == "Point"
        if name == "sample_analytics":
            assert counts == {"accounts": 1746, "customers": 500}
            customer = await resource.fetch_one("customers", {})
            assert customer is not None
            assert customer["birthdate"].tzinfo is not None  # a real datetime, not {"$date"}
        if name == "mongodb_json_files":
            book = await resource.fetch_one("books", {"publishedDate": {"$exists": True}})
            assert book is not None
            assert hasattr(book["publishedDate"], "year")
    finally:
        await drop_loaded(resource, database)
        await resource.disconnect()


async def test_load_sample_with_a_raw_client(mongodb_url: str, datasets: Path) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
    database = f"xres_raw_{uuid.uuid4().hex[:8]}"
    try:
        counts = await load_mongo_sample(client, "sample_mflix", database=database, root=datasets)
        assert sum(counts.values()) == 1750
    finally:
        await client.drop_database(database)
        await client.close()


async def test_load_sample_refuses_unknown_names(mongodb_url: str) -> None:
    with pytest.raises(ValueError, match="unknown MongoDB sample"):
        await load_mongo_sample(make(mongodb_url, "x"), "sample_nope")
    with pytest.raises(TypeError, match="AsyncMongoClient"):
        await load_mongo_sample(object(), "sample_mflix")


def test_secret_connection_string_and_assignment() -> None:
    resource = ResourceFactory.create(
        "mongodb", connection_string=SecretStr(f"mongodb://app:{SECRET}@h:27017/inv")
    )
    assert isinstance(resource, MongoDBResource)
    assert resource.connection_string == "mongodb://h:27017/inv"
    assert resource.password is not None
    assert resource.password.get_secret_value() == SECRET
    # assigning a URI with a password later is refused, without echoing it
    with pytest.raises(ValidationError) as info:
        resource.connection_string = f"mongodb://app:{SECRET}2@h:27017/inv"
    assert SECRET not in str(info.value)
    assert resource.connection_string == "mongodb://h:27017/inv"
