"""``RabbitMQResource``: AMQP 0-9-1 (RabbitMQ) through ``aio-pika``.

The AMQP model is exposed as it is: messages are published to an *exchange* (``exchange``,
``exchange_type``, ``exchange_durable``) with a *routing key* (the topic); the resource consumes
from one *queue* (``queue``: a named, ``queue_durable`` queue survives reconnections and restarts;
without a name the server makes an exclusive queue that lives as long as the connection), bound to
the exchange with each subscribed routing key (``*``/``#`` wildcards on topic exchanges).

Acknowledgements: with ``auto_ack=False`` (the default) a message is acknowledged after its
handler returns, rejected (``nack``, requeued when ``requeue_on_error``) when it raises, and a
message from ``consume()`` is acknowledged when the loop asks for the next one unless the
application called ``message.ack()`` / ``message.nack(requeue=...)`` itself. ``prefetch`` is the
channel's QoS: at most that many unacknowledged messages are in flight. Messages are published
persistent (``persistent=True``) with publisher confirms.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, SecretStr

from xresource.errors import XResourceConnectionError, XResourceValidationError
from xresource.streams._runtime import _Runtime
from xresource.streams.base import EventStreamResource
from xresource.streams.envelope import StreamMessage
from xresource.streams.url_params import broker_params
from xresource.url import ParsedURL

if TYPE_CHECKING:
    from aio_pika.abc import (
        AbstractChannel,
        AbstractConnection,
        AbstractExchange,
        AbstractQueue,
    )
    from aiormq.abc import DeliveredMessage

__all__ = ["RabbitMQResource", "amqp_topic_matches"]

_MAX_KEY_BYTES = 255


def amqp_topic_matches(binding: str, routing_key: str) -> bool:
    """Whether ``routing_key`` matches a topic-exchange binding (``*`` one word, ``#`` any).

    >>> amqp_topic_matches("orders.*.created", "orders.eu.created")
    True
    >>> amqp_topic_matches("orders.#", "orders")
    True
    """
    if binding == routing_key:
        return True
    return _match(binding.split("."), routing_key.split("."))


class _Inbox:
    """The deliveries of one consumer (``basic.consume``) waiting for the reader.

    The consumer is registered on the channel's aiormq layer, under aio-pika: aio-pika would wrap
    every delivery in an ``IncomingMessage``, run the callback in a second task and pass it
    through its queue iterator's own queue, all per message. Here the delivery task appends the
    message and wakes the reader, which takes whatever has arrived in one go. The deque holds at
    most ``prefetch`` messages with manual acknowledgement (the broker sends no more
    unacknowledged ones), exactly like the queue iterator it replaces.
    """

    __slots__ = ("channel", "closed", "items", "tag", "underlay", "waiter")

    def __init__(self, channel: AbstractChannel, underlay: Any) -> None:
        self.channel = channel
        self.underlay = underlay  # aiormq's channel
        self.items: deque[DeliveredMessage] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.tag: str | None = None
        closed = channel.closed()
        if isinstance(closed, asyncio.Future):
            closed.add_done_callback(self.close)

    async def push(self, delivered: DeliveredMessage) -> None:
        """aiormq's consumer callback (runs in the delivery's task)."""
        self.items.append(delivered)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self, _: object = None) -> None:
        """No more deliveries: wake the reader so that it ends."""
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until a delivery arrives or the channel closes."""
        if self.items or self.closed:
            return
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def settlers(self, delivery_tag: int) -> tuple[Any, Any]:
        """``ack()``/``nack(requeue)`` of one delivery (``basic.ack``/``basic.reject``)."""
        underlay = self.underlay

        async def ack() -> None:
            if underlay.is_closed:
                raise ConnectionError("the channel is closed; the broker redelivers the message")
            await underlay.basic_ack(delivery_tag)

        async def nack(requeue: bool) -> None:
            if underlay.is_closed:
                raise ConnectionError("the channel is closed; the broker redelivers the message")
            await underlay.basic_reject(delivery_tag, requeue=requeue)

        return ack, nack


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


@dataclass(eq=False)
class _RabbitMQRuntime(_Runtime):
    """The connection, channel, exchange and queue of a running resource."""

    connection: AbstractConnection | None = None
    channel: AbstractChannel | None = None
    exchange: AbstractExchange | None = None
    queue: AbstractQueue | None = None
    inbox: _Inbox | None = None
    connection_name: str = ""


