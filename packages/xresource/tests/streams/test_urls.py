"""URLs, parameters, lazy exports and secrets of the stream resources (no network)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import SecretStr

import xresource
from xresource import ResourceFactory, XResourceConfigurationError
from xresource.streams import (
    KafkaResource,
    MQTTResource,
    RabbitMQResource,
    RedisPubSubResource,
    SSEResource,
    WebSocketResource,
)


@pytest.mark.parametrize(
    ("url", "cls", "expected"),
    [
        ("redis://127.0.0.1:6380/3", RedisPubSubResource, {"port": 6380, "db": 3, "ssl": False}),
        ("rediss://cache.example", RedisPubSubResource, {"port": 6379, "ssl": True}),
        (
            "kafka://k1:9092,k2:9093/?group_id=g1",
            KafkaResource,
            {"bootstrap_servers": "k1:9092,k2:9093", "group_id": "g1"},
        ),
        (
            "amqp://guest:guest@mq:5673/prod?exchange=events&queue=jobs",
            RabbitMQResource,
            {
                "host": "mq",
                "port": 5673,
                "virtual_host": "prod",
                "exchange": "events",
                "queue": "jobs",
            },
        ),
        ("amqps://mq.example", RabbitMQResource, {"port": 5671, "ssl": True}),
        (
            "mqtt://broker:1884?client_id=c1",
            MQTTResource,
            {"host": "broker", "port": 1884, "client_id": "c1", "tls": False},
        ),
        ("mqtts://broker", MQTTResource, {"port": 8883, "tls": True}),
        (
            "ws://127.0.0.1:8080/stream",
            WebSocketResource,
            {"endpoint": "ws://127.0.0.1:8080/stream"},
        ),
        (
            "wss://stream.example.com/trades",
            WebSocketResource,
            {"endpoint": "wss://stream.example.com/trades"},
        ),
        (
            "sse+https://api.example.com/events",
            SSEResource,
            {"endpoint": "https://api.example.com/events"},
        ),
    ],
)
def test_from_url(url: str, cls: type, expected: dict[str, object]) -> None:
    resource = ResourceFactory.from_url(url)
    assert type(resource) is cls
    for name, value in expected.items():
        assert getattr(resource, name) == value


def test_https_is_sse_when_asked() -> None:
    resource = ResourceFactory.from_url("https://api.example.com/events", resource_type="sse")
    assert isinstance(resource, SSEResource)
    assert resource.endpoint == "https://api.example.com/events"


@pytest.mark.parametrize(
    "url",
    [
        "redis://:pw-secret-1@127.0.0.1:6379/0",
        "kafka://user:pw-secret-1@k1:9092/",
        "amqp://user:pw-secret-1@mq/",
        "mqtt://user:pw-secret-1@broker",
    ],
)
def test_credentials_are_secret(url: str) -> None:
    resource = ResourceFactory.from_url(url)
    assert "pw-secret-1" not in repr(resource)
    assert "pw-secret-1" not in str(resource)
    assert "pw-secret-1" not in str(resource.get_metadata())
    secrets = [v for v in vars(resource).values() if isinstance(v, SecretStr)]
    assert [s.get_secret_value() for s in secrets] == ["pw-secret-1"]


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("redis://127.0.0.1/notanumber", "database must be a number"),
        ("ws://user:pw@host/x", "credentials"),
        ("sse+https://user:pw@host/x", "credentials"),
        ("mqtt://broker?qos=5", "qos"),
        ("kafka://k1:9092/?auto_offset_reset=sometimes", "auto_offset_reset"),
        ("amqp://mq/?exchange_type=weird", "exchange_type"),
    ],
)
def test_bad_urls(url: str, match: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=match):
        ResourceFactory.from_url(url)
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.from_url(url.replace("//", "//u:hidden-pw@", 1) if "@" not in url else url)
    assert "hidden-pw" not in str(info.value)


def test_spec_aliases() -> None:
    kafka = ResourceFactory.create(
        "kafka", bootstrap_servers="localhost:9092", consumer_group="my_service"
    )
    assert isinstance(kafka, KafkaResource)
    assert kafka.group_id == "my_service"
    ws = ResourceFactory.create("ws", endpoint="wss://x/trades", token="t0k")
    assert isinstance(ws, WebSocketResource)
    with pytest.raises(XResourceConfigurationError, match="unknown_option"):
        ResourceFactory.create("redis", unknown_option=1)


def test_lazy_exports() -> None:
    for name in (
        "EventStreamResource",
        "StreamMessage",
        "WebSocketResource",
        "SSEResource",
        "RedisPubSubResource",
        "KafkaResource",
        "RabbitMQResource",
        "MQTTResource",
    ):
        assert name in xresource.__all__
        assert getattr(xresource, name).__name__ == name


def test_stream_modules_import_no_driver() -> None:
    code = (
        "import sys, xresource.streams.redis, xresource.streams.kafka, xresource.streams.mqtt, "
        "xresource.streams.rabbitmq, xresource.streams.websocket, xresource.streams.sse\n"
        "loaded = [m for m in ('redis', 'aiokafka', 'aiomqtt', 'aio_pika', 'aiohttp') "
        "if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
