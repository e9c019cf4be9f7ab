"""Dynamic models, enrichment, refresh and drift on a real SQLite file (xresource's core driver):
no network, the same code paths as the PostgreSQL and MongoDB integration suites."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from xobj_prototype import XError
from xregistry import (
    ModelSource,
    RegistryNotFoundError,
    RegistryValidationError,
    XRegistry,
)
from xresource import ResourceFactory, SQLDatabaseResource


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[SQLDatabaseResource]:
    resource = ResourceFactory.create("sqlite", path=str(tmp_path / "shop.db"), name="shop")
    assert isinstance(resource, SQLDatabaseResource)
    async with resource:
        async with resource.transaction() as tx:
            await tx.execute(
                "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "category TEXT NOT NULL, price REAL)"
            )
            await tx.execute_many(
                "INSERT INTO products (name, category, price) VALUES (?, ?, ?)",
                [
                    [f"item {i}", ["Books", "Electronics", "Toys"][i % 3], i * 1.5]
                    for i in range(30)
                ],
            )
            await tx.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)")
        yield resource


@pytest.fixture
async def registry() -> AsyncIterator[XRegistry]:
    reg = XRegistry()
    yield reg
    await reg.aclose()


async def test_register_from_inspector(registry: XRegistry, shop: SQLDatabaseResource) -> None:
    registered = await registry.models.register_from_inspector(shop, "products")
    assert registered.metadata.source is ModelSource.DYNAMIC
    assert registered.metadata.name == "products"
    assert registered.metadata.ns_path == "ns.models.dynamic.shop.products"
    assert {"dynamic", "inspector-generated", "sqlite"} <= registered.metadata.tags
    assert registered.metadata.fields_schema["fields"]["category"]["type"] == "str"
    product = registered.model_class.model_validate(
        {"id": 1, "name": "x", "category": "Books", "price": 2.5}
    )
    assert product.model_dump()["category"] == "Books"
    with pytest.raises(XError):
        await registry.models.register_from_inspector(shop, "missing_table")


async def test_enrichment_on_sqlite(registry: XRegistry, shop: SQLDatabaseResource) -> None:
    await registry.models.register_from_inspector(shop, "products")
    enriched = registry.get_enriched()
    enrichment = await enriched.enrich_from_resource(shop, "products", auto_refresh=False)
    assert enrichment.statistics["total_count"] == 30
    assert sorted(enrichment.categorical_fields["category"]) == ["Books", "Electronics", "Toys"]
    created = await enriched.create_with_validation(
        "products", {"id": 99, "name": "new", "category": "Toys", "price": 1}
    )
    assert created.model_dump()["category"] == "Toys"
    with pytest.raises(RegistryValidationError):
        await enriched.create_with_validation(
            "products", {"id": 99, "name": "new", "category": "Food", "price": 1}
        )


async def test_refresh_sees_new_rows_and_survives_failures(
    registry: XRegistry, shop: SQLDatabaseResource
) -> None:
    await registry.models.register_from_inspector(shop, "products")
    enriched = registry.get_enriched()
    await enriched.enrich_from_resource(shop, "products", auto_refresh=True, refresh_interval=0.02)
    async with shop.transaction() as tx:
        await tx.execute("INSERT INTO products (name, category, price) VALUES ('g', 'Games', 1)")
    for _ in range(250):
        if "Games" in enriched.enrichments["products"].categorical_fields.get("category", []):
            break
        await asyncio.sleep(0.02)
    assert "Games" in enriched.enrichments["products"].categorical_fields["category"]
    assert enriched.enrichments["products"].statistics["total_count"] == 31
    async with shop.transaction() as tx:
        await tx.execute("DROP TABLE products")
    for _ in range(250):
        if enriched.enrichments["products"].last_error:
            break
        await asyncio.sleep(0.02)
    stale = enriched.enrichments["products"]
    assert stale.is_live is False
    assert "products" in (stale.last_error or "")
    assert stale.statistics["total_count"] == 31  # the last good data is kept
    task = enriched.refresh_tasks["products"]
    await registry.aclose()
    assert task.done()
    assert enriched.refresh_tasks == {}


async def test_sync_detects_drift(registry: XRegistry, shop: SQLDatabaseResource) -> None:
    await registry.models.register_from_inspector(shop, "products")
    enriched = registry.get_enriched()
    same = await enriched.sync_with_resource("products", shop)
    assert (same.synced, same.new_version) == (False, "1.0.0")
    async with shop.transaction() as tx:
        await tx.execute("ALTER TABLE products ADD COLUMN stock INTEGER")
    added = await enriched.sync_with_resource("products", shop)
    assert added.synced
    assert [(c["change"], c["field"], c["breaking"]) for c in added.changes] == [
        ("field_added", "stock", False)
    ]
    assert added.new_version == "1.1.0"
    async with shop.transaction() as tx:
        await tx.execute("ALTER TABLE products DROP COLUMN price")
    removed = await enriched.sync_with_resource("products", shop)
    assert removed.new_version == "2.0.0"
    assert ("field_removed", "price") in {(c["change"], c["field"]) for c in removed.changes}
    assert [e.to_version for e in registry.models.history("products")] == ["1.1.0", "2.0.0"]
    with pytest.raises(RegistryNotFoundError):
        await enriched.sync_with_resource("nothing", shop)


async def test_discover_reports_each_table(registry: XRegistry, shop: SQLDatabaseResource) -> None:
    enriched = registry.get_enriched()
    result = await enriched.discover_and_register(shop, namespace="shop")
    assert sorted(result.registered) == ["products", "tags"]
    assert result.failed == {}
    # A second discovery finds the same tables unchanged: no conflict, no new version.
    again = await enriched.discover_and_register(shop, namespace="shop")
    assert (again.registered, again.failed, again.updated) == ([], {}, [])
    assert sorted(again.unchanged) == ["products", "tags"]
    replaced = await enriched.discover_and_register(shop, namespace="shop", override=True)
    assert sorted(replaced.registered) == ["products", "tags"]
