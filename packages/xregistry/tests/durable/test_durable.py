"""DurableRegistry on SQLite files: versions kept across "restarts" (a new registry on the same
store), drift, registration from JSON schemas with compatibility checks, a second instance
following the first, the audit trail written; and the same calls without a store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from xregistry import XRegistry
from xregistry.durable import DurableRegistry
from xregistry.errors import RegistryConflictError, RegistryValidationError
from xregistry.permissions import Principal
from xregistry.store import RegistryStore

ADMIN = Principal(id="ada", roles=frozenset({"admin"}))
ALL = ["create", "read", "update", "delete", "list"]


def schema(**fields: tuple[str, bool]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, (kind, _) in fields.items()},
        "required": [name for name, (_, required) in fields.items() if required],
    }


class Kunde(BaseModel):
    id: int
    name: str


class KundeV2(BaseModel):
    id: int
    name: str
    email: str | None = None


Opener = Callable[[], Any]


@pytest.fixture
async def open_durable(tmp_path: Path) -> AsyncIterator[Opener]:
    """Open a DurableRegistry on the test's store file (each call: a fresh "process")."""
    opened: list[DurableRegistry] = []

    async def opener() -> DurableRegistry:
        registry = XRegistry()
        registry.models.config.default_permissions = {"*": ["read", "list"], "admin": ALL}
        store = RegistryStore.from_url(f"sqlite:///{tmp_path / 'registry.db'}", prefix="u_")
        durable = DurableRegistry(registry, store, poll_interval=0.05)
        await durable.open()
        opened.append(durable)
        return durable

    yield opener
    for durable in opened:
        await durable.aclose()


async def test_versions_survive_a_restart_and_a_code_change_is_the_next_version(
    open_durable: Opener,
) -> None:
    first = await open_durable()
    first.registry.models.register(Kunde, name="kunde", namespace="shop")
    assert await first.load() == {}
    assert [(v.version, v.source) for v in await first.history("kunde")] == [("1.0.0", "code")]
    await first.aclose()

    second = await open_durable()
    second.registry.models.register(Kunde, name="kunde", namespace="shop")
    await second.load()
    assert [v.version for v in await second.history("kunde")] == ["1.0.0"]
    await second.aclose()

    third = await open_durable()
    third.registry.models.register(KundeV2, name="kunde", namespace="shop")  # 1.0.0 in memory
    await third.load()
    history = await third.history("kunde")
    assert [(v.version, v.source) for v in history] == [("1.0.0", "code"), ("1.1.0", "drift")]
    assert [c["field"] for c in history[-1].changes] == ["email"]
    assert third.registry.models.get("kunde").metadata.version == "1.1.0"  # adopted
    assert third.store is not None
    audit = await third.store.audit(name="kunde")
    versions = [e["details"].get("version") for e in audit if "fingerprint" in e["details"]]
    assert versions == ["1.0.0", "1.1.0"]


async def test_registration_from_a_schema_checks_the_mode(open_durable: Opener) -> None:
    durable = await open_durable()
    await durable.load()
    v1 = schema(id=("integer", True), name=("string", True))
    registered, created = await durable.register_schema("bestellung", v1, principal=ADMIN)
    assert (registered.metadata.version, created) == ("1.0.0", True)
    _, created = await durable.register_schema("bestellung", v1, principal=ADMIN)
    assert created is False

    breaking = schema(id=("integer", True), name=("string", True), menge=("integer", True))
    with pytest.raises(RegistryConflictError, match="menge") as info:
        await durable.register_schema("bestellung", breaking, principal=ADMIN)
    assert [c["field"] for c in info.value.details["breaking"]] == ["menge"]
    assert [v.version for v in await durable.history("bestellung")] == ["1.0.0"]

    # Forward allows what backward refused (a new required field), refuses a removal.
    await durable.set_compatibility("bestellung", "forward", principal=ADMIN)
    registered, _ = await durable.register_schema("bestellung", breaking, principal=ADMIN)
    assert registered.metadata.version == "2.0.0"
    with pytest.raises(RegistryConflictError, match="name"):
        await durable.register_schema(
            "bestellung", schema(id=("integer", True), menge=("integer", True)), principal=ADMIN
        )
    with pytest.raises(RegistryValidationError):
        await durable.register_schema("kaputt", {"type": "object", "properties": 3})


