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

When the connection is lost the reader reconnects with exponential backoff (from
``reconnect_initial_delay`` doubling up to ``reconnect_interval``, at most
``max_reconnect_attempts`` attempts) and restores every active subscription. After the last
failed attempt an ``XResourceConnectionError`` goes to the ``error`` handlers and is raised by
every running ``consume()`` and by later operations. ``disconnect()`` cancels and awaits every
background task.

Subclasses implement the transport: :meth:`_open`, :meth:`_close`, :meth:`_transport_subscribe`,
:meth:`_transport_unsubscribe`, :meth:`_receive` and :meth:`_publish_bytes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, PrivateAttr, field_serializer, field_validator

from xobj_prototype import redact_text
from xresource.base import XResource
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
    XResourceValidationError,
)
from xresource.streams.backoff import Backoff
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

#: ``handler(message)``; sync or async.
MessageHandler = Callable[[StreamMessage], Any]
#: ``handler(argument)`` for lifecycle events; sync or async.
EventHandler = Callable[[Any], Any]

#: The lifecycle events of ``on()``: their handlers get the message, the error, the cause of the
#: close (``None`` on ``disconnect()``) and the number of the successful reconnection attempt.
LIFECYCLE_EVENTS = frozenset({"message", "error", "close", "reconnect"})

# Topics that passed validate_topic(publish=True), per class: publishing to the same topic again
# skips the checks (bounded; cleared when full).
_VALID_PUBLISH_TOPICS: dict[type, set[str]] = {}
_TOPIC_CACHE_SIZE = 4096


class _End:
    """Queue sentinel: the consumer ends (disconnect) or fails (``error``)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class MessageBatch:
    """Messages of one topic received together, turned into ``StreamMessage`` envelopes only
    when taken (the reader's hot path for brokers that deliver batches, e.g. Kafka).

    A reader that routes a whole batch to the one ``consume()`` that wants it puts the batch in
    that consumer's buffer as it is: each envelope is built when the consumer asks for the next
    message, so it lives as long as the application keeps it, not while it waits in the buffer
    (a buffer full of envelopes makes the garbage collector run many times more often).
    """

    __slots__ = ("build", "next", "records", "topic")

    def __init__(self, topic: str, records: Sequence[Any], build: Callable[[Any], StreamMessage]):
        self.topic = topic
        self.records = records
        self.build = build
        self.next = 0  # index of the next record to hand out

    def __len__(self) -> int:
        return len(self.records) - self.next

    def take(self) -> StreamMessage:
        """Build and return the next message."""
        record = self.records[self.next]
        self.next += 1
        return self.build(record)

    def messages(self) -> list[StreamMessage]:
        """Build every remaining message."""
        build = self.build
        out = [build(r) for r in self.records[self.next :]]
        self.next = len(self.records)
        return out

    def split(self, count: int) -> MessageBatch:
        """The next ``count`` messages as a batch of their own; this one keeps the rest."""
        start = self.next
        self.next = start + count
        return MessageBatch(self.topic, self.records[start : start + count], self.build)


class _Buffer:
    """The bounded FIFO between the reader and one subscription or ``consume()``.

    ``asyncio.Queue``'s semantics for this use (``put_nowait`` raises ``QueueFull``, ``put``
    waits for room, ``get`` waits for an item), without its generality: a message costs a deque
    append and pop, and waking the taker only when it waits. A :class:`MessageBatch` counts as
    its number of messages and is handed out one message at a time.
    """

    __slots__ = ("_getters", "_items", "_putters", "_room_needed", "maxsize", "size")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.size = 0  # messages held (a batch counts as its messages)
        self._items: deque[Any] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        # The room a waiting putter needs before it is woken (see wait_room).
        self._room_needed = 1

    def qsize(self) -> int:
        return self.size

    def empty(self) -> bool:
        return not self.size

    def full(self) -> bool:
        return self.size >= self.maxsize

    def room(self) -> int:
        """How many more messages fit."""
        return self.maxsize - self.size

    def put_nowait(self, item: Any) -> None:
        if self.size >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        self.size += 1
        if self._getters:
            self._wake_getter()

    def put_batch(self, batch: MessageBatch) -> None:
        """Append a batch (the caller checked that it fits) and wake the taker."""
        self._items.append(batch)
        self.size += len(batch)
        if self._getters:
            self._wake_getter()

    async def put(self, item: Any) -> None:
        await self.wait_room(1)
        self.put_nowait(item)

    async def wait_room(self, needed: int) -> None:
        """Wait until ``needed`` more messages fit (at most ``maxsize``).

        The putter is woken once when that much room is free, not once per message taken: a
        reader putting a batch in pieces would otherwise be woken, and put one message, for
        every message the consumer takes. A ``put()`` waiting at the same time waits for that
        room too (there is one reader per resource, so this does not happen in practice).
        """
        needed = min(needed, self.maxsize)
        while self.maxsize - self.size < needed:
            putter = asyncio.get_running_loop().create_future()
            self._putters.append(putter)
            self._room_needed = needed
            try:
                await putter
            except BaseException:
                putter.cancel()
                # Another putter may use the room this one was woken for.
                if self.size < self.maxsize:
                    self._wake_putter()
                raise
            finally:
                self._room_needed = 1

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items[0]
        if type(item) is MessageBatch:
            # MessageBatch.take() inlined: this runs once per message of a batch.
            records = item.records
            index = item.next
            item.next = index + 1
            if index + 1 >= len(records):
                items.popleft()
            item = item.build(records[index])
        else:
            items.popleft()
        self.size -= 1
        if self._putters and self.maxsize - self.size >= self._room_needed:
            self._wake_putter()
        return item

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if self._items:
                    self._wake_getter()
                raise
        return self.get_nowait()

    def _wake_putter(self) -> None:
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)
                return

    def _wake_getter(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return


@dataclass(eq=False)
class _Dispatcher:
    """A bounded queue and the worker task that feeds its handlers."""

    kind: str  # "topic" (subscribe), "message" (on("message")) or "event" (on("<type>"))
    key: str
    handlers: list[MessageHandler]
    queue: _Buffer
    task: asyncio.Task[None] | None = None
    gone: bool = False


@dataclass(eq=False)
class _Consumer:
    """One running ``consume()``: its topics and its bounded queue."""

    topics: tuple[str, ...]
    queue: _Buffer
    end: _End | None = field(default=None)
    gone: bool = False


async def _put(target: _Dispatcher | _Consumer, message: StreamMessage) -> bool:
    """Put ``message`` into the target's full queue, waiting for room (backpressure); whether
    it was delivered (not when the target went away meanwhile)."""
    if target.gone:
        return False
    await target.queue.put(message)
    if _is_gone(target):  # a function call: the await above may have changed it
        # Released while we waited (its queue drained to wake us): take the message back.
        await _drain(target)
        return False
    return True


def _is_gone(target: _Dispatcher | _Consumer) -> bool:
    return target.gone


async def _release(target: _Dispatcher | _Consumer) -> None:
    """The target is gone: wake a reader waiting for room in its queue and give the messages
    still queued that wait for an acknowledgement back to the broker."""
    target.gone = True
    await _drain(target)


async def _drain(target: _Dispatcher | _Consumer) -> None:
    queue = target.queue
    while not queue.empty():
        item = queue.get_nowait()
        if isinstance(item, StreamMessage) and item.needs_ack:
            with contextlib.suppress(Exception):
                await item.nack(requeue=True)


async def _call(handler: Callable[[Any], Any], arg: Any) -> None:
    result = handler(arg)
    if inspect.isawaitable(result):
        await result


class EventStreamResource(XResource):
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

    _event_handlers: dict[str, list[EventHandler]] = PrivateAttr(default_factory=dict)
    _dispatchers: dict[tuple[str, str], _Dispatcher] = PrivateAttr(default_factory=dict)
    _consumers: set[_Consumer] = PrivateAttr(default_factory=set)
    _topic_refs: dict[str, int] = PrivateAttr(default_factory=dict)
    _topic_options: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)
    _reader: asyncio.Task[None] | None = PrivateAttr(default=None)
    _transport_lock: asyncio.Lock = PrivateAttr(default_factory=asyncio.Lock)
    _fatal: XResourceConnectionError | None = PrivateAttr(default=None)
    _closing: bool = PrivateAttr(default=False)
    _reconnecting: bool = PrivateAttr(default=False)
    _reconnect_count: int = PrivateAttr(default=0)

    @field_validator("serializer", mode="before")
    @classmethod
    def _coerce_serializer(cls, value: Any) -> Serializer:
        try:
            return get_serializer(value)
        except XResourceValidationError as exc:
            raise ValueError(exc.message) from None

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
        )

    @property
    def active_subscriptions(self) -> set[str]:
        """Topics (channels, filters, routing keys) currently subscribed, by handlers or
        ``consume()``; restored after every reconnection."""
        return set(self._topic_refs)

    @property
    def reconnect_count(self) -> int:
        """How many times the connection was lost and re-established since ``connect()``."""
        return self._reconnect_count

    @classmethod
    def validate_topic(cls, topic: str, *, publish: bool = False) -> str:
        """Return ``topic`` when the broker accepts it, else raise ``XResourceValidationError``.

        ``publish`` selects the rules for publishing (e.g. no MQTT wildcards) rather than
        subscribing. Subclasses add their broker's rules.
        """
        if not isinstance(topic, str):
            raise XResourceValidationError(
                f"a topic must be a string, got {type(topic).__name__}",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        if not topic:
            raise XResourceValidationError(
                "the topic (channel) must not be empty",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        if any(ord(c) < 32 or c == "\x7f" for c in topic):
            raise XResourceValidationError(
                f"topic {topic!r} contains control characters",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        return topic

    def _check_topic(self, topic: str, *, publish: bool = False) -> None:
        """``validate_topic`` with this resource's name in the error."""
        try:
            type(self).validate_topic(topic, publish=publish)
        except XResourceValidationError as exc:
            operation = "publish" if publish else "subscribe"
            text = exc.message.split(f"{operation}: ", 1)[-1]
            raise XResourceValidationError(
                text, resource=self.display_name, operation=operation
            ) from None

    def _topic_matches(self, pattern: str, topic: str) -> bool:
        """Whether a message on ``topic`` belongs to subscription ``pattern`` (equality here;
        brokers with wildcards override this)."""
        return pattern == topic

    @staticmethod
    def _check_options(operation: str, options: dict[str, Any], allowed: Iterable[str]) -> None:
        if not options:
            return
        for name in options:  # the common case (every option known) builds no set
            if name not in allowed:
                break
        else:
            return
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise XResourceValidationError(
                f"unknown option(s) {', '.join(unknown)}; accepted: "
                f"{', '.join(sorted(allowed)) or 'none'}",
                operation=operation,
            )

    def _connection_error(
        self,
        operation: str,
        exc: BaseException,
        hint: str = "check that the server is running and reachable",
    ) -> XResourceConnectionError:
        text = redact_text(str(exc)) or type(exc).__name__
        return XResourceConnectionError(
            f"{type(exc).__name__}: {text}; {hint}", resource=self.display_name, operation=operation
        )

    # -- the transport: implemented by each broker ------------------------------------------------
    async def _open(self) -> None:
        """Open the connection(s); raise ``XResourceConnectionError`` on failure."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Close what :meth:`_open` opened; must not raise (it runs on broken connections)."""
        raise NotImplementedError

    async def _transport_subscribe(self, topics: list[str]) -> None:
        """Subscribe the open connection to ``topics`` (options in ``self._topic_options``)."""
        raise NotImplementedError

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        """Stop receiving ``topics`` on the open connection."""
        raise NotImplementedError

    def _receive(self) -> AsyncGenerator[StreamMessage | MessageBatch, None]:
        """Yield messages (or batches of messages received together) from the open connection;
        end or raise when the connection is lost."""
        raise NotImplementedError

    async def _publish_bytes(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | bytes | None,
        headers: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        """Send one serialized message."""
        raise NotImplementedError

    def _processed_hook(self) -> Callable[[StreamMessage], None] | None:
        """:meth:`_processed`, or ``None`` where it does nothing (it is not then called per
        message; only Kafka with manual commits records offsets)."""
        if type(self)._processed is EventStreamResource._processed:
            return None
        return self._processed

    def _processed(self, message: StreamMessage) -> None:
        """Called when a message was handed to the application (Kafka records offsets)."""

    # -- lifecycle -------------------------------------------------------------------------------
    async def _connect(self) -> None:
        self._closing = False
        self._fatal = None
        self._reconnect_count = 0
        await self._open()
        for name, handlers in self._event_handlers.items():
            if name not in LIFECYCLE_EVENTS - {"message"} and handlers:
                self._dispatcher("message" if name == "message" else "event", name)
        if self.reader_always:
            self._ensure_reader()

    async def _disconnect(self) -> None:
        self._closing = True
        tasks = [d.task for d in self._dispatchers.values() if d.task is not None]
        if self._reader is not None:
            tasks.append(self._reader)
        for task in tasks:
            task.cancel()
        # Awaited, not just cancelled: nothing may outlive disconnect() (no "Task was destroyed").
        await asyncio.gather(*tasks, return_exceptions=True)
        self._reader = None
        self._end_consumers(None)
        # A subscribe/unsubscribe in flight (e.g. a consume() loop being closed) finishes first.
        async with self._transport_lock:
            with contextlib.suppress(Exception):
                await self._close()
        self._dispatchers.clear()
        self._topic_refs.clear()
        self._topic_options.clear()
        self._fatal = None
        await self._emit("close", None)

    async def validate_connection(self) -> bool:
        """Whether the stream is connected and its server answers now; never raises."""
        if not self._connected or self._fatal is not None or self._reconnecting:
            return False
        try:
            return await asyncio.wait_for(self._ping(), self.connect_timeout)
        except Exception:  # a dead server is an answer, not an error
            return False

    async def _ping(self) -> bool:
        return True

    async def list_collections_or_tables(self) -> list[str]:
        """The active subscriptions (brokers that can list their topics override this)."""
        return sorted(self._topic_refs)

    def get_metadata(self) -> dict[str, Any]:
        """Parameters (secrets masked), state, subscriptions and reconnection count."""
        meta = super().get_metadata()
        meta["active_subscriptions"] = sorted(self._topic_refs)
        meta["reconnects"] = self._reconnect_count
        meta["failed"] = self._fatal is not None
        return meta

    async def ensure_connected(self) -> None:
        """Connect unless connected; raise the final error after exhausted reconnects."""
        if self._fatal is not None:
            raise self._fatal
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
        self._event_handlers.setdefault(event, []).append(handler)
        if self._connected and event not in LIFECYCLE_EVENTS - {"message"}:
            self._dispatcher("message" if event == "message" else "event", event)
        return handler

    def off(self, event: str, handler: EventHandler | None = None) -> None:
        """Remove ``handler`` (or every handler) of ``event``."""
        handlers = self._event_handlers.get(event, [])
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
        # Private storage read directly: pydantic resolves private attributes via __getattr__.
        private = self.__pydantic_private__
        assert private is not None
        if not private["_connected"]:
            await self.ensure_connected()
        elif private["_fatal"] is not None:
            raise private["_fatal"]
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
        existing = self._dispatchers.get(("topic", topic))
        if existing is not None:
            existing.handlers.append(handler)
            return
        await self._add_topics([topic], options)
        dispatcher = self._dispatcher("topic", topic)
        dispatcher.handlers.append(handler)

    async def unsubscribe(self, topic: str) -> None:
        """Stop the handlers of ``topic``; messages still queued for them are dropped."""
        dispatcher = self._dispatchers.pop(("topic", topic), None)
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
        self._consumers.add(consumer)
        try:
            await self._add_topics(list(consumer.topics), options)
        except BaseException:
            self._consumers.discard(consumer)
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
            self._consumers.discard(consumer)
            await _release(consumer)
            if self._connected and not self._closing:
                with contextlib.suppress(Exception):
                    await self._remove_topics(list(consumer.topics))

    # -- internals -------------------------------------------------------------------------------
    async def _add_topics(self, topics: list[str], options: dict[str, Any]) -> None:
        async with self._transport_lock:
            new = [t for t in topics if self._topic_refs.get(t, 0) == 0]
            if new:
                self._check_subscribe_options(options)
                for t in new:
                    self._topic_options[t] = dict(options)
                # During a reconnection the new topics are subscribed with the others.
                if not self._reconnecting:
                    try:
                        await self._transport_subscribe(new)
                    except XResourceError:
                        for t in new:
                            self._topic_options.pop(t, None)
                        raise
                    except Exception as exc:
                        for t in new:
                            self._topic_options.pop(t, None)
                        raise self._connection_error("subscribe", exc) from None
            for t in topics:
                self._topic_refs[t] = self._topic_refs.get(t, 0) + 1
        self._ensure_reader()

    async def _remove_topics(self, topics: list[str]) -> None:
        async with self._transport_lock:
            gone = []
            for t in topics:
                count = self._topic_refs.get(t, 0) - 1
                if count <= 0:
                    self._topic_refs.pop(t, None)
                    self._topic_options.pop(t, None)
                    gone.append(t)
                else:
                    self._topic_refs[t] = count
            if gone and not self._reconnecting and self._connected and not self._closing:
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
        dispatcher = self._dispatchers.get((kind, key))
        if dispatcher is None:
            handlers: list[MessageHandler] = (
                [] if kind == "topic" else self._event_handlers.setdefault(key, [])
            )
            dispatcher = _Dispatcher(kind, key, handlers, _Buffer(self.buffer_size))
            self._dispatchers[(kind, key)] = dispatcher
        if dispatcher.task is None or dispatcher.task.done():
            dispatcher.task = asyncio.get_running_loop().create_task(
                self._dispatch_loop(dispatcher), name=f"{self.display_name} {kind} {key}"
            )
        return dispatcher

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            if self._fatal is not None or self._closing:
                return
            self._reader = asyncio.get_running_loop().create_task(
                self._read_loop(), name=f"{self.display_name} reader"
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
        for handler in list(self._event_handlers.get(event, ())):
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

    def _end_consumers(self, error: BaseException | None) -> None:
        end = _End(error)
        for consumer in list(self._consumers):
            consumer.end = end
            # A consumer blocked on an empty queue is woken; a full queue is drained first.
            with contextlib.suppress(asyncio.QueueFull):
                consumer.queue.put_nowait(end)

    async def _route(self, message: StreamMessage) -> None:
        delivered = False
        topic = message.topic
        matches = self._topic_matches
        # Locals and put_nowait: this runs for every message (pydantic resolves private
        # attributes through __getattr__, and an await per queue costs a coroutine).
        private = self.__pydantic_private__
        assert private is not None
        dispatchers: dict[tuple[str, str], _Dispatcher] = private["_dispatchers"]
        if dispatchers:
            for dispatcher in list(dispatchers.values()):
                kind = dispatcher.kind
                if kind == "topic":
                    if not matches(dispatcher.key, topic):
                        continue
                elif kind == "event":
                    value = message.value
                    if not (isinstance(value, dict) and value.get("type") == dispatcher.key):
                        continue
                queue = dispatcher.queue
                if not queue.full():
                    queue.put_nowait(message)
                    if kind == "topic":
                        delivered = True
                # The handler is behind: the reader waits (backpressure, bounded memory).
                elif await _put(dispatcher, message) and kind == "topic":
                    delivered = True
        consumers: set[_Consumer] = private["_consumers"]
        for consumer in list(consumers):
            for pattern in consumer.topics:
                if matches(pattern, topic):
                    cqueue = consumer.queue
                    if not cqueue.full():
                        cqueue.put_nowait(message)
                        delivered = True
                    elif consumer.end is None and await _put(consumer, message):
                        delivered = True
                    break
        if not delivered and message.needs_ack:
            # Nobody wants it any more (unsubscribed while in flight): give it back to the broker.
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)

    def _route_nowait(self, message: StreamMessage) -> bool:
        """:meth:`_route` for the common case, without a coroutine: no subscription handlers,
        and every ``consume()`` that wants the message has room. ``False`` (nothing delivered)
        when the full :meth:`_route` is needed."""
        private = self.__pydantic_private__
        assert private is not None
        if private["_dispatchers"]:
            return False
        topic = message.topic
        matches = self._topic_matches
        target: _Buffer | None = None
        targets: list[_Buffer] | None = None
        for consumer in private["_consumers"]:
            for pattern in consumer.topics:
                if matches(pattern, topic):
                    queue = consumer.queue
                    if queue.full() or consumer.end is not None:
                        return False
                    if target is None:
                        target = queue
                    else:
                        targets = [*(targets or [target]), queue]
                    break
        if target is None:
            return False  # nobody wants it: _route gives it back to the broker
        if targets is None:
            target.put_nowait(message)
        else:
            for queue in targets:
                queue.put_nowait(message)
        return True

    def _batch_target(self, batch: MessageBatch) -> _Consumer | None:
        """The one ``consume()`` that wants the batch's topic, when no subscription handler
        runs: it gets the batch as it is (:meth:`_route_batch`). ``None`` otherwise."""
        private = self.__pydantic_private__
        assert private is not None
        if private["_dispatchers"]:
            return None
        topic = batch.topic
        matches = self._topic_matches
        target: _Consumer | None = None
        for consumer in private["_consumers"]:
            for pattern in consumer.topics:
                if matches(pattern, topic):
                    if target is not None:
                        return None  # several consumers: each gets the same envelope
                    target = consumer
                    break
        if target is None or target.end is not None:
            return None
        return target

    async def _route_batch(self, batch: MessageBatch) -> None:
        """Deliver a batch. To the one ``consume()`` that wants it, the batch goes into the
        buffer as it is, in pieces as room appears, so that every envelope is still built only
        when taken (envelopes built ahead and queued one by one cost a coroutine step each
        and many garbage collections). Anything else gets the messages one by one."""
        target = self._batch_target(batch)
        if target is None:
            route, route_nowait = self._route, self._route_nowait
            for message in batch.messages():
                if not route_nowait(message):
                    await route(message)
            return
        queue = target.queue
        # Wait for half the buffer, not for one free place: a piece per message taken would
        # wake this reader for every message.
        piece = max(1, queue.maxsize // 2)
        while len(batch):
            if target.gone or target.end is not None:
                # The consumer went away meanwhile: what it did not get goes back to the broker,
                # as the messages still in its buffer do.
                for message in batch.messages():
                    if message.needs_ack:
                        with contextlib.suppress(Exception):
                            await message.nack(requeue=True)
                return
            room = queue.room()
            if room >= len(batch):
                queue.put_batch(batch)
                return
            if room >= min(len(batch), piece):
                queue.put_batch(batch.split(room))
            else:
                await queue.wait_room(min(len(batch), piece))

    async def _read_loop(self) -> None:
        route, route_nowait = self._route, self._route_nowait
        while True:
            try:
                async with contextlib.aclosing(self._receive()) as messages:
                    # _receive() yields messages, or batches of them (one generator step for
                    # many messages; envelopes built when taken, see MessageBatch).
                    async for item in messages:
                        if isinstance(item, MessageBatch):
                            await self._route_batch(item)
                        elif not route_nowait(item):
                            await route(item)
                if self._closing or (not self._topic_refs and not self.reader_always):
                    # Nothing left to read (every topic unsubscribed): the next subscribe
                    # starts a new reader.
                    return
                cause: BaseException = ConnectionError("the server closed the stream")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closing or (not self._topic_refs and not self.reader_always):
                    return
                cause = exc
            logger.warning(
                "%s: connection lost (%s: %s); reconnecting",
                self.display_name,
                type(cause).__name__,
                redact_text(str(cause)),
            )
            await self._emit("close", cause)
            if not await self._reconnect(cause):
                return

    async def _reconnect(self, cause: BaseException) -> bool:
        last: BaseException = cause
        attempt = 0
        async with self._transport_lock:
            self._reconnecting = True
            try:
                with contextlib.suppress(Exception):
                    await self._close()
                for attempt, delay in enumerate(self.backoff.delays(), 1):
                    await asyncio.sleep(delay)
                    try:
                        await self._open()
                        if self._topic_refs:
                            await self._transport_subscribe(list(self._topic_refs))
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        last = exc
                        logger.info(
                            "%s: reconnection attempt %d/%d failed: %s",
                            self.display_name,
                            attempt,
                            self.max_reconnect_attempts,
                            redact_text(str(exc)),
                        )
                        with contextlib.suppress(Exception):
                            await self._close()
                        continue
                    self._reconnect_count += 1
                    break
                else:
                    attempt = 0
            finally:
                self._reconnecting = False
        if attempt:
            logger.info(
                "%s: reconnected after %d attempt(s); %d subscription(s) restored",
                self.display_name,
                attempt,
                len(self._topic_refs),
            )
            await self._emit("reconnect", attempt)
            return True
        fatal = XResourceConnectionError(
            f"connection lost and {self.max_reconnect_attempts} reconnection attempt(s) failed "
            f"(last error: {type(last).__name__}: {redact_text(str(last))}); check that the "
            "server is up, then disconnect() and connect() again",
            resource=self.display_name,
            operation="reconnect",
        )
        fatal.__cause__ = last
        self._fatal = fatal
        self._end_consumers(fatal)
        await self._emit("error", fatal)
        return False

    def _require(self, module: str, extra: str) -> Any:
        """Import the driver ``module`` or explain which extra installs it."""
        import importlib

        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise XResourceConfigurationError(
                f"the {self.resource_type} resource needs {module!r} ({exc}); install it with: "
                f"pip install 'xresource[{extra}]'",
                resource=self.display_name,
                operation="connect",
            ) from None
