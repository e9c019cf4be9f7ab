"""``SecureRepo``: access control, audit, caching and statistics around any repository.

``SecureRepo(inner, acl=..., audit=..., cache=...)`` is itself an :class:`~xrepo.XRepo` over the
same model: its public operations are the shared ones of the base class, and its primitives
(``_select``, ``_insert``...) delegate to ``inner``'s. So every read and write goes through one
place where:

- the caller is resolved (:class:`~xrepo.acl.RoleResolver`) and the operation is allowed or
  refused (:class:`~xrepo.errors.XRepoPermissionError`, audited);
- the caller's row scope is ANDed into every filter (list, count, exists, find_one, distinct,
  read, update, delete) and put first in every pipeline, and into the foreign side of every
  ``$lookup``; hidden fields are refused in filters, sorts and pipelines and stripped from
  results; fields the caller may not write are refused;
- every write and every refusal leaves exactly one audit entry. Where the backend has
  transactions (SQL, MongoDB) the write and its entry commit together; elsewhere a write whose
  entry cannot be recorded under the ``"fail"`` policy is undone before the error is raised;
- reads are cached under keys that include the caller's access (roles, row scope, hidden
  fields), and every write invalidates the repository's entries, in every process sharing the
  cache;
- each operation's latency is recorded (:class:`~xrepo.stats.LatencyRecorder`), which
  :meth:`get_statistics` reports.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, PrivateAttr

from xobj_prototype import XObjPrototype
from xrepo.acl._binding import freeze_value
from xrepo.acl._policy import (
    ACLPolicy,
    BoundPolicy,
    Decision,
    LookupGrant,
    scope_fields,
)
from xrepo.acl.resolver import ContextResolver, Principal
from xrepo.audit.errors import XRepoAuditError
from xrepo.audit.logger import AuditLogger
from xrepo.audit.models import AuditEntry, AuditOutcome
from xrepo.cache.keys import CacheKey, validate_scope
from xrepo.cache.manager import CacheManager
from xrepo.compile import compile_predicate
from xrepo.errors import XRepoConfigurationError, XRepoError, XRepoPermissionError
from xrepo.query import Condition, Lookup, Node, SortKey, Stage, parse_sort
from xrepo.repos.base import Permission, RepoContext, Row, T, UpdateItem, XRepo
from xrepo.stats.latency import LatencyRecorder
from xrepo.stores import _ambient as ambient
from xrepo.stores._protocol import RowLayout

__all__ = ["SecureRepo", "metadata_components"]

R = TypeVar("R")

_WRITE_ACTIONS = frozenset(
    {"create", "bulk_create", "update", "bulk_update", "delete", "bulk_delete", "restore"}
)
_MAX_AUDIT_IDS = 1000


@dataclass
class _Call:
    """The state of one public operation (held in a context variable for the primitives)."""

    operation: str
    principal: Principal
    ctx: RepoContext
    decision: Decision | None
    captured: tuple[Any, dict[str, Any] | None] | None = None
    in_write: bool = False
    grants: dict[str, LookupGrant] = field(default_factory=dict)
    #: Output fields of an aggregate derived from hidden fields (stripped from its rows).
    tainted: frozenset[str] = frozenset()


_CALL: ContextVar[_Call | None] = ContextVar("xrepo_secure_call", default=None)
#: Set while a write runs: reads inside it (update reading back) bypass the cache.
_WRITING: ContextVar[bool] = ContextVar("xrepo_secure_writing", default=False)


_PRINCIPAL_CACHE = 4096
#: Cache keys remembered by their text (hashing is the costly part of a hit).
_KEY_MEMO = 4096
_ANONYMOUS = RepoContext()


class _CallScope:
    """The context manager of one public operation (a class: cheaper than a generator)."""

    __slots__ = (
        "call",
        "context",
        "operation",
        "permission",
        "repo",
        "started",
        "token",
        "user_id",
    )

    def __init__(
        self,
        repo: SecureRepo[Any],
        operation: str,
        permission: Permission,
        user_id: str | None,
        context: RepoContext | None,
    ) -> None:
        self.repo = repo
        self.operation = operation
        self.permission = permission
        self.user_id = user_id
        self.context = context
        self.started = 0.0
        self.token: Any = None
        self.call: _Call | None = None

    async def __aenter__(self) -> _Call:
        self.started = time.perf_counter()
        try:
            self.call = await self.repo._admit(
                self.operation, self.permission, self.user_id, self.context
            )
        except BaseException:
            self._record()
            raise
        self.token = _CALL.set(self.call)
        return self.call

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if isinstance(exc, XRepoPermissionError) and not getattr(exc, "_xrepo_audited", False):
                # A nested call (restore reading back) may have recorded this refusal already.
                assert self.call is not None
                await self.repo._deny(self.operation, self.call.principal, str(exc))
                exc._xrepo_audited = True  # type: ignore[attr-defined]
        finally:
            _CALL.reset(self.token)
            self._record()

    def _record(self) -> None:
        latency: LatencyRecorder = self.repo._p["_latency"]
        latency.record(self.operation, (time.perf_counter() - self.started) * 1000.0)


class SecureRepo(XRepo[T]):
    """A repository with access control, audit, caching and statistics around ``inner``.

    Args:
        inner: any repository (SQL, MongoDB, file, in memory, a view).
        acl: an :class:`~xrepo.acl.ACLPolicy` (or a list of rules); ``None``: everyone may do
            everything (audit, cache and statistics still apply).
        audit: an :class:`~xrepo.audit.AuditLogger` recording every write and every refusal.
        cache: a :class:`~xrepo.cache.CacheManager` for reads; ``cache_ttl`` seconds per entry.
        latency: the :class:`~xrepo.stats.LatencyRecorder` (a new one by default).

    What is not given comes from ``inner.metadata``, as :meth:`XRepoFactory.create` does it
    (:func:`metadata_components`): ``enable_audit`` gives an in-memory audit log of
    ``audit_max_entries`` entries, ``cache_enabled`` a memory cache of ``cache_ttl`` seconds,
    ``enable_statistics=False`` a latency recorder that keeps nothing.

    Examples:
        >>> repo = SecureRepo(users, acl=ACLPolicy(rules), audit=AuditLogger(sink))
        >>> await repo.list({"city": "Oslo"}, user_id="u1")   # scoped, hidden fields stripped
    """

    backend = "secure"

    _inner: XRepo[T] = PrivateAttr()
    _acl: ACLPolicy | None = PrivateAttr(default=None)
    _bound: BoundPolicy | None = PrivateAttr(default=None)
    _audit: AuditLogger | None = PrivateAttr(default=None)
    _cache: CacheManager | None = PrivateAttr(default=None)
    _cache_ttl: float | None = PrivateAttr(default=None)
    _cache_scope: str = PrivateAttr(default="")
    _latency: LatencyRecorder = PrivateAttr()
    _resolver: Any = PrivateAttr()
    _write_lock: asyncio.Lock = PrivateAttr()
    _principals: dict[Any, tuple[Principal, RepoContext]] = PrivateAttr(default_factory=dict)
    _keys: dict[str, CacheKey] = PrivateAttr(default_factory=dict)

    def __init__(
        self,
        inner: XRepo[T],
        *,
        acl: ACLPolicy | Sequence[Any] | None = None,
        audit: AuditLogger | None = None,
        cache: CacheManager | None = None,
        cache_ttl: float | None = None,
        latency: LatencyRecorder | None = None,
    ) -> None:
        if not isinstance(inner, XRepo):
            raise XRepoConfigurationError(
                f"SecureRepo wraps a repository, got {type(inner).__name__}"
            )
        if isinstance(inner, SecureRepo):
            raise XRepoConfigurationError(
                "this repository is secured already; configure the existing SecureRepo",
                repo=inner.name,
            )
        super().__init__(
            model_class=inner.model_class,
            store=_InnerStore(inner),
            metadata=inner.metadata,
            schema=inner.schema_,
            limits=inner._limits,
            ns=inner.ns,
        )
        self._inner = inner
        if acl is not None and not isinstance(acl, ACLPolicy):
            if isinstance(acl, Sequence) and not isinstance(acl, str | bytes):
                acl = ACLPolicy(acl)
            else:
                raise XRepoConfigurationError(
                    f"acl must be an ACLPolicy or a list of ACLRule, got {type(acl).__name__}",
                    repo=inner.name,
                )
        if audit is not None and not isinstance(audit, AuditLogger):
            raise XRepoConfigurationError(
                f"audit must be an AuditLogger, got {type(audit).__name__}", repo=inner.name
            )
        if cache is not None and not isinstance(cache, CacheManager):
            raise XRepoConfigurationError(
                f"cache must be a CacheManager, got {type(cache).__name__}", repo=inner.name
            )
        audit, cache, cache_ttl, latency = metadata_components(
            inner, audit=audit, cache=cache, cache_ttl=cache_ttl, latency=latency
        )
        self._acl = acl
        self._bound = (
            acl.bind(self.fields, repo=self.name, limits=self._limits) if acl is not None else None
        )
        self._resolver = acl.resolver if acl is not None else ContextResolver()
        self._audit = audit
        self._cache = cache
        self._cache_ttl = cache_ttl
        if cache is not None:
            self._cache_scope = validate_scope(self.name)
        self._latency = latency
        self._write_lock = asyncio.Lock()

    def _initialize_components(self) -> None:
        # The audit, cache and latency of a SecureRepo are its own (see __init__), never the
        # base class's: metadata_components turns the metadata's options into them.
        return

    # -- identity ------------------------------------------------------------------------------
    @property
    def inner(self) -> XRepo[T]:
        """The wrapped repository."""
        return self._inner

    @property
    def acl(self) -> ACLPolicy | None:
        """The access policy, if any."""
        return self._acl

    @property
    def audit_logger(self) -> AuditLogger | None:
        """The audit logger, if any."""
        return self._audit

    @property
    def cache(self) -> CacheManager | None:
        """The read cache, if any."""
        return self._cache

    @property
    def latency(self) -> LatencyRecorder:
        """Per-operation latency of this repository."""
        return self._latency

    # -- the call ------------------------------------------------------------------------------
    def _call(
        self,
        operation: str,
        permission: Permission,
        user_id: str | None,
        context: RepoContext | None,
    ) -> _CallScope:
        """``async with self._call(...) as call``: admit the caller, time the operation."""
        return _CallScope(self, operation, permission, user_id, context)

    async def _admit(
        self,
        operation: str,
        permission: Permission,
        user_id: str | None,
        context: RepoContext | None,
    ) -> _Call:
        """Resolve the caller and decide; a refusal is audited and raised."""
        p = self._p
        if context is None and user_id is None:
            raw = _ANONYMOUS
        elif type(context) is RepoContext:
            raw = context
        else:
            raw = self._context(user_id, context)
        resolver = p["_resolver"]
        cacheable = getattr(resolver, "deterministic", False)
        key: Any = None
        resolved: tuple[Principal, RepoContext] | None = None
        if cacheable:
            key = (raw.user_id, raw.roles, raw.request_id, freeze_value(raw.attributes))
            resolved = p["_principals"].get(key)
        if resolved is None:
            try:
                principal = await resolver.resolve(raw)
            except XRepoPermissionError as exc:
                await self._deny(operation, Principal(user_id=raw.user_id), str(exc))
                unknown = XRepoPermissionError(
                    "the caller could not be identified", repo=self.name, operation=operation
                )
                unknown._xrepo_audited = True  # type: ignore[attr-defined]
                raise unknown from None
            resolved = (principal, principal.context())
            if cacheable:
                principals = p["_principals"]
                if len(principals) >= _PRINCIPAL_CACHE:
                    principals.pop(next(iter(principals)))
                principals[key] = resolved
        principal, ctx = resolved
        decision: Decision | None = None
        bound: BoundPolicy | None = p["_bound"]
        if bound is not None:
            decision = bound.decide(principal, permission)
            if decision is None:
                message = f"the caller may not {permission.value} in this repository"
                await self._deny(operation, principal, message)
                refused = XRepoPermissionError(message, repo=self.name, operation=operation)
                refused._xrepo_audited = True  # type: ignore[attr-defined]
                raise refused
        return _Call(operation, principal, ctx, decision)

    async def _deny(self, operation: str, principal: Principal, message: str) -> None:
        """Record a refusal (one entry); an unwritable entry never hides the refusal."""
        await self._log_outcome(operation, principal, "denied", message)

    async def _log_outcome(
        self,
        operation: str,
        principal: Principal,
        outcome: AuditOutcome,
        error: str,
        entity_id: str | None = None,
    ) -> None:
        """One entry for a refusal or a failed write; an unwritable entry is not raised (the
        caller raises the refusal or failure itself, which the entry must never hide)."""
        if self._audit is None:
            return
        entry = AuditEntry(
            action=operation,
            user_id=principal.user_id,
            roles=tuple(sorted(principal.roles)),
            repo=self.name,
            entity=self.model_class.__name__,
            entity_id=entity_id,
            outcome=outcome,
            error=error,
            request_id=principal.request_id,
        )
        with contextlib.suppress(XRepoAuditError):
            await self._audit.log(entry)

    # -- seams of the base class ---------------------------------------------------------------
    async def _check_permission(
        self, permission: Permission, context: RepoContext, data: Mapping[str, Any] | None = None
    ) -> None:
        return  # decided once per call in _call()

    def _scope_filter(self, permission: Permission, context: RepoContext) -> Node | None:
        call = _CALL.get()
        if call is None or call.decision is None:
            return None
        if call.decision.permission is permission:
            return call.decision.scope
        # A nested step (update reading back its record): the same caller, another permission.
        assert self._bound is not None
        other = self._bound.decide(call.principal, permission)
        if other is None:
            raise XRepoPermissionError(
                f"the caller may not {permission.value} in this repository",
                repo=self.name,
                operation=call.operation,
            )
        return other.scope

    async def _audit_operation(
        self,
        operation: str,
        context: RepoContext,
        entity_id: Any = None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        call = _CALL.get()
        if call is not None:
            call.captured = (entity_id, dict(changes) if changes is not None else None)

    async def _update_stats(self, operation: str, duration_ms: float) -> None:
        return  # recorded once per call in _call(), refusals and errors included

    def _filter(
        self,
        filters: Mapping[str, Any] | None,
        operation: str,
        permission: Permission,
        context: RepoContext,
        *,
        include_deleted: bool = False,
    ) -> Node:
        # Parsed by the inner repository: a view understands its per-source filter keys. Its
        # own restrictions are left out here (include_deleted) and added below, with the scope.
        node = self._inner._filter(filters, operation, permission, context, include_deleted=True)
        call = _CALL.get()
        if call is not None and call.decision is not None:
            ACLPolicy.check_node(node, call.decision.hidden, operation, self.name)
        return self._restrict(node, permission, context, include_deleted=include_deleted)

    def _sort(self, sort: Any, operation: str) -> tuple[SortKey, ...]:
        call = _CALL.get()
        if call is not None and call.decision is not None and call.decision.hidden:
            keys = parse_sort(sort, fields=set(self._fields), repo=self.name, operation=operation)
            ACLPolicy.check_paths(
                (p for p, _ in keys), call.decision.hidden, operation, self.name, "to sort"
            )
        return super()._sort(sort, operation)

    # -- primitives: the inner repository's, through the cache -------------------------------
    @property
    def _p(self) -> dict[str, Any]:
        # Pydantic serves private attributes through __getattr__, which is slow on hot paths;
        # the dict itself is a plain attribute.
        private: dict[str, Any] = self.__pydantic_private__  # type: ignore[assignment]
        return private

    async def _cached(self, operation: str, args: Any, loader: Callable[[], Awaitable[R]]) -> R:
        p = self._p
        cache: CacheManager | None = p["_cache"]
        call = _CALL.get()
        if cache is None or call is None or call.in_write or _WRITING.get() or ambient.active():
            return await loader()
        fingerprint = call.decision.fingerprint_text if call.decision is not None else ""
        # The digest covers the compiled query, with the caller's row scope inside it, and the
        # caller's access (roles, scope, hidden fields): different access, different entry.
        material = f"{operation}\x00{args!r}\x00{fingerprint}"
        keys: dict[str, CacheKey] = p["_keys"]
        key = keys.get(material)
        if key is None:
            key = CacheKey.model_construct(
                scope=p["_cache_scope"], digest=hashlib.sha256(material.encode()).hexdigest()
            )
            if len(keys) >= _KEY_MEMO:
                keys.pop(next(iter(keys)))
            keys[material] = key
        return await cache.get_or_set(key, loader, p["_cache_ttl"])

    async def _select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        inner = self._p["_inner"]
        return await self._cached(
            "select",
            (node, tuple(sort), skip, limit),
            lambda: inner._select(node, sort, skip, limit),
        )

    async def _count(self, node: Node) -> int:
        inner = self._p["_inner"]
        return await self._cached("count", node, lambda: inner._count(node))

    async def _distinct(self, path: str, node: Node) -> list[Any]:
        inner = self._p["_inner"]
        return await self._cached("distinct", (path, node), lambda: inner._distinct(path, node))

    async def _aggregate(self, stages: list[Stage]) -> list[Row]:
        inner = self._p["_inner"]
        return await self._cached("aggregate", tuple(stages), lambda: inner._aggregate(stages))

    async def _insert(self, rows: list[Row]) -> list[Row]:
        call = _CALL.get()
        if call is not None and call.decision is not None and call.decision.scope is not None:
            matches = compile_predicate(call.decision.scope, array_fields=self._array_fields)
            for i, row in enumerate(rows):
                if not matches(row):
                    raise XRepoPermissionError(
                        "the record lies outside the rows the caller may create"
                        + (f" (item {i})" if len(rows) > 1 else ""),
                        repo=self.name,
                        operation=call.operation,
                        item=i if len(rows) > 1 else None,
                    )
        return await self._inner._insert(rows)

    async def _update_where(self, batch: list[UpdateItem]) -> list[int]:
        call = _CALL.get()
        if call is not None and call.decision is not None:
            # The scope of the call's own permission (a soft delete is an update of deleted_at
            # by a caller who may delete, not necessarily update).
            scope = call.decision.scope
            watched = scope_fields(scope)
            if scope is not None and any(watched & set(changes) for _, changes, _ in batch):
                # The change touches what decides the caller's rows: the record must stay in.
                matches = compile_predicate(scope, array_fields=self._array_fields)
                for i, (node, changes, _) in enumerate(batch):
                    for row in await self._inner._select(node, (), 0, None):
                        merged = {**self._dump(self._to_model(row)), **changes}
                        if not matches(merged):
                            raise XRepoPermissionError(
                                "the change would move the record outside the caller's rows",
                                repo=self.name,
                                operation=call.operation,
                                item=i if len(batch) > 1 else None,
                            )
        return await self._inner._update_where(batch)

    async def _delete_where(self, node: Node) -> int:
        return await self._inner._delete_where(node)

    # -- results -------------------------------------------------------------------------------
    def _restricted(self) -> type[BaseModel] | None:
        """The model a reading caller with hidden fields gets (``None``: the full model)."""
        call = _CALL.get()
        if call is None or call.in_write:
            return None
        decision = call.decision
        if decision is None or not decision.hidden:
            return None
        acl: ACLPolicy = self._p["_acl"]
        return acl.restricted_model(self.model_class, decision.hidden)

    def _to_models(self, rows: Sequence[Mapping[str, Any]]) -> builtins.list[T]:
        restricted = self._restricted()
        if restricted is None:
            return super()._to_models(rows)
        # Validated straight into the restricted model: hidden values are dropped before
        # validation, so they never sit in an object the caller holds. (Hot path: lookups
        # hoisted, pydantic private attributes read once.)
        if self._json_fields:
            full = super()._to_model
            names = tuple(restricted.model_fields)
            made: builtins.list[Any] = [
                restricted.model_validate({n: getattr(m, n) for n in names})
                for m in map(full, rows)
            ]
            return made
        keep = frozenset(restricted.model_fields)
        validate = restricted.model_validate
        out: builtins.list[Any] = [
            validate({k: v for k, v in r.items() if k in keep}) for r in rows
        ]
        return out

    def _to_model(self, row: Mapping[str, Any]) -> T:
        if self._restricted() is None:
            return super()._to_model(row)
        return self._to_models([row])[0]

    def _visible(self, models: list[T], call: _Call) -> list[T]:
        decision = call.decision
        if decision is None or not decision.hidden or self._acl is None:
            return models
        restricted = self._acl.restricted_model(self.model_class, decision.hidden)
        names = list(restricted.model_fields)
        out: list[Any] = []
        for m in models:
            if type(m) is restricted:
                out.append(m)
                continue
            values = {n: getattr(m, n) for n in names}
            out.append(restricted.model_construct(_fields_set=set(names), **values))
        return out

    def _visible_one(self, model: T | None, call: _Call) -> T | None:
        if model is None:
            return None
        return self._visible([model], call)[0]

    # -- reads ---------------------------------------------------------------------------------
    async def read(
        self,
        id: Any,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> T | None:
        """The record with this id, if the caller may read it (else ``None``)."""
        async with self._call("read", Permission.READ, user_id, context) as call:
            if self._p["_cache"] is None or type(id) not in (int, str):
                found = await super().read(id, context=call.ctx, include_deleted=include_deleted)
                return self._visible_one(found, call)

            # The hot path of a cached read: the key is the id as given (an int and its string
            # are distinct entries), so a hit skips building the filter; a miss builds it.
            def load() -> Awaitable[list[Row]]:
                node = self._restrict(
                    self._id_node(id, "read"),
                    Permission.READ,
                    call.ctx,
                    include_deleted=include_deleted,
                )
                return self._p["_inner"]._select(node, (), 0, 1)  # type: ignore[no-any-return]

            rows = await self._cached("read", (id, include_deleted), load)
            return self._visible_one(self._to_model(rows[0]) if rows else None, call)

    async def exists(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> bool:
        """Whether a record with this id exists among the caller's rows."""
        async with self._call("exists", Permission.READ, user_id, context) as call:
            return await super().exists(id, context=call.ctx)

    async def list(
        self,
        filters: Mapping[str, Any] | None = None,
        skip: int = 0,
        limit: int | None = 100,
        sort: Any = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> builtins.list[T]:
        """The caller's records matching ``filters`` (hidden fields removed)."""
        async with self._call("list", Permission.LIST, user_id, context) as call:
            found = await super().list(
                filters, skip, limit, sort, context=call.ctx, include_deleted=include_deleted
            )
            return self._visible(found, call)

    async def find_one(
        self,
        filters: Mapping[str, Any],
        user_id: str | None = None,
        *,
        sort: Any = None,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> T | None:
        """The first of the caller's records matching ``filters``."""
        async with self._call("find_one", Permission.READ, user_id, context) as call:
            found = await super().find_one(
                filters, sort=sort, context=call.ctx, include_deleted=include_deleted
            )
            return self._visible_one(found, call)

    async def count(
        self,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> int:
        """How many of the caller's records match ``filters``."""
        async with self._call("count", Permission.LIST, user_id, context) as call:
            return await super().count(filters, context=call.ctx, include_deleted=include_deleted)

    async def distinct(
        self,
        field: str,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> builtins.list[Any]:
        """Distinct values of a field the caller may read, among the caller's records."""
        async with self._call("distinct", Permission.LIST, user_id, context) as call:
            if call.decision is not None and isinstance(field, str):
                ACLPolicy.check_paths(
                    [field], call.decision.hidden, "distinct", self.name, "in distinct"
                )
            return await super().distinct(
                field, filters, context=call.ctx, include_deleted=include_deleted
            )

    async def aggregate(
        self,
        pipeline: Sequence[Mapping[str, Any]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> builtins.list[dict[str, Any]]:
        """Run a pipeline over the caller's records only (the row scope is the first stage,
        and restricts every ``$lookup``'s foreign side); hidden fields may not be used."""
        async with self._call("aggregate", Permission.LIST, user_id, context) as call:
            rows = await super().aggregate(
                pipeline, context=call.ctx, include_deleted=include_deleted
            )
            return ACLPolicy.strip(rows, call.tainted)

    def _lookup_sources(self) -> frozenset[str] | None:
        # The inner repository's declaration, plus what the policy opens: listing a collection
        # in ACLPolicy(lookups={...}) is an explicit choice too (and restricts its rows).
        declared = self._inner._lookup_sources()
        if declared is None or self._acl is None:
            return declared
        return declared | frozenset(self._acl.lookups)

    def _check_stages(self, stages: builtins.list[Stage]) -> builtins.list[Stage]:
        # Hidden fields may not be used; each $lookup's foreign side gets the caller's scope
        # there. What the pipeline derived from hidden fields is remembered for strip().
        call = _CALL.get()
        if call is None or call.decision is None or self._acl is None:
            return stages
        grants = {
            s.source: self._acl.lookup_grant(s.source, call.principal)
            for s in stages
            if isinstance(s, Lookup)
        }
        call.grants = grants
        call.tainted = self._acl.check_pipeline(stages, call.decision.hidden, grants, self.name)
        return [_scoped_lookup(s, grants, self.name) for s in stages]

    # -- writes --------------------------------------------------------------------------------
    def _input_keys(self, data: Any) -> builtins.list[str]:
        if isinstance(data, BaseModel):
            keys = builtins.list(data.model_fields_set)
        elif isinstance(data, Mapping):
            keys = [k for k in data if isinstance(k, str)]
        else:
            return []
        version = self.metadata.version_field
        return [k for k in keys if k in self._fields and k != version]

    def _check_write(self, call: _Call, data: Any, item: int | None = None) -> None:
        """Refuse input naming fields the caller may not write (with an ACL)."""
        if call.decision is not None and self._acl is not None:
            self._acl.check_write(
                self._input_keys(data), call.decision, call.operation, self.name, item
            )

    def _valid_ids(self, values: Iterable[Any], operation: str) -> builtins.list[Any]:
        """The valid ids among ``values``, for the before-images of a batch (the write itself
        names the invalid ones)."""
        ids: builtins.list[Any] = []
        for x in values:
            with contextlib.suppress(XRepoError):
                ids.append(self._check_id(x, operation))
        return ids

    async def create(
        self,
        data: T | Mapping[str, Any],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> T:
        """Store one record the caller may create (its fields writable, inside its rows)."""
        async with self._call("create", Permission.CREATE, user_id, context) as call:
            self._check_write(call, data)
            created = await self._write(
                call, [], lambda: XRepo.create(self, data, context=call.ctx)
            )
            return self._visible_one(created, call)  # type: ignore[return-value]

    async def bulk_create(
        self,
        data: Sequence[T | Mapping[str, Any]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> builtins.list[T]:
        """Store many records atomically, all within what the caller may create."""
        async with self._call("bulk_create", Permission.CREATE, user_id, context) as call:
            if self._is_batch(data):
                for i, item in enumerate(data):
                    self._check_write(call, item, i)
            created = await self._write(
                call, [], lambda: XRepo.bulk_create(self, data, context=call.ctx)
            )
            return self._visible(created, call)

    async def update(
        self,
        id: Any,
        data: Mapping[str, Any],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> T | None:
        """Change writable fields of one of the caller's records (``None``: not found)."""
        async with self._call("update", Permission.UPDATE, user_id, context) as call:
            self._check_write(call, data)
            ids = [self._check_id(id, "update")]
            updated = await self._write(
                call, ids, lambda: XRepo.update(self, id, data, context=call.ctx)
            )
            return self._visible_one(updated, call)

    async def bulk_update(
        self,
        updates: Sequence[tuple[Any, Mapping[str, Any]]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> int:
        """Apply ``(id, changes)`` pairs to the caller's records, atomically."""
        async with self._call("bulk_update", Permission.UPDATE, user_id, context) as call:
            pairs = (
                [
                    (i, pair)
                    for i, pair in enumerate(updates)
                    if isinstance(pair, tuple | builtins.list) and len(pair) == 2
                ]
                if self._is_batch(updates)
                else []
            )
            for i, pair in pairs:
                self._check_write(call, pair[1], i)
            ids = self._valid_ids((pair[0] for _, pair in pairs), "bulk_update")
            return await self._write(
                call, ids, lambda: XRepo.bulk_update(self, updates, context=call.ctx)
            )

    async def delete(
        self,
        id: Any,
        soft: bool | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> bool:
        """Delete one of the caller's records."""
        async with self._call("delete", Permission.DELETE, user_id, context) as call:
            ids = [self._check_id(id, "delete")]
            n = await self._write(
                call,
                ids,
                lambda: XRepo.bulk_delete(
                    self, [id], soft=soft, context=call.ctx, _operation="delete"
                ),
            )
            return n == 1

    async def bulk_delete(
        self,
        ids: Sequence[Any],
        soft: bool | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        _operation: str = "bulk_delete",
    ) -> int:
        """Delete many of the caller's records in one atomic statement."""
        async with self._call(_operation, Permission.DELETE, user_id, context) as call:
            checked = self._valid_ids(ids if self._is_batch(ids) else (), _operation)
            return await self._write(
                call,
                checked,
                lambda: XRepo.bulk_delete(
                    self, ids, soft=soft, context=call.ctx, _operation=_operation
                ),
            )

    async def restore(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> T | None:
        """Undo a soft delete of one of the caller's records."""
        async with self._call("restore", Permission.UPDATE, user_id, context) as call:
            ids = [self._check_id(id, "restore")]
            restored = await self._write(
                call, ids, lambda: XRepo.restore(self, id, context=call.ctx)
            )
            return self._visible_one(restored, call)

    # -- the audited write ---------------------------------------------------------------------
    async def _write(
        self, call: _Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        """Run a write with its audit entry: together in one transaction where the backend
        has them, else undone when the entry cannot be recorded under the 'fail' policy."""
        call.in_write = True
        writing = _WRITING.set(True)
        try:
            if self._audit is None:
                return await run()
            if self._audit.policy == "buffer":
                # The operation goes on whatever the sink does: the entry waits in the buffer.
                return await self._write_buffered(call, ids, run)
            tx = await ambient.transaction_for(self._inner.store, self._audit)
            if tx is not None:
                return await self._write_in_transaction(call, ids, run, tx)
            return await self._write_compensated(call, ids, run)
        finally:
            call.in_write = False
            _WRITING.reset(writing)
            if self._cache is not None:
                # Invalidate whatever happened: a failed write may have been half-applied by
                # a backend without transactions, and stale entries are worse than misses.
                await self._cache.delete_prefix(self.name)

    async def _write_buffered(
        self, call: _Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        assert self._audit is not None
        before = await self._before_images(call, ids)
        result = await self._run_logged(call, ids, run)
        await self._audit.log(self._entry(call, result, before))
        return result

    async def _run_logged(
        self, call: _Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        """Run the write; a failure other than a refusal leaves its 'failure' entry."""
        try:
            return await run()
        except XRepoPermissionError:
            raise
        except Exception as exc:
            await self._log_failure(call, ids, exc)
            raise

    async def _write_in_transaction(
        self,
        call: _Call,
        ids: builtins.list[Any],
        run: Callable[[], Awaitable[R]],
        tx: ambient.TransactionFactory,
    ) -> R:
        assert self._audit is not None
        try:
            async with tx() as (executor, write_options):
                before = await self._before_images(call, ids)
                result = await run()
                entry = self._entry(call, result, before)
                await self._audit.log(entry, **write_options)
                _ = executor
        except XRepoPermissionError:
            raise
        except XRepoAuditError:
            raise
        except Exception as exc:
            await self._log_failure(call, ids, exc)
            raise
        return result

    async def _write_compensated(
        self, call: _Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        assert self._audit is not None
        async with self._write_lock:
            before = await self._before_images(call, ids)
            result = await self._run_logged(call, ids, run)
            entry = self._entry(call, result, before)
            try:
                await self._audit.log(entry)
            except XRepoAuditError:
                await self._undo(call, result, before)
                raise
            return result

    async def _before_images(self, call: _Call, ids: builtins.list[Any]) -> builtins.list[Row]:
        if not ids or self._audit is None:
            return []
        rows = await self._inner._select(
            Condition(self.id_field, "in", tuple(dict.fromkeys(ids))), (), 0, None
        )
        return [self._dump(self._to_model(r)) for r in rows]

    async def _undo(self, call: _Call, result: Any, before: builtins.list[Row]) -> None:
        """Put back what a write changed (no transaction: the audit entry failed)."""
        op = call.operation
        if op in ("create", "bulk_create"):
            created = result if isinstance(result, builtins.list) else [result]
            keys = [getattr(m, self.id_field) for m in created if m is not None]
            if keys:
                await self._inner._delete_where(Condition(self.id_field, "in", tuple(keys)))
            return
        present = (
            {
                r[self.id_field]
                for r in await self._inner._select(
                    Condition(self.id_field, "in", tuple(r[self.id_field] for r in before)),
                    (),
                    0,
                    None,
                )
            }
            if before
            else set()
        )
        missing = [r for r in before if r[self.id_field] not in present]
        if missing:
            await self._inner._insert(missing)
        batch: builtins.list[UpdateItem] = [
            (
                Condition(self.id_field, "eq", r[self.id_field]),
                {k: v for k, v in r.items() if k != self.id_field},
                None,
            )
            for r in before
            if r[self.id_field] in present
        ]
        if batch:
            await self._inner._update_where(batch)

    def _secret_fields(self) -> frozenset[str]:
        model = self.model_class
        if issubclass(model, XObjPrototype):
            return model.secret_fields()
        return frozenset()

    def _entry(self, call: _Call, result: Any, before: builtins.list[Row]) -> AuditEntry:
        op = call.operation
        entity_id: Any = None
        old: Mapping[str, Any] | None = None
        new: Mapping[str, Any] | None = None
        metadata: dict[str, Any] = {}
        captured_id, captured = call.captured if call.captured is not None else (None, None)
        if op == "create":
            entity_id = captured_id
            new = captured
        elif op == "bulk_create":
            created = result if isinstance(result, builtins.list) else []
            keys = [getattr(m, self.id_field, None) for m in created]
            metadata = {"count": len(created), "ids": keys[:_MAX_AUDIT_IDS]}
        elif op in ("update", "restore"):
            entity_id = (
                captured_id
                if captured_id is not None
                else (before[0][self.id_field] if before else None)
            )
            if isinstance(result, BaseModel):
                old = before[0] if before else None
                new = self._dump(result)
            else:
                metadata = {"matched": 0}  # not found among the caller's rows: nothing changed
        elif op == "bulk_update":
            metadata = {"count": result, "ids": [r[self.id_field] for r in before][:_MAX_AUDIT_IDS]}
        else:  # delete, bulk_delete
            if captured is not None:
                metadata = {
                    "count": result,
                    "ids": builtins.list(captured.get("ids", ()))[:_MAX_AUDIT_IDS],
                    "soft": captured.get("soft"),
                }
            else:
                metadata = {"count": result}
            entity_id = captured_id
            if op == "delete" and before:
                old = before[0]
        if isinstance(entity_id, bool | Mapping | builtins.list | tuple):
            entity_id = None
        return AuditEntry.for_operation(
            op,
            before=old,
            after=new,
            secret_fields=self._secret_fields(),
            user_id=call.principal.user_id,
            roles=tuple(sorted(call.principal.roles)),
            repo=self.name,
            entity=self.model_class.__name__,
            entity_id=entity_id,
            request_id=call.principal.request_id,
            metadata=metadata,
        )

    async def _log_failure(self, call: _Call, ids: builtins.list[Any], exc: Exception) -> None:
        """One entry for a write that failed (nothing was written)."""
        await self._log_outcome(
            call.operation,
            call.principal,
            "failure",
            f"{type(exc).__name__}: {exc}",
            str(ids[0]) if len(ids) == 1 else None,
        )

    # -- administration ------------------------------------------------------------------------
    async def _admin(
        self, operation: str, user_id: str | None, context: RepoContext | None
    ) -> None:
        if self._bound is None:
            return
        async with self._call(operation, Permission.ADMIN, user_id, context):
            return

    async def get_audit_log(
        self,
        filters: Mapping[str, Any] | None = None,
        limit: int = 100,
        *,
        user_id: str | None = None,
        context: RepoContext | None = None,
    ) -> builtins.list[AuditEntry]:
        """This repository's audit entries, newest first (``admin`` permission with an ACL)."""
        if self._audit is None:
            raise XRepoConfigurationError(
                "auditing is off for this repository (RepoMetadata.enable_audit=False); "
                "enable it, or give it an audit logger: SecureRepo(repo, audit=AuditLogger(sink))",
                repo=self.name,
                operation="get_audit_log",
            )
        await self._admin("get_audit_log", user_id, context)
        return await self._audit.get_audit_log(
            {**dict(filters or {}), "repo": self.name}, limit=limit
        )

    async def get_statistics(
        self,
        *,
        user_id: str | None = None,
        context: RepoContext | None = None,
        cardinality_fields: Sequence[str] | None = None,
    ) -> Any:
        """The spec's ``RepoStats`` (``admin`` permission with an ACL)."""
        from xrepo.stats.repo_stats import collect_statistics

        await self._admin("get_statistics", user_id, context)
        return await collect_statistics(
            self._inner,
            latency=self._latency,
            audit=self._audit,
            cardinality_fields=cardinality_fields,
        )


def metadata_components(
    repo: XRepo[Any],
    *,
    audit: AuditLogger | None = None,
    cache: CacheManager | None = None,
    cache_ttl: float | None = None,
    latency: LatencyRecorder | None = None,
) -> tuple[AuditLogger | None, CacheManager | None, float | None, LatencyRecorder]:
    """The audit logger, cache, cache TTL and latency recorder of a :class:`SecureRepo` around
    ``repo``: those given, the rest from ``repo.metadata`` (the one place that does this, for
    ``SecureRepo(...)`` and ``XRepoFactory.create(...)`` alike).

    - ``enable_audit`` without ``audit``: an ``AuditLogger`` over a
      ``MemoryAuditSink(audit_max_entries)``, policy ``"buffer"`` (the bounded memory sink never
      fails, so "buffer" only saves the lock the "fail" policy takes around writes without a
      transaction);
    - ``cache_enabled`` without ``cache``: the repository's own memory cache (``repo.cache``),
      entries kept ``cache_ttl`` seconds (also for a ``cache`` given when the metadata sets
      ``cache_ttl``);
    - ``enable_statistics=False`` without ``latency``: a recorder that keeps nothing.

    Raises:
        XRepoConfigurationError: a component given that the metadata explicitly switches off
            (``audit`` with ``enable_audit=False``...), ``cache_ttl`` without a cache, or a
            ``cache_ttl`` that is not a positive number.
    """
    m = repo.metadata
    explicit = m.model_fields_set
    if latency is not None and not isinstance(latency, LatencyRecorder):
        raise XRepoConfigurationError(
            f"latency must be a LatencyRecorder, got {type(latency).__name__}", repo=m.name
        )
    # An explicit "off" in the metadata and an explicit component contradict each other.
    for name, given, flag in (
        ("audit", audit, "enable_audit"),
        ("cache", cache, "cache_enabled"),
        ("latency", latency, "enable_statistics"),
    ):
        if given is not None and flag in explicit and not getattr(m, flag):
            raise XRepoConfigurationError(
                f"{name}= was given but the metadata says {flag}=False; drop one of them",
                repo=m.name,
            )
    if audit is None and m.enable_audit:
        from xrepo.audit.memory import MemoryAuditSink

        audit = AuditLogger(MemoryAuditSink(m.audit_max_entries), policy="buffer")
    if cache is None and m.cache_enabled:
        cache = repo.cache or CacheManager.memory(default_ttl=m.cache_ttl)
    if cache_ttl is not None:
        if isinstance(cache_ttl, bool) or not isinstance(cache_ttl, int | float) or cache_ttl <= 0:
            raise XRepoConfigurationError(
                f"cache_ttl must be a positive number of seconds, got {cache_ttl!r}", repo=m.name
            )
        if cache is None:
            raise XRepoConfigurationError(
                "cache_ttl= was given without a cache; pass cache=CacheManager.memory() (or "
                "another CacheManager) or set RepoMetadata.cache_enabled=True",
                repo=m.name,
            )
    elif cache is not None and (m.cache_enabled or "cache_ttl" in explicit):
        cache_ttl = m.cache_ttl
    if latency is None:
        latency = LatencyRecorder(enabled=m.enable_statistics)
    return audit, cache, cache_ttl, latency


class _InnerStore:
    """The wrapped repository's primitives as a store (what ``SecureRepo.store`` answers)."""

    def __init__(self, inner: XRepo[Any]) -> None:
        self._inner = inner
        self.backend = inner.store.backend

    def bind(self, layout: RowLayout) -> None:
        return  # the inner repository's store is bound already

    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> builtins.list[Row]:
        return await self._inner._select(node, sort, skip, limit)

    async def count(self, node: Node) -> int:
        return await self._inner._count(node)

    async def distinct(self, path: str, node: Node) -> builtins.list[Any]:
        return await self._inner._distinct(path, node)

    async def insert(self, rows: builtins.list[Row]) -> builtins.list[Row]:
        return await self._inner._insert(rows)

    async def update_where(self, batch: builtins.list[UpdateItem]) -> builtins.list[int]:
        return await self._inner._update_where(batch)

    async def delete_where(self, node: Node) -> int:
        return await self._inner._delete_where(node)

    async def aggregate(self, stages: builtins.list[Stage]) -> builtins.list[Row]:
        return await self._inner._aggregate(stages)

    async def supports_transactions(self) -> bool:
        return await self._inner.store.supports_transactions()

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._inner.store.transaction()


def _scoped_lookup(stage: Stage, grants: Mapping[str, LookupGrant], repo: str) -> Stage:
    """A ``$lookup`` whose foreign side is restricted to the caller's rows there."""
    if not isinstance(stage, Lookup):
        return stage
    grant = grants.get(stage.source)
    if grant is None or grant.scope is None:
        return stage
    names = {f.name for f in dataclasses.fields(stage)}
    if "where" not in names:
        raise XRepoPermissionError(
            f"$lookup into {stage.source!r} needs a row filter on the foreign side, which this "
            "version's pipeline compiler cannot apply",
            repo=repo,
            operation="aggregate",
        )
    return dataclasses.replace(stage, where=grant.scope)
