"""xregistry enrichment against real data: Chinook in PostgreSQL, the mflix sample in MongoDB.

Discovery registers a model per table, enrichment brings live statistics, categorical values
and quality scores, creation is validated against the live categories, refresh tasks run and
stop cleanly, and bad input (unknown tables, a dead server, invalid values) fails clearly.
"""

from __future__ import annotations

import asyncio
import sys
import types
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from chinook import CHINOOK_TABLES, load_chinook
from mongo_samples import drop_loaded, load_mongo_sample

from xobj_prototype import XError
from xregistry import (
    EnrichedRegistry,
    ModelGate,
    ModelSource,
    Principal,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
    XRegistry,
    XRegistryError,
)
from xresource import ResourceFactory, SQLDatabaseResource, XResource


@pytest.fixture
async def chinook(postgres_url: str, datasets: Path) -> AsyncIterator[SQLDatabaseResource]:
    """The Chinook database (schema ``chinook`` of PostgreSQL), loaded once, read only here."""
    pg = ResourceFactory.from_url(postgres_url)
    assert isinstance(pg, SQLDatabaseResource)
    async with pg:
        resource = await load_chinook(pg, "postgresql")
    async with resource:
        yield resource


@pytest.fixture
async def mflix(mongodb_url: str, datasets: Path) -> AsyncIterator[XResource]:
    """The mflix sample in a database of its own, dropped afterwards."""
    database = f"xreg_mflix_{uuid.uuid4().hex[:8]}"
    resource = ResourceFactory.create(
        "mongodb", connection_string=mongodb_url, database=database, name="mflix"
    )
    await resource.connect()
    try:
        await load_mongo_sample(resource, "sample_mflix", database=database, root=datasets)
        yield resource
    finally:
        await drop_loaded(resource, database)
        await resource.disconnect()


@pytest.fixture
async def registry() -> AsyncIterator[XRegistry]:
    reg = XRegistry()
    yield reg
    await reg.aclose()


async def test_discover_and_register_every_chinook_table(
    registry: XRegistry, chinook: SQLDatabaseResource
) -> None:
    enriched = registry.get_enriched()
    result = await enriched.discover_and_register(chinook, namespace="chinook")
    assert result.failed == {}
    assert sorted(result.registered) == sorted(CHINOOK_TABLES["postgresql"])
    for table, count in CHINOOK_TABLES["postgresql"].items():
        registered = registry.models.get(table)
        assert registered.metadata.source is ModelSource.DYNAMIC
        assert registered.metadata.ns_path == f"ns.models.chinook.{table}"
        assert {"dynamic", "inspector-generated", "postgresql"} <= registered.metadata.tags
        assert registered.metadata.collection == table
        assert enriched.enrichments[table].statistics["total_count"] == count
    assert len(registry.models.find_by_namespace("ns.models.chinook.*")) == 11
    # The generated models validate real rows.
    sample = enriched.enrichments["album"].sample_data[0]
    album = registry.models.get("album").model_class.model_validate(sample)
    assert album.model_dump()["title"] == sample["title"]  # type: ignore[index]
    assert enriched.refresh_tasks == {}  # discovery does not start refresh tasks by default


async def test_enrichment_validation_suggestions_and_statistics(
    registry: XRegistry, chinook: SQLDatabaseResource
) -> None:
    await registry.models.register_from_inspector(
        chinook,
        "customer",
        namespace="crm",
        permissions={"sales": ["create", "read"], "*": ["read"]},
    )
    enriched = registry.get_enriched()
    enrichment = await enriched.enrich_from_resource(chinook, "customer", auto_refresh=False)
    assert enrichment.statistics["total_count"] == 59
    countries = enrichment.categorical_fields["country"]
    assert "Brazil" in countries
    assert len(countries) == 24
    assert await enriched.suggest_values("customer", "country") == countries
    emails = await enriched.suggest_values("customer", "email")
    assert emails is not None
    assert all("@" in e for e in emails)
    assert await enriched.suggest_values("nothing", "email") is None

    stats = enriched.get_field_statistics("customer", "email")
    assert stats is not None
    assert stats["quality"]["completeness"] == pytest.approx(1.0)
    assert stats["quality"]["uniqueness"] == pytest.approx(1.0)
    company = enriched.get_field_statistics("customer", "company")
    assert company is not None
    assert company["quality"]["completeness"] == pytest.approx(10 / 59, abs=0.01)
    assert enriched.get_field_statistics("customer", "nope") is None

    row = dict(enrichment.sample_data[0])
    created = await enriched.create_with_validation(
        "customer", {**row, "country": "Brazil"}, principal=Principal(roles={"sales"})
    )
    assert created.model_dump()["country"] == "Brazil"  # type: ignore[index]
    with pytest.raises(RegistryValidationError) as exc:
        await enriched.create_with_validation("customer", {**row, "country": "Narnia"})
    assert "Invalid value for country" in str(exc.value)
    assert "'Brazil'" in str(exc.value)
    # Without the live check the model's own validation still applies.
    assert await enriched.create_with_validation(
        "customer", {**row, "country": "Narnia"}, validate_against_resource=False
    )
    with pytest.raises(RegistryValidationError):
        await enriched.create_with_validation("customer", {**row, "customer_id": "x"})
    with pytest.raises(RegistryPermissionError):
        await enriched.create_with_validation("customer", row, principal="guest")
    with pytest.raises(RegistryNotFoundError):
        await enriched.create_with_validation("Customr", row)


