"""The in-process cache backend: LRU with per-entry TTL, bounded, O(1) get and set."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xrepo.cache._backend import MISSING, BackendStats, CacheBackend
from xrepo.cache._errors import XRepoCacheError
from xrepo.cache.serializer import dumps, loads

__all__ = ["MemoryCacheBackend"]


@dataclass(slots=True)
class _Entry:
    generation: int
    value: Any
    expires: float


class MemoryCacheBackend(CacheBackend):
    """Entries in an ``OrderedDict`` in least-recently-used order.

    Args:
        max_entries: the bound; storing one more evicts the least recently used entry.
        clock: monotonic seconds (a fake clock in tests).
        copy_values: store values serialized (the default), so that a caller mutating what it
            got back cannot corrupt the cache, and so that values behave exactly as they do in
            Redis (a Pydantic model comes back as a dict). ``False`` keeps the objects as they
            are: faster, but shared.

    Expired entries are dropped when they are met (a lookup, or the LRU end during eviction);
    ``expirations`` counts them, ``evictions`` counts entries pushed out by the bound.
    """

    local = True

    def __init__(
        self,
        max_entries: int = 10_000,
        *,
        clock: Callable[[], float] = time.monotonic,
        copy_values: bool = True,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise XRepoCacheError(
                f"max_entries must be an integer >= 1, got {max_entries!r}",
                operation="configure cache",
            )
        self.max_entries = max_entries
        self._clock = clock
        self._copy = copy_values
        self._data: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._by_scope: dict[str, set[str]] = {}
        self._generations: dict[str, int] = {}
        self._evictions = 0
        self._expirations = 0

    # -- CacheBackend --------------------------------------------------------------------------
    async def lookup(self, scope: str, digest: str) -> tuple[int, Any]:
        return self.lookup_now(scope, digest)

    async def generation(self, scope: str) -> int:
        return self._generations.get(scope, 0)

    async def store(self, scope: str, generation: int, digest: str, value: Any, ttl: float) -> None:
        self.store_now(scope, generation, digest, value, ttl)

    async def delete(self, scope: str, digest: str) -> bool:
        return self._remove((scope, digest))

    async def invalidate(self, scope: str) -> int:
        return self._bump(scope)

    def drop_local(self, scope: str, digest: str | None) -> None:
        if digest is None:
            self._bump(scope)
        else:
            self._remove((scope, digest))

    def clear_local(self) -> None:
        for scope in list(self._by_scope):
            self._bump(scope)

    async def clear(self) -> None:
        self.clear_local()

    def stats(self) -> BackendStats:
        return BackendStats(
            entries=len(self._data), evictions=self._evictions, expirations=self._expirations
        )

    # -- synchronous core (no awaits: nothing interleaves inside one call) ---------------------
    def lookup_now(self, scope: str, digest: str) -> tuple[int, Any]:
        """The synchronous :meth:`lookup`."""
        generation = self._generations.get(scope, 0)
        key = (scope, digest)
        entry = self._data.get(key)
        if entry is None:
            return generation, MISSING
        if entry.generation != generation:  # cannot happen: bumps drop entries; be safe
            self._remove(key)
            return generation, MISSING
        if entry.expires <= self._clock():
            self._remove(key)
            self._expirations += 1
            return generation, MISSING
        self._data.move_to_end(key)
        return generation, loads(entry.value) if self._copy else entry.value

    def store_now(self, scope: str, generation: int, digest: str, value: Any, ttl: float) -> None:
        """The synchronous :meth:`store`."""
        if generation != self._generations.get(scope, 0):
            return  # loaded before an invalidation: already stale
        stored = dumps(value) if self._copy else value
        key = (scope, digest)
        self._data[key] = _Entry(generation, stored, self._clock() + ttl)
        self._data.move_to_end(key)
        self._by_scope.setdefault(scope, set()).add(digest)
        while len(self._data) > self.max_entries:
            (old_scope, old_digest), old = next(iter(self._data.items()))
            self._remove((old_scope, old_digest))
            if old.expires <= self._clock():
                self._expirations += 1
            else:
                self._evictions += 1

    def __len__(self) -> int:
        return len(self._data)

    def _remove(self, key: tuple[str, str]) -> bool:
        if self._data.pop(key, None) is None:
            return False
        digests = self._by_scope.get(key[0])
        if digests is not None:
            digests.discard(key[1])
            if not digests:
                del self._by_scope[key[0]]
        return True

    def _bump(self, scope: str) -> int:
        generation = self._generations.get(scope, 0) + 1
        self._generations[scope] = generation
        for digest in self._by_scope.pop(scope, set()):
            self._data.pop((scope, digest), None)
        return generation

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._data)}/{self.max_entries} entries)"
