"""Two ``xregistry serve`` processes on one PostgreSQL store see one registry: a model (or a
version, or a compatibility mode) written through one is served by the other without a restart;
a version that breaks the mode is refused with 409 naming the breaking changes, by either."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from registry_server import Served, start_serve, stop_serve
from registry_store_helpers import call, settings_file, wait_for

from xresource import ResourceFactory, SQLDatabaseResource

TABLES = ("state", "models", "versions", "changes", "enrichment", "catalog", "audit", "migrations")


def schema(*fields: tuple[str, str, bool], defaults: dict[str, Any] | None = None) -> dict:
    """A JSON object schema: (name, type, required) per field."""
    properties: dict[str, Any] = {name: {"type": kind} for name, kind, _ in fields}
    for name, value in (defaults or {}).items():
        properties[name]["default"] = value
    return {
        "type": "object",
        "title": "Bestellung",
        "properties": properties,
        "required": [name for name, _, required in fields if required],
    }


V1 = schema(("id", "integer", True), ("kunde", "string", True), ("notiz", "string", False))


@pytest.fixture
async def prefix(postgres_url: str, unique_name: str) -> AsyncIterator[str]:
    """The store's table prefix, its tables dropped after the test."""
    name = f"{unique_name}_"
    yield name
    pg = ResourceFactory.from_url(postgres_url)
    assert isinstance(pg, SQLDatabaseResource)
    async with pg:
        for table in TABLES:
            await pg.execute(f'DROP TABLE IF EXISTS "{name}{table}"')


@pytest.fixture
def pair(tmp_path: Path, postgres_url: str, prefix: str) -> Iterator[tuple[Served, Served]]:
    settings = settings_file(tmp_path, store_url=postgres_url, prefix=prefix, poll_interval=0.2)
    # Started together: both migrate the empty store at once (a lock keeps that safe).
    first = start_serve("--config", str(settings), "--data-dir", str(tmp_path / "a"))
    try:
        second = start_serve("--config", str(settings), "--data-dir", str(tmp_path / "b"))
    except BaseException:
        stop_serve(first)
        raise
    yield first, second
    for served in (first, second):
        rest = stop_serve(served)
        assert "Traceback" not in rest, rest


def history(served: Served, model: str) -> list[str]:
    status, body = call(served, "GET", f"/api/registry/models/{model}/versions")
    return [v["version"] for v in body["versions"]] if status == 200 else []


def test_two_processes_on_one_postgresql_store_agree(pair: tuple[Served, Served]) -> None:
    a, b = pair
    status, created = call(a, "POST", "/api/registry/models", {"name": "bestellung", "schema": V1})
    assert status == 201, created
    assert created["version"] == "1.0.0"

    # B never saw the request: it learns the model from the store.
    wait_for(
        lambda: call(b, "GET", "/api/registry/models/bestellung")[0] == 200,
        what="B serving the model",
    )
    assert history(b, "bestellung") == ["1.0.0"]
    status, model = call(b, "GET", "/api/registry/models/bestellung")
    assert model["version"] == "1.0.0"
    assert set(model["schema"]["properties"]) >= {"id", "kunde", "notiz"}

    # A new version through B (an optional field: backward compatible) shows on A.
    v2 = schema(
        ("id", "integer", True),
        ("kunde", "string", True),
        ("notiz", "string", False),
        ("rabatt", "number", False),
        defaults={"rabatt": 0},
    )
    status, updated = call(b, "POST", "/api/registry/models", {"name": "bestellung", "schema": v2})
    assert (status, updated["version"], updated["created"]) == (201, "1.1.0", True)
    wait_for(lambda: history(a, "bestellung") == ["1.0.0", "1.1.0"], what="A seeing 1.1.0")
    status, model = call(a, "GET", "/api/registry/models/bestellung")
    assert model["version"] == "1.1.0"
    assert "rabatt" in model["schema"]["properties"]

    # The same schema again, through A: nothing new anywhere.
    status, same = call(a, "POST", "/api/registry/models", {"name": "bestellung", "schema": v2})
    assert (status, same["created"], same["version"]) == (200, False, "1.1.0")

    # A required field without default breaks backward: refused by A with the change named.
    v3 = schema(("id", "integer", True), ("kunde", "string", True), ("menge", "integer", True))
    status, refused = call(a, "POST", "/api/registry/models", {"name": "bestellung", "schema": v3})
    assert status == 409, refused
    breaking = refused["error"]["details"]["breaking"]
    assert [(c["kind"], c["field"]) for c in breaking] == [("added", "menge")]
    assert "menge" in refused["error"]["message"]
    assert history(a, "bestellung") == ["1.0.0", "1.1.0"]

    # Mode none, set through B, reaches A: the same schema is then accepted by A.
    status, mode = call(b, "PUT", "/api/registry/models/bestellung/compatibility", {"mode": "none"})
    assert (status, mode["compatibility"]) == (200, "none")
    wait_for(
        lambda: (
            call(a, "GET", "/api/registry/models/bestellung/versions")[1]["compatibility"] == "none"
        ),
        what="A taking mode none",
    )
    status, accepted = call(a, "POST", "/api/registry/models", {"name": "bestellung", "schema": v3})
    assert (status, accepted["version"]) == (201, "2.0.0"), accepted
    wait_for(lambda: history(b, "bestellung")[-1:] == ["2.0.0"], what="B seeing 2.0.0")

    # Under backward again the 2.0.0 version is flagged (on both), with what it breaks.
    status, _ = call(
        a, "PUT", "/api/registry/models/bestellung/compatibility", {"mode": "backward"}
    )
    assert status == 200

    def flagged() -> Any:
        _status, body = call(b, "GET", "/api/registry/models/bestellung/versions")
        return body["compatibility"] == "backward" and body["versions"][-1]

    last = wait_for(flagged, what="B flagging 2.0.0 under backward")
    assert last["compatible"] is False
    assert {(c["kind"], c["field"]) for c in last["breaking"]} == {("added", "menge")}
    status, diff = call(b, "GET", "/api/registry/models/bestellung/versions/1.0.0/diff/2.0.0")
    assert {c["field"] for c in diff["changes"]} == {"menge", "notiz"}


