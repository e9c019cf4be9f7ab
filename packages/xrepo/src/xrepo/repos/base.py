"""``XRepo``: the repository contract, the caller's context, metadata, and the shared data path.

Every public operation is written once, here: it validates input against the model, applies the
metadata rules (soft delete, ``created_at``/``updated_at``, optimistic ``version``), and calls a
handful of primitives that each backend implements natively (``_insert``, ``_select``,
``_count``, ``_distinct``, ``_update_where``, ``_delete_where``, ``_aggregate``...). A backend
therefore never sees an unvalidated filter or value.

Each operation receives the caller (``user_id=`` or ``context=RepoContext(...)``) and passes it
to three seams that access control, auditing and statistics plug into:
:meth:`XRepo._check_permission`, :meth:`XRepo._scope_filter` and :meth:`XRepo._audit_operation` /
:meth:`XRepo._update_stats`. In this base class the audit and statistics seams feed what
``RepoMetadata`` asks for (a bounded in-memory audit log, a latency recorder); reads go through
the read cache when ``metadata.cache_enabled`` (:meth:`XRepo._read_through`), and every write
invalidates it.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as _dt
import difflib
import hashlib
import json
import time
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Literal, TypeVar, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from xobj_prototype import XObjPrototype
from xrepo._context import Permission, RepoContext
from xrepo.compile import freeze, sort_key
from xrepo.errors import (
    XRepoConfigurationError,
    XRepoConflictError,
    XRepoError,
    XRepoValidationError,
)
from xrepo.query import (
    DEFAULT_LIMITS,
    SCALAR_KINDS,
    And,
    Condition,
    FieldType,
    FilterLimits,
    Kind,
    Match,
    Node,
    Not,
    SortKey,
    Stage,
    as_utc,
    check_lookups,
    check_path,
    field_types,
    parse_filter,
    parse_pipeline,
    parse_sort,
    type_filter,
    type_stages,
)
from xrepo.stats.repo_stats import RepoStats, collect_statistics
from xrepo.stores._protocol import (
    INCREMENT,
    Row,
    RowLayout,
    Store,
    UpdateItem,
    VersionConflict,
)

if typing.TYPE_CHECKING:
    from xrepo.audit.ring import AuditRing
    from xrepo.cache.manager import CacheManager
    from xrepo.stats.latency import LatencyRecorder

__all__ = [
    "INCREMENT",
    "Permission",
    "RepoContext",
    "RepoMetadata",
    "Row",
    "UpdateItem",
    "VersionConflict",
    "XRepo",
]

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")


class RepoMetadata(BaseModel):
    """Configuration of one repository: the specification's ``RepoMetadata``, every option
    honoured by the repository built with it (directly or by ``XRepoFactory.create``).

    ``soft_delete`` and ``auto_timestamps`` take effect for the fields the model declares:
    soft deletes need ``deleted_at_field``, timestamps ``created_at_field``/``updated_at_field``,
    optimistic concurrency ``version_field``.

    ``enable_audit`` (on by default) records every write in a bounded in-memory log of the last
    ``audit_max_entries`` operations (:class:`~xrepo.audit.AuditRing`), unless the repository
    is given an ``AuditLogger``; ``get_audit_log()`` reads it. ``enable_statistics`` (on by
    default) records each operation's latency for ``get_statistics()``. ``cache_enabled`` caches
    reads in memory for ``cache_ttl`` seconds; every write of the repository invalidates them.

    An unknown option is an error, never ignored.

    Examples:
        >>> RepoMetadata(name="users", resource_name="main_db", model_name="User",
        ...              enable_audit=True, enable_statistics=True,
        ...              cache_enabled=True, cache_ttl=60).cache_ttl
        60
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    resource_name: str = "memory"
    model_name: str = ""
    collection: str | None = Field(default=None, description="Table or collection name.")
    id_field: str = "id"
    indexes: list[list[str]] = Field(default_factory=list)
    constraints: list[dict[str, Any]] = Field(default_factory=list)
    soft_delete: bool = True
    auto_timestamps: bool = True
    deleted_at_field: str = "deleted_at"
    created_at_field: str = "created_at"
    updated_at_field: str = "updated_at"
    version_field: str = "version"
    max_limit: int | None = Field(
        default=None, ge=1, description="Largest page list() hands out; None: no cap."
    )
    acl_rules: list[Any] = Field(
        default_factory=list,
        description="ACLRule list (or dicts): XRepoFactory.create applies them (SecureRepo).",
    )
    lookups: list[str] | Literal["*"] = Field(
        default_factory=list,
        description="Collections/tables a pipeline's $lookup may read; '*': any (an opt-in).",
    )
    enable_audit: bool = Field(
        default=True,
        strict=True,
        description="Audit every write (get_audit_log); a bounded in-memory log unless an "
        "AuditLogger is given.",
    )
    audit_max_entries: int = Field(
        default=10_000,
        ge=1,
        strict=True,
        description="Entries the in-memory audit log keeps; the oldest are dropped.",
    )
    enable_statistics: bool = Field(
        default=True,
        strict=True,
        description="Record each operation's latency (get_statistics().query_performance).",
    )
    cache_enabled: bool = Field(
        default=False, strict=True, description="Cache reads (in memory unless a cache is given)."
    )
    cache_ttl: int = Field(
        default=300, gt=0, strict=True, description="Seconds a cached read stays valid."
    )

    @model_validator(mode="before")
    @classmethod
    def _known_options(cls, data: Any) -> Any:
        # pydantic's own message ("Extra inputs are not permitted") does not say which options
        # exist or which one was probably meant.
        if isinstance(data, Mapping):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(
                    f"unknown RepoMetadata option(s) {unknown_options(unknown, cls.model_fields)}"
                )
        return data


def unknown_options(unknown: Sequence[Any], known: Iterable[str]) -> str:
    """``"'cache_tll' (did you mean 'cache_ttl'?); known: ..."``: the unknown option names,
    each with the closest known one, then the known ones (for configuration errors)."""
    names = sorted(known)
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), names, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"{', '.join(hints)}; known: {', '.join(names)}"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


