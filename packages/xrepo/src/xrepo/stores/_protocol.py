"""The :class:`Store` protocol: what a backend does, and nothing else.

A store answers the seven primitives of the data path (``select``, ``count``, ``distinct``,
``insert``, ``update_where``, ``delete_where``, ``aggregate``) over *validated* input: parsed
filter trees (:mod:`xrepo.query`), sort keys, storable rows. It never sees a caller, a model
instance or an unvalidated value; :class:`~xrepo.XRepo` does all of that once, for every store.

A store serves one repository: the repository binds it to its :class:`RowLayout` (the model's
fields and what they hold) when it is built, and the store compiles its queries from that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from xrepo.errors import XRepoConfigurationError
from xrepo.query import FieldType, FilterLimits, Node, SortKey, Stage

__all__ = [
    "INCREMENT",
    "BoundLayout",
    "Row",
    "RowLayout",
    "Store",
    "UpdateItem",
    "VersionConflict",
]

Row = dict[str, Any]
#: ``(filter, changes, conflict filter or None)``: one item of an update batch.
UpdateItem = tuple[Node, Row, Node | None]


class _Increment:
    """Marker value: add one to the field (optimistic-concurrency version counter)."""

    def __repr__(self) -> str:
        return "INCREMENT"


#: A change value meaning "add one to the field" (the version counter).
INCREMENT: Any = _Increment()


class VersionConflict(Exception):
    """Raised by a store inside its transaction: item ``item`` hit a stale version."""

    def __init__(self, item: int) -> None:
        super().__init__(item)
        self.item = item


@dataclass(frozen=True, eq=False)
class RowLayout:
    """What a store needs to know about the rows of its repository.

    Built by the repository from its model and metadata (:meth:`XRepo.layout`); a store reads it
    to compile queries (columns, array and JSON fields, field kinds) and to name the repository
    in its errors.
    """

    #: The repository's name (in errors).
    repo: str
    model_class: type[BaseModel]
    id_field: str
    #: The model's stored fields.
    fields: frozenset[str]
    #: Fields holding dicts, lists or models (JSON text in SQL).
    json_fields: frozenset[str] = frozenset()
    #: Fields declared as lists.
    array_fields: frozenset[str] = frozenset()
    #: Fields that may hold an array: declared lists and untyped (``Any``) fields.
    maybe_arrays: frozenset[str] = frozenset()
    #: Typed fields (``xrepo.query.field_types``); untyped ones are absent.
    field_types: Mapping[str, FieldType] = field(default_factory=dict)
    #: Fields of a scalar kind (compared by the kind's rules).
    typed_fields: frozenset[str] = frozenset()
    #: Fields declared ``int`` or ``float``.
    numeric_fields: frozenset[str] = frozenset()
    #: The scalar type of a list field's items (``str``, ``int``, ``float``).
    element_types: Mapping[str, type] = field(default_factory=dict)
    #: Whether a model's ``__dict__`` is already its dump (scalar fields, no secrets).
    plain_dump: bool = False
    limits: FilterLimits = field(default_factory=FilterLimits)
    #: The table or collection the metadata names (``RepoMetadata.collection``), if any.
    collection: str | None = None
    #: Metadata indexes (``RepoMetadata.indexes``).
    indexes: Sequence[Sequence[str]] = ()
    #: Validate raw records into storable rows (stores that load records themselves: files).
    prepare: Callable[[list[Any]], list[Row]] | None = None


class BoundLayout:
    """What every built-in store does with its repository's :class:`RowLayout`: keep it, serve
    one repository only, and say so when used before a repository binds it."""

    _layout: RowLayout | None = None

    def _check_unbound(self, layout: RowLayout) -> None:
        """Refuse ``layout`` when this store serves a repository already (the store takes it
        once it has checked it: ``self._layout = layout``)."""
        if self._layout is not None:
            raise XRepoConfigurationError(
                f"this {type(self).__name__} serves repository {self._layout.repo!r} already; "
                "give each repository its own store",
                repo=layout.repo,
            )

    @property
    def layout(self) -> RowLayout:
        """The layout of the repository this store serves."""
        if self._layout is None:
            raise XRepoConfigurationError(
                f"this {type(self).__name__} is not bound to a repository yet; build one with "
                "XRepo(model_class=..., store=...)"
            )
        return self._layout


@runtime_checkable
class Store(Protocol):
    """What a backend does: the contract that :class:`~xrepo.XRepo` runs every operation on.

    ``SQLStore``, ``MongoStore``, ``MemoryStore`` and ``FileStore`` implement it; the
    cross-backend conformance suite (``tests-integration/xrepo/test_repo_conformance.py``) is its
    contract test. A new backend implements these methods and passes that suite.
    """

    #: Backend name for errors and statistics ("memory", "sql", "mongodb", "file"...).
    backend: str

    def bind(self, layout: RowLayout) -> None:
        """Serve the repository described by ``layout`` (called once, by the repository)."""

    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        """Rows matching ``node``, sorted, paged."""

    async def count(self, node: Node) -> int:
        """How many rows match ``node``."""

    async def distinct(self, path: str, node: Node) -> list[Any]:
        """Distinct non-null values at ``path`` among rows matching ``node``, decoded (never
        JSON text); where the value is an array, its distinct elements (MongoDB's semantics).
        The repository converts top-level scalar values to the field's type."""

    async def insert(self, rows: list[Row]) -> list[Row]:
        """Store ``rows`` atomically (all or none); return them as stored (ids filled in)."""

    async def update_where(self, batch: list[UpdateItem]) -> list[int]:
        """Apply each ``(node, changes, conflict)`` in one transaction; rows changed per item.

        A change value of :data:`INCREMENT` adds one to the field (the version counter). When an
        item changes no row but its ``conflict`` node (the record without the version test)
        matches one, raise :class:`VersionConflict` for that item so the transaction rolls
        back.
        """

    async def delete_where(self, node: Node) -> int:
        """Remove rows matching ``node`` for good; how many."""

    async def aggregate(self, stages: list[Stage]) -> list[Row]:
        """Run a validated pipeline natively."""

    async def supports_transactions(self) -> bool:
        """Whether :meth:`transaction` can run (a SQL database, a MongoDB replica set)."""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A transaction on the store's resource, ambient for the block: every primitive of a
        store on that resource called inside it runs in it. Yields the executor (SQL) or the
        session (MongoDB) so that another writer (an audit sink) can join it."""
