"""The core of a repository: its model, metadata and store, and the steps every operation shares.

:class:`RepoCore` is what :class:`~xrepo.XRepo` is before its operations: it holds the row codec
(:class:`~xrepo.repos._codec.RowCodec`), the :class:`~xrepo.stores.Store` the rows live in, and
what ``RepoMetadata`` asks for (an in-memory audit log, a latency recorder, a read cache).

Every operation receives its caller explicitly (a :class:`~xrepo.RepoContext`, or the principal a
secured repository resolved once for the call) and passes it to the steps where access control,
auditing and caching apply: :meth:`_scope_filter` (the caller's rows), :meth:`_check_rows` and
:meth:`_check_changes` (what the caller may store), :meth:`_models` (what the caller may read),
:meth:`_read_through` (the read cache) and :meth:`_audit_operation`. Here they apply the
metadata's components; :class:`~xrepo.secure.SecureRepo` puts its layers there.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from xobj_prototype import XObjPrototype, XValidationError, validate_path
from xrepo._context import Caller, Permission, caller_context
from xrepo.audit import AuditRing
from xrepo.cache import CacheKey, CacheManager, validate_scope
from xrepo.errors import XRepoConfigurationError, XRepoError
from xrepo.query import (
    And,
    Condition,
    FilterLimits,
    Node,
    SortKey,
    Stage,
    parse_filter,
    parse_sort,
    type_filter,
)
from xrepo.repos._annotations import now
from xrepo.repos._codec import RowCodec, T
from xrepo.repos._metadata import RepoMetadata, unknown_options
from xrepo.stats import LatencyRecorder, RepoStats, collect_statistics
from xrepo.stores import Row, RowLayout, Store, UpdateItem

__all__ = ["RepoCore"]

R = TypeVar("R")

#: The keywords of a repository's constructor (besides ``model_class`` and ``store``).
_OPTIONS = ("metadata", "schema", "limits", "ns", "name", "collection")


class RepoCore(RowCodec[T]):
    """A repository's model, metadata and store, and the steps its operations share."""

    #: Backend name for errors and docs ("memory", "sql"...): the store's, unless a subclass
    #: names its own.
    backend: ClassVar[str] = "store"

    def __init__(
        self,
        *,
        model_class: type[T],
        store: Store,
        metadata: RepoMetadata | None = None,
        schema: Mapping[str, Any] | None = None,
        limits: FilterLimits | None = None,
        ns: str | None = None,
        name: str | None = None,
        collection: str | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise XRepoConfigurationError(
                f"unknown option(s) of {type(self).__name__}(): "
                f"{unknown_options(sorted(unknown), ('model_class', 'store', *_OPTIONS))}"
            )
        if not isinstance(store, Store):
            raise XRepoConfigurationError(
                f"store must implement xrepo.Store (select, count, insert...), got "
                f"{type(store).__name__}"
            )
        if not (isinstance(model_class, type) and issubclass(model_class, BaseModel)):
            raise XRepoConfigurationError(
                f"model_class must be a pydantic model class, got {model_class!r}"
            )
        if metadata is None:
            # name= and collection= are the metadata's when no metadata is given.
            metadata = RepoMetadata(
                name=name or model_class.__name__.lower(),
                model_name=model_class.__name__,
                collection=collection,
            )
        elif not isinstance(metadata, RepoMetadata):
            raise XRepoConfigurationError(
                f"metadata must be a RepoMetadata, got {type(metadata).__name__}"
            )
        #: The repository's configuration (the specification's ``RepoMetadata``).
        self.metadata = metadata
        if schema is not None and not isinstance(schema, Mapping):
            raise XRepoConfigurationError(
                f"schema must be a dict (XInspector's format), got {type(schema).__name__}",
                repo=metadata.name,
            )
        #: The schema dict (XInspector's format), if known.
        self.schema: dict[str, Any] = dict(schema or {})
        if ns is not None:
            try:
                ns = validate_path(ns)
            except XValidationError as exc:
                raise XRepoConfigurationError(
                    f"ns must be a namespace path: {exc}", repo=metadata.name
                ) from None
        #: The repository's namespace path, when it has its own (see :meth:`get_ns`).
        self.ns: str | None = ns
        super().__init__(model_class, metadata, limits)
        self._layout = self._build_layout()
        store.bind(self._layout)
        self._store = store
        self._repair = getattr(store, "repair_row", None)
        # The components RepoMetadata asks for (see _initialize_components).
        self._audit_ring: AuditRing | None = None
        self._stats_collector: LatencyRecorder | None = None
        self._read_cache: CacheManager | None = None
        self._read_scope = ""
        self._initialize_components()

    def _build_layout(self) -> RowLayout:
        """What the store needs to know about this repository's rows."""
        m = self.metadata
        return RowLayout(
            repo=m.name,
            model_class=self._model_class,
            id_field=m.id_field,
            fields=self._fields,
            json_fields=self._json_fields,
            array_fields=self._array_fields,
            maybe_arrays=self._maybe_arrays,
            field_types=self._field_types,
            typed_fields=self._typed_fields,
            numeric_fields=self._numeric_fields,
            element_types=self._element_types,
            plain_dump=self._plain_dump,
            limits=self._limits,
            collection=m.collection,
            indexes=tuple(tuple(i) for i in m.indexes),
            prepare=lambda data: self._new_rows(data, "load", now())[0],
        )

    def _initialize_components(self) -> None:
        """Attach what the metadata asks for, as the specification's ``XRepo`` does: the audit
        log (``enable_audit``), the latency recorder (``enable_statistics``) and the read cache
        (``cache_enabled``/``cache_ttl``).

        A wrapper that brings its own machinery (``SecureRepo``) overrides this.
        """
        m = self.metadata
        if m.enable_audit:
            secret = (
                self._model_class.secret_fields()
                if issubclass(self._model_class, XObjPrototype)
                else ()
            )
            self._audit_ring = AuditRing(
                m.audit_max_entries,
                repo=m.name,
                entity=self._model_class.__name__,
                secret_fields=secret,
            )
        if m.enable_statistics:
            self._stats_collector = LatencyRecorder()
        if m.cache_enabled:
            try:
                self._read_scope = validate_scope(m.name)
            except XRepoError as exc:
                raise XRepoConfigurationError(
                    f"cache_enabled needs a repository name usable as a cache scope: {exc}",
                    repo=m.name,
                ) from None
            self._read_cache = CacheManager.memory(default_ttl=m.cache_ttl)

    # -- identity ---------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The backend this repository runs on (:class:`~xrepo.stores.Store`)."""
        return self._store

    @property
    def layout(self) -> RowLayout:
        """What the store knows of this repository's rows (fields, kinds, id field)."""
        return self._layout

    @property
    def audit_ring(self) -> AuditRing | None:
        """The in-memory audit log (``metadata.enable_audit``), or ``None``."""
        return self._audit_ring

    @property
    def latency(self) -> LatencyRecorder | None:
        """Per-operation latency (``metadata.enable_statistics``), or ``None``."""
        return self._stats_collector

    @property
    def cache(self) -> CacheManager | None:
        """The read cache (``metadata.cache_enabled``), or ``None``."""
        return self._read_cache

    def get_ns(self) -> str:
        """``repos.<name>``, the repository's place in the namespace (``ns=`` when given)."""
        return self.ns or f"repos.{self.metadata.name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, store={type(self._store).__name__})"

    # -- the steps where a caller's access, audit, statistics and caching apply ---------------
    def _scope_filter(self, permission: Permission, caller: Caller) -> Node | None:
        """Row-level restriction for ``caller`` (ANDed into every query), or ``None``."""
        return None

    def _check_rows(self, rows: Sequence[Row], caller: Caller) -> None:
        """Refuse new ``rows`` the caller may not store (none here: no access control)."""
        return

    async def _check_changes(self, batch: Sequence[UpdateItem], caller: Caller) -> None:
        """Refuse changes the caller may not make (none here: no access control)."""
        return

    def _models(self, rows: Sequence[Mapping[str, Any]], caller: Caller) -> builtins.list[T]:
        """The models a reading caller gets for ``rows`` (all fields here)."""
        return self._to_models(rows)

    def _model(self, row: Mapping[str, Any], caller: Caller) -> T:
        """The model a reading caller gets for ``row`` (all fields here)."""
        return self._to_model(row)

    async def _audit_operation(
        self,
        operation: str,
        caller: Caller,
        entity_id: Any = None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``caller`` did ``operation`` (the audit log, when there is one).

        One tuple appended to a bounded deque: ``changes`` is kept by reference (the
        repository built it for this operation and never changes it afterwards).
        """
        ring = self._audit_ring
        if ring is not None:
            ring.append(
                operation,
                caller.user_id,
                tuple(caller.roles),
                caller.request_id,
                entity_id,
                changes,
            )

    async def _update_stats(self, operation: str, duration_ms: float) -> None:
        """Record the duration of an operation (statistics, when enabled)."""
        recorder = self._stats_collector
        if recorder is not None:
            recorder.record(operation, duration_ms)

    async def _read_through(
        self, operation: str, args: Any, loader: Callable[[], Awaitable[R]], caller: Caller
    ) -> R:
        """``await loader()``, through the read cache when ``metadata.cache_enabled``.

        The key is a digest of the operation and its compiled arguments (the filter with the
        caller's row scope inside it), so different queries never share an entry.
        """
        cache = self._read_cache
        if cache is None:
            return await loader()
        digest = hashlib.sha256(f"{operation}\x00{args!r}".encode()).hexdigest()
        key = CacheKey.model_construct(scope=self._read_scope, digest=digest)
        return await cache.get_or_set(key, loader, self.metadata.cache_ttl)

    async def _written(self) -> None:
        """After a write: drop the cached reads of this repository (when caching)."""
        cache = self._read_cache
        if cache is not None:
            await cache.delete_prefix(self._read_scope)

    def _check_stages(self, stages: builtins.list[Stage], caller: Caller) -> builtins.list[Stage]:
        """The parsed pipeline as it will run, before the caller's scope is put first (access
        control checks and rewrites stages there; unchanged here)."""
        return stages

    def _lookup_sources(self) -> frozenset[str] | None:
        """The collections a ``$lookup`` may read (``RepoMetadata.lookups``); ``None``: any."""
        declared = self.metadata.lookups
        return None if isinstance(declared, str) else frozenset(declared)

    # -- input --------------------------------------------------------------------------------
    _context = staticmethod(caller_context)

    def _filter(
        self,
        filters: Mapping[str, Any] | None,
        operation: str,
        permission: Permission,
        caller: Caller,
        *,
        include_deleted: bool = False,
    ) -> Node:
        """``filters`` parsed, typed and restricted (soft deletes, the caller's rows)."""
        node = parse_filter(
            filters, fields=self._fields, limits=self._limits, operation=operation, repo=self.name
        )
        node = type_filter(node, self._field_types)
        return self._restrict(node, permission, caller, include_deleted=include_deleted)

    def _restrict(
        self,
        node: Node,
        permission: Permission,
        caller: Caller,
        *,
        include_deleted: bool = False,
    ) -> Node:
        """``node`` ANDed with what every query of ``caller`` is restricted to."""
        parts: list[Node] = [node] if not (isinstance(node, And) and not node.children) else []
        if self.soft_deletes and not include_deleted:
            parts.append(Condition(self.metadata.deleted_at_field, "eq", None))
        scope = self._scope_filter(permission, caller)
        if scope is not None:
            parts.append(type_filter(scope, self._field_types))
        if len(parts) == 1:
            return parts[0]
        return And(tuple(parts))

    def _sort(self, sort: Any, operation: str, caller: Caller) -> tuple[SortKey, ...]:
        """``sort`` parsed (once), then made a total order."""
        keys = parse_sort(sort, fields=set(self._fields), repo=self.name, operation=operation)
        return self._total_order(keys)

    def _total_order(self, keys: tuple[SortKey, ...]) -> tuple[SortKey, ...]:
        if not any(p == self.id_field for p, _ in keys):
            # A total order, so that every backend pages the same way.
            keys = (*keys, (self.id_field, 1))
        return keys

    def _page(self, skip: Any, limit: Any, operation: str) -> tuple[int, int | None]:
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise self._error(f"skip must be a non-negative integer, got {skip!r}", operation)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise self._error(
                f"limit must be a non-negative integer or None, got {limit!r}", operation
            )
        cap = self.metadata.max_limit
        if cap is not None and (limit is None or limit > cap):
            limit = cap
        return skip, limit

    # -- the store's primitives ---------------------------------------------------------------
    async def _insert(self, rows: list[Row]) -> list[Row]:
        """Store ``rows`` atomically (all or none); return them as stored (ids filled in)."""
        return await self._store.insert(rows)

    async def _select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        """Rows matching ``node``, sorted, paged."""
        return await self._store.select(node, sort, skip, limit)

    async def _count(self, node: Node) -> int:
        """How many rows match ``node``."""
        return await self._store.count(node)

    async def _distinct(self, path: str, node: Node) -> list[Any]:
        """Distinct values at ``path`` (converted to the field's type by ``distinct()``)."""
        return await self._store.distinct(path, node)

    async def _update_where(self, batch: list[UpdateItem]) -> list[int]:
        """Apply each ``(node, changes, conflict)`` in one transaction; rows changed per item."""
        return await self._store.update_where(batch)

    async def _delete_where(self, node: Node) -> int:
        """Remove rows matching ``node`` for good; how many."""
        return await self._store.delete_where(node)

    async def _aggregate(self, stages: list[Stage]) -> list[Row]:
        """Run a validated pipeline natively."""
        return await self._store.aggregate(stages)

    async def _insert_new(
        self, data: Sequence[Any], operation: str, now: _dt.datetime, caller: Caller
    ) -> tuple[builtins.list[Row], builtins.list[T | None], builtins.list[Row]]:
        """Prepare (:meth:`_new_rows`) and store new records, all or none.

        Returns the prepared rows, their models and the rows as stored. A store that can store
        while the rows are prepared (``SQLStore.insert_streamed``: PostgreSQL's COPY) is given
        the preparation chunk by chunk, to overlap the two.
        """
        streamed = getattr(self._store, "insert_streamed", None)
        if streamed is not None:
            rows: builtins.list[Row] = []
            models: builtins.list[T | None] = []
            seen: set[Any] = set()

            def prepare(start: int, stop: int) -> builtins.list[Row]:
                chunk, chunk_models = self._new_rows(data[start:stop], operation, now, start)
                self._check_new_ids(chunk, operation, start, seen)
                self._check_rows(chunk, caller)
                rows.extend(chunk)
                models.extend(chunk_models)
                return chunk

            stored = await streamed(len(data), prepare, operation)
            if stored is not None:
                return rows, models, stored
        rows, models = self._new_rows(data, operation, now)
        self._check_new_ids(rows, operation, 0, set())
        self._check_rows(rows, caller)
        return rows, models, await self._insert(rows)

    # -- administration -----------------------------------------------------------------------
    async def get_statistics(self) -> RepoStats:
        """The spec's ``RepoStats``: counts, cardinalities, storage and index statistics (see
        :mod:`xrepo.stats`), and per-operation latency (``query_performance``, ``latency``)
        when ``metadata.enable_statistics``."""
        return await collect_statistics(self, latency=self._stats_collector, audit=self._audit_ring)

    async def get_audit_log(
        self, filters: Mapping[str, Any] | None = None, limit: int = 100
    ) -> builtins.list[Any]:
        """This repository's audited operations, newest first (``AuditEntry`` objects).

        ``filters`` take the fields of :class:`~xrepo.audit.AuditFilter` (``user_id``,
        ``action``/``operation``, ``entity_id``, ``since``, ``until``...). The log is the last
        ``metadata.audit_max_entries`` operations, in memory.

        Raises:
            XRepoConfigurationError: ``metadata.enable_audit`` is off.
            XRepoValidationError: an unknown filter or a bad limit.
        """
        ring = self._audit_ring
        if ring is None:
            raise XRepoConfigurationError(
                "auditing is off for this repository (RepoMetadata.enable_audit=False); "
                "enable it, or give it an audit logger: "
                "XRepoFactory.create(..., audit=AuditLogger(sink))",
                repo=self.name,
                operation="get_audit_log",
            )
        return ring.entries(filters, limit=limit)
