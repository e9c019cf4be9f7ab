"""``MQTTResource``: MQTT 3.1.1/5 through ``aiomqtt``.

The broker's guarantees are exposed as they are: QoS 0/1/2 per publish (``qos=``) and per
subscription (``subscribe(topic, handler, qos=1)``), retained messages (``publish(...,
retain=True)``; received ones have ``message.retained``), and topic filters with the ``+`` (one
level) and ``#`` (the rest) wildcards. ``clean_session=False`` with a fixed ``client_id`` keeps the
session (and QoS>0 messages sent while away) across reconnections.

With a kept session the broker delivers what it queued for the client right after it connects,
before the application's ``subscribe()`` calls reach the resource. The client has acknowledged
those messages (PUBACK) on receipt, so dropping them would lose them: they are held (at most
``buffer_size``, the oldest dropped with a warning beyond) and handed to the first handler that
``subscribe()``s to a matching topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, SecretStr

from xresource.errors import XResourceConnectionError, XResourceValidationError
from xresource.streams._runtime import _Runtime
from xresource.streams.base import EventStreamResource, MessageHandler
from xresource.streams.envelope import StreamMessage
from xresource.streams.url_params import broker_params
from xresource.url import ParsedURL

if TYPE_CHECKING:
    import aiomqtt

__all__ = ["MQTTResource", "mqtt_topic_matches"]

logger = logging.getLogger("xresource.streams")

_MAX_TOPIC_BYTES = 65535


def mqtt_topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches the MQTT filter (``+`` one level, ``#`` the remaining levels).

    Topics starting with ``$`` are not matched by a wildcard in the first level (MQTT 4.7.2).

    >>> mqtt_topic_matches("sensors/+/temp", "sensors/kitchen/temp")
    True
    >>> mqtt_topic_matches("sensors/#", "sensors")
    True
    """
    if topic_filter == topic:
        return True
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= len(t_levels):
            return False
        if level != "+" and level != t_levels[i]:
            return False
    return len(f_levels) == len(t_levels)


@dataclass(eq=False)
class _MQTTRuntime(_Runtime):
    """The client and inbound queue of a running resource, and the kept session's held messages."""

    client: aiomqtt.Client | None = None
    inbound: asyncio.Queue[Any] | None = None
    #: Messages of a kept session that arrived before a matching subscribe() (see the module).
    unclaimed: deque[StreamMessage] = field(default_factory=deque)


