"""Errors of the cache layer, derived from :class:`xrepo.errors.XRepoError`."""

from __future__ import annotations

from xrepo.errors import XRepoError

__all__ = ["XRepoCacheError", "XRepoSerializationError"]


class XRepoCacheError(XRepoError):
    """The cache backend failed (Redis unreachable, a malformed entry, a bad key).

    The :class:`~xrepo.cache.CacheManager` catches it on reads and writes of cached
    values (a cache outage never fails a repository call); it reaches callers only from
    explicit cache administration and from namespace methods.
    """


class XRepoSerializationError(XRepoCacheError, TypeError):
    """A value cannot be encoded for the cache (an unknown type, a secret, a cycle)."""
