"""Caching for repositories: memory and Redis backends, invalidation across processes, and the
spec's namespace extension (``register_ns``, ``list_ns``, ``fuzzy_search``...).

Redis-backed classes (:class:`RedisCacheBackend`, :class:`RedisInvalidationBus`,
:class:`RedisNamespace`) are imported on first access, so ``import xrepo.cache`` needs no
``redis`` package (``pip install xrepo[redis]`` adds it). :mod:`xrepo.cache.serializer` is the
value format every backend stores (``dumps``/``loads``), for backends of your own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xrepo.cache._backend import MISSING, BackendStats, CacheBackend
from xrepo.cache._errors import XRepoCacheError, XRepoSerializationError
from xrepo.cache._invalidation import (
    Invalidation,
    InvalidationBus,
    LocalInvalidationBus,
    LocalInvalidationHub,
)
from xrepo.cache._keys import CacheKey, cache_key, validate_scope
from xrepo.cache._manager import CacheManager, CacheStats
from xrepo.cache._memory import MemoryCacheBackend

if TYPE_CHECKING:
    from xrepo.cache._invalidation_redis import RedisInvalidationBus
    from xrepo.cache._namespace_redis import ObjectRef, RedisNamespace
    from xrepo.cache._redis_backend import RedisCacheBackend

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "RedisCacheBackend": "xrepo.cache._redis_backend",
        "RedisInvalidationBus": "xrepo.cache._invalidation_redis",
        "RedisNamespace": "xrepo.cache._namespace_redis",
        "ObjectRef": "xrepo.cache._namespace_redis",
    },
    extras={
        "xrepo.cache._redis_backend": "xrepo[redis]",
        "xrepo.cache._invalidation_redis": "xrepo[redis]",
        "xrepo.cache._namespace_redis": "xrepo[redis]",
    },
)

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
    "validate_scope",
]
