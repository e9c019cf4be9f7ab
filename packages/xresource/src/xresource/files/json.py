"""``JSONResource``: JSON arrays, JSON Lines, and documents holding several collections.

Three layouts are read, all streamed with bounded memory:

- a top-level array of objects (``[{...}, {...}]``), parsed element by element;
- JSON Lines / NDJSON (one object per line), detected from the suffix (``.jsonl``, ``.ndjson``),
  from the content (a first line that is a complete object, followed by more), or forced with
  ``lines=True``;
- a mapping of arrays (``{"Album": [...], "Track": [...]}``): each key is a collection, read with
  ``collection="Album"``; the other arrays are skipped element by element.

A top-level object that is not a mapping of arrays is one record. Nested documents come back as
they are (dicts and lists). Malformed JSON raises ``XResourceValidationError`` naming the line
and column.

Example:
    >>> import asyncio, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> r = JSONResource(path=str(path), create_if_missing=True)
    >>> asyncio.run(r.write([{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}]))
    2
    >>> asyncio.run(r.read(limit=1))
    [{'id': 1, 'tags': ['a']}]
"""

from __future__ import annotations

import asyncio
import codecs
import io
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from xresource.errors import (
    XResourceConfigurationError,
    XResourceNotFoundError,
    XResourceValidationError,
)
from xresource.files._engine import json_source, object_bound
from xresource.files.atomic import atomic_replace, copy_prefix
from xresource.files.base import Record, WriteMode
from xresource.files.columnar import ColumnarFileResource
from xresource.files.jsonstream import JSONStreamError, JSONTokenStream

__all__ = ["JSONResource", "json_default"]

_LINES_SUFFIXES = (".jsonl", ".ndjson")
_SNIFF_LIMIT = 1 << 20


def json_default(value: Any) -> Any:
    """``default=`` hook of ``json.dumps``: dates as ISO 8601, Decimal and UUID as text.

    Anything else (sets, bytes, arbitrary objects) raises ``TypeError``: it has no faithful JSON
    form.
    """
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"a {type(value).__name__} is not JSON serializable")


