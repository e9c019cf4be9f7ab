"""``_Runtime``: the state of a stream resource while it runs, and the routing of received
messages to its subscriptions and ``consume()`` loops.

A stream resource is a pydantic model of its settings; everything that changes while it runs
(subscriptions, queues, tasks, the connection's objects) lives in one plain ``_Runtime`` object
that it holds in a slot, so that reading it costs an attribute access instead of pydantic's
``__getattr__`` for private attributes (that counts for every message). Each broker extends it
with the objects of its driver (client, channel, producer...).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from xresource.errors import XResourceConnectionError
from xresource.streams._buffer import MessageBatch, _Buffer, _End
from xresource.streams._dispatch import EventHandler, _Consumer, _Dispatcher, _put
from xresource.streams.envelope import StreamMessage

__all__: list[str] = []


def _equal(pattern: str, topic: str) -> bool:
    return pattern == topic


@dataclass(eq=False)
class _Runtime:
    """What a stream resource holds while it runs (fresh for every resource and every copy)."""

    #: Whether a message on a topic belongs to a subscription pattern (the resource's
    #: ``_topic_matches``: brokers with wildcards match patterns).
    matches: Callable[[str, str], bool] = field(default=_equal, repr=False)
    event_handlers: dict[str, list[EventHandler]] = field(default_factory=dict)
    dispatchers: dict[tuple[str, str], _Dispatcher] = field(default_factory=dict)
    consumers: set[_Consumer] = field(default_factory=set)
    #: Subscribed topic -> how many subscriptions and ``consume()`` loops want it.
    topic_refs: dict[str, int] = field(default_factory=dict)
    topic_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None
    transport_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    fatal: XResourceConnectionError | None = None
    closing: bool = False
    reconnecting: bool = False
    reconnect_count: int = 0
    #: Connected (``XResource.is_connected``), mirrored here for ``publish()``'s hot path: set
    #: when ``_connect`` succeeded, cleared when ``_disconnect`` ends.
    connected: bool = False

    def end_consumers(self, error: BaseException | None) -> None:
        end = _End(error)
        for consumer in list(self.consumers):
            consumer.end = end
            # A consumer blocked on an empty queue is woken; a full queue is drained first.
            with contextlib.suppress(asyncio.QueueFull):
                consumer.queue.put_nowait(end)

    async def route(self, message: StreamMessage) -> None:
        delivered = False
        topic = message.topic
        matches = self.matches
        # Locals and put_nowait: this runs for every message (an await per queue costs a
        # coroutine).
        dispatchers = self.dispatchers
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
        for consumer in list(self.consumers):
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

    def route_nowait(self, message: StreamMessage) -> bool:
        """:meth:`route` for the common case, without a coroutine: no subscription handlers,
        and every ``consume()`` that wants the message has room. ``False`` (nothing delivered)
        when the full :meth:`route` is needed."""
        if self.dispatchers:
            return False
        topic = message.topic
        matches = self.matches
        target: _Buffer | None = None
        targets: list[_Buffer] | None = None
        for consumer in self.consumers:
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

    def batch_target(self, batch: MessageBatch) -> _Consumer | None:
        """The one ``consume()`` that wants the batch's topic, when no subscription handler
        runs: it gets the batch as it is (:meth:`route_batch`). ``None`` otherwise."""
        if self.dispatchers:
            return None
        topic = batch.topic
        matches = self.matches
        target: _Consumer | None = None
        for consumer in self.consumers:
            for pattern in consumer.topics:
                if matches(pattern, topic):
                    if target is not None:
                        return None  # several consumers: each gets the same envelope
                    target = consumer
                    break
        if target is None or target.end is not None:
            return None
        return target

    async def route_batch(
        self, batch: MessageBatch, route: Callable[[StreamMessage], Awaitable[None]]
    ) -> None:
        """Deliver a batch. To the one ``consume()`` that wants it, the batch goes into the
        buffer as it is, in pieces as room appears, so that every envelope is still built only
        when taken (envelopes built ahead and queued one by one cost a coroutine step each
        and many garbage collections). Anything else gets the messages one by one, through
        ``route`` (the resource's ``_route``) when the fast path cannot take them."""
        target = self.batch_target(batch)
        if target is None:
            route_nowait = self.route_nowait
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
