"""``XRepo``: the repository over a store; here its write operations, in ``_repo`` because
``XRepo`` is the whole class (its reads and shared steps live in the modules it derives from).

Writes validate every input against the model (:mod:`xrepo.repos._codec`), stamp timestamps and
versions, apply soft deletes, and hand the store storable rows; a bulk operation is all or none.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping, Sequence
from typing import Any

from xrepo._context import Caller, Permission, RepoContext
from xrepo.errors import XRepoConfigurationError, XRepoConflictError
from xrepo.query import And, Condition, Node, Not
from xrepo.repos._annotations import now as _now
from xrepo.repos._codec import T
from xrepo.repos._reads import RepoReads
from xrepo.stores import INCREMENT, Row, UpdateItem, VersionConflict

__all__ = ["XRepo"]


class XRepo(RepoReads[T]):
    """The repository over one model and one store: CRUD, queries, bulk operations,
    aggregation.

    ``XRepo(model_class=User, store=SQLStore(pg, "users"))``: the repository validates every
    filter, sort, page and value against the model, converts models to stored rows and back,
    applies soft deletes, timestamps and versions, and runs each operation on the store
    (:class:`~xrepo.stores.Store`). Models come back as instances of ``model_class``.

    Args:
        model_class: the pydantic model of the records.
        store: where the records live (``MemoryStore``, ``FileStore``, ``SQLStore``,
            ``MongoStore`` or your own :class:`~xrepo.Store`).
        metadata: the :class:`RepoMetadata` (default: named after the model, ``name=`` and
            ``collection=`` when given).
        schema: the schema dict (XInspector's format), if known.
        limits: the :class:`~xrepo.query.FilterLimits` of filters and ``$regex``.
        ns: the repository's namespace path (default ``repos.<name>``).

    An unknown keyword is an :class:`~xrepo.XRepoConfigurationError` naming it.

    Examples:
        >>> repo = XRepo(model_class=User, store=MemoryStore())
        >>> await repo.create({"id": 1, "name": "Ada"})
        >>> await repo.list({"name__startswith": "A"}, sort=[("id", 1)])
        [User(id=1, name='Ada')]
    """

    async def create(
        self,
        data: T | Mapping[str, Any],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> T:
        """Validate and store one record; returns it as stored (generated id, timestamps)."""
        return await self._create_as(self._context(user_id, context), data)

    async def _create_as(self, caller: Caller, data: T | Mapping[str, Any]) -> T:
        started = time.perf_counter()
        row = self._new_row(data, "create", None, _now())
        self._check_rows([row], caller)
        (stored,) = await self._insert([row])
        await self._written()
        await self._audit_operation("create", caller, stored.get(self.id_field), stored)
        await self._update_stats("create", (time.perf_counter() - started) * 1000)
        return self._to_model(stored)

    async def bulk_create(
        self,
        data: Sequence[T | Mapping[str, Any]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> builtins.list[T]:
        """Store many records atomically: on any failure nothing is written and the error
        names the failing item (``error.item``)."""
        return await self._bulk_create_as(self._context(user_id, context), data)

    async def _bulk_create_as(
        self, caller: Caller, data: Sequence[T | Mapping[str, Any]]
    ) -> builtins.list[T]:
        if not self._is_batch(data):
            raise self._error("bulk_create needs a list of records", "bulk_create")
        started = time.perf_counter()
        if not data:
            return []
        if not isinstance(data, builtins.list | tuple):
            data = builtins.list(data)  # backends slice the batch into chunks
        rows, models, stored = await self._insert_new(data, "bulk_create", _now(), caller)
        await self._written()
        await self._audit_operation("bulk_create", caller, None, {"count": len(stored)})
        await self._update_stats("bulk_create", (time.perf_counter() - started) * 1000)
        return self._stored_models(stored, rows, models)

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
        return await self._update_as(self._context(user_id, context), id, data)

    async def _update_as(self, caller: Caller, id: Any, data: Mapping[str, Any]) -> T | None:
        started = time.perf_counter()
        changes, expected = self._changes(data, "update", None, _now())
        node = self._restrict(self._id_node(id, "update"), Permission.UPDATE, caller)
        item = (
            self._versioned(node, expected),
            self._bump(changes),
            node if expected is not None else None,
        )
        await self._check_changes([item], caller)
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
        await self._audit_operation("update", caller, id, changes)
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
        return await self._bulk_update_as(self._context(user_id, context), updates)

    async def _bulk_update_as(
        self, caller: Caller, updates: Sequence[tuple[Any, Mapping[str, Any]]]
    ) -> int:
        if isinstance(updates, Mapping | str) or not isinstance(updates, Sequence):
            raise self._error("bulk_update needs a list of (id, changes) pairs", "bulk_update")
        started = time.perf_counter()
        now = _now()
        batch: builtins.list[UpdateItem] = []
        for i, pair in enumerate(updates):
            if not isinstance(pair, tuple | builtins.list) or len(pair) != 2:
                raise self._error(
                    "each update must be an (id, changes) pair", "bulk_update", item=i
                )
            id_, data = pair
            changes, expected = self._changes(data, "bulk_update", i, now)
            node = self._restrict(
                self._id_node(self._check_id(id_, "bulk_update", i), "bulk_update"),
                Permission.UPDATE,
                caller,
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
        await self._check_changes(batch, caller)
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
        await self._audit_operation("bulk_update", caller, None, {"count": sum(counts)})
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
        caller = self._context(user_id, context)
        return await self._bulk_delete_as(caller, [id], soft, "delete") == 1

    async def bulk_delete(
        self,
        ids: Sequence[Any],
        soft: bool | None = None,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
    ) -> int:
        """Delete many records in one atomic statement; returns how many were deleted."""
        return await self._bulk_delete_as(self._context(user_id, context), ids, soft)

    async def _bulk_delete_as(
        self,
        caller: Caller,
        ids: Sequence[Any],
        soft: bool | None,
        operation: str = "bulk_delete",
    ) -> int:
        if not self._is_batch(ids):
            raise self._error("bulk_delete needs a list of ids", operation)
        started = time.perf_counter()
        checked = [self._check_id(x, operation, i) for i, x in enumerate(ids)]
        if not checked:
            return 0
        use_soft = self.soft_deletes if soft is None else soft
        if use_soft and not self.soft_deletes:
            raise self._error(
                f"soft delete needs a {self.metadata.deleted_at_field!r} field on "
                f"{self._model_class.__name__} (and metadata.soft_delete); pass soft=False to "
                "delete for good",
                operation,
                kind=XRepoConfigurationError,
            )
        node = self._restrict(
            Condition(self.id_field, "in", tuple(checked)),
            Permission.DELETE,
            caller,
            include_deleted=not use_soft,
        )
        if use_soft:
            now = _now()
            changes: Row = {self.metadata.deleted_at_field: now}
            if self.metadata.auto_timestamps and self._has(self.metadata.updated_at_field):
                changes[self.metadata.updated_at_field] = now
            item: UpdateItem = (node, self._bump(changes), None)
            await self._check_changes([item], caller)
            (n,) = await self._update_where([item])
        else:
            n = await self._delete_where(node)
        await self._written()
        await self._audit_operation(
            operation,
            caller,
            checked[0] if len(checked) == 1 else None,
            {"ids": checked, "soft": use_soft, "count": n},
        )
        await self._update_stats(operation, (time.perf_counter() - started) * 1000)
        return n

    async def restore(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> T | None:
        """Undo a soft delete; ``None`` when there is no soft-deleted record with this id."""
        return await self._restore_as(self._context(user_id, context), id)

    async def _restore_as(self, caller: Caller, id: Any) -> T | None:
        if not self.soft_deletes:
            raise self._error(
                "this repository does not soft-delete", "restore", kind=XRepoConfigurationError
            )
        id_node = self._id_node(id, "restore")
        deleted = Not(Condition(self.metadata.deleted_at_field, "eq", None))
        node = self._restrict(
            And((id_node, deleted)), Permission.UPDATE, caller, include_deleted=True
        )
        changes: Row = {self.metadata.deleted_at_field: None}
        if self.metadata.auto_timestamps and self._has(self.metadata.updated_at_field):
            changes[self.metadata.updated_at_field] = _now()
        item: UpdateItem = (node, self._bump(changes), None)
        await self._check_changes([item], caller)
        (n,) = await self._update_where([item])
        if not n:
            return None
        await self._written()
        await self._audit_operation("restore", caller, id, changes)
        return await self._read_back(caller, id)

    async def _read_back(self, caller: Caller, id: Any) -> T | None:
        """The restored record, read as ``caller`` reads it."""
        return await self._read_as(caller, id)
