"""RedisPubSubResource against the real Redis (6379) and a redis-server of our own that we kill."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as raw_redis
from pydantic import SecretStr
from stream_helpers import BrokerProcess, free_port, until

from xresource import (
    RedisPubSubResource,
    ResourceFactory,
    StreamMessage,
    XResourceConnectionError,
    XResourceValidationError,
)


def _redis_argv(port: int) -> list[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not on PATH"
    # no persistence: the server is thrown away
    return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


@pytest.fixture
def own_redis() -> Iterator[BrokerProcess]:
    """A redis-server of our own on a free port that tests may kill and restart."""
    server = BrokerProcess("redis-server", _redis_argv)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stream(redis_url: str) -> RedisPubSubResource:
    resource = ResourceFactory.from_url(redis_url)
    assert isinstance(resource, RedisPubSubResource)
    return resource


async def test_round_trip_in_order_with_handler_and_consume(
    stream: RedisPubSubResource, unique_name: str
) -> None:
    n = 500
    got: list[Any] = []
    async with stream:
        await stream.subscribe(unique_name, lambda m: got.append(m.value))
        consumed: list[StreamMessage] = []

        async def consume() -> None:
            async for message in stream.consume([f"{unique_name}.b"]):
                consumed.append(message)
                if len(consumed) == n:
                    return

        task = asyncio.create_task(consume())
        await until(lambda: f"{unique_name}.b" in stream.active_subscriptions)
        for i in range(n):
            await stream.publish(unique_name, {"i": i})
            await stream.publish(f"{unique_name}.b", [i, "x"])
        await asyncio.wait_for(task, 20)
        await until(lambda: len(got) == n, what="handler messages")
    assert got == [{"i": i} for i in range(n)]
    assert [m.value for m in consumed] == [[i, "x"] for i in range(n)]
    assert all(m.topic == f"{unique_name}.b" and m.timestamp is not None for m in consumed)
    assert consumed[0].raw == b'[0,"x"]'


async def test_envelope_decodes_json_text_and_bytes(
    stream: RedisPubSubResource, unique_name: str, redis_url: str
) -> None:
    client = raw_redis.from_url(redis_url)
    got: list[StreamMessage] = []
    async with stream:
        await stream.subscribe(unique_name, got.append)
        await client.publish(unique_name, b'{"a": [1, 2]}')
        await client.publish(unique_name, "plain text")
        await client.publish(unique_name, b"\xff\xfe\x00")
        await until(lambda: len(got) == 3)
    await client.aclose()
    assert [m.value for m in got] == [{"a": [1, 2]}, "plain text", b"\xff\xfe\x00"]


async def test_handler_that_raises_is_reported_and_stream_goes_on(
    stream: RedisPubSubResource, unique_name: str
) -> None:
    errors: list[BaseException] = []
    good: list[Any] = []

    def flaky(message: StreamMessage) -> None:
        if message.value["i"] % 2:
            raise ValueError(f"bad {message.value['i']} password=hunter2")
        good.append(message.value["i"])

    async with stream:
        stream.on("error", errors.append)
        await stream.subscribe(unique_name, flaky)
        for i in range(6):
            await stream.publish(unique_name, {"i": i})
        await until(lambda: len(good) == 3 and len(errors) == 3)
    assert good == [0, 2, 4]
    assert all(unique_name in str(e) and "ValueError" in str(e) for e in errors)
    assert all("hunter2" not in str(e) for e in errors)


async def test_unserializable_message_is_rejected_before_sending(
    stream: RedisPubSubResource, unique_name: str
) -> None:
    got: list[Any] = []
    async with stream:
        await stream.subscribe(unique_name, lambda m: got.append(m.value))
        with pytest.raises(XResourceValidationError, match="cannot be serialized"):
            await stream.publish(unique_name, {"when": object()})
        with pytest.raises(XResourceValidationError):
            await stream.publish(unique_name, float("nan"))
        await stream.publish(unique_name, "marker")
        await until(lambda: got == ["marker"])
        await asyncio.sleep(0.1)
    assert got == ["marker"]


async def test_invalid_channels_and_options(stream: RedisPubSubResource) -> None:
    async with stream:
        with pytest.raises(XResourceValidationError, match="must not be empty"):
            await stream.publish("", {"a": 1})
        with pytest.raises(XResourceValidationError, match="control characters"):
            await stream.subscribe("bad\nchannel", print)
        with pytest.raises(XResourceValidationError, match="not callable"):
            await stream.subscribe("ok", "not a handler")  # type: ignore[arg-type]
        with pytest.raises(XResourceValidationError, match="unknown option"):
            await stream.publish("ok", 1, qos=1)
        with pytest.raises(XResourceValidationError, match="no key"):
            await stream.publish("ok", 1, key="k")
        with pytest.raises(XResourceValidationError, match="at least one topic"):
            async for _ in stream.consume([]):
                pass


async def test_pattern_subscription(stream: RedisPubSubResource, unique_name: str) -> None:
    got: list[tuple[str, Any]] = []
    async with stream:
        await stream.subscribe(
            f"{unique_name}.*", lambda m: got.append((m.topic, m.value)), pattern=True
        )
        await stream.publish(f"{unique_name}.eu", 1)
        await stream.publish(f"{unique_name}.us", 2)
        await stream.publish(f"other{unique_name}", 3)
        await until(lambda: len(got) == 2)
        await stream.unsubscribe(f"{unique_name}.*")
        assert stream.active_subscriptions == set()
        assert await stream.subscribers(f"{unique_name}.eu") == 0
    assert got == [(f"{unique_name}.eu", 1), (f"{unique_name}.us", 2)]


async def test_unsubscribe_stops_delivery(stream: RedisPubSubResource, unique_name: str) -> None:
    got: list[Any] = []
    async with stream:
        await stream.subscribe(unique_name, lambda m: got.append(m.value))
        assert await stream.subscribers(unique_name) == 1
        await stream.publish(unique_name, 1)
        await until(lambda: got == [1])
        await stream.unsubscribe(unique_name)
        assert await stream.subscribers(unique_name) == 0
        await stream.publish(unique_name, 2)
        await asyncio.sleep(0.2)
        # a new subscription starts a new reader
        await stream.subscribe(unique_name, lambda m: got.append(m.value))
        await stream.publish(unique_name, 3)
        await until(lambda: got == [1, 3])


async def test_restart_restores_subscriptions(own_redis: BrokerProcess, unique_name: str) -> None:
    stream = RedisPubSubResource(
        port=own_redis.port,
        reconnect_initial_delay=0.1,
        reconnect_interval=0.5,
        max_reconnect_attempts=40,
    )
    got: list[Any] = []
    events: list[tuple[str, Any]] = []
    stream.on("close", lambda cause: events.append(("close", cause)))
    stream.on("reconnect", lambda attempt: events.append(("reconnect", attempt)))
    async with stream:
        await stream.subscribe(unique_name, lambda m: got.append(m.value))
        await stream.publish(unique_name, "before")
        await until(lambda: got == ["before"])
        own_redis.stop()
        await until(lambda: any(e[0] == "close" for e in events), what="close event")
        with pytest.raises(XResourceConnectionError):
            await stream.publish(unique_name, "while down")
        own_redis.start()
        await until(lambda: any(e[0] == "reconnect" for e in events), 20, "reconnect event")
        assert stream.active_subscriptions == {unique_name}
        assert await stream.subscribers(unique_name) == 1  # restored on the server
        await stream.publish(unique_name, "after")
        await until(lambda: got == ["before", "after"], what="message after restart")
        assert stream.reconnect_count == 1
        assert await stream.validate_connection()


async def test_exhausted_reconnects_raise_connection_error(
    own_redis: BrokerProcess, unique_name: str
) -> None:
    stream = RedisPubSubResource(
        port=own_redis.port,
        reconnect_initial_delay=0.05,
        reconnect_interval=0.1,
        max_reconnect_attempts=3,
    )
    errors: list[BaseException] = []
    stream.on("error", errors.append)
    async with stream:
        received: list[Any] = []

        async def consume() -> None:
            async for message in stream.consume(unique_name):
                received.append(message.value)

        task = asyncio.create_task(consume())
        await until(lambda: unique_name in stream.active_subscriptions)
        await stream.publish(unique_name, 1)
        await until(lambda: received == [1])
        own_redis.stop()
        with pytest.raises(XResourceConnectionError, match="3 reconnection attempt"):
            await asyncio.wait_for(task, 20)
        assert any(isinstance(e, XResourceConnectionError) for e in errors)
        assert not await stream.validate_connection()
        with pytest.raises(XResourceConnectionError):
            await stream.publish(unique_name, 2)
    # disconnect() resets the failure: a new connect works once the server is back
    own_redis.start()
    async with stream:
        assert await stream.validate_connection()


async def test_disconnect_leaves_no_tasks(stream: RedisPubSubResource, unique_name: str) -> None:
    before = asyncio.all_tasks()
    stream.on("message", lambda m: None)
    await stream.connect()
    await stream.subscribe(unique_name, lambda m: None)
    consumer_done = asyncio.Event()

    async def consume() -> None:
        async for _ in stream.consume(unique_name):
            pass
        consumer_done.set()

    task = asyncio.create_task(consume())
    await until(lambda: len(stream.active_subscriptions) == 1 and len(stream._rt.consumers) == 1)
    await stream.publish(unique_name, 1)
    await stream.disconnect()
    await asyncio.wait_for(task, 5)  # consume() ends cleanly on disconnect
    assert consumer_done.is_set()
    assert asyncio.all_tasks() == before
    assert stream.active_subscriptions == set()
    await stream.disconnect()  # idempotent


async def test_slow_handler_backpressure_bounded(
    stream: RedisPubSubResource, unique_name: str
) -> None:
    stream.buffer_size = 4
    release = asyncio.Event()
    handled: list[int] = []

    async def slow(message: StreamMessage) -> None:
        await release.wait()
        handled.append(message.value)

    async with stream:
        await stream.subscribe(unique_name, slow)
        for i in range(30):
            await stream.publish(unique_name, i)
        await asyncio.sleep(0.3)
        dispatcher = stream._rt.dispatchers[("topic", unique_name)]
        assert dispatcher.queue.qsize() <= 4  # the reader waits instead of buffering 30
        release.set()
        await until(lambda: len(handled) == 30)
    assert handled == list(range(30))


async def test_credentials_never_leak(redis_url: str) -> None:
    stream = ResourceFactory.from_url("redis://app:s3cr3t-pw@127.0.0.1:6379/0")
    assert isinstance(stream, RedisPubSubResource)
    assert isinstance(stream.password, SecretStr)
    assert "s3cr3t-pw" not in repr(stream)
    assert "s3cr3t-pw" not in str(stream.get_metadata())
    with pytest.raises(XResourceConnectionError) as info:
        await stream.connect()
    assert "s3cr3t-pw" not in str(info.value)
    spec_style = ResourceFactory.create(
        "redis_pubsub", connection_string="redis://:pw-x@127.0.0.1:6379/2"
    )
    assert isinstance(spec_style, RedisPubSubResource)
    assert spec_style.db == 2
    assert "pw-x" not in repr(spec_style)


async def test_dead_server_is_a_clear_connection_error() -> None:
    stream = RedisPubSubResource(port=free_port(), connect_timeout=2)
    with pytest.raises(XResourceConnectionError, match=r"redis 'redis'.*connect"):
        await stream.publish("x", 1)
    assert not await stream.validate_connection()
