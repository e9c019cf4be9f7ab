"""Topic validation and wildcard matching per broker (no network)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xresource import XResourceValidationError
from xresource.streams import (
    KafkaResource,
    MQTTResource,
    RabbitMQResource,
    RedisPubSubResource,
    SSEResource,
    WebSocketResource,
    amqp_topic_matches,
    mqtt_topic_matches,
)

ALL = [
    KafkaResource,
    MQTTResource,
    RabbitMQResource,
    RedisPubSubResource,
    SSEResource,
    WebSocketResource,
]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("bad", ["", "a\x00b", "line\nbreak", "tab\there", 42, None])
def test_common_rules(cls: type, bad: object) -> None:
    with pytest.raises(XResourceValidationError):
        cls.validate_topic(bad)
    with pytest.raises(XResourceValidationError):
        cls.validate_topic(bad, publish=True)


@pytest.mark.parametrize("good", ["orders", "orders.v1", "a_b-c.D9", "x" * 249])
def test_kafka_accepts(good: str) -> None:
    assert KafkaResource.validate_topic(good) == good


@pytest.mark.parametrize("bad", ["with space", "x" * 250, ".", "..", "ünï", "a/b", "a*", "a:b"])
def test_kafka_rejects(bad: str) -> None:
    with pytest.raises(XResourceValidationError, match="invalid Kafka topic"):
        KafkaResource.validate_topic(bad, publish=True)


def test_mqtt_publish_topics_have_no_wildcards() -> None:
    assert MQTTResource.validate_topic("home/kitchen/temp", publish=True)
    assert MQTTResource.validate_topic("/leading/slash", publish=True)
    for bad in ("home/+/temp", "home/#", "#", "+"):
        with pytest.raises(XResourceValidationError, match="wildcards"):
            MQTTResource.validate_topic(bad, publish=True)


@pytest.mark.parametrize("good", ["#", "+", "a/+/c", "a/#", "+/+", "$SYS/#", "a//b"])
def test_mqtt_valid_filters(good: str) -> None:
    assert MQTTResource.validate_topic(good) == good


@pytest.mark.parametrize("bad", ["a/#/b", "a#", "a/b#", "a+/b", "a/+b", "##"])
def test_mqtt_invalid_filters(bad: str) -> None:
    with pytest.raises(XResourceValidationError, match="whole level"):
        MQTTResource.validate_topic(bad)


def test_mqtt_topic_length_limit() -> None:
    with pytest.raises(XResourceValidationError, match="65535"):
        MQTTResource.validate_topic("a" * 65536, publish=True)


@pytest.mark.parametrize(
    ("flt", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("#", "a/b", True),
        ("+/b", "a/b", True),
        ("+", "/", False),
        ("+/+", "/", True),
        ("#", "$SYS/x", False),
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
        ("a/b", "a/c", False),
    ],
)
def test_mqtt_matching(flt: str, topic: str, expected: bool) -> None:
    assert mqtt_topic_matches(flt, topic) is expected


def test_amqp_routing_key_length() -> None:
    assert RabbitMQResource.validate_topic("k" * 255, publish=True)
    assert RabbitMQResource.validate_topic("é" * 127, publish=True)
    with pytest.raises(XResourceValidationError, match="255"):
        RabbitMQResource.validate_topic("é" * 128, publish=True)


@pytest.mark.parametrize(
    ("binding", "key", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.#", "a", True),
        ("a.#", "a.b.c", True),
        ("#", "", True),
        ("#.c", "a.b.c", True),
        ("*.b.#", "a.b", True),
        ("*", "a.b", False),
        ("a.*.c", "a..c", True),
    ],
)
def test_amqp_matching(binding: str, key: str, expected: bool) -> None:
    assert amqp_topic_matches(binding, key) is expected


def test_redis_channels_are_free_form() -> None:
    assert RedisPubSubResource.validate_topic("news:*:ü with space") == "news:*:ü with space"


words = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=5)


@given(words)
def test_wildcards_match_every_concrete_key(parts: list[str]) -> None:
    key = ".".join(parts)
    assert amqp_topic_matches("#", key)
    assert amqp_topic_matches(".".join("*" for _ in parts), key)
    assert mqtt_topic_matches("#", "/".join(parts))
    assert mqtt_topic_matches("/".join("+" for _ in parts), "/".join(parts))
