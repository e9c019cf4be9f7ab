"""The specification's reading of ``discover_and_register`` (a list of model names) and
``sync_with_resource`` (a dict) against PostgreSQL, in a schema of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from xregistry import XRegistry
from xresource import POSTGRESQL, ResourceFactory, SQLDatabaseResource


@pytest.fixture
async def shop(postgres_url: str) -> AsyncIterator[SQLDatabaseResource]:
    """A resource on a fresh schema holding ``products`` and ``orders``; dropped afterwards."""
    schema = f"xreg_results_{uuid.uuid4().hex[:8]}"
    quoted = POSTGRESQL.quote(schema)
    admin = ResourceFactory.from_url(postgres_url)
    assert isinstance(admin, SQLDatabaseResource)
    async with admin:
        async with admin.transaction() as tx:
            await tx.execute(f"CREATE SCHEMA {quoted}")
            await tx.execute(
                f"CREATE TABLE {quoted}.products (id serial PRIMARY KEY, name text NOT NULL, "
                "category text NOT NULL, price numeric(10, 2))"
            )
            await tx.execute_many(
                f"INSERT INTO {quoted}.products (name, category, price) VALUES ($1, $2, $3)",
                [[f"p{i}", ["Electronics", "Books"][i % 2], i + 0.5] for i in range(10)],
            )
            await tx.execute(
                f"CREATE TABLE {quoted}.orders (id serial PRIMARY KEY, product_id int, qty int)"
            )
        params: dict[str, Any] = admin.model_dump(exclude={"metadata", "name"})
        resource = type(admin)(**{**params, "name": "shop", "schema_name": schema})
        try:
            async with resource:
                yield resource
        finally:
            async with admin.transaction() as tx:
                await tx.execute(f"DROP SCHEMA {quoted} CASCADE")


@pytest.fixture
async def registry() -> AsyncIterator[XRegistry]:
    reg = XRegistry()
    yield reg
    await reg.aclose()


async def test_spec_reading_of_discovery_and_sync_on_postgres(
    registry: XRegistry, shop: SQLDatabaseResource
) -> None:
    enriched = registry.get_enriched()
    discovered = await enriched.discover_and_register(resource=shop, namespace="dynamic")
    assert len(discovered) == 2
    assert sorted(discovered) == ["orders", "products"]
    assert {discovered[0], discovered[1]} == {"orders", "products"}
    assert "products" in discovered
    assert discovered.failed == {}
    assert enriched.enrichments["products"].statistics["total_count"] == 10

    sync_result = await enriched.sync_with_resource("products", shop)
    assert sync_result["synced"] is False
    assert sync_result["new_version"] == "1.0.0"

    async with shop.transaction() as tx:
        await tx.execute("ALTER TABLE products ADD COLUMN stock integer")
    sync_result = await enriched.sync_with_resource("products", shop)
    if not sync_result["synced"]:
        pytest.fail("the added column was not seen as drift")
    assert sync_result["new_version"] == "1.1.0"
    assert [(c["change"], c["field"]) for c in sync_result["changes"]] == [("field_added", "stock")]
    assert len(sync_result) == len(dict(sync_result)) == 5
    assert registry.models.get("products").metadata.version == "1.1.0"
