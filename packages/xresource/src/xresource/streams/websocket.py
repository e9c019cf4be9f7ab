"""``WebSocketResource``: a WebSocket endpoint through ``aiohttp``.

Two framings (``framing=``):

- ``"channels"`` (default): JSON control frames. ``subscribe("BTC/USD")`` sends
  ``{"action": "subscribe", "channel": "BTC/USD"}``, ``unsubscribe`` the same with
  ``"unsubscribe"``, ``publish(topic, value)`` sends
  ``{"action": "publish", "channel": topic, "data": value}``. A received JSON object with a
  ``"channel"`` (or ``"topic"``) field is delivered on that topic with ``"data"`` as its value.
- ``"raw"``: frames are sent and received as they are; nothing is sent on subscribe.

Received frames without a channel are delivered on ``default_topic`` (``"message"``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, field_validator

from xresource.errors import XResourceConnectionError, XResourceValidationError
from xresource.streams.envelope import StreamMessage
from xresource.streams.http import HTTPStreamResource
from xresource.streams.serializers import JSONSerializer
from xresource.url import ParsedURL

if TYPE_CHECKING:
    import aiohttp

__all__ = ["WebSocketResource"]


class WebSocketResource(HTTPStreamResource):
    """A WebSocket client with channel subscriptions and automatic reconnection.

    Examples:
        >>> WebSocketResource(endpoint="wss://stream.example.com/trades").framing
        'channels'
    """

    resource_type: ClassVar[str] = "websocket"
    url_schemes: ClassVar[tuple[str, ...]] = ("ws", "wss")
    reader_always: ClassVar[bool] = True

    endpoint: str = Field(description="ws:// or wss:// URL (without credentials).")
    protocols: list[str] = Field(default_factory=list, description="Subprotocols to offer.")
    framing: Literal["channels", "raw"] = "channels"
    default_topic: str = "message"
    heartbeat: float | None = Field(default=30.0, gt=0, description="Ping interval (s).")

    _ws: aiohttp.ClientWebSocketResponse | None = PrivateAttr(default=None)

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("endpoint must be a ws:// or wss:// URL")
        return cls._reject_endpoint_credentials(value)

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """The URL itself is the endpoint (``ws://host:port/path``)."""
        return cls._endpoint_params(url, "WebSocket", url.raw)

    def _check_subscribe_options(self, options: dict[str, Any]) -> None:
        self._check_options("subscribe", options, ())

    # -- transport -------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._require("aiohttp", "websocket")
        import aiohttp

        headers = self._request_headers(dict(self.headers))
        session = self._new_session()
        try:
            ws = await session.ws_connect(
                self.endpoint,
                protocols=tuple(self.protocols),
                headers=headers,
                heartbeat=self.heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as exc:
            await session.close()
            raise XResourceConnectionError(
                f"the server refused the WebSocket handshake (HTTP {exc.status}); check the "
                "endpoint and credentials",
                resource=self.display_name,
                operation="connect",
            ) from None
        except Exception as exc:
            await session.close()
            raise self._connection_error("connect", exc) from None
        self._session, self._ws = session, ws

    async def _close(self) -> None:
        ws, session = self._ws, self._session
        self._ws = self._session = None
        if ws is not None:
            # A dead socket cannot be closed cleanly; it is gone anyway
            with contextlib.suppress(Exception):
                await ws.close()
        if session is not None:
            await session.close()

    async def _send_control(self, action: str, topics: list[str]) -> None:
        if self.framing != "channels":
            return
        ws = self._live("subscribe")
        for topic in topics:
            await ws.send_str(json.dumps({"action": action, "channel": topic}))

    async def _transport_subscribe(self, topics: list[str]) -> None:
        await self._send_control("subscribe", topics)

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._send_control("unsubscribe", topics)

    def _live(self, operation: str) -> aiohttp.ClientWebSocketResponse:
        ws = self._ws
        if ws is None or ws.closed:
            raise XResourceConnectionError(
                "not connected (the connection is being re-established); retry",
                resource=self.display_name,
                operation=operation,
            )
        return ws

    async def _receive(self) -> AsyncGenerator[StreamMessage, None]:
        import aiohttp

        ws = self._live("receive")
        loads = self.serializer.decoder()
        source = self.display_name
        channels = self.framing == "channels"
        while True:
            frame = await ws.receive()
            if frame.type == aiohttp.WSMsgType.TEXT:
                raw = frame.data.encode("utf-8")
            elif frame.type == aiohttp.WSMsgType.BINARY:
                raw = frame.data
            elif frame.type == aiohttp.WSMsgType.ERROR:
                raise ConnectionError(f"WebSocket error: {ws.exception()}")
            else:  # CLOSE, CLOSING, CLOSED: the server went away
                return
            value = loads(raw)
            topic = self.default_topic
            if channels and isinstance(value, dict):
                channel = value.get("channel", value.get("topic"))
                if isinstance(channel, str) and channel:
                    topic = channel
                    value = value.get("data", value)
            yield StreamMessage.received(
                topic=topic,
                value=value,
                raw=raw,
                headers={},
                timestamp=datetime.now(UTC),
                source=source,
            )

    async def _publish_bytes(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | bytes | None,
        headers: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        self._check_options("publish", options, ())
        if key is not None or headers:
            raise XResourceValidationError(
                "WebSocket frames have no key or headers; put them in the message",
                resource=self.display_name,
                operation="publish",
            )
        ws = self._live(f"publish to {topic!r}")
        try:
            if self.framing == "channels":
                try:
                    data = payload.decode("utf-8")
                    json.loads(data)
                except ValueError:
                    # Not JSON (raw serializer): embed the text, or refuse binary data.
                    try:
                        data = json.dumps(payload.decode("utf-8"))
                    except UnicodeDecodeError:
                        raise XResourceValidationError(
                            "binary payloads cannot be framed as channel messages; use "
                            "framing='raw'",
                            resource=self.display_name,
                            operation="publish",
                        ) from None
                await ws.send_str(
                    f'{{"action":"publish","channel":{json.dumps(topic)},"data":{data}}}'
                )
            else:
                try:
                    await ws.send_str(payload.decode("utf-8"))
                except UnicodeDecodeError:
                    await ws.send_bytes(payload)
        except XResourceValidationError:
            raise
        except Exception as exc:
            raise self._connection_error(f"publish to {topic!r}", exc) from None

    async def send(self, data: str | bytes | dict[str, Any] | list[Any]) -> None:
        """Send one frame as it is (dicts and lists as JSON), whatever the framing."""
        await self.ensure_connected()
        ws = self._live("send")
        try:
            if isinstance(data, bytes):
                await ws.send_bytes(data)
            elif isinstance(data, str):
                await ws.send_str(data)
            else:
                await ws.send_str(JSONSerializer().dumps(data).decode("utf-8"))
        except XResourceValidationError:
            raise
        except Exception as exc:
            raise self._connection_error("send", exc) from None

    async def _ping(self) -> bool:
        return self._ws is not None and not self._ws.closed
