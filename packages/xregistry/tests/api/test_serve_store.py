"""Which store ``xregistry serve`` uses (``--store``, ``[registry.store]``, the default file in
the data directory), and the version endpoints over a prepared server with an SQLite store:
versions, diffs, registration with 409, compatibility, the stored audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from xregistry.api import ApiConfig, Prepared, TokenConfig, hash_token, prepare
from xregistry.api._server import default_registry_config, store_for
from xregistry.cli import _api_config, build_parser
from xregistry.config import RegistryConfig, StoreConfig
from xregistry.errors import RegistryValidationError

ADMIN = "admin-token-for-store-tests"
VIEWER = "viewer-token-for-store-tests"
VIEW = {"Authorization": f"Bearer {VIEWER}"}


def registry_config(url: str | None) -> RegistryConfig:
    config = default_registry_config(["admin"])
    return config.model_copy(update={"store": StoreConfig(url=url)})


def test_the_store_option_reaches_the_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(["serve", "--store", "memory", "--data-dir", str(tmp_path)])
    _, config = _api_config(args)
    assert config.store.url == "memory"
    args = build_parser().parse_args(["serve"])
    _, config = _api_config(args)
    assert config.store.url is None


def test_the_store_url_decides_the_store(tmp_path: Path) -> None:
    api = ApiConfig(data_dir=str(tmp_path / "nested" / "data"))
    assert store_for(registry_config("memory"), api) is None
    assert store_for(registry_config(" MEMORY "), api) is None
    assert store_for(registry_config(None), api, default=False) is None
    default = store_for(registry_config(None), api)
    assert default is not None
    assert default.dialect == "sqlite"
    assert default.resource.path == str(tmp_path / "nested" / "data" / "registry.db")
    assert (tmp_path / "nested" / "data").is_dir()  # created for the file
    chosen = store_for(registry_config(f"sqlite:///{tmp_path / 'other.db'}"), api, default=False)
    assert chosen is not None
    assert chosen.resource.path == str(tmp_path / "other.db")
    with pytest.raises(RegistryValidationError, match="registry store"):
        store_for(registry_config("ftp://user:hunter2@host/x"), api)


@pytest.mark.parametrize(
    "settings",
    [{"table_prefix": "Bad-"}, {"poll_interval": 0}, {"poll_interval": -1}, {"nope": 1}],
)
def test_bad_store_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        StoreConfig.model_validate(settings)


def test_bad_default_compatibility_is_refused() -> None:
    with pytest.raises(ValidationError):
        RegistryConfig.model_validate({"models": {"compatibility": "sideways"}})


@pytest.fixture
async def prepared(tmp_path: Path) -> AsyncIterator[Prepared]:
    config = ApiConfig(
        tokens=[
            TokenConfig(id="root", roles=["admin"], token_hash=hash_token(ADMIN)),
            TokenConfig(id="vic", roles=["viewer"], token_hash=hash_token(VIEWER)),
        ],
        sample=False,
        local_admin=False,
        data_dir=str(tmp_path),
    )
    ready = await prepare(config, registry_config(None), default_store=True)
    yield ready
    await ready.aclose()


@pytest.fixture
async def client(prepared: Prepared) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=prepared.app()),
        base_url="http://test",
        headers={"Authorization": f"Bearer {ADMIN}"},
    ) as c:
        yield c


def point(*required: str, **types: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in types.items()},
        "required": list(required),
    }


async def test_versions_over_a_prepared_server_with_a_store(
    prepared: Prepared, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert prepared.durable is not None
    assert prepared.durable.store is not None
    assert (tmp_path / "registry.db").is_file()

    body = {"name": "punkt", "schema": point("x", x="integer", y="integer")}
    first = await client.post("/api/registry/models", json=body)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "model": "punkt",
        "version": "1.0.0",
        "created": True,
        "compatibility": "backward",
    }
    again = await client.post("/api/registry/models", json=body)
    assert (again.status_code, again.json()["created"]) == (200, False)
    # A viewer may read versions but not register them.
    assert (
        await client.get("/api/registry/models/punkt/versions", headers=VIEW)
    ).status_code == 200
    assert (await client.post("/api/registry/models", json=body, headers=VIEW)).status_code == 403

    wider = {"name": "punkt", "schema": point("x", x="number", y="integer")}
    refused = await client.put("/api/registry/models/punkt/compatibility", json={"mode": "full"})
    assert refused.json() == {"model": "punkt", "compatibility": "full"}
    conflict = await client.post("/api/registry/models", json=wider)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["details"]["breaking"][0]["field"] == "x"
    await client.put("/api/registry/models/punkt/compatibility", json={"mode": None})
    accepted = await client.post("/api/registry/models", json=wider)  # backward: widening is fine
    assert (accepted.status_code, accepted.json()["version"]) == (201, "1.1.0")

    history = (await client.get("/api/registry/models/punkt/versions")).json()
    assert [(v["version"], v["source"], v["compatible"]) for v in history["versions"]] == [
        ("1.0.0", "api", True),
        ("1.1.0", "api", True),
    ]
    diff = (await client.get("/api/registry/models/punkt/versions/1.1.0/diff/1.0.0")).json()
    assert (diff["from"], diff["to"], diff["compatible"]) == ("1.1.0", "1.0.0", False)
    assert [(c["kind"], c["before"], c["after"]) for c in diff["breaking"]] == [
        ("retyped", "float", "int")
    ]
    one = (await client.get("/api/registry/models/punkt/versions/1.0.0")).json()
    assert one["schema"]["properties"]["x"] == {"type": "integer"}

    answer = await client.get("/api/audit", params={"stored": "true"})
    assert answer.status_code == 200, answer.text
    stored = answer.json()
    versions = [e["details"].get("version") for e in stored if "fingerprint" in e["details"]]
    assert versions == ["1.0.0", "1.1.0"]
    assert any(e["details"].get("compatibility") == "full" for e in stored)
    # The registry's own events (buffered, written by the flush) are in the durable trail too.
    own = [e for e in stored if e["target_name"] == "punkt" and "fingerprint" not in e["details"]]
    assert {e["action"] for e in own} >= {"register", "update"}


async def test_bad_registrations_answer_clearly(client: httpx.AsyncClient) -> None:
    for body in (
        {"name": "x"},
        {"name": "x", "schema": "not a schema"},
        {"name": "", "schema": point()},
        {"name": "x y", "schema": point()},
        {"name": "x", "schema": point(), "extra": 1},
    ):
        answer = await client.post("/api/registry/models", json=body)
        assert answer.status_code == 422, (body, answer.text)
    bad = await client.post(
        "/api/registry/models", json={"name": "x", "schema": {"type": "object", "properties": 3}}
    )
    assert bad.status_code == 422
    assert "x" in bad.json()["error"]["message"]
    missing = await client.get("/api/registry/models/nichts/versions")
    assert missing.status_code == 404
    mode = await client.put("/api/registry/models/nichts/compatibility", json={"mode": "full"})
    assert mode.status_code == 404
