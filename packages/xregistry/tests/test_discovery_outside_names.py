"""Discovery registers tables whose names are not ASCII words (``Käufer``, ``order items``,
``заказы``) instead of failing them: a real SQLite file, the specification's
``discover_and_register``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from xregistry import XRegistry
from xresource import ResourceFactory, SQLDatabaseResource


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[SQLDatabaseResource]:
    resource = ResourceFactory.create("sqlite", path=str(tmp_path / "shop.db"), name="Läden 1")
    assert isinstance(resource, SQLDatabaseResource)
    async with resource:
        async with resource.transaction() as tx:
            await tx.execute(
                'CREATE TABLE "Käufer" (id INTEGER PRIMARY KEY, "Straße" TEXT, "naïve col" TEXT)'
            )
            await tx.execute("INSERT INTO \"Käufer\" VALUES (1, 'Hauptstraße 1 ', 'x')")
            await tx.execute('CREATE TABLE "order items" (id INTEGER PRIMARY KEY, qty INTEGER)')
            await tx.execute('CREATE TABLE "заказы" (id INTEGER PRIMARY KEY, "сумма" REAL)')
        yield resource


async def test_outside_table_names_are_registered(shop: SQLDatabaseResource) -> None:
    registry = XRegistry()
    try:
        found = await registry.get_enriched().discover_and_register(
            resource=shop, namespace="dynamic"
        )
        assert found.failed == {}
        assert sorted(found) == sorted(["Käufer", "order_items", "заказы"])
        buyer = registry.models.get("Käufer")
        assert buyer.metadata.ns_path == "ns.models.dynamic.Käufer"
        assert buyer.metadata.collection == "Käufer"
        row = buyer.model_class.model_validate({"id": 1, "Straße": "Hauptstraße 1 "})
        assert row.model_dump(by_alias=True)["Straße"] == "Hauptstraße 1 "
        assert registry.models.get("order_items").metadata.collection == "order items"
        # A glob over the namespace finds them by their own letters.
        assert "ns.models.dynamic.Käufer" in registry.find("ns.models.dynamic.K*")
    finally:
        await registry.aclose()