async def test_a_second_instance_follows_the_first(open_durable: Opener) -> None:
    a = await open_durable()
    b = await open_durable()
    await a.load()
    await b.load()
    await a.register_schema("artikel", schema(sku=("string", True)), principal=ADMIN)
    assert await b.follower.poll() == ["artikel"]
    assert b.registry.models.get("artikel").metadata.version == "1.0.0"
    await a.register_schema(
        "artikel", schema(sku=("string", True), preis=("number", False)), principal=ADMIN
    )
    await a.set_compatibility("artikel", "full", principal=ADMIN)
    await b.follower.poll()
    model = b.registry.models.get("artikel")
    assert model.metadata.version == "1.1.0"
    assert "preis" in model.model_class.model_fields
    assert b.registry.models.compatibility_of("artikel").value == "full"
    assert await b.follower.poll() == []  # nothing new

    # A restart of B: the API-registered model comes back from the store.
    c = await open_durable()
    await c.load()
    assert c.registry.models.get("artikel").metadata.version == "1.1.0"
    assert c.registry.models.compatibility_of("artikel").value == "full"


async def test_without_a_store_the_history_is_the_memory() -> None:
    registry = XRegistry()
    durable = DurableRegistry(registry)
    await durable.open()
    assert await durable.load() == {}
    registry.models.register(Kunde, name="kunde")
    registry.models.update_model("kunde", KundeV2)
    assert [(v.version, v.source) for v in await durable.history("kunde")] == [
        ("1.0.0", "code"),
        ("1.1.0", "code"),
    ]
    _, created = await durable.register_schema("neu", schema(a=("string", True)))
    assert created
    with pytest.raises(RegistryConflictError):
        await durable.register_schema("neu", schema(a=("integer", True)))
    await durable.aclose()


def test_a_poll_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        DurableRegistry(XRegistry(), poll_interval=0)


async def test_discovering_again_versions_a_changed_table(
    open_durable: Opener, tmp_path: Path
) -> None:
    import sqlite3

    from xresource import ResourceFactory

    source = tmp_path / "quelle.db"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE waren (id INTEGER PRIMARY KEY, titel TEXT NOT NULL)")
        db.execute("CREATE TABLE lager (id INTEGER PRIMARY KEY, ort TEXT)")
        db.executemany("INSERT INTO waren VALUES (?, ?)", [(1, "Zoë ✓"), (2, "")])
    resource = ResourceFactory.from_url(f"sqlite:///{source}", name="quelle")
    durable = await open_durable()
    await durable.load()
    try:
        first = await durable.discover(resource, "quelle", enrich=False)
        assert sorted(first.registered) == ["lager", "waren"]
        with sqlite3.connect(source) as db:
            db.execute("ALTER TABLE waren ADD COLUMN preis NUMERIC")
        again = await durable.discover(resource, "quelle", enrich=False)
        assert (again.registered, again.failed) == ([], {})
        assert (again.updated, again.unchanged) == (["waren"], ["lager"])
        history = await durable.history("waren")
        assert [(v.version, v.source) for v in history] == [
            ("1.0.0", "discovery"),
            ("1.1.0", "discovery"),
        ]
        assert [c["field"] for c in history[-1].changes] == ["preis"]
        assert [v.version for v in await durable.history("lager")] == ["1.0.0"]
    finally:
        await resource.disconnect()


async def test_enrichment_and_catalog_are_written_and_come_back(open_durable: Opener) -> None:
    from xregistry.enrichment import ModelEnrichment

    first = await open_durable()
    first.registry.models.register(Kunde, name="kunde")

    @first.registry.functions.register(namespace="mathe")
    def addiere(a: int, b: int) -> int:
        """Summe."""
        return a + b

    await first.load()
    enriched = first.registry.get_enriched()
    enriched.enrichments["kunde"] = ModelEnrichment(
        model_name="kunde",
        resource_name="quelle",
        statistics={"total_count": 2},
        sample_data=[{"id": 1, "name": "Zoë"}],
    )
    await first.follower.flush()
    assert first.store is not None
    assert (await first.store.enrichments())["kunde"]["sample_data"] == [{"id": 1, "name": "Zoë"}]
    assert "addiere" in await first.store.catalog("functions")
    await first.aclose()

    second = await open_durable()
    second.registry.models.register(Kunde, name="kunde")
    await second.load()
    restored = second.registry.get_enriched().enrichments["kunde"]
    assert restored.is_live is False  # the last stored one, not a fresh inspection
    assert restored.statistics == {"total_count": 2}
