"""``CacheManager``: read-through caching for repositories, plus the spec's namespace extension.

Usage from a repository::

    cache = CacheManager.memory(max_entries=10_000, default_ttl=300)
    key = cache.cache_key("users", "list", {"filter": flt, "limit": 20}, ctx_scope)
    rows = await cache.get_or_set(key, lambda: load_rows())   # one load for N concurrent misses
    ...
    await cache.delete_prefix("users")    # after every write: all of "users" goes, everywhere

Failure policy: the cache is an optimisation, never a dependency. A backend error on a read is a
miss, on a store is skipped, and an invalidation that could not reach the backend is remembered
and retried before the next use; until it succeeds that scope is served uncached. Errors are
logged redacted and counted in :meth:`CacheManager.stats`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from xobj_prototype import MemoryNamespace, NamespaceBackend, XNotFoundError, redact_text
from xrepo.cache._backend import MISSING, CacheBackend
from xrepo.cache._errors import XRepoCacheError
from xrepo.cache._invalidation import Invalidation, InvalidationBus
from xrepo.cache._keys import CacheKey, cache_key, validate_scope
from xrepo.cache._memory import MemoryCacheBackend

__all__ = ["CacheManager", "CacheStats"]

T = TypeVar("T")
log = logging.getLogger("xrepo.cache")


class CacheStats(BaseModel):
    """Counters of one :class:`CacheManager` (since it was created)."""

    hits: int = 0
    misses: int = 0
    sets: int = 0
    deletes: int = 0
    invalidations: int = 0
    loads: int = 0
    coalesced: int = 0
    evictions: int = 0
    expirations: int = 0
    errors: int = 0
    remote_invalidations: int = 0
    corrupt_entries: int = 0
    entries: int | None = None
    pending_invalidations: int = 0
    available: bool = True

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups, 0.0 before the first lookup."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class _LeaderGone(Exception):
    """The coroutine loading a value was cancelled: a waiter retries as the new leader."""


class CacheManager:
    """Cache of repository results with generation-based invalidation and single-flight loads.

    Args:
        backend: a :class:`CacheBackend`, or ``"memory"``/``"redis"`` (the spec's spelling;
            ``"redis"`` needs ``redis_url`` and is what :meth:`redis` builds).
        namespace: prefix of every key and of the invalidation channel; caches that share data
            share a namespace.
        default_ttl: seconds an entry lives when ``set``/``get_or_set`` give no ``ttl``.
        bus: where invalidations are announced to (and heard from) other processes.
        names: the namespace backend of the spec's namespace extension (``register_ns``...);
            a :class:`~xobj_prototype.MemoryNamespace` by default.
        redis_url: for ``backend="redis"``.
        max_entries: for ``backend="memory"``.
    """

    def __init__(
        self,
        backend: CacheBackend | Literal["memory", "redis"] = "memory",
        *,
        namespace: str = "xrepo",
        default_ttl: float = 300.0,
        bus: InvalidationBus | None = None,
        names: NamespaceBackend | None = None,
        redis_url: str | None = None,
        max_entries: int = 10_000,
    ) -> None:
        self.namespace = validate_scope(namespace)
        self.default_ttl = self._check_ttl(default_ttl)
        if isinstance(backend, str):
            backend, names, bus = self._named_backend(backend, redis_url, max_entries, names, bus)
        if not isinstance(backend, CacheBackend):
            raise XRepoCacheError(
                "backend must be a CacheBackend, 'memory' or 'redis', got "
                f"{type(backend).__name__}",
                operation="configure cache",
            )
        self.backend = backend
        self.bus = bus
        self.names: NamespaceBackend = names if names is not None else MemoryNamespace()
        #: Identifies this instance on the bus, so that it ignores its own announcements.
        self.instance_id = uuid.uuid4().hex
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._dirty: set[str] = set()
        self._stats = CacheStats()
        self._healthy = True
        self._started = False

    def _named_backend(
        self,
        name: str,
        redis_url: str | None,
        max_entries: int,
        names: NamespaceBackend | None,
        bus: InvalidationBus | None,
    ) -> tuple[CacheBackend, NamespaceBackend | None, InvalidationBus | None]:
        if name == "memory":
            return MemoryCacheBackend(max_entries), names, bus
        if name == "redis":
            if not redis_url:
                raise XRepoCacheError(
                    "backend='redis' needs redis_url='redis://host:6379/0'",
                    operation="configure cache",
                )
            from xrepo.cache._invalidation_redis import RedisInvalidationBus
            from xrepo.cache._namespace_redis import RedisNamespace
            from xrepo.cache._redis_backend import RedisCacheBackend

            cache = RedisCacheBackend(redis_url, namespace=self.namespace)
            if names is None:
                names = RedisNamespace(cache.client, prefix=f"{self.namespace}:ns")
            if bus is None:
                bus = RedisInvalidationBus(redis_url, namespace=self.namespace)
            return cache, names, bus
        raise XRepoCacheError(
            f"unknown cache backend {name!r}; use 'memory' or 'redis'", operation="configure cache"
        )

    # -- constructors --------------------------------------------------------------------------
    @classmethod
    def memory(
        cls,
        *,
        max_entries: int = 10_000,
        default_ttl: float = 300.0,
        namespace: str = "xrepo",
        bus: InvalidationBus | None = None,
        names: NamespaceBackend | None = None,
    ) -> CacheManager:
        """An in-process LRU cache; give it a ``bus`` to hear other processes' writes."""
        return cls(
            MemoryCacheBackend(max_entries),
            namespace=namespace,
            default_ttl=default_ttl,
            bus=bus,
            names=names,
        )

    @classmethod
    def redis(
        cls,
        url: str,
        *,
        default_ttl: float = 300.0,
        namespace: str = "xrepo",
        publish: bool = True,
        shared_namespace: bool = True,
        **client_options: Any,
    ) -> CacheManager:
        """A cache in Redis shared by every process, with a Redis-backed namespace.

        ``publish`` also announces invalidations on the namespace's channel, for processes
        that keep memory caches of the same data.
        """
        from xrepo.cache._invalidation_redis import RedisInvalidationBus
        from xrepo.cache._namespace_redis import RedisNamespace
        from xrepo.cache._redis_backend import RedisCacheBackend

        backend = RedisCacheBackend(url, namespace=namespace, **client_options)
        bus = RedisInvalidationBus(url, namespace=namespace) if publish else None
        names = None
        if shared_namespace:
            names = RedisNamespace(backend.client, prefix=f"{namespace}:ns")
        return cls(backend, namespace=namespace, default_ttl=default_ttl, bus=bus, names=names)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> bool:
        """Subscribe to the invalidation bus (if any); whether the subscription is live.

        Safe to call twice. A cache whose bus is down still works; it subscribes when it can.
        """
        if self.bus is None or self._started:
            return True
        self._started = True
        return await self.bus.start(self._on_message, self._on_reset)

    async def close(self) -> None:
        """Stop the bus subscription and release the backend's and namespace's connections."""
        if self.bus is not None:
            await self.bus.close()
        await self.names.close()
        await self.backend.close()

    async def __aenter__(self) -> CacheManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- keys ----------------------------------------------------------------------------------
    @staticmethod
    def cache_key(repo: str, operation: str, args: Any, principal_scope: Any) -> CacheKey:
        """See :func:`xrepo.cache._keys.cache_key`."""
        return cache_key(repo, operation, args, principal_scope)

    # -- the cache -----------------------------------------------------------------------------
    async def get(self, key: CacheKey, default: Any = None) -> Any:
        """The cached value, or ``default`` on a miss (or when the backend is down)."""
        _, value = await self._lookup(self._key(key))
        return default if value is MISSING else value

    async def set(self, key: CacheKey, value: Any, ttl: float | None = None) -> None:
        """Cache ``value`` for ``ttl`` seconds (the default TTL when ``None``)."""
        key = self._key(key)
        ttl = self.default_ttl if ttl is None else self._check_ttl(ttl)
        if self._dirty:
            await self._flush_dirty()
        if key.scope in self._dirty:
            return  # the scope may hold stale entries the backend could not drop: stay away
        try:
            generation = await self.backend.generation(key.scope)
        except XRepoCacheError as exc:
            self._failed("set", exc)
            return
        await self._store(key, generation, value, ttl)

    async def delete(self, key: CacheKey) -> bool:
        """Drop one entry here and in every subscribed process; whether it was cached here."""
        key = self._key(key)
        self._stats.deletes += 1
        try:
            found = await self.backend.delete(key.scope, key.digest)
            self._ok()
        except XRepoCacheError as exc:
            # The entry may survive in the backend: serve the scope uncached until it is gone.
            self._failed("delete", exc)
            self._dirty.add(key.scope)
            found = False
        await self._announce(
            Invalidation(scope=key.scope, digest=key.digest, origin=self.instance_id)
        )
        return found

    async def delete_prefix(self, repo: str) -> None:
        """Invalidate everything cached for ``repo``, here and in every subscribed process.

        O(1) in Redis (a generation counter), O(entries of ``repo``) in memory. Never raises for
        a backend outage: the invalidation is retried before the next use of the cache and the
        repository is served uncached until it succeeds.
        """
        scope = validate_scope(repo)
        self._stats.invalidations += 1
        try:
            await self.backend.invalidate(scope)
            self._ok()
            self._dirty.discard(scope)
        except XRepoCacheError as exc:
            self._failed("invalidate", exc)
            self._dirty.add(scope)
        await self._announce(Invalidation(scope=scope, origin=self.instance_id))

    #: The spec's word for :meth:`delete_prefix`.
    invalidate = delete_prefix

    async def clear(self) -> None:
        """Drop every entry of this cache (administration: errors are raised)."""
        await self.backend.clear()

    async def get_or_set(
        self, key: CacheKey, loader: Callable[[], Awaitable[T]], ttl: float | None = None
    ) -> T:
        """The cached value, or ``await loader()`` cached for ``ttl`` seconds.

        Single flight: while one coroutine loads a key, the others asking for it wait for that
        load instead of starting their own. A loader error reaches every waiter and nothing is
        cached. The coroutine that ran the loader gets its object; later hits get the decoded
        copy (a Pydantic model comes back as a dict), so cache plain data.
        """
        key = self._key(key)
        ttl = self.default_ttl if ttl is None else self._check_ttl(ttl)
        name = f"{key.scope}\x00{key.digest}"
        while True:
            pending = self._inflight.get(name)
            if pending is not None:
                self._stats.coalesced += 1
                try:
                    return await asyncio.shield(pending)
                except _LeaderGone:
                    continue
            generation, value = await self._lookup(key)
            if value is not MISSING:
                return value  # type: ignore[no-any-return]
            if name in self._inflight:  # another coroutine became the loader meanwhile
                continue
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._inflight[name] = future
            try:
                self._stats.loads += 1
                loaded = await loader()
            except asyncio.CancelledError:
                future.set_exception(_LeaderGone())
                future.exception()  # retrieved: no "never retrieved" warning without waiters
                raise
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()
                raise
            else:
                future.set_result(loaded)
            finally:
                self._inflight.pop(name, None)
            if generation is not None and key.scope not in self._dirty:
                await self._store(key, generation, loaded, ttl)
            return loaded

    def stats(self) -> CacheStats:
        """A snapshot of the counters, with the backend's own (entries, evictions)."""
        backend = self.backend.stats()
        return self._stats.model_copy(
            update={
                "entries": backend.entries,
                "evictions": backend.evictions,
                "expirations": backend.expirations,
                "corrupt_entries": backend.corrupt_entries,
                "pending_invalidations": len(self._dirty),
                "available": self._healthy,
            }
        )

    # -- namespace extension (repo spec v3) ----------------------------------------------------
    async def register_ns(self, namespace_path: str, value: Any, *, override: bool = True) -> None:
        """Register ``value`` at ``namespace_path`` (replacing what is there unless told not to)."""
        await self.names.register(namespace_path, value, override=override)

    async def get_ns(self, namespace_path: str, default: Any = None) -> Any:
        """The object at ``namespace_path``, or ``default``."""
        return await self.names.get(namespace_path, default)

    async def unregister_ns(self, namespace_path: str) -> None:
        """Remove ``namespace_path`` and the indirect keys pointing at it."""
        await self.names.unregister(namespace_path)

    async def register_indirect(self, key: str, namespace_path: str) -> None:
        """Let ``key`` (an id, an alias) resolve to ``namespace_path``, which must exist."""
        await self.names.register_indirect(key, namespace_path)

    async def get_ns_by_key(self, key: str, default: str | None = None) -> str | None:
        """The namespace path registered for ``key``, or ``default``."""
        try:
            return await self.names.resolve(key)
        except XNotFoundError:
            return default

    async def list_ns(self, pattern: str = "*", *, segments: bool = False) -> list[str]:
        """Sorted paths matching the glob ``pattern`` (``fnmatch``: ``*`` crosses dots)."""
        return await self.names.find(pattern, segments=segments)

    async def fuzzy_search(
        self, pattern: str, search_term: str, *, limit: int = 10, cutoff: float = 0.6
    ) -> list[str]:
        """Paths matching ``pattern`` whose path words or fuzzy text resemble ``search_term``."""
        matches = await self.names.fuzzy_search(search_term, pattern, limit=limit, cutoff=cutoff)
        return [m.path for m in matches]

    # -- internals -----------------------------------------------------------------------------
    @staticmethod
    def _key(key: Any) -> CacheKey:
        if not isinstance(key, CacheKey):
            raise XRepoCacheError(
                f"cache key must be a CacheKey from cache_key(...), got {type(key).__name__}",
                operation="cache key",
            )
        return key

    @staticmethod
    def _check_ttl(ttl: Any) -> float:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
            raise XRepoCacheError(
                f"cache ttl must be a positive number of seconds, got {ttl!r}",
                operation="configure cache",
            )
        return float(ttl)

    async def _flush_dirty(self) -> None:
        for scope in list(self._dirty):
            try:
                await self.backend.invalidate(scope)
            except XRepoCacheError as exc:
                self._failed("invalidate", exc)
                return
            self._ok()
            self._dirty.discard(scope)

    async def _lookup(self, key: CacheKey) -> tuple[int | None, Any]:
        """``(generation, value)``; generation ``None`` when nothing may be stored now."""
        if self._dirty:
            await self._flush_dirty()
        generation: int | None = None
        value: Any = MISSING
        if key.scope not in self._dirty:
            try:
                generation, value = await self.backend.lookup(key.scope, key.digest)
                self._ok()
            except XRepoCacheError as exc:
                self._failed("get", exc)
        if value is MISSING:
            self._stats.misses += 1
        else:
            self._stats.hits += 1
        return generation, value

    async def _store(self, key: CacheKey, generation: int, value: Any, ttl: float) -> None:
        try:
            await self.backend.store(key.scope, generation, key.digest, value, ttl)
        except XRepoCacheError as exc:
            self._failed("set", exc)
            return
        self._ok()
        self._stats.sets += 1

    async def _announce(self, message: Invalidation) -> None:
        if self.bus is None:
            return
        try:
            await self.bus.publish(message)
        except XRepoCacheError as exc:
            self._failed("publish invalidation", exc)

    def _on_message(self, message: Invalidation) -> None:
        if message.origin == self.instance_id:
            return
        self._stats.remote_invalidations += 1
        self.backend.drop_local(message.scope, message.digest)

    def _on_reset(self) -> None:
        # Messages sent while the subscription was down are lost: forget what may be stale.
        self.backend.clear_local()

    def _ok(self) -> None:
        if not self._healthy:
            log.info("cache %r: backend reachable again", self.namespace)
        self._healthy = True

    def _failed(self, operation: str, exc: Exception) -> None:
        self._stats.errors += 1
        if self._healthy:  # one warning per outage, not one per call
            log.warning(
                "cache %r: %s failed, serving uncached: %s",
                self.namespace,
                operation,
                redact_text(str(exc)),
            )
        else:
            log.debug("cache %r: %s failed: %s", self.namespace, operation, redact_text(str(exc)))
        # A value that cannot be serialized says nothing about the backend's health.
        if not isinstance(exc, TypeError):
            self._healthy = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r}, backend={self.backend!r})"
