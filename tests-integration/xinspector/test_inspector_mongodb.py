"""xinspector against a real MongoDB: the public sample datasets, server-side sampling and
statistics, indexes, validators, empty collections and a dead server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mongo_samples import load_mongo_sample

from xinspector import (
    XInspector,
    XInspectorConnectionError,
    XInspectorNotFoundError,
    generate_model,
    model_to_source,
)
from xresource import MongoDBResource, ResourceFactory


@pytest.fixture
async def mongo(mongodb_url: str) -> AsyncIterator[MongoDBResource]:
    resource = ResourceFactory.from_url(mongodb_url, database="xinspector_tests")
    assert isinstance(resource, MongoDBResource)
    async with resource:
        yield resource


def _db(url: str, name: str) -> MongoDBResource:
    resource = ResourceFactory.from_url(url, database=name)
    assert isinstance(resource, MongoDBResource)
    return resource


@pytest.mark.parametrize("dataset", ["sample_mflix", "sample_analytics", "mongodb_json_files"])
async def test_every_document_validates(
    mongo: MongoDBResource, mongodb_url: str, dataset: str, datasets: object
) -> None:
    counts = await load_mongo_sample(mongo, dataset)
    async with _db(mongodb_url, dataset) as db:
        # A sample smaller than most collections: the server-side verification must still
        # make every document valid.
        inspector = XInspector(db, sample_size=100)
        for collection, count in counts.items():
            schema = await inspector.discover(collection)
            assert schema.row_estimate == count
            assert schema.primary_key == ["_id"]
            assert any(ix.primary for ix in schema.indexes)
            Model = generate_model(schema)
            documents = await db.fetch_all(collection)
            assert len(documents) == count
            for doc in documents:
                Model.model_validate(doc)
            compile(model_to_source(Model), f"<{collection}>", "exec")


async def test_nested_documents_indexes_and_statistics(
    mongo: MongoDBResource, mongodb_url: str
) -> None:
    await load_mongo_sample(mongo, "sample_mflix")
    async with _db(mongodb_url, "sample_mflix") as db:
        inspector = XInspector(db)
        theaters = await inspector.discover("theaters")
        location = theaters.fields["location"]
        assert location.type == "object"
        assert location.fields is not None
        assert location.fields["address"].fields is not None
        assert "city" in location.fields["address"].fields
        assert ["location.geo"] in [ix.fields for ix in theaters.indexes]
        users = await inspector.discover("users")
        assert any(ix.unique and ix.fields == ["email"] for ix in users.indexes)
        assert users.fields["email"].unique
        result = await inspector.inspect("users")
        assert result.pushdown
        assert result.total_count == 185
        email = result.field_statistics["email"]
        assert email.unique_count == 185
        assert email.pattern == "email"
        assert result.field_statistics["name"].min_length is not None
        preview = await inspector.preview_data(3, "users")
        assert len(preview) == 3


async def test_unions_optional_fields_validator_and_empty(
    mongo: MongoDBResource, unique_name: str
) -> None:
    db = mongo.db
    await db.create_collection(
        unique_name,
        validator={
            "$jsonSchema": {
                "bsonType": "object",
                "required": ["sku"],
                "properties": {
                    "sku": {"bsonType": "string", "maxLength": 12},
                    "status": {"enum": ["new", "sold"]},
                    "declared_only": {"bsonType": ["int", "null"]},
                },
            }
        },
    )
    empty_name = f"{unique_name}_empty"
    await db.create_collection(empty_name)
    try:
        inspector = XInspector(mongo, sample_size=50)
        empty = await inspector.discover(empty_name)
        assert empty.fields == {}
        assert empty.row_estimate == 0
        result = await inspector.inspect(empty_name)
        assert result.total_count == 0
        await mongo.insert_many(
            unique_name,
            [
                {
                    "sku": f"S{i}",
                    "qty": i if i % 2 else f"{i}",
                    "status": "new",
                    "tags": ["a", i],
                    **({"rare": True} if i == 77 else {}),
                }
                for i in range(300)
            ],
        )
        schema = await inspector.discover(unique_name)
        f = schema.fields
        assert f["qty"].type == "int | str"
        assert not f["rare"].required
        assert f["rare"].presence == pytest.approx(1 / 300, abs=1e-6)
        assert f["tags"].type == "list"
        assert f["tags"].items is not None
        assert f["tags"].items.type == "int | str"
        assert f["declared_only"].type == "int"
        assert f["declared_only"].nullable
        assert f["status"].enum == ["new", "sold"]
        assert schema.validator is not None
        Model = generate_model(schema)
        for doc in await mongo.fetch_all(unique_name):
            Model.model_validate(doc)
        stats = (await inspector.inspect(unique_name)).field_statistics
        assert stats["qty"].type_counts == {"int": 150, "str": 150}
        assert stats["qty"].quality.consistency == pytest.approx(0.5)
        assert stats["rare"].null_count == 299
        with pytest.raises(XInspectorNotFoundError, match="available"):
            await inspector.discover(f"{unique_name}_missing")
    finally:
        await db.drop_collection(unique_name)
        await db.drop_collection(empty_name)


async def test_dead_mongodb() -> None:
    dead = ResourceFactory.from_url("mongodb://app:pw-secret@127.0.0.1:9/db", connect_timeout=1)
    with pytest.raises(XInspectorConnectionError) as info:
        await XInspector(dead).discover("users")
    assert "pw-secret" not in str(info.value)
