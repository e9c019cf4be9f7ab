"""SSEResource against a local aiohttp Server-Sent Events server that honours Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from stream_helpers import free_port, until

from xresource import (
    ResourceFactory,
    SSEResource,
    StreamMessage,
    XResourceConfigurationError,
    XResourceConnectionError,
)


class EventServer:
    """Keeps a numbered event log that survives restarts; each client gets the events after its
    ``Last-Event-ID`` and then new ones as they are emitted."""

    def __init__(self, retry_ms: int | None = None) -> None:
        self.port = free_port()
        self.events: list[tuple[int, str | None, str]] = []
        self.last_event_ids: list[str | None] = []
        self.retry_ms = retry_ms
        self.changed = asyncio.Event()
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def emit(self, data: Any, event: str | None = None) -> None:
        self.events.append((len(self.events) + 1, event, json.dumps(data)))
        self.changed.set()

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        last = request.headers.get("Last-Event-ID")
        self.last_event_ids.append(last)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if self.retry_ms is not None:
            await response.write(f"retry: {self.retry_ms}\n\n".encode())
        await response.write(b": keep-alive comment\n\n")
        sent = int(last) if last else 0
        while True:
            while sent < len(self.events):
                number, event, data = self.events[sent]
                chunk = f"id: {number}\n" + (f"event: {event}\n" if event else "")
                # multi-line data is split over several data: lines
                chunk += "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
                await response.write(chunk.encode())
                sent += 1
            self.changed.clear()
            await self.changed.wait()

    async def _plain(self, request: web.Request) -> web.Response:
        return web.Response(text="not a stream")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/events", self._stream)
        app.router.add_get("/plain", self._plain)
        self.runner = web.AppRunner(app, shutdown_timeout=0.2)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            self.changed.set()
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def server() -> AsyncIterator[EventServer]:
    srv = EventServer()
    await srv.start()
    yield srv
    await srv.stop()


async def test_round_trip_in_order_by_event_type(server: EventServer) -> None:
    stream = ResourceFactory.from_url(server.url.replace("http://", "sse+http://"))
    assert isinstance(stream, SSEResource)
    prices: list[Any] = []
    async with stream:
        await stream.subscribe("price", lambda m: prices.append(m.value))
        for i in range(200):
            server.emit({"i": i})
            server.emit(i, event="price")
        got: list[StreamMessage] = []
        async for message in stream.consume("message"):
            got.append(message)
            if len(got) == 200:
                break
        await until(lambda: len(prices) == 200)
    assert [m.value for m in got] == [{"i": i} for i in range(200)]
    assert [m.message_id for m in got[:2]] == ["1", "3"]
    assert prices == list(range(200))


async def test_resume_with_last_event_id_after_restart(server: EventServer) -> None:
    stream = SSEResource(
        endpoint=server.url,
        reconnect_initial_delay=0.1,
        reconnect_interval=0.5,
        max_reconnect_attempts=40,
    )
    events: list[str] = []
    stream.on("reconnect", lambda attempt: events.append("reconnect"))
    got: list[Any] = []
    async with stream:
        await stream.subscribe("message", lambda m: got.append(m.value))
        for i in range(5):
            server.emit(i)
        await until(lambda: got == [0, 1, 2, 3, 4])
        await server.stop()
        for i in range(5, 10):  # emitted while the client is away
            server.emit(i)
        await server.start()
        await until(lambda: "reconnect" in events, 20, "reconnect")
        server.emit(10)
        await until(lambda: len(got) >= 11, what="resumed events")
        await asyncio.sleep(0.1)
    assert got == list(range(11))  # nothing lost, nothing twice
    assert server.last_event_ids == [None, "5"]
    assert stream.last_event_id == "11"


async def test_multiline_data_and_retry_field() -> None:
    srv = EventServer(retry_ms=150)
    await srv.start()
    try:
        stream = ResourceFactory.from_url(srv.url, resource_type="sse")
        assert isinstance(stream, SSEResource)
        srv.events.append((1, None, "line one\nline two"))
        async with stream:
            async for message in stream.consume("message"):
                assert message.value == "line one\nline two"
                break
            assert stream.backoff.initial == pytest.approx(0.15)
    finally:
        await srv.stop()


async def test_exhausted_reconnects(server: EventServer) -> None:
    stream = SSEResource(
        endpoint=server.url,
        reconnect_initial_delay=0.05,
        reconnect_interval=0.1,
        max_reconnect_attempts=2,
    )
    errors: list[BaseException] = []
    stream.on("error", errors.append)
    async with stream:
        server.emit("x")

        async def consume() -> None:
            async for _ in stream.consume("message"):
                await server.stop()

        with pytest.raises(XResourceConnectionError, match="2 reconnection attempt"):
            await consume()
    assert len(errors) == 1


async def test_bad_input(server: EventServer) -> None:
    stream = SSEResource(endpoint=server.url, token="sse-tok-secret")
    assert "sse-tok-secret" not in repr(stream) + str(stream.get_metadata())
    with pytest.raises(XResourceConfigurationError, match="one-way"):
        await stream.publish("message", {"a": 1})
    with pytest.raises(XResourceConfigurationError, match="http"):
        ResourceFactory.create("sse", endpoint="ftp://x/events")
    plain = SSEResource(endpoint=f"http://127.0.0.1:{server.port}/plain")
    with pytest.raises(XResourceConnectionError, match="not an event stream"):
        await plain.connect()
    missing = SSEResource(endpoint=f"http://127.0.0.1:{server.port}/missing")
    with pytest.raises(XResourceConnectionError, match="HTTP 404"):
        await missing.connect()


async def test_disconnect_leaves_no_tasks(server: EventServer) -> None:
    before = asyncio.all_tasks()
    stream = SSEResource(endpoint=server.url)
    async with stream:
        await stream.subscribe("message", lambda m: None)
        server.emit(1)
        await asyncio.sleep(0.05)
    # the server's own request handlers may still run; the client's tasks must all be gone
    left = [t for t in asyncio.all_tasks() - before if "RequestHandler" not in repr(t)]
    assert left == []
