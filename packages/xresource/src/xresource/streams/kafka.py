"""``KafkaResource``: Apache Kafka through ``aiokafka``.

What Kafka guarantees is exposed, not hidden:

- order within a partition: messages with the same ``key`` go to the same partition and are
  consumed in order; across partitions there is no order;
- consumer groups: with ``group_id`` the partitions of a topic are shared between the group's
  consumers and the group's position (committed offset) survives restarts;
- commits: ``auto_commit=True`` (default) commits positions periodically (at-most-once for what
  is still buffered); with ``auto_commit=False`` call ``await resource.commit()`` after
  processing (at-least-once): it commits exactly what was handed to the application (yielded by
  ``consume()`` or handled by a subscription), never what is still buffered.
  ``await message.ack()`` commits up to that one message.

``publish(..., wait=False)`` returns once the message is batched (call ``flush()`` later); the
default waits for the broker's acknowledgement (``acks``).

``producer_config`` / ``consumer_config`` (the specification's dicts) are merged into aiokafka's
``AIOKafkaProducer`` / ``AIOKafkaConsumer`` keyword arguments, after the resource's own: a key
given there wins over the resource's default for that client. A key that is also a first-class
setting the caller gave explicitly with another value (``bootstrap_servers``, ``group_id``...)
is a configuration error naming both; the consumer-only and producer-only ones (``group_id``,
``enable_auto_commit``, ``auto_offset_reset``, ``acks``) are moved onto the resource's field, so
that what the resource does (commits, metadata) follows them. A key aiokafka does not know is an
``XResourceConfigurationError`` at ``connect()`` that names it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from xobj_prototype import redact_text
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceValidationError,
)
from xresource.streams._kafka_settings import _KafkaSettings
from xresource.streams._runtime import _Runtime
from xresource.streams.base import MessageBatch
from xresource.streams.envelope import StreamMessage

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import ConsumerRecord

__all__ = ["KafkaResource"]

logger = logging.getLogger("xresource.streams")

_PUBLISH_OPTIONS = frozenset({"wait", "partition"})
# The envelope fields a Kafka record sets (its model_fields_set).
_RECORD_FIELDS = frozenset(
    {"topic", "value", "raw", "key", "headers", "timestamp", "partition", "offset", "source"}
)


@dataclass(eq=False)
class _KafkaRuntime(_Runtime):
    """The producer, the consumer and the delivered offsets of a running resource."""

    producer: AIOKafkaProducer | None = None
    consumer: AIOKafkaConsumer | None = None
    delivered: dict[tuple[str, int], int] = field(default_factory=dict)


class KafkaResource(_KafkaSettings):
    """A Kafka producer plus (on first subscription) a consumer, optionally in a group.

    Examples:
        >>> KafkaResource(bootstrap_servers="localhost:9092", consumer_group="svc").group_id
        'svc'
    """

    resource_type: ClassVar[str] = "kafka"
    url_schemes: ClassVar[tuple[str, ...]] = ("kafka",)
    # Kafka commits are cumulative offsets: handlers are not acknowledged one by one, commit()
    # (or auto_commit) covers everything processed.
    settle_after_handler: ClassVar[bool] = False

    runtime_class: ClassVar[type[_Runtime]] = _KafkaRuntime
    if TYPE_CHECKING:  # the type of the slot (see EventStreamResource)
        _rt: _KafkaRuntime

    # -- transport -------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._require("aiokafka", "kafka")
        from aiokafka import AIOKafkaProducer

        self._check_client_configs()
        try:
            producer = AIOKafkaProducer(**self._client_kwargs("producer"))
        except Exception as exc:  # the constructor only checks arguments: no network yet
            raise self._refused("producer", exc, "connect") from None
        try:
            await producer.start()
        except (TypeError, ValueError) as exc:
            # Raised by argument checks in start() (e.g. SASL settings), not by the network.
            await _quiet_stop(producer, self.connect_timeout)
            raise self._refused("producer", exc, "connect") from None
        except Exception as exc:
            await _quiet_stop(producer, self.connect_timeout)
            raise self._connection_error("connect", exc) from None
        self._rt.producer = producer

    async def _close(self) -> None:
        consumer, producer = self._rt.consumer, self._rt.producer
        self._rt.consumer = self._rt.producer = None
        # A new consumer starts from the group's committed offsets: what the old one handed out
        # and nobody committed comes again (at-least-once), and is recorded again then.
        self._rt.delivered.clear()
        if consumer is not None:
            # Nothing is committed here: after an exception the last message handed out may
            # not be processed. Only commit() and message.ack() commit (at-least-once).
            await _quiet_stop(consumer, self.connect_timeout)
        if producer is not None:
            await _quiet_stop(producer, self.connect_timeout)

    async def _transport_subscribe(self, topics: list[str]) -> None:
        from aiokafka import AIOKafkaConsumer

        if self._rt.consumer is None:
            try:
                consumer = AIOKafkaConsumer(**self._client_kwargs("consumer"))
            except Exception as exc:  # the constructor only checks arguments: no network yet
                raise self._refused("consumer", exc, "subscribe") from None
            try:
                await consumer.start()
            except (TypeError, ValueError) as exc:
                # aiokafka checks some arguments only here (auto_offset_reset, SASL...).
                await _quiet_stop(consumer, self.connect_timeout)
                raise self._refused("consumer", exc, "subscribe") from None
            except Exception as exc:
                await _quiet_stop(consumer, self.connect_timeout)
                raise self._connection_error("subscribe", exc) from None
            self._rt.consumer = consumer
        wanted = sorted(set(self._rt.topic_refs) | set(topics))
        self._rt.consumer.subscribe(topics=wanted)

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        if self._rt.consumer is None:
            return
        remaining = sorted(set(self._rt.topic_refs) - set(topics))
        if remaining:
            self._rt.consumer.subscribe(topics=remaining)
        else:
            # Nothing left: leave the group cleanly (an unsubscribed member that stays would have
            # its automatic commits refused); the next subscription starts a new consumer.
            consumer, self._rt.consumer = self._rt.consumer, None
            await _quiet_stop(consumer, self.connect_timeout)

    async def _receive(self) -> AsyncGenerator[MessageBatch, None]:
        consumer = self._rt.consumer
        if consumer is None:
            raise XResourceConnectionError(
                "no consumer", resource=self.display_name, operation="receive"
            )
        loads = self.serializer.decoder()
        source = self.display_name
        fromtimestamp = datetime.fromtimestamp
        manual = self.group_id is not None and not self.auto_commit
        ack_callback = self._ack_callback

        storage = StreamMessage.storage
        envelope = StreamMessage.from_storage
        # Records of one producer batch share their millisecond: datetimes are immutable, so
        # the last one converted is reused for the next record with the same timestamp.
        last_ms: int | None = None
        last_time: datetime | None = None

        def build(record: ConsumerRecord[bytes, bytes]) -> StreamMessage:
            # A storage dict filled in place: the envelope of every Kafka record is built here.
            raw = record.value if record.value is not None else b""
            timestamp = record.timestamp
            key = record.key
            data = storage()
            data["topic"] = record.topic
            data["value"] = loads(raw)
            data["raw"] = raw
            data["key"] = None if key is None else _header(key)  # text when UTF-8, else bytes
            if record.headers:
                data["headers"] = {k: _header(v) for k, v in record.headers}
            if timestamp is not None and timestamp >= 0:
                nonlocal last_ms, last_time
                if timestamp != last_ms:
                    last_ms, last_time = timestamp, fromtimestamp(timestamp / 1000, UTC)
                data["timestamp"] = last_time
            data["partition"] = record.partition
            data["offset"] = record.offset
            data["source"] = source
            message = envelope(data, _RECORD_FIELDS)
            if manual:
                message.bind_ack(ack_callback(record.topic, record.partition, record.offset))
            return message

        # aiokafka retries a lost broker forever inside getmany(), which then just returns
        # nothing: a quiet spell is when to check that the broker still answers.
        clock = asyncio.get_running_loop().time
        quiet_since = clock()
        while self._rt.topic_refs:
            batches = await consumer.getmany(timeout_ms=500, max_records=self.max_batch)
            for tp, records in batches.items():
                # One batch per partition (one topic), at most max_batch records that aiokafka
                # holds already; the envelopes are built as the application takes them.
                if records:
                    quiet_since = clock()
                    yield MessageBatch(tp.topic, records, build)
            if clock() - quiet_since >= self.liveness_interval:
                if not await self._broker_answers():
                    raise XResourceConnectionError(
                        f"the broker did not answer within {self.connect_timeout:g}s",
                        resource=self.display_name,
                        operation="receive",
                    )
                quiet_since = clock()

    async def _broker_answers(self) -> bool:
        try:
            return await asyncio.wait_for(self._ping(), self.connect_timeout)
        except Exception:  # an unreachable broker is an answer here
            return False

    def _ack_callback(self, topic: str, partition: int, offset: int) -> Any:
        async def ack() -> None:
            from aiokafka import TopicPartition

            consumer = self._rt.consumer
            if consumer is None:
                raise XResourceConnectionError(
                    "not connected; nothing was committed",
                    resource=self.display_name,
                    operation="ack",
                )
            self._record((topic, partition), offset + 1)
            try:
                await consumer.commit({TopicPartition(topic, partition): offset + 1})
            except Exception as exc:
                # As commit(): the package's error, not aiokafka's. A commit refused after a
                # rebalance (e.g. the member expired during a broker outage) is not fatal: the
                # group redelivers from its last commit, where the message can be acked again.
                raise self._connection_error(
                    "ack",
                    exc,
                    "nothing was committed: unless a later commit covers it, the group delivers "
                    "it again",
                ) from None

        return ack

    def _processed_hook(self) -> Callable[[StreamMessage], None] | None:
        return None if self.auto_commit or self.group_id is None else self._processed

    def _processed(self, message: StreamMessage) -> None:
        # Offsets are tracked for commit(): only manual commits in a group need them.
        if self.auto_commit or self.group_id is None:
            return
        if message.partition is not None and message.offset is not None:
            self._record((message.topic, message.partition), message.offset + 1)

    def _record(self, tp: tuple[str, int], next_offset: int) -> None:
        if self._rt.delivered.get(tp, -1) < next_offset:
            self._rt.delivered[tp] = next_offset

    async def commit(self) -> dict[str, dict[int, int]]:
        """Commit the offsets of every message handed to the application so far.

        Returns ``{topic: {partition: next_offset}}`` as committed. Needs ``group_id``.
        """
        if self.group_id is None:
            raise XResourceConfigurationError(
                "commit() needs a consumer group: create the resource with group_id=...",
                resource=self.display_name,
                operation="commit",
            )
        consumer = self._rt.consumer
        if consumer is None or not self._rt.topic_refs:
            raise XResourceConfigurationError(
                "nothing is subscribed: commit inside the consume() loop or while subscribed "
                "(offsets can only be committed for a group member's topics)",
                resource=self.display_name,
                operation="commit",
            )
        try:
            return await self._commit_on(consumer)
        except XResourceConnectionError:
            raise
        except Exception as exc:
            raise self._connection_error("commit", exc) from None

    async def _commit_on(self, consumer: AIOKafkaConsumer) -> dict[str, dict[int, int]]:
        from aiokafka import TopicPartition

        offsets = dict(self._rt.delivered)
        if offsets:
            await consumer.commit({TopicPartition(t, p): o for (t, p), o in offsets.items()})
        result: dict[str, dict[int, int]] = {}
        for (t, p), o in offsets.items():
            result.setdefault(t, {})[p] = o
        return result

    async def _publish_bytes(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | bytes | None,
        headers: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        if options:
            if not options.keys() <= _PUBLISH_OPTIONS:  # checked inline: once per message
                self._check_options("publish", options, _PUBLISH_OPTIONS)
            partition = options.get("partition")
            wait = options.get("wait", True)
        else:
            partition, wait = None, True
        producer = self._rt.producer
        if producer is None:
            raise XResourceConnectionError(
                "not connected", resource=self.display_name, operation="publish"
            )
        key_bytes = key.encode("utf-8") if type(key) is str else key
        header_list = (
            [
                (str(k), v if isinstance(v, bytes) else str(v).encode("utf-8"))
                for k, v in headers.items()
            ]
            if headers
            else None
        )
        try:
            future = await producer.send(
                topic, payload, key=key_bytes, headers=header_list, partition=partition
            )
            if wait:
                await future
        except Exception as exc:
            if type(exc).__name__ == "MessageSizeTooLargeError":
                # The message, not the server: max_request_size (producer_config) or the
                # broker's message.max.bytes is smaller than it.
                raise XResourceValidationError(
                    f"{redact_text(str(exc))}; nothing was sent (max_request_size is "
                    f"{producer._max_request_size} bytes: raise it in producer_config, or send "
                    "smaller messages)",
                    resource=self.display_name,
                    operation=f"publish to {topic!r}",
                ) from None
            raise self._connection_error(f"publish to {topic!r}", exc) from None

    async def flush(self) -> None:
        """Wait until every message published with ``wait=False`` is acknowledged."""
        if self._rt.producer is not None:
            try:
                await self._rt.producer.flush()
            except Exception as exc:
                raise self._connection_error("flush", exc) from None

    def _check_subscribe_options(self, options: dict[str, Any]) -> None:
        self._check_options("subscribe", options, ())

    async def _ping(self) -> bool:
        if self._rt.producer is None:
            return False
        await self._rt.producer.client.fetch_all_metadata()
        return True

    async def list_collections_or_tables(self) -> list[str]:
        """Topics of the cluster (internal ones excluded)."""
        await self.ensure_connected()
        assert self._rt.producer is not None
        try:
            metadata = await self._rt.producer.client.fetch_all_metadata()
        except Exception as exc:
            raise self._connection_error("list topics", exc) from None
        return sorted(metadata.topics())


def _header(value: bytes | None) -> str | bytes | None:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


async def _quiet_stop(client: Any, within: float) -> None:
    """Stop an aiokafka client whose broker may be gone; it is stopped either way."""
    try:
        # Bounded: a consumer's stop() may wait for a broker that is not there.
        await asyncio.wait_for(client.stop(), within)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # this task is being cancelled: pass it on
        # aiokafka's stop() lets the cancellation of its own fetch task escape after a lost
        # connection; that is not ours, and swallowing it keeps the reconnection going.
    except Exception as exc:
        logger.debug("stopping %s failed: %s", type(client).__name__, redact_text(str(exc)))
