"""RabbitMQResource against the real RabbitMQ (5672, guest/guest).

Connections are closed server-side with ``rabbitmqctl close_connection`` (the broker itself drops
the client, as on a node restart); exhausted reconnection goes through a TCP relay to RabbitMQ that
the test shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from stream_helpers import until

from xresource import (
    RabbitMQResource,
    ResourceFactory,
    StreamMessage,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceValidationError,
    parse_url,
)

AMQP_HOST = os.environ.get("XTEST_AMQP_HOST", "127.0.0.1")


# RabbitMQ deliveries and reconnections are slower than the other brokers': a longer default wait
_until = functools.partial(until, limit=15.0)


async def _close_server_side(connection_name: str) -> None:
    """Have the broker close the connection whose client-provided name is ``connection_name``."""
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    proc = await asyncio.create_subprocess_exec(
        ctl,
        "-q",
        "list_connections",
        "pid",
        "client_properties",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    pids = [
        line.split("\t", 1)[0]
        for line in out.decode().splitlines()
        if f'"{connection_name}"' in line
    ]
    assert pids, f"connection {connection_name} not found"
    proc = await asyncio.create_subprocess_exec(
        ctl,
        "-q",
        "close_connection",
        pids[0],
        "test: server-side close",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


class Relay:
    """A TCP relay to RabbitMQ that can be shut down (the broker 'goes away' for one client)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(AMQP_HOST, self.target_port)
        self.writers.update((writer, up_writer))
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ):
            self.tasks.add(task)

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.writers:
            writer.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()


@pytest.fixture
async def exchange(amqp_url: str, unique_name: str) -> AsyncIterator[str]:
    """A fresh durable topic exchange, deleted after the test (with the test's queue)."""
    yield f"ex.{unique_name}"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        with contextlib.suppress(Exception):
            await channel.exchange_delete(f"ex.{unique_name}")
        with contextlib.suppress(Exception):
            await channel.queue_delete(f"q.{unique_name}")


def _stream(amqp_url: str, **kwargs: Any) -> RabbitMQResource:
    resource = ResourceFactory.from_url(amqp_url, **kwargs)
    assert isinstance(resource, RabbitMQResource)
    return resource


async def test_round_trip_in_order(amqp_url: str, exchange: str, unique_name: str) -> None:
    n = 300
    stream = _stream(amqp_url, exchange=exchange)
    got: list[StreamMessage] = []
    async with stream:
        await stream.subscribe("orders.created", got.append)
        for i in range(n):
            await stream.publish("orders.created", {"i": i}, headers={"trace": "t1"})
        await _until(lambda: len(got) == n)
    assert [m.value for m in got] == [{"i": i} for i in range(n)]
    assert got[0].headers == {"trace": "t1"}
    assert got[0].delivery_tag is not None
    assert got[0].redelivered is False
    assert got[0].topic == "orders.created"


async def test_consume_with_topic_wildcards(amqp_url: str, exchange: str) -> None:
    stream = _stream(amqp_url, exchange=exchange)
    async with stream:
        seen: list[tuple[str, Any]] = []

        async def consume() -> None:
            async for message in stream.consume(["orders.*.created", "audit.#"]):
                seen.append((message.topic, message.value))
                if len(seen) == 3:
                    return

        task = asyncio.create_task(consume())
        await _until(lambda: len(stream.active_subscriptions) == 2)
        await stream.publish("orders.eu.created", 1)
        await stream.publish("orders.eu.deleted", 2)  # matches no binding: not delivered
        await stream.publish("audit", 3)
        await stream.publish("audit.a.b", 4)
        await asyncio.wait_for(task, 10)
    assert seen == [("orders.eu.created", 1), ("audit", 3), ("audit.a.b", 4)]


async def test_durable_queue_survives_server_side_close_nothing_acked_lost_or_twice(
    amqp_url: str, exchange: str, unique_name: str
) -> None:
    n = 200
    stream = _stream(
        amqp_url,
        exchange=exchange,
        queue=f"q.{unique_name}",
        prefetch=10,
        reconnect_initial_delay=0.1,
        reconnect_interval=0.5,
    )
    handled: list[StreamMessage] = []
    events: list[str] = []
    stream.on("reconnect", lambda attempt: events.append("reconnect"))

    async def handler(message: StreamMessage) -> None:
        await asyncio.sleep(0.002)
        handled.append(message)

    async with stream:
        # the queue and its binding exist before the messages are published
        await stream.subscribe("jobs", handler)
        for i in range(n):
            await stream.publish("jobs", i)
        await _until(lambda: len(handled) >= 30)
        await _close_server_side(stream.connection_name)
        await _until(lambda: "reconnect" in events, what="reconnect")
        await _until(lambda: len({m.value for m in handled}) == n, limit=30, what="every message")
        await asyncio.sleep(0.3)
        remaining = await stream.purge()
    values = [m.value for m in handled]
    assert sorted(set(values)) == list(range(n))  # nothing lost
    assert remaining == 0  # every message was acknowledged
    # A message handled twice was one whose ack died with the connection: the broker says so.
    seen: set[int] = set()
    for message in handled:
        if message.value in seen:
            assert message.redelivered is True
        seen.add(message.value)
    assert len(values) - n <= 10  # at most the prefetch window is redelivered