async def test_refresh_tasks_run_and_stop_cleanly(
    registry: XRegistry, chinook: SQLDatabaseResource
) -> None:
    enriched = registry.get_enriched()
    await registry.models.register_from_inspector(chinook, "genre")
    await enriched.enrich_from_resource(chinook, "genre", auto_refresh=True, refresh_interval=0.05)
    task = enriched.refresh_tasks["genre"]
    for _ in range(200):
        if enriched.enrichments["genre"].refresh_count >= 2:
            break
        await asyncio.sleep(0.05)
    assert enriched.enrichments["genre"].refresh_count >= 2
    assert enriched.enrichments["genre"].is_live
    assert await enriched.stop_refresh("genre") is True
    assert task.done()
    assert await enriched.stop_refresh("genre") is False
    await enriched.enrich_from_resource(chinook, "genre", auto_refresh=True, refresh_interval=0.05)
    running = list(enriched.refresh_tasks.values())
    await enriched.aclose()
    assert all(t.done() for t in running)
    assert enriched.refresh_tasks == {}
    with pytest.raises(XRegistryError):
        await enriched.enrich_from_resource(chinook, "genre")


async def test_mongodb_enrichment_masks_secrets(registry: XRegistry, mflix: XResource) -> None:
    enriched = registry.get_enriched()
    result = await enriched.discover_and_register(mflix)
    assert sorted(result.registered) == ["sessions", "theaters", "users"]
    assert result.failed == {}
    users = enriched.enrichments["users"]
    assert users.statistics["total_count"] == 185
    assert users.sample_data
    assert all(r.get("password") in (None, "**********") for r in users.sample_data)
    assert "$2b$" not in str(users.model_dump())
    theaters = registry.models.get("theaters")
    assert theaters.metadata.ns_path == "ns.models.discovered.mflix.theaters"
    assert enriched.enrichments["theaters"].statistics["total_count"] == 1564
    ui = theaters.metadata.ui_schema
    assert ui is not None
    assert ui["fields"]["location"]["widget"] == "fieldset"


async def test_enrichment_finds_the_matching_model(
    registry: XRegistry, chinook: SQLDatabaseResource
) -> None:
    await registry.models.register_from_inspector(chinook, "media_type", name="MediaKind")
    enriched = EnrichedRegistry(registry.models, registry.types, registry.functions)
    try:
        enrichment = await enriched.enrich_from_resource(
            chinook, collection="media_type", auto_refresh=False
        )
        assert enrichment.model_name == "MediaKind"
        assert enrichment.statistics["total_count"] == 5
    finally:
        await enriched.aclose()


async def test_gate_registers_and_exports_dynamic_models(
    registry: XRegistry, chinook: SQLDatabaseResource
) -> None:
    name = f"gate_models_{uuid.uuid4().hex[:8]}"
    module = types.ModuleType(name)
    module.__path__ = []  # a package with no modules: only dynamic models
    module.__all__ = []  # type: ignore[attr-defined]
    sys.modules[name] = module
    try:
        gate = ModelGate(name, registry)
        model = await gate.register_dynamic_model(chinook, "artist", auto_export=True)
        assert module.artist is model  # type: ignore[attr-defined]
        assert "artist" in module.__all__  # type: ignore[attr-defined]
        assert gate.get_model("artist") is model
        assert gate.list_models("dynamic") == ["artist"]
    finally:
        del sys.modules[name]


async def test_bad_input_fails_clearly(registry: XRegistry, chinook: SQLDatabaseResource) -> None:
    enriched = registry.get_enriched()
    with pytest.raises(XError) as exc:
        await enriched.enrich_from_resource(chinook, "no_such_table", auto_refresh=False)
    assert "no_such_table" in str(exc.value)
    assert "no_such_table" not in enriched.enrichments
    with pytest.raises(XError):
        await registry.models.register_from_inspector(chinook, "no_such_table")
    assert "no_such_table" not in registry.models.models
    with pytest.raises(RegistryNotFoundError):
        await enriched.sync_with_resource("no_such_model", chinook)

    dead = ResourceFactory.from_url(
        "postgresql://postgres:hunter2@127.0.0.1:1/test", connect_timeout=1
    )
    with pytest.raises(XError) as dead_exc:
        await enriched.enrich_from_resource(dead, "album", auto_refresh=False)
    assert "hunter2" not in str(dead_exc.value)
    assert enriched.enrichments == {}
