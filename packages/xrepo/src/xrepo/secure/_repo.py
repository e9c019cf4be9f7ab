"""``SecureRepo``: access control, audit, caching and statistics composed around a repository.

``SecureRepo(inner, acl=..., audit=..., cache=...)`` is an :class:`~xrepo.XRepo` over the same
model whose store is ``inner``'s (through ``inner``). Each public operation:

1. resolves the caller **once** into a principal and decides the operation
   (:class:`~xrepo.secure._call.Admission`; a refusal is audited and raised);
2. runs the repository's operation *as* that call (``_list_as(call, ...)``...), the call passed
   explicitly to every step, where the layers apply:

   - :class:`~xrepo.secure._access.AccessLayer`: the caller's row scope in every filter,
     pipeline and ``$lookup``; hidden fields refused in filters, sorts and pipelines and
     stripped from results; fields the caller may not write refused;
   - :class:`~xrepo.secure._cache.CacheLayer`: reads cached under keys that include the
     caller's access; every write invalidates the repository's entries;
   - :class:`~xrepo.secure._audit.AuditLayer`: every write and every refusal leaves exactly
     one entry (in the write's transaction where the store has them);
   - statistics: each operation's latency (:class:`~xrepo.stats.LatencyRecorder`), which
     :meth:`SecureRepo.get_statistics` reports with the store's figures.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from xrepo._context import Caller, Permission, RepoContext
from xrepo.acl import ACLPolicy, ContextResolver
from xrepo.audit import AuditEntry, AuditLogger
from xrepo.cache import CacheManager, validate_scope
from xrepo.errors import XRepoConfigurationError, XRepoError
from xrepo.query import Node, SortKey, Stage, parse_sort
from xrepo.repos import XRepo
from xrepo.secure._access import AccessLayer
from xrepo.secure._audit import AuditLayer
from xrepo.secure._cache import CacheLayer
from xrepo.secure._call import Admission, Call, CallScope
from xrepo.secure._components import metadata_components
from xrepo.secure._inner import InnerStore
from xrepo.stats import LatencyRecorder, RepoStats, collect_statistics
from xrepo.stores import Row, UpdateItem

__all__ = ["SecureRepo"]

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")


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
    (:func:`~xrepo.secure.metadata_components`): ``enable_audit`` gives an in-memory audit log
    of ``audit_max_entries`` entries, ``cache_enabled`` a memory cache of ``cache_ttl``
    seconds, ``enable_statistics=False`` a latency recorder that keeps nothing.

    Examples:
        >>> repo = SecureRepo(users, acl=ACLPolicy(rules), audit=AuditLogger(sink))
        >>> await repo.list({"city": "Oslo"}, user_id="u1")   # scoped, hidden fields stripped
    """

    backend = "secure"

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
            store=InnerStore(inner),
            metadata=inner.metadata,
            schema=inner.schema,
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
        bound = (
            acl.bind(self.fields, repo=self.name, limits=self._limits) if acl is not None else None
        )
        self._latency = latency
        self._audit_layer = AuditLayer(audit, inner, self.name)
        self._admission = Admission(
            acl.resolver if acl is not None else ContextResolver(),
            bound,
            self._audit_layer.deny,
            self.name,
        )
        self._access = AccessLayer(
            acl,
            self._admission,
            self.model_class,
            self.fields,
            self._array_fields,
            self.metadata.version_field,
            self.name,
        )
        self._cache_layer = (
            CacheLayer(cache, cache_ttl, validate_scope(self.name)) if cache is not None else None
        )

    def _initialize_components(self) -> None:
        # The audit, cache and latency of a SecureRepo are its layers (see __init__), never the
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
        return self._access.acl

    @property
    def audit_logger(self) -> AuditLogger | None:
        """The audit logger, if any."""
        return self._audit_layer.audit

    @property
    def cache(self) -> CacheManager | None:
        """The read cache, if any."""
        return self._cache_layer.cache if self._cache_layer is not None else None

    @property
    def cache_ttl(self) -> float | None:
        """Seconds a cached read stays valid (``None``: the cache's own default)."""
        return self._cache_layer.ttl if self._cache_layer is not None else None

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
        parent: Call | None = None,
    ) -> CallScope:
        """``async with self._call(...) as call``: admit the caller once, time the operation."""
        return CallScope(
            self._admission,
            self._audit_layer.deny,
            self._latency,
            operation,
            permission,
            user_id,
            context,
            parent,
        )

    # -- the repository's steps, each given the call ------------------------------------------
    # A caller that is not one of this repository's calls (a view reading its sources as an
    # administrator, statistics) gets the steps of an unsecured repository.
    def _scope_filter(self, permission: Permission, caller: Caller) -> Node | None:
        if not isinstance(caller, Call):
            return None
        return self._access.scope(caller, permission)

    def _filter(
        self,
        filters: Mapping[str, Any] | None,
        operation: str,
        permission: Permission,
        caller: Caller,
        *,
        include_deleted: bool = False,
    ) -> Node:
        # Parsed by the inner repository: a view understands its per-source filter keys. Its
        # own restrictions are left out here (include_deleted) and added below, with the scope.
        node = self._inner._filter(filters, operation, permission, caller, include_deleted=True)
        if isinstance(caller, Call):
            self._access.check_filter(caller, node, operation)
        return self._restrict(node, permission, caller, include_deleted=include_deleted)

    def _sort(self, sort: Any, operation: str, caller: Caller) -> tuple[SortKey, ...]:
        keys = parse_sort(sort, fields=set(self._fields), repo=self.name, operation=operation)
        if isinstance(caller, Call):
            self._access.check_sort(caller, keys, operation)
        return self._total_order(keys)

    def _check_rows(self, rows: Sequence[Row], caller: Caller) -> None:
        if isinstance(caller, Call):
            self._access.check_rows(caller, rows)

    async def _check_changes(self, batch: Sequence[UpdateItem], caller: Caller) -> None:
        if not isinstance(caller, Call):
            return
        inner = self._inner
        await self._access.check_changes(
            caller,
            batch,
            lambda node: inner._select(node, (), 0, None),
            lambda row: self._dump(self._to_model(row)),
        )

    def _models(self, rows: Sequence[Mapping[str, Any]], caller: Caller) -> builtins.list[T]:
        if isinstance(caller, Call):
            restricted = self._access.models(caller, rows, self._to_model, bool(self._json_fields))
            if restricted is not None:
                return restricted
        return self._to_models(rows)

    def _model(self, row: Mapping[str, Any], caller: Caller) -> T:
        if isinstance(caller, Call):
            restricted = self._access.models(caller, [row], self._to_model, bool(self._json_fields))
            if restricted is not None:
                return restricted[0]  # type: ignore[no-any-return]
        return self._to_model(row)

    async def _audit_operation(
        self,
        operation: str,
        caller: Caller,
        entity_id: Any = None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        # What the operation did, for the one entry the audit layer writes after it.
        if isinstance(caller, Call):
            caller.captured = (entity_id, dict(changes) if changes is not None else None)

    async def _update_stats(self, operation: str, duration_ms: float) -> None:
        return  # recorded once per call (CallScope), refusals and errors included

    async def _read_through(
        self, operation: str, args: Any, loader: Callable[[], Awaitable[R]], caller: Caller
    ) -> R:
        layer = self._cache_layer
        if layer is None or not isinstance(caller, Call):
            return await loader()
        return await layer.read(caller, operation, args, loader)

    def _check_stages(self, stages: builtins.list[Stage], caller: Caller) -> builtins.list[Stage]:
        if not isinstance(caller, Call):
            return stages
        return self._access.check_stages(caller, stages)

    def _lookup_sources(self) -> frozenset[str] | None:
        return self._access.lookup_sources(self._inner._lookup_sources())

    async def _read_back(self, caller: Caller, id: Any) -> T | None:
        # The restored record is read as a read of the same caller: READ decided, audited and
        # timed as one, the principal not resolved again, the cache bypassed (in a write).
        if not isinstance(caller, Call):
            return await self._read_as(caller, id)
        async with self._call("read", Permission.READ, None, None, caller) as call:
            return await self._read_visible(call, id, False)

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
            return await self._read_visible(call, id, include_deleted)

    async def _read_visible(self, call: Call, id: Any, include_deleted: bool) -> T | None:
        layer = self._cache_layer
        if layer is None or type(id) not in (int, str):
            found = await self._read_as(call, id, include_deleted)
            return self._access.visible_one(found, call)  # type: ignore[no-any-return]

        # The hot path of a cached read: the key is the id as given (an int and its string are
        # distinct entries), so a hit skips building the filter; a miss builds it.
        def load() -> Awaitable[builtins.list[Row]]:
            node = self._restrict(
                self._id_node(id, "read"), Permission.READ, call, include_deleted=include_deleted
            )
            return self._inner._select(node, (), 0, 1)

        rows = await layer.read(call, "read", (id, include_deleted), load)
        found = self._model(rows[0], call) if rows else None
        return self._access.visible_one(found, call)  # type: ignore[no-any-return]

    async def exists(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> bool:
        """Whether a record with this id exists among the caller's rows."""
        async with self._call("exists", Permission.READ, user_id, context) as call:
            return await self._exists_as(call, id)

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
            found = await self._list_as(call, filters, skip, limit, sort, include_deleted)
            return self._access.visible(found, call)

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
            found = await self._find_one_as(call, filters, sort, include_deleted)
            return self._access.visible_one(found, call)  # type: ignore[no-any-return]

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
            return await self._count_as(call, filters, include_deleted)

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
            self._access.check_distinct(call, field)
            return await self._distinct_as(call, field, filters, include_deleted)

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
            rows = await self._aggregate_as(call, pipeline, include_deleted)
            return self._access.strip(rows, call)

    # -- writes --------------------------------------------------------------------------------
    async def _write(
        self, call: Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        """Run a write with its audit entry (:class:`AuditLayer`); its reads bypass the cache,
        and the cache is invalidated whatever happened."""
        call.in_write = True
        try:
            return await self._audit_layer.write(call, ids, run)
        finally:
            call.in_write = False
            if self._cache_layer is not None:
                # Invalidate whatever happened: a failed write may have been half-applied by
                # a backend without transactions, and stale entries are worse than misses.
                await self._cache_layer.invalidate(self.name)

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
            self._access.check_write(call, data)
            created = await self._write(call, [], lambda: self._create_as(call, data))
            return self._access.visible_one(created, call)  # type: ignore[no-any-return]

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
                    self._access.check_write(call, item, i)
            created = await self._write(call, [], lambda: self._bulk_create_as(call, data))
            return self._access.visible(created, call)

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
            self._access.check_write(call, data)
            ids = [self._check_id(id, "update")]
            updated = await self._write(call, ids, lambda: self._update_as(call, id, data))
            return self._access.visible_one(updated, call)  # type: ignore[no-any-return]

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
                self._access.check_write(call, pair[1], i)
            ids = self._valid_ids((pair[0] for _, pair in pairs), "bulk_update")
            return await self._write(call, ids, lambda: self._bulk_update_as(call, updates))

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
                call, ids, lambda: self._bulk_delete_as(call, [id], soft, "delete")
            )
            return n == 1

    async def bulk_delete(
        self,
        ids: Sequence[Any],
        soft: bool | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> int:
        """Delete many of the caller's records in one atomic statement."""
        async with self._call("bulk_delete", Permission.DELETE, user_id, context) as call:
            checked = self._valid_ids(ids if self._is_batch(ids) else (), "bulk_delete")
            return await self._write(call, checked, lambda: self._bulk_delete_as(call, ids, soft))

    async def restore(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> T | None:
        """Undo a soft delete of one of the caller's records."""
        async with self._call("restore", Permission.UPDATE, user_id, context) as call:
            ids = [self._check_id(id, "restore")]
            restored = await self._write(call, ids, lambda: self._restore_as(call, id))
            return self._access.visible_one(restored, call)  # type: ignore[no-any-return]

    # -- administration ------------------------------------------------------------------------
    async def _admin(
        self, operation: str, user_id: str | None, context: RepoContext | None
    ) -> None:
        if self._access.acl is None:
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
        audit = self._audit_layer.audit
        if audit is None:
            raise XRepoConfigurationError(
                "auditing is off for this repository (RepoMetadata.enable_audit=False); "
                "enable it, or give it an audit logger: SecureRepo(repo, audit=AuditLogger(sink))",
                repo=self.name,
                operation="get_audit_log",
            )
        await self._admin("get_audit_log", user_id, context)
        return await audit.get_audit_log({**dict(filters or {}), "repo": self.name}, limit=limit)

    async def get_statistics(
        self,
        *,
        user_id: str | None = None,
        context: RepoContext | None = None,
        cardinality_fields: Sequence[str] | None = None,
    ) -> RepoStats:
        """The spec's ``RepoStats`` (``admin`` permission with an ACL)."""
        await self._admin("get_statistics", user_id, context)
        return await collect_statistics(
            self._inner,
            latency=self._latency,
            audit=self._audit_layer.audit,
            cardinality_fields=cardinality_fields,
        )