_SCALAR_TYPES = (str, int, float, bool, _dt.datetime, _dt.date, _dt.time, bytes)


def _is_structured(annotation: Any) -> bool:
    """Whether a field holds a dict, list or model (stored as JSON by SQL backends)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_structured(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return _is_structured(typing.get_args(annotation)[0])
    if origin in (list, dict, tuple, set, frozenset, Sequence, Mapping):
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel | list | dict | tuple | set)
    return False


def _is_plain(annotation: Any) -> bool:
    """Whether values of this type dump to themselves (no models, enums, secrets inside)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return all(_is_plain(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _is_plain(typing.get_args(annotation)[0])
    return annotation in (
        str,
        int,
        float,
        bool,
        type(None),
        _dt.datetime,
        _dt.date,
        _dt.time,
        bytes,
    )


def _element_type(annotation: Any) -> type | None:
    """``str`` for ``list[str] | None`` and the like: the scalar type of a list's items."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        found = {_element_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return found.pop() if len(found) == 1 else None
    if origin is typing.Annotated:
        return _element_type(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        item = args[0]
        return item if item in (str, int, float) else None
    return None


def _is_listish(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_listish(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return _is_listish(typing.get_args(annotation)[0])
    return origin in (list, tuple, set, frozenset, Sequence) or annotation in (list, tuple, set)


class XRepo(XObjPrototype, Generic[T]):
    """Abstract repository over one model: CRUD, queries, bulk operations, aggregation.

    Subclasses implement the primitives; everything public is shared. Models come back as
    instances of ``model_class``.

    Examples:
        >>> repo = MaterializedRepo(model_class=User, data=[{"id": 1, "name": "Ada"}])
        >>> await repo.list({"name__startswith": "A"}, sort=[("id", 1)])
        [User(id=1, name='Ada')]
    """

    metadata: RepoMetadata
    schema_: dict[str, Any] = Field(
        default_factory=dict,
        alias="schema",
        description="Schema dict (XInspector's format), if known.",
    )

    #: Backend name for errors and docs ("memory", "sql"...): the store's, unless a subclass
    #: names its own.
    backend: ClassVar[str] = "store"

    _model_class: type[T] = PrivateAttr()
    _fields: frozenset[str] = PrivateAttr(default=frozenset())
    _json_fields: frozenset[str] = PrivateAttr(default=frozenset())
    _array_fields: frozenset[str] = PrivateAttr(default=frozenset())
    _adapters: dict[str, TypeAdapter[Any]] = PrivateAttr(default_factory=dict)
    _limits: FilterLimits = PrivateAttr(default=DEFAULT_LIMITS)
    _plain_dump: bool = PrivateAttr(default=False)
    _numeric_fields: frozenset[str] = PrivateAttr(default=frozenset())
    _element_types: dict[str, type] = PrivateAttr(default_factory=dict)
    _list_adapter: TypeAdapter[Any] | None = PrivateAttr(default=None)
    _field_types: dict[str, FieldType] = PrivateAttr(default_factory=dict)
    _typed_fields: frozenset[str] = PrivateAttr(default=frozenset())
    _maybe_arrays: frozenset[str] = PrivateAttr(default=frozenset())
    _datetime_fields: tuple[str, ...] = PrivateAttr(default=())
    _datetime_lists: tuple[str, ...] = PrivateAttr(default=())
    # The components RepoMetadata asks for (see _initialize_components).
    _audit_ring: AuditRing | None = PrivateAttr(default=None)
    _stats_collector: LatencyRecorder | None = PrivateAttr(default=None)
    _read_cache: CacheManager | None = PrivateAttr(default=None)
    _read_scope: str = PrivateAttr(default="")
    _store: Store = PrivateAttr()
    _layout: RowLayout = PrivateAttr()
    _repair: Callable[[Row], Row | None] | None = PrivateAttr(default=None)

    def __init__(
        self,
        *,
        model_class: type[T],
        store: Store,
        metadata: RepoMetadata | None = None,
        schema: Mapping[str, Any] | None = None,
        limits: FilterLimits | None = None,
        **data: Any,
    ) -> None:
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
            name = data.pop("name", None) or model_class.__name__.lower()
            metadata = RepoMetadata(
                name=name, model_name=model_class.__name__, collection=data.pop("collection", None)
            )
        super().__init__(metadata=metadata, schema=dict(schema or {}), **data)
        self._model_class = model_class
        fields = model_class.model_fields
        # XObjPrototype's `ns` is the object's namespace, not stored data.
        skip_ns = issubclass(model_class, XObjPrototype)
        self._fields = frozenset(n for n in fields if not (skip_ns and n == "ns"))
        if metadata.id_field not in self._fields:
            raise XRepoConfigurationError(
                f"model {model_class.__name__} has no id field {metadata.id_field!r}; add one or "
                "set RepoMetadata.id_field",
                repo=metadata.name,
            )
        self._json_fields = frozenset(
            n for n in self._fields if _is_structured(fields[n].annotation)
        )
        self._array_fields = frozenset(n for n in self._fields if _is_listish(fields[n].annotation))
        if limits is not None and not isinstance(limits, FilterLimits):
            raise XRepoConfigurationError(
                f"limits must be a FilterLimits (xrepo.query), got {type(limits).__name__}",
                repo=metadata.name,
            )
        self._limits = limits or DEFAULT_LIMITS
        secret = model_class.secret_fields() if issubclass(model_class, XObjPrototype) else ()
        self._numeric_fields = frozenset(
            n for n in self._fields if fields[n].annotation in (int, float)
        )
        self._element_types = {
            n: t for n in self._array_fields if (t := _element_type(fields[n].annotation))
        }
        self._plain_dump = (
            not self._json_fields
            and not secret
            and all(_is_plain(fields[n].annotation) for n in self._fields)
        )
        # Filter values are typed by these (xrepo.query.type_filter); `Any` fields stay untyped.
        self._field_types = {
            n: t
            for n, t in field_types(model_class).items()
            if n in self._fields and t.kind is not Kind.ANY
        }
        self._typed_fields = frozenset(
            n for n, t in self._field_types.items() if t.kind in SCALAR_KINDS
        )
        # Fields that may hold an array: declared lists, and untyped fields (`Any`).
        self._maybe_arrays = self._array_fields | (self._fields - set(self._field_types))
        # Naive means UTC: only models with datetime fields pay for the check on write and read.
        self._datetime_fields = tuple(
            n for n, t in self._field_types.items() if t.kind is Kind.DATETIME
        )
        self._datetime_lists = tuple(
            n
            for n, t in self._field_types.items()
            if t.kind is Kind.LIST and t.element is Kind.DATETIME
        )
        self._layout = self._build_layout()
        store.bind(self._layout)
        self._store = store
        self._repair = getattr(store, "repair_row", None)
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
            prepare=lambda data: self._new_rows(data, "load", _now())[0],
        )

    def _initialize_components(self) -> None:
        """Attach what the metadata asks for, as the specification's ``XRepo`` does: the audit
        log (``enable_audit``), the latency recorder (``enable_statistics``) and the read cache
        (``cache_enabled``/``cache_ttl``).

        A wrapper that brings its own machinery (``SecureRepo``) overrides this.
        """
        m = self.metadata
        if m.enable_audit:
            from xrepo.audit.ring import AuditRing

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
            from xrepo.stats.latency import LatencyRecorder

            self._stats_collector = LatencyRecorder()
        if m.cache_enabled:
            from xrepo.cache.keys import validate_scope
            from xrepo.cache.manager import CacheManager

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
    def model_class(self) -> type[T]:
        """The model this repository returns."""
        return self._model_class

    @property
    def store(self) -> Store:
        """The backend this repository runs on (:class:`~xrepo.stores.Store`)."""
        return self._store

    @property
    def layout(self) -> RowLayout:
        """What the store knows of this repository's rows (fields, kinds, id field)."""
        return self._layout

    @property
    def name(self) -> str:
        """The repository's name (``metadata.name``)."""
        return self.metadata.name

    @property
    def fields(self) -> frozenset[str]:
        """The model's field names: what filters, sorts and updates may name."""
        return self._fields

    @property
    def id_field(self) -> str:
        """The primary-key field."""
        return self.metadata.id_field

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
        """``repos.<name>``, the repository's place in the namespace."""
        return self.ns or f"repos.{self.metadata.name}"

    @property
    def soft_deletes(self) -> bool:
        """Whether deletes set ``deleted_at`` instead of removing (the model must declare it)."""
        return self.metadata.soft_delete and self.metadata.deleted_at_field in self._fields

    def _has(self, name: str) -> bool:
        return name in self._fields

    @property
    def _version(self) -> str | None:
        v = self.metadata.version_field
        return v if v in self._fields else None

    # -- seams for access control, audit, statistics and caching -------------------------------
    async def _check_permission(
        self, permission: Permission, context: RepoContext, data: Mapping[str, Any] | None = None
    ) -> None:
        """Raise ``XRepoPermissionError`` when ``context`` may not do ``permission``."""
        return

    def _scope_filter(self, permission: Permission, context: RepoContext) -> Node | None:
        """Row-level restriction for ``context`` (ANDed into every query), or ``None``."""
        return None

    async def _audit_operation(
        self,
        operation: str,
        context: RepoContext,
        entity_id: Any = None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``context`` did ``operation`` (the audit log, when there is one).

        One tuple appended to a bounded deque: ``changes`` is kept by reference (the
        repository built it for this operation and never changes it afterwards).
        """
        ring: AuditRing | None = self.__pydantic_private__["_audit_ring"]  # type: ignore[index]
        if ring is not None:
            ring.append(
                operation, context.user_id, context.roles, context.request_id, entity_id, changes
            )

    async def _update_stats(self, operation: str, duration_ms: float) -> None:
        """Record the duration of an operation (statistics, when enabled)."""
        recorder: LatencyRecorder | None = self.__pydantic_private__["_stats_collector"]  # type: ignore[index]
        if recorder is not None:
            recorder.record(operation, duration_ms)

    async def _read_through(
        self, operation: str, args: Any, loader: Callable[[], Awaitable[R]]
    ) -> R:
        """``await loader()``, through the read cache when ``metadata.cache_enabled``.

        The key is a digest of the operation and its compiled arguments (the filter with the
        caller's row scope inside it), so different queries never share an entry.
        """
        cache: CacheManager | None = self.__pydantic_private__["_read_cache"]  # type: ignore[index]
        if cache is None:
            return await loader()
        from xrepo.cache.keys import CacheKey

        digest = hashlib.sha256(f"{operation}\x00{args!r}".encode()).hexdigest()
        key = CacheKey.model_construct(scope=self._read_scope, digest=digest)
        return await cache.get_or_set(key, loader, self.metadata.cache_ttl)

    async def _written(self) -> None:
        """After a write: drop the cached reads of this repository (when caching)."""
        cache: CacheManager | None = self.__pydantic_private__["_read_cache"]  # type: ignore[index]
        if cache is not None:
            await cache.delete_prefix(self._read_scope)

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _context(user_id: str | None, context: RepoContext | None) -> RepoContext:
        if context is not None:
            if not isinstance(context, RepoContext):
                raise XRepoValidationError(
                    f"context must be a RepoContext, got {type(context).__name__}"
                )
            return context
        if user_id is not None and not isinstance(user_id, str):
            raise XRepoValidationError(f"user_id must be a string, got {type(user_id).__name__}")
        return RepoContext(user_id=user_id)

    def _error(
        self,
        message: str,
        operation: str,
        *,
        item: int | None = None,
        kind: type[Exception] = XRepoValidationError,
    ) -> Exception:
        return kind(message, repo=self.name, operation=operation, item=item)  # type: ignore[call-arg]

    def _filter(
        self,
        filters: Mapping[str, Any] | None,
        operation: str,
        permission: Permission,
        context: RepoContext,
        *,
        include_deleted: bool = False,
    ) -> Node:
        node = parse_filter(
            filters, fields=self._fields, limits=self._limits, operation=operation, repo=self.name
        )
        node = type_filter(node, self._field_types)
        return self._restrict(node, permission, context, include_deleted=include_deleted)

    def _restrict(
        self,
        node: Node,
        permission: Permission,
        context: RepoContext,
        *,
        include_deleted: bool = False,
    ) -> Node:
        parts: list[Node] = [node] if not (isinstance(node, And) and not node.children) else []
        if self.soft_deletes and not include_deleted:
            parts.append(Condition(self.metadata.deleted_at_field, "eq", None))
        scope = self._scope_filter(permission, context)
        if scope is not None:
            parts.append(type_filter(scope, self._field_types))
        if len(parts) == 1:
            return parts[0]
        return And(tuple(parts))

    @staticmethod
    def _is_batch(value: Any) -> bool:
        """Whether ``value`` is a list-like batch (a sequence, not a str, bytes or mapping)."""
        return isinstance(value, Sequence) and not isinstance(value, str | bytes | Mapping)

    def _id_node(self, id: Any, operation: str) -> Condition:
        return Condition(self.id_field, "eq", self._check_id(id, operation))

    def _check_id(self, id: Any, operation: str, item: int | None = None) -> Any:
        if id is None or isinstance(id, Mapping | list | tuple | set):
            raise self._error(f"invalid id {id!r}: ids are scalar values", operation, item=item)
        id_type = self._field_types.get(self.id_field)
        if isinstance(id, bool) and id_type is not None and id_type.kind is not Kind.BOOL:
            # pydantic's lax int would take True for 1; a bool is never a number here.
            raise self._error(
                f"invalid id {id!r} for field {self.id_field!r}", operation, item=item
            )
        adapter = self._adapter(self.id_field)
        try:
            value = adapter.validate_python(id)
        except ValidationError:
            raise self._error(
                f"invalid id {id!r} for field {self.id_field!r}", operation, item=item
            ) from None
        if value is None:
            raise self._error("id must not be None", operation, item=item)
        return value

    def _adapter(self, name: str) -> TypeAdapter[Any]:
        adapter = self._adapters.get(name)
        if adapter is None:
            info = self._model_class.model_fields[name]
            annotation: Any = info.annotation
            if info.metadata:
                annotation = typing.Annotated[annotation, *info.metadata]
            adapter = TypeAdapter(annotation)
            self._adapters[name] = adapter
        return adapter

    def _sort(self, sort: Any, operation: str) -> tuple[SortKey, ...]:
        keys = parse_sort(sort, fields=set(self._fields), repo=self.name, operation=operation)
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

    def _dump(self, model: BaseModel) -> Row:
        if isinstance(model, XObjPrototype):
            row = model.model_dump_revealed()
        else:
            row = model.model_dump()
        row.pop("ns", None) if "ns" not in self._fields else None
        return row

    def _new_rows(
        self, data: Sequence[Any], operation: str, now: _dt.datetime, offset: int = 0
    ) -> tuple[builtins.list[Row], builtins.list[T | None]]:
        """:meth:`_new_row` for many inputs, with the per-repo lookups hoisted (hot path).

        Returns the storable rows and the validated models (``None`` where the slow path ran),
        so that a backend that stores the rows as given needs no second validation.

        Instances of the repo's own model are taken as validated, as pydantic itself does unless
        the model sets ``revalidate_instances``; dicts are validated in one batch. ``offset`` is
        the position of ``data[0]`` in the caller's batch (for the item named by an error).
        """
        model = self._model_class
        fields = self._fields
        m = self.metadata
        stamps = [
            f for f in (m.created_at_field, m.updated_at_field) if m.auto_timestamps and f in fields
        ]
        version = self._version
        deleted = m.deleted_at_field if self.soft_deletes else None
        trust = model.model_config.get("revalidate_instances", "never") == "never"
        stamping = bool(stamps or version)
        plain = self._plain_dump
        revealed = issubclass(model, XObjPrototype)

        def to_row(obj: Any) -> Row:
            if plain:
                # Scalar fields only: the validated values are already what a dump returns.
                row: Row = dict(obj.__dict__)
            elif revealed:
                row = obj.model_dump_revealed()
            else:
                row = obj.model_dump()
            row.pop("ns", None)
            return row

        out: builtins.list[Any] = []
        models: builtins.list[Any] = []
        pending: builtins.list[Any] = []  # dicts to validate in one batch, and where they go
        pending_at: builtins.list[int] = []
        for i, d in enumerate(data):
            if d.__class__ is model and trust and not d.__pydantic_extra__:
                if stamping:
                    d = self._stamped(d, stamps, version, now)
                models.append(d)
                if plain:  # to_row inlined: this is the loop of a 100k-row bulk_create
                    row = dict(d.__dict__)
                    row.pop("ns", None)
                    out.append(row)
                else:
                    out.append(to_row(d))
            elif isinstance(d, Mapping) and fields.issuperset(d):
                raw = d
                if stamping or deleted:
                    raw = dict(d)  # the caller's dict is never changed
                    for f in stamps:
                        if raw.get(f) is None:
                            raw[f] = now
                    if version and raw.get(version) is None:
                        raw[version] = 1
                    if deleted:
                        raw.setdefault(deleted, None)
                pending.append(raw)
                pending_at.append(i)
                models.append(None)
                out.append(None)
            else:
                models.append(None)
                # the slow path names the problem
                out.append(self._new_row(d, operation, i + offset, now))
        if pending:
            validated = self._validate_batch(pending, operation, [i + offset for i in pending_at])
            for i, obj in zip(pending_at, validated, strict=True):
                models[i] = obj
                out[i] = to_row(obj)
        if self._datetime_fields or self._datetime_lists:
            for i, row in enumerate(out):
                changes = self._utc_changes(row)
                if changes:
                    row.update(changes)  # a fresh dump, never the caller's dict
                    model_i = models[i]
                    if model_i is not None:
                        models[i] = model_i.model_copy(update=changes)
        return out, models

    def _utc_changes(self, row: Mapping[str, Any]) -> Row | None:
        """The datetimes of ``row``'s datetime fields that are not aware UTC, made so (naive
        means UTC); ``None`` when all are."""
        changes: Row | None = None
        for name in self._datetime_fields:
            value = row.get(name)
            if isinstance(value, _dt.datetime) and value.tzinfo is not _dt.UTC:
                changes = changes or {}
                changes[name] = as_utc(value)
        for name in self._datetime_lists:
            value = row.get(name)
            if isinstance(value, list | tuple) and any(
                isinstance(e, _dt.datetime) and e.tzinfo is not _dt.UTC for e in value
            ):
                changes = changes or {}
                changes[name] = [as_utc(e) if isinstance(e, _dt.datetime) else e for e in value]
        return changes

    def _utc_models(self, models: Sequence[T]) -> None:
        """Make the datetimes of freshly validated ``models`` aware UTC, in place (a database
        that stores naive datetimes returns them naive; naive means UTC)."""
        for model in models:
            values = model.__dict__
            changes = self._utc_changes(values)
            if changes:
                values.update(changes)

    def _stamped(self, obj: T, stamps: Sequence[str], version: str | None, now: _dt.datetime) -> T:
        """A model instance with the unset metadata fields filled in (a copy when any was)."""
        updates: dict[str, Any] = {f: now for f in stamps if getattr(obj, f) is None}
        if version and getattr(obj, version) is None:
            updates[version] = 1
        return obj.model_copy(update=updates) if updates else obj

    def _validate_batch(
        self, raws: builtins.list[Any], operation: str, items: Sequence[int]
    ) -> builtins.list[T]:
        """Validate many dicts in one call into the model; the error names the failing item."""
        try:
            return self._models_adapter().validate_python(raws)  # type: ignore[no-any-return]
        except ValidationError as exc:
            batch_error = exc
        # Validate one by one only now, to name the first failing item with its own errors.
        validate = self._model_class.model_validate
        for i, raw in zip(items, raws, strict=True):
            try:
                validate(raw)
            except ValidationError as exc:
                raise self._validation(exc, operation, i) from None
        raise self._validation(batch_error, operation, None) from None  # not expected

    async def _insert_new(
        self, data: Sequence[Any], operation: str, now: _dt.datetime
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
                rows.extend(chunk)
                models.extend(chunk_models)
                return chunk

            stored = await streamed(len(data), prepare, operation)
            if stored is not None:
                return rows, models, stored
        rows, models = self._new_rows(data, operation, now)
        self._check_new_ids(rows, operation, 0, set())
        return rows, models, await self._insert(rows)

    def _check_new_ids(
        self, rows: Sequence[Row], operation: str, offset: int, seen: set[Any]
    ) -> None:
        """Conflict error for an id given twice in one batch; ``seen`` carries over chunks."""
        id_field = self.id_field
        ids = [r.get(id_field) for r in rows]
        fresh = set(ids)
        fresh.discard(None)
        if len(fresh) == len(ids) - ids.count(None) and not fresh & seen:
            seen |= fresh
            return
        for i, key in enumerate(ids, offset):  # look again one by one, to name the item
            if key is not None and key in seen:
                raise self._error(
                    f"duplicate id {key!r} in the batch", operation, item=i, kind=XRepoConflictError
                )
            seen.add(key)

    def _stored_models(
        self, stored: Sequence[Row], rows: Sequence[Row], models: Sequence[T | None]
    ) -> builtins.list[T]:
        """Models for stored rows, reusing the validated ones where the row came back as is."""
        id_field = self.id_field
        out: builtins.list[T] = []
        for s, r, m in zip(stored, rows, models, strict=True):
            if m is not None and s is r and getattr(m, id_field) == s.get(id_field):
                out.append(m)
            else:
                out.append(self._to_model(s))
        return out

    def _new_row(self, data: Any, operation: str, item: int | None, now: _dt.datetime) -> Row:
        """Validate one input (model or dict) into a storable row with metadata fields set."""
        if isinstance(data, self._model_class):
            raw: dict[str, Any] = self._dump(data)
        elif isinstance(data, Mapping):
            raw = dict(data)
            unknown = [k for k in raw if k not in self._fields]
            if unknown:
                names = ", ".join(repr(u) for u in sorted(map(str, unknown)))
                raise self._error(
                    f"unknown field(s) {names}; known: {', '.join(sorted(self._fields))}",
                    operation,
                    item=item,
                )
        else:
            raise self._error(
                f"expected a {self._model_class.__name__} or a dict, got {type(data).__name__}",
                operation,
                item=item,
            )
        m = self.metadata
        if m.auto_timestamps:
            for f in (m.created_at_field, m.updated_at_field):
                if self._has(f) and raw.get(f) is None:
                    raw[f] = now
        if self._version and raw.get(self._version) is None:
            raw[self._version] = 1
        if self.soft_deletes:
            raw.setdefault(m.deleted_at_field, None)
        try:
            model = self._model_class.model_validate(raw)
        except ValidationError as exc:
            raise self._validation(exc, operation, item) from None
        row = self._dump(model)
        if self._datetime_fields or self._datetime_lists:
            row.update(self._utc_changes(row) or {})
        return row

    def _validation(
        self, exc: ValidationError, operation: str, item: int | None
    ) -> XRepoValidationError:
        errors = [
            {"loc": ".".join(str(p) for p in e.get("loc", ())) or "(root)", "msg": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        listed = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        where = f" (item {item})" if item is not None else ""
        return XRepoValidationError(
            f"invalid {self._model_class.__name__}{where}: {listed}",
            repo=self.name,
            operation=operation,
            item=item,
            errors=errors,
        )

    def _changes(
        self, data: Any, operation: str, item: int | None, now: _dt.datetime
    ) -> tuple[Row, int | None]:
        """Validate a partial update: known fields, right types; returns (changes, version)."""
        if isinstance(data, BaseModel):
            data = data.model_dump(exclude_unset=True)
        if not isinstance(data, Mapping):
            raise self._error(
                f"update data must be a dict, got {type(data).__name__}", operation, item=item
            )
        changes: Row = {}
        expected: int | None = None
        for key, value in data.items():
            if not isinstance(key, str) or key not in self._fields:
                raise self._error(
                    f"unknown field {key!r}; known: {', '.join(sorted(self._fields))}",
                    operation,
                    item=item,
                )
            if key == self.id_field:
                raise self._error(f"the id field {key!r} cannot be updated", operation, item=item)
            if key == self._version:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise self._error(
                        f"{key!r} must be the integer version you read", operation, item=item
                    )
                expected = value
                continue
            try:
                validated = self._adapter(key).validate_python(value)
            except ValidationError as exc:
                msgs = "; ".join(
                    e["msg"] for e in exc.errors(include_input=False, include_url=False)
                )
                raise self._error(
                    f"invalid value for field {key!r}: {msgs}", operation, item=item
                ) from None
            changes[key] = self._adapter(key).dump_python(validated)
        if not changes and expected is None:
            raise self._error("nothing to update", operation, item=item)
        if self._datetime_fields or self._datetime_lists:
            changes.update(self._utc_changes(changes) or {})
        if self.metadata.auto_timestamps and self._has(self.metadata.updated_at_field):
            changes.setdefault(self.metadata.updated_at_field, now)
        return changes, expected

    def _to_models(self, rows: Sequence[Mapping[str, Any]]) -> builtins.list[T]:
        """Many rows as models; attribute lookups hoisted out of the loop (hot path)."""
        if self._json_fields:
            return [self._to_model(r) for r in rows]
        try:
            models: builtins.list[T] = self._models_adapter().validate_python(rows)
        except ValidationError:
            return [self._to_model(r) for r in rows]  # names the failing record
        if self._datetime_fields or self._datetime_lists:
            self._utc_models(models)
        return models

    def _models_adapter(self) -> TypeAdapter[Any]:
        """``list[model]`` in one validator call: a fifth faster than a loop of model_validate."""
        adapter = self._list_adapter
        if adapter is None:
            adapter = TypeAdapter(builtins.list[self._model_class])  # type: ignore[name-defined]
            self._list_adapter = adapter
        return adapter

    def _to_model(self, row: Mapping[str, Any]) -> T:
        data = dict(row)
        for name in self._json_fields:
            value = data.get(name)
            if isinstance(value, str | bytes):
                with contextlib.suppress(ValueError):
                    data[name] = json.loads(value)
        try:
            model = self._model_class.model_validate(data)
        except ValidationError as exc:
            repaired = self._repair(dict(row)) if self._repair is not None else None
            if repaired is not None:
                # The store reads some values in another type than the model's (MongoDB's
                # ObjectIds in str fields without its decoding collection): it converts them.
                return self._to_model(repaired)
            raise XRepoValidationError(
                f"stored record {data.get(self.id_field)!r} does not fit "
                f"{self._model_class.__name__}: "
                + "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors(include_input=False, include_url=False)
                ),
                repo=self.name,
                operation="read",
            ) from None
        if self._datetime_fields or self._datetime_lists:
            self._utc_models([model])
        return model

    # -- the store's primitives ------------------------------------------------------------
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
        """Distinct values at ``path`` (converted to the field's type by :meth:`distinct`)."""
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

    # -- public API ---------------------------------------------------------------------------
    async def create(
        self,
        data: T | Mapping[str, Any],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> T:
        """Validate and store one record; returns it as stored (generated id, timestamps)."""
        ctx = self._context(user_id, context)
        started = time.perf_counter()
        row = self._new_row(data, "create", None, _now())
        await self._check_permission(Permission.CREATE, ctx, row)
        (stored,) = await self._insert([row])
        await self._written()
        await self._audit_operation("create", ctx, stored.get(self.id_field), stored)
        await self._update_stats("create", (time.perf_counter() - started) * 1000)
        return self._to_model(stored)

    async def bulk_create(
        self,
        data: Sequence[T | Mapping[str, Any]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> list[T]:
        """Store many records atomically: on any failure nothing is written and the error
        names the failing item (``error.item``)."""
        ctx = self._context(user_id, context)
        if not self._is_batch(data):
            raise self._error("bulk_create needs a list of records", "bulk_create")
        started = time.perf_counter()
        if not data:
            return []
        if not isinstance(data, list | tuple):
            data = list(data)  # backends slice the batch into chunks
        await self._check_permission(Permission.CREATE, ctx, {"count": len(data)})
        rows, models, stored = await self._insert_new(data, "bulk_create", _now())
        await self._written()
        await self._audit_operation("bulk_create", ctx, None, {"count": len(stored)})
        await self._update_stats("bulk_create", (time.perf_counter() - started) * 1000)
        return self._stored_models(stored, rows, models)

    async def read(
        self,
        id: Any,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> T | None:
        """The record with this id, or ``None`` (soft-deleted ones only with include_deleted)."""
        ctx = self._context(user_id, context)
        await self._check_permission(Permission.READ, ctx)
        started = time.perf_counter()
        node = self._restrict(
            self._id_node(id, "read"), Permission.READ, ctx, include_deleted=include_deleted
        )
        rows = await self._read_through(
            "select", (node, (), 0, 1), lambda: self._select(node, (), 0, 1)
        )
        out = self._to_model(rows[0]) if rows else None
        await self._update_stats("read", (time.perf_counter() - started) * 1000)
        return out

    async def exists(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> bool:
        """Whether a (not soft-deleted) record with this id exists."""
        ctx = self._context(user_id, context)
        await self._check_permission(Permission.READ, ctx)
        started = time.perf_counter()
        node = self._restrict(self._id_node(id, "exists"), Permission.READ, ctx)
        found = await self._read_through("count", node, lambda: self._count(node)) > 0
        await self._update_stats("exists", (time.perf_counter() - started) * 1000)
        return found

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
    ) -> list[T]:
        """Records matching ``filters`` sorted by ``sort`` (then by id), paged by skip/limit."""
        ctx = self._context(user_id, context)
        await self._check_permission(Permission.LIST, ctx)
        started = time.perf_counter()
        node = self._filter(filters, "list", Permission.LIST, ctx, include_deleted=include_deleted)
        keys = self._sort(sort, "list")
        skip, limit = self._page(skip, limit, "list")
        if limit == 0:
            return []
        rows = await self._read_through(
            "select", (node, keys, skip, limit), lambda: self._select(node, keys, skip, limit)
        )
        out = self._to_models(rows)
        await self._update_stats("list", (time.perf_counter() - started) * 1000)
        return out

    async def find_one(
        self,
        filters: Mapping[str, Any],
        user_id: str | None = None,
        *,
        sort: Any = None,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> T | None:
        """The first record matching ``filters`` (by ``sort``, then id), or ``None``."""
        ctx = self._context(user_id, context)
        await self._check_permission(Permission.READ, ctx)
        started = time.perf_counter()
        node = self._filter(
            filters, "find_one", Permission.READ, ctx, include_deleted=include_deleted
        )
        keys = self._sort(sort, "find_one")
        rows = await self._read_through(
            "select", (node, keys, 0, 1), lambda: self._select(node, keys, 0, 1)
        )
        out = self._to_model(rows[0]) if rows else None
        await self._update_stats("find_one", (time.perf_counter() - started) * 1000)
        return out

    async def count(
        self,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> int:
        """How many records match ``filters``."""
        ctx = self._context(user_id, context)
        await self._check_permission(Permission.LIST, ctx)
        started = time.perf_counter()
        node = self._filter(filters, "count", Permission.LIST, ctx, include_deleted=include_deleted)
        found = await self._read_through("count", node, lambda: self._count(node))
        await self._update_stats("count", (time.perf_counter() - started) * 1000)
        return found

    async def distinct(
        self,
        field: str,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> builtins.list[Any]:
        """Distinct non-null values of ``field`` among matching records, in sort order."""
        ctx = self._context(user_id, context)
        await self._check_permission(Permission.LIST, ctx)
        check_path(field, error=lambda m: self._error(m, "distinct"))
        if field.split(".", 1)[0] not in self._fields:
            raise self._error(
                f"unknown field {field!r}; known: {', '.join(sorted(self._fields))}", "distinct"
            )
        started = time.perf_counter()
        node = self._filter(
            filters, "distinct", Permission.LIST, ctx, include_deleted=include_deleted
        )
        found = await self._read_through(
            "distinct", (field, node), lambda: self._distinct(field, node)
        )
        values = sorted(self._distinct_typed(field, found), key=sort_key)
        await self._update_stats("distinct", (time.perf_counter() - started) * 1000)
        return values

    def _distinct_typed(self, field: str, values: builtins.list[Any]) -> builtins.list[Any]:
        """Distinct values with the Python types ``list()`` gives the field (its element type
        for a list field): a backend's ``0``/``1`` for a bool, ISO text for a datetime...
        Paths inside documents and untyped fields keep the values the backend returned."""
        ftype = self._field_types.get(field)
        if ftype is None or ftype.scalar not in SCALAR_KINDS:
            return values
        adapter = self._adapter(field)
        listed = ftype.kind is Kind.LIST
        out: dict[Any, Any] = {}
        for value in values:
            try:
                typed = (
                    next(iter(adapter.validate_python([value])))
                    if listed
                    else adapter.validate_python(value)
                )
            except ValidationError:
                typed = value
            if isinstance(typed, _dt.datetime):
                typed = as_utc(typed)
            out.setdefault(freeze(typed), typed)  # "1.0" and "1.00" are one Decimal
        return builtins.list(out.values())

    async def update(
        self,
        id: Any,
        data: Mapping[str, Any],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> T | None:
        """Change fields of one record; ``None`` when it does not exist.

        With a ``version`` field, pass the version you read in ``data``: a stale one raises
        :class:`XRepoConflictError` and changes nothing. The version is incremented on every
        update.
        """
        ctx = self._context(user_id, context)
        started = time.perf_counter()
        changes, expected = self._changes(data, "update", None, _now())
        await self._check_permission(Permission.UPDATE, ctx, changes)
        node = self._restrict(self._id_node(id, "update"), Permission.UPDATE, ctx)
        item = (
            self._versioned(node, expected),
            self._bump(changes),
            node if expected is not None else None,
        )
        try:
            (n,) = await self._update_where([item])
        except VersionConflict:
            raise self._error(
                f"record {id!r} was changed by someone else (version "
                f"{expected} is stale); read it again and retry",
                "update",
                kind=XRepoConflictError,
            ) from None
        if n == 0:
            return None
        await self._written()
        rows = await self._select(node, (), 0, 1)
        await self._audit_operation("update", ctx, id, changes)
        out = self._to_model(rows[0]) if rows else None
        await self._update_stats("update", (time.perf_counter() - started) * 1000)
        return out

    def _versioned(self, node: Node, expected: int | None) -> Node:
        if expected is None or self._version is None:
            return node
        return And((node, Condition(self._version, "eq", expected)))

    def _bump(self, changes: Row) -> Row:
        if self._version is None:
            return changes
        return {**changes, self._version: INCREMENT}

    async def bulk_update(
        self,
        updates: Sequence[tuple[Any, Mapping[str, Any]]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> int:
        """Apply ``(id, changes)`` pairs atomically; returns how many records changed.

        Missing ids are skipped (not counted); a stale version raises
        :class:`XRepoConflictError` naming the item, and nothing is written.
        """
        ctx = self._context(user_id, context)
        if isinstance(updates, Mapping | str) or not isinstance(updates, Sequence):
            raise self._error("bulk_update needs a list of (id, changes) pairs", "bulk_update")
        started = time.perf_counter()
        now = _now()
        batch: builtins.list[UpdateItem] = []
        for i, pair in enumerate(updates):
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise self._error(
                    "each update must be an (id, changes) pair", "bulk_update", item=i
                )
            id_, data = pair
            changes, expected = self._changes(data, "bulk_update", i, now)
            node = self._restrict(
                self._id_node(self._check_id(id_, "bulk_update", i), "bulk_update"),
                Permission.UPDATE,
                ctx,
            )
            batch.append(
                (
                    self._versioned(node, expected),
                    self._bump(changes),
                    node if expected is not None else None,
                )
            )
        if not batch:
            return 0
        await self._check_permission(Permission.UPDATE, ctx, {"count": len(batch)})
        try:
            counts = await self._update_where(batch)
        except VersionConflict as conflict:
            raise self._error(
                f"item {conflict.item}: record was changed by someone else (stale version); "
                "nothing was written",
                "bulk_update",
                item=conflict.item,
                kind=XRepoConflictError,
            ) from None
        await self._written()
        await self._audit_operation("bulk_update", ctx, None, {"count": sum(counts)})
        await self._update_stats("bulk_update", (time.perf_counter() - started) * 1000)
        return sum(counts)

    async def delete(
        self,
        id: Any,
        soft: bool | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> bool:
        """Delete one record: soft (sets ``deleted_at``) when the repo soft-deletes and ``soft``
        is not ``False``, else for good. Returns whether a record was deleted."""
        return (
            await self.bulk_delete(
                [id], soft=soft, user_id=user_id, context=context, _operation="delete"
            )
            == 1
        )

    async def bulk_delete(
        self,
        ids: Sequence[Any],
        soft: bool | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        _operation: str = "bulk_delete",
    ) -> int:
        """Delete many records in one atomic statement; returns how many were deleted."""
        ctx = self._context(user_id, context)
        if not self._is_batch(ids):
            raise self._error("bulk_delete needs a list of ids", _operation)
        started = time.perf_counter()
        checked = [self._check_id(x, _operation, i) for i, x in enumerate(ids)]
        if not checked:
            return 0
        use_soft = self.soft_deletes if soft is None else soft
        if use_soft and not self.soft_deletes:
            raise self._error(
                f"soft delete needs a {self.metadata.deleted_at_field!r} field on "
                f"{self._model_class.__name__} (and metadata.soft_delete); pass soft=False to "
                "delete for good",
                _operation,
                kind=XRepoConfigurationError,
            )
        await self._check_permission(Permission.DELETE, ctx, {"ids": checked})
        node = self._restrict(
            Condition(self.id_field, "in", tuple(checked)),
            Permission.DELETE,
            ctx,
            include_deleted=not use_soft,
        )
        if use_soft:
            now = _now()
            changes: Row = {self.metadata.deleted_at_field: now}
            if self.metadata.auto_timestamps and self._has(self.metadata.updated_at_field):
                changes[self.metadata.updated_at_field] = now
            (n,) = await self._update_where([(node, self._bump(changes), None)])
        else:
            n = await self._delete_where(node)
        await self._written()
        await self._audit_operation(
            _operation,
            ctx,
            checked[0] if len(checked) == 1 else None,
            {"ids": checked, "soft": use_soft, "count": n},
        )
        await self._update_stats(_operation, (time.perf_counter() - started) * 1000)
        return n

    async def restore(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> T | None:
        """Undo a soft delete; ``None`` when there is no soft-deleted record with this id."""
        ctx = self._context(user_id, context)
        if not self.soft_deletes:
            raise self._error(
                "this repository does not soft-delete", "restore", kind=XRepoConfigurationError
            )
        await self._check_permission(Permission.UPDATE, ctx)
        id_node = self._id_node(id, "restore")
        deleted = Not(Condition(self.metadata.deleted_at_field, "eq", None))
        node = self._restrict(And((id_node, deleted)), Permission.UPDATE, ctx, include_deleted=True)
        changes: Row = {self.metadata.deleted_at_field: None}
        if self.metadata.auto_timestamps and self._has(self.metadata.updated_at_field):
            changes[self.metadata.updated_at_field] = _now()
        (n,) = await self._update_where([(node, self._bump(changes), None)])
        if not n:
            return None
        await self._written()
        await self._audit_operation("restore", ctx, id, changes)
        return await self.read(id, context=ctx)

    async def get_statistics(self) -> RepoStats:
        """The spec's ``RepoStats``: counts, cardinalities, storage and index statistics (see
        :mod:`xrepo.stats.repo_stats`), and per-operation latency (``query_performance``,
        ``latency``) when ``metadata.enable_statistics``."""
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
        ring: AuditRing | None = self._audit_ring
        if ring is None:
            raise XRepoConfigurationError(
                "auditing is off for this repository (RepoMetadata.enable_audit=False); "
                "enable it, or give it an audit logger: "
                "XRepoFactory.create(..., audit=AuditLogger(sink))",
                repo=self.name,
                operation="get_audit_log",
            )
        return ring.entries(filters, limit=limit)

    async def aggregate(
        self,
        pipeline: Sequence[Mapping[str, Any]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> builtins.list[dict[str, Any]]:
        """Run a MongoDB-style pipeline natively on the backend; returns plain dicts."""
        ctx = self._context(user_id, context)
        await self._check_permission(Permission.LIST, ctx)
        parsed = parse_pipeline(
            pipeline, fields=set(self._fields), limits=self._limits, repo=self.name
        )
        check_lookups(parsed, self._lookup_sources(), repo=self.name)
        stages = self._check_stages(type_stages(parsed, self._field_types))
        scope = self._restrict(And(()), Permission.LIST, ctx, include_deleted=include_deleted)
        if not (isinstance(scope, And) and not scope.children):
            stages = [Match(scope), *stages]
        started = time.perf_counter()
        out = await self._read_through("aggregate", stages, lambda: self._aggregate(stages))
        await self._update_stats("aggregate", (time.perf_counter() - started) * 1000)
        return out

    def _lookup_sources(self) -> frozenset[str] | None:
        """The collections a ``$lookup`` may read (``RepoMetadata.lookups``); ``None``: any."""
        declared = self.metadata.lookups
        return None if isinstance(declared, str) else frozenset(declared)

    def _check_stages(self, stages: builtins.list[Stage]) -> builtins.list[Stage]:
        """The parsed pipeline as it will run, before the caller's scope is put first (a seam:
        access control checks and rewrites stages here; unchanged in this base class)."""
        return stages
