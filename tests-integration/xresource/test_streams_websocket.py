"""WebSocketResource against a local aiohttp WebSocket server that the tests stop and restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from stream_helpers import free_port, until
from ws_server import ChannelServer

from xresource import (
    ResourceFactory,
    StreamMessage,
    WebSocketResource,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceValidationError,
)


@pytest.fixture
async def server() -> AsyncIterator[ChannelServer]:
    srv = ChannelServer()
    await srv.start()
    yield srv
    await srv.stop()


def _resource(server: ChannelServer, **kwargs: Any) -> WebSocketResource:
    resource = ResourceFactory.from_url(f"{server.url}/ws", **kwargs)
    assert isinstance(resource, WebSocketResource)
    return resource


async def test_round_trip_in_order(server: ChannelServer) -> None:
    n = 300
    stream = _resource(server)
    got: list[StreamMessage] = []
    async with stream:
        await stream.subscribe("BTC/USD", got.append)
        await until(lambda: "BTC/USD" in server.channels)
        for i in range(n):
            await stream.publish("BTC/USD", {"price": i})
        await until(lambda: len(got) == n)
        consumed: list[Any] = []

        async def consume() -> None:
            async for message in stream.consume("ETH/USD"):
                consumed.append(message.value)
                if len(consumed) == 3:
                    return

        task = asyncio.create_task(consume())
        await until(lambda: "ETH/USD" in server.channels)
        for v in ("a", 1, [1]):
            await stream.publish("ETH/USD", v)
        await asyncio.wait_for(task, 5)
    assert [m.value for m in got] == [{"price": i} for i in range(n)]
    assert all(m.topic == "BTC/USD" for m in got)
    assert consumed == ["a", 1, [1]]


async def test_typed_events_and_default_topic(server: ChannelServer) -> None:
    stream = _resource(server)
    trades: list[Any] = []
    everything: list[StreamMessage] = []
    stream.on("trade", lambda m: trades.append(m.value))
    stream.on("message", everything.append)
    async with stream:
        await until(lambda: len(server.sockets) == 1)
        await server.push(json.dumps({"type": "trade", "qty": 3}))
        await server.push(json.dumps({"type": "quote"}))
        await server.push("not json")
        await until(lambda: len(everything) == 3)
        await until(lambda: len(trades) == 1)
    assert trades == [{"type": "trade", "qty": 3}]
    assert [m.topic for m in everything] == ["message"] * 3
    assert everything[2].value == "not json"


async def test_server_restart_restores_subscriptions(server: ChannelServer) -> None:
    stream = _resource(
        server, reconnect_initial_delay=0.1, reconnect_interval=0.5, max_reconnect_attempts=40
    )
    got: list[Any] = []
    events: list[str] = []
    stream.on("close", lambda cause: events.append("close"))
    stream.on("reconnect", lambda attempt: events.append("reconnect"))
    async with stream:
        await stream.subscribe("news", lambda m: got.append(m.value))
        await until(lambda: "news" in server.channels)
        await stream.publish("news", "before")
        await until(lambda: got == ["before"])
        await server.stop()
        await until(lambda: "close" in events, what="close event")
        with pytest.raises(XResourceConnectionError):
            await stream.publish("news", "while down")
        await asyncio.sleep(0.3)
        await server.start()
        await until(lambda: "reconnect" in events, 20, "reconnect event")
        await until(lambda: bool(server.channels.get("news")), what="resubscription")
        await server.broadcast("news", "after")
        await until(lambda: got == ["before", "after"], what="message after restart")
        assert server.connections == 2


async def test_exhausted_reconnects(server: ChannelServer) -> None:
    stream = _resource(
        server, reconnect_initial_delay=0.05, reconnect_interval=0.1, max_reconnect_attempts=3
    )
    errors: list[BaseException] = []
    stream.on("error", errors.append)
    async with stream:

        async def consume() -> None:
            async for _ in stream.consume("x"):
                pass

        task = asyncio.create_task(consume())
        await until(lambda: "x" in server.channels)
        await server.stop()
        with pytest.raises(XResourceConnectionError, match="3 reconnection attempt"):
            await asyncio.wait_for(task, 10)
        assert len(errors) == 1


async def test_raw_framing_echo(server: ChannelServer) -> None:
    stream = WebSocketResource(endpoint=f"{server.url}/echo", framing="raw", serializer="raw")
    got: list[StreamMessage] = []
    async with stream:
        await stream.subscribe("message", got.append)
        await stream.publish("ignored", "hello")
        await stream.publish("ignored", b"\x00\xff")
        await stream.send({"a": 1})
        await until(lambda: len(got) == 3)
    assert [m.value for m in got] == [b"hello", b"\x00\xff", b'{"a":1}']


async def test_handler_errors_are_reported(server: ChannelServer) -> None:
    stream = _resource(server)
    errors: list[BaseException] = []
    got: list[Any] = []

    async def handler(message: StreamMessage) -> None:
        if message.value == "boom":
            raise RuntimeError("boom")
        got.append(message.value)

    stream.on("error", errors.append)
    async with stream:
        await stream.subscribe("c", handler)
        await until(lambda: "c" in server.channels)
        for v in ("a", "boom", "b"):
            await stream.publish("c", v)
        await until(lambda: got == ["a", "b"] and len(errors) == 1)
    assert "RuntimeError" in str(errors[0])


async def test_bad_input_and_secrets(server: ChannelServer) -> None:
    with pytest.raises(XResourceConfigurationError, match="ws:// or wss://"):
        ResourceFactory.create("websocket", endpoint="http://x/ws")
    with pytest.raises(XResourceConfigurationError, match="credentials"):
        ResourceFactory.from_url("ws://u:p@127.0.0.1/ws")
    stream = _resource(server, token="tok-123-secret")
    assert "tok-123-secret" not in repr(stream) + str(stream.get_metadata())
    async with stream:
        with pytest.raises(XResourceValidationError, match="cannot be serialized"):
            await stream.publish("c", object())
        with pytest.raises(XResourceValidationError, match="empty"):
            await stream.publish("", 1)
    assert server.auth_headers == ["Bearer tok-123-secret"]
    refused = WebSocketResource(endpoint=f"{server.url}/nope")
    with pytest.raises(XResourceConnectionError, match="HTTP 404"):
        await refused.connect()
    dead = WebSocketResource(endpoint=f"ws://127.0.0.1:{free_port()}/ws", connect_timeout=2)
    with pytest.raises(XResourceConnectionError):
        await dead.connect()


async def test_disconnect_leaves_no_tasks(server: ChannelServer) -> None:
    before = asyncio.all_tasks()
    stream = _resource(server)
    async with stream:
        await stream.subscribe("c", lambda m: None)
        await stream.publish("c", 1)
    assert asyncio.all_tasks() == before
    assert not await stream.validate_connection()


async def test_unsubscribe_sends_control_frame(server: ChannelServer) -> None:
    stream = _resource(server)
    async with stream:
        await stream.subscribe("a", lambda m: None)
        await until(lambda: bool(server.channels.get("a")))
        await stream.unsubscribe("a")
        await until(lambda: not server.channels.get("a"))
        assert stream.active_subscriptions == set()
