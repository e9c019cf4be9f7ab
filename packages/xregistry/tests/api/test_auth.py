"""Authentication and the error contract: hashed tokens compared in constant time, 401/403/404/
405/422/500 answers in one JSON shape, no stack trace and no secret in any answer or log line."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import ValidationError

from xobj_prototype import XConfigurationError
from xregistry import XRegistry
from xregistry.api import (
    ApiConfig,
    TokenAuthenticator,
    TokenConfig,
    create_app,
    generate_token,
    hash_token,
    load_api_config,
    status_of,
    verify_token_hash,
)
from xregistry.errors import (
    FunctionTimeoutError,
    RegistryConflictError,
    RegistryNotFoundError,
    RegistryPermissionError,
    RegistryValidationError,
)
from xregistry.permissions import Principal

TOKEN = "s3cret-token-for-tests-0001"


# -- hashing and the authenticator ------------------------------------------------------------
def test_sha256_hash_round_trip() -> None:
    stored = hash_token(TOKEN)
    assert stored.startswith("sha256:")
    assert len(stored) == 7 + 64
    assert TOKEN not in stored
    assert verify_token_hash(TOKEN, stored)
    assert not verify_token_hash(TOKEN + "x", stored)


def test_scrypt_hash_round_trip_and_salting() -> None:
    first, second = hash_token(TOKEN, "scrypt"), hash_token(TOKEN, "scrypt")
    assert first != second  # salted
    assert verify_token_hash(TOKEN, first)
    assert verify_token_hash(TOKEN, second)
    assert not verify_token_hash("other", first)
    assert not verify_token_hash(TOKEN, "scrypt:broken")
    assert not verify_token_hash(TOKEN, "md5:abc")


def test_hash_token_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        hash_token("")
    with pytest.raises(ValueError, match="unknown token hash scheme"):
        hash_token(TOKEN, "md5")


def test_generated_tokens_are_random_and_long() -> None:
    tokens = {generate_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 40 for t in tokens)


def test_authenticator_maps_tokens_to_configured_roles() -> None:
    auth = TokenAuthenticator(
        [
            TokenConfig(id="ada", roles=["admin"], token_hash=hash_token("a" * 30)),
            TokenConfig(id="bob", roles=["viewer"], token_hash=hash_token("b" * 30, "scrypt")),
        ]
    )
    assert len(auth) == 2
    ada = auth.authenticate("a" * 30)
    assert ada == Principal(id="ada", roles=frozenset({"admin"}))
    bob = auth.authenticate("b" * 30)
    assert bob is not None
    assert bob.roles == frozenset({"viewer"})
    assert auth.authenticate("b" * 30) == bob  # the cached scrypt verification
    for wrong in ("", "a" * 29, "A" * 30, "x" * 10_000, "b" * 31):
        assert auth.authenticate(wrong) is None


def test_token_config_validation() -> None:
    with pytest.raises(ValidationError, match="token_hash"):
        TokenConfig(id="x", roles=[], token_hash="plaintext-token")
    with pytest.raises(ValidationError):
        TokenConfig(id="", roles=["admin"], token_hash=hash_token("t"))
    with pytest.raises(ValueError, match="sha256"):
        TokenAuthenticator().add("sha256:short", Principal())


def test_api_config_from_a_settings_file(tmp_path: Any) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        "[api]\nport = 0\nresources = ['sqlite:///x.db']\nadmin_roles = ['ops']\n"
        f"[[api.tokens]]\nid = 'ada'\nroles = ['ops']\ntoken_hash = '{hash_token(TOKEN)}'\n"
    )
    config = load_api_config(settings_files=[settings], overrides={"host": "::1"})
    assert config.port == 0
    assert config.host == "::1"
    assert config.resources[0].url == "sqlite:///x.db"
    assert config.tokens[0].roles == ["ops"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[api]\nport = 'eighty'\n")
    with pytest.raises(XConfigurationError, match="port"):
        load_api_config(settings_files=[bad])


def test_status_mapping() -> None:
    assert status_of(RegistryNotFoundError("x")) == (404, "not_found")
    assert status_of(RegistryPermissionError("x")) == (403, "forbidden")
    assert status_of(RegistryValidationError("x")) == (422, "invalid")
    assert status_of(RegistryConflictError("x")) == (409, "conflict")
    assert status_of(FunctionTimeoutError("x")) == (504, "timeout")
    assert status_of(RuntimeError("x")) == (500, "internal_error")


# -- over HTTP --------------------------------------------------------------------------------
@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    registry = XRegistry()
    config = ApiConfig(
        tokens=[
            TokenConfig(id="ada", roles=["admin"], token_hash=hash_token(TOKEN)),
            TokenConfig(id="vic", roles=["viewer"], token_hash=hash_token("viewer-" + TOKEN)),
        ]
    )
    app = create_app(registry, config=config)
    broken = APIRouter()

    @broken.get("/api/broken")
    async def fail() -> None:
        raise KeyError("postgresql://app:hunter2@db.internal/prod")

    @broken.get("/api/broken-config")
    async def fail_config() -> None:
        raise XConfigurationError("token=hunter2 is not valid")

    app.include_router(broken)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRhOmh1bnRlcjI="},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": "Bearer not-a-known-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
)
async def test_unauthenticated_calls_get_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for path in ("/api/info", "/api/registry/models", "/api/registry/functions/x"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["type"] == "unauthenticated"
        assert TOKEN not in response.text


async def test_token_in_a_query_string_is_not_accepted(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/info", params={"token": TOKEN})).status_code == 401
    assert (await client.get("/api/info", params={"access_token": TOKEN})).status_code == 401


async def test_health_needs_no_token_and_info_names_the_principal(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/api/health")).json() == {"status": "ok"}
    info = (await client.get("/api/info", headers=bearer(TOKEN))).json()
    assert info["principal"] == {"id": "ada", "roles": ["admin"]}
    assert info["models"] == 0


async def test_admin_only_endpoints_answer_403_to_others(client: httpx.AsyncClient) -> None:
    viewer = bearer("viewer-" + TOKEN)
    response = await client.get("/api/audit", headers=viewer)
    assert response.status_code == 403
    assert "admin" in response.json()["error"]["message"]
    assert (
        await client.get("/api/audit", headers=viewer, params={"user_role": "admin"})
    ).status_code == 403
    events = (await client.get("/api/audit", headers=bearer(TOKEN), params={"limit": 5})).json()
    assert isinstance(events, list)
    assert (
        await client.get("/api/audit", headers=bearer(TOKEN), params={"limit": 0})
    ).status_code == 422


async def test_unexpected_errors_are_opaque_500s_logged_redacted(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="xregistry.api")
    response = await client.get("/api/broken")
    assert response.status_code == 500
    body = response.json()["error"]
    assert body["type"] == "internal_error"
    assert len(body["id"]) == 32
    for leaked in ("hunter2", "db.internal", "KeyError", "Traceback"):
        assert leaked not in response.text
    assert body["id"] in caplog.text
    assert "KeyError" in caplog.text  # the details are in the log...
    assert "hunter2" not in caplog.text  # ...redacted
    config = await client.get("/api/broken-config")
    assert config.status_code == 500
    assert "hunter2" not in config.text
    assert "hunter2" not in caplog.text


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nope", headers=bearer(TOKEN))
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"
    method = await client.delete("/api/info", headers=bearer(TOKEN))
    assert method.status_code == 405
    assert method.json()["error"]["type"] == "method_not_allowed"


async def test_openapi_document_and_the_page_are_served(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/api/registry/functions/{name}/execute",
        "/api/registry/models/{name}/ui-schema",
        "/api/registry/types/{name}/validate",
        "/api/enrichment/models/{name}/suggestions/{field}",
        "/api/enrichment/refresh/{name}",
        "/api/discovery/resources/{resource_name}/discover",
        "/api/discovery/namespace/{pattern}",
        "/api/data/models/{name}/records/{record_id}",
    ):
        assert path in paths, path
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert "user_role" not in str(doc)
    page = await client.get("/")
    assert page.status_code == 200
    assert "<title>xregistry</title>" in page.text
    script = await client.get("/static/app.js")
    assert script.status_code == 200
    assert "textContent" in script.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN
    assert (await client.get("/docs")).status_code == 404  # Swagger UI would load a CDN