class MQTTResource(EventStreamResource):
    """An MQTT broker connection (publish and subscribe on one client).

    Examples:
        >>> MQTTResource(host="127.0.0.1", qos=1).qos
        1
    """

    resource_type: ClassVar[str] = "mqtt"
    url_schemes: ClassVar[tuple[str, ...]] = ("mqtt", "mqtts")
    reader_always: ClassVar[bool] = True

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = Field(default=None, description="Generated when not given.")
    clean_session: bool | None = None
    tls: bool = False
    keepalive: int = Field(default=60, ge=1)
    qos: int = Field(default=0, ge=0, le=2, description="Default QoS of publish and subscribe.")

    runtime_class: ClassVar[type[_Runtime]] = _MQTTRuntime
    if TYPE_CHECKING:  # the type of the slot (see EventStreamResource)
        _rt: _MQTTRuntime

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``mqtt://[user:password@]host[:port][?client_id=..&qos=1]``; ``mqtts://`` uses TLS."""
        tls = url.scheme == "mqtts"
        return broker_params(
            url,
            port=8883 if tls else 1883,
            tls=tls,
            tls_field="tls",
            query=("client_id", "qos", "keepalive", "clean_session"),
        )

    @classmethod
    def validate_topic(cls, topic: str, *, publish: bool = False) -> str:
        """MQTT rules: no wildcards in a publish topic; ``+`` and ``#`` fill whole levels of a
        filter and ``#`` comes last; at most 65535 UTF-8 bytes; no NUL."""
        super().validate_topic(topic, publish=publish)
        operation = "publish" if publish else "subscribe"
        if len(topic.encode("utf-8")) > _MAX_TOPIC_BYTES:
            raise XResourceValidationError(
                f"MQTT topic is longer than {_MAX_TOPIC_BYTES} bytes",
                resource=cls.resource_type,
                operation=operation,
            )
        if publish:
            if "+" in topic or "#" in topic:
                raise XResourceValidationError(
                    f"MQTT publish topic {topic!r} must not contain the wildcards '+' or '#'; "
                    "wildcards are for subscriptions",
                    resource=cls.resource_type,
                    operation=operation,
                )
            return topic
        levels = topic.split("/")
        for i, level in enumerate(levels):
            if "#" in level and (level != "#" or i != len(levels) - 1):
                raise XResourceValidationError(
                    f"MQTT filter {topic!r}: '#' must be a whole level and the last one",
                    resource=cls.resource_type,
                    operation=operation,
                )
            if "+" in level and level != "+":
                raise XResourceValidationError(
                    f"MQTT filter {topic!r}: '+' must be a whole level",
                    resource=cls.resource_type,
                    operation=operation,
                )
        return topic

    def _topic_matches(self, pattern: str, topic: str) -> bool:
        return mqtt_topic_matches(pattern, topic)

    def _wanted(self, topic: str) -> bool:
        if any(
            kind == "topic" and self._topic_matches(key, topic)
            for kind, key in self._rt.dispatchers
        ):
            return True
        return any(
            self._topic_matches(pattern, topic)
            for consumer in self._rt.consumers
            for pattern in consumer.topics
        )

    async def _route(self, message: StreamMessage) -> None:
        if self.clean_session is False and not self._wanted(message.topic):
            # Queued by the broker for the kept session and already acknowledged: hold it.
            if len(self._rt.unclaimed) >= self.buffer_size:
                dropped = self._rt.unclaimed.popleft()
                logger.warning(
                    "%s: more than %d messages of the kept session arrived before a matching "
                    "subscribe(); dropped the oldest (topic %r)",
                    self.display_name,
                    self.buffer_size,
                    dropped.topic,
                )
            self._rt.unclaimed.append(message)
            return
        await super()._route(message)

    async def subscribe(self, topic: str, handler: MessageHandler, **options: Any) -> None:
        """As :meth:`EventStreamResource.subscribe`; with ``clean_session=False`` the handler
        also gets the held messages of the kept session that match ``topic`` (see the module)."""
        await super().subscribe(topic, handler, **options)
        if self._rt.unclaimed:
            held, self._rt.unclaimed = self._rt.unclaimed, deque()
            for message in held:
                if self._topic_matches(topic, message.topic):
                    await super()._route(message)
                else:
                    self._rt.unclaimed.append(message)

    def _check_subscribe_options(self, options: dict[str, Any]) -> None:
        self._check_options("subscribe", options, ("qos",))
        _check_qos(options.get("qos", self.qos), "subscribe")

    # -- transport -------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._require("aiomqtt", "mqtt")
        import aiomqtt

        client = aiomqtt.Client(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            identifier=self.client_id,
            clean_session=self.clean_session,
            tls_params=aiomqtt.TLSParameters() if self.tls else None,
            keepalive=self.keepalive,
            timeout=self.connect_timeout,
        )
        try:
            await client.__aenter__()
        except Exception as exc:
            raise self._connection_error("connect", exc) from None
        # aiomqtt's queue of received messages and its "disconnected" future (private API, so
        # checked: without them the reader uses the public iterator).
        queue = getattr(client, "_queue", None)
        lost = getattr(client, "_disconnected", None)
        if isinstance(queue, asyncio.Queue) and isinstance(lost, asyncio.Future):
            lost.add_done_callback(lambda _: queue.put_nowait(_LOST))
            self._rt.inbound = queue
        else:
            self._rt.inbound = None
        self._rt.client = client

    async def _close(self) -> None:
        client, self._rt.client = self._rt.client, None
        self._rt.inbound = None
        if client is not None:
            # A broken connection cannot be closed cleanly; it is gone anyway
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)
            # aiomqtt cancels its socket housekeeping task with call_soon and does not await it:
            # let the cancellation run and collect the task so that nothing outlives the close.
            misc = client._misc_task
            if misc is not None:
                await asyncio.sleep(0)
                misc.cancel()
                await asyncio.gather(misc, return_exceptions=True)

    async def _transport_subscribe(self, topics: list[str]) -> None:
        client = self._live_client("subscribe")
        for topic in topics:
            qos = self._rt.topic_options.get(topic, {}).get("qos", self.qos)
            await client.subscribe(topic, qos=qos)

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        if self._rt.client is not None:
            await self._rt.client.unsubscribe(topics)

    async def _receive(self) -> AsyncGenerator[StreamMessage, None]:
        client = self._live_client("receive")
        loads = self.serializer.decoder()
        source = self.display_name
        construct = StreamMessage.received
        messages = client.messages
        # aiomqtt's iterator creates a task and an asyncio.wait() (with the "disconnected"
        # future) for every message, even when messages are waiting. When the client exposes its
        # queue (filled by the network callbacks), the reader takes messages from it directly and
        # learns of a lost connection from the marker _open() arranged to put behind the last one.
        queue = self._rt.inbound
        while True:
            if queue is None:
                item = await anext(messages)
            else:
                item = queue.get_nowait() if queue.qsize() else await queue.get()
                if item is _LOST:
                    lost = getattr(client, "_disconnected", None)
                    cause = lost.exception() if lost is not None and lost.done() else None
                    raise ConnectionError("the MQTT connection was lost") from cause
            payload = item.payload
            raw = (
                payload
                if isinstance(payload, bytes)
                else (b"" if payload is None else str(payload).encode("utf-8"))
            )
            mid = item.mid
            yield construct(
                topic=item.topic.value,
                value=loads(raw),
                raw=raw,
                headers={},
                timestamp=datetime.now(UTC),
                qos=item.qos,
                retained=item.retain,
                source=source,
                message_id=str(mid) if mid else None,
            )

    def _live_client(self, operation: str) -> aiomqtt.Client:
        client = self._rt.client
        if client is None:
            raise XResourceConnectionError(
                "not connected (the connection is being re-established); retry",
                resource=self.display_name,
                operation=operation,
            )
        return client

    async def _publish_bytes(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | bytes | None,
        headers: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        if options:
            self._check_options("publish", options, ("qos", "retain"))
        if key is not None:
            raise XResourceValidationError(
                "MQTT messages have no key; put it in the topic",
                resource=self.display_name,
                operation="publish",
            )
        qos = options.get("qos", self.qos)
        _check_qos(qos, "publish")
        if headers:
            raise XResourceValidationError(
                "MQTT 3.1.1 messages have no headers; put them in the message",
                resource=self.display_name,
                operation="publish",
            )
        client = self._rt.client
        if client is None:
            client = self._live_client(f"publish to {topic!r}")  # raises
        try:
            await client.publish(topic, payload, qos=qos, retain=bool(options.get("retain")))
        except Exception as exc:
            raise self._connection_error(f"publish to {topic!r}", exc) from None


#: Put into aiomqtt's queue behind the last message when the connection is lost.
_LOST: Any = object()


def _check_qos(qos: Any, operation: str) -> None:
    if qos not in (0, 1, 2) or isinstance(qos, bool):
        raise XResourceValidationError(
            f"MQTT QoS must be 0, 1 or 2, got {qos!r}", operation=operation
        )
