"""``DerivedRepo``: a read-only repository whose records are computed from other repositories.

Views (joins across resources) and aggregate repositories share this: a subclass computes its
rows for a query (:meth:`DerivedRepo._rows`, told what it may push down to its sources) and the
in-memory engine (:mod:`xrepo.compile`, the ``MaterializedRepo`` engine) does the rest:
filtering, sorting, paging, distinct values and whole pipelines. Writes fail with
:class:`XRepoReadOnlyError`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel

from xrepo._context import RepoContext
from xrepo.compile import compile_filter, freeze, get_path, run_pipeline, sort_rows, thaw
from xrepo.errors import XRepoError
from xrepo.query import (
    And,
    Count,
    Group,
    Lookup,
    Match,
    Node,
    Project,
    Sort,
    SortKey,
    Stage,
    Unwind,
    conditions,
)
from xrepo.repos import RepoMetadata, XRepo
from xrepo.stores import Row, RowLayout, UpdateItem

T = TypeVar("T", bound=BaseModel)

__all__ = ["DerivedRepo", "DerivedStore", "XRepoReadOnlyError", "needed_fields", "run_engine"]

#: Above this many rows the in-memory steps run in a worker thread.
THREAD_THRESHOLD = 20_000


class XRepoReadOnlyError(XRepoError, PermissionError):
    """The repository is a view or an aggregate: it is read-only; write to its sources."""


def needed_fields(stages: Sequence[Stage]) -> set[str] | None:
    """Top-level fields a pipeline reads before it reshapes its documents (``None``: all)."""
    used: set[str] = set()
    for stage in stages:
        if isinstance(stage, Match):
            used |= {c.path.split(".", 1)[0] for c in conditions(stage.node)}
        elif isinstance(stage, Sort):
            used |= {p.split(".", 1)[0] for p, _ in stage.keys}
        elif isinstance(stage, Unwind):
            used.add(stage.path.split(".", 1)[0])
        elif isinstance(stage, Group):
            used |= {k.split(".", 1)[0] for k in stage.key_paths}
            used |= {a.path.split(".", 1)[0] for a in stage.accumulators.values() if a.path}
            return used
        elif isinstance(stage, Project):
            if stage.include is None:
                return None
            used |= {s.split(".", 1)[0] for s in stage.include.values() if isinstance(s, str)}
            return used
        elif isinstance(stage, Count):
            return used
        elif isinstance(stage, Lookup):
            return None
    return None


async def run_engine(fn: Any, rows: builtins.list[Row]) -> Any:
    """``fn(rows)``, in a worker thread above :data:`THREAD_THRESHOLD` rows."""
    if len(rows) > THREAD_THRESHOLD:
        return await asyncio.to_thread(fn, rows)
    return fn(rows)


class DerivedStore:
    """The store of a view or an aggregate: rows computed per query by ``rows(node, needed)``
    (the repository's :meth:`DerivedRepo._rows`), then filtered, sorted, paged and aggregated
    by the in-memory engine. Writes are refused."""

    backend = "derived"

    def __init__(
        self,
        rows: Callable[[Node, set[str] | None], Awaitable[builtins.list[Row]]],
        refuse: Callable[[str], NoReturn],
    ) -> None:
        self._rows_of = rows
        self._refuse = refuse

    def bind(self, layout: RowLayout) -> None:
        """Nothing to prepare: the rows are computed per query."""
        return

    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> builtins.list[Row]:
        rows = await self._rows_of(node, None)
        predicate = compile_filter(node)

        def work(rows: builtins.list[Row]) -> builtins.list[Row]:
            end = None if limit is None else skip + limit
            return sort_rows(predicate(rows), sort, limit=end)[skip:end]

        result: builtins.list[Row] = await run_engine(work, rows)
        return result

    async def count(self, node: Node) -> int:
        needed = {c.path.split(".", 1)[0] for c in conditions(node)}
        rows = await self._rows_of(node, needed)
        predicate = compile_filter(node)
        return int(await run_engine(lambda r: len(predicate(r)), rows))

    async def distinct(self, path: str, node: Node) -> builtins.list[Any]:
        needed = {c.path.split(".", 1)[0] for c in conditions(node)} | {path.split(".", 1)[0]}
        rows = await self._rows_of(node, needed)
        matched = compile_filter(node)(rows)
        seen: dict[Any, None] = {}
        for row in matched:
            value = get_path(row, path)
            for v in value if isinstance(value, builtins.list) else [value]:
                if v is not None:
                    seen[freeze(v)] = None
        return [thaw(v) for v in seen]

    async def aggregate(self, stages: builtins.list[Stage]) -> builtins.list[Row]:
        lead: builtins.list[Node] = []
        for stage in stages:
            if not isinstance(stage, Match):
                break
            lead.append(stage.node)
        node: Node = lead[0] if len(lead) == 1 else And(tuple(lead))
        rows = await self._rows_of(node, needed_fields(stages))
        out: builtins.list[Row] = await run_engine(lambda r: run_pipeline(stages, r), rows)
        return out

    async def insert(self, rows: builtins.list[Row]) -> builtins.list[Row]:
        self._refuse("create")

    async def update_where(self, batch: builtins.list[UpdateItem]) -> builtins.list[int]:
        self._refuse("update")

    async def delete_where(self, node: Node) -> int:
        self._refuse("delete")

    async def supports_transactions(self) -> bool:
        """``False``: computed rows have no transaction."""
        return False

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Refused: computed rows have no transaction."""
        self._refuse("transaction")


class DerivedRepo(XRepo[T]):
    """Read-only records computed per query; subclasses implement :meth:`_rows`."""

    backend = "derived"

    def __init__(self, *, model_class: type[T], metadata: RepoMetadata, **kwargs: Any) -> None:
        super().__init__(
            model_class=model_class,
            metadata=metadata,
            store=DerivedStore(self._rows, self._read_only),
            **kwargs,
        )

    @staticmethod
    def _virtual_metadata(
        name: str, model: type[BaseModel], resource_name: str, id_field: str
    ) -> RepoMetadata:
        """The metadata of computed records: a synthetic id, nothing soft-deleted or stamped."""
        return RepoMetadata(
            name=name,
            model_name=model.__name__,
            resource_name=resource_name,
            id_field=id_field,
            soft_delete=False,
            auto_timestamps=False,
        )

    @abstractmethod
    async def _rows(self, node: Node, needed: set[str] | None) -> builtins.list[Row]:
        """The records for a query filtered by ``node`` (a subclass may push all or part of it
        down and must return at least the matching records), with at least the ``needed``
        fields (``None``: all). The caller filters again."""

    # -- writes: refused ------------------------------------------------------------------------
    def _read_only(self, operation: str) -> NoReturn:
        raise XRepoReadOnlyError(
            f"{type(self).__name__} {self.name!r} is read-only (computed from other "
            "repositories); write to its sources instead",
            repo=self.name,
            operation=operation,
        )

    async def create(self, data: Any, user_id: str | None = None, **kw: Any) -> T:
        """Refused: views and aggregates are read-only."""
        self._read_only("create")

    async def bulk_create(
        self, data: Sequence[Any], user_id: str | None = None, **kw: Any
    ) -> builtins.list[T]:
        """Refused: views and aggregates are read-only."""
        self._read_only("bulk_create")

    async def update(
        self, id: Any, data: Mapping[str, Any], user_id: str | None = None, **kw: Any
    ) -> T | None:
        """Refused: views and aggregates are read-only."""
        self._read_only("update")

    async def bulk_update(
        self,
        updates: Sequence[tuple[Any, Mapping[str, Any]]],
        user_id: str | None = None,
        **kw: Any,
    ) -> int:
        """Refused: views and aggregates are read-only."""
        self._read_only("bulk_update")

    async def delete(
        self, id: Any, soft: bool | None = None, user_id: str | None = None, **kw: Any
    ) -> bool:
        """Refused: views and aggregates are read-only."""
        self._read_only("delete")

    async def bulk_delete(
        self, ids: Sequence[Any], soft: bool | None = None, user_id: str | None = None, **kw: Any
    ) -> int:
        """Refused: views and aggregates are read-only."""
        self._read_only(kw.get("_operation", "bulk_delete"))

    async def restore(
        self, id: Any, user_id: str | None = None, *, context: RepoContext | None = None
    ) -> T | None:
        """Refused: views and aggregates are read-only."""
        self._read_only("restore")
