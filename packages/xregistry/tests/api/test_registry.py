"""The registry endpoints (/api/registry) over an in-process app: every route, good and bad input,
permissions from the server's configuration only."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from pydantic import BaseModel, Field

from xregistry import XRegistry
from xregistry.api import TokenAuthenticator, create_app, default_registry_config, hash_token
from xregistry.permissions import Principal

ADMIN = "admin-token-0123456789"
VIEWER = "viewer-token-0123456789"


def make_registry() -> XRegistry:
    registry = XRegistry(default_registry_config(["admin"]))
    registry.config.functions.execution_timeout = 0.5

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    def boom(password: str) -> None:
        raise RuntimeError(f"cannot connect with password={password} at /srv/secret/path")

    def everyone(x: Annotated[int, Field(ge=0)]) -> dict[str, Any]:
        return {"x": x, "when": time.gmtime(0).tm_year}

    for func in (add, slow, boom):
        registry.functions.register(func, namespace="math.basic", tags={"math"})
    registry.functions.register(
        everyone, namespace="open", permissions={"*": ["execute"]}, tags={"open"}
    )
    registry.functions.register(
        lambda: 1, name="hidden", namespace="secret", permissions={"admin": ["execute"]}
    )

    class Customer(BaseModel):
        """A customer of the shop."""

        name: str = Field(min_length=1)
        email: str
        age: int | None = None

    registry.models.register_static_model(Customer, namespace="crm", tags={"crm"})

    class Secret(BaseModel):
        code: str

    registry.models.register_static_model(
        Secret, namespace="vault", permissions={"admin": ["read", "list"]}
    )
    registry.types.create_constraint_type(
        "Percent", int, namespace="units", ge=0, le=100, examples=[5], description="0-100"
    )
    return registry


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    registry = make_registry()
    auth = TokenAuthenticator()
    auth.add(hash_token(ADMIN), Principal(id="root", roles=frozenset({"admin"})))
    auth.add(hash_token(VIEWER), Principal(id="vic", roles=frozenset({"viewer"})))
    app = create_app(registry, auth=auth)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {ADMIN}"},
    ) as c:
        yield c
    await registry.aclose()


def as_viewer() -> dict[str, str]:
    return {"Authorization": f"Bearer {VIEWER}"}


def assert_error(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["type"] == kind
    assert "Traceback" not in response.text
    return dict(body)


# -- functions --------------------------------------------------------------------------------
async def test_list_functions_shows_what_the_principal_may_view(client: httpx.AsyncClient) -> None:
    names = {f["name"] for f in (await client.get("/api/registry/functions")).json()}
    assert names == {"add", "slow", "boom", "everyone", "hidden"}
    viewer = {
        f["name"] for f in (await client.get("/api/registry/functions", headers=as_viewer())).json()
    }
    assert viewer == {"add", "slow", "boom", "everyone"}  # "hidden" grants only admin


async def test_list_functions_by_namespace_and_tag(client: httpx.AsyncClient) -> None:
    by_ns = (await client.get("/api/registry/functions", params={"namespace": "math"})).json()
    assert sorted(f["name"] for f in by_ns) == ["add", "boom", "slow"]
    full = await client.get("/api/registry/functions", params={"namespace": "ns.functions.open.*"})
    assert [f["name"] for f in full.json()] == ["everyone"]
    by_tag = (await client.get("/api/registry/functions", params={"tag": "open"})).json()
    assert [f["namespace"] for f in by_tag] == ["ns.functions.open.everyone"]
    none = await client.get("/api/registry/functions", params={"namespace": "nowhere"})
    assert none.json() == []


async def test_get_function_details(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/registry/functions/add")).json()
    assert body["signature"] == "(a: int, b: int) -> int"
    assert body["docstring"] == "Add two integers."
    assert body["permissions"]["admin"] == ["execute", "modify", "view"]
    assert set(body["parameters"]) == {"a", "b"}
    by_path = await client.get("/api/registry/functions/ns.functions.math.basic.add")
    assert by_path.json()["name"] == "add"


async def test_get_unknown_function_is_404_with_suggestion(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get("/api/registry/functions/ad"), 404, "not_found")
    assert "add" in body["message"]


async def test_execute_with_arguments_validated_against_the_signature(
    client: httpx.AsyncClient,
) -> None:
    ok = await client.post(
        "/api/registry/functions/add/execute", json={"kwargs": {"a": 2, "b": "3"}}
    )
    assert ok.status_code == 200
    assert ok.json()["result"] == 5
    positional = await client.post("/api/registry/functions/add/execute", json={"args": [1, 2]})
    assert positional.json()["result"] == 3
    bad = await client.post(
        "/api/registry/functions/add/execute", json={"kwargs": {"a": "x", "b": 1}}
    )
    body = assert_error(bad, 422, "invalid")
    assert any(e["loc"].endswith("a") for e in body["errors"])
    missing = await client.post("/api/registry/functions/add/execute", json={"kwargs": {"a": 1}})
    assert_error(missing, 422, "invalid")
    extra = await client.post(
        "/api/registry/functions/add/execute", json={"kwargs": {"a": 1, "b": 2, "c": 3}}
    )
    assert_error(extra, 422, "invalid")


async def test_execute_body_must_be_an_object_of_args_and_kwargs(client: httpx.AsyncClient) -> None:
    url = "/api/registry/functions/add/execute"
    assert_error(await client.post(url, json=[1, 2]), 422, "invalid")
    assert_error(await client.post(url, json={"args": "12"}), 422, "invalid")
    assert_error(await client.post(url, json={"kwargs": [], "args": []}), 422, "invalid")
    assert_error(await client.post(url, json={"user_role": "admin"}), 422, "invalid")
    assert_error(
        await client.post(url, content=b"{not json", headers={"Content-Type": "application/json"}),
        422,
        "invalid",
    )


async def test_execute_needs_the_execute_permission(client: httpx.AsyncClient) -> None:
    refused = await client.post(
        "/api/registry/functions/add/execute", json={"args": [1, 2]}, headers=as_viewer()
    )
    body = assert_error(refused, 403, "forbidden")
    assert "execute" in body["message"]
    allowed = await client.post(
        "/api/registry/functions/everyone/execute", json={"args": [3]}, headers=as_viewer()
    )
    assert allowed.json()["result"] == {"x": 3, "when": 1970}


async def test_a_role_named_by_the_caller_is_ignored(client: httpx.AsyncClient) -> None:
    for attempt in (
        {"params": {"user_role": "admin"}},
        {"headers": {**as_viewer(), "X-Role": "admin", "X-User-Role": "admin"}},
    ):
        headers = attempt.get("headers", as_viewer())
        response = await client.post(
            "/api/registry/functions/add/execute",
            json={"args": [1, 2]},
            params=attempt.get("params"),
            headers=headers,
        )
        assert response.status_code == 403


async def test_execute_unknown_function_is_404(client: httpx.AsyncClient) -> None:
    assert_error(
        await client.post("/api/registry/functions/nope/execute", json={}), 404, "not_found"
    )


async def test_execution_timeout_gives_504(client: httpx.AsyncClient) -> None:
    slow = await client.post(
        "/api/registry/functions/slow/execute", json={"kwargs": {"seconds": 5}}
    )
    body = assert_error(slow, 504, "timeout")
    assert "0.5" in body["message"]
    fast = await client.post(
        "/api/registry/functions/slow/execute", json={"kwargs": {"seconds": 0}}
    )
    assert fast.json()["result"] == "done"


async def test_a_failing_function_leaks_neither_its_message_nor_a_trace(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post(
        "/api/registry/functions/boom/execute", json={"kwargs": {"password": "hunter2"}}
    )
    body = assert_error(response, 500, "function_failed")
    assert body["id"]
    assert "RuntimeError" in body["message"]
    for leaked in ("hunter2", "/srv/secret", "Traceback"):
        assert leaked not in response.text
    assert "hunter2" not in caplog.text


async def test_call_count_is_reported(client: httpx.AsyncClient) -> None:
    await client.post("/api/registry/functions/add/execute", json={"args": [1, 1]})
    await client.post("/api/registry/functions/add/execute", json={"args": [1, 2]})
    assert (await client.get("/api/registry/functions/add")).json()["call_count"] == 2


# -- models -----------------------------------------------------------------------------------
async def test_list_models_filtered(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/api/registry/models")).json()
    assert sorted(m["name"] for m in everything) == ["Customer", "Secret"]
    viewer = (await client.get("/api/registry/models", headers=as_viewer())).json()
    assert [m["name"] for m in viewer] == ["Customer"]  # Secret grants no LIST to viewers
    assert (await client.get("/api/registry/models", params={"source": "dynamic"})).json() == []
    assert [
        m["name"] for m in (await client.get("/api/registry/models", params={"tag": "crm"})).json()
    ] == ["Customer"]
    assert [
        m["name"]
        for m in (await client.get("/api/registry/models", params={"namespace": "vault"})).json()
    ] == ["Secret"]
    assert_error(
        await client.get("/api/registry/models", params={"source": "bogus"}), 422, "invalid"
    )


async def test_get_model_with_schema_and_ui_schema(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/registry/models/Customer")).json()
    assert body["namespace"] == "ns.models.crm.Customer"
    assert body["source"] == "static"
    assert body["schema"]["properties"]["email"]["type"] == "string"
    assert body["ui_schema"]["fields"]["email"]["widget"] == "email"
    assert body["fields"]["age"]["required"] is False
    assert body["enriched"] is False
    schema = (await client.get("/api/registry/models/Customer/schema")).json()
    assert schema["required"] == ["name", "email"]
    ui = (await client.get("/api/registry/models/ns.models.crm.Customer/ui-schema")).json()
    assert ui["order"] == ["name", "email", "age"]


async def test_model_read_permission_and_unknown_names(client: httpx.AsyncClient) -> None:
    assert_error(
        await client.get("/api/registry/models/Secret", headers=as_viewer()), 403, "forbidden"
    )
    assert_error(
        await client.get("/api/registry/models/Secret/schema", headers=as_viewer()),
        403,
        "forbidden",
    )
    assert_error(await client.get("/api/registry/models/Nope"), 404, "not_found")
    assert_error(await client.get("/api/registry/models/Nope/ui-schema"), 404, "not_found")
    assert_error(await client.get("/api/registry/models/" + "x" * 400), 422, "invalid")


# -- types ------------------------------------------------------------------------------------
async def test_types_list_get_and_validate(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/api/registry/types")).json()
    assert [t["name"] for t in listed] == ["Percent"]
    assert listed[0]["constraints"] == {"ge": 0, "le": 100}
    assert (await client.get("/api/registry/types", params={"category": "composite"})).json() == []
    assert_error(
        await client.get("/api/registry/types", params={"category": "nope"}), 422, "invalid"
    )
    assert (await client.get("/api/registry/types/Percent")).json()[
        "namespace"
    ] == "ns.types.units.Percent"
    ok = (await client.post("/api/registry/types/Percent/validate", json={"value": "42"})).json()
    assert ok == {"valid": True, "value": 42, "errors": [], "message": None}
    bad = (await client.post("/api/registry/types/Percent/validate", json={"value": 420})).json()
    assert bad["valid"] is False
    assert bad["errors"][0]["msg"].startswith("Input should be less than or equal to 100")
    assert_error(await client.post("/api/registry/types/Percent/validate", json={}), 422, "invalid")
    assert_error(
        await client.post("/api/registry/types/Nope/validate", json={"value": 1}), 404, "not_found"
    )
    assert_error(await client.get("/api/registry/types/Nope"), 404, "not_found")
