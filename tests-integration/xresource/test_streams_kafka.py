"""KafkaResource against the Kafka mock broker (librdkafka's mock cluster, fixture kafka_bootstrap).

The mock cluster creates topics on first use (with several partitions), so the tests publish to
fresh topic names; messages with one key share a partition and keep their order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from stream_helpers import KafkaMockBroker, free_port, until

from xresource import (
    KafkaResource,
    ResourceFactory,
    StreamMessage,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceValidationError,
)


@pytest.fixture
def own_kafka() -> Iterator[KafkaMockBroker]:
    """A Kafka broker of our own that tests may take down and bring back up."""
    broker = KafkaMockBroker()
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


def _kafka(bootstrap: str, **kwargs: Any) -> KafkaResource:
    kwargs.setdefault("auto_offset_reset", "earliest")
    return KafkaResource(bootstrap_servers=bootstrap, **kwargs)


async def _take(
    stream: KafkaResource, topic: str, n: int, limit: float = 60
) -> list[StreamMessage]:
    got: list[StreamMessage] = []

    async def run() -> None:
        async for message in stream.consume(topic):
            got.append(message)
            if len(got) == n:
                return

    await asyncio.wait_for(run(), limit)
    return got


async def _more_within(
    stream: KafkaResource, topic: str, seconds: float = 2
) -> list[StreamMessage]:
    """What else arrives on ``topic`` within ``seconds``; the consume loop must not end by itself
    (a group that resumed at the right offset gets nothing more)."""
    extra: list[StreamMessage] = []

    async def more() -> None:
        async for message in stream.consume(topic):
            extra.append(message)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(more(), seconds)
    return extra


async def test_round_trip_in_order_per_key(kafka_bootstrap: str, unique_name: str) -> None:
    n = 300
    producer = ResourceFactory.from_url(f"kafka://{kafka_bootstrap}/")
    assert isinstance(producer, KafkaResource)
    consumer = _kafka(kafka_bootstrap, group_id=f"g-{unique_name}")
    async with producer, consumer:
        await producer.publish(
            unique_name, {"i": 0}, key="order-1", headers={"source": "test", "bin": b"\x01"}
        )
        for i in range(1, n):
            await producer.publish(unique_name, {"i": i}, key="order-1", wait=False)
        await producer.flush()
        got = await _take(consumer, unique_name, n)
        assert unique_name in await producer.list_collections_or_tables()
    assert [m.value for m in got] == [{"i": i} for i in range(n)]
    assert {m.partition for m in got} == {got[0].partition}
    assert [m.offset for m in got] == list(range(got[0].offset or 0, (got[0].offset or 0) + n))
    assert got[0].key == "order-1"
    assert got[0].headers == {"source": "test", "bin": "\x01"}
    assert got[0].timestamp is not None
    # Broker timestamps in order and of this run (records of one batch share a datetime).
    stamps = [m.timestamp for m in got]
    assert all(t is not None for t in stamps)
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert abs((datetime.now(UTC) - stamps[-1]).total_seconds()) < 600  # type: ignore[operator]
    assert got[0].topic == unique_name


async def test_group_commit_resumes_after_last_committed_offset(
    kafka_bootstrap: str, unique_name: str
) -> None:
    n = 40
    group = f"g-{unique_name}"
    async with _kafka(kafka_bootstrap) as producer:
        for i in range(n):
            # no key: the messages spread over the topic's partitions
            await producer.publish(unique_name, i, wait=False)
        await producer.flush()
    first = _kafka(kafka_bootstrap, group_id=group, auto_commit=False, max_batch=500)
    async with first:
        part1: list[StreamMessage] = []
        committed: dict[str, dict[int, int]] = {}
        async for message in first.consume(unique_name):
            part1.append(message)
            if len(part1) == 15:
                # the consumer fetched more than 15 records; only the 15 handed out count
                committed = await first.commit()
                break
        assert (
            sum(committed[unique_name].values())
            - sum(min(m.offset for m in part1 if m.partition == p) for p in committed[unique_name])
            == 15
        )
    second = _kafka(kafka_bootstrap, group_id=group, auto_commit=False)
    async with second:
        part2 = await _take(second, unique_name, n - 15)
        extra = await _more_within(second, unique_name)
    first_values = [m.value for m in part1]
    second_values = [m.value for m in part2]
    assert not set(first_values) & set(second_values), "consumed twice by one group"
    assert sorted(first_values + second_values) == list(range(n)), "lost messages"
    assert extra == []


async def test_message_ack_commits_that_offset(kafka_bootstrap: str, unique_name: str) -> None:
    group = f"g-{unique_name}"
    async with _kafka(kafka_bootstrap) as producer:
        for i in range(6):
            await producer.publish(unique_name, i, key="k")
    async with _kafka(kafka_bootstrap, group_id=group, auto_commit=False) as consumer:
        async for message in consumer.consume(unique_name):
            if message.value == 2:
                await message.ack()  # commits offsets up to and including this message
                assert message.settled
                break
    async with _kafka(kafka_bootstrap, group_id=group, auto_commit=False) as consumer:
        rest = await _take(consumer, unique_name, 3)
    assert [m.value for m in rest] == [3, 4, 5]


async def test_subscribe_handler_and_error_isolation(
    kafka_bootstrap: str, unique_name: str
) -> None:
    errors: list[BaseException] = []
    good: list[int] = []

    def handler(message: StreamMessage) -> None:
        if message.value == 2:
            raise KeyError("bad")
        good.append(message.value)

    stream = _kafka(kafka_bootstrap, group_id=f"g-{unique_name}")
    stream.on("error", errors.append)
    async with stream:
        await stream.subscribe(unique_name, handler)
        for i in range(5):
            await stream.publish(unique_name, i, key="same")
        await until(lambda: len(good) == 4 and len(errors) == 1, 30, "handled messages")
        assert stream.active_subscriptions == {unique_name}
        await stream.unsubscribe(unique_name)
        assert stream.active_subscriptions == set()
    assert good == [0, 1, 3, 4]


async def test_bad_input(kafka_bootstrap: str, unique_name: str) -> None:
    stream = _kafka(kafka_bootstrap)
    for bad in ("bad topic", "a" * 250, "..", "ümlaut", ""):
        with pytest.raises(XResourceValidationError):
            await stream.publish(bad, 1)
    with pytest.raises(XResourceValidationError, match="cannot be serialized"):
        await stream.publish(unique_name, {"x": {1, 2}})
    assert not stream.is_connected  # nothing was sent, not even a connection
    async with stream:
        with pytest.raises(XResourceValidationError, match="unknown option"):
            await stream.publish(unique_name, 1, qos=1)
        with pytest.raises(XResourceConfigurationError, match="group_id"):
            await stream.commit()
    with pytest.raises(XResourceConfigurationError, match="bootstrap_servers"):
        ResourceFactory.create("kafka", bootstrap_servers=" , ")


async def test_url_parameters_and_secrets(kafka_bootstrap: str) -> None:
    stream = ResourceFactory.from_url(
        "kafka://svc:sasl-secret@h1:9092,h2:9093/?group_id=billing&auto_offset_reset=earliest"
    )
    assert isinstance(stream, KafkaResource)
    assert stream.bootstrap_servers == "h1:9092,h2:9093"
    assert (stream.group_id, stream.auto_offset_reset) == ("billing", "earliest")
    assert stream.sasl_username == "svc"
    assert "sasl-secret" not in repr(stream) + str(stream.get_metadata())


async def test_dead_broker_is_a_connection_error() -> None:
    stream = KafkaResource(bootstrap_servers=f"127.0.0.1:{free_port()}", connect_timeout=2)
    with pytest.raises(XResourceConnectionError, match="kafka 'kafka'"):
        await stream.connect()


async def test_disconnect_leaves_no_tasks(kafka_bootstrap: str, unique_name: str) -> None:
    before = asyncio.all_tasks()
    stream = _kafka(kafka_bootstrap, group_id=f"g-{unique_name}")
    async with stream:
        await stream.publish(unique_name, 1, key="k")
        await _take(stream, unique_name, 1)
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before


async def _answers(stream: KafkaResource, expected: bool, limit: float = 30) -> None:
    """Wait until ``validate_connection()`` gives ``expected`` (each probe is bounded)."""
    deadline = asyncio.get_running_loop().time() + limit
    while await stream.validate_connection() is not expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"validate_connection() never gave {expected}")
        await asyncio.sleep(0.1)


async def test_restart_restores_subscription_and_keeps_commits(
    own_kafka: KafkaMockBroker, unique_name: str
) -> None:
    # One key: one partition, so "committed up to value v" is "every value <= v".
    topic, group, key = unique_name, f"g-{unique_name}", "k"
    producer = _kafka(own_kafka.bootstrap)
    stream = _kafka(
        own_kafka.bootstrap,
        group_id=group,
        auto_commit=False,
        connect_timeout=2,
        liveness_interval=1,
        consumer_config={"session_timeout_ms": 6000, "heartbeat_interval_ms": 500},
    )
    errors: list[BaseException] = []
    closes: list[BaseException | None] = []
    reconnects: list[int] = []
    stream.on("error", errors.append)
    stream.on("close", closes.append)
    stream.on("reconnect", reconnects.append)
    got: list[int] = []
    acked: list[int] = []
    refused: list[BaseException] = []

    async def handler(message: StreamMessage) -> None:
        got.append(message.value)
        if message.value in (5, 12):
            try:
                await message.ack()  # commits every offset up to and including this message
            except XResourceConnectionError as exc:
                refused.append(exc)
            else:
                acked.append(message.value)

    async with producer, stream:
        await stream.subscribe(topic, handler)
        for i in range(10):
            await producer.publish(topic, i, key=key)
        await until(lambda: len(got) >= 10, 60, "the messages published before the outage")
        assert acked == [5]

        own_kafka.down()
        await _answers(stream, False)  # the outage is seen
        # Not an assertion: the outage outlasts the session timeout, so the broker drops the
        # member and the consumer must rejoin its group from the committed offsets.
        await asyncio.sleep(8)
        assert stream.active_subscriptions == {topic}
        # Acknowledged by the broker once it is back: published during the outage, not lost.
        during = asyncio.create_task(producer.publish(topic, 10, key=key))
        own_kafka.up()
        await asyncio.wait_for(during, 60)
        await _answers(stream, True)
        for i in range(11, 15):
            await producer.publish(topic, i, key=key)
        # Until the consumer has rejoined, it may still fetch with its old assignment; an ack
        # then is refused (the member expired) and the message comes again after the rejoin.
        await until(lambda: 12 in acked and set(got) >= set(range(15)), 60, "the ack of 12")
        assert stream.active_subscriptions == {topic}
        assert errors == []
        # The outage was seen and reported like every stream's: a close with its cause, then
        # a reconnection (a new consumer in the same group) once the broker answered again.
        assert closes
        assert all(isinstance(c, XResourceConnectionError) for c in closes), closes
        assert reconnects
        assert stream.reconnect_count == len(reconnects)
    assert acked == [5, 12]
    assert all("nothing was committed" in str(e) for e in refused), refused
    # The rejoined member resumed at the commit made before the outage: what was acknowledged
    # came once, what was only handed out (6-9) came again (at-least-once).
    assert sorted(v for v in got if v <= 5) == list(range(6)), "acknowledged, consumed again"
    assert all(got.count(v) >= 2 for v in range(6, 10)), got

    async with _kafka(own_kafka.bootstrap, group_id=group, auto_commit=False) as fresh:
        rest = await _take(fresh, topic, 2)
        extra = await _more_within(fresh, topic)
    # The commit of value 12 survived the restart: the group resumes right after it.
    assert [m.value for m in rest] == [13, 14]
    assert extra == []


async def test_consume_loop_survives_restart(own_kafka: KafkaMockBroker, unique_name: str) -> None:
    # No key: the messages spread over the topic's partitions.
    topic, group = unique_name, f"g-{unique_name}"
    producer = _kafka(own_kafka.bootstrap)
    stream = _kafka(own_kafka.bootstrap, group_id=group, auto_commit=False, connect_timeout=2)
    got: list[int] = []

    async def consume() -> None:
        async for message in stream.consume(topic):
            got.append(message.value)

    async with producer, stream:
        reader = asyncio.create_task(consume())
        try:
            for i in range(20):
                await producer.publish(topic, i, wait=False)
            await producer.flush()
            await until(lambda: len(got) >= 20, 60, "the messages published before the outage")
            before = await stream.commit()
            assert sum(before[topic].values()) == 20  # each partition's next offset, from 0

            own_kafka.down()
            await _answers(stream, False)
            own_kafka.up()
            await _answers(stream, True)
            assert not reader.done()  # the loop neither ended nor raised
            for i in range(20, 30):
                await producer.publish(topic, i, wait=False)
            await producer.flush()
            await until(lambda: set(got) >= set(range(30)), 60, "the messages published after")
            after = await stream.commit()
            assert sum(after[topic].values()) == 30
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    assert sorted(v for v in got if v < 20) == list(range(20)), "committed, consumed again"

    async with _kafka(own_kafka.bootstrap, group_id=group, auto_commit=False) as fresh:
        extra = await _more_within(fresh, topic)
    assert extra == []  # everything was committed, and the commits survived the restart


async def test_broker_that_stays_down_ends_in_a_connection_error(
    own_kafka: KafkaMockBroker, unique_name: str
) -> None:
    topic = unique_name
    stream = _kafka(
        own_kafka.bootstrap,
        group_id=f"g-{unique_name}",
        connect_timeout=1,
        liveness_interval=0.5,
        max_reconnect_attempts=2,
        reconnect_initial_delay=0.1,
        reconnect_interval=0.2,
    )
    errors: list[BaseException] = []
    reconnects: list[int] = []
    stream.on("error", errors.append)
    stream.on("reconnect", reconnects.append)
    got: list[Any] = []

    async def consume() -> None:
        async for message in stream.consume(topic):
            got.append(message.value)

    async with stream:
        reader = asyncio.create_task(consume())
        await stream.publish(topic, "before")
        await until(lambda: got == ["before"], 60, "the message published before the outage")
        own_kafka.down()
        with pytest.raises(XResourceConnectionError, match="2 reconnection attempt"):
            await asyncio.wait_for(reader, 60)
        assert len(errors) == 1
        assert "check that the server is up" in str(errors[0])
        assert reconnects == []
        assert not await stream.validate_connection()
