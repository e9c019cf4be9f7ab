"""``FileStore``: records of a file resource (CSV, JSON, YAML, Excel...) in the memory engine.

A file has no query engine, so the records are read once (lazily, parsed in a worker thread by
the resource) into the engine of :class:`~xrepo.stores.MemoryStore`, which answers every query.
Each write is applied in memory and written back through the resource with
``write(records, mode="replace")``, which replaces the file atomically (temporary file + rename);
if that write fails the in-memory change is undone, so memory and file never disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import enum
import json
import types
import typing
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from xrepo.errors import XRepoConfigurationError
from xrepo.query import Node, SortKey, Stage
from xrepo.stores._errors import translate
from xrepo.stores._memory import MemoryStore
from xrepo.stores._protocol import Row
from xresource import XResource, XResourceError, XResourceNotFoundError

__all__ = ["FileStore", "allows_none"]


def allows_none(annotation: Any) -> bool:
    """Whether a field of ``annotation`` reads an empty text cell as ``None``."""
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(allows_none(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return allows_none(typing.get_args(annotation)[0])
    return annotation is not str


#: File types whose cells are typed: datetimes, dates, times, Decimals and UUIDs are written as
#: they are (Parquet has a column type for each).
_TYPED_CELLS = frozenset({"parquet"})


def _plain(value: Any, flat: bool, typed: bool = False) -> Any:
    if isinstance(value, enum.Enum):
        value = value.value
    if typed and isinstance(value, _dt.datetime | _dt.date | _dt.time | Decimal | uuid.UUID):
        return value
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict | list | tuple):
        if flat:
            return json.dumps(value, default=str, separators=(",", ":"))
        if isinstance(value, dict):
            return {k: _plain(v, False) for k, v in value.items()}
        return [_plain(v, False) for v in value]
    return value


class FileStore(MemoryStore):
    """Records of a file, held in memory and written back atomically on every change.

    Args:
        resource: a file resource with ``read()`` and ``write(records, mode=...)``.
        collection: the sheet or collection inside the file, for formats that have several.
        indexes: fields to keep hash indexes on (as :class:`MemoryStore`).
    """

    backend = "file"

    def __init__(
        self, resource: XResource, *, collection: str | None = None, indexes: Sequence[str] = ()
    ) -> None:
        if not (hasattr(resource, "read") and hasattr(resource, "write")):
            raise XRepoConfigurationError(
                f"a file store needs a file resource with read() and write(), got "
                f"{type(resource).__name__}"
            )
        super().__init__(indexes=indexes)
        self._resource = resource
        self._file_collection = collection
        self._loaded = False
        self._load_lock: asyncio.Lock | None = None

    @property
    def resource(self) -> XResource:
        """The file resource."""
        return self._resource

    @property
    def collection(self) -> str | None:
        """The sheet or collection inside the file, if any."""
        return self._file_collection

    @property
    def _flat(self) -> bool:
        # CSV cells hold scalars only: structured values are stored as JSON text. So do Parquet
        # cells: a column has one type, which lists and documents of any shape have not.
        return getattr(self._resource, "resource_type", "") in ("csv", "excel", "parquet")

    async def reload(self) -> None:
        """Read the file again, dropping what is in memory."""
        self._loaded = False
        await self._ensure_loaded()

    async def release(self) -> None:
        """Drop the records held in memory (once no write runs); the next use reads the file
        again."""
        async with self._lock:
            self._loaded = False
            self.load([])

    async def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        if self._load_lock is None:
            self._load_lock = asyncio.Lock()
        async with self._load_lock:
            if self._loaded:
                return  # type: ignore[unreachable]  # another task loaded meanwhile
            layout = self.layout
            try:
                records = await self._resource.read(self._file_collection)
            except XResourceNotFoundError:
                records = []  # a file that does not exist yet is an empty repository
            except XResourceError as exc:
                raise translate(exc, layout.repo, "load") from exc
            rows = [self._decode(r) for r in records]
            prepare = layout.prepare
            assert prepare is not None, "the repository gives a file store its row preparation"
            await asyncio.to_thread(lambda: self.load(prepare(rows)))
            self._loaded = True

    def _decode(self, record: Any) -> Row:
        layout = self.layout
        row = {k: v for k, v in dict(record).items() if k in layout.fields}
        fields = layout.model_class.model_fields
        # An empty CSV (or Excel) cell is how a missing value was written; in JSON and Parquet,
        # "" is a string.
        empty_is_none = getattr(self._resource, "resource_type", "") in ("csv", "excel")
        for name, value in row.items():
            if not isinstance(value, str):
                continue
            if name in layout.json_fields and value[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    row[name] = json.loads(value)
            elif value == "" and empty_is_none and allows_none(fields[name].annotation):
                row[name] = None
        return row

    async def _persist(self) -> None:
        flat = self._flat
        typed = getattr(self._resource, "resource_type", "") in _TYPED_CELLS
        records = [
            {k: _plain(v, flat, typed) for k, v in row.items()} for row in self._rows.values()
        ]
        try:
            await self._resource.write(records, mode="replace", collection=self._file_collection)
        except XResourceError as exc:
            raise translate(exc, self.layout.repo, "write") from exc

    async def _before_write(self) -> None:
        await self._ensure_loaded()

    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> list[Row]:
        """Rows matching ``node`` (the file is read on first use)."""
        await self._ensure_loaded()
        return await super().select(node, sort, skip, limit)

    async def count(self, node: Node) -> int:
        """How many rows match ``node`` (the file is read on first use)."""
        await self._ensure_loaded()
        return await super().count(node)

    async def distinct(self, path: str, node: Node) -> list[Any]:
        """Distinct values at ``path`` (the file is read on first use)."""
        await self._ensure_loaded()
        return await super().distinct(path, node)

    async def aggregate(self, stages: list[Stage]) -> list[Row]:
        """Run a pipeline (the file is read on first use)."""
        await self._ensure_loaded()
        return await super().aggregate(stages)