class JSONResource(ColumnarFileResource):
    """A JSON or JSON Lines file.

    Args:
        lines: ``True`` for JSON Lines, ``False`` for one JSON document, ``None`` (the default)
            to decide from the suffix, then from the content.
        indent: indentation of written array elements and documents (``None``: compact).
        ensure_ascii: escape non-ASCII characters when writing.
    """

    resource_type: ClassVar[str] = "json"
    format_fields: ClassVar[tuple[str, ...]] = ("lines", "encoding", "indent")

    lines: bool | None = None
    indent: int | None = Field(default=None, ge=0, le=16)
    ensure_ascii: bool = False

    # -- layout --------------------------------------------------------------------------------
    def _open(self, path: Path) -> io.TextIOWrapper:
        return path.open(encoding=self.read_encoding, errors=self.encoding_errors)

    def _is_lines(self, path: Path) -> bool:
        """Whether ``path`` holds JSON Lines (field, suffix, then a look at the first line)."""
        if self.lines is not None:
            return self.lines
        if path.suffix.lower() in _LINES_SUFFIXES:
            return True
        try:
            with self._open(path) as fh:
                line = fh.readline(_SNIFF_LIMIT)
                while line and not line.strip():
                    line = fh.readline(_SNIFF_LIMIT)
                text = line.strip()
                if not text.startswith("{") or not line.endswith("\n"):
                    return False  # an array, a one-line document, or a huge first line
                try:
                    json.loads(text)
                except ValueError:
                    return False  # a pretty-printed document starts with an incomplete line
                while chunk := fh.read(4096):
                    if chunk.strip():
                        return True
                return False
        except UnicodeDecodeError:
            raise self.decode_error(path, "read") from None

    def _malformed(
        self, path: Path, exc: JSONStreamError | json.JSONDecodeError, line: int | None = None
    ) -> XResourceValidationError:
        if isinstance(exc, JSONStreamError):
            where = f"line {exc.line}, column {exc.column}"
        else:
            where = f"line {line if line is not None else exc.lineno}, column {exc.colno}"
        hint = ""
        if exc.msg.startswith("extra data") and self.lines is None:
            hint = "; if it holds one JSON document per line, pass lines=True"
        return self._error(
            XResourceValidationError,
            f"file {str(path)!r} is not valid JSON: {exc.msg} at {where}{hint}",
            "read",
        )

    def _not_object(self, path: Path, what: str, value: Any) -> XResourceValidationError:
        return self._error(
            XResourceValidationError,
            f"file {str(path)!r}: {what} is a {type(value).__name__}, not a JSON object; "
            "records must be objects",
            "read",
        )

    def _layout(self, path: Path) -> tuple[str, list[str]]:
        """``("lines"|"array"|"record"|"collections", collection names)`` of ``path``."""
        if self._is_lines(path):
            return "lines", [self.stem]
        with self._open(path) as fh:
            stream = JSONTokenStream(fh)
            try:
                if stream.expect_start() == "[":
                    return "array", [self.stem]
                keys: list[str] = []
                all_arrays = True
                for key in stream.iter_object_keys():
                    keys.append(key)
                    all_arrays &= stream.skip()
                stream.expect_end()
            except JSONStreamError as exc:
                raise self._malformed(path, exc) from None
            except UnicodeDecodeError:
                raise self.decode_error(path, "read") from None
        if keys and all_arrays:
            return "collections", keys
        return "record", [self.stem]

    async def list_collections_or_tables(self) -> list[str]:
        """``[stem]``, or the keys of a document that is a mapping of arrays."""
        path = await self._readable("list_collections")
        if path is None:
            return [self.stem]
        _kind, names = await asyncio.to_thread(self._layout, path)
        return names

    def _engine_source(self, path: Path, infer_types: bool | int = False) -> str:
        # Values are typed in the file already: infer_types changes nothing.
        kind, names = self._layout(path)
        if kind == "collections":
            raise self._error(
                XResourceConfigurationError,
                f"file {self.path!r} holds several collections ({', '.join(names)}); the "
                "columnar engine reads a JSON array, one JSON document or JSON Lines",
                "engine",
            )
        if codecs.lookup(self.encoding).name not in ("utf-8", "utf-8-sig"):
            raise self._error(
                XResourceConfigurationError,
                f"the columnar engine reads JSON in UTF-8 only, not {self.encoding!r}; read "
                "the file with read_stream()",
                "engine",
            )
        options: dict[str, Any] = {
            "format": {"lines": "newline_delimited", "array": "array"}.get(kind, "unstructured"),
            "records": True,
            # Types from every record, not a sample: a float or a text value late in the file
            # would otherwise fail the read of a column typed from the first records.
            "sample_size": -1,
            "maximum_object_size": object_bound(path, lines=kind == "lines"),
        }
        try:
            return json_source(str(path), options)
        except Exception as exc:  # duckdb.Error: the driver is imported lazily
            raise self._error(
                XResourceValidationError,
                f"the columnar engine cannot read {self.path!r} as JSON: "
                f"{str(exc).splitlines()[0]}",
                "engine",
            ) from None

    def _check_collection_for_missing(self, collection: str | None) -> None:
        # A file that does not exist yet has every collection, empty: writing creates it.
        return None

    # -- reading -------------------------------------------------------------------------------
    def _iter_chunks(
        self, path: Path, chunk_size: int, collection: str | None
    ) -> Iterator[list[Record]]:
        if self._is_lines(path):
            self._check_single_collection(collection, "read")
            yield from self._iter_lines(path, chunk_size)
        else:
            yield from self._iter_document(path, chunk_size, collection)

    def _iter_lines(self, path: Path, chunk_size: int) -> Iterator[list[Record]]:
        loads = json.loads
        chunk: list[Record] = []
        with self._open(path) as fh:
            lineno = 0
            try:
                for lineno, line in enumerate(fh, start=1):
                    if not line or line.isspace():
                        continue
                    try:
                        obj = loads(line)
                    except json.JSONDecodeError as exc:
                        raise self._malformed(path, exc, lineno) from None
                    if type(obj) is not dict:
                        raise self._not_object(path, f"line {lineno}", obj)
                    chunk.append(obj)
                    if len(chunk) >= chunk_size:
                        yield chunk
                        chunk = []
            except UnicodeDecodeError:
                raise self.decode_error(path, "read") from None
        if chunk:
            yield chunk

    def _iter_document(
        self, path: Path, chunk_size: int, collection: str | None
    ) -> Iterator[list[Record]]:
        kind: str | None = None
        if collection is None:
            kind, names = self._layout(path)
            if kind == "collections":
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} holds several collections ({', '.join(names)}); pass "
                    "collection=<name>",
                    "read",
                )
        with self._open(path) as fh:
            stream = JSONTokenStream(fh)
            try:
                start = stream.expect_start()
                if start == "[":
                    self._check_single_collection(collection, "read")
                    yield from self._chunked(path, stream.iter_array(), chunk_size, "element")
                    stream.expect_end()
                    return
                if collection is None or (
                    kind is None and collection == self.stem and self._layout(path)[0] == "record"
                ):
                    # One document: decode it whole, it is a single record.
                    fh.seek(0)
                    stream = JSONTokenStream(fh)
                    yield [self._record(path, stream.value(), "the document")]
                    stream.expect_end()
                    return
                for key in stream.iter_object_keys():
                    if key != collection:
                        stream.skip()
                        continue
                    if stream.peek() != "[":
                        raise self._error(
                            XResourceValidationError,
                            f"key {key!r} of file {self.path!r} does not hold an array of "
                            "objects, so it is not a collection",
                            "read",
                        )
                    stream.take("[")
                    yield from self._chunked(
                        path, stream.iter_array(), chunk_size, f"element of {key!r}"
                    )
                    return
                raise self._error(
                    XResourceNotFoundError,
                    f"collection {collection!r} not found in file {self.path!r}; see "
                    "list_collections_or_tables()",
                    "read",
                )
            except JSONStreamError as exc:
                raise self._malformed(path, exc) from None
            except UnicodeDecodeError:
                raise self.decode_error(path, "read") from None

    def _record(self, path: Path, value: Any, what: str) -> Record:
        if type(value) is not dict:
            raise self._not_object(path, what, value)
        return value

    def _chunked(
        self, path: Path, values: Iterator[Any], chunk_size: int, what: str
    ) -> Iterator[list[Record]]:
        chunk: list[Record] = []
        for index, value in enumerate(values):
            if type(value) is not dict:
                raise self._not_object(path, f"{what} {index}", value)
            chunk.append(value)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    # -- writing -------------------------------------------------------------------------------
    def _dumps(self, row: Any, index: int | None, *, indent: int | bool | None = True) -> str:
        try:
            return json.dumps(
                row,
                ensure_ascii=self.ensure_ascii,
                indent=self.indent if indent is True else indent,
                default=json_default,
                allow_nan=False,
            )
        except (TypeError, ValueError) as exc:
            where = f"record {index}" if index is not None else "the document"
            raise self._error(
                XResourceValidationError, f"{where} cannot be written as JSON: {exc}", "write"
            ) from None

    def _ascii_compatible(self) -> bool:
        try:
            return " ]\n".encode(self.append_encoding) == b" ]\n"
        except UnicodeEncodeError:
            return False

    def _write_sync(
        self, path: Path, rows: list[Mapping[str, Any]], mode: WriteMode, collection: str | None
    ) -> int:
        exists = path.exists() and path.stat().st_size > 0
        if collection is not None and collection != self.stem:
            return self._write_collection(path, rows, mode, collection, exists)
        if self.lines is True or (
            self.lines is None
            and (path.suffix.lower() in _LINES_SUFFIXES or (exists and self._is_lines(path)))
        ):
            return self._write_lines(path, rows, mode == "append" and exists)
        return self._write_array(path, rows, mode == "append" and exists)

    def _text(self, binary: Any, appending: bool) -> io.TextIOWrapper:
        return io.TextIOWrapper(
            binary,
            encoding=self.append_encoding if appending else self.encoding,
            errors="strict",
            newline="\n",
        )

    def _write_lines(self, path: Path, rows: list[Mapping[str, Any]], appending: bool) -> int:
        ends_with_newline = True
        if appending:
            with path.open("rb") as raw:
                raw.seek(-1, 2)
                ends_with_newline = raw.read(1) == b"\n"
        with atomic_replace(path) as binary:
            if appending:
                copy_prefix(path, binary)
            text = self._text(binary, appending)
            try:
                if not ends_with_newline:
                    text.write("\n")
                for index, row in enumerate(rows):
                    # One line per record, whatever ``indent`` says.
                    text.write(self._dumps(row, index, indent=None))
                    text.write("\n")
                text.flush()
            finally:
                text.detach()
        return len(rows)

    @staticmethod
    def _last_byte(raw: BinaryIO, end: int) -> tuple[int, bytes]:
        """Offset and value of the last non-whitespace byte before ``end`` (``-1, b""``: none)."""
        while end > 0:
            start = max(0, end - 65536)
            raw.seek(start)
            block = raw.read(end - start).rstrip(b" \t\r\n")
            if block:
                return start + len(block) - 1, block[-1:]
            end = start
        return -1, b""

    def _array_end(self, path: Path) -> tuple[int, bool]:
        """Byte offset of the closing ``]`` of the array file, and whether the array is empty."""
        try:
            with self._open(path) as fh:
                first = JSONTokenStream(fh).peek()
        except UnicodeDecodeError:
            raise self.decode_error(path, "write") from None
        if first != "[":
            raise self._error(
                XResourceValidationError,
                f"file {self.path!r} does not hold a JSON array; cannot append to it "
                "(pass collection=<key> for a mapping of arrays)",
                "write",
            )
        with path.open("rb") as raw:
            bracket, char = self._last_byte(raw, path.stat().st_size)
            if char != b"]":
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} does not end with ']': it is truncated or not an "
                    "array; fix it or write with mode='replace'",
                    "write",
                )
            _, before = self._last_byte(raw, bracket)
        return bracket, before == b"["

    def _write_array(self, path: Path, rows: list[Mapping[str, Any]], appending: bool) -> int:
        if appending and not self._ascii_compatible():
            # Byte-level splicing needs an ASCII-compatible codec; rewrite the whole file instead.
            existing = self._load_document(path)
            if not isinstance(existing, list):
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} does not hold a JSON array",
                    "write",
                )
            self._dump_document(path, [*existing, *rows])
            return len(rows)
        bracket, empty = self._array_end(path) if appending else (0, True)
        with atomic_replace(path) as binary:
            if appending:
                copy_prefix(path, binary, bracket)
            text = self._text(binary, appending)
            try:
                text.write("\n" if appending and empty else ",\n" if appending else "[\n")
                for index, row in enumerate(rows):
                    if index:
                        text.write(",\n")
                    text.write(self._dumps(row, index))
                text.write("\n]\n")
                text.flush()
            finally:
                text.detach()
        return len(rows)

    def _load_document(self, path: Path) -> Any:
        try:
            with self._open(path) as fh:
                return json.load(fh)
        except json.JSONDecodeError as exc:
            raise self._malformed(path, exc) from None
        except UnicodeDecodeError:
            raise self.decode_error(path, "write") from None

    def _dump_document(self, path: Path, document: Any) -> None:
        with atomic_replace(path) as binary:
            text = self._text(binary, False)
            try:
                text.write(self._dumps(document, None))
                text.write("\n")
                text.flush()
            finally:
                text.detach()

    def _write_collection(
        self,
        path: Path,
        rows: list[Mapping[str, Any]],
        mode: WriteMode,
        collection: str,
        exists: bool,
    ) -> int:
        # A mapping of arrays is rewritten whole: the other collections are kept as they are.
        if exists and self._is_lines(path):
            raise self._error(
                XResourceValidationError,
                f"file {self.path!r} is JSON Lines: it has no collection {collection!r}",
                "write",
            )
        document: Any = self._load_document(path) if exists else {}
        if not isinstance(document, dict):
            raise self._error(
                XResourceValidationError,
                f"file {self.path!r} holds a JSON {type(document).__name__}, not a "
                f"mapping of collections; cannot write collection {collection!r}",
                "write",
            )
        current = document.get(collection, [])
        if mode == "append" and not isinstance(current, list):
            raise self._error(
                XResourceValidationError,
                f"key {collection!r} of {self.path!r} is not an array",
                "write",
            )
        document[collection] = [*current, *rows] if mode == "append" else list(rows)
        self._dump_document(path, document)
        return len(rows)
