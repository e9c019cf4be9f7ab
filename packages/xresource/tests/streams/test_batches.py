"""Batches of messages (``MessageBatch``) through the reader and the bounded buffers: envelopes
built when taken, the buffer bounded in messages, order kept, several consumers, handlers, and
the acknowledgement of messages left unconsumed. Driven by an in-memory transport (no network)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator
from typing import Any, ClassVar

import pytest
from pydantic import Field, PrivateAttr

from xresource.streams import EventStreamResource, MessageBatch, StreamMessage
from xresource.streams._buffer import _Buffer  # white-box test of the bounded buffer


class BatchStream(EventStreamResource):
    """Delivers what the test puts on its wire: lists of (topic, value) become batches."""

    resource_type: ClassVar[str] = "batchfake"

    _wire: asyncio.Queue[list[tuple[str, Any]]] | None = PrivateAttr(default=None)
    built: list[Any] = Field(default_factory=list)
    acks: list[tuple[str, Any]] = Field(default_factory=list)
    manual: bool = False

    async def _open(self) -> None:
        self._wire = asyncio.Queue()

    async def _close(self) -> None:
        self._wire = None

    async def _transport_subscribe(self, topics: list[str]) -> None:
        pass

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        pass

    def _build(self, record: tuple[str, Any]) -> StreamMessage:
        topic, value = record
        self.built.append(value)
        message = StreamMessage.received(topic=topic, value=value, raw=b"")
        if self.manual:

            async def ack() -> None:
                self.acks.append(("ack", value))

            async def nack(requeue: bool) -> None:
                self.acks.append(("nack-requeue" if requeue else "nack", value))

            message.bind_ack(ack, nack)
        return message

    async def _receive(self) -> AsyncGenerator[MessageBatch, None]:
        wire = self._wire
        assert wire is not None
        while True:
            records = await wire.get()
            yield MessageBatch(records[0][0], records, self._build)

    async def _publish_bytes(self, topic: str, payload: bytes, **_: Any) -> None:
        raise NotImplementedError

    def send(self, topic: str, values: list[Any]) -> None:
        assert self._wire is not None
        self._wire.put_nowait([(topic, v) for v in values])


async def _first_after_sending(
    stream: BatchStream, topic: str, values: list[Any]
) -> tuple[AsyncGenerator[StreamMessage, None], StreamMessage]:
    """Start ``consume(topic)``, send ``values`` as one batch once it waits, and return the
    consumer with the first message it took."""
    agen = stream.consume(topic)
    first = asyncio.create_task(anext(agen))
    await asyncio.sleep(0.05)
    stream.send(topic, values)
    return agen, await asyncio.wait_for(first, 5)


async def _take(stream: BatchStream, topic: str, n: int) -> list[Any]:
    out = []
    async for message in stream.consume(topic):
        out.append(message.value)
        if len(out) == n:
            break
    return out


async def test_batch_is_delivered_in_order_and_built_when_taken() -> None:
    stream = BatchStream(buffer_size=100)
    async with stream:
        got: list[Any] = []

        async def consume() -> None:
            async for message in stream.consume("t"):
                # the envelopes after this one are not built yet: only the taken ones are
                assert stream.built == [*got, message.value]
                got.append(message.value)
                if len(got) == 25:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        stream.send("t", list(range(10)))
        stream.send("t", list(range(10, 25)))
        await asyncio.wait_for(task, 5)
        assert got == list(range(25))


async def test_buffer_counts_messages_of_a_batch_and_waits_for_room() -> None:
    stream = BatchStream(buffer_size=5)
    async with stream:
        # more than the buffer holds: put in pieces
        agen, first = await _first_after_sending(stream, "t", list(range(13)))
        assert first.value == 0
        await asyncio.sleep(0.05)
        (consumer,) = stream._rt.consumers
        assert consumer.queue.qsize() <= 5  # bounded in messages, not in batches
        rest = [(await asyncio.wait_for(agen.__anext__(), 5)).value for _ in range(12)]
        assert rest == list(range(1, 13))
        await agen.aclose()


async def test_batch_larger_than_the_room_is_still_built_only_when_taken() -> None:
    # The reader puts what fits and waits for room for the rest: no envelope is built ahead of
    # the consumer, even for a batch three times the buffer.
    stream = BatchStream(buffer_size=10)
    async with stream:
        got: list[Any] = []

        async def consume() -> None:
            async for message in stream.consume("t"):
                assert stream.built == [*got, message.value]
                (consumer,) = stream._rt.consumers
                assert consumer.queue.qsize() <= 10
                got.append(message.value)
                await asyncio.sleep(0)  # let the reader run between messages
                if len(got) == 35:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        stream.send("t", list(range(35)))
        await asyncio.wait_for(task, 5)
        assert got == list(range(35))


async def test_reader_waits_for_half_the_buffer_before_putting_more() -> None:
    # Woken for every message taken, the reader would put one message at a time.
    stream = BatchStream(buffer_size=10)
    async with stream:
        agen, first = await _first_after_sending(stream, "t", list(range(30)))
        assert first.value == 0
        await asyncio.sleep(0.05)
        (consumer,) = stream._rt.consumers
        assert consumer.queue.qsize() == 9  # 10 were put at once, one was taken
        for expected in range(1, 4):
            assert (await agen.__anext__()).value == expected
        await asyncio.sleep(0.05)
        assert consumer.queue.qsize() == 6  # 4 free places: not enough to wake the reader
        assert (await agen.__anext__()).value == 4
        await asyncio.sleep(0.05)
        assert consumer.queue.qsize() == 10  # half the buffer free: the reader filled it
        rest = [(await agen.__anext__()).value for _ in range(25)]
        assert rest == list(range(5, 30))
        await agen.aclose()


async def test_batch_waiting_for_room_goes_back_when_the_consumer_leaves() -> None:
    stream = BatchStream(buffer_size=5, manual=True)
    async with stream:
        agen, first = await _first_after_sending(stream, "t", list(range(12)))
        assert first.value == 0
        await asyncio.sleep(0.05)
        await agen.aclose()  # 1-5 wait in the buffer, 6-11 in the reader's batch
        for _ in range(100):
            if len(stream.acks) >= 11:
                break
            await asyncio.sleep(0.01)
    assert sorted(v for kind, v in stream.acks if kind == "nack-requeue") == list(range(1, 12))
    assert not [v for kind, v in stream.acks if kind == "ack"]


async def test_batch_with_two_consumers_and_a_handler_reaches_everyone() -> None:
    stream = BatchStream(buffer_size=50)
    handled: list[Any] = []
    async with stream:
        await stream.subscribe("t", lambda m: handled.append(m.value))
        a = asyncio.create_task(_take(stream, "t", 6))
        b = asyncio.create_task(_take(stream, "t", 6))
        await asyncio.sleep(0.05)
        stream.send("t", [1, 2, 3, 4, 5, 6])
        assert await asyncio.wait_for(a, 5) == [1, 2, 3, 4, 5, 6]
        assert await asyncio.wait_for(b, 5) == [1, 2, 3, 4, 5, 6]
        for _ in range(100):
            if len(handled) == 6:
                break
            await asyncio.sleep(0.01)
        assert handled == [1, 2, 3, 4, 5, 6]


async def test_messages_of_a_batch_left_in_the_buffer_go_back_to_the_broker() -> None:
    stream = BatchStream(buffer_size=50, manual=True)
    async with stream:
        agen, first = await _first_after_sending(stream, "t", ["a", "b", "c"])
        assert first.value == "a"
        await agen.aclose()  # "b" and "c" were never handed out
    assert ("nack-requeue", "b") in stream.acks
    assert ("nack-requeue", "c") in stream.acks
    assert ("ack", "b") not in stream.acks


async def test_batch_for_nobody_is_given_back() -> None:
    stream = BatchStream(buffer_size=50, manual=True)
    async with stream:
        task = asyncio.create_task(_take(stream, "wanted", 1))
        await asyncio.sleep(0.05)
        stream.send("unwanted", ["x"])
        stream.send("wanted", ["y"])
        assert await asyncio.wait_for(task, 5) == ["y"]
    assert ("nack-requeue", "x") in stream.acks


async def test_buffered_batches_do_not_trigger_garbage_collections() -> None:
    # What MessageBatch is for: 2,000 buffered messages are 4 objects, not 2,000 envelopes.
    stream = BatchStream(buffer_size=5000)
    collections = 0

    def count(phase: str, info: dict[str, Any]) -> None:
        nonlocal collections
        if phase == "start":
            collections += 1

    async with stream:
        agen = stream.consume("t")
        task = asyncio.create_task(agen.__anext__())
        await asyncio.sleep(0.05)
        gc.collect()
        gc.callbacks.append(count)
        try:
            for i in range(4):
                stream.send("t", list(range(i * 500, (i + 1) * 500)))
            await asyncio.sleep(0.05)
            (consumer,) = stream._rt.consumers
            assert consumer.queue.qsize() >= 1999
            assert len(stream.built) <= 1
            assert collections <= 2
        finally:
            gc.callbacks.remove(count)
        await task
        await agen.aclose()


async def test_buffer_primitives() -> None:
    buffer = _Buffer(3)
    batch = MessageBatch("t", [1, 2], lambda r: StreamMessage.received(topic="t", value=r))
    buffer.put_batch(batch)
    buffer.put_nowait(StreamMessage.received(topic="t", value=3))
    assert buffer.qsize() == 3
    assert buffer.full()
    with pytest.raises(asyncio.QueueFull):
        buffer.put_nowait(StreamMessage.received(topic="t", value=4))
    putter = asyncio.create_task(buffer.put(StreamMessage.received(topic="t", value=4)))
    await asyncio.sleep(0)
    assert not putter.done()  # waits for room
    assert buffer.get_nowait().value == 1
    await asyncio.wait_for(putter, 1)
    assert [buffer.get_nowait().value for _ in range(3)] == [2, 3, 4]
    assert buffer.empty()
    with pytest.raises(asyncio.QueueEmpty):
        buffer.get_nowait()
    getter = asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    buffer.put_nowait(StreamMessage.received(topic="t", value=5))
    assert (await asyncio.wait_for(getter, 1)).value == 5
    # wait_room: woken when that much room is free, not for every message taken
    buffer.put_batch(MessageBatch("t", [7, 8, 9], lambda r: StreamMessage.received(topic="t")))
    room = asyncio.create_task(buffer.wait_room(2))
    await asyncio.sleep(0)
    buffer.get_nowait()
    await asyncio.sleep(0)
    assert not room.done()  # one place free
    buffer.get_nowait()
    await asyncio.wait_for(room, 1)
    stopped = asyncio.create_task(buffer.wait_room(3))
    await asyncio.sleep(0)
    stopped.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopped
    buffer.get_nowait()
    assert buffer.empty()
    await asyncio.wait_for(buffer.wait_room(10), 1)  # capped at maxsize: an empty buffer is room
    cancelled = asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    buffer.put_nowait(StreamMessage.received(topic="t", value=6))
    assert (await asyncio.wait_for(buffer.get(), 1)).value == 6
