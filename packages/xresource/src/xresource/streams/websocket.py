"""``WebSocketResource``: a WebSocket endpoint through ``aiohttp``.

Two framings (``framing=``):

- ``"channels"`` (default): JSON control frames. ``subscribe("BTC/USD")`` sends
  ``{"action": "subscribe", "channel": "BTC/USD"}``, ``unsubscribe`` the same with
  ``"unsubscribe"``, ``publish(topic, value)`` sends
  ``{"action": "publish", "channel": topic, "data": value}``. A received JSON object with a
  ``"channel"`` (or ``"topic"``) field is delivered on that topic with ``"data"`` as its value.
- ``"raw"``: frames are sent and received as they are; nothing is sent on subscribe.

Received frames without a channel are delivered on ``default_topic`` (``"message"``).

Credentials are given as on the REST resource: ``auth_params={"token": ...}`` (sent as
``Authorization: Bearer``), ``{"api_key": ...}`` (an ``X-API-Key`` header, or another header or a
query parameter with ``api_key_name`` / ``api_key_in``), ``{"username": ..., "password": ...}``
(``Authorization: Basic``), or the fields themselves (``token=``, ``api_key=``...). They are
``SecretStr``: no ``repr()``, metadata, error or log line shows them.

``subscribe(channel)`` without a handler (the specification's example) delivers the channel's
messages through the resource's async iterator: ``async for message in resource``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, quote_plus

from pydantic import Field, SecretStr, field_validator, model_validator

from xresource.errors import (
    XResourceAuthenticationError,
    XResourceConnectionError,
    XResourceValidationError,
)
from xresource.network.auth import apply_auth_params, auth_headers_and_params
from xresource.streams._buffer import _Buffer
from xresource.streams._dispatch import MessageHandler, _Consumer
from xresource.streams._runtime import _Runtime
from xresource.streams.envelope import StreamMessage
from xresource.streams.http import HTTPStreamResource, _HTTPRuntime
from xresource.streams.serializers import JSONSerializer
from xresource.url import ParsedURL

if TYPE_CHECKING:
    import aiohttp

__all__ = ["WebSocketResource"]

logger = logging.getLogger("xresource.streams")
_MASK = "**********"


@dataclass(eq=False)
class _WebSocketRuntime(_HTTPRuntime):
    """The WebSocket connection of a running resource and its iterator's consumer."""

    ws: aiohttp.ClientWebSocketResponse | None = None
    # Messages of the channels subscribed without a handler, read by ``async for``; a consumer
    # record without topics: routing never fills it, its channel handler does, and disconnect()
    # or exhausted reconnection end it like every consume().
    pull: _Consumer | None = None
    pull_topics: set[str] = field(default_factory=set)
    pull_readers: int = 0
    pull_dropped: int = 0


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
    api_key: SecretStr | None = Field(default=None, description="Sent as api_key_name.")
    api_key_name: str = Field(default="X-API-Key", min_length=1, max_length=200)
    api_key_in: Literal["header", "query"] = "header"
    username: str | None = Field(default=None, description="Basic auth, with password.")
    password: SecretStr | None = None

    runtime_class: ClassVar[type[_Runtime]] = _WebSocketRuntime
    if TYPE_CHECKING:  # the type of the slot (see EventStreamResource)
        _rt: _WebSocketRuntime

    @model_validator(mode="before")
    @classmethod
    def _auth_params(cls, data: Any) -> Any:
        # Before the fields: the spec's auth_params land in SecretStr fields, never in a plain one.
        if isinstance(data, Mapping) and "auth_params" in data:
            return apply_auth_params(dict(data), {"bearer_token": "token"})
        return data

    @model_validator(mode="after")
    def _check_auth(self) -> WebSocketResource:
        if self.token is not None and self.username is not None:
            raise ValueError(
                "give token or username/password, not both (both would set the Authorization "
                "header)"
            )
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        name = self.api_key_name
        if any(ord(c) < 33 or c in ':()<>@,;"/[]?={}\\' for c in name):
            raise ValueError(f"api_key_name {name[:40]!r} is not a valid header or parameter name")
        return self

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

        # The REST resource's code: the same auth_params give the same headers and parameters.
        auth_headers, auth_query = auth_headers_and_params(
            bearer_token=self.token,
            api_key=self.api_key,
            api_key_name=self.api_key_name,
            api_key_in=self.api_key_in,
            username=self.username,
            password=self.password,
        )
        headers = {**self.headers, **auth_headers}
        session = self._new_session()
        try:
            ws = await session.ws_connect(
                self.endpoint,
                protocols=tuple(self.protocols),
                headers=headers,
                params=auth_query or None,
                heartbeat=self.heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as exc:
            await session.close()
            refused = exc.status in (401, 403)
            error = XResourceAuthenticationError if refused else XResourceConnectionError
            raise error(
                f"the server refused the WebSocket handshake (HTTP {exc.status}); check the "
                + ("credentials (token, api_key, username/password)" if refused else "endpoint"),
                resource=self.display_name,
                operation="connect",
            ) from None
        except Exception as exc:
            await session.close()
            raise self._connection_error("connect", exc) from None
        self._rt.session, self._rt.ws = session, ws

    async def _close(self) -> None:
        ws, session = self._rt.ws, self._rt.session
        self._rt.ws = self._rt.session = None
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
        if self._rt.ws is not None and not self._rt.ws.closed:
            await self._send_control("unsubscribe", topics)

    def _live(self, operation: str) -> aiohttp.ClientWebSocketResponse:
        ws = self._rt.ws
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
        return self._rt.ws is not None and not self._rt.ws.closed

    def _connection_error(
        self,
        operation: str,
        exc: BaseException,
        hint: str = "check that the server is running and reachable",
    ) -> XResourceConnectionError:
        # aiohttp's errors may quote the request URL, whose query holds an api_key sent there.
        error = super()._connection_error(operation, exc, hint)
        text = error.message
        for secret in (self.api_key, self.token, self.password):
            value = secret.get_secret_value() if secret is not None else ""
            # As given, and as a URL carries it.
            for form in {value, quote(value, safe=""), quote_plus(value)} - {""}:
                text = text.replace(form, _MASK)
        if text == error.message:
            return error
        return XResourceConnectionError(
            text.split(f"{operation}: ", 1)[-1], resource=self.display_name, operation=operation
        )

    # -- subscriptions without a handler: the async iterator -----------------------------------
    async def subscribe(
        self, topic: str, handler: MessageHandler | None = None, **options: Any
    ) -> None:
        """Subscribe to a channel; without ``handler`` its messages come through ``async for``.

        With a handler this is every stream's ``subscribe``. Without one (the specification's
        ``await websocket_resource.subscribe("BTC/USD")``) the channel's messages are queued for
        the resource's async iterator, in arrival order, across every channel subscribed this
        way. While nobody iterates, at most ``buffer_size`` messages are kept (the oldest are
        dropped and counted in ``get_metadata()["iterator_dropped"]``), so that the ``on(...)``
        handlers of the same messages never stall; while a loop iterates, a full queue makes the
        reader wait (backpressure) as ``consume()`` does.

        Examples:
            >>> async def trades(ws: WebSocketResource) -> None:
            ...     await ws.subscribe("BTC/USD")
            ...     async for message in ws:
            ...         print(message.topic, message.value)
        """
        if handler is not None:
            await super().subscribe(topic, handler, **options)
            return
        self._check_topic(topic)  # before anything is set up for it
        if (
            topic in self._rt.pull_topics
            and self._rt.pull is not None
            and self._rt.pull.end is None
        ):
            return  # already delivered to the iterator
        pull = self._rt.pull
        if pull is None or pull.end is not None:
            pull = _Consumer((), _Buffer(self.buffer_size))
            self._rt.pull, self._rt.pull_topics = pull, set()
            self._rt.consumers.add(pull)
        await super().subscribe(topic, self._to_iterator, **options)
        self._rt.pull_topics.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        """Stop the channel's handlers, and its delivery to the iterator."""
        self._rt.pull_topics.discard(topic)
        await super().unsubscribe(topic)

    async def _to_iterator(self, message: StreamMessage) -> None:
        pull = self._rt.pull
        if pull is None or pull.end is not None or message.topic not in self._rt.pull_topics:
            return
        queue = pull.queue
        if queue.full() and not self._rt.pull_readers:
            # Nobody iterates: keep the newest, so that the other handlers of the stream go on.
            queue.get_nowait()
            self._rt.pull_dropped += 1
            if self._rt.pull_dropped == 1:
                logger.warning(
                    "%s: %d messages wait for 'async for' and nobody iterates; the oldest are "
                    "dropped (subscribe with a handler, or iterate)",
                    self.display_name,
                    queue.maxsize,
                )
        await queue.put(message)

    async def __aiter__(self) -> AsyncIterator[StreamMessage]:
        """The messages of the channels subscribed without a handler, as they arrive.

        Ends on ``disconnect()``; raises ``XResourceConnectionError`` when the connection is lost
        for good (reconnection exhausted), and ``XResourceValidationError`` when no channel was
        subscribed without a handler (the loop would wait forever).
        """
        pull = self._rt.pull
        if pull is None or (pull.end is None and not self._rt.pull_topics):
            raise XResourceValidationError(
                "nothing to iterate: subscribe(channel) without a handler first",
                resource=self.display_name,
                operation="iterate",
            )
        queue = pull.queue
        self._rt.pull_readers += 1
        try:
            while True:
                if queue.size:
                    item = queue.get_nowait()
                elif pull.end is not None:
                    item = pull.end
                else:
                    item = await queue.get()
                if isinstance(item, StreamMessage):
                    yield item
                    continue
                # The end marker of disconnect() or of exhausted reconnection.
                if item.error is not None:
                    raise item.error
                return
        finally:
            self._rt.pull_readers -= 1
            if not self._rt.pull_readers and queue.full():
                # A handler may wait for room that no loop will make now: make it, dropping
                # the oldest, as when nobody iterates.
                queue.get_nowait()
                self._rt.pull_dropped += 1

    async def _disconnect(self) -> None:
        await super()._disconnect()
        pull, self._rt.pull = self._rt.pull, None
        self._rt.pull_topics = set()
        if pull is not None:
            self._rt.consumers.discard(pull)  # its end marker stays for a loop still reading

    def get_metadata(self) -> dict[str, Any]:
        """Every stream's metadata, plus what the iterator dropped while nobody iterated."""
        meta = super().get_metadata()
        meta["iterator_dropped"] = self._rt.pull_dropped
        return meta
