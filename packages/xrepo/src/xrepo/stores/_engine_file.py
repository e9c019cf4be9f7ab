# ruff: noqa: S608 - this module builds SQL text: identifiers are quoted, values bound.
"""``EngineFileStore``: a file (Parquet, JSON Lines, CSV, JSON) queried where it lies by DuckDB.

Reads never load the file into Python: every ``list``/``count``/``distinct``/``aggregate`` opens
the file resource's engine (``async with resource.engine() as db``, a DuckDB connection in which
the file is a read-only view), and runs the statement :class:`~xrepo.stores.SQLStore` compiles
for DuckDB over a view of the file's columns as the model types them (:func:`rows_view`): lists
and documents as JSON, text read as the model's scalar type, a column the file lacks as
``NULL``. DuckDB scans the file in parallel and only the answer comes back.

Writes keep the file semantics of :class:`~xrepo.stores.FileStore`, which does them: the records
are read, the change is applied (ids, conflicts, all or none), and the file is replaced
atomically (temporary file + rename) through the resource; the records are then dropped from
memory, and the next read scans the new file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from xrepo.errors import XRepoConfigurationError, XRepoValidationError
from xrepo.query import Lookup, Node, SortKey, Stage
from xrepo.stores._errors import translate
from xrepo.stores._file import FileStore, allows_none
from xrepo.stores._protocol import BoundLayout, Row, RowLayout, UpdateItem
from xrepo.stores._sql import SQLStore
from xrepo.stores._sql_view import rows_view
from xresource import XResource, XResourceError, XResourceNotFoundError
from xresource.files import ColumnarFileResource

__all__ = ["EngineFileStore"]

#: The alias of the model's rows over the file's engine view, in every statement.
ROWS_VIEW = "xr_rows"


class EngineFileStore(BoundLayout):
    """Records of a file, queried in place by the file resource's DuckDB engine.

    Args:
        resource: a file resource with ``engine()`` (``xresource[duckdb]``), ``read()`` and
            ``write(records, mode=...)``.
        collection: the collection inside the file, for formats that have several.

    Examples:
        >>> repo = XRepo(model_class=Trip, store=EngineFileStore(parquet))  # doctest: +SKIP
    """

    backend = "file"

    def __init__(self, resource: XResource, *, collection: str | None = None) -> None:
        if not isinstance(resource, ColumnarFileResource):
            raise XRepoConfigurationError(
                f"an engine file store needs a file resource with a DuckDB engine (CSV, JSON, "
                f"JSON Lines, Parquet), got {type(resource).__name__}"
            )
        self._resource = resource
        self._writer = FileStore(resource, collection=collection)
        self._types: tuple[tuple[Any, ...], Mapping[str, str]] | None = None

    def bind(self, layout: RowLayout) -> None:
        """Serve the repository of ``layout``."""
        self._check_unbound(layout)
        self._writer.bind(layout)
        self._layout = layout

    @property
    def resource(self) -> XResource:
        """The file resource."""
        return self._resource

    def _optional(self) -> list[str]:
        """Fields whose empty CSV cells read as missing (as :class:`FileStore` reads them; in
        JSON, ``""`` is a string)."""
        if getattr(self._resource, "resource_type", "") != "csv":
            return []
        fields = self.layout.model_class.model_fields
        return [n for n in self.layout.fields if n in fields and allows_none(fields[n].annotation)]

    @property
    def collection(self) -> str | None:
        """The collection inside the file, if any."""
        return self._writer.collection

    # -- reads ----------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _sql(self, operation: str) -> AsyncIterator[SQLStore | None]:
        """A :class:`SQLStore` over the model's view of the file, on a fresh engine connection
        (``None`` when the file does not exist yet: an empty repository)."""
        layout = self.layout
        async with contextlib.AsyncExitStack() as stack:
            try:
                engine: Any = getattr(self._resource, "engine")  # noqa: B009 - file resources only
                db = await stack.enter_async_context(engine())
                view: str = getattr(self._resource, "engine_view")  # noqa: B009
                types = await self._column_types(db, view)
            except XResourceNotFoundError:
                yield None  # a file that does not exist yet is an empty repository
                return
            except XResourceError as exc:
                raise translate(exc, layout.repo, operation) from exc
            store = _RowsStore(db, rows_view(db.dialect, view, types, layout, self._optional()))
            store.bind(layout)
            yield store

    async def _column_types(self, db: Any, view: str) -> Mapping[str, str]:
        """The file's columns and their DuckDB types, asked again only when the file changed
        (another inode, as an atomic rewrite makes, or another modification time or size)."""
        path = str(getattr(self._resource, "path", ""))
        try:
            st = os.stat(path)
            signature: tuple[Any, ...] | None = (path, st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            signature = None
        if signature is not None and self._types is not None and self._types[0] == signature:
            return self._types[1]
        types = await _column_types(db, view)
        self._types = (signature, types) if signature is not None else None
        return types

    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        """Rows matching ``node``, sorted and paged by the engine."""
        async with self._sql("list") as store:
            return [] if store is None else await store.select(node, sort, skip, limit)

    async def count(self, node: Node) -> int:
        """How many rows match ``node``."""
        async with self._sql("count") as store:
            return 0 if store is None else await store.count(node)

    async def distinct(self, path: str, node: Node) -> list[Any]:
        """Distinct values at ``path`` among the rows matching ``node``."""
        async with self._sql("distinct") as store:
            return [] if store is None else await store.distinct(path, node)

    async def aggregate(self, stages: list[Stage]) -> list[Row]:
        """Run a pipeline in the engine (no ``$lookup``: the engine holds the file alone)."""
        for stage in stages:
            if isinstance(stage, Lookup):
                raise XRepoValidationError(
                    f"$lookup from {stage.source!r} is not supported on a file read through its "
                    "engine (the engine holds this file alone); join with a view "
                    "(XRepoFactory.create_view_from_resources) instead",
                    repo=self.layout.repo,
                    operation="aggregate",
                )
        async with self._sql("aggregate") as store:
            return [] if store is None else await store.aggregate(stages)

    # -- writes ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[FileStore]:
        try:
            yield self._writer
        finally:
            await self._writer.release()  # the next read scans the file, not a copy in memory

    async def insert(self, rows: list[Row]) -> list[Row]:
        """Store ``rows`` (ids generated where missing), all or none; the file is rewritten."""
        async with self._writing() as writer:
            return await writer.insert(rows)

    async def update_where(self, batch: list[UpdateItem]) -> list[int]:
        """Apply each ``(node, changes, conflict)``, all or none; the file is rewritten."""
        async with self._writing() as writer:
            return await writer.update_where(batch)

    async def delete_where(self, node: Node) -> int:
        """Remove the rows matching ``node``; the file is rewritten."""
        async with self._writing() as writer:
            return await writer.delete_where(node)

    async def supports_transactions(self) -> bool:
        """``False``: each write is atomic on its own (the file is replaced whole)."""
        return False

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Refused: a file has no transaction a caller could join."""
        return self._writer.transaction()


class _RowsStore(SQLStore):
    """A :class:`SQLStore` whose table is the model's view of the file, as a subquery: one
    statement per call, no view to create first."""

    def __init__(self, db: Any, select: str) -> None:
        super().__init__(db, ROWS_VIEW)
        self._source = f"({select}) AS {db.dialect.quote(ROWS_VIEW)}"

    @property
    def _qualified(self) -> str:
        return self._source


async def _column_types(db: Any, view: str) -> Mapping[str, str]:
    """The columns of the engine's view of the file and their DuckDB types, in file order."""
    rows = await db.fetch_all(
        "SELECT column_name AS name, data_type AS type FROM information_schema.columns "
        f"WHERE table_name = {db.dialect.param(1)} ORDER BY ordinal_position",
        [view],
    )
    return {r["name"]: str(r["type"]) for r in rows}
