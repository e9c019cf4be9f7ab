"""WebSocket ``auth_params`` (as on REST) and ``subscribe(channel)`` without a handler, against a
local aiohttp WebSocket server (the channel server of test_streams_websocket.py) that refuses a
handshake without the right credentials."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web
from stream_helpers import until
from ws_server import ChannelServer

from xresource import (
    ResourceFactory,
    StreamMessage,
    WebSocketResource,
    XResourceAuthenticationError,
    XResourceConnectionError,
    XResourceValidationError,
)

TOKEN = "tök-3n_S3cret/ä"  # non-ASCII and URL-special: it must travel and hide intact


class GuardedServer(ChannelServer):
    """The channel server, behind a check of the handshake's credentials (401 otherwise)."""

    def __init__(self, check: str) -> None:
        super().__init__()
        self.check = check
        self.refused = 0

    def _allowed(self, request: web.Request) -> bool:
        if self.check == "bearer":
            return request.headers.get("Authorization") == f"Bearer {TOKEN}"
        if self.check == "api_key_header":
            return request.headers.get("X-API-Key") == TOKEN
        if self.check == "api_key_query":
            return request.query.get("key") == TOKEN
        if self.check == "basic":
            return request.headers.get("Authorization") == "Basic YW5uOnB3"
        raise AssertionError(self.check)

    async def _channels(self, request: web.Request) -> web.WebSocketResponse:
        if not self._allowed(request):
            self.refused += 1
            raise web.HTTPUnauthorized()
        return await super()._channels(request)


def _ws(server: ChannelServer, **kwargs: Any) -> WebSocketResource:
    kwargs.setdefault("max_reconnect_attempts", 0)
    resource = ResourceFactory.create("websocket", endpoint=f"{server.url}/ws", **kwargs)
    assert isinstance(resource, WebSocketResource)
    return resource


