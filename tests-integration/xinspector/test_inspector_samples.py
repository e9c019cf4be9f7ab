"""xinspector on sampled sources: a real HTTP server's JSON endpoints and a Redis channel.

The HTTP server is a real aiohttp server on a loopback port (started by the test); the channel
is on the real Redis server. Schemas come from sampled responses or messages, bounded by a
count or by a time window.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from xinspector import XInspector, XInspectorError, generate_model
from xresource import ResourceFactory

USERS = [
    {
        "id": i,
        "email": f"u{i}@example.org",
        "joined": f"2024-02-{1 + i % 28:02d}",
        "profile": {"age": 20 + i % 50, "tags": ["a", "b"][: i % 3]},
        **({"nickname": f"n{i}"} if i % 4 == 0 else {}),
    }
    for i in range(60)
]


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async def users(_: web.Request) -> web.Response:
        return web.json_response(USERS)

    async def wrapped(_: web.Request) -> web.Response:
        return web.json_response({"items": USERS[:5], "next": None})

    async def scalar(_: web.Request) -> web.Response:
        return web.json_response("just text")

    app = web.Application()
    app.router.add_get("/users", users)
    app.router.add_get("/wrapped", wrapped)
    app.router.add_get("/scalar", scalar)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_rest_endpoint_schema(api: str) -> None:
    async with ResourceFactory.create("rest", base_url=api) as rest:
        inspector = XInspector(rest, sample_size=50)
        schema = await inspector.discover("users")
        assert schema.kind == "endpoint"
        assert schema.sample_size == 50
        f = schema.fields
        assert (f["id"].type, f["joined"].type) == ("int", "date")
        assert f["profile"].fields is not None
        assert f["profile"].fields["tags"].type == "list"
        assert not f["nickname"].required
        Model = generate_model(schema)
        for user in USERS:
            Model.model_validate(user)
        result = await inspector.inspect("users")
        assert result.total_count == 50
        assert result.field_statistics["email"].pattern == "email"
        assert len(await inspector.preview_data(3, "users")) == 3
        wrapped = await inspector.discover("wrapped")
        assert wrapped.sample_size == 5
        with pytest.raises(XInspectorError, match="not records"):
            await inspector.discover("scalar")
        with pytest.raises(XInspectorError):
            await inspector.discover("missing-endpoint")


async def _publish(redis: Any, channel: str, messages: list[dict[str, Any]]) -> None:
    await asyncio.sleep(0.5)  # let the inspector subscribe first
    for message in messages:
        await redis.publish(channel, message)
        await asyncio.sleep(0.01)


async def test_stream_sample_by_count_and_window(redis_url: str, unique_name: str) -> None:
    async with (
        ResourceFactory.from_url(redis_url) as listener,
        ResourceFactory.from_url(redis_url) as publisher,
    ):
        inspector = XInspector(listener, stream_messages=20, stream_seconds=10)
        events = [
            {
                "event": "login",
                "user": i,
                "at": "2024-03-01T10:00:00",
                **({"ip": "10.0.0.1"} if i % 2 else {}),
            }
            for i in range(40)
        ]
        sender = asyncio.create_task(_publish(publisher, unique_name, events))
        schema = await inspector.discover(unique_name)
        await sender
        assert schema.kind == "stream"
        assert schema.sample_size == 20  # the count bound ended the sample
        assert schema.fields["at"].type == "datetime"
        assert not schema.fields["ip"].required
        windowed = XInspector(listener, stream_messages=1000, stream_seconds=1.5)
        other = f"{unique_name}_w"
        sender = asyncio.create_task(_publish(publisher, other, events[:3]))
        schema = await windowed.discover(other)
        await sender
        assert schema.sample_size == 3  # the time window ended the sample
        quiet = XInspector(listener, stream_seconds=0.5)
        assert (await quiet.discover(f"{unique_name}_none")).fields == {}
