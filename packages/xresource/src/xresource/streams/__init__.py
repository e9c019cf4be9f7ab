"""Event stream resources: WebSocket, SSE, Redis Pub/Sub, Kafka, RabbitMQ and MQTT.

They share :class:`EventStreamResource` (publish, subscribe, consume, lifecycle events,
reconnection, backpressure) and deliver :class:`StreamMessage` envelopes. The broker classes are
imported on first access and import their driver only when connecting, so this package imports
without any driver installed. A new broker subclasses :class:`EventStreamResource` and implements
its transport (see ``docs/xresource/streams.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xresource._backoff import Backoff
from xresource.streams._buffer import MessageBatch
from xresource.streams._dispatch import EventHandler, MessageHandler
from xresource.streams.base import LIFECYCLE_EVENTS, EventStreamResource
from xresource.streams.envelope import StreamMessage
from xresource.streams.serializers import JSONSerializer, RawSerializer, Serializer, decode_value

if TYPE_CHECKING:
    from xresource.streams.kafka import KafkaResource
    from xresource.streams.mqtt import MQTTResource, mqtt_topic_matches
    from xresource.streams.rabbitmq import RabbitMQResource, amqp_topic_matches
    from xresource.streams.redis import RedisPubSubResource
    from xresource.streams.sse import SSEResource
    from xresource.streams.websocket import WebSocketResource

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "WebSocketResource": "xresource.streams.websocket",
        "SSEResource": "xresource.streams.sse",
        "RedisPubSubResource": "xresource.streams.redis",
        "KafkaResource": "xresource.streams.kafka",
        "RabbitMQResource": "xresource.streams.rabbitmq",
        "amqp_topic_matches": "xresource.streams.rabbitmq",
        "MQTTResource": "xresource.streams.mqtt",
        "mqtt_topic_matches": "xresource.streams.mqtt",
    },
)

__all__ = [
    "LIFECYCLE_EVENTS",
    "Backoff",
    "EventHandler",
    "EventStreamResource",
    "JSONSerializer",
    "KafkaResource",
    "MQTTResource",
    "MessageBatch",
    "MessageHandler",
    "RabbitMQResource",
    "RawSerializer",
    "RedisPubSubResource",
    "SSEResource",
    "Serializer",
    "StreamMessage",
    "WebSocketResource",
    "amqp_topic_matches",
    "decode_value",
    "mqtt_topic_matches",
]
