"""A local WebSocket server for the stream tests: pub/sub over the resource's ``channels``
framing plus an ``/echo`` endpoint; tests stop and restart it on the same port."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from stream_helpers import free_port

__all__ = ["ChannelServer"]


class ChannelServer:
    """A small pub/sub WebSocket server speaking the resource's ``channels`` framing, plus an
    ``/echo`` endpoint for raw frames. ``stop()``/``start()`` restart it on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.channels: dict[str, set[web.WebSocketResponse]] = {}
        self.sockets: set[web.WebSocketResponse] = set()
        self.connections = 0
        self.auth_headers: list[str | None] = []
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _channels(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.auth_headers.append(request.headers.get("Authorization"))
        self.sockets.add(ws)
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                command = json.loads(frame.data)
                channel = command["channel"]
                if command["action"] == "subscribe":
                    self.channels.setdefault(channel, set()).add(ws)
                elif command["action"] == "unsubscribe":
                    self.channels.get(channel, set()).discard(ws)
                elif command["action"] == "publish":
                    await self.broadcast(channel, command["data"])
        finally:
            self.sockets.discard(ws)
            for subscribers in self.channels.values():
                subscribers.discard(ws)
        return ws

    async def _echo(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await ws.send_str(frame.data)
            elif frame.type == WSMsgType.BINARY:
                await ws.send_bytes(frame.data)
        return ws

    async def broadcast(self, channel: str, data: Any) -> None:
        for ws in list(self.channels.get(channel, ())):
            await ws.send_str(json.dumps({"channel": channel, "data": data}))

    async def push(self, frame: str) -> None:
        for ws in list(self.sockets):
            await ws.send_str(frame)

    async def _close_all(self, app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"restart")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws", self._channels)
        app.router.add_get("/echo", self._echo)
        app.on_shutdown.append(self._close_all)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        self.channels.clear()
