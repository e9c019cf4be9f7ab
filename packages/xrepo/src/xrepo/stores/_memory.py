"""``MemoryStore``: the in-memory engine, with the same semantics as every other backend.

Records live in an insertion-ordered dict keyed by id. Filters are compiled once per query into a
single list comprehension (:mod:`xrepo.compile`); equality on an indexed field (the id
always, plus ``indexes=[...]``) narrows the candidates before the filter runs. Large scans run in
a worker thread on a snapshot, so a query over a million records never stalls the event loop;
so does every query with a ``$regex``, whose cost depends on the pattern more than on the number
of rows (each evaluation is bounded by ``FilterLimits.regex_timeout``:
:mod:`xrepo.compile`).

Writes are atomic: they are applied under a lock with an undo log, and :meth:`_persist` (a no-op
here; :class:`~xrepo.stores.FileStore` writes the file there) either succeeds or the records are
restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import typing
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from xrepo.compile import (
    compile_filter,
    freeze,
    get_path,
    regex_conditions,
    run_pipeline,
    sort_rows,
    thaw,
)
from xrepo.errors import XRepoConfigurationError, XRepoConflictError, XRepoValidationError
from xrepo.query import And, Condition, Lookup, Match, Node, RegexBoundExceeded, SortKey, Stage
from xrepo.stores._protocol import (
    INCREMENT,
    BoundLayout,
    Row,
    RowLayout,
    UpdateItem,
    VersionConflict,
)

__all__ = ["MemoryStore"]

#: Above this many candidate rows a query runs in a worker thread.
THREAD_THRESHOLD = 20_000
_ABSENT: Any = object()


class MemoryStore(BoundLayout):
    """Records held in memory (data, views, REST snapshots, files), queried by the Python engine.

    Args:
        indexes: fields to keep hash indexes on, for fast equality filters (the metadata's
            single-field ``indexes`` are added).
        related: what ``$lookup`` may read: ``{name: repository or list of dicts}``.

    Examples:
        >>> repo = XRepo(model_class=User, store=MemoryStore(indexes=["email"]))
    """

    backend = "memory"

    def __init__(
        self, *, indexes: Sequence[str] = (), related: Mapping[str, Any] | None = None
    ) -> None:
        self._index_fields = list(indexes)
        self._related: dict[str, Any] = dict(related or {})
        self._rows: dict[Any, Row] = {}
        self._indexes: dict[str, dict[Any, dict[Any, None]]] = {}
        self._lock = asyncio.Lock()
        self._next_int = 1
        self._int_ids = False

    # -- binding ----------------------------------------------------------------------------
    def bind(self, layout: RowLayout) -> None:
        """Serve the repository of ``layout``: its id field, indexes and field kinds."""
        self._check_unbound(layout)
        index_fields = self._index_fields + [i[0] for i in layout.indexes if len(i) == 1]
        for f in index_fields:
            if f not in layout.fields:
                raise XRepoValidationError(
                    f"cannot index unknown field {f!r}", repo=layout.repo, operation="index"
                )
        self._layout = layout
        self._id = layout.id_field
        self._name = layout.repo
        self._indexes = {f: {} for f in index_fields if f != self._id}
        annotation = layout.model_class.model_fields[self._id].annotation
        self._int_ids = int in _flat_types(annotation)

    @property
    def related(self) -> Mapping[str, Any]:
        """The sources ``$lookup`` may read, by name."""
        return self._related

    @property
    def records(self) -> Mapping[Any, Row]:
        """The stored rows by id (read-only view; the store owns them)."""
        return self._rows

    def add_related(self, name: str, source: Any) -> None:
        """Make ``source`` (a repository or a list of dicts) readable by ``$lookup`` as
        ``name``."""
        self._related[name] = source

    # -- loading and indexes --------------------------------------------------------------------
    def load(self, rows: list[Row]) -> None:
        """Replace the records with ``rows`` (storable rows; missing ids are generated)."""
        self._assign_ids(rows, "load")
        self._rows = {}
        for i in self._indexes.values():
            i.clear()
        for row in rows:
            self._put(row)

    def _put(self, row: Row) -> None:
        key = row[self._id]
        old = self._rows.get(key)
        if old is not None:
            self._unindex(old)
        self._rows[key] = row
        for f, index in self._indexes.items():
            value = row.get(f)
            try:
                index.setdefault(value, {})[key] = None
            except TypeError:  # unhashable value: not indexed, found by scanning
                index.setdefault(_Unhashable, {})[key] = None
        if self._int_ids and isinstance(key, int) and key >= self._next_int:
            self._next_int = key + 1

    def _unindex(self, row: Row) -> None:
        key = row[self._id]
        for f, index in self._indexes.items():
            value = row.get(f)
            try:
                bucket = index.get(value)
            except TypeError:
                bucket = index.get(_Unhashable)
            if bucket is not None:
                bucket.pop(key, None)

    def _remove(self, key: Any) -> None:
        row = self._rows.pop(key, None)
        if row is not None:
            self._unindex(row)

    def _assign_ids(self, rows: list[Row], operation: str) -> None:
        seen: set[Any] = set()
        for i, row in enumerate(rows):
            key = row.get(self._id)
            if key is None:
                key = self._new_id()
                row[self._id] = key
            if key in self._rows or key in seen:
                raise XRepoConflictError(
                    f"a record with id {key!r} exists already (item {i})",
                    repo=self._name,
                    operation=operation,
                    item=i,
                )
            seen.add(key)

    def _new_id(self) -> Any:
        if self._int_ids:
            key = self._next_int
            self._next_int += 1
            return key
        return uuid.uuid4().hex

    def _candidates(self, node: Node) -> list[Row] | None:
        """Rows an equality on the id or an indexed field narrows ``node`` to (None: all)."""
        conds = (
            [node]
            if isinstance(node, Condition)
            else (
                [c for c in node.children if isinstance(c, Condition)]
                if isinstance(node, And)
                else []
            )
        )
        for c in conds:
            if c.path == self._id and c.op in ("eq", "in"):
                keys = [c.value] if c.op == "eq" else list(c.value)
                out: list[Row] = []
                for k in dict.fromkeys(keys):
                    try:
                        row = self._rows.get(k)
                    except TypeError:
                        continue
                    if row is not None:
                        out.append(row)
                return out
        for c in conds:
            index = self._indexes.get(c.path)
            if index is not None and c.op == "eq" and c.value is not None:
                try:
                    bucket = index.get(c.value, {})
                except TypeError:
                    continue
                extra = index.get(_Unhashable, {})
                ids = list(bucket) + [k for k in extra if k not in bucket]
                return [self._rows[k] for k in ids]
        return None

    def _compile(self, node: Node) -> Any:
        layout = self.layout
        return compile_filter(
            node,
            array_fields=layout.maybe_arrays,
            typed_fields=layout.typed_fields,
            regex_timeout=layout.limits.regex_timeout,
        )

    async def _scan(self, node: Node, operation: str) -> list[Row]:
        # Called under the write lock: no write changes the rows while a worker thread reads.
        candidates = self._candidates(node)
        if candidates is None:
            candidates = list(self._rows.values())
        matched: list[Row] = await self._run(
            self._compile(node), candidates, operation=operation, regex=node
        )
        return matched

    # -- reads ----------------------------------------------------------------------------------
    async def _run(self, fn: Any, *args: Any, operation: str, regex: Node | None = None) -> Any:
        """``fn(*args)``, in a worker thread for a large scan or a filter with a ``$regex``.

        A ``$regex`` goes to a thread whatever the number of rows: one value may take a pattern
        up to its whole bound (``FilterLimits.regex_timeout``), which must not be spent on the
        event loop; the ``regex`` module releases the GIL while it matches.
        """
        try:
            if len(self._rows) > THREAD_THRESHOLD or (
                regex is not None and any(regex_conditions(regex))
            ):
                return await asyncio.to_thread(fn, *args)
            return fn(*args)
        except RegexBoundExceeded as exc:
            raise exc.for_repo(self._name, operation) from None

    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        """Rows matching ``node``, sorted, paged."""
        candidates = self._candidates(node)
        rows = candidates if candidates is not None else list(self._rows.values())
        predicate = self._compile(node)
        typed = self.layout.typed_fields

        def work() -> list[Row]:
            matched = predicate(rows)
            end = None if limit is None else skip + limit
            ordered = sort_rows(matched, sort, limit=end, typed_fields=typed)
            return ordered[skip:end]

        result: list[Row] = await self._run(work, operation="list", regex=node)
        return result

    async def count(self, node: Node) -> int:
        """How many rows match ``node``."""
        rows = self._candidates(node)
        rows = rows if rows is not None else list(self._rows.values())
        predicate = self._compile(node)
        return int(await self._run(lambda: len(predicate(rows)), operation="count", regex=node))

    async def distinct(self, path: str, node: Node) -> list[Any]:
        """Distinct non-null values at ``path`` (array elements one by one)."""
        candidates = self._candidates(node)
        rows = candidates if candidates is not None else list(self._rows.values())
        predicate = self._compile(node)
        # The snapshot is taken here, on the loop; only the scan runs in a worker thread.
        matched = await self._run(predicate, rows, operation="distinct", regex=node)
        seen: dict[Any, None] = {}
        for row in matched:
            value = get_path(row, path)
            for v in value if isinstance(value, list) else [value]:
                if v is not None:
                    seen[freeze(v)] = None
        return [thaw(v) for v in seen]

    async def aggregate(self, stages: list[Stage]) -> list[Row]:
        """Run a validated pipeline with the Python engine."""
        layout = self.layout
        related = await self._related_rows(stages)
        rows: list[Row]
        if stages and isinstance(stages[0], Match):
            candidates = self._candidates(stages[0].node)
            rows = candidates if candidates is not None else list(self._rows.values())
        else:
            rows = list(self._rows.values())
        out: list[Row] = await self._run(
            lambda: run_pipeline(
                stages,
                rows,
                related=related,
                array_fields=layout.maybe_arrays,
                # Rows loaded from files are validated too, so declared int/float fields hold
                # numbers.
                numeric_fields=layout.numeric_fields,
                typed_fields=layout.typed_fields,
                regex_timeout=layout.limits.regex_timeout,
            ),
            operation="aggregate",
            regex=_pipeline_filters(stages),
        )
        return out

    async def _related_rows(self, stages: list[Stage]) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {}
        for stage in stages:
            if isinstance(stage, Lookup) and stage.source not in out:
                source = self._related.get(stage.source)
                if source is None:
                    raise XRepoValidationError(
                        f"$lookup: unknown source {stage.source!r}; register it with "
                        "related={...} or add_related()",
                        repo=self._name,
                        operation="aggregate",
                    )
                if callable(getattr(source, "aggregate", None)):  # a repository
                    out[stage.source] = await source.aggregate([])
                else:
                    out[stage.source] = [
                        dict(r)
                        if isinstance(r, Mapping)
                        else r.model_dump()
                        if isinstance(r, BaseModel)
                        else r
                        for r in source
                    ]
        return out

    # -- writes ---------------------------------------------------------------------------------
    async def _persist(self) -> None:
        """Write the records through to durable storage; a failure undoes the change."""
        return

    async def _commit(self, undo: list[tuple[Any, Any]]) -> None:
        try:
            await self._persist()
        except BaseException:
            for key, old in reversed(undo):
                if old is _ABSENT:
                    self._remove(key)
                else:
                    self._put(old)
            raise

    async def insert(self, rows: list[Row]) -> list[Row]:
        """Store ``rows`` (ids generated where missing), all or none."""
        async with self._lock:
            await self._before_write()
            self._assign_ids(rows, "create")
            undo: list[tuple[Any, Any]] = []
            for row in rows:
                self._put(row)
                undo.append((row[self._id], _ABSENT))
            await self._commit(undo)
        return rows

    async def update_where(self, batch: list[UpdateItem]) -> list[int]:
        """Apply each ``(node, changes, conflict)``, all or none."""
        async with self._lock:
            await self._before_write()
            undo: list[tuple[Any, Any]] = []
            counts: list[int] = []
            try:
                for i, (node, changes, conflict) in enumerate(batch):
                    matched = await self._scan(node, "update")
                    if (
                        not matched
                        and conflict is not None
                        and await self._scan(conflict, "update")
                    ):
                        raise VersionConflict(i)
                    for row in matched:
                        new = dict(row)
                        for key, value in changes.items():
                            new[key] = (row.get(key) or 0) + 1 if value is INCREMENT else value
                        undo.append((row[self._id], row))
                        self._put(new)
                    counts.append(len(matched))
            except BaseException:
                for _key, old in reversed(undo):
                    self._put(old)
                raise
            await self._commit(undo)
        return counts

    async def delete_where(self, node: Node) -> int:
        """Remove the rows matching ``node``; how many."""
        async with self._lock:
            await self._before_write()
            matched = await self._scan(node, "delete")
            undo: list[tuple[Any, Any]] = []
            for row in matched:
                undo.append((row[self._id], row))
                self._remove(row[self._id])
            try:
                await self._persist()
            except BaseException:
                for _key, old in undo:
                    self._put(old)
                raise
        return len(matched)

    async def _before_write(self) -> None:
        """What a write needs first (:class:`FileStore` loads the file)."""
        return

    # -- transactions -----------------------------------------------------------------------
    async def supports_transactions(self) -> bool:
        """``False``: writes are atomic one by one (a lock and an undo log), with no
        transaction a caller could join."""
        return False

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Refused: a memory store has no transaction a caller could join."""
        raise XRepoConfigurationError(
            f"a {type(self).__name__} has no transactions (supports_transactions() is False)",
            repo=self._layout.repo if self._layout is not None else None,
        )

    def __len__(self) -> int:
        return len(self._rows)


class _UnhashableMarker:
    pass


_Unhashable: Any = _UnhashableMarker


def _flat_types(annotation: Any) -> set[Any]:
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    out: set[Any] = set()
    for a in args:
        out |= _flat_types(a)
    return out


def _pipeline_filters(stages: Sequence[Stage]) -> Node:
    """The filters of a pipeline's ``$match`` stages and ``$lookup`` conditions, as one tree
    (to tell whether the pipeline holds a ``$regex``)."""
    nodes: list[Node] = []
    for stage in stages:
        if isinstance(stage, Match):
            nodes.append(stage.node)
        elif isinstance(stage, Lookup) and stage.where is not None:
            nodes.append(stage.where)
    return And(tuple(nodes))
