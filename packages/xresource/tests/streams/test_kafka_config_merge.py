"""``producer_config`` / ``consumer_config`` (the specification's KafkaEventStream fields) merge
with the resource's own settings: a key given there wins, a clash with a setting given
explicitly is named, and a key aiokafka does not know is a configuration error, found before
any connection is tried (no network here; the round trip is in
tests-integration/xresource/test_streams_kafka_config.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from xresource import (
    ResourceFactory,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceValidationError,
)
from xresource.streams import KafkaResource

# Nothing listens here: a configuration error must come before any connection attempt.
DEAD = "127.0.0.1:9"


def _kafka(**kwargs: Any) -> KafkaResource:
    resource = ResourceFactory.create("kafka", **{"bootstrap_servers": DEAD, **kwargs})
    assert isinstance(resource, KafkaResource)
    return resource


def test_spec_example_fields_reach_the_clients() -> None:
    # The specification: KafkaEventStream(bootstrap_servers=..., consumer_group=...,
    # producer_config={...}, consumer_config={...}) passes them to aiokafka's constructors.
    kafka = _kafka(
        name="event_stream",
        consumer_group="my_service",
        producer_config={"linger_ms": 5, "compression_type": "gzip"},
        consumer_config={"session_timeout_ms": 12000, "max_poll_records": 50},
    )
    producer = kafka.client_config("producer")
    consumer = kafka.client_config("consumer")
    assert producer["bootstrap_servers"] == DEAD
    assert (producer["linger_ms"], producer["compression_type"]) == (5, "gzip")
    assert "session_timeout_ms" not in producer
    assert consumer["group_id"] == "my_service"
    assert (consumer["session_timeout_ms"], consumer["max_poll_records"]) == (12000, 50)
    assert "linger_ms" not in consumer


def test_a_config_key_wins_over_the_resource_default() -> None:
    default = _kafka().client_config("producer")
    assert default["request_timeout_ms"] == 40000  # connect_timeout (10 s) + 30 s
    kafka = _kafka(
        producer_config={"request_timeout_ms": 5000, "client_id": "billing-producer"},
        consumer_config={"client_id": "billing-consumer"},
    )
    assert kafka.client_config("producer")["request_timeout_ms"] == 5000
    # A common setting given in one client's config applies to that client only.
    assert kafka.client_config("producer")["client_id"] == "billing-producer"
    assert kafka.client_config("consumer")["client_id"] == "billing-consumer"
    assert kafka.client_id is None


def test_client_only_keys_move_onto_the_fields() -> None:
    # The resource's commits follow enable_auto_commit and group_id: they must agree with aiokafka.
    kafka = _kafka(
        consumer_config={
            "auto_offset_reset": "earliest",
            "enable_auto_commit": False,
            "group_id": "svc",
        },
        producer_config={"acks": -1},
    )
    assert (kafka.auto_offset_reset, kafka.auto_commit, kafka.group_id) == (
        "earliest",
        False,
        "svc",
    )
    assert kafka.acks == "all"
    consumer = kafka.client_config("consumer")
    assert (consumer["auto_offset_reset"], consumer["enable_auto_commit"]) == ("earliest", False)
    assert kafka.consumer_config == {}
    assert kafka.get_metadata()["auto_offset_reset"] == "earliest"
    # The same value given in both places is no clash.
    same = _kafka(group_id="svc", consumer_config={"group_id": "svc"}, acks="all")
    assert same.group_id == "svc"


@pytest.mark.parametrize(
    ("kwargs", "key", "field"),
    [
        (
            {"producer_config": {"bootstrap_servers": "other:9092"}},
            "bootstrap_servers",
            "bootstrap",
        ),
        (
            {"consumer_group": "a", "consumer_config": {"group_id": "b"}},
            "group_id",
            "group_id",
        ),
        ({"acks": 0, "producer_config": {"acks": "all"}}, "acks", "acks"),
        (
            {"auto_offset_reset": "latest", "consumer_config": {"auto_offset_reset": "earliest"}},
            "auto_offset_reset",
            "auto_offset_reset",
        ),
        ({"client_id": "x", "consumer_config": {"client_id": "y"}}, "client_id", "client_id"),
        (
            {"sasl_password": "s3cret-one", "producer_config": {"sasl_plain_password": "s3cret-2"}},
            "sasl_plain_password",
            "sasl_password",
        ),
    ],
)
def test_a_clash_with_an_explicit_setting_names_the_key(
    kwargs: dict[str, Any], key: str, field: str
) -> None:
    with pytest.raises(XResourceConfigurationError) as info:
        _kafka(**kwargs)
    message = str(info.value)
    assert repr(key) in message
    assert field in message
    assert "clashes" in message
    assert "s3cret" not in message  # a clashing secret is named, never shown


def test_equal_bootstrap_servers_are_no_clash() -> None:
    kafka = _kafka(producer_config={"bootstrap_servers": f" {DEAD} "})
    assert kafka.client_config("producer")["bootstrap_servers"] == f" {DEAD} "


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"producer_config": {"value_serializer": str}}, "serializer="),
        ({"consumer_config": {"value_deserializer": bytes}}, "serializer="),
        ({"consumer_config": {"topics": ["a"]}}, "subscribe()"),
        ({"producer_config": {"": 1}}, "not an aiokafka setting name"),
        ({"producer_config": {"linger ms": 1}}, "not an aiokafka setting name"),
        ({"producer_config": {1: 1}}, "not an aiokafka setting name"),
        ({"producer_config": ["linger_ms"]}, "must be a mapping"),
        ({"consumer_config": "auto_offset_reset=earliest"}, "must be a mapping"),
        ({"consumer_config": {"auto_offset_reset": "sometimes"}}, "auto_offset_reset"),
        ({"producer_config": {"acks": 2}}, "acks"),
    ],
)
def test_malformed_configs_are_refused_at_construction(config: dict[str, Any], needle: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=needle) as info:
        _kafka(**config)
    assert "server is running" not in str(info.value)
    # Constructed directly, the same check is pydantic's ValidationError (a ValueError).
    with pytest.raises(ValidationError):
        KafkaResource(bootstrap_servers=DEAD, **config)


async def test_unknown_keys_are_configuration_errors_before_connecting() -> None:
    kafka = _kafka(producer_config={"linger_msec": 5})
    with pytest.raises(XResourceConfigurationError) as info:
        await kafka.connect()
    message = str(info.value)
    assert "producer_config['linger_msec']" in message
    assert "linger_ms" in message  # the close match is suggested
    assert "server is running" not in message
    assert not isinstance(info.value, XResourceConnectionError)
    assert not kafka.is_connected

    wrong_client = _kafka(producer_config={"auto_offset_reset": "earliest"})
    with pytest.raises(XResourceConfigurationError, match="put it in consumer_config"):
        await wrong_client.connect()

    consumer_side = _kafka(consumer_config={"bogus_option": 1, "fetch_max_wait": 1})
    with pytest.raises(XResourceConfigurationError) as info:
        await consumer_side.connect()
    assert "consumer_config['bogus_option']" in str(info.value)
    assert "fetch_max_wait" in str(info.value)  # the other unknown key is listed too


async def test_values_aiokafka_refuses_are_configuration_errors() -> None:
    kafka = _kafka(producer_config={"compression_type": "zip"})
    with pytest.raises(XResourceConfigurationError) as info:
        await kafka.connect()
    message = str(info.value)
    assert "aiokafka refused the producer settings" in message
    assert "compression_type" in message
    assert "server is running" not in message


def test_secrets_in_a_config_stay_secret() -> None:
    kafka = _kafka(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="svc",
        producer_config={"sasl_plain_password": "hunter2-secret"},
    )
    assert "hunter2-secret" not in repr(kafka)
    assert "hunter2-secret" not in str(kafka.get_metadata())
    assert kafka.client_config("producer")["sasl_plain_password"] == "**********"
    # Only the private kwargs builder reveals it, right before aiokafka gets it.
    assert kafka._client_kwargs("producer")["sasl_plain_password"] == "hunter2-secret"
    # Assigned later (the resource validates assignments), it is hidden as well.
    kafka.consumer_config = {"sasl_plain_password": "assigned-secret"}
    assert "assigned-secret" not in repr(kafka)
    assert kafka._client_kwargs("consumer")["sasl_plain_password"] == "assigned-secret"


def test_client_config_rejects_an_unknown_client() -> None:
    with pytest.raises(XResourceValidationError, match="'producer' or 'consumer'"):
        _kafka().client_config("admin")  # type: ignore[arg-type]
