"""``EventStreamResource``: one interface for every event stream, and the machinery they share.

Every stream resource offers the same operations:

- ``publish(topic, message)``: serialize (``XResourceValidationError`` before anything is sent),
  then send;
- ``subscribe(topic, handler)`` / ``unsubscribe(topic)``: call ``handler`` for every message of
  ``topic`` in a background worker;
- ``async for message in resource.consume(topics)``: pull messages;
- ``on(event, handler)``: lifecycle events ``message`` (every message), ``error``, ``close``,
  ``reconnect``; any other name receives the JSON messages whose ``"type"`` field equals it.

One background *reader* task takes messages from the connection and puts them into bounded queues
(``buffer_size``), one per subscription and one per ``consume()``: when a handler is slow, its
queue fills and the reader waits (backpressure) instead of buffering without bound. A handler that
raises does not stop anything: the error goes to the ``error`` handlers and the log (redacted).

When the connection is lost the reader reconnects with jittered exponential backoff (from
``reconnect_initial_delay`` doubling up to ``reconnect_interval``, each delay shortened by a random
part of up to ``reconnect_jitter``, equal jitter by default, at most ``max_reconnect_attempts``
attempts) and restores every active subscription. After the last
failed attempt an ``XResourceConnectionError`` goes to the ``error`` handlers and is raised by
every running ``consume()`` and by later operations. ``disconnect()`` cancels and awaits every
background task.

Subclasses implement the transport: :meth:`_open`, :meth:`_close`, :meth:`_transport_subscribe`,
:meth:`_transport_unsubscribe`, :meth:`_receive` and :meth:`_publish_bytes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import ConfigDict, Field, field_serializer, field_validator

from xobj_prototype import redact_text
from xresource._backoff import Backoff, parse_jitter
from xresource.errors import XResourceError, XResourceValidationError
from xresource.streams._buffer import MessageBatch, _Buffer, _End
from xresource.streams._dispatch import (
    EventHandler,
    MessageHandler,
    _call,
    _Consumer,
    _Dispatcher,
    _release,
)
from xresource.streams._reconnect import read_loop
from xresource.streams._runtime import _Runtime
from xresource.streams._transport import _StreamTransport
from xresource.streams.envelope import StreamMessage
from xresource.streams.serializers import JSONSerializer, Serializer, get_serializer

__all__ = [
    "LIFECYCLE_EVENTS",
    "EventHandler",
    "EventStreamResource",
    "MessageBatch",
    "MessageHandler",
]

logger = logging.getLogger("xresource.streams")

#: The lifecycle events of ``on()``: their handlers get the message, the error, the cause of the
#: close (``None`` on ``disconnect()``) and the number of the successful reconnection attempt.
LIFECYCLE_EVENTS = frozenset({"message", "error", "close", "reconnect"})

# Topics that passed validate_topic(publish=True), per class: publishing to the same topic again
# skips the checks (bounded; cleared when full).
_VALID_PUBLISH_TOPICS: dict[type, set[str]] = {}
_TOPIC_CACHE_SIZE = 4096


class EventStreamResource(_StreamTransport):
    """Base of the event stream resources (WebSocket, SSE, Redis, Kafka, RabbitMQ, MQTT).

    Examples:
        >>> async def main(stream: EventStreamResource) -> None:
        ...     async with stream:
        ...         await stream.subscribe("user_events", print)
        ...         await stream.publish("user_events", {"type": "login", "user_id": "123"})
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    reconnect_interval: float = Field(
        default=5.0, gt=0, description="Longest delay between two reconnection attempts (s)."
    )
    reconnect_initial_delay: float = Field(
        default=0.2, gt=0, description="Delay before the first reconnection attempt (s)."
    )
    max_reconnect_attempts: int = Field(
        default=10, ge=0, description="Reconnection attempts before giving up (0: never retry)."
    )
    reconnect_jitter: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Random part of each reconnection delay: 0.5 or 'equal' (default) draws it "
        "from [d/2, d], 1 or 'full' from [0, d], 0 or 'off' waits exactly d.",
    )
    buffer_size: int = Field(
        default=1000,
        ge=1,
        le=10_000_000,
        description="Messages buffered per subscription or consumer before the reader waits.",
    )
    connect_timeout: float = Field(default=10.0, gt=0, description="Timeout of one connect (s).")
    serializer: Serializer = Field(
        default_factory=JSONSerializer,
        description="Encodes published values: 'json' (default), 'raw' or a Serializer.",
    )

    #: Start the reader at connect even without subscriptions (connection-oriented transports,
    #: where the reader is what notices a lost connection).
    reader_always: ClassVar[bool] = False
    #: Acknowledge a message after its handler returned (``nack`` when it raised) and a consumed
    #: message when ``consume()`` is asked for the next one, unless the application settled it.
    settle_after_handler: ClassVar[bool] = True
    #: The runtime state class of this broker (a subclass of ``_Runtime`` holding its driver's
    #: objects).
    runtime_class: ClassVar[type[_Runtime]] = _Runtime

    # Everything that changes while the stream runs lives in one plain object in a slot (see
    # xresource.streams._runtime): pydantic's private attributes cost a __getattr__ per read.
    __slots__ = ("_rt",)
    if TYPE_CHECKING:  # declared for the type checker only: pydantic takes annotations as fields
        _rt: _Runtime

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._rt = self._new_runtime()

    def _new_runtime(self) -> _Runtime:
        return self.runtime_class(matches=self._topic_matches)

    # pydantic copies and pickles a model's fields and private attributes, not its slots: a
    # copy gets runtime state of its own (it is not connected, whatever the original is).
    def __copy__(self) -> Self:
        copied = super().__copy__()
        copied._rt = copied._new_runtime()
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied = super().__deepcopy__(memo)
        copied._rt = copied._new_runtime()
        return copied

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._rt = self._new_runtime()

    @field_validator("serializer", mode="before")
    @classmethod
    def _coerce_serializer(cls, value: Any) -> Serializer:
        try:
            return get_serializer(value)
        except XResourceValidationError as exc:
            raise ValueError(exc.message) from None

    @field_validator("reconnect_jitter", mode="before")
    @classmethod
    def _coerce_jitter(cls, value: Any) -> float:
        # Equal jitter by default: clients that lost the same server spread their reconnects
        # (no thundering herd), yet each delay keeps at least half of its exponential growth.
        return parse_jitter(value)

    @field_serializer("serializer")
    def _serialize_serializer(self, value: Serializer) -> str:
        return value.name

    # -- configuration helpers ------------------------------------------------------------------
    @property
    def backoff(self) -> Backoff:
        """The reconnection schedule these settings give."""
        return Backoff(
            initial=min(self.reconnect_initial_delay, self.reconnect_interval),
            maximum=self.reconnect_interval,
            max_attempts=self.max_reconnect_attempts,
            jitter=self.reconnect_jitter,
        )

    @property
    def active_subscriptions(self) -> set[str]:
        """Topics (channels, filters, routing keys) currently subscribed, by handlers or
        ``consume()``; restored after every reconnection."""
        return set(self._rt.topic_refs)

    @property
    def reconnect_count(self) -> int:
        """How many times the connection was lost and re-established since ``connect()``."""
        return self._rt.reconnect_count

    # -- lifecycle -------------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the connection (see :meth:`XResource.connect`)."""
        try:
            await super().connect()
        finally:
            # Mirrored for publish(), which reads it for every message.
            self._rt.connected = self._connected

    async def disconnect(self) -> None:
        """Close the connection and await every background task (see
        :meth:`XResource.disconnect`)."""
        try:
            await super().disconnect()
        finally:
            self._rt.connected = self._connected

    async def _connect(self) -> None:
        self._rt.closing = False
        self._rt.fatal = None
        self._rt.reconnect_count = 0
        await self._open()
        for name, handlers in self._rt.event_handlers.items():
            if name not in LIFECYCLE_EVENTS - {"message"} and handlers:
                self._dispatcher("message" if name == "message" else "event", name)
        if self.reader_always:
            self._ensure_reader()

    async def _disconnect(self) -> None:
        self._rt.closing = True
        tasks = [d.task for d in self._rt.dispatchers.values() if d.task is not None]
        if self._rt.reader is not None:
            tasks.append(self._rt.reader)
        for task in tasks:
            task.cancel()
        # Awaited, not just cancelled: nothing may outlive disconnect() (no "Task was destroyed").
        await asyncio.gather(*tasks, return_exceptions=True)
        self._rt.reader = None
        self._rt.end_consumers(None)
        # A subscribe/unsubscribe in flight (e.g. a consume() loop being closed) finishes first.
        async with self._rt.transport_lock:
            with contextlib.suppress(Exception):
                await self._close()
        self._rt.dispatchers.clear()
        self._rt.topic_refs.clear()
        self._rt.topic_options.clear()
        self._rt.fatal = None
        await self._emit("close", None)

    async def validate_connection(self) -> bool:
        """Whether the stream is connected and its server answers now; never raises."""
        if not self._connected or self._rt.fatal is not None or self._rt.reconnecting:
            return False
        try:
            return await asyncio.wait_for(self._ping(), self.connect_timeout)
        except Exception:  # a dead server is an answer, not an error
            return False

    async def _ping(self) -> bool:
        return True

    async def list_collections_or_tables(self) -> list[str]:
        """The active subscriptions (brokers that can list their topics override this)."""
        return sorted(self._rt.topic_refs)

    def get_metadata(self) -> dict[str, Any]:
        """Parameters (secrets masked), state, subscriptions and reconnection count."""
        meta = super().get_metadata()
        meta["active_subscriptions"] = sorted(self._rt.topic_refs)
        meta["reconnects"] = self._rt.reconnect_count
        meta["failed"] = self._rt.fatal is not None
        return meta

    async def ensure_connected(self) -> None:
        """Connect unless connected; raise the final error after exhausted reconnects."""
        if self._rt.fatal is not None:
            raise self._rt.fatal
        await super().ensure_connected()

    # -- public API ------------------------------------------------------------------------------
    def on(self, event: str, handler: EventHandler) -> EventHandler:
        """Register ``handler`` for ``event`` and return it (usable as a plain call).

        ``message`` handlers get every received message; ``error`` handlers the exception (a
        handler's own error arrives wrapped in an ``XResourceError``); ``close`` the cause of a
        lost connection (``None`` on ``disconnect()``); ``reconnect`` the attempt number. Any
        other name receives the messages whose JSON value has ``"type": <name>``.
        """
        if not isinstance(event, str) or not event:
            raise XResourceValidationError(
                "event name must be a non-empty string", resource=self.display_name, operation="on"
            )
        if not callable(handler):
            raise XResourceValidationError(
                f"handler for {event!r} is not callable", resource=self.display_name, operation="on"
            )
        self._rt.event_handlers.setdefault(event, []).append(handler)
        if self._connected and event not in LIFECYCLE_EVENTS - {"message"}:
            self._dispatcher("message" if event == "message" else "event", event)
        return handler

    def off(self, event: str, handler: EventHandler | None = None) -> None:
        """Remove ``handler`` (or every handler) of ``event``."""
        handlers = self._rt.event_handlers.get(event, [])
        if handler is None:
            handlers.clear()
        elif handler in handlers:
            handlers.remove(handler)

    async def publish(
        self,
        topic: str,
        message: Any,
        *,
        key: str | bytes | None = None,
        headers: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        """Serialize ``message`` and send it to ``topic``.

        Raises ``XResourceValidationError`` for an invalid topic or a message the serializer
        cannot encode (nothing is sent), ``XResourceConnectionError`` when it cannot be sent.
        """
        valid = _VALID_PUBLISH_TOPICS.get(type(self))
        if valid is None or type(topic) is not str or topic not in valid:
            self._check_topic(topic, publish=True)
            valid = _VALID_PUBLISH_TOPICS.setdefault(type(self), set())
            if len(valid) >= _TOPIC_CACHE_SIZE:
                valid.clear()
            valid.add(topic)
        try:
            payload = self.serializer.dumps(message)
        except XResourceValidationError as exc:
            raise XResourceValidationError(
                exc.message.split("publish: ", 1)[-1],
                resource=self.display_name,
                operation=f"publish to {topic!r}",
            ) from None
        rt = self._rt
        if not rt.connected:
            await self.ensure_connected()
        elif rt.fatal is not None:
            raise rt.fatal
        await self._publish_bytes(topic, payload, key=key, headers=headers, options=options)

    async def subscribe(self, topic: str, handler: MessageHandler, **options: Any) -> None:
        """Call ``handler(message)`` for every message of ``topic`` until ``unsubscribe``.

        Handlers run in a worker of their own, fed by a bounded queue; one that raises is reported
        to the ``error`` handlers and the stream goes on. Subscribing twice to a topic adds the
        handler. Broker options (``qos``...) are documented by each resource.
        """
        self._check_topic(topic)
        if not callable(handler):
            raise XResourceValidationError(
                f"handler for {topic!r} is not callable",
                resource=self.display_name,
                operation="subscribe",
            )
        await self.ensure_connected()
        existing = self._rt.dispatchers.get(("topic", topic))
        if existing is not None:
            existing.handlers.append(handler)
            return
        await self._add_topics([topic], options)
        dispatcher = self._dispatcher("topic", topic)
        dispatcher.handlers.append(handler)

    async def unsubscribe(self, topic: str) -> None:
        """Stop the handlers of ``topic``; messages still queued for them are dropped."""
        dispatcher = self._rt.dispatchers.pop(("topic", topic), None)
        if dispatcher is None:
            return
        if dispatcher.task is not None:
            dispatcher.task.cancel()
            await asyncio.gather(dispatcher.task, return_exceptions=True)
        await _release(dispatcher)
        await self._remove_topics([topic])

    async def consume(
        self,
        topics: str | Sequence[str],
        **options: Any,
    ) -> AsyncIterator[StreamMessage]:
        """Yield the messages of ``topics`` as they arrive.

        Ends when the resource is disconnected; raises ``XResourceConnectionError`` when the
        connection is lost for good (reconnection exhausted). Leaving the loop unsubscribes.

        Examples:
            >>> async def read(stream: EventStreamResource) -> None:
            ...     async for message in stream.consume(["orders"]):
            ...         print(message.topic, message.value)
        """
        names = [topics] if isinstance(topics, str) else list(topics)
        if not names:
            raise XResourceValidationError(
                "consume() needs at least one topic",
                resource=self.display_name,
                operation="consume",
            )
        for name in names:
            self._check_topic(name)
        await self.ensure_connected()
        consumer = _Consumer(tuple(dict.fromkeys(names)), _Buffer(self.buffer_size))
        self._rt.consumers.add(consumer)
        try:
            await self._add_topics(list(consumer.topics), options)
        except BaseException:
            self._rt.consumers.discard(consumer)
            raise
        try:
            queue = consumer.queue
            settle = self.settle_after_handler
            processed = self._processed_hook()
            while True:
                if queue.size:
                    item: StreamMessage | _End = queue.get_nowait()
                elif consumer.end is not None:
                    item = consumer.end
                else:
                    item = await queue.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                if processed is not None:
                    processed(item)
                yield item
                if settle and item.needs_ack:
                    # The application asked for the next message: this one is processed.
                    await item.ack()
        finally:
            self._rt.consumers.discard(consumer)
            await _release(consumer)
            if self._connected and not self._rt.closing:
                with contextlib.suppress(Exception):
                    await self._remove_topics(list(consumer.topics))

    # -- internals -------------------------------------------------------------------------------
    async def _add_topics(self, topics: list[str], options: dict[str, Any]) -> None:
        async with self._rt.transport_lock:
            new = [t for t in topics if self._rt.topic_refs.get(t, 0) == 0]
            if new:
                self._check_subscribe_options(options)
                for t in new:
                    self._rt.topic_options[t] = dict(options)
                # During a reconnection the new topics are subscribed with the others.
                if not self._rt.reconnecting:
                    try:
                        await self._transport_subscribe(new)
                    except XResourceError:
                        for t in new:
                            self._rt.topic_options.pop(t, None)
                        raise
                    except Exception as exc:
                        for t in new:
                            self._rt.topic_options.pop(t, None)
                        raise self._connection_error("subscribe", exc) from None
            for t in topics:
                self._rt.topic_refs[t] = self._rt.topic_refs.get(t, 0) + 1
        self._ensure_reader()

    async def _remove_topics(self, topics: list[str]) -> None:
        async with self._rt.transport_lock:
            gone = []
            for t in topics:
                count = self._rt.topic_refs.get(t, 0) - 1
                if count <= 0:
                    self._rt.topic_refs.pop(t, None)
                    self._rt.topic_options.pop(t, None)
                    gone.append(t)
                else:
                    self._rt.topic_refs[t] = count
            if gone and not self._rt.reconnecting and self._connected and not self._rt.closing:
                try:
                    await self._transport_unsubscribe(gone)
                except Exception as exc:
                    # The subscription is gone on our side; a broker that still sends gets its
                    # messages dropped by routing.
                    logger.warning(
                        "%s: unsubscribe %s failed: %s",
                        self.display_name,
                        gone,
                        redact_text(str(exc)),
                    )

    def _check_subscribe_options(self, options: dict[str, Any]) -> None:
        self._check_options("subscribe", options, ())

    def _dispatcher(self, kind: str, key: str) -> _Dispatcher:
        dispatcher = self._rt.dispatchers.get((kind, key))
        if dispatcher is None:
            handlers: list[MessageHandler] = (
                [] if kind == "topic" else self._rt.event_handlers.setdefault(key, [])
            )
            dispatcher = _Dispatcher(kind, key, handlers, _Buffer(self.buffer_size))
            self._rt.dispatchers[(kind, key)] = dispatcher
        if dispatcher.task is None or dispatcher.task.done():
            dispatcher.task = asyncio.get_running_loop().create_task(
                self._dispatch_loop(dispatcher), name=f"{self.display_name} {kind} {key}"
            )
        return dispatcher

    def _ensure_reader(self) -> None:
        if self._rt.reader is None or self._rt.reader.done():
            if self._rt.fatal is not None or self._rt.closing:
                return
            self._rt.reader = asyncio.get_running_loop().create_task(
                read_loop(self), name=f"{self.display_name} reader"
            )

    async def _dispatch_loop(self, dispatcher: _Dispatcher) -> None:
        queue = dispatcher.queue
        while True:
            message = await queue.get()
            failed = False
            for handler in list(dispatcher.handlers):
                try:
                    await _call(handler, message)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failed = True
                    await self._report_handler_error(dispatcher, message, exc)
            if dispatcher.kind == "topic":
                self._processed(message)
                if self.settle_after_handler and message.needs_ack:
                    try:
                        if failed:
                            await message.nack(requeue=self._requeue_failed())
                        else:
                            await message.ack()
                    except Exception as exc:
                        await self._emit("error", self._connection_error("ack", exc))

    def _requeue_failed(self) -> bool:
        return False

    async def _report_handler_error(
        self, dispatcher: _Dispatcher, message: StreamMessage, exc: Exception
    ) -> None:
        text = redact_text(str(exc))
        logger.warning(
            "%s: handler for %s %r raised %s: %s",
            self.display_name,
            dispatcher.kind,
            dispatcher.key,
            type(exc).__name__,
            text,
        )
        error = XResourceError(
            f"handler for {message.topic!r} raised {type(exc).__name__}: {text}; the stream "
            "goes on",
            resource=self.display_name,
            operation="handle message",
            details={"topic": message.topic},
        )
        error.__cause__ = exc
        await self._emit("error", error)

    async def _emit(self, event: str, arg: Any) -> None:
        for handler in list(self._rt.event_handlers.get(event, ())):
            try:
                await _call(handler, arg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "%s: %r handler raised %s: %s",
                    self.display_name,
                    event,
                    type(exc).__name__,
                    redact_text(str(exc)),
                )

    async def _route(self, message: StreamMessage) -> None:
        """Deliver ``message`` when the reader's fast path (``_Runtime.route_nowait``) could
        not; a broker overrides it to keep messages first (MQTT's kept session)."""
        await self._rt.route(message)
