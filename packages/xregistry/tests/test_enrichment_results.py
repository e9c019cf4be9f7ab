"""The results of ``discover_and_register`` and ``sync_with_resource`` read as the specification's
list and dict (``len(discovered)``, ``sync_result["synced"]``...), on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from xregistry import XRegistry
from xregistry.enrichment import DiscoveryResult, SyncResult
from xresource import ResourceFactory, SQLDatabaseResource


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[SQLDatabaseResource]:
    resource = ResourceFactory.create("sqlite", path=str(tmp_path / "shop.db"), name="shop")
    assert isinstance(resource, SQLDatabaseResource)
    async with resource:
        async with resource.transaction() as tx:
            await tx.execute(
                "CREATE TABLE Product (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "category TEXT NOT NULL, price REAL)"
            )
            await tx.execute_many(
                "INSERT INTO Product (name, category, price) VALUES (?, ?, ?)",
                [[f"p{i}", ["Electronics", "Books"][i % 2], i + 0.5] for i in range(12)],
            )
            await tx.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, nom TEXT)")
        yield resource


@pytest.fixture
async def registry() -> AsyncIterator[XRegistry]:
    reg = XRegistry()
    yield reg
    await reg.aclose()


async def test_discovered_reads_as_the_spec_list(
    registry: XRegistry, shop: SQLDatabaseResource
) -> None:
    enriched = registry.get_enriched()
    # The specification: discovered = await registry.discover_and_register(resource=...,
    # namespace="dynamic"); print(f"Registered {len(discovered)} dynamic models")
    discovered = await enriched.discover_and_register(resource=shop, namespace="dynamic")
    assert isinstance(discovered, DiscoveryResult)
    assert len(discovered) == 2
    names = sorted(discovered)
    assert names == sorted(["Product", "customers"])
    assert sorted([discovered[0], discovered[1]]) == names
    assert discovered[-1] == discovered.registered[-1]
    assert discovered[0:2] == discovered.registered
    assert "Product" in discovered
    assert "Orders" not in discovered
    assert f"{len(discovered)} dynamic models" == "2 dynamic models"
    # The attributes the package had before stay.
    assert discovered.failed == {}
    with pytest.raises(IndexError):
        discovered[2]
    with pytest.raises(TypeError, match="indexed by position"):
        discovered["Product"]  # type: ignore[call-overload]
    # Each name is a registered model.
    for name in discovered:
        assert registry.models.get(name).metadata.name == name


async def test_failed_tables_are_not_counted(
    registry: XRegistry, shop: SQLDatabaseResource
) -> None:
    # A model of the application already holds both names: discovery cannot register the tables
    # under them, nothing registers, both tables fail, and like an empty list the result is
    # false while still saying why.
    class Mine(BaseModel):
        code: str

    registry.models.register(Mine, name="Product")
    registry.models.register(Mine, name="customers")
    enriched = registry.get_enriched()
    again = await enriched.discover_and_register(shop, namespace="dynamic")
    assert len(again) == 0
    assert not again
    assert list(again) == []
    assert set(again.failed) == {"Product", "customers"}
    assert all("RegistryConflictError" in m for m in again.failed.values())
    assert again.model_dump()["failed"].keys() == {"Product", "customers"}
    # The application's models are left as they were.
    assert registry.models.get("customers").model_class is Mine


async def test_discovering_again_updates_instead_of_conflicting(
    registry: XRegistry, shop: SQLDatabaseResource
) -> None:
    enriched = registry.get_enriched()
    await enriched.discover_and_register(shop, namespace="dynamic")
    again = await enriched.discover_and_register(shop, namespace="dynamic")
    assert (again.registered, again.failed, again.updated) == ([], {}, [])
    assert sorted(again.unchanged) == ["Product", "customers"]
    async with shop.transaction() as tx:
        await tx.execute("ALTER TABLE customers ADD COLUMN ville TEXT")
    third = await enriched.discover_and_register(shop, namespace="dynamic")
    assert (third.updated, third.unchanged, third.failed) == (["customers"], ["Product"], {})
    assert "ville" in registry.models.get("customers").model_class.model_fields


async def test_sync_result_reads_as_the_spec_dict(
    registry: XRegistry, shop: SQLDatabaseResource
) -> None:
    await registry.models.register_from_inspector(shop, "Product")
    enriched = registry.get_enriched()
    # The specification: sync_result = await enriched_registry.sync_with_resource("Product",
    # mongo_resource); if sync_result["synced"]: ... sync_result['new_version'] ...
    sync_result = await enriched.sync_with_resource("Product", shop)
    assert isinstance(sync_result, SyncResult)
    assert sync_result["synced"] is False
    assert sync_result["changes"] == []
    assert sync_result["new_version"] == "1.0.0"

    async with shop.transaction() as tx:
        await tx.execute("ALTER TABLE Product ADD COLUMN stock INTEGER")
    sync_result = await enriched.sync_with_resource("Product", shop)
    assert sync_result["synced"] is True
    assert sync_result["new_version"] == "1.1.0"
    assert [(c["change"], c["field"]) for c in sync_result["changes"]] == [("field_added", "stock")]
    # A dict's protocol: len, in, keys, items, get, dict().
    assert len(sync_result) == 5
    assert {"synced", "changes", "new_version"} <= set(sync_result.keys())
    assert "synced" in sync_result
    assert "bogus" not in sync_result
    as_dict = dict(sync_result)
    assert as_dict["old_version"] == "1.0.0"
    assert as_dict["model_name"] == "Product"
    assert dict(sync_result.items()) == as_dict
    assert list(sync_result) == list(sync_result.keys())
    assert sync_result.values()[list(sync_result.keys()).index("synced")] is True
    assert sync_result.get("bogus", "default") == "default"
    with pytest.raises(KeyError, match="keys: synced"):
        sync_result["bogus"]
    # Attributes and model_dump() are unchanged.
    assert sync_result.synced
    assert sync_result.new_version == "1.1.0"
    assert sync_result.model_dump()["old_version"] == "1.0.0"


def test_results_built_by_hand() -> None:
    empty = DiscoveryResult()
    assert (len(empty), list(empty), bool(empty)) == (0, [], False)
    result = SyncResult(model_name="m", synced=False, old_version="1.0.0", new_version="1.0.0")
    assert result.model_dump() == {
        "model_name": "m",
        "synced": False,
        "changes": [],
        "old_version": "1.0.0",
        "new_version": "1.0.0",
    }
    assert result.model_copy(update={"synced": True})["synced"] is True
