"""The shared machinery of EventStreamResource (routing, backpressure, handler isolation,
reconnection, shutdown), driven by an in-memory transport.

The fake transport stands in for no broker: it exercises only our own logic; every broker is
tested against its real server in tests-integration/xresource/test_streams_*.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, ClassVar

import pytest
from pydantic import PrivateAttr

from xresource import XResourceConnectionError, XResourceError, XResourceValidationError
from xresource.streams import EventStreamResource, StreamMessage


class _Lost(ConnectionError):
    pass


class FakeStream(EventStreamResource):
    """Loops published messages back to the reader through an unbounded in-memory 'wire'."""

    resource_type: ClassVar[str] = "fake"

    _wire: asyncio.Queue[StreamMessage | BaseException] | None = PrivateAttr(default=None)
    _fail_opens: int = PrivateAttr(default=0)
    opens: int = 0
    subscribe_calls: list[list[str]] = []
    unsubscribe_calls: list[list[str]] = []
    acks: list[tuple[str, Any]] = []

    async def _open(self) -> None:
        self.opens += 1
        if self._fail_opens:
            self._fail_opens -= 1
            raise _Lost("server down")
        self._wire = asyncio.Queue()

    async def _close(self) -> None:
        self._wire = None

    async def _transport_subscribe(self, topics: list[str]) -> None:
        self.subscribe_calls.append(list(topics))

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        self.unsubscribe_calls.append(list(topics))

    async def _receive(self) -> AsyncGenerator[StreamMessage, None]:
        wire = self._wire
        assert wire is not None
        while True:
            item = await wire.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    async def _publish_bytes(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | bytes | None,
        headers: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        if self._wire is None:
            raise XResourceConnectionError("down", resource=self.display_name)
        message = StreamMessage(
            topic=topic,
            value=self.serializer.loads(payload),
            raw=payload,
            key=key,
            headers=headers or {},
        )
        if options.get("ackable"):
            value = message.value

            async def ack() -> None:
                self.acks.append(("ack", value))

            async def nack(requeue: bool) -> None:
                self.acks.append(("nack-requeue" if requeue else "nack", value))

            message.bind_ack(ack, nack)
        await self._wire.put(message)

    def drop_connection(self) -> None:
        assert self._wire is not None
        self._wire.put_nowait(_Lost("connection reset"))


async def _until(cond: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)


def _fake(**kwargs: Any) -> FakeStream:
    kwargs.setdefault("reconnect_initial_delay", 0.01)
    kwargs.setdefault("reconnect_interval", 0.02)
    return FakeStream(subscribe_calls=[], unsubscribe_calls=[], acks=[], **kwargs)


async def test_subscribe_publish_in_order_and_consume() -> None:
    stream = _fake()
    got: list[Any] = []
    async with stream:
        await stream.subscribe("a", lambda m: got.append(m.value))
        for i in range(50):
            await stream.publish("a", i)
        await _until(lambda: len(got) == 50)

        async def consume() -> list[Any]:
            out = []
            async for message in stream.consume(["b", "c"]):
                out.append((message.topic, message.value))
                if len(out) == 2:
                    break
            return out

        task = asyncio.create_task(consume())
        await _until(lambda: {"b", "c"} <= stream.active_subscriptions)
        await stream.publish("b", "x")
        await stream.publish("z", "not subscribed")
        await stream.publish("c", "y")
        assert await asyncio.wait_for(task, 2) == [("b", "x"), ("c", "y")]
        await _until(lambda: stream.active_subscriptions == {"a"})
    assert got == list(range(50))
    assert stream.subscribe_calls == [["a"], ["b", "c"]]
    assert sorted(stream.unsubscribe_calls[0]) == ["b", "c"]


async def test_shared_topic_is_subscribed_once_and_kept_while_used() -> None:
    stream = _fake()
    async with stream:
        await stream.subscribe("t", print)
        await stream.subscribe("t", print)  # second handler, same transport subscription
        agen = stream.consume("t")
        task = asyncio.create_task(agen.__anext__())
        await _until(lambda: len(stream._rt.consumers) == 1)
        assert stream.subscribe_calls == [["t"]]
        await stream.unsubscribe("t")
        assert stream.active_subscriptions == {"t"}  # consume() still uses it
        await stream.publish("t", 1)
        assert (await asyncio.wait_for(task, 2)).value == 1
        await agen.aclose()
        assert stream.active_subscriptions == set()
        assert stream.unsubscribe_calls == [["t"]]


async def test_handler_error_is_isolated_reported_and_redacted(caplog: Any) -> None:
    stream = _fake()
    errors: list[BaseException] = []
    good: list[Any] = []

    async def bad(message: StreamMessage) -> None:
        raise RuntimeError("failed for postgresql://u:topsecret@db/x")

    stream.on("error", errors.append)
    stream.on("error", lambda e: 1 / 0)  # a broken error handler is only logged
    async with stream:
        await stream.subscribe("t", bad)
        await stream.subscribe("t", lambda m: good.append(m.value))
        for i in range(3):
            await stream.publish("t", i)
        await _until(lambda: len(good) == 3 and len(errors) == 3)
    assert all(isinstance(e, XResourceError) for e in errors)
    assert isinstance(errors[0].__cause__, RuntimeError)
    assert "topsecret" not in str(errors[0])
    assert "topsecret" not in caplog.text
    assert "RuntimeError" in caplog.text


async def test_slow_handler_applies_backpressure_to_the_reader() -> None:
    stream = _fake(buffer_size=3)
    release = asyncio.Event()
    handled: list[int] = []

    async def slow(message: StreamMessage) -> None:
        await release.wait()
        handled.append(message.value)

    async with stream:
        await stream.subscribe("t", slow)
        for i in range(100):
            await stream.publish("t", i)
        await asyncio.sleep(0.1)
        assert stream._wire is not None
        dispatcher = stream._rt.dispatchers[("topic", "t")]
        assert dispatcher.queue.qsize() == 3  # bounded
        # 1 in the handler, 3 queued, 1 held by the waiting reader: the rest stays on the wire
        assert stream._wire.qsize() == 95
        release.set()
        await _until(lambda: len(handled) == 100)
    assert handled == list(range(100))


async def test_slow_consumer_applies_backpressure() -> None:
    stream = _fake(buffer_size=2)
    async with stream:
        agen = stream.consume("t")
        first = asyncio.create_task(agen.__anext__())
        await _until(lambda: "t" in stream.active_subscriptions)
        for i in range(20):
            await stream.publish("t", i)
        assert (await first).value == 0
        await asyncio.sleep(0.05)
        assert stream._wire is not None
        assert stream._wire.qsize() >= 20 - 1 - 2 - 1
        values = [(await agen.__anext__()).value for _ in range(19)]
        assert values == list(range(1, 20))
        await agen.aclose()


async def test_reconnect_restores_every_subscription() -> None:
    stream = _fake(max_reconnect_attempts=5)
    events: list[tuple[str, Any]] = []
    stream.on("close", lambda c: events.append(("close", type(c).__name__ if c else None)))
    stream.on("reconnect", lambda n: events.append(("reconnect", n)))
    got: list[Any] = []
    async with stream:
        await stream.subscribe("a", lambda m: got.append(m.value))
        await stream.subscribe("b", lambda m: got.append(m.value))
        stream._fail_opens = 2  # the first two attempts fail
        stream.drop_connection()
        await _until(lambda: ("reconnect", 3) in events)
        assert sorted(stream.subscribe_calls[-1]) == ["a", "b"]
        assert stream.reconnect_count == 1
        assert stream.opens == 4
        await stream.publish("b", "after")
        await _until(lambda: got == ["after"])
    assert events[0] == ("close", "_Lost")
    assert events[-1] == ("close", None)  # disconnect()


async def test_exhausted_reconnects_fail_consumers_and_later_calls() -> None:
    stream = _fake(max_reconnect_attempts=3)
    errors: list[BaseException] = []
    stream.on("error", errors.append)
    async with stream:
        agen = stream.consume("t")
        pending = asyncio.create_task(agen.__anext__())
        await _until(lambda: "t" in stream.active_subscriptions)
        stream._fail_opens = 10
        stream.drop_connection()
        with pytest.raises(XResourceConnectionError, match="3 reconnection attempt") as info:
            await asyncio.wait_for(pending, 2)
        assert "_Lost" in str(info.value)
        assert errors == [info.value]
        assert stream.opens == 4
        with pytest.raises(XResourceConnectionError):
            await stream.publish("t", 1)
        with pytest.raises(XResourceConnectionError):
            await stream.subscribe("u", print)
        assert not await stream.validate_connection()
        assert stream.get_metadata()["failed"] is True
    # disconnect resets; connect works again once the server is back
    stream._fail_opens = 0
    async with stream:
        assert await stream.validate_connection()


async def test_zero_attempts_fails_at_once() -> None:
    stream = _fake(max_reconnect_attempts=0)
    async with stream:
        agen = stream.consume("t")
        pending = asyncio.create_task(agen.__anext__())
        await _until(lambda: "t" in stream.active_subscriptions)
        stream.drop_connection()
        with pytest.raises(XResourceConnectionError, match="0 reconnection"):
            await asyncio.wait_for(pending, 2)
        assert stream.opens == 1


async def test_disconnect_cancels_and_awaits_everything() -> None:
    before = asyncio.all_tasks()
    stream = _fake()
    stream.on("message", lambda m: None)
    stream.on("trade", lambda m: None)
    ended: list[str] = []
    await stream.connect()
    blocker = asyncio.Event()

    async def stuck(message: StreamMessage) -> None:
        await blocker.wait()

    await stream.subscribe("t", stuck)

    async def consume() -> None:
        async for _ in stream.consume("t"):
            pass
        ended.append("consume ended")

    task = asyncio.create_task(consume())
    await _until(lambda: len(stream._rt.consumers) == 1)
    await stream.publish("t", 1)
    await asyncio.sleep(0.02)
    await stream.disconnect()
    await asyncio.wait_for(task, 2)
    assert ended == ["consume ended"]
    assert asyncio.all_tasks() == before
    assert stream.active_subscriptions == set()
    assert not stream.is_connected


async def test_message_and_typed_events() -> None:
    stream = _fake()
    everything: list[Any] = []
    trades: list[Any] = []
    stream.on("message", lambda m: everything.append(m.value))
    async with stream:
        stream.on("trade", lambda m: trades.append(m.value))  # registered while connected
        await stream.subscribe("t", lambda m: None)
        await stream.publish("t", {"type": "trade", "qty": 1})
        await stream.publish("t", {"type": "quote"})
        await stream.publish("t", "text")
        await _until(lambda: len(everything) == 3 and len(trades) == 1)
    assert trades == [{"type": "trade", "qty": 1}]
    stream.off("trade")
    assert stream._rt.event_handlers["trade"] == []


async def test_publish_validates_before_connecting() -> None:
    stream = _fake()
    with pytest.raises(XResourceValidationError, match=r"\[fake 'fake'\] publish to 't'"):
        await stream.publish("t", {"bad": object()})
    with pytest.raises(XResourceValidationError, match=r"\[fake 'fake'\] publish: .*empty"):
        await stream.publish("", 1)
    with pytest.raises(XResourceValidationError, match="must be a string"):
        await stream.publish(["unhashable"], 1)  # type: ignore[arg-type]
    assert stream.opens == 0
    assert not stream.is_connected


async def test_bad_handlers_and_events() -> None:
    stream = _fake()
    with pytest.raises(XResourceValidationError, match="not callable"):
        stream.on("error", None)  # type: ignore[arg-type]
    with pytest.raises(XResourceValidationError, match="event name"):
        stream.on("", print)
    async with stream:
        with pytest.raises(XResourceValidationError, match="not callable"):
            await stream.subscribe("t", 3)  # type: ignore[arg-type]
        with pytest.raises(XResourceValidationError, match="unknown option"):
            await stream.subscribe("t", print, qos=1)
        assert stream.active_subscriptions == set()
        with pytest.raises(XResourceValidationError, match="at least one topic"):
            await stream.consume([]).__anext__()


async def test_acknowledgements_follow_the_handler_outcome() -> None:
    stream = _fake()

    def handler(message: StreamMessage) -> None:
        if message.value == "bad":
            raise ValueError("no")

    async with stream:
        await stream.subscribe("t", handler)
        await stream.publish("t", "ok", ackable=True)
        await stream.publish("t", "bad", ackable=True)
        await stream.publish("nobody", "orphan", ackable=True)
        await _until(lambda: len(stream.acks) == 3)
    assert sorted(stream.acks) == [("ack", "ok"), ("nack", "bad"), ("nack-requeue", "orphan")]


async def test_consume_acknowledges_when_the_next_message_is_requested() -> None:
    stream = _fake()
    async with stream:
        agen = stream.consume("t")
        first = asyncio.create_task(agen.__anext__())
        await _until(lambda: "t" in stream.active_subscriptions)
        for v in ("a", "b", "c"):
            await stream.publish("t", v, ackable=True)
        m1 = await first
        assert stream.acks == []  # still being processed
        m2 = await agen.__anext__()
        assert stream.acks == [("ack", "a")]
        await m2.nack(requeue=True)  # the application settles it itself
        await agen.__anext__()
        await agen.aclose()
    assert stream.acks == [("ack", "a"), ("nack-requeue", "b")]
    assert m1.settled
    assert m2.settled


async def test_metadata_lists_subscriptions() -> None:
    stream = _fake()
    async with stream:
        await stream.subscribe("t", print)
        meta = stream.get_metadata()
        assert meta["active_subscriptions"] == ["t"]
        assert meta["connected"] is True
        assert await stream.list_collections_or_tables() == ["t"]


async def test_leaving_consumer_with_full_queue_does_not_block_the_reader() -> None:
    stream = _fake(buffer_size=2)
    got: list[Any] = []
    async with stream:
        agen = stream.consume("t")
        first = asyncio.create_task(agen.__anext__())
        await _until(lambda: len(stream._rt.consumers) == 1)
        for i in range(10):  # the consumer's queue fills; the reader waits for room
            await stream.publish("t", i, ackable=True)
        assert (await first).value == 0
        await asyncio.sleep(0.05)
        await agen.aclose()  # leaves with a full queue: the reader must go on
        await stream.subscribe("t", lambda m: got.append(m.value))
        await stream.publish("t", "after")
        await _until(lambda: "after" in got)
    # what was queued for the departed consumer went back to the broker
    assert ("nack-requeue", 1) in stream.acks
    assert ("nack-requeue", 2) in stream.acks


async def test_unsubscribe_with_full_queue_does_not_block_the_reader() -> None:
    stream = _fake(buffer_size=1)
    blocker = asyncio.Event()
    other: list[Any] = []

    async def stuck(message: StreamMessage) -> None:
        await blocker.wait()

    async with stream:
        await stream.subscribe("a", stuck)
        await stream.subscribe("b", lambda m: other.append(m.value))
        for i in range(5):
            await stream.publish("a", i)
        await asyncio.sleep(0.05)
        await stream.unsubscribe("a")
        await stream.publish("b", "flows")
        await _until(lambda: other == ["flows"])
