"""``ParquetResource``: Apache Parquet files, read and written through DuckDB (``duckdb`` extra).

- **Reading** streams the file in chunks (``read_stream``): DuckDB decodes it vector by vector,
  so memory stays bounded by the chunk, whatever the file's size. Values come back typed, as
  the file stores them (``int``, ``float``, ``Decimal``, ``str``, ``bytes``, ``datetime``,
  ``date``, ``UUID``, lists and dicts for nested columns, ``None`` for nulls).
- **Schema** without reading the data: :meth:`ParquetResource.read_schema` (column names, types
  and nullability from the file's own metadata) and :meth:`ParquetResource.row_count`.
- **Writing** is atomic like every file resource's: DuckDB writes the new file into a staging
  directory beside the target (``COPY ... TO ... (FORMAT parquet)``), which then replaces the
  target through the atomic-write helper.
  Each field becomes one typed column, chosen from its values (``int`` and ``float`` together
  make ``DOUBLE``; a field mixing text and numbers is refused, naming the field). Appending
  keeps the file's own schema: new records are cast to its columns.
- **The engine** (``engine()``): the file as a DuckDB view, for SQL over it in place.

Example:
    >>> import asyncio, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
    >>> r = ParquetResource(path=str(path), create_if_missing=True)
    >>> asyncio.run(r.write([{"id": 1, "city": "Köln"}, {"id": 2, "city": None}]))
    2
    >>> asyncio.run(r.read(limit=1))
    [{'id': 1, 'city': 'Köln'}]
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import duckdb
from pydantic import BaseModel, Field

from xresource.databases._duckdb_quiet import quiet_connect
from xresource.databases.dialect import DUCKDB
from xresource.errors import XResourceError, XResourceValidationError
from xresource.files._columns import ColumnTypeError, column_type, insert_columns
from xresource.files._engine import file_pattern, literal, reader_call
from xresource.files._staging import staging_dir
from xresource.files.atomic import atomic_replace, copy_prefix
from xresource.files.base import Record, WriteMode
from xresource.files.columnar import ColumnarFileResource

__all__ = ["ParquetColumn", "ParquetResource"]

Compression = Literal["zstd", "snappy", "gzip", "lz4", "brotli", "uncompressed"]
_STAGING = "__xr_parquet_rows"


class ParquetColumn(BaseModel):
    """One column of a Parquet file, from the file's metadata."""

    name: str
    #: DuckDB's name of the type (``BIGINT``, ``VARCHAR``, ``TIMESTAMP WITH TIME ZONE``,
    #: ``STRUCT(a INTEGER)``...).
    type: str
    #: Whether the file allows nulls in it (Parquet's ``OPTIONAL`` repetition).
    nullable: bool


def _first_line(exc: BaseException) -> str:
    return str(exc).split("\n", 1)[0]


