"""The storage interface of the cache: generation-scoped entries.

Entries live under ``(scope, generation, digest)``: the scope is usually a repository name, the
digest a hash of one query and the caller's access scope. Invalidating a scope bumps its
generation, so every older entry becomes unreachable at once, in O(1), without a scan; backends
may also drop the old entries eagerly (the memory backend does, in O(entries of the scope)).

A value loaded before an invalidation is stored under the generation it was read at, which is
already stale: a slow loader can never resurrect data older than the last write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Final

from pydantic import BaseModel

__all__ = ["MISSING", "BackendStats", "CacheBackend"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Returned by :meth:`CacheBackend.lookup` for an absent or expired entry (``None`` is a value).
MISSING: Final[Any] = _Missing()


class BackendStats(BaseModel):
    """What a backend counts itself (the manager counts hits, misses and errors)."""

    entries: int | None = None
    evictions: int = 0
    expirations: int = 0
    #: Entries that could not be decoded (written by something else): dropped, read as misses.
    corrupt_entries: int = 0


class CacheBackend(ABC):
    """Async storage of cache entries; every method may do I/O and may raise on failure."""

    #: Whether this backend keeps entries in this process (and so must drop them itself when
    #: another process announces an invalidation).
    local: bool = False

    @abstractmethod
    async def lookup(self, scope: str, digest: str) -> tuple[int, Any]:
        """``(current generation of scope, value or MISSING)`` in one round trip."""

    @abstractmethod
    async def generation(self, scope: str) -> int:
        """The current generation of ``scope`` (0 before its first invalidation)."""

    @abstractmethod
    async def store(self, scope: str, generation: int, digest: str, value: Any, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds under ``generation`` (a stale one is dropped)."""

    @abstractmethod
    async def delete(self, scope: str, digest: str) -> bool:
        """Drop one entry of the current generation; whether there was one."""

    @abstractmethod
    async def invalidate(self, scope: str) -> int:
        """Bump the generation of ``scope`` (everything cached for it goes); the new one."""

    def drop_local(self, scope: str, digest: str | None) -> None:  # noqa: B027 - optional hook
        """Forget local entries after another process invalidated them (local backends only)."""

    def clear_local(self) -> None:  # noqa: B027 - optional hook
        """Forget every local entry (after missed invalidation messages)."""

    @abstractmethod
    async def clear(self) -> None:
        """Drop every entry of this cache."""

    def stats(self) -> BackendStats:
        """Counters kept by the backend."""
        return BackendStats()

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