class RabbitMQResource(EventStreamResource):
    """A RabbitMQ connection: one channel, one exchange, one queue.

    Examples:
        >>> RabbitMQResource(exchange="events", queue="billing", prefetch=50).prefetch
        50
    """

    resource_type: ClassVar[str] = "rabbitmq"
    url_schemes: ClassVar[tuple[str, ...]] = ("amqp", "amqps")

    host: str = "127.0.0.1"
    port: int = Field(default=5672, ge=1, le=65535)
    username: str = "guest"
    password: SecretStr = SecretStr("guest")
    virtual_host: str = "/"
    ssl: bool = False
    exchange: str = Field(default="amq.topic", min_length=1)
    exchange_type: Literal["direct", "topic", "fanout", "headers"] = "topic"
    exchange_durable: bool = True
    queue: str | None = Field(default=None, description="Named queue; None: exclusive queue.")
    queue_durable: bool = True
    prefetch: int = Field(default=100, ge=0, le=65535, description="Channel QoS (0: no limit).")
    auto_ack: bool = False
    requeue_on_error: bool = False
    persistent: bool = True
    publisher_confirms: bool = True

    runtime_class: ClassVar[type[_Runtime]] = _RabbitMQRuntime
    if TYPE_CHECKING:  # the type of the slot (see EventStreamResource)
        _rt: _RabbitMQRuntime

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``amqp://user:password@host:port/vhost?exchange=x&queue=q&prefetch=10``."""
        tls = url.scheme == "amqps"
        params = broker_params(
            url,
            port=5671 if tls else 5672,
            tls=tls,
            tls_field="ssl",
            query=("exchange", "exchange_type", "queue", "prefetch", "auto_ack"),
        )
        vhost = url.path[1:] if url.path.startswith("/") else url.path
        if vhost:
            params["virtual_host"] = vhost
        return params

    @classmethod
    def validate_topic(cls, topic: str, *, publish: bool = False) -> str:
        """AMQP routing keys: at most 255 UTF-8 bytes (short strings)."""
        super().validate_topic(topic, publish=publish)
        if len(topic.encode("utf-8")) > _MAX_KEY_BYTES:
            raise XResourceValidationError(
                f"AMQP routing key is longer than {_MAX_KEY_BYTES} bytes",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        return topic

    def _topic_matches(self, pattern: str, topic: str) -> bool:
        if self.exchange_type == "topic":
            return amqp_topic_matches(pattern, topic)
        if self.exchange_type == "direct":
            return pattern == topic
        return True  # fanout and headers exchanges ignore routing keys

    def _requeue_failed(self) -> bool:
        return self.requeue_on_error

    @property
    def connection_name(self) -> str:
        """The ``connection_name`` client property this resource shows in the management UI."""
        return self._rt.connection_name

    # -- transport -------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._require("aio_pika", "rabbitmq")
        import aio_pika

        if not self._rt.connection_name:
            self._rt.connection_name = f"xresource-{self.name}-{uuid.uuid4().hex[:8]}"
        try:
            connection = await aio_pika.connect(
                host=self.host,
                port=self.port,
                login=self.username,
                password=self.password.get_secret_value(),
                virtualhost=self.virtual_host,
                ssl=self.ssl,
                timeout=self.connect_timeout,
                # aio-pika turns these into URL parameters; aiormq reads "name" as connection_name.
                client_properties={"name": self._rt.connection_name},
            )
        except Exception as exc:
            raise self._connection_error("connect", exc) from None
        try:
            channel = await connection.channel(publisher_confirms=self.publisher_confirms)
            if self.prefetch:
                await channel.set_qos(prefetch_count=self.prefetch)
            exchange = await channel.declare_exchange(
                self.exchange,
                type=aio_pika.ExchangeType(self.exchange_type),
                durable=self.exchange_durable,
                # amq.* exchanges exist and may not be declared, only checked.
                passive=self.exchange.startswith("amq."),
            )
        except Exception as exc:
            await connection.close()
            raise self._connection_error(
                "declare exchange",
                exc,
                hint=f"check the exchange {self.exchange!r} (type and durability must match an "
                "existing one)",
            ) from None
        self._rt.connection, self._rt.channel, self._rt.exchange = connection, channel, exchange

    async def _close(self) -> None:
        inbox, connection = self._rt.inbox, self._rt.connection
        self._rt.inbox = None
        self._rt.queue = self._rt.exchange = self._rt.channel = None
        self._rt.connection = None
        if inbox is not None:
            inbox.close()  # the reader stops taking deliveries
            # The channel may be gone already: the broker then requeues what was unacknowledged.
            with contextlib.suppress(Exception):
                if inbox.tag is not None and not inbox.underlay.is_closed:
                    await inbox.underlay.basic_cancel(inbox.tag)
                    # Received but never handed to the application: back to the queue.
                    while inbox.items and not self.auto_ack:
                        tag = inbox.items.popleft().delivery_tag
                        if tag is not None:
                            await inbox.underlay.basic_reject(tag, requeue=True)
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _declare_queue(self) -> AbstractQueue:
        if self._rt.queue is None:
            assert self._rt.channel is not None
            if self.queue:
                self._rt.queue = await self._rt.channel.declare_queue(
                    self.queue, durable=self.queue_durable
                )
            else:
                self._rt.queue = await self._rt.channel.declare_queue(
                    exclusive=True, auto_delete=True
                )
        return self._rt.queue

    async def _transport_subscribe(self, topics: list[str]) -> None:
        if self._rt.channel is None or self._rt.exchange is None:
            raise XResourceConnectionError(
                "not connected", resource=self.display_name, operation="subscribe"
            )
        queue = await self._declare_queue()
        for topic in topics:
            await queue.bind(self._rt.exchange, routing_key=topic)
        if self._rt.inbox is None:
            # Consuming starts after the bindings, so nothing arrives that nobody wants.
            underlay = await self._rt.channel.get_underlay_channel()
            inbox = _Inbox(self._rt.channel, underlay)
            ok = await underlay.basic_consume(queue.name, inbox.push, no_ack=self.auto_ack)
            inbox.tag = ok.consumer_tag
            self._rt.inbox = inbox

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        if self._rt.queue is None or self._rt.exchange is None:
            return
        for topic in topics:
            await self._rt.queue.unbind(self._rt.exchange, routing_key=topic)

    async def _receive(self) -> AsyncGenerator[StreamMessage, None]:
        inbox = self._rt.inbox
        if inbox is None:
            raise XResourceConnectionError(
                "not consuming", resource=self.display_name, operation="receive"
            )
        loads = self.serializer.decoder()
        source = self.display_name
        manual = not self.auto_ack
        construct = StreamMessage.received
        items = inbox.items
        while True:
            while items:
                delivered = items.popleft()
                delivery = delivered.delivery
                properties = delivered.header.properties
                raw = delivered.body
                headers = properties.headers
                tag = delivery.delivery_tag  # type: ignore[union-attr]
                message = construct(
                    topic=delivery.routing_key or "",  # type: ignore[union-attr]
                    value=loads(raw),
                    raw=raw,
                    headers=dict(headers) if headers else {},
                    timestamp=_timestamp(properties.timestamp),
                    delivery_tag=tag,
                    redelivered=delivery.redelivered,  # type: ignore[union-attr]
                    message_id=properties.message_id,
                    source=source,
                )
                if manual and tag is not None:
                    message.bind_ack(*inbox.settlers(tag))
                yield message
            if inbox.closed:
                # The channel or the connection closed: the read loop reconnects.
                return
            await inbox.wait()

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
            self._check_options(
                "publish", options, ("message_id", "priority", "expiration", "persistent")
            )
        if key is not None:
            raise XResourceValidationError(
                "AMQP messages have no key: the topic is the routing key",
                resource=self.display_name,
                operation="publish",
            )
        aio_pika = _aio_pika()
        persistent = options.get("persistent", self.persistent) if options else self.persistent
        message = aio_pika.Message(
            payload,
            headers=headers or None,
            delivery_mode=(
                aio_pika.DeliveryMode.PERSISTENT
                if persistent
                else aio_pika.DeliveryMode.NOT_PERSISTENT
            ),
            message_id=options.get("message_id") if options else None,
            priority=options.get("priority") if options else None,
            expiration=options.get("expiration") if options else None,
            content_type="application/json" if self.serializer.name == "json" else None,
        )
        rt = self._rt
        exchange = rt.exchange
        if exchange is None or not self._is_open():
            if rt.reconnecting:
                raise XResourceConnectionError(
                    "the connection is being re-established; retry",
                    resource=self.display_name,
                    operation=f"publish to {topic!r}",
                )
            await self._reopen_for_publish()
            exchange = rt.exchange
        assert exchange is not None
        try:
            await exchange.publish(message, routing_key=topic)
        except Exception as exc:
            raise self._connection_error(f"publish to {topic!r}", exc) from None

    async def _reopen_for_publish(self) -> None:
        # Publish-only resources have no reader to notice a lost connection: reconnect here.
        async with self._rt.transport_lock:
            if self._is_open():
                return
            await self._close()
            await self._open()
            if self._rt.topic_refs:
                await self._transport_subscribe(list(self._rt.topic_refs))
        self._ensure_reader()

    def _check_subscribe_options(self, options: dict[str, Any]) -> None:
        self._check_options("subscribe", options, ())

    async def purge(self) -> int:
        """Delete every message waiting in the resource's queue; returns how many."""
        await self.ensure_connected()
        queue = await self._declare_queue()
        try:
            result = await queue.purge()
        except Exception as exc:
            raise self._connection_error("purge", exc) from None
        return int(getattr(result, "message_count", 0) or 0)

    async def delete_queue(self) -> None:
        """Delete the resource's named queue (tests and tear-down)."""
        await self.ensure_connected()
        if self._rt.channel is not None and self.queue:
            try:
                await self._rt.channel.queue_delete(self.queue)
            except Exception as exc:
                raise self._connection_error("delete queue", exc) from None
            self._rt.queue = None

    async def _ping(self) -> bool:
        return self._is_open()

    def _is_open(self) -> bool:
        # A broker-side close may leave the connection object looking open for a moment while
        # its channel is already closed: both must be usable.
        rt = self._rt
        connection, channel = rt.connection, rt.channel
        return (
            connection is not None
            and not connection.is_closed
            and channel is not None
            and not channel.is_closed
        )


def _aio_pika() -> Any:
    # Imported on first use (connect() checked that it is installed); cached for the hot path.
    global _AIO_PIKA
    if _AIO_PIKA is None:
        import aio_pika

        _AIO_PIKA = aio_pika
    return _AIO_PIKA


_AIO_PIKA: Any = None


def _timestamp(value: Any) -> datetime | None:
    # pamqp decodes the AMQP timestamp property to a datetime.
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None
