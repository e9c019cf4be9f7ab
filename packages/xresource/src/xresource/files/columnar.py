"""``ColumnarFileResource``: a file that a columnar engine (DuckDB) can read where it lies.

CSV, JSON / JSON Lines and Parquet files are such files: :meth:`ColumnarFileResource.engine`
yields a connected in-memory :class:`~xresource.databases.duckdb.DuckDBResource` in which the
file is a view, so that it is counted, aggregated and profiled in SQL, in parallel, without
loading it into Python. Excel and YAML files are not (``ExcelResource.engine`` is the name of
its parser option): tell them apart with ``isinstance(resource, ColumnarFileResource)``.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from xresource.errors import XResourceNotFoundError, XResourceValidationError
from xresource.files._engine import engine_database, open_engine
from xresource.files.base import FileResource

if TYPE_CHECKING:
    from xresource.databases.duckdb import DuckDBResource

__all__ = ["ColumnarFileResource"]


class ColumnarFileResource(FileResource):
    """A file resource with a columnar engine (the ``duckdb`` extra): see the module docs."""

    @property
    def engine_view(self) -> str:
        """The name of the file's view in :meth:`engine`: the file's collection name (its stem),
        or ``records`` when the stem holds control characters (no SQL name can)."""
        stem = self.stem
        return stem if stem and not any(ord(c) < 32 or ord(c) == 127 for c in stem) else "records"

    @asynccontextmanager
    async def engine(self, *, infer_types: bool | int = False) -> AsyncIterator[DuckDBResource]:
        """The file in a columnar engine: a connected in-memory DuckDB database in which the
        file is the read-only view :attr:`engine_view`.

        DuckDB reads the file where it lies, in parallel, whenever a query needs it. The view
        gives the records :meth:`read` gives (for CSV, the same strings: header names,
        delimiter, quotes, encoding, empty strings); the database closes when the block ends.
        Quote the view's name with the engine's dialect, as any identifier.

        ``infer_types=True`` lets DuckDB type the columns of a CSV file (numbers, dates,
        booleans; empty fields become NULL), for statistics on typed columns rather than text.
        DuckDB's sniffer reads a sample (the first 20,480 rows); ``infer_types=<n>`` sniffs
        ``n`` rows, ``-1`` all of them (a full pass, once). A later value that does not fit
        its column fails the query that reaches it (``XResourceValidationError``), never a
        wrong value. JSON and Parquet values are typed either way.

        Examples:
            >>> csv = CSVResource(path="big.csv")  # doctest: +SKIP
            >>> async with csv.engine() as db:  # doctest: +SKIP
            ...     view = db.dialect.quote(csv.engine_view)
            ...     rows = await db.fetch_value(f"SELECT count(*) FROM {view}")

        Raises:
            MissingExtraError: DuckDB is not installed (``pip install 'xresource[duckdb]'``).
            XResourceNotFoundError: the file does not exist.
            XResourceConfigurationError: an option of the file that DuckDB cannot honour (an
                encoding it does not decode...): the error names it; use ``read_stream()``.
        """
        if (
            isinstance(infer_types, int)
            and not isinstance(infer_types, bool)
            and (infer_types == 0 or infer_types < -1)
        ):
            raise self._error(
                XResourceValidationError,
                f"infer_types must be True, False, a number of rows or -1, got {infer_types!r}",
                "engine",
            )
        db = engine_database()  # first: without the extra, nothing else is worth checking
        path = await self._readable("engine")
        if path is None:
            raise self._error(
                XResourceNotFoundError,
                f"file {self.path!r} does not exist yet: the engine reads existing files only",
                "engine",
            )
        source = await asyncio.to_thread(self._engine_source, path, infer_types)
        async with open_engine(db, self.engine_view, source) as connected:
            yield connected

    @abstractmethod
    def _engine_source(self, path: Path, infer_types: bool | int = False) -> str:
        """The DuckDB table expression that reads ``path`` (runs in a worker thread)."""
