"""The Redis cache backend: entries shared by every process, invalidated by generation counters.

Layout (``N`` is the cache namespace, ``S`` a scope such as a repository name)::

    N:gen:S                         integer, bumped by every invalidation of S (INCR: O(1))
    N:c:S:<epoch>:<gen>:<digest>    one entry, tagged JSON (never pickle), with its TTL (SET PX)

A lookup reads the generation and the entry in one atomic ``MGET``: the entry is addressed with
the generation this process saw last, and if the counter has moved since (another process wrote),
a second ``GET`` reads the entry of the new generation. Entries of an old generation are never
read again and expire by their TTL; nothing ever scans the keyspace except
:meth:`RedisCacheBackend.clear`, which is administration.

Outages: the client does not retry inside a call (a dead server must not stall a repository
read); after a failure the backend answers "unavailable" at once for ``retry_interval`` seconds,
then tries again: that is the reconnect.

Restarts: ``<epoch>`` is the start of the server's ``run_id`` (``INFO server``), which changes on
every restart of Redis. An invalidation that could not reach a dead Redis is lost for every
process but the one that wrote (which remembers and retries it), and a Redis restarted from its
RDB/AOF file brings back the entries cached before the crash at their old generation. Entries
written under another server lifetime are therefore never read: a restart starts an empty cache,
whatever the server reloaded. Every connection the client opens learns the ``run_id`` before its
first command (a connect hook), so a command that reached a restarted server is known to have
done so; a lookup whose epoch changed while it ran is a miss, and a value loaded under an older
epoch is not stored. When ``INFO`` is refused (a restricted ACL user), the epoch is fixed at
``-`` and restarts with data are not detected (logged once).
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from xobj_prototype import redact_url
from xrepo.cache._backend import MISSING, BackendStats, CacheBackend
from xrepo.cache._errors import XRepoCacheError, XRepoSerializationError
from xrepo.cache._keys import validate_scope
from xrepo.cache.serializer import dumps, loads

__all__ = ["RedisCacheBackend", "redis_client", "resolve_client"]

log = logging.getLogger("xrepo.cache")

_RUN_ID = re.compile(rb"run_id:([0-9a-fA-F]+)")
#: The epoch when the server does not tell its run_id (INFO refused): restarts go unnoticed.
_NO_EPOCH = "-"


class _Generation(int):
    """A generation number that remembers the server lifetime (epoch) it was read under."""

    epoch: str | None

    def __new__(cls, value: int, epoch: str | None) -> _Generation:
        self = super().__new__(cls, value)
        self.epoch = epoch
        return self


def _epoch_of(info: Any) -> str | None:
    """The epoch (first 16 characters of ``run_id``) in an ``INFO server`` answer."""
    if isinstance(info, dict):
        run_id = info.get("run_id")
        return str(run_id)[:16] if run_id else None
    if isinstance(info, str):
        info = info.encode()
    if isinstance(info, bytes):
        found = _RUN_ID.search(info)
        return found.group(1).decode()[:16] if found else None
    return None


def redis_client(url: str, **options: Any) -> aioredis.Redis:
    """A ``redis.asyncio`` client that fails fast: short timeouts, no retries inside a call."""
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise XRepoCacheError(
            "redis url must look like redis://host:6379/0 (or rediss://, unix://), got "
            f"{redact_url(url) if isinstance(url, str) else type(url).__name__}",
            operation="configure cache",
        )
    options.setdefault("socket_connect_timeout", 1.0)
    options.setdefault("socket_timeout", 2.0)
    options.setdefault("retry", Retry(NoBackoff(), 0))
    try:
        client: aioredis.Redis = aioredis.Redis.from_url(url, **options)
        return client
    except (ValueError, RedisError) as exc:
        raise XRepoCacheError(
            f"cannot configure a Redis client for {redact_url(url)}: {type(exc).__name__}",
            operation="configure cache",
        ) from None


def resolve_client(url_or_client: Any, **options: Any) -> tuple[aioredis.Redis, bool, str]:
    """``(client, owned, redacted address)`` from a URL (a new, owned client) or a client.

    Raises:
        XRepoCacheError: neither a ``redis://`` URL nor a ``redis.asyncio.Redis`` client.
    """
    if isinstance(url_or_client, str):
        return redis_client(url_or_client, **options), True, redact_url(url_or_client)
    if isinstance(url_or_client, aioredis.Redis):
        return url_or_client, False, "redis"
    raise XRepoCacheError(
        "expected a redis:// URL or a redis.asyncio.Redis client, got "
        f"{type(url_or_client).__name__}",
        operation="configure cache",
    )


class RedisCacheBackend(CacheBackend):
    """Cache entries in Redis (see the module docstring for the key layout).

    Args:
        url_or_client: ``redis://...`` (a client is created and owned), or a ``redis.asyncio``
            client (borrowed: :meth:`close` leaves it open).
        namespace: the prefix of every key.
        retry_interval: seconds to answer "unavailable" without trying after a failure.
    """

    def __init__(
        self,
        url_or_client: str | aioredis.Redis,
        *,
        namespace: str = "xrepo",
        retry_interval: float = 1.0,
        **client_options: Any,
    ) -> None:
        self.namespace = validate_scope(namespace)
        self.client, self._owned, self._where = resolve_client(url_or_client, **client_options)
        self.retry_interval = retry_interval
        self._down_until = 0.0
        self._corrupt = 0
        # The generation of each scope as last seen: a hint that makes a lookup one MGET.
        self._seen: dict[str, int] = {}
        #: The server lifetime the entries are read and written under (None: not learnt yet).
        self._epoch: str | None = None
        self._install_connect_hook()

    @property
    def epoch(self) -> str | None:
        """The current server lifetime (start of Redis' ``run_id``); ``None`` before the first
        command, ``"-"`` when the server does not tell it."""
        return self._epoch

    def _install_connect_hook(self) -> None:
        # Every connection the pool opens (and reopens: connection objects are reused) asks
        # the server's run_id before its first command, so an epoch change is known before a
        # command can read an entry the restarted server reloaded from disk.
        pool = self.client.connection_pool
        previous = pool.connection_kwargs.get("redis_connect_func")
        backend = weakref.ref(self)

        async def on_connect(connection: Any) -> None:
            if previous is None:
                await connection.on_connect()
            else:
                result = previous(connection)
                if hasattr(result, "__await__"):
                    await result
            owner = backend()
            if owner is None or owner._epoch == _NO_EPOCH:
                return
            try:
                await connection.send_command("INFO", "server")
                owner._note_epoch(_epoch_of(await connection.read_response()))
            except ResponseError:
                owner._note_epoch(None)

        pool.connection_kwargs["redis_connect_func"] = on_connect
        # A borrowed client may hold connections already: they get the hook too.
        for name in ("_available_connections", "_in_use_connections"):
            for connection in getattr(pool, name, ()) or ():
                connection.redis_connect_func = on_connect

    def _note_epoch(self, epoch: str | None) -> None:
        if epoch is None:
            if self._epoch != _NO_EPOCH:
                log.warning(
                    "Redis at %s does not tell its run_id (INFO refused): a restart that "
                    "reloads old entries from disk cannot be detected",
                    self._where,
                )
            self._epoch = _NO_EPOCH
            return
        if self._epoch is not None and epoch != self._epoch:
            log.info(
                "Redis at %s restarted (run_id changed): entries cached before are not read",
                self._where,
            )
        self._epoch = epoch

    async def _current_epoch(self, operation: str) -> str:
        if self._epoch is None:
            try:
                self._note_epoch(_epoch_of(await self.client.info("server")))
            except ResponseError:
                self._note_epoch(None)
            except (RedisError, OSError) as exc:
                raise self._error(operation, exc) from None
        assert self._epoch is not None
        return self._epoch

    def _gen_key(self, scope: str) -> str:
        return f"{self.namespace}:gen:{scope}"

    def _entry_prefix(self, scope: str) -> str:
        return f"{self.namespace}:c:{scope}:"

    def _error(self, operation: str, exc: Exception) -> XRepoCacheError:
        self._down_until = time.monotonic() + self.retry_interval
        return XRepoCacheError(
            f"Redis at {self._where} failed: {type(exc).__name__}: {exc}; "
            "the cache is bypassed until it answers again",
            operation=f"cache {operation}",
        )

    def _check_available(self, operation: str) -> None:
        if time.monotonic() < self._down_until:
            raise XRepoCacheError(
                f"Redis at {self._where} is unavailable (failed recently); retrying in under "
                f"{self.retry_interval:g}s",
                operation=f"cache {operation}",
            )

    async def lookup(self, scope: str, digest: str) -> tuple[int, Any]:
        self._check_available("get")
        epoch = await self._current_epoch("get")
        seen = self._seen.get(scope, 0)
        prefix = f"{self._entry_prefix(scope)}{epoch}:"
        try:
            raw_gen, raw = await self.client.mget(self._gen_key(scope), f"{prefix}{seen}:{digest}")
            generation = int(raw_gen or 0)
            if generation != seen:  # written since we last looked: read the current entry
                self._seen[scope] = generation
                raw = await self.client.get(f"{prefix}{generation}:{digest}")
        except (RedisError, OSError) as exc:
            raise self._error("get", exc) from None
        if self._epoch != epoch:
            # The server restarted while this ran: what it answered under the old epoch's key
            # is an entry reloaded from before the restart.
            return _Generation(generation, self._epoch), MISSING
        if raw is None:
            return _Generation(generation, epoch), MISSING
        try:
            return _Generation(generation, epoch), loads(raw)
        except XRepoSerializationError:
            # Not ours (or from an incompatible version): a miss, and the key is dropped so
            # that the value loaded now can take its place.
            self._corrupt += 1
            key = f"{prefix}{generation}:{digest}"
            try:
                await self.client.delete(key)
            except (RedisError, OSError) as exc:
                raise self._error("get", exc) from None
            return _Generation(generation, epoch), MISSING

    def stats(self) -> BackendStats:
        return BackendStats(corrupt_entries=self._corrupt)

    async def generation(self, scope: str) -> int:
        self._check_available("generation")
        await self._current_epoch("generation")
        try:
            raw = await self.client.get(self._gen_key(scope))
        except (RedisError, OSError) as exc:
            raise self._error("generation", exc) from None
        # Tagged after the command: a reconnection during it learnt the answering server's.
        return _Generation(int(raw or 0), self._epoch)

    async def store(self, scope: str, generation: int, digest: str, value: Any, ttl: float) -> None:
        data = dumps(value)  # before any I/O: an unserializable value leaves Redis untouched
        self._check_available("set")
        epoch = await self._current_epoch("set")
        if getattr(generation, "epoch", epoch) != epoch:
            # Loaded while the server restarted: a write during the outage may have made the
            # value stale, and no generation counter recorded that write.
            return
        key = f"{self._entry_prefix(scope)}{epoch}:{generation}:{digest}"
        try:
            await self.client.set(key, data, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            raise self._error("set", exc) from None

    async def delete(self, scope: str, digest: str) -> bool:
        self._check_available("delete")
        epoch = await self._current_epoch("delete")
        try:
            generation = int(await self.client.get(self._gen_key(scope)) or 0)
            removed = await self.client.delete(
                f"{self._entry_prefix(scope)}{epoch}:{generation}:{digest}"
            )
        except (RedisError, OSError) as exc:
            raise self._error("delete", exc) from None
        return bool(removed)

    async def invalidate(self, scope: str) -> int:
        self._check_available("invalidate")
        try:
            generation = int(await self.client.incr(self._gen_key(scope)))
        except (RedisError, OSError) as exc:
            raise self._error("invalidate", exc) from None
        self._seen[scope] = generation
        return generation

    async def clear(self) -> None:
        """Delete every key of this namespace's cache (a SCAN: administration, not a hot path)."""
        try:
            batch: list[bytes] = []
            async for key in self.client.scan_iter(match=f"{self.namespace}:c:*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                await self.client.unlink(*batch)
        except (RedisError, OSError) as exc:
            raise self._error("clear", exc) from None

    async def close(self) -> None:
        if self._owned:
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where}, namespace={self.namespace!r})"
