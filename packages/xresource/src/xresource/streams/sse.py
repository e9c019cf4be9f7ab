"""``SSEResource``: a Server-Sent Events stream (``text/event-stream``) through ``aiohttp``.

SSE is one-way: the resource reads, it cannot publish. Each event is delivered on its event type
(``event:`` field, ``"message"`` when absent), so ``subscribe("price", handler)`` receives the
``event: price`` events and ``consume(["message"])`` the unnamed ones. The ``id:`` of the last
event is kept (``last_event_id``) and sent as ``Last-Event-ID`` when reconnecting, so a server that
supports resumption sends only what was missed; a ``retry:`` field sets the first reconnect delay.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from xresource._backoff import Backoff
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
)
from xresource.streams._runtime import _Runtime
from xresource.streams.envelope import StreamMessage
from xresource.streams.http import HTTPStreamResource, _HTTPRuntime
from xresource.url import ParsedURL

if TYPE_CHECKING:
    import aiohttp

__all__ = ["SSEResource"]


@dataclass(eq=False)
class _SSERuntime(_HTTPRuntime):
    """The response being read and the server's retry delay."""

    response: aiohttp.ClientResponse | None = None
    retry_ms: int | None = None


class SSEResource(HTTPStreamResource):
    """A Server-Sent Events client with Last-Event-ID resumption.

    Examples:
        >>> SSEResource(endpoint="https://example.com/events").endpoint
        'https://example.com/events'
    """

    resource_type: ClassVar[str] = "sse"
    url_schemes: ClassVar[tuple[str, ...]] = ("sse+http", "sse+https")
    # The reader starts with the first subscribe/consume: events sent before stay in the socket
    # buffer instead of being dropped.
    reader_always: ClassVar[bool] = False

    endpoint: str = Field(description="http:// or https:// URL of the event stream.")
    last_event_id: str | None = Field(
        default=None, description="Resume after this event id (updated as events arrive)."
    )

    runtime_class: ClassVar[type[_Runtime]] = _SSERuntime
    if TYPE_CHECKING:  # the type of the slot (see EventStreamResource)
        _rt: _SSERuntime

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        if value.startswith(("sse+http://", "sse+https://")):
            value = value[4:]
        if not value.startswith(("http://", "https://")):
            raise ValueError("endpoint must be an http:// or https:// URL")
        return cls._reject_endpoint_credentials(value)

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``sse+https://host/path`` (or ``https://...`` with ``resource_type="sse"``)."""
        raw = url.raw
        return cls._endpoint_params(url, "SSE", raw[4:] if raw.startswith("sse+") else raw)

    @property
    def backoff(self) -> Backoff:
        """The reconnection schedule; the server's ``retry:`` sets its first delay."""
        base = super().backoff
        if self._rt.retry_ms is None:
            return base
        initial = min(max(self._rt.retry_ms / 1000, 0.001), self.reconnect_interval)
        return replace(base, initial=initial)

    async def publish(
        self,
        topic: str,
        message: Any,
        *,
        key: str | bytes | None = None,
        headers: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        """SSE is one-way: always raises ``XResourceConfigurationError``."""
        raise XResourceConfigurationError(
            "Server-Sent Events are one-way (server to client); publish through the server's "
            "own API or use a WebSocket resource",
            resource=self.display_name,
            operation="publish",
        )

    # -- transport -------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._require("aiohttp", "sse")
        headers = self._request_headers(
            {"Accept": "text/event-stream", "Cache-Control": "no-cache", **self.headers}
        )
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        session = self._new_session()
        try:
            response = await session.get(self.endpoint, headers=headers)
        except Exception as exc:
            await session.close()
            raise self._connection_error("connect", exc) from None
        content_type = response.headers.get("Content-Type", "")
        if response.status != 200 or not content_type.startswith("text/event-stream"):
            status = response.status
            response.release()
            await session.close()
            raise XResourceConnectionError(
                f"the server answered HTTP {status} with content type {content_type!r}, not an "
                "event stream (200, text/event-stream); check the endpoint",
                resource=self.display_name,
                operation="connect",
            )
        self._rt.session, self._rt.response = session, response

    async def _close(self) -> None:
        response, session = self._rt.response, self._rt.session
        self._rt.response = self._rt.session = None
        if response is not None:
            response.close()
        if session is not None:
            await session.close()

    async def _transport_subscribe(self, topics: list[str]) -> None:
        """Nothing to send: every event arrives on the one stream and is routed by type."""

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        """Nothing to send (see :meth:`_transport_subscribe`)."""

    async def _receive(self) -> AsyncGenerator[StreamMessage, None]:
        response = self._rt.response
        if response is None:
            raise XResourceConnectionError(
                "not connected", resource=self.display_name, operation="receive"
            )
        loads = self.serializer.decoder()
        source = self.display_name
        event = ""
        data: list[str] = []
        event_id: str | None = None
        async for line_bytes in response.content:
            line = line_bytes.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                # A blank line dispatches the event (HTML Living Standard, 9.2.6).
                if event_id is not None:
                    self.last_event_id = event_id or None
                if data:
                    text = "\n".join(data)
                    raw = text.encode("utf-8")
                    yield StreamMessage.received(
                        topic=event or "message",
                        value=loads(raw),
                        raw=raw,
                        headers={},
                        timestamp=datetime.now(UTC),
                        message_id=self.last_event_id,
                        source=source,
                    )
                event, data, event_id = "", [], None
                continue
            if line.startswith(":"):
                continue  # comment / keep-alive
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\x00" not in value:
                    event_id = value
            elif name == "retry" and value.isdigit():
                self._rt.retry_ms = int(value)

    async def _publish_bytes(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | bytes | None,
        headers: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        raise XResourceConfigurationError(
            "Server-Sent Events are one-way", resource=self.display_name, operation="publish"
        )

    async def _ping(self) -> bool:
        return self._rt.response is not None and not self._rt.response.closed
