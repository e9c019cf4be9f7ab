"""Schema drift: alter a real table or collection, sync, see the new model version and its diff."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from xregistry import XRegistry
from xresource import POSTGRESQL, ResourceFactory, SQLDatabaseResource, XResource


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[SQLDatabaseResource]:
    resource = ResourceFactory.from_url(postgres_url)
    assert isinstance(resource, SQLDatabaseResource)
    async with resource:
        yield resource


@pytest.fixture
async def registry() -> AsyncIterator[XRegistry]:
    reg = XRegistry()
    yield reg
    await reg.aclose()


async def test_postgres_table_drift_makes_new_versions(
    pg: SQLDatabaseResource, registry: XRegistry, unique_name: str
) -> None:
    table = POSTGRESQL.quote(unique_name)
    async with pg.transaction() as tx:
        await tx.execute(
            f"CREATE TABLE {table} (id serial PRIMARY KEY, name text NOT NULL, status text)"
        )
        await tx.execute_many(
            f"INSERT INTO {table} (name, status) VALUES ($1, $2)",
            [["a", "open"], ["b", "closed"], ["c", "open"]],
        )
    try:
        registered = await registry.models.register_from_inspector(pg, unique_name)
        v1 = registered.model_class
        assert registered.metadata.version == "1.0.0"
        enriched = registry.get_enriched()
        await enriched.enrich_from_resource(pg, unique_name, auto_refresh=False)

        unchanged = await enriched.sync_with_resource(unique_name, pg)
        assert unchanged.synced is False
        assert unchanged.changes == []
        assert unchanged.new_version == "1.0.0"

        async with pg.transaction() as tx:
            await tx.execute(f"ALTER TABLE {table} ADD COLUMN price numeric(10, 2)")
        added = await enriched.sync_with_resource(unique_name, pg)
        assert added.synced is True
        assert [(c["change"], c["field"]) for c in added.changes] == [("field_added", "price")]
        assert (added.old_version, added.new_version) == ("1.0.0", "1.1.0")
        v2 = registry.models.get(unique_name).model_class
        assert "price" in v2.model_fields
        assert v2.model_validate({"id": 1, "name": "x", "status": None, "price": "9.99"})

        async with pg.transaction() as tx:
            await tx.execute(f"ALTER TABLE {table} DROP COLUMN status")
            await tx.execute(f"ALTER TABLE {table} ALTER COLUMN name DROP NOT NULL")
        removed = await enriched.sync_with_resource(unique_name, pg)
        kinds = {(c["change"], c["field"]) for c in removed.changes}
        assert ("field_removed", "status") in kinds
        assert removed.new_version == "2.0.0"  # a removed field breaks old records

        history = registry.models.history(unique_name)
        assert [(e.from_version, e.to_version) for e in history] == [
            ("1.0.0", "1.1.0"),
            ("1.1.0", "2.0.0"),
        ]
        assert [v.version for v in registry.models.version_history[unique_name]] == [
            "1.0.0",
            "1.1.0",
            "2.0.0",
        ]
        assert registry.models.get_version(unique_name, "1.0.0").model_class is v1
        # The enrichment followed the new schema.
        stats = enriched.get_field_statistics(unique_name, "price")
        assert stats is not None
        assert stats["quality"]["completeness"] == pytest.approx(0.0)
        # Old records reach the new version through a migration hook.
        registry.models.register_migration(
            unique_name,
            "1.0.0",
            "2.0.0",
            lambda r: {k: v for k, v in r.items() if k != "status"} | {"price": None},
        )
        migrated = registry.models.migrate(
            unique_name, {"id": 7, "name": "z", "status": "open"}, "1.0.0"
        )
        assert migrated.model_dump()["price"] is None  # type: ignore[index]
        with pytest.raises(ValidationError):
            v1.model_validate({"id": 1})
    finally:
        async with pg.transaction() as tx:
            await tx.execute(f"DROP TABLE IF EXISTS {table}")


async def test_mongodb_collection_drift(mongodb_url: str, registry: XRegistry) -> None:
    database = f"xreg_drift_{uuid.uuid4().hex[:8]}"
    mongo: XResource = ResourceFactory.create(
        "mongodb", connection_string=mongodb_url, database=database, name="drift"
    )
    await mongo.connect()
    try:
        coll = mongo.collection("orders")  # type: ignore[attr-defined]
        await coll.insert_many([{"sku": f"A{i}", "qty": i} for i in range(20)])
        registered = await registry.models.register_from_inspector(
            mongo, "orders", namespace="shop"
        )
        assert registered.metadata.ns_path == "ns.models.shop.orders"
        await coll.update_many({}, {"$set": {"channel": "web"}})
        result = await registry.get_enriched().sync_with_resource("orders", mongo)
        assert result.synced is True
        assert ("field_added", "channel") in {(c["change"], c["field"]) for c in result.changes}
        assert result.new_version in ("1.1.0", "2.0.0")
        assert "channel" in registry.models.get("orders").model_class.model_fields
    finally:
        await mongo.client.drop_database(database)  # type: ignore[attr-defined]
        await mongo.disconnect()
