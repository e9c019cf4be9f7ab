"""The read operations of a repository: ``read``, ``exists``, ``list``, ``find_one``, ``count``,
``distinct`` and ``aggregate``.

Each public operation checks its caller (``user_id=``/``context=``) and runs the same operation
*as* that caller (``_list_as(caller, ...)``...): the caller is passed explicitly to every step
(:mod:`xrepo.repos._core`). A secured repository resolves its caller once and calls the ``_as``
form itself.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from xrepo._context import Caller, Permission, RepoContext
from xrepo.compile import freeze, sort_key
from xrepo.query import (
    SCALAR_KINDS,
    And,
    Kind,
    Match,
    as_utc,
    check_lookups,
    check_path,
    parse_pipeline,
    type_stages,
)
from xrepo.repos._codec import T
from xrepo.repos._core import RepoCore

__all__ = ["RepoReads"]


class RepoReads(RepoCore[T]):
    """The read operations of :class:`~xrepo.XRepo`."""

    async def read(
        self,
        id: Any,
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> T | None:
        """The record with this id, or ``None`` (soft-deleted ones only with include_deleted)."""
        return await self._read_as(self._context(user_id, context), id, include_deleted)

    async def _read_as(self, caller: Caller, id: Any, include_deleted: bool = False) -> T | None:
        started = time.perf_counter()
        node = self._restrict(
            self._id_node(id, "read"), Permission.READ, caller, include_deleted=include_deleted
        )
        rows = await self._read_through(
            "select", (node, (), 0, 1), lambda: self._select(node, (), 0, 1), caller
        )
        out = self._model(rows[0], caller) if rows else None
        await self._update_stats("read", (time.perf_counter() - started) * 1000)
        return out

    async def exists(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> bool:
        """Whether a (not soft-deleted) record with this id exists."""
        return await self._exists_as(self._context(user_id, context), id)

    async def _exists_as(self, caller: Caller, id: Any) -> bool:
        started = time.perf_counter()
        node = self._restrict(self._id_node(id, "exists"), Permission.READ, caller)
        found = await self._read_through("count", node, lambda: self._count(node), caller) > 0
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
    ) -> builtins.list[T]:
        """Records matching ``filters`` sorted by ``sort`` (then by id), paged by skip/limit."""
        return await self._list_as(
            self._context(user_id, context), filters, skip, limit, sort, include_deleted
        )

    async def _list_as(
        self,
        caller: Caller,
        filters: Mapping[str, Any] | None,
        skip: Any,
        limit: Any,
        sort: Any,
        include_deleted: bool = False,
    ) -> builtins.list[T]:
        started = time.perf_counter()
        node = self._filter(
            filters, "list", Permission.LIST, caller, include_deleted=include_deleted
        )
        keys = self._sort(sort, "list", caller)
        skip, limit = self._page(skip, limit, "list")
        if limit == 0:
            return []
        rows = await self._read_through(
            "select",
            (node, keys, skip, limit),
            lambda: self._select(node, keys, skip, limit),
            caller,
        )
        out = self._models(rows, caller)
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
        return await self._find_one_as(
            self._context(user_id, context), filters, sort, include_deleted
        )

    async def _find_one_as(
        self, caller: Caller, filters: Mapping[str, Any], sort: Any, include_deleted: bool = False
    ) -> T | None:
        started = time.perf_counter()
        node = self._filter(
            filters, "find_one", Permission.READ, caller, include_deleted=include_deleted
        )
        keys = self._sort(sort, "find_one", caller)
        rows = await self._read_through(
            "select", (node, keys, 0, 1), lambda: self._select(node, keys, 0, 1), caller
        )
        out = self._model(rows[0], caller) if rows else None
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
        return await self._count_as(self._context(user_id, context), filters, include_deleted)

    async def _count_as(
        self, caller: Caller, filters: Mapping[str, Any] | None, include_deleted: bool = False
    ) -> int:
        started = time.perf_counter()
        node = self._filter(
            filters, "count", Permission.LIST, caller, include_deleted=include_deleted
        )
        found = await self._read_through("count", node, lambda: self._count(node), caller)
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
        return await self._distinct_as(
            self._context(user_id, context), field, filters, include_deleted
        )

    async def _distinct_as(
        self,
        caller: Caller,
        field: str,
        filters: Mapping[str, Any] | None,
        include_deleted: bool = False,
    ) -> builtins.list[Any]:
        check_path(field, error=lambda m: self._error(m, "distinct"))
        if field.split(".", 1)[0] not in self._fields:
            raise self._error(
                f"unknown field {field!r}; known: {', '.join(sorted(self._fields))}", "distinct"
            )
        started = time.perf_counter()
        node = self._filter(
            filters, "distinct", Permission.LIST, caller, include_deleted=include_deleted
        )
        found = await self._read_through(
            "distinct", (field, node), lambda: self._distinct(field, node), caller
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

    async def aggregate(
        self,
        pipeline: Sequence[Mapping[str, Any]],
        user_id: str | None = None,
        *,
        context: RepoContext | None = None,
        include_deleted: bool = False,
    ) -> builtins.list[dict[str, Any]]:
        """Run a MongoDB-style pipeline natively on the backend; returns plain dicts."""
        return await self._aggregate_as(self._context(user_id, context), pipeline, include_deleted)

    async def _aggregate_as(
        self,
        caller: Caller,
        pipeline: Sequence[Mapping[str, Any]],
        include_deleted: bool = False,
    ) -> builtins.list[dict[str, Any]]:
        parsed = parse_pipeline(
            pipeline, fields=set(self._fields), limits=self._limits, repo=self.name
        )
        check_lookups(parsed, self._lookup_sources(), repo=self.name)
        stages = self._check_stages(type_stages(parsed, self._field_types), caller)
        scope = self._restrict(And(()), Permission.LIST, caller, include_deleted=include_deleted)
        if not (isinstance(scope, And) and not scope.children):
            stages = [Match(scope), *stages]
        started = time.perf_counter()
        out = await self._read_through("aggregate", stages, lambda: self._aggregate(stages), caller)
        await self._update_stats("aggregate", (time.perf_counter() - started) * 1000)
        return out
