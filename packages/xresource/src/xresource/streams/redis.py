"""``RedisPubSubResource``: Redis Pub/Sub channels through ``redis.asyncio``.

Redis Pub/Sub is fire-and-forget: a message reaches the subscribers connected at that moment, with
no acknowledgement and no replay. ``publish()`` returns nothing; ``subscribers()`` tells how many
clients a publish would reach. Channel patterns (``news.*``) are subscribed with
``subscribe(pattern, handler, pattern=True)`` (Redis ``PSUBSCRIBE``).
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, SecretStr, model_validator

from xresource.errors import XResourceConnectionError, XResourceValidationError
from xresource.streams._runtime import _Runtime
from xresource.streams.base import EventStreamResource
from xresource.streams.envelope import StreamMessage
from xresource.streams.url_params import broker_params
from xresource.url import ParsedURL, parse_url

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

__all__ = ["RedisPubSubResource"]

_MAX_CHANNEL_BYTES = 512 * 1024 * 1024  # Redis' bulk string limit
# The envelope fields a Pub/Sub message sets (its model_fields_set).
_MESSAGE_FIELDS = frozenset(
    {"topic", "value", "raw", "headers", "timestamp", "subscription", "source"}
)


@dataclass(eq=False)
class _RedisRuntime(_Runtime):
    """The Redis client and Pub/Sub connection of a running resource."""

    client: Redis | None = None
    pubsub: PubSub | None = None
    patterns: set[str] = field(default_factory=set)


class RedisPubSubResource(EventStreamResource):
    """Redis Pub/Sub.

    Examples:
        >>> stream = RedisPubSubResource(host="127.0.0.1", port=6379)
        >>> stream.resource_type
        'redis'
    """

    resource_type: ClassVar[str] = "redis"
    url_schemes: ClassVar[tuple[str, ...]] = ("redis", "rediss")

    host: str = "127.0.0.1"
    port: int = Field(default=6379, ge=1, le=65535)
    db: int = Field(default=0, ge=0)
    username: str | None = None
    password: SecretStr | None = None
    ssl: bool = False

    runtime_class: ClassVar[type[_Runtime]] = _RedisRuntime
    if TYPE_CHECKING:  # the type of the slot (see EventStreamResource)
        _rt: _RedisRuntime

    @model_validator(mode="before")
    @classmethod
    def _from_connection_string(cls, data: Any) -> Any:
        # The spec's ``connection_string="redis://..."``: split it so that no field keeps the
        # password in clear text.
        if isinstance(data, dict) and data.get("connection_string") is not None:
            data = dict(data)
            url = parse_url(str(data.pop("connection_string")))
            for k, v in cls.params_from_url(url).items():
                data.setdefault(k, v)
        return data

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``redis://[user:password@]host[:port][/db]``; ``rediss://`` turns TLS on."""
        params = broker_params(url, port=6379, tls=url.scheme == "rediss", tls_field="ssl")
        db = url.path.strip("/")
        if db:
            if not db.isdigit():
                raise ValueError(f"the Redis database must be a number, got {db!r}")
            params["db"] = int(db)
        return params

    @classmethod
    def validate_topic(cls, topic: str, *, publish: bool = False) -> str:
        """Redis channels: any non-empty string (no control characters, at most 512 MB)."""
        super().validate_topic(topic, publish=publish)
        if len(topic.encode("utf-8")) > _MAX_CHANNEL_BYTES:
            raise XResourceValidationError(
                "Redis channel name is too long", resource=cls.resource_type, operation="subscribe"
            )
        return topic

    def _topic_matches(self, pattern: str, topic: str) -> bool:
        if pattern == topic:
            return True
        return pattern in self._rt.patterns and fnmatch.fnmatchcase(topic, pattern)

    def _check_subscribe_options(self, options: dict[str, Any]) -> None:
        self._check_options("subscribe", options, ("pattern",))

    # -- transport -------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._require("redis", "redis")
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # One immediate retry lets a command survive a pooled connection that died with a
        # restarted server; longer outages are ours to handle (backoff, resubscription).
        client = Redis(
            host=self.host,
            port=self.port,
            db=self.db,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            ssl=self.ssl,
            socket_connect_timeout=self.connect_timeout,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=0,
        )
        try:
            await client.ping()
        except Exception as exc:
            await client.aclose()
            raise self._connection_error("connect", exc) from None
        self._rt.client = client
        self._rt.pubsub = client.pubsub(ignore_subscribe_messages=True)

    async def _close(self) -> None:
        pubsub, client = self._rt.pubsub, self._rt.client
        self._rt.pubsub = self._rt.client = None
        if pubsub is not None:
            # Closing a broken connection may fail; it is closed either way
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _transport_subscribe(self, topics: list[str]) -> None:
        assert self._rt.pubsub is not None
        channels = [t for t in topics if not self._rt.topic_options.get(t, {}).get("pattern")]
        patterns = [t for t in topics if self._rt.topic_options.get(t, {}).get("pattern")]
        self._rt.patterns.update(patterns)
        if channels:
            await self._rt.pubsub.subscribe(*channels)
        if patterns:
            await self._rt.pubsub.psubscribe(*patterns)

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        if self._rt.pubsub is None:
            return
        patterns = [t for t in topics if t in self._rt.patterns]
        channels = [t for t in topics if t not in self._rt.patterns]
        self._rt.patterns.difference_update(patterns)
        if channels:
            await self._rt.pubsub.unsubscribe(*channels)
        if patterns:
            await self._rt.pubsub.punsubscribe(*patterns)

    async def _receive(self) -> AsyncGenerator[StreamMessage, None]:
        pubsub = self._rt.pubsub
        if pubsub is None:
            raise XResourceConnectionError(
                "not connected", resource=self.display_name, operation="receive"
            )
        loads = self.serializer.decoder()
        source = self.display_name
        now = datetime.now
        storage = StreamMessage.storage
        envelope = StreamMessage.from_storage
        while True:
            if not pubsub.subscribed:
                # Nothing subscribed (all unsubscribed): the reader ends until the next subscribe.
                return
            item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if item is None or item["type"] not in ("message", "pmessage"):
                continue
            channel = item["channel"]
            topic = channel.decode("utf-8", "replace") if isinstance(channel, bytes) else channel
            raw = item["data"]
            pattern = item.get("pattern")
            # A storage dict filled in place, as Kafka's: no keyword arguments to pack per message.
            data = storage()
            data["topic"] = topic
            data["value"] = loads(raw)
            data["raw"] = raw
            data["timestamp"] = now(UTC)  # Pub/Sub messages carry no time: the time of receipt
            data["subscription"] = (
                pattern.decode("utf-8", "replace")
                if isinstance(pattern, bytes)
                else pattern or topic
            )
            data["source"] = source
            yield envelope(data, _MESSAGE_FIELDS)

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
            self._check_options("publish", options, ())
        if key is not None or headers:
            raise XResourceValidationError(
                "Redis Pub/Sub messages have no key or headers; put them in the message",
                resource=self.display_name,
                operation="publish",
            )
        client = self._rt.client
        if client is None:
            raise XResourceConnectionError(
                "the connection is being re-established; retry",
                resource=self.display_name,
                operation="publish",
            )
        try:
            await client.publish(topic, payload)
        except Exception as exc:
            raise self._connection_error(f"publish to {topic!r}", exc) from None

    async def subscribers(self, channel: str) -> int:
        """How many clients are subscribed to ``channel`` (Redis ``PUBSUB NUMSUB``)."""
        self.validate_topic(channel)
        await self.ensure_connected()
        assert self._rt.client is not None
        try:
            result = await self._rt.client.pubsub_numsub(channel)
        except Exception as exc:
            raise self._connection_error("pubsub numsub", exc) from None
        return int(result[0][1]) if result else 0

    async def _ping(self) -> bool:
        return self._rt.client is not None and bool(await self._rt.client.ping())

    async def list_collections_or_tables(self) -> list[str]:
        """Channels with at least one subscriber on the server (``PUBSUB CHANNELS``)."""
        await self.ensure_connected()
        assert self._rt.client is not None
        try:
            names = await self._rt.client.pubsub_channels()
        except Exception as exc:
            raise self._connection_error("pubsub channels", exc) from None
        return sorted(
            n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names
        )
