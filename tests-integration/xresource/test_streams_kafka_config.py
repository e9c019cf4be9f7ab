"""``producer_config`` / ``consumer_config`` take effect on the real clients, against the Kafka mock
broker: a key given there wins over the resource's default, and what aiokafka refuses is a
configuration error, never "check that the server is running"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from xresource import (
    KafkaResource,
    ResourceFactory,
    StreamMessage,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceValidationError,
)


def _kafka(bootstrap: str, **kwargs: Any) -> KafkaResource:
    resource = ResourceFactory.create("kafka", bootstrap_servers=bootstrap, **kwargs)
    assert isinstance(resource, KafkaResource)
    return resource


async def _collect(stream: KafkaResource, topic: str, seconds: float) -> list[StreamMessage]:
    """Everything ``consume(topic)`` yields within ``seconds`` (the loop is then left)."""
    got: list[StreamMessage] = []

    async def run() -> None:
        async for message in stream.consume(topic):
            got.append(message)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(run(), seconds)
    return got


async def _take(stream: KafkaResource, topic: str, n: int, limit: float = 60) -> list[Any]:
    """The values of the first ``n`` messages of ``topic`` (a group join may take a while)."""
    got: list[Any] = []

    async def run() -> None:
        async for message in stream.consume(topic):
            got.append(message.value)
            if len(got) == n:
                return

    await asyncio.wait_for(run(), limit)
    return got


async def test_consumer_config_auto_offset_reset_lets_a_late_subscriber_see_earlier_messages(
    kafka_bootstrap: str, unique_name: str
) -> None:
    topic = f"cfg-{unique_name}"
    producer = _kafka(kafka_bootstrap)
    async with producer:
        for i in range(3):
            await producer.publish(topic, {"i": i}, key="k")
    # The resource's default is "latest": a new group starts after what is there.
    latest = _kafka(kafka_bootstrap, consumer_group=f"late-{unique_name}")
    early = _kafka(
        kafka_bootstrap,
        consumer_group=f"early-{unique_name}",
        consumer_config={"auto_offset_reset": "earliest"},
    )
    assert latest.auto_offset_reset == "latest"
    async with latest, early:
        assert await _take(early, topic, 3) == [{"i": 0}, {"i": 1}, {"i": 2}]
        assert await _collect(latest, topic, 4) == []


async def test_producer_config_compression_and_acks_take_effect(
    kafka_bootstrap: str, unique_name: str
) -> None:
    topic = f"gz-{unique_name}"
    producer = _kafka(
        kafka_bootstrap,
        producer_config={"compression_type": "gzip", "acks": "all", "linger_ms": 1},
    )
    consumer = _kafka(
        kafka_bootstrap,
        consumer_group=f"g-{unique_name}",
        consumer_config={"auto_offset_reset": "earliest"},
    )
    assert producer.acks == "all"
    async with producer, consumer:
        client = producer._rt.producer
        assert client is not None
        # The very aiokafka producer the resource publishes with was built with them.
        assert client._compression_type == "gzip"
        assert client._sender._acks == -1
        text = "Grüße, 東京 " * 200  # compressible, non-ASCII
        await producer.publish(topic, {"text": text}, key="k")
        assert await _take(consumer, topic, 1) == [{"text": text}]


async def test_max_request_size_from_producer_config_is_a_message_error(
    kafka_bootstrap: str, unique_name: str
) -> None:
    topic = f"size-{unique_name}"
    producer = _kafka(kafka_bootstrap, producer_config={"max_request_size": 1024})
    async with producer:
        await producer.publish(topic, {"small": "x" * 10})
        with pytest.raises(XResourceValidationError) as info:
            await producer.publish(topic, {"big": "x" * 4000})
    message = str(info.value)
    assert "max_request_size is 1024" in message
    assert "server is running" not in message


async def test_consumer_settings_aiokafka_refuses_are_configuration_errors(
    kafka_bootstrap: str, unique_name: str
) -> None:
    stream = _kafka(kafka_bootstrap, consumer_config={"max_poll_records": 0})
    async with stream:  # the producer connects; the consumer is built on subscribe
        with pytest.raises(XResourceConfigurationError) as info:
            await _collect(stream, f"bad-{unique_name}", 5)
        message = str(info.value)
        assert "aiokafka refused the consumer settings" in message
        assert "max_poll_records" in message
        assert "server is running" not in message
        assert not isinstance(info.value, XResourceConnectionError)
        # The resource is still usable.
        await stream.publish(f"bad-{unique_name}", {"ok": True})


async def test_enable_auto_commit_in_consumer_config_makes_commits_manual(
    kafka_bootstrap: str, unique_name: str
) -> None:
    topic = f"commit-{unique_name}"
    group = f"g-{unique_name}"
    config = {"enable_auto_commit": False, "auto_offset_reset": "earliest"}
    producer = _kafka(kafka_bootstrap)
    async with producer:
        for i in range(4):
            await producer.publish(topic, i, key="k")
    first = _kafka(kafka_bootstrap, consumer_group=group, consumer_config=config)
    assert first.auto_commit is False
    async with first:
        seen: list[Any] = []
        async for message in first.consume(topic):
            seen.append(message.value)
            if len(seen) == 2:
                committed = await first.commit()
                break
    assert seen == [0, 1]
    assert sum(committed[topic].values()) >= 2
    # A new member of the group resumes after what was committed, not at the start.
    second = _kafka(kafka_bootstrap, consumer_group=group, consumer_config=config)
    async with second:
        rest = await _take(second, topic, 2)
        extra = await _collect(second, topic, 2)
    assert rest == [2, 3]
    assert extra == []
