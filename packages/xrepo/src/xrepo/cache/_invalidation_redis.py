"""Invalidation over Redis pub/sub: one channel per cache namespace (``<namespace>:invalidate``).

The subscriber runs in a background task that reconnects with capped exponential backoff. Pub/sub
does not queue messages for a disconnected subscriber, so after every reconnect the bus calls the
reset handler: a local cache then forgets everything it holds, since it may have missed writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from xobj_prototype import redact_text
from xrepo.cache._errors import XRepoCacheError
from xrepo.cache._invalidation import Invalidation, InvalidationBus, MessageHandler, ResetHandler
from xrepo.cache._keys import validate_scope
from xrepo.cache._redis_backend import resolve_client

__all__ = ["RedisInvalidationBus"]

log = logging.getLogger("xrepo.cache")


class RedisInvalidationBus(InvalidationBus):
    """Publishes and receives :class:`Invalidation` messages on Redis pub/sub.

    Args:
        url_or_client: ``redis://...`` (owned client) or a ``redis.asyncio`` client (borrowed).
        namespace: the cache namespace; the channel is ``<namespace>:invalidate``.
        start_timeout: how long :meth:`start` waits for the first subscription.
        max_backoff: the longest pause between reconnection attempts, in seconds.
        publish_timeout: how long a publish may take before it counts as failed.
    """

    def __init__(
        self,
        url_or_client: str | aioredis.Redis,
        *,
        namespace: str = "xrepo",
        start_timeout: float = 5.0,
        max_backoff: float = 5.0,
        publish_timeout: float = 2.0,
        **client_options: Any,
    ) -> None:
        self.channel = f"{validate_scope(namespace)}:invalidate"
        # A subscriber blocks reading: no socket timeout on its connection; a periodic PING
        # (health check) finds a connection that died silently instead.
        client_options.setdefault("socket_timeout", None)
        client_options.setdefault("health_check_interval", 15)
        self.client, self._owned, self._where = resolve_client(url_or_client, **client_options)
        self.start_timeout = start_timeout
        self.max_backoff = max_backoff
        self.publish_timeout = publish_timeout
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closed = False

    @property
    def subscribed(self) -> bool:
        """Whether the subscription is live right now."""
        return self._subscribed.is_set()

    async def start(self, on_message: MessageHandler, on_reset: ResetHandler) -> bool:
        if self._task is None:
            self._task = asyncio.create_task(
                self._run(on_message, on_reset), name=f"xrepo-cache-bus:{self.channel}"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), self.start_timeout)
        return self.subscribed

    async def publish(self, message: Invalidation) -> None:
        try:
            await asyncio.wait_for(
                self.client.publish(self.channel, message.to_bytes()), self.publish_timeout
            )
        except (RedisError, OSError, TimeoutError) as exc:
            raise XRepoCacheError(
                f"cannot publish an invalidation to Redis at {self._where}: "
                f"{type(exc).__name__}: {exc}",
                operation="cache invalidation",
            ) from None

    async def _run(self, on_message: MessageHandler, on_reset: ResetHandler) -> None:
        backoff = 0.1
        first = True
        while not self._closed:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not first:
                    on_reset()
                first = False
                self._subscribed.set()
                backoff = 0.1
                while not self._closed:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is None or msg.get("type") != "message":
                        continue
                    try:
                        on_message(Invalidation.from_bytes(msg["data"]))
                    except XRepoCacheError as exc:
                        log.warning("%s on channel %r", exc, self.channel)
            except (RedisError, OSError) as exc:
                if self._subscribed.is_set():
                    log.warning(
                        "cache invalidation channel %r lost (%s); reconnecting",
                        self.channel,
                        redact_text(str(exc)),
                    )
                self._subscribed.clear()
                first = False  # whatever we held may be stale by the time we are back
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._subscribed.clear()
        if self._owned:
            await self.client.aclose()
