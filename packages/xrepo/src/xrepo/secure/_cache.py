"""Caching as a layer: a secured repository's reads, per caller's access.

Reads are cached under keys that include the caller's access (roles, row scope, hidden fields:
the decision's fingerprint) besides the compiled query, so callers with different access never
share an entry; every write invalidates the repository's entries, in every process sharing the
cache (the :class:`~xrepo.cache.CacheManager`'s invalidation bus).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from xrepo.cache import CacheKey, CacheManager
from xrepo.secure._call import Call
from xrepo.stores import _ambient as ambient

__all__ = ["CacheLayer"]

R = TypeVar("R")

#: Cache keys remembered by their text (hashing is the costly part of a hit).
_KEY_MEMO = 4096


class CacheLayer:
    """A :class:`~xrepo.cache.CacheManager` under one repository's scope.

    Args:
        cache: the cache.
        ttl: seconds an entry stays valid (``None``: the cache's default).
        scope: the repository's cache scope (its name, validated).
    """

    def __init__(self, cache: CacheManager, ttl: float | None, scope: str) -> None:
        self.cache = cache
        self._ttl = ttl
        self._scope = scope
        self._keys: dict[str, CacheKey] = {}

    @property
    def ttl(self) -> float | None:
        """Seconds an entry stays valid (``None``: the cache's default)."""
        return self._ttl

    async def read(
        self, call: Call, operation: str, args: Any, loader: Callable[[], Awaitable[R]]
    ) -> R:
        """``await loader()``, through the cache: never inside a write or a transaction (they
        read what they are changing)."""
        if call.in_write or ambient.active():
            return await loader()
        fingerprint = call.decision.fingerprint_text if call.decision is not None else ""
        # The digest covers the compiled query, with the caller's row scope inside it, and the
        # caller's access (roles, scope, hidden fields): different access, different entry.
        material = f"{operation}\x00{args!r}\x00{fingerprint}"
        keys = self._keys
        key = keys.get(material)
        if key is None:
            key = CacheKey.model_construct(
                scope=self._scope, digest=hashlib.sha256(material.encode()).hexdigest()
            )
            if len(keys) >= _KEY_MEMO:
                keys.pop(next(iter(keys)))
            keys[material] = key
        return await self.cache.get_or_set(key, loader, self._ttl)

    async def invalidate(self, repo: str) -> None:
        """Drop every entry of repository ``repo`` (after a write, whatever its outcome)."""
        await self.cache.delete_prefix(repo)
