"""``RedisNamespace``: the namespace of xobj-prototype, shared by every service instance.

Layout under a prefix ``P``::

    P:entries    hash   path -> value (tagged JSON, see xrepo.cache.serializer)
    P:paths      zset   every path, score 0: lexicographic order, so a glob's literal prefix is
                        one ZRANGEBYLEX range instead of a scan
    P:rpaths     zset   every path reversed: a literal suffix (``*.User``) is a range too
    P:fuzzy      hash   path -> the text fuzzy search reads (path words + get_fuzzy_text())
    P:indirect   hash   key -> path
    P:refs:<path> set   the indirect keys pointing at <path> (dropped with it)

Writes are small Lua scripts, atomic across instances. Values must be data: JSON plus the
serializer's tagged types, Pydantic models (stored as their JSON dump, secrets masked), and
classes or functions, which are stored as an importable ``"module:qualname"`` reference
(:class:`ObjectRef`). Anything else (a live resource, a lambda) is refused with a clear error:
an object with a connection cannot be shared through Redis.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import RedisError

from xobj_prototype import (
    FuzzyMatch,
    NamespaceBackend,
    XConflictError,
    XNotFoundError,
    XValidationError,
    compile_glob,
    validate_path,
    validate_pattern,
)
from xobj_prototype.namespace import fuzzy_score, fuzzy_text_of, is_glob, tokenize
from xrepo.cache._errors import XRepoCacheError, XRepoSerializationError
from xrepo.cache._redis_backend import resolve_client
from xrepo.cache.serializer import TAG, decode, encode

__all__ = ["ObjectRef", "RedisNamespace"]

_MISSING: Any = object()
_BATCH = 1000

_REGISTER = """
if ARGV[4] == '0' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[4], 0, string.reverse(ARGV[1]))
return 1
"""
_UNREGISTER = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[6], string.reverse(ARGV[1]))
for _, k in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if redis.call('HGET', KEYS[4], k) == ARGV[1] then redis.call('HDEL', KEYS[4], k) end
end
redis.call('DEL', KEYS[5])
return 1
"""
_INDIRECT = """
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""


class ObjectRef(str):
    """A class or function stored by reference: ``"package.module:Qualified.name"``.

    Reading it back never imports anything by itself (whoever can write to Redis must not be able
    to make a service import modules); call :meth:`load` to import it deliberately.
    """

    __slots__ = ()

    def load(self) -> Any:
        """Import the module and return the object.

        Raises:
            XNotFoundError: the module or attribute does not exist.
        """
        module, _, qualname = self.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError, ValueError):
            raise XNotFoundError(
                f"namespace reference {str(self)!r} cannot be imported; is the package installed?",
                details={"reference": str(self)},
            ) from None
        return obj


def _reference(value: Any) -> str | None:
    """``module:qualname`` of an importable class or function, else ``None``."""
    if not (inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value)):
        return None
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", "")
    if not module or not qualname or "<" in qualname:  # a lambda or a local class
        return None
    return f"{module}:{qualname}"


def _encode_value(path: str, value: Any) -> str:
    ref = _reference(value)
    if ref is not None:
        return json.dumps({TAG: "ref", "v": ref})
    if inspect.isclass(value) or (callable(value) and not isinstance(value, BaseModel)):
        raise XRepoSerializationError(
            f"cannot register {type(value).__name__} at {path!r} in a Redis namespace: only "
            "module-level classes and functions are stored (as 'module:qualname' references)",
            operation="register namespace entry",
        )
    if isinstance(value, BaseModel):
        # JSON mode masks SecretStr fields: a shared namespace never holds a secret in clear.
        value = value.model_dump(mode="json")
    try:
        return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)
    except XRepoSerializationError as exc:
        raise XRepoSerializationError(
            f"cannot register a {type(value).__name__} at {path!r} in a Redis namespace: {exc}. "
            "Register data, or a module-level class/function (stored as a reference)",
            operation="register namespace entry",
        ) from None


def _decode_value(raw: bytes | str) -> Any:
    data = json.loads(raw)
    if isinstance(data, dict) and data.get(TAG) == "ref" and isinstance(data.get("v"), str):
        return ObjectRef(data["v"])
    return decode(data)


class RedisNamespace(NamespaceBackend):
    """A :class:`~xobj_prototype.NamespaceBackend` in Redis (layout in the module docstring).

    Args:
        url_or_client: ``redis://...`` (owned client) or a ``redis.asyncio`` client (borrowed).
        prefix: the key prefix; instances with the same prefix share one namespace.

    Examples:
        >>> ns = RedisNamespace("redis://127.0.0.1:6379/0", prefix="app:ns")  # doctest: +SKIP
        >>> await ns.register("ns.models.User", User)  # doctest: +SKIP
        >>> await ns.find("ns.models.*")  # doctest: +SKIP
        ['ns.models.User']
    """

    def __init__(self, url_or_client: str | aioredis.Redis, *, prefix: str = "xrepo:ns") -> None:
        if not isinstance(prefix, str) or not prefix or any(c.isspace() for c in prefix):
            raise XRepoCacheError(
                f"namespace key prefix must be a non-empty string without spaces, got {prefix!r}",
                operation="configure namespace",
            )
        self.client, self._owned, _ = resolve_client(url_or_client)
        self.prefix = prefix
        self._entries = f"{prefix}:entries"
        self._paths = f"{prefix}:paths"
        self._rpaths = f"{prefix}:rpaths"
        self._fuzzy = f"{prefix}:fuzzy"
        self._indirect = f"{prefix}:indirect"
        self._register = self.client.register_script(_REGISTER)
        self._unregister = self.client.register_script(_UNREGISTER)
        self._indirect_script = self.client.register_script(_INDIRECT)

    def _refs(self, path: str) -> str:
        return f"{self.prefix}:refs:{path}"

    @staticmethod
    def _error(operation: str, exc: Exception) -> XRepoCacheError:
        return XRepoCacheError(
            f"Redis namespace unavailable: {type(exc).__name__}: {exc}; retry when Redis is up",
            operation=operation,
        )

    # -- writes --------------------------------------------------------------------------------
    async def register(self, path: str, value: Any, *, override: bool = False) -> None:
        validate_path(path)
        fuzzy = fuzzy_text_of(path, value)
        data = _encode_value(path, value)
        try:
            done = await self._register(
                keys=[self._entries, self._paths, self._fuzzy, self._rpaths],
                args=[path, data, fuzzy, "1" if override else "0"],
            )
        except (RedisError, OSError) as exc:
            raise self._error("register namespace entry", exc) from None
        if not done:
            raise XConflictError(
                f"namespace path {path!r} is already registered; pass override=True to replace "
                "it, or unregister it first",
                details={"path": path},
            )

    async def unregister(self, path: str) -> None:
        validate_path(path)
        try:
            done = await self._unregister(
                keys=[
                    self._entries,
                    self._paths,
                    self._fuzzy,
                    self._indirect,
                    self._refs(path),
                    self._rpaths,
                ],
                args=[path],
            )
        except (RedisError, OSError) as exc:
            raise self._error("unregister namespace entry", exc) from None
        if not done:
            raise self._not_found(path)

    async def register_indirect(self, key: str, path: str) -> None:
        if not isinstance(key, str) or not key.strip():
            raise XValidationError(
                f"indirect key must be a non-empty string, got {type(key).__name__}"
            )
        validate_path(path)
        try:
            done = await self._indirect_script(
                keys=[self._entries, self._indirect, self._refs(path)], args=[key, path]
            )
        except (RedisError, OSError) as exc:
            raise self._error("register indirect key", exc) from None
        if not done:
            raise self._not_found(path)

    # -- reads ---------------------------------------------------------------------------------
    async def get(self, path: str, default: Any = _MISSING) -> Any:
        validate_path(path)
        try:
            raw = await self.client.hget(self._entries, path)  # type: ignore[misc, unused-ignore]
        except (RedisError, OSError) as exc:
            raise self._error("get namespace entry", exc) from None
        if raw is None:
            if default is _MISSING:
                raise self._not_found(path)
            return default
        return _decode_value(raw)

    async def resolve(self, key: str) -> str:
        if not isinstance(key, str):
            raise XValidationError(f"indirect key must be a string, got {type(key).__name__}")
        try:
            raw = await self.client.hget(self._indirect, key)  # type: ignore[misc, unused-ignore]
        except (RedisError, OSError) as exc:
            raise self._error("resolve indirect key", exc) from None
        if raw is None:
            raise XNotFoundError(
                f"no namespace entry is registered under the key {key!r}; register it with "
                "register_indirect(key, path)",
                details={"key": key},
            )
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def find(self, pattern: str, *, segments: bool = False) -> list[str]:
        validate_pattern(pattern)
        if not is_glob(pattern):
            try:
                score = await self.client.zscore(self._paths, pattern)
            except (RedisError, OSError) as exc:
                raise self._error("find namespace entries", exc) from None
            return [] if score is None else [pattern]
        tokens = tokenize(pattern)
        prefix = "" if tokens[0][0] else tokens[0][1]
        suffix = "" if tokens[-1][0] else tokens[-1][1]
        match = compile_glob(pattern, segments).match
        if prefix or not suffix:
            return [p async for p in self._range(prefix) if match(p)]
        # No literal prefix but a literal suffix: range over the reversed paths instead.
        hits = [r[::-1] async for r in self._range(suffix[::-1], self._rpaths)]
        return sorted(p for p in hits if match(p))

    async def list_prefix(self, prefix: str) -> list[str]:
        validate_path(prefix)
        return [p async for p in self._range(prefix + ".")]

    async def fuzzy_search(
        self, term: str, pattern: str = "*", *, limit: int = 10, cutoff: float = 0.6
    ) -> list[FuzzyMatch]:
        if not isinstance(term, str) or not term.strip():
            raise XValidationError("fuzzy search term must be a non-empty string")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise XValidationError(f"fuzzy search limit must be an integer >= 1, got {limit!r}")
        if isinstance(cutoff, bool) or not isinstance(cutoff, int | float) or not 0 <= cutoff <= 1:
            raise XValidationError(
                f"fuzzy search cutoff must be a number between 0 and 1, got {cutoff!r}"
            )
        needle = term.strip().lower()
        paths = await self.find(pattern)
        hits: list[FuzzyMatch] = []
        try:
            for i in range(0, len(paths), _BATCH):
                chunk = paths[i : i + _BATCH]
                texts = await self.client.hmget(self._fuzzy, chunk)  # type: ignore[misc, unused-ignore]
                for path, text in zip(chunk, texts, strict=True):
                    if text is None:  # unregistered between the two reads
                        continue
                    score = fuzzy_score(needle, text.decode() if isinstance(text, bytes) else text)
                    if score >= cutoff:
                        hits.append(FuzzyMatch((path, score)))
        except (RedisError, OSError) as exc:
            raise self._error("fuzzy search", exc) from None
        hits.sort(key=lambda m: (-m.score, m.path))
        return hits[:limit]

    async def close(self) -> None:
        if self._owned:
            await self.client.aclose()

    async def drop(self) -> None:
        """Delete this namespace's keys (tests, teardown)."""
        try:
            refs = [k async for k in self.client.scan_iter(match=f"{self.prefix}:refs:*")]
            await self.client.delete(self._entries, self._paths, self._fuzzy, self._indirect, *refs)
        except (RedisError, OSError) as exc:
            raise self._error("drop namespace", exc) from None

    # -- internals -----------------------------------------------------------------------------
    async def _range(self, prefix: str, zset: str | None = None) -> AsyncIterator[str]:
        """Members of ``zset`` (the paths) starting with ``prefix``, in order, in batches."""
        zset = zset or self._paths
        low = b"[" + prefix.encode() if prefix else b"-"
        high = b"(" + prefix.encode() + b"\xff" if prefix else b"+"
        offset = 0
        while True:
            try:
                batch = await self.client.zrangebylex(zset, low, high, start=offset, num=_BATCH)
            except (RedisError, OSError) as exc:
                raise self._error("list namespace paths", exc) from None
            for raw in batch:
                yield raw.decode() if isinstance(raw, bytes) else raw
            if len(batch) < _BATCH:
                return
            offset += _BATCH

    def _not_found(self, path: str) -> XNotFoundError:
        return XNotFoundError(
            f"nothing is registered at namespace path {path!r} (Redis namespace {self.prefix!r})",
            details={"path": path},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"
