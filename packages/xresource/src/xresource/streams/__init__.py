"""Event stream resources: WebSocket, SSE, Redis Pub/Sub, Kafka, RabbitMQ and MQTT.

They share :class:`EventStreamResource` (publish, subscribe, consume,
lifecycle events, reconnection, backpressure). The broker modules import their driver only when
connecting, so this package imports without any driver installed.
"""

from xresource.streams._buffer import MessageBatch
from xresource.streams._dispatch import EventHandler, MessageHandler
from xresource.streams.backoff import Backoff
from xresource.streams.base import LIFECYCLE_EVENTS, EventStreamResource
from xresource.streams.envelope import StreamMessage
from xresource.streams.serializers import JSONSerializer, RawSerializer, Serializer, decode_value

__all__ = [
    "LIFECYCLE_EVENTS",
    "Backoff",
    "EventHandler",
    "EventStreamResource",
    "JSONSerializer",
    "MessageBatch",
    "MessageHandler",
    "RawSerializer",
    "Serializer",
    "StreamMessage",
    "decode_value",
]
