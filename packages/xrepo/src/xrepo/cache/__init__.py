"""Caching for repositories: memory and Redis backends, invalidation across processes, and the
spec's namespace extension (``register_ns``, ``list_ns``, ``fuzzy_search``...).

Redis-backed classes (:class:`RedisCacheBackend`, :class:`RedisInvalidationBus`,
:class:`RedisNamespace`) are imported on first access, so ``import xrepo.cache`` needs no
``redis`` package (``pip install xrepo[redis]`` adds it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from xrepo.cache.backend import MISSING, BackendStats, CacheBackend
from xrepo.cache.errors import XRepoCacheError, XRepoSerializationError
from xrepo.cache.invalidation import (
    Invalidation,
    InvalidationBus,
    LocalInvalidationBus,
    LocalInvalidationHub,
)
from xrepo.cache.keys import CacheKey, cache_key
from xrepo.cache.manager import CacheManager, CacheStats
from xrepo.cache.memory import MemoryCacheBackend

if TYPE_CHECKING:
    from xrepo.cache.invalidation_redis import RedisInvalidationBus
    from xrepo.cache.namespace_redis import ObjectRef, RedisNamespace
    from xrepo.cache.redis_backend import RedisCacheBackend

_LAZY = {
    "RedisCacheBackend": "xrepo.cache.redis_backend",
    "RedisInvalidationBus": "xrepo.cache.invalidation_redis",
    "RedisNamespace": "xrepo.cache.namespace_redis",
    "ObjectRef": "xrepo.cache.namespace_redis",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xrepo.cache' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "MISSING",
    "BackendStats",
    "CacheBackend",
    "CacheKey",
    "CacheManager",
    "CacheStats",
    "Invalidation",
    "InvalidationBus",
    "LocalInvalidationBus",
    "LocalInvalidationHub",
    "MemoryCacheBackend",
    "ObjectRef",
    "RedisCacheBackend",
    "RedisInvalidationBus",
    "RedisNamespace",
    "XRepoCacheError",
    "XRepoSerializationError",
    "cache_key",
]