def test_bad_registrations_are_refused_clearly(pair: tuple[Served, Served]) -> None:
    a, _ = pair
    status, body = call(a, "POST", "/api/registry/models", {"name": "x", "schema": {"type": 3}})
    assert status == 422
    status, body = call(a, "POST", "/api/registry/models", {"name": "1bad", "schema": V1})
    assert status == 422
    status, body = call(a, "POST", "/api/registry/models", {"name": "ok"})
    assert status == 422
    status, body = call(
        a, "PUT", "/api/registry/models/nowhere/compatibility", {"mode": "backward"}
    )
    assert status == 404
    assert "nowhere" in body["error"]["message"]
    call(a, "POST", "/api/registry/models", {"name": "ok", "schema": V1})
    status, _body = call(a, "PUT", "/api/registry/models/ok/compatibility", {"mode": "sideways"})
    assert status == 422


async def test_processes_started_at_once_migrate_one_store(postgres_url: str, prefix: str) -> None:
    """Several stores opening one empty database at the same moment: one schema, no error."""
    from xregistry.store import MIGRATIONS, RegistryStore

    stores = [RegistryStore.from_url(postgres_url, prefix=prefix) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        versions = {await s.schema_version() for s in stores}
        assert versions == {MIGRATIONS[-1].number}
        assert await stores[0].revision() == 0
    finally:
        for store in stores:
            await store.close()


async def test_a_store_outage_is_a_clear_503_and_serving_goes_on(
    tmp_path: Path, postgres_url: str, prefix: str
) -> None:
    from repo_backends import TcpProxy

    async with TcpProxy.in_front_of(postgres_url, 5432) as (proxy, through):
        settings = settings_file(tmp_path, store_url=through, prefix=prefix, poll_interval=0.2)
        served = await asyncio.to_thread(start_serve, "--config", str(settings))
        try:
            status, _ = await asyncio.to_thread(
                call, served, "POST", "/api/registry/models", {"name": "lager", "schema": V1}
            )
            assert status == 201
            await proxy.stop()  # the store's server is gone for this process
            v2 = schema(
                ("id", "integer", True),
                ("kunde", "string", True),
                ("notiz", "string", False),
                ("ort", "string", False),
            )
            status, body = await asyncio.to_thread(
                call, served, "POST", "/api/registry/models", {"name": "lager", "schema": v2}
            )
            assert status == 503, body
            assert body["error"]["type"] == "unavailable"
            assert "cannot reach the server" in body["error"]["message"]
            # Reads of the registry itself go on from memory.
            status, model = await asyncio.to_thread(
                call, served, "GET", "/api/registry/models/lager"
            )
            assert (status, model["version"]) == (200, "1.0.0")
            status, body = await asyncio.to_thread(
                call, served, "GET", "/api/registry/models/lager/versions"
            )
            assert status == 503, body
            await proxy.start()  # back: the next write works, nothing half-done in between

            def registered() -> Any:
                status, body = call(
                    served, "POST", "/api/registry/models", {"name": "lager", "schema": v2}
                )
                return status == 201 and body

            done = await asyncio.to_thread(wait_for, registered, 30.0, "a write after the outage")
            assert done["version"] == "1.1.0"
            assert await asyncio.to_thread(history, served, "lager") == ["1.0.0", "1.1.0"]
        finally:
            rest = await asyncio.to_thread(stop_serve, served)
        # The driver's pool logs its own reconnection attempts during the outage (with a
        # traceback); nothing of xregistry's may fail or leak a stack trace to a client.
        assert "Exception in ASGI application" not in rest, rest
        assert "/xregistry/" not in rest, rest
