"""``RESTResource`` against a real aiohttp web server on 127.0.0.1 (a random port).

The server is real HTTP on a real socket; its handlers check credentials, count attempts and
script failures (503, 429, slow answers) so that retries, auth and error mapping are observed from
the server's side.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import xresource.network.rest as rest_module  # private on purpose: its _sleep hook is patched
from xresource import (
    ResourceFactory,
    RESTResource,
    XResourceAuthenticationError,
    XResourceConnectionError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.network import RESTResponse

TOKEN = "tok-3x4mpl3-secret"
API_KEY = "key-3x4mpl3-secret"
ITEMS = [{"id": i, "name": f"item {i}"} for i in range(23)]

HITS = web.AppKey("hits", Counter)
PEERS = web.AppKey("peers", set)


def _hit(request: web.Request, key: str) -> int:
    request.app[HITS][key] += 1
    peer = request.transport.get_extra_info("peername") if request.transport else None
    request.app[PEERS].add(peer)
    return int(request.app[HITS][key])


async def echo(request: web.Request) -> web.Response:
    _hit(request, "echo")
    body = await request.json() if request.can_read_body else None
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "body": body,
            "content_type": request.headers.get("Content-Type"),
            "user_agent": request.headers.get("User-Agent"),
            "x_trace": request.headers.get("X-Trace"),
        }
    )


async def bearer(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.json_response({"message": "invalid token"}, status=401)
    return web.json_response({"ok": "bearer"})


async def api_key(request: web.Request) -> web.Response:
    given = request.headers.get("X-Api-Key") or request.query.get("appid")
    if given != API_KEY:
        return web.json_response({"error": {"message": "missing or wrong key"}}, status=403)
    return web.json_response(
        {"ok": "key", "via": "query" if "appid" in request.query else "header"}
    )


async def basic(request: web.Request) -> web.Response:
    import base64

    expected = "Basic " + base64.b64encode(f"alice:{TOKEN}".encode()).decode()
    if request.headers.get("Authorization") != expected:
        return web.Response(status=401, text="who are you?")
    return web.json_response({"ok": "basic"})


async def flaky(request: web.Request) -> web.Response:
    """Fails with ``status`` for the first ``fail`` attempts of ``key``, then answers."""
    key = f"flaky:{request.method}:{request.match_info['key']}"
    attempt = _hit(request, key)
    fail = int(request.query.get("fail", "2"))
    status = int(request.query.get("status", "503"))
    if attempt <= fail:
        headers = (
            {"Retry-After": request.query["retry_after"]} if "retry_after" in request.query else {}
        )
        return web.json_response(
            {"message": f"try later ({attempt})"}, status=status, headers=headers
        )
    return web.json_response({"attempt": attempt})


async def slow(request: web.Request) -> web.Response:
    _hit(request, "slow")
    await asyncio.sleep(float(request.query.get("seconds", "3")))
    return web.json_response({"late": True})


async def status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    _hit(request, f"status:{code}")
    return web.json_response({"detail": f"scripted {code}"}, status=code)


async def pages(request: web.Request) -> web.Response:
    page, per_page = int(request.query["page"]), int(request.query["per_page"])
    chunk = ITEMS[(page - 1) * per_page : page * per_page]
    return web.json_response({"data": chunk, "total": len(ITEMS)})


async def cursor(request: web.Request) -> web.Response:
    start = int(request.query.get("cursor", "0"))
    nxt = start + 5
    return web.json_response(
        {"items": ITEMS[start:nxt], "meta": {"next": str(nxt) if nxt < len(ITEMS) else None}}
    )


async def linked(request: web.Request) -> web.Response:
    page = int(request.query.get("page", "1"))
    per_page = int(request.query.get("per_page", "10"))
    chunk = ITEMS[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(ITEMS):
        nxt = request.url.with_query({"page": page + 1, "per_page": per_page})
        headers["Link"] = f'<{nxt}>; rel="next", <{request.url.with_query(page=1)}>; rel="first"'
    return web.json_response(chunk, headers=headers)


async def evil_link(request: web.Request) -> web.Response:
    return web.json_response([1], headers={"Link": '<http://evil.example/steal>; rel="next"'})


async def redirect_in(request: web.Request) -> web.Response:
    raise web.HTTPFound("/v1/echo?redirected=1")


async def redirect_out(request: web.Request) -> web.Response:
    raise web.HTTPFound("http://evil.example/v1/echo")


async def health(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def big(request: web.Request) -> web.Response:
    rows = [{"i": i, "pad": "x" * 40} for i in range(40_000)]  # about 2 MB
    return web.Response(body=json.dumps(rows).encode(), content_type="application/json")


async def text(request: web.Request) -> web.Response:
    return web.Response(text="plain words", content_type="text/plain")


async def bogus_charset(request: web.Request) -> web.Response:
    return web.Response(
        body="café".encode(), headers={"Content-Type": "text/plain; charset=x-no-such-codec"}
    )


async def bad_json(request: web.Request) -> web.Response:
    return web.Response(text="{not json", content_type="application/json")


def make_app() -> web.Application:
    app = web.Application()
    app[HITS] = Counter()
    app[PEERS] = set()
    app.router.add_route("*", "/v1/echo", echo)
    app.router.add_get("/v1/auth/bearer", bearer)
    app.router.add_get("/v1/auth/key", api_key)
    app.router.add_get("/v1/auth/basic", basic)
    app.router.add_route("*", "/v1/flaky/{key}", flaky)
    app.router.add_get("/v1/slow", slow)
    app.router.add_route("*", "/v1/status/{code}", status)
    app.router.add_get("/v1/pages", pages)
    app.router.add_get("/v1/cursor", cursor)
    app.router.add_get("/v1/linked", linked)
    app.router.add_get("/v1/evil-link", evil_link)
    app.router.add_get("/v1/redirect-in", redirect_in)
    app.router.add_get("/v1/redirect-out", redirect_out)
    app.router.add_route("HEAD", "/v1/health", health)
    app.router.add_route("GET", "/v1/get-only", text)  # HEAD answers 405 here
    app.router.add_get("/v1/big", big)
    app.router.add_get("/v1/text", text)
    app.router.add_get("/v1/bad-json", bad_json)
    app.router.add_get("/v1/bogus-charset", bogus_charset)
    return app


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    """A live server; yields its base URL (``http://127.0.0.1:<port>/v1``) and the app."""
    app = make_app()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1", app
    finally:
        await runner.cleanup()


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the resource asks for between attempts, recorded instead of slept."""
    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(rest_module, "_sleep", record)
    return recorded


def api(base: str, **kwargs: Any) -> RESTResource:
    params: dict[str, Any] = {"backoff_initial": 0.01, "backoff_jitter": 0.0, **kwargs}
    resource = ResourceFactory.create("rest", base_url=base, **params)
    assert isinstance(resource, RESTResource)
    return resource


async def test_json_round_trip_all_methods(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base, headers={"X-Trace": "on"}) as rest:
        got = await rest.get("/echo", params={"q": "ünïcode", "n": 3, "flag": True, "skip": None})
        assert got["query"] == {"q": "ünïcode", "n": "3", "flag": "true"}
        assert got["x_trace"] == "on"
        assert got["user_agent"].startswith("xresource/")
        body = {"name": "Zoë", "tags": ["a", "b"], "n": 1.5, "none": None}
        for method in ("post", "put", "patch"):
            answer = await getattr(rest, method)("echo", json=body)
            assert answer["method"] == method.upper()
            assert answer["body"] == body
            assert answer["content_type"] == "application/json"
        assert (await rest.delete("/echo"))["method"] == "DELETE"


async def test_envelope_text_and_empty_bodies(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        response = await rest.request("GET", "/echo", envelope=True)
        assert isinstance(response, RESTResponse)
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.data["path"] == "/v1/echo"
        assert await rest.get("/text") == "plain words"
        assert await rest.get("/bogus-charset") == "café"  # unknown charset: UTF-8
        head = await rest.request("HEAD", "/health", envelope=True)
        assert (head.status, head.data) == (204, None)


async def test_large_json_is_parsed(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        rows = await rest.get("/big")
        assert len(rows) == 40_000
        assert rows[-1]["i"] == 39_999


async def test_invalid_json_is_a_query_error(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        with pytest.raises(XResourceQueryError, match="invalid JSON"):
            await rest.get("/bad-json")


async def test_one_pooled_session_limits_connections(server: tuple[str, web.Application]) -> None:
    base, app = server
    async with api(base, pool_size=2) as rest:
        results = await asyncio.gather(*(rest.get("/echo") for _ in range(30)))
        session = rest._session
        results += [await rest.get("/echo")]
        assert rest._session is session
    assert len(results) == 31
    assert app[HITS]["echo"] == 31
    # keep-alive and the connector limit: at most two sockets served thirty-one requests
    assert 1 <= len(app[PEERS]) <= 2


async def test_bearer_auth(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base, bearer_token=TOKEN) as rest:
        assert await rest.get("/auth/bearer") == {"ok": "bearer"}
    async with api(base, bearer_token="wrong") as rest:
        with pytest.raises(XResourceAuthenticationError) as info:
            await rest.get("/auth/bearer")
    message = str(info.value)
    assert "HTTP 401" in message
    assert "invalid token" in message
    assert "wrong" not in message.replace("wrong key", "")


async def test_api_key_in_header_and_query(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base, api_key=API_KEY) as rest:
        assert await rest.get("/auth/key") == {"ok": "key", "via": "header"}
    async with api(base, api_key=API_KEY, api_key_in="query", api_key_name="appid") as rest:
        assert await rest.get("/auth/key") == {"ok": "key", "via": "query"}
    async with api(
        base, api_key="nope-" + API_KEY, api_key_in="query", api_key_name="appid"
    ) as rest:
        with pytest.raises(XResourceAuthenticationError) as info:
            await rest.get("/auth/key")
    assert "HTTP 403" in str(info.value)
    assert "missing or wrong key" in str(info.value)
    assert API_KEY not in str(info.value)


async def test_basic_auth_from_url(server: tuple[str, web.Application]) -> None:
    base, _ = server
    host = base.removeprefix("http://")
    async with ResourceFactory.from_url(f"http://alice:{TOKEN}@{host}") as rest:
        assert isinstance(rest, RESTResource)
        assert await rest.get("/auth/basic") == {"ok": "basic"}
        assert TOKEN not in repr(rest)
        assert TOKEN not in repr(rest.get_metadata())


async def test_retries_503_then_succeeds(
    server: tuple[str, web.Application], delays: list[float]
) -> None:
    base, app = server
    async with api(base, max_retries=3) as rest:
        assert await rest.get("/flaky/a", params={"fail": 2}) == {"attempt": 3}
    assert app[HITS]["flaky:GET:a"] == 3
    assert delays == [0.01, 0.02]  # exponential, jitter off


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS"])
async def test_other_idempotent_methods_retry(
    server: tuple[str, web.Application], delays: list[float], method: str
) -> None:
    base, app = server
    async with api(base) as rest:
        answer = await rest.request(method, "/flaky/m", params={"fail": 1, "status": 502})
    assert answer == {"attempt": 2}
    assert app[HITS][f"flaky:{method}:m"] == 2


async def test_retries_exhausted_is_a_connection_error(
    server: tuple[str, web.Application], delays: list[float]
) -> None:
    base, app = server
    async with api(base, max_retries=2) as rest:
        with pytest.raises(XResourceConnectionError, match="HTTP 503") as info:
            await rest.get("/flaky/b", params={"fail": 10})
    assert app[HITS]["flaky:GET:b"] == 3
    assert "try later (3)" in str(info.value)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_no_retry_for_non_idempotent(
    server: tuple[str, web.Application], delays: list[float], method: str
) -> None:
    base, app = server
    async with api(base, max_retries=3) as rest:
        with pytest.raises(XResourceConnectionError, match="HTTP 503"):
            await rest.request(method, "/flaky/c", json={"x": 1}, params={"fail": 1})
    assert app[HITS][f"flaky:{method}:c"] == 1
    assert delays == []


async def test_retry_non_idempotent_opt_in(
    server: tuple[str, web.Application], delays: list[float]
) -> None:
    base, app = server
    async with api(base, retry_non_idempotent=True) as rest:
        assert await rest.post("/flaky/d", json={}, params={"fail": 1}) == {"attempt": 2}
    assert app[HITS]["flaky:POST:d"] == 2


async def test_429_honours_retry_after(
    server: tuple[str, web.Application], delays: list[float]
) -> None:
    base, app = server
    async with api(base, backoff_initial=5.0) as rest:
        answer = await rest.get("/flaky/e", params={"fail": 1, "status": 429, "retry_after": 2})
    assert answer == {"attempt": 2}
    assert delays == [2.0]  # the server's Retry-After, not the 5 s backoff
    assert app[HITS]["flaky:GET:e"] == 2


async def test_429_with_too_long_retry_after_fails_at_once(
    server: tuple[str, web.Application], delays: list[float]
) -> None:
    base, app = server
    async with api(base, max_retry_after=10) as rest:
        with pytest.raises(
            XResourceConnectionError,
            match=r"rate limited \(HTTP 429, "
            r"Retry-After 3600\)",
        ):
            await rest.get("/flaky/f", params={"fail": 5, "status": 429, "retry_after": 3600})
    assert app[HITS]["flaky:GET:f"] == 1
    assert delays == []


async def test_real_backoff_sleep_between_attempts(server: tuple[str, web.Application]) -> None:
    base, app = server
    async with api(base, backoff_initial=0.05, backoff_jitter=0.5) as rest:
        assert await rest.get("/flaky/g", params={"fail": 1}) == {"attempt": 2}
    assert app[HITS]["flaky:GET:g"] == 2


async def test_timeout_is_not_retried(
    server: tuple[str, web.Application], delays: list[float]
) -> None:
    base, app = server
    async with api(base, timeout=0.3) as rest:
        with pytest.raises(XResourceTimeoutError, match=r"did not answer within 0\.3s"):
            await rest.get("/slow")
        with pytest.raises(XResourceTimeoutError, match=r"within 0\.2s"):
            await rest.get("/slow", timeout=0.2)
    assert app[HITS]["slow"] == 2


@pytest.mark.parametrize(
    ("code", "error", "fragment"),
    [
        (401, XResourceAuthenticationError, "refused with HTTP 401"),
        (403, XResourceAuthenticationError, "refused with HTTP 403"),
        (404, XResourceNotFoundError, "does not exist (HTTP 404)"),
        (410, XResourceNotFoundError, "HTTP 410"),
        (408, XResourceTimeoutError, "timed out on the server side (HTTP 408)"),
        (409, XResourceIntegrityError, "HTTP 409"),
        (400, XResourceValidationError, "rejected the request (HTTP 400)"),
        (422, XResourceValidationError, "HTTP 422"),
        (418, XResourceQueryError, "failed with HTTP 418"),
        (501, XResourceConnectionError, "HTTP 501"),
    ],
)
async def test_status_mapping(
    server: tuple[str, web.Application], code: int, error: type[Exception], fragment: str
) -> None:
    base, app = server
    async with api(base, api_key=API_KEY, api_key_in="query", api_key_name="appid") as rest:
        with pytest.raises(error) as info:
            await rest.get(f"/status/{code}", params={"x": "1"})
    message = str(info.value)
    assert fragment in message
    assert f"scripted {code}" in message  # the body's message
    assert f"/v1/status/{code}" in message  # the URL is named...
    assert API_KEY not in message  # ...with the key masked
    assert app[HITS][f"status:{code}"] == 1  # none of these is retried


async def test_504_is_retried_then_a_timeout(
    server: tuple[str, web.Application], delays: list[float]
) -> None:
    base, app = server
    async with api(base, max_retries=1) as rest:
        with pytest.raises(XResourceTimeoutError, match="HTTP 504"):
            await rest.get("/status/504")
    assert app[HITS]["status:504"] == 2


async def test_404_names_the_url(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        with pytest.raises(XResourceNotFoundError) as info:
            await rest.get("/no/such/thing")
    assert "/v1/no/such/thing" in str(info.value)


async def test_page_number_pagination(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        got = [item async for item in rest.paginate_pages("/pages", per_page=5, items_path="data")]
        assert got == ITEMS
        by_total = [
            item
            async for item in rest.paginate_pages(
                "/pages", per_page=10, items_path="data", total_path="total"
            )
        ]
        assert by_total == ITEMS


async def test_cursor_pagination(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        got = [item async for item in rest.paginate_cursor("/cursor", next_cursor_path="meta.next")]
    assert got == ITEMS


async def test_link_header_pagination(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        got = [item async for item in rest.paginate_links("/linked", params={"per_page": 4})]
        assert got == ITEMS
        head = await rest.request("GET", "/linked", envelope=True)
        assert set(head.links) == {"next", "first"}


async def test_link_to_another_host_is_refused(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base) as rest:
        with pytest.raises(XResourceValidationError, match="outside the base URL"):
            _ = [item async for item in rest.paginate_links("/evil-link")]


async def test_redirects_stay_on_the_origin(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base, bearer_token=TOKEN) as rest:
        got = await rest.get("/redirect-in")
        assert got["query"] == {"redirected": "1"}
        with pytest.raises(XResourceQueryError, match="redirected to another origin"):
            await rest.get("/redirect-out")


async def test_escaping_paths_are_refused_without_a_request(
    server: tuple[str, web.Application],
) -> None:
    base, app = server
    async with api(base) as rest:
        for path in (
            "//evil.example/x",
            "http://evil.example/v1/echo",
            "../echo",
            "%2e%2e/v1/echo",
            "https://127.0.0.1/v1/echo",
        ):
            with pytest.raises(XResourceValidationError):
                await rest.get(path)
    assert sum(app[HITS].values()) == 0


async def test_validate_connection(server: tuple[str, web.Application]) -> None:
    base, _ = server
    async with api(base, health_path="/health") as rest:
        assert await rest.validate_connection() is True
    # GET fallback when HEAD is not allowed, then a 404 health path
    async with api(base, health_path="/get-only") as rest:
        head = await rest.request("HEAD", "/get-only", envelope=True, raise_for_status=False)
        assert head.status == 405
        assert await rest.validate_connection() is True
    async with api(base, health_path="/missing") as rest:
        assert await rest.validate_connection() is False


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_dead_port_is_a_connection_error(delays: list[float]) -> None:
    port = _dead_port()
    rest = api(f"http://127.0.0.1:{port}/v1", max_retries=2, bearer_token=TOKEN)
    async with rest:
        with pytest.raises(XResourceConnectionError, match="failed after 3 attempt") as info:
            await rest.get("/echo")
        assert await rest.validate_connection() is False
    assert TOKEN not in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert len(delays) == 2


async def test_dead_port_post_is_tried_once(delays: list[float]) -> None:
    rest = api(f"http://127.0.0.1:{_dead_port()}/v1", max_retries=3)
    async with rest:
        with pytest.raises(XResourceConnectionError, match="after 1 attempt"):
            await rest.post("/echo", json={"a": 1})
    assert delays == []


async def test_lazy_connect_and_disconnect(server: tuple[str, web.Application]) -> None:
    base, _ = server
    rest = api(base)
    assert not rest.is_connected
    assert (await rest.get("/echo"))["method"] == "GET"
    assert rest.is_connected
    session = rest._session
    await rest.disconnect()
    assert session is not None
    assert session.closed
    assert rest._session is None
    assert (await rest.get("/echo"))["method"] == "GET"  # reconnects on demand
    await rest.disconnect()