async def test_manual_nack_requeues(amqp_url: str, exchange: str) -> None:
    stream = _stream(amqp_url, exchange=exchange)
    async with stream:
        await stream.publish("warmup.none", 0)
        seen: list[tuple[Any, bool | None]] = []

        async def consume() -> None:
            async for message in stream.consume("retry.me"):
                seen.append((message.value, message.redelivered))
                if len(seen) == 1:
                    await message.nack(requeue=True)
                else:
                    await message.ack()
                    return

        task = asyncio.create_task(consume())
        await _until(lambda: "retry.me" in stream.active_subscriptions)
        await stream.publish("retry.me", "job")
        await asyncio.wait_for(task, 10)
    assert seen == [("job", False), ("job", True)]


async def test_prefetch_bounds_unacknowledged_messages(
    amqp_url: str, exchange: str, unique_name: str
) -> None:
    stream = _stream(
        amqp_url, exchange=exchange, queue=f"q.{unique_name}", prefetch=5, buffer_size=2
    )
    release = asyncio.Event()
    handled: list[int] = []

    async def blocked(message: StreamMessage) -> None:
        await release.wait()
        handled.append(message.value)

    async with stream:
        await stream.subscribe("work", blocked)
        for i in range(40):
            await stream.publish("work", i)
        await asyncio.sleep(0.5)
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(f"q.{unique_name}", passive=True)
            ready = queue.declaration_result.message_count
        assert ready == 35  # the broker holds what the client has not room for
        release.set()
        await _until(lambda: len(handled) == 40)
    assert handled == list(range(40))


async def test_failing_handler_rejects_without_requeue(amqp_url: str, exchange: str) -> None:
    stream = _stream(amqp_url, exchange=exchange)
    errors: list[BaseException] = []
    ok: list[Any] = []
    calls: list[Any] = []

    def handler(message: StreamMessage) -> None:
        calls.append(message.value)
        if message.value == "poison":
            raise ValueError("cannot process")
        ok.append(message.value)

    stream.on("error", errors.append)
    async with stream:
        await stream.subscribe("t", handler)
        for v in ("a", "poison", "b"):
            await stream.publish("t", v)
        await _until(lambda: ok == ["a", "b"] and len(errors) == 1)
        await asyncio.sleep(0.2)
    assert calls == ["a", "poison", "b"]  # rejected once, not redelivered in a loop


async def test_exhausted_reconnects(amqp_url: str, exchange: str) -> None:
    relay = Relay(parse_url(amqp_url).port or 5672)
    port = await relay.start()
    stream = RabbitMQResource(
        port=port,
        exchange=exchange,
        reconnect_initial_delay=0.05,
        reconnect_interval=0.1,
        max_reconnect_attempts=3,
    )
    errors: list[BaseException] = []
    stream.on("error", errors.append)
    try:
        async with stream:

            async def consume() -> None:
                async for _ in stream.consume("x"):
                    pass

            task = asyncio.create_task(consume())
            await _until(lambda: "x" in stream.active_subscriptions)
            await relay.stop()
            with pytest.raises(XResourceConnectionError, match="3 reconnection attempt"):
                await asyncio.wait_for(task, 20)
            assert len(errors) == 1
    finally:
        await relay.stop()


async def test_bad_input_and_secrets(amqp_url: str, exchange: str) -> None:
    stream = _stream(amqp_url, exchange=exchange)
    with pytest.raises(XResourceValidationError, match="255"):
        await stream.publish("k" * 256, 1)
    with pytest.raises(XResourceValidationError, match="cannot be serialized"):
        await stream.publish("k", object())
    async with stream:
        with pytest.raises(XResourceValidationError, match="no key"):
            await stream.publish("k", 1, key="x")
        with pytest.raises(XResourceValidationError, match="unknown option"):
            await stream.publish("k", 1, qos=1)
    # the exchange exists as a topic exchange: declaring it as fanout is refused, clearly
    wrong = _stream(amqp_url, exchange=exchange, exchange_type="fanout")
    with pytest.raises(XResourceConnectionError, match="declare exchange"):
        await wrong.connect()
    secret = ResourceFactory.from_url("amqp://app:amqp-s3cret@127.0.0.1:5672/%2F?prefetch=7")
    assert isinstance(secret, RabbitMQResource)
    assert secret.prefetch == 7
    assert "amqp-s3cret" not in repr(secret) + str(secret.get_metadata())
    with pytest.raises(XResourceConnectionError) as info:
        await secret.connect()
    assert "amqp-s3cret" not in str(info.value)
    with pytest.raises(XResourceConfigurationError):
        ResourceFactory.from_url("amqp://127.0.0.1/?prefetch=-1")


async def test_disconnect_leaves_no_tasks(amqp_url: str, exchange: str) -> None:
    before = asyncio.all_tasks()
    stream = _stream(amqp_url, exchange=exchange)
    async with stream:
        await stream.subscribe("t", lambda m: None)
        await stream.publish("t", 1)
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before


async def test_publish_only_resource_reconnects_on_next_publish(
    amqp_url: str, exchange: str, unique_name: str
) -> None:
    reader = _stream(amqp_url, exchange=exchange, queue=f"q.{unique_name}")
    publisher = _stream(amqp_url, exchange=exchange)
    got: list[Any] = []
    async with reader, publisher:
        await reader.subscribe("p", lambda m: got.append(m.value))
        await publisher.publish("p", 1)
        await _until(lambda: got == [1])
        await _close_server_side(publisher.connection_name)
        await asyncio.sleep(0.3)
        await publisher.publish("p", 2)  # no reader task: the publish itself reconnects
        await _until(lambda: got == [1, 2])
