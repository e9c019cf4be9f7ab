"""MQTTResource against the real Mosquitto (1883) and a mosquitto of our own that we kill."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from stream_helpers import BrokerProcess, free_port, until

from xresource import (
    MQTTResource,
    ResourceFactory,
    StreamMessage,
    XResourceConnectionError,
    XResourceValidationError,
)


def _mosquitto_argv(port: int) -> list[str]:
    return [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-p", str(port)]


@pytest.fixture
def own_broker() -> Iterator[BrokerProcess]:
    """A mosquitto of our own on a free port that tests may kill and restart."""
    broker = BrokerProcess("mosquitto", _mosquitto_argv)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def stream(mqtt_url: str) -> MQTTResource:
    resource = ResourceFactory.from_url(mqtt_url)
    assert isinstance(resource, MQTTResource)
    return resource


@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_round_trip_in_order(stream: MQTTResource, unique_name: str, qos: int) -> None:
    n = 300
    topic = f"xs/{unique_name}/data"
    got: list[StreamMessage] = []
    async with stream:
        await stream.subscribe(topic, got.append, qos=qos)
        for i in range(n):
            await stream.publish(topic, {"i": i}, qos=qos)
        await until(lambda: len(got) == n, 20)
    assert [m.value for m in got] == [{"i": i} for i in range(n)]
    assert {m.qos for m in got} == {qos}
    assert all(m.topic == topic and m.retained is False for m in got)


async def test_reader_takes_messages_from_aiomqtt_queue(
    stream: MQTTResource, unique_name: str
) -> None:
    # The reader's fast path relies on aiomqtt's private queue and "disconnected" future; if an
    # aiomqtt release changes them the resource still works (public iterator) but slower: this
    # test says so instead of a silent slowdown.
    topic = f"xs/{unique_name}/fast"
    async with stream:
        assert stream._rt.inbound is not None, "aiomqtt changed: the reader uses the slow path"
        got: list[Any] = []
        await stream.subscribe(topic, lambda m: got.append(m.value))
        for i in range(50):
            await stream.publish(topic, i)
        await until(lambda: len(got) == 50, 20)
    assert got == list(range(50))
    assert stream._rt.inbound is None  # released with the connection


async def test_consume_with_wildcards(stream: MQTTResource, unique_name: str) -> None:
    base = f"xs/{unique_name}"
    single: list[str] = []
    async with stream:
        await stream.subscribe(f"{base}/+/temp", lambda m: single.append(m.topic))
        seen: list[tuple[str, Any]] = []

        async def consume() -> None:
            async for message in stream.consume([f"{base}/#"]):
                seen.append((message.topic, message.value))
                if len(seen) == 3:
                    return

        task = asyncio.create_task(consume())
        await until(lambda: f"{base}/#" in stream.active_subscriptions)
        await stream.publish(f"{base}/kitchen/temp", 21.5, qos=1)
        await stream.publish(f"{base}/kitchen/humidity", 40, qos=1)
        await stream.publish(f"{base}/a/b/temp", 3, qos=1)
        await asyncio.wait_for(task, 10)
        await until(lambda: len(single) == 1)
    assert seen == [
        (f"{base}/kitchen/temp", 21.5),
        (f"{base}/kitchen/humidity", 40),
        (f"{base}/a/b/temp", 3),
    ]
    assert single == [f"{base}/kitchen/temp"]


async def test_retained_message_reaches_late_subscriber(
    stream: MQTTResource, unique_name: str
) -> None:
    topic = f"xs/{unique_name}/state"
    async with stream:
        await stream.publish(topic, {"on": True}, qos=1, retain=True)
        got: list[StreamMessage] = []
        await stream.subscribe(topic, got.append, qos=1)
        await until(lambda: len(got) == 1)
        assert got[0].retained is True
        assert got[0].value == {"on": True}
        # an empty retained payload clears it on the broker
        await stream.publish(topic, b"", qos=1, retain=True)


async def test_bad_input(stream: MQTTResource, unique_name: str) -> None:
    async with stream:
        for bad in ("a/+/b", "a/#", "#"):
            with pytest.raises(XResourceValidationError, match="wildcards"):
                await stream.publish(bad, 1)
        for bad_filter in ("a/#/b", "a/b#", "a+/b"):
            with pytest.raises(XResourceValidationError, match="whole level"):
                await stream.subscribe(bad_filter, print)
        with pytest.raises(XResourceValidationError, match="QoS"):
            await stream.publish(f"xs/{unique_name}", 1, qos=3)
        with pytest.raises(XResourceValidationError, match="QoS"):
            await stream.subscribe(f"xs/{unique_name}", print, qos=-1)
        with pytest.raises(XResourceValidationError, match="cannot be serialized"):
            await stream.publish(f"xs/{unique_name}", {1, 2})
        with pytest.raises(XResourceValidationError, match="no key"):
            await stream.publish(f"xs/{unique_name}", 1, key="k")
        assert stream.active_subscriptions == set()


async def test_handler_error_isolated(stream: MQTTResource, unique_name: str) -> None:
    topic = f"xs/{unique_name}"
    errors: list[BaseException] = []
    good: list[int] = []
    async with stream:
        stream.on("error", errors.append)
        await stream.subscribe(topic, lambda m: 1 / 0)
        await stream.subscribe(topic, lambda m: good.append(m.value))
        for i in range(5):
            await stream.publish(topic, i, qos=1)
        await until(lambda: len(good) == 5 and len(errors) == 5)
    assert good == [0, 1, 2, 3, 4]


async def test_broker_restart_restores_subscriptions(
    own_broker: BrokerProcess, unique_name: str
) -> None:
    stream = MQTTResource(
        port=own_broker.port,
        reconnect_initial_delay=0.1,
        reconnect_interval=0.5,
        max_reconnect_attempts=40,
        qos=1,
    )
    topic = f"xs/{unique_name}/#"
    got: list[Any] = []
    events: list[str] = []
    stream.on("close", lambda cause: events.append("close"))
    stream.on("reconnect", lambda attempt: events.append("reconnect"))
    async with stream:
        await stream.subscribe(topic, lambda m: got.append(m.value))
        await stream.publish(f"xs/{unique_name}/a", "before")
        await until(lambda: got == ["before"])
        own_broker.stop()
        await until(lambda: "close" in events, what="close event")
        with pytest.raises(XResourceConnectionError):
            await stream.publish(f"xs/{unique_name}/a", "while down")
        own_broker.start()
        await until(lambda: "reconnect" in events, 20, "reconnect event")
        assert stream.active_subscriptions == {topic}
        await stream.publish(f"xs/{unique_name}/b", "after")
        await until(lambda: got == ["before", "after"], what="message after restart")
        assert await stream.validate_connection()


async def test_exhausted_reconnects(own_broker: BrokerProcess, unique_name: str) -> None:
    stream = MQTTResource(
        port=own_broker.port,
        reconnect_initial_delay=0.05,
        reconnect_interval=0.1,
        max_reconnect_attempts=2,
    )
    errors: list[BaseException] = []
    stream.on("error", errors.append)
    async with stream:

        async def consume() -> None:
            async for _ in stream.consume(f"xs/{unique_name}"):
                pass

        task = asyncio.create_task(consume())
        await until(lambda: len(stream.active_subscriptions) == 1)
        own_broker.stop()
        with pytest.raises(XResourceConnectionError, match="2 reconnection attempt"):
            await asyncio.wait_for(task, 20)
        assert [type(e) for e in errors] == [XResourceConnectionError]


async def test_disconnect_leaves_no_tasks(stream: MQTTResource, unique_name: str) -> None:
    before = asyncio.all_tasks()
    async with stream:
        await stream.subscribe(f"xs/{unique_name}", lambda m: None)
        await stream.publish(f"xs/{unique_name}", 1)
    assert asyncio.all_tasks() == before


async def test_url_and_secrets(mqtt_url: str) -> None:
    stream = ResourceFactory.from_url("mqtts://dev:pa55word@broker.example:8884?qos=1")
    assert isinstance(stream, MQTTResource)
    assert (stream.tls, stream.port, stream.qos, stream.username) == (True, 8884, 1, "dev")
    assert "pa55word" not in repr(stream)
    assert "pa55word" not in str(stream.get_metadata())
    dead = MQTTResource(port=free_port(), connect_timeout=2)
    with pytest.raises(XResourceConnectionError, match="connect"):
        await dead.connect()