@pytest.mark.parametrize(
    ("check", "auth_params"),
    [
        ("bearer", {"token": TOKEN}),
        ("api_key_header", {"api_key": TOKEN}),
        ("api_key_query", {"api_key": TOKEN, "api_key_name": "key", "api_key_in": "query"}),
        ("basic", {"username": "ann", "password": "pw"}),
    ],
)
async def test_auth_params_open_a_guarded_endpoint(
    check: str, auth_params: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    server = GuardedServer(check)
    await server.start()
    try:
        caplog.set_level(logging.DEBUG)
        # Without credentials the server refuses: an authentication error naming the status.
        anonymous = _ws(server)
        with pytest.raises(XResourceAuthenticationError, match="HTTP 401"):
            await anonymous.connect()
        assert server.refused == 1
        # Wrong ones too, and they are not repeated.
        wrong = {
            k: ("wrong-" + v if k in ("token", "api_key", "password") else v)
            for k, v in auth_params.items()
        }
        with pytest.raises(XResourceConnectionError) as info:
            await _ws(server, auth_params=wrong).connect()
        assert "wrong-" not in str(info.value)

        # The specification's example: auth_params={"token": ...}, then subscribe.
        stream = _ws(server, name="trading_stream", auth_params=auth_params)
        got: list[StreamMessage] = []
        async with stream:
            await stream.subscribe("BTC/USD", got.append)
            await until(lambda: "BTC/USD" in server.channels)
            await stream.publish("BTC/USD", {"price": 1})
            await until(lambda: len(got) == 1)
            shown = [repr(stream), str(stream.get_metadata())]
        assert got[0].value == {"price": 1}
        assert server.refused == 2
        for text in [*shown, str(info.value), caplog.text]:
            assert TOKEN not in text
            assert "YW5uOnB3" not in text
    finally:
        await server.stop()


async def test_spec_subscribe_without_handler_delivers_through_the_iterator() -> None:
    server = GuardedServer("bearer")
    await server.start()
    try:
        ws = _ws(server, name="trading_stream", auth_params={"token": TOKEN})
        trades: list[Any] = []

        async def on_trade(message: StreamMessage) -> None:
            trades.append(message.value["price"])

        # The specification: websocket_resource.on("trade", on_trade); await connect();
        # await websocket_resource.subscribe("BTC/USD") -- no handler.
        ws.on("trade", on_trade)
        await ws.connect()
        try:
            await ws.subscribe("BTC/USD")
            await ws.subscribe("ETH/USD")
            await ws.subscribe("BTC/USD")  # twice: delivered once
            await until(lambda: {"BTC/USD", "ETH/USD"} <= set(server.channels))
            for i in range(3):
                await server.broadcast("BTC/USD", {"type": "trade", "price": i})
            await server.broadcast("ETH/USD", {"type": "quote", "bid": 9})
            await server.broadcast("XRP/USD", {"type": "trade", "price": 99})  # not subscribed

            received: list[StreamMessage] = []

            async def read(n: int) -> None:
                async for message in ws:
                    received.append(message)
                    if len(received) == n:
                        return

            await asyncio.wait_for(read(4), 5)
            assert [(m.topic, m.value) for m in received] == [
                ("BTC/USD", {"type": "trade", "price": 0}),
                ("BTC/USD", {"type": "trade", "price": 1}),
                ("BTC/USD", {"type": "trade", "price": 2}),
                ("ETH/USD", {"type": "quote", "bid": 9}),
            ]
            await until(lambda: trades == [0, 1, 2])  # the typed handler got them too

            # unsubscribe stops the delivery to the iterator and tells the server.
            await ws.unsubscribe("ETH/USD")
            await until(lambda: not server.channels.get("ETH/USD"))
            await server.broadcast("ETH/USD", {"type": "quote", "bid": 10})  # nobody gets it
            await server.broadcast("BTC/USD", {"type": "trade", "price": 3})
            await asyncio.wait_for(read(5), 5)
            assert received[-1].value == {"type": "trade", "price": 3}

            # disconnect() ends a running loop.
            waiting = asyncio.create_task(read(100))
            await asyncio.sleep(0.05)
        finally:
            await ws.disconnect()
        await asyncio.wait_for(waiting, 5)
        assert len(received) == 5
        # After disconnect there is nothing to iterate until a new subscribe.
        with pytest.raises(XResourceValidationError, match="without a handler"):
            async for _ in ws:
                pass
    finally:
        await server.stop()


async def test_messages_nobody_iterates_are_bounded_and_handlers_go_on() -> None:
    server = ChannelServer()
    await server.start()
    try:
        ws = _ws(server, buffer_size=5)
        typed: list[Any] = []
        ws.on("tick", lambda m: typed.append(m.value["n"]))
        async with ws:
            await ws.subscribe("ticks")
            await until(lambda: "ticks" in server.channels)
            for n in range(20):
                await server.broadcast("ticks", {"type": "tick", "n": n})
            # Nobody iterates: the typed handler still sees every message.
            await until(lambda: typed == list(range(20)))
            assert ws.get_metadata()["iterator_dropped"] == 15
            got: list[int] = []

            async def read() -> None:
                async for message in ws:
                    got.append(message.value["n"])
                    if len(got) == 5:
                        return

            await asyncio.wait_for(read(), 5)
            assert got == [15, 16, 17, 18, 19]  # the newest were kept
    finally:
        await server.stop()


async def test_lost_connection_for_good_ends_the_iterator_with_the_error() -> None:
    server = ChannelServer()
    await server.start()
    ws = _ws(
        server, max_reconnect_attempts=1, reconnect_initial_delay=0.05, reconnect_interval=0.05
    )
    try:
        await ws.connect()
        await ws.subscribe("ticks")
        await until(lambda: "ticks" in server.channels)

        async def read() -> None:
            async for _ in ws:
                pass

        task = asyncio.create_task(read())
        await asyncio.sleep(0.05)
        await server.stop()
        with pytest.raises(XResourceConnectionError, match="reconnection attempt"):
            await asyncio.wait_for(task, 10)
    finally:
        await ws.disconnect()
        await server.stop()
