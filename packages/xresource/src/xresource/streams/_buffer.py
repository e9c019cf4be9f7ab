"""The bounded buffers between a stream's reader and its consumers: ``_Buffer`` (a FIFO that
counts a batch as its messages), ``MessageBatch`` (messages received together, built into
envelopes only when taken) and the ``_End`` sentinel that ends a ``consume()``."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from xresource.streams.envelope import StreamMessage

__all__ = ["MessageBatch"]


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
