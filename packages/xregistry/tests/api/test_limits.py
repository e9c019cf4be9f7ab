"""Request bodies are bounded (413 before parsing, with and without Content-Length) and error
answers never echo a submitted value whole; over the embedded sample, as ``serve`` prepares it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from xregistry.api import ApiConfig, Prepared, TokenConfig, hash_token, prepare
from xregistry.api._limits import MAX_ECHO, truncate_inputs

ADMIN = "admin-token-for-limit-tests"
VALIDATE = "/api/enrichment/models/orders/validate"
GOOD = {"customer_id": 1, "status": "paid", "channel": "web", "ordered_at": "2024-05-01T10:00:00"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("limits-sample")


async def _prepared(data_dir: Path, **options: Any) -> Prepared:
    config = ApiConfig(
        tokens=[TokenConfig(id="root", roles=["admin"], token_hash=hash_token(ADMIN))],
        local_admin=False,
        data_dir=str(data_dir),
        **options,
    )
    return await prepare(config)


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    ready = await _prepared(data_dir)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ready.app()),
            base_url="http://test",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as c:
            yield c
    finally:
        await ready.aclose()


@pytest.fixture
async def small(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose body limit is 4 KiB."""
    ready = await _prepared(data_dir, max_body_size=4096)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ready.app()),
            base_url="http://test",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as c:
            yield c
    finally:
        await ready.aclose()


def too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    body = response.json()["error"]
    assert body["type"] == "too_large"
    assert f"larger than {limit} bytes" in body["message"]
    assert "max_body_size" in body["message"]
    assert len(response.content) < 1000  # nothing of the body comes back


async def test_default_limit_is_one_mebibyte_on_every_route(client: httpx.AsyncClient) -> None:
    big = json.dumps({**GOOD, "status": "x" * (1024 * 1024)}).encode()
    too_large(await client.post(VALIDATE, content=big), 1024 * 1024)
    # Any route, any method, even one that takes no body.
    too_large(await client.put("/api/health", content=big), 1024 * 1024)
    ok = await client.post(VALIDATE, json=GOOD)
    assert ok.status_code == 200
    assert ok.json()["valid"] is True


async def test_a_body_without_content_length_is_cut_at_the_limit(
    small: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"status": "'
        for _ in range(1000):
            sent += 1024
            yield b"x" * 1024
        yield b'"}'

    response = await small.post(
        VALIDATE, content=chunks(), headers={"Content-Type": "application/json"}
    )
    too_large(response, 4096)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    # The server stopped reading soon after the limit, not at the end of the stream.
    assert sent < 100 * 1024


async def test_a_body_under_the_limit_passes(small: httpx.AsyncClient) -> None:
    response = await small.post(VALIDATE, json=GOOD)
    assert response.status_code == 200
    assert response.json()["valid"] is True


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", " ", "9" * 40])
async def test_a_bad_content_length_is_refused(small: httpx.AsyncClient, value: str) -> None:
    # h11 would refuse to send these; the ASGI app sees what a raw client could send.
    scope_headers = [(b"content-length", value.encode())]
    from xregistry.api._limits import BodySizeLimitMiddleware

    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - not called
        raise AssertionError("the app must not run")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await BodySizeLimitMiddleware(app, max_bytes=4096)(
        {"type": "http", "headers": scope_headers, "method": "POST", "path": "/"}, receive, send
    )
    assert sent[0]["status"] in (400, 413)
    if value == "9" * 40:
        assert sent[0]["status"] == 400


async def test_validation_errors_never_echo_the_submitted_value(
    client: httpx.AsyncClient,
) -> None:
    secret_tail = "TAIL-THAT-MUST-NOT-COME-BACK"
    value = "z" * 5000 + secret_tail
    response = await client.post(VALIDATE, json={**GOOD, "customer_id": value})
    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is False
    assert secret_tail not in response.text
    assert len(response.content) < 3000


def test_truncate_inputs_shortens_strings_and_containers() -> None:
    try:
        from pydantic import TypeAdapter

        TypeAdapter(int).validate_python("é" * 500)
    except ValidationError as exc:
        errors = exc.errors()
    out = truncate_inputs(errors)
    assert out[0]["input"].startswith("é" * MAX_ECHO)
    assert out[0]["input"].endswith("(500 chars)")
    assert truncate_inputs([{"input": {"a": 1, "b": 2}}])[0]["input"] == "<object with 2 keys>"
    assert truncate_inputs([{"input": list(range(9))}])[0]["input"] == "<array of 9 items>"
    assert truncate_inputs([{"input": 5, "ctx": {"x": "y" * 99}}])[0]["ctx"]["x"].endswith(
        "(99 chars)"
    )
    assert truncate_inputs([{"input": "short"}]) == [{"input": "short"}]


@pytest.mark.parametrize("bad", [0, -5, "big"])
def test_max_body_size_must_be_positive(bad: Any) -> None:
    with pytest.raises(ValidationError):
        ApiConfig(max_body_size=bad)
