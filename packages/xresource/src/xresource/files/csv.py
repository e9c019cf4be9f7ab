"""``CSVResource``: delimited text files, read as string records and streamed in chunks.

Values come back exactly as written (strings; ``""``, ``NA`` and ``NULL`` stay strings, ``007``
keeps its zeros): type inference is xinspector's job. Rows with more or fewer fields than the
header follow the ``on_ragged`` policy; undecodable bytes raise an error naming the byte offset.

Example:
    >>> import asyncio, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "codes.csv"
    >>> _ = path.write_text("code;city\\n0042;Köln\\n", encoding="latin-1")
    >>> r = CSVResource(path=str(path), delimiter=";", encoding="latin-1")
    >>> asyncio.run(r.read())
    [{'code': '0042', 'city': 'Köln'}]
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AliasChoices, Field, field_validator

from xresource.databases.dialect import DUCKDB
from xresource.errors import XResourceConfigurationError, XResourceValidationError
from xresource.files._engine import (
    empty_relation,
    line_buffer,
    reader_call,
    sniffed_columns,
    spaced_quotes,
)
from xresource.files.atomic import atomic_replace, copy_prefix
from xresource.files.base import Record, WriteMode
from xresource.files.columnar import ColumnarFileResource

__all__ = ["CSVResource", "RaggedPolicy"]

RaggedPolicy = Literal["error", "pad", "skip"]

_SCALARS = (str, int, float, bool, Decimal, UUID)
_TEMPORAL = (datetime, date, time)
# How many extra fields of a too-long row are kept (for on_ragged="pad" and line counting).
_OVERFLOW = 4096
# The encodings DuckDB's CSV reader decodes itself (codec name -> DuckDB's name).
_ENGINE_ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "iso8859-1": "latin-1",
    "utf-16": "utf-16",
}
# The engine's NULL text: an unquoted field can never be a line break, so no field reads as NULL
# and empty fields stay "" as in read(); only on_ragged="pad" makes NULLs (missing fields).
_NO_NULL = "\n"
_DELIMITER_NAMES = {
    "tab": "\t",
    "\\t": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": " ",
}


def unique_names(raw: Sequence[Any]) -> list[str]:
    """Header names made usable as keys: blanks become ``column_<n>``, repeats get ``_<k>``.

    >>> unique_names(["id", "", "id", "name"])
    ['id', 'column_2', 'id_2', 'name']
    """
    seen: dict[str, int] = {}
    out: list[str] = []
    taken = {str(v).strip() for v in raw if v is not None and str(v).strip()}
    for position, value in enumerate(raw, start=1):
        name = "" if value is None else str(value).strip()
        if not name:
            name = f"column_{position}"
        if name in seen:
            count = seen[name] + 1
            while f"{name}_{count}" in taken:
                count += 1
            seen[name] = count
            name = f"{name}_{count}"
        else:
            seen[name] = 1
        taken.add(name)
        out.append(name)
    return out


class CSVResource(ColumnarFileResource):
    """A CSV (or TSV, or any delimited) file.

    Args:
        delimiter: one character; ``tab``/``\\t``, ``semicolon``, ``pipe`` are accepted names.
        quotechar: the quoting character (RFC 4180: ``"``).
        escapechar: an escape character, when the file uses one instead of doubled quotes.
        header: ``True`` (the first row names the columns), ``False`` (no header: columns are
            ``column_1``, ``column_2``...) or an explicit list of names (every row is data).
            ``has_header`` is accepted as an alias.
        on_ragged: a row with more or fewer fields than the header: ``error`` (the default;
            names the line), ``pad`` (missing fields become ``None``, extra ones go to a list
            under ``extra_key``) or ``skip`` (the row is dropped).
        extra_key: the key that holds a padded row's extra fields.
        skip_blank_lines: ignore empty lines (as ``csv.DictReader`` does).
        field_size_limit: the largest field accepted, in characters. Python's ``csv`` module
            refuses fields over 131,072 characters by default; this raises that process-wide
            limit (it is never lowered).
        line_terminator: line ending of written files (appends keep the file's own).
    """

    resource_type: ClassVar[str] = "csv"
    format_fields: ClassVar[tuple[str, ...]] = (
        "delimiter",
        "quotechar",
        "escapechar",
        "header",
        "encoding",
        "on_ragged",
    )

    delimiter: str = ","
    quotechar: str = '"'
    escapechar: str | None = None
    header: bool | list[str] = Field(
        default=True, validation_alias=AliasChoices("header", "has_header")
    )
    on_ragged: RaggedPolicy = "error"
    extra_key: str = "_extra"
    skip_blank_lines: bool = True
    field_size_limit: int | None = Field(default=None, ge=1)
    line_terminator: Literal["\n", "\r\n"] = "\n"

    @field_validator("delimiter", "quotechar", "escapechar", mode="before")
    @classmethod
    def _one_char(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = _DELIMITER_NAMES.get(value.lower(), value)
            if len(value) != 1:
                raise ValueError("must be exactly one character")
            if value in "\r\n":
                raise ValueError("must not be a line break")
        return value

    @field_validator("header", mode="before")
    @classmethod
    def _header_from_text(cls, value: Any) -> Any:
        # URL query values arrive as text: "true"/"false", or "a,b,c" for explicit names.
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            return [part.strip() for part in value.split(",")]
        return value

    @field_validator("header")
    @classmethod
    def _check_header_names(cls, value: bool | list[str]) -> bool | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError("an explicit header needs at least one name")
            if len(set(value)) != len(value):
                raise ValueError("explicit header names must be unique")
            if any(not name for name in value):
                raise ValueError("explicit header names must be non-empty")
        return value

    # -- reading -------------------------------------------------------------------------------
    def _dialect(self) -> dict[str, Any]:
        return {
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "escapechar": self.escapechar,
            "doublequote": True,
        }

    def _raise_field_limit(self) -> None:
        if self.field_size_limit is not None and csv.field_size_limit() < self.field_size_limit:
            csv.field_size_limit(self.field_size_limit)

    def _iter_chunks(
        self, path: Path, chunk_size: int, collection: str | None
    ) -> Iterator[list[Record]]:
        self._check_single_collection(collection, "read")
        self._raise_field_limit()
        with path.open(encoding=self.read_encoding, errors=self.encoding_errors, newline="") as fh:
            reader = csv.reader(fh, **self._dialect())
            try:
                yield from self._parse(reader, chunk_size)
            except UnicodeDecodeError:
                raise self.decode_error(path, "read") from None
            except csv.Error as exc:
                hint = ""
                if "field larger than field limit" in str(exc):
                    hint = "; pass field_size_limit=<characters> to accept larger fields"
                raise self._error(
                    XResourceValidationError,
                    f"file {str(path)!r} is not valid CSV at line {reader.line_num}: {exc}{hint}",
                    "read",
                ) from None

    def _parse(self, reader: Any, chunk_size: int) -> Iterator[list[Record]]:
        first: list[list[str]] = []
        if isinstance(self.header, list):
            names = list(self.header)
        else:
            row = next(reader, None)
            while row is not None and not row and self.skip_blank_lines:
                row = next(reader, None)
            if row is None:
                return  # an empty file holds no records
            if self.header:
                names = unique_names(row)
            else:
                names = [f"column_{i}" for i in range(1, len(row) + 1)]
                first.append(row)
        width = len(names)
        source: Iterator[list[str]] = chain(first, reader) if first else reader
        # Extra fields of a long row land under int keys (never equal to a str name), so that
        # one C-level pass over the dict sizes finds every ragged row without a per-row check.
        keys = (*names, *range(_OVERFLOW))
        expected = {width}
        while True:
            start_line = reader.line_num - (1 if first else 0)
            first = []
            # Each row list is dropped as soon as its dict is built: building all dicts from a
            # list of all rows is twice as slow (twice the memory, none of it reused warm).
            chunk = [dict(zip(keys, row)) for row in islice(source, chunk_size)]  # noqa: B905
            if not chunk:
                return
            if set(map(len, chunk)) == expected:
                yield chunk
            else:
                yield self._fix_rows([list(record.values()) for record in chunk], names, start_line)

    def _fix_rows(self, rows: list[list[str]], names: list[str], start_line: int) -> list[Record]:
        """The slow path of a chunk holding blank or ragged rows: apply the policies."""
        width = len(names)
        out: list[Record] = []
        line = start_line + 1
        for row in rows:
            this_line = line
            # A quoted field may span lines: the next row starts after its embedded newlines.
            line += 1 + sum(field.count("\n") for field in row)
            if not row and self.skip_blank_lines:
                continue
            if len(row) == width:
                out.append(dict(zip(names, row, strict=True)))
                continue
            if self.on_ragged == "skip":
                continue
            if self.on_ragged == "error" or len(row) >= width + _OVERFLOW:
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} line {this_line} has {len(row)}"
                    f"{'+' if len(row) >= width + _OVERFLOW else ''} fields, the header has "
                    f"{width}; fix the row, or pass on_ragged='pad' or on_ragged='skip'",
                    "read",
                )
            record: Record = dict(zip(names, row, strict=False))
            if len(row) < width:
                record.update(dict.fromkeys(names[len(row) :]))
            else:
                record[self.extra_key] = row[width:]
            out.append(record)
        return out

    async def list_collections_or_tables(self) -> list[str]:
        """A CSV file holds one table, named after the file: ``[stem]``."""
        return [self.stem]

    # -- the columnar engine ---------------------------------------------------------------------
    def _unsupported(self, what: str) -> XResourceConfigurationError:
        return self._error(
            XResourceConfigurationError,
            f"the columnar engine cannot read this CSV file as read() does: {what}; read it "
            "with read_stream()",
            "engine",
        )

    def _first_row(self, path: Path) -> tuple[list[str] | None, int]:
        """The first row as read() sees it (``None`` for an empty file), and how many blank
        lines precede it."""
        self._raise_field_limit()
        with path.open(encoding=self.read_encoding, errors=self.encoding_errors, newline="") as fh:
            reader = csv.reader(fh, **self._dialect())
            try:
                blank = 0
                row = next(reader, None)
                while row is not None and not row:
                    blank = reader.line_num
                    row = next(reader, None)
            except UnicodeDecodeError:
                raise self.decode_error(path, "engine") from None
            except csv.Error as exc:
                raise self._error(
                    XResourceValidationError,
                    f"file {str(path)!r} is not valid CSV at line {reader.line_num}: {exc}",
                    "engine",
                ) from None
        return row, blank

    def _longest_record(self, path: Path, columns: int) -> int:
        """The most bytes a record that :meth:`read` accepts can take in ``path``: each field
        at most the field size limit in characters (4 bytes each in UTF-8, UTF-16's surrogate
        pairs included; a doubled quote is 2), its quotes and delimiter; no more than the
        file. (A row with more fields than the header fails the engine's query anyway.)"""
        limit = max(self.field_size_limit or 0, csv.field_size_limit())
        return min((columns + 1) * (4 * limit + 3), path.stat().st_size + 1)

    def _engine_source(self, path: Path, infer_types: bool | int = False) -> str:
        encoding = _ENGINE_ENCODINGS.get(codecs.lookup(self.encoding).name)
        if encoding is None:
            raise self._unsupported(f"DuckDB does not decode {self.encoding!r}")
        if self.encoding_errors != "strict":
            raise self._unsupported(f"encoding_errors={self.encoding_errors!r}")
        if not self.skip_blank_lines:
            raise self._unsupported("skip_blank_lines=False (DuckDB always skips them)")
        row, blank = self._first_row(path)
        if isinstance(self.header, list):
            names = list(self.header)
        elif row is None:
            names = []
        elif self.header:
            names = unique_names(row)
        else:
            names = [f"column_{i}" for i in range(1, len(row) + 1)]
        folded: dict[str, str] = {}
        for name in names:
            other = folded.setdefault(name.casefold(), name)
            if other != name:
                raise self._unsupported(
                    f"columns {other!r} and {name!r} differ only by case, which DuckDB's names "
                    "do not tell apart"
                )
        if row is None:
            # An empty file: no records. A view needs a column; it is the first name, or
            # column_1 when the file names none.
            return empty_relation(names)
        longest = self._longest_record(path, len(names))
        try:
            spaced = spaced_quotes(
                str(path),
                delimiter=self.delimiter,
                quote=self.quotechar,
                encoding=encoding,
                longest=longest,
            )
        except Exception:
            spaced = False
        if spaced:
            raise self._unsupported(
                'a quote with spaces between it and a delimiter (a, "b"), which read() keeps '
                "as text and DuckDB would trim and unquote"
            )
        options: dict[str, Any] = {
            "auto_detect": False,
            "header": self.header is True,
            "skip": blank,
            "delim": self.delimiter,
            "quote": self.quotechar,
            "escape": self.escapechar or self.quotechar,
            "encoding": encoding,
            **line_buffer(longest),
        }
        if infer_types is not False:
            # DuckDB's sniffer types the columns (empty fields are NULL), once, here.
            sample = {} if infer_types is True else {"sample_size": infer_types}
            try:
                options |= sniffed_columns(str(path), {**options, **sample}, names)
            except Exception as exc:  # duckdb.Error: the driver is imported lazily
                raise self._error(
                    XResourceValidationError,
                    f"DuckDB cannot type the columns of {self.path!r}: {str(exc).splitlines()[0]}",
                    "engine",
                ) from None
        else:
            options |= {
                "columns": dict.fromkeys(names, "VARCHAR"),
                "nullstr": _NO_NULL,
                "allow_quoted_nulls": False,
            }
        if self.on_ragged == "error":
            return reader_call("read_csv", str(path), options)
        # DuckDB fills a short row's missing fields with NULL; a long row fails the query (the
        # view has no _extra list). No text field is NULL otherwise (nullstr), so a NULL last
        # field marks a short row: "skip" leaves those out. (DuckDB's ignore_errors would also
        # drop rows that read() reads, for reasons other than their length.)
        options["null_padding"] = True
        if self.on_ragged == "pad":
            return reader_call("read_csv", str(path), options)
        if infer_types is not False:
            raise self._unsupported(
                "on_ragged='skip' with infer_types (a short row's missing fields and empty "
                "fields are both NULL there)"
            )
        # One more column catches a row with one field too many (NULL in every other row);
        # rows longer still fail the query.
        taken = {n.casefold() for n in names}
        extra = "__xr_extra"
        while extra.casefold() in taken:
            extra += "_"
        options["columns"] = {**options["columns"], extra: "VARCHAR"}
        source = reader_call("read_csv", str(path), options)
        last, spare = DUCKDB.quote(names[-1]), DUCKDB.quote(extra)
        return (
            f"(SELECT * EXCLUDE ({spare}) FROM {source} "  # noqa: S608
            f"WHERE {last} IS NOT NULL AND {spare} IS NULL)"
        )

    # -- writing -------------------------------------------------------------------------------
    def _cell(self, value: Any, index: int, key: str) -> Any:
        if value is None:
            return ""
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, _TEMPORAL):
            return value.isoformat()
        raise self._error(
            XResourceValidationError,
            f"record {index} field {key!r}: a {type(value).__name__} cannot be written to CSV "
            "(only text, numbers, booleans, dates and None); flatten or serialize it first",
            "write",
        )

    def _write_row(self, writer: Any, text: Any, cells: list[Any], terminator: str) -> None:
        """One row; a text cell holding a carriage return is quoted even with ``\n`` lines.

        ``csv.writer`` quotes only the characters of its own line terminator: with ``\n``, a
        bare ``\r`` went out unquoted and split the row when read back (any CSV reader takes
        ``\r`` for a line end). Such rows go through a writer whose terminator holds both.
        """
        if terminator == "\n" and any(isinstance(c, str) and "\r" in c for c in cells):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n", **self._dialect()).writerow(cells)
            text.write(buffer.getvalue()[:-2] + terminator)
            return
        writer.writerow(cells)

    def _existing_layout(self, path: Path) -> tuple[list[str], str, bool]:
        """Column names, line ending and whether the file ends with a newline, for appends."""
        with path.open(encoding=self.read_encoding, errors=self.encoding_errors, newline="") as fh:
            first_line = fh.readline()
            fh.seek(0)
            reader = csv.reader(fh, **self._dialect())
            try:
                row = next(reader, [])
            except UnicodeDecodeError:
                raise self.decode_error(path, "write") from None
        if isinstance(self.header, list):
            names = list(self.header)
        elif self.header:
            names = unique_names(row)
        else:
            names = [f"column_{i}" for i in range(1, len(row) + 1)]
        terminator = "\r\n" if first_line.endswith("\r\n") else "\n"
        with path.open("rb") as raw:
            raw.seek(-1, 2)
            ends_with_newline = raw.read(1) in (b"\n", b"\r")
        return names, terminator, ends_with_newline

    def _write_sync(
        self, path: Path, rows: list[Mapping[str, Any]], mode: WriteMode, collection: str | None
    ) -> int:
        self._check_single_collection(collection, "write")
        appending = mode == "append" and path.exists() and path.stat().st_size > 0
        if appending:
            names, terminator, ends_with_newline = self._existing_layout(path)
        else:
            terminator, ends_with_newline = self.line_terminator, True
            if isinstance(self.header, list):
                names = list(self.header)
            else:
                names = list(dict.fromkeys(key for row in rows for key in row))
        known = set(names)
        for index, row in enumerate(rows):
            unknown = [key for key in row if key not in known]
            if unknown:
                raise self._error(
                    XResourceValidationError,
                    f"record {index} has field(s) {', '.join(map(repr, unknown))} that are not "
                    f"columns of {self.path!r} ({', '.join(names)})",
                    "write",
                )
        with atomic_replace(path) as binary:
            if appending:
                copy_prefix(path, binary)
            text = io.TextIOWrapper(
                binary,
                encoding=self.append_encoding if appending else self.encoding,
                errors=self.encoding_errors,
                newline="",
            )
            try:
                if appending and not ends_with_newline:
                    text.write(terminator)
                writer = csv.writer(text, lineterminator=terminator, **self._dialect())
                if not appending and self.header is not False and names:
                    self._write_row(writer, text, [str(n) for n in names], terminator)
                for index, row in enumerate(rows):
                    cells = [self._cell(row.get(name), index, name) for name in names]
                    self._write_row(writer, text, cells, terminator)
                text.flush()
            except UnicodeEncodeError as exc:
                raise self._error(
                    XResourceValidationError,
                    f"a value cannot be encoded as {self.encoding}: {exc.reason} "
                    f"({exc.object[exc.start : exc.end]!r}); pick another encoding",
                    "write",
                ) from None
            finally:
                text.detach()
        return len(rows)