class ParquetResource(ColumnarFileResource):
    """An Apache Parquet file (see module docs).

    Args:
        compression: codec of written files (``zstd`` by default).
        row_group_size: rows per row group of written files.
    """

    resource_type: ClassVar[str] = "parquet"
    format_fields: ClassVar[tuple[str, ...]] = ("compression", "row_group_size")

    compression: Compression = "zstd"
    row_group_size: int = Field(default=122_880, ge=1)

    # -- reading -------------------------------------------------------------------------------
    def _unreadable(self, path: Path, exc: BaseException, operation: str) -> XResourceError:
        return self._error(
            XResourceValidationError,
            f"file {str(path)!r} is not a readable Parquet file ({_first_line(exc)})",
            operation,
        )

    def _engine_source(self, path: Path, infer_types: bool | int = False) -> str:
        # Values are typed in the file already: infer_types changes nothing.
        return reader_call("read_parquet", str(path), {})

    def _iter_chunks(
        self, path: Path, chunk_size: int, collection: str | None
    ) -> Iterator[list[Record]]:
        self._check_single_collection(collection, "read")
        con = quiet_connect()
        try:
            try:
                cursor = con.execute(f"SELECT * FROM {self._engine_source(path)}")  # noqa: S608
                names = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchmany(chunk_size)
            except duckdb.Error as exc:
                raise self._unreadable(path, exc, "read") from None
            while rows:
                yield [dict(zip(names, row, strict=False)) for row in rows]
                try:
                    rows = cursor.fetchmany(chunk_size)
                except duckdb.Error as exc:
                    raise self._unreadable(path, exc, "read") from None
        finally:
            con.close()

    def _metadata_query(self, path: Path, sql: str) -> list[tuple[Any, ...]]:
        """``sql`` (whose ``$1`` is the file's path) over the file's metadata."""
        with quiet_connect() as con:
            try:
                params = [file_pattern(str(path))] if "$1" in sql else []
                return con.execute(sql, params).fetchall()
            except duckdb.Error as exc:
                raise self._unreadable(path, exc, "read_schema") from None

    async def read_schema(self) -> list[ParquetColumn]:
        """The file's columns (name, DuckDB type, nullability), from its metadata only.

        A file that does not exist yet (``create_if_missing``) has no columns.
        """
        path = await self._readable("read_schema")
        if path is None:
            return []

        def schema() -> list[ParquetColumn]:
            types = self._metadata_query(path, "DESCRIBE SELECT * FROM read_parquet($1)")
            # parquet_schema lists nested fields too; the top-level ones follow the root in
            # order, one per column DESCRIBE names.
            repetition = self._metadata_query(
                path, "SELECT name, repetition_type, num_children FROM parquet_schema($1)"
            )
            top: list[str] = []
            index = 1
            while index < len(repetition) and len(top) < len(types):
                top.append(str(repetition[index][1]))
                index += 1 + self._descendants(repetition, index)
            return [
                ParquetColumn(name=row[0], type=row[1], nullable=kind != "REQUIRED")
                for row, kind in zip(types, top, strict=False)
            ]

        return await asyncio.to_thread(schema)

    @staticmethod
    def _descendants(rows: list[tuple[Any, ...]], index: int) -> int:
        """How many schema elements below ``rows[index]`` (its whole subtree)."""
        count = 0
        pending = int(rows[index][2] or 0)
        while pending:
            count += 1
            pending += int(rows[index + count][2] or 0) - 1
        return count

    async def row_count(self) -> int:
        """The number of records, from the file's metadata (no data is read)."""
        path = await self._readable("row_count")
        if path is None:
            return 0
        rows = await asyncio.to_thread(
            self._metadata_query, path, "SELECT sum(num_rows) FROM parquet_file_metadata($1)"
        )
        return int(rows[0][0] or 0)

    # -- writing -------------------------------------------------------------------------------
    def _columns(
        self, con: duckdb.DuckDBPyConnection, rows: list[Mapping[str, Any]]
    ) -> dict[str, str]:
        names = list(dict.fromkeys(key for row in rows for key in row))

        def nested(values: list[Any]) -> str:
            # The type DuckDB gives the list of all the values is a list of their one type
            # (an empty list first and [0] later: INTEGER[]); a type no value shows is text.
            try:
                row = con.execute("SELECT typeof($1)", [values]).fetchone()
            except duckdb.Error as exc:
                raise ColumnTypeError(
                    f"nested values of different shapes ({_first_line(exc)})"
                ) from None
            kind = str(row[0]) if row else ""
            if not kind.endswith("[]"):
                raise ColumnTypeError(f"nested values of no single type ({kind})")
            return kind[:-2].replace('"NULL"', "VARCHAR")

        try:
            return {n: column_type(n, [row.get(n) for row in rows], nested) for n in names}
        except ColumnTypeError as exc:
            raise self._error(XResourceValidationError, str(exc), "write") from None

    def _stage(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        rows: list[Mapping[str, Any]],
        appending: bool,
    ) -> str:
        """Load ``rows`` into a staging table; the query whose result is the new file."""
        columns = self._columns(con, rows)
        existing = f"SELECT * FROM {self._engine_source(path)}" if appending else None  # noqa: S608
        if existing is not None:
            described = con.execute(f"DESCRIBE {existing}").fetchall()
            have = {str(row[0]): str(row[1]) for row in described}
            unknown = [n for n in columns if n not in have]
            if unknown:
                raise self._error(
                    XResourceValidationError,
                    f"record field(s) {', '.join(map(repr, unknown))} are not columns of "
                    f"{self.path!r} ({', '.join(have)}); appending keeps the file's schema",
                    "write",
                )
            columns = {n: have[n] for n in have}  # new rows take the file's types, in order
        if not columns:
            raise self._error(
                XResourceValidationError,
                "the records have no fields: a Parquet file needs at least one column",
                "write",
            )
        table = DUCKDB.quote(_STAGING)
        definition = ", ".join(f"{DUCKDB.quote(n)} {t}" for n, t in columns.items())
        con.execute(f"CREATE TEMP TABLE {table} ({definition})")
        try:
            insert_columns(con.execute, table, columns, rows, DUCKDB.quote)
        except duckdb.Error as exc:
            raise self._error(
                XResourceValidationError,
                f"the records do not fit the columns {definition}: {_first_line(exc)}",
                "write",
            ) from None
        staged = f"SELECT * FROM {table}"  # noqa: S608
        return f"{existing} UNION ALL BY NAME {staged}" if existing else staged

    def _write_sync(
        self, path: Path, rows: list[Mapping[str, Any]], mode: WriteMode, collection: str | None
    ) -> int:
        self._check_single_collection(collection, "write")
        appending = mode == "append" and path.exists() and path.stat().st_size > 0
        if not rows and path.exists() and path.stat().st_size > 0:
            appending = True  # "replace with nothing": keep the schema, drop the rows
        with staging_dir(path) as directory:
            return self._write_staged(path, directory / "new.parquet", rows, mode, appending)

    def _write_staged(
        self,
        path: Path,
        staging: Path,
        rows: list[Mapping[str, Any]],
        mode: WriteMode,
        appending: bool,
    ) -> int:
        con = quiet_connect()
        try:
            query = self._stage(con, path, rows, appending)
            if not rows and mode == "replace":
                query = f"SELECT * FROM ({query}) LIMIT 0"  # noqa: S608
            options = (
                f"FORMAT parquet, COMPRESSION {self.compression}, "
                f"ROW_GROUP_SIZE {self.row_group_size}"
            )
            try:
                con.execute(f"COPY ({query}) TO {literal(str(staging))} ({options})")
            except duckdb.Error as exc:
                raise self._error(
                    XResourceValidationError,
                    f"cannot write {self.path!r} as Parquet: {_first_line(exc)}",
                    "write",
                ) from None
            con.close()
            with atomic_replace(path) as binary:
                copy_prefix(staging, binary)
        finally:
            con.close()
        return len(rows)
