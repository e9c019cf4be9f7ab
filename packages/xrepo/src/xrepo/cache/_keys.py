"""Cache keys: a scope (the repository) and a digest of the query plus the caller's access.

Two callers with different access never share an entry: the caller's access scope (roles, the
row-level filter the ACL adds, a tenant) is part of the hashed material, not an afterthought.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from xrepo.cache._errors import XRepoCacheError
from xrepo.cache.serializer import canonical_json

__all__ = ["MAX_SCOPE_LENGTH", "CacheKey", "cache_key", "validate_scope"]

MAX_SCOPE_LENGTH = 200


def validate_scope(scope: object) -> str:
    """Return ``scope`` (a repository name) when usable in a key, else raise.

    Raises:
        XRepoCacheError: not a string, empty, longer than 200 characters, or holding whitespace
            or control characters.
    """
    if not isinstance(scope, str) or not scope:
        raise XRepoCacheError(
            f"cache scope (repository name) must be a non-empty string, got {scope!r}",
            operation="cache key",
        )
    if len(scope) > MAX_SCOPE_LENGTH:
        raise XRepoCacheError(
            f"cache scope is {len(scope)} characters long; the limit is {MAX_SCOPE_LENGTH}",
            operation="cache key",
        )
    if any(c.isspace() or not c.isprintable() for c in scope):
        raise XRepoCacheError(
            f"cache scope {scope!r} contains whitespace or control characters",
            operation="cache key",
        )
    return scope


class CacheKey(BaseModel):
    """Where one cached result lives: ``scope`` (invalidated as a whole) and ``digest``."""

    model_config = ConfigDict(frozen=True)

    scope: str
    digest: str

    @field_validator("scope")
    @classmethod
    def _check_scope(cls, value: str) -> str:
        return validate_scope(value)

    @field_validator("digest")
    @classmethod
    def _check_digest(cls, value: str) -> str:
        if not (1 <= len(value) <= 128) or not all(c in "0123456789abcdef" for c in value):
            raise ValueError("digest must be 1 to 128 lower-case hex digits")
        return value

    def __str__(self) -> str:
        return f"{self.scope}:{self.digest}"


def cache_key(repo: str, operation: str, args: Any, principal_scope: Any) -> CacheKey:
    """The key of ``operation(args)`` on ``repo`` as seen by a caller with ``principal_scope``.

    ``args`` and ``principal_scope`` are normalized (mapping keys sorted, types tagged) and hashed
    with SHA-256, so ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` share an entry while ``1`` and
    ``"1"`` do not. ``principal_scope`` is what decides what the caller may see: pass the roles
    and the row-level filter (or ``None`` only for data everyone may read).

    >>> k1 = cache_key("users", "list", {"age__gte": 18}, {"roles": ["admin"]})
    >>> k2 = cache_key("users", "list", {"age__gte": 18}, {"roles": ["viewer"]})
    >>> k1.scope, k1 == k2
    ('users', False)

    Raises:
        XRepoCacheError: a bad repository or operation name.
        XRepoSerializationError: ``args`` or ``principal_scope`` hold a type that cannot be
            normalized.
    """
    validate_scope(repo)
    if not isinstance(operation, str) or not operation:
        raise XRepoCacheError(
            f"cache operation must be a non-empty string, got {operation!r}",
            repo=repo,
            operation="cache key",
        )
    material = canonical_json({"op": operation, "args": args, "principal": principal_scope})
    digest = hashlib.sha256(material.encode()).hexdigest()
    return CacheKey(scope=repo, digest=digest)
