"""``FileResource``: the base of every file resource (CSV, Excel, JSON, YAML).

Every file type offers the same surface:

- ``await read(collection=None, *, limit=None) -> list[dict]``;
- ``read_stream(chunk_size=10_000, collection=None)``: an async iterator of record lists that
  parses the file chunk by chunk in a worker thread (bounded memory, the event loop never waits on
  parsing);
- ``await write(records, *, mode="replace" | "append", collection=None) -> int``: an atomic
  replacement of the file (temporary file in the same directory, fsync, ``os.replace``), so a crash
  or a record that cannot be serialized never leaves a truncated file. Writes to one file are
  serialized.

A *collection* is what the format holds several of: the sheets of a workbook, the keys of a JSON or
YAML mapping of lists. A CSV file (or a plain JSON array) is one collection named after the file's
stem.

Example:
    >>> import asyncio, pathlib, tempfile
    >>> from xresource.files.csv import CSVResource
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "users.csv"
    >>> _ = path.write_text("id,name\\n007,Ada\\n", encoding="utf-8")
    >>> asyncio.run(CSVResource(path=str(path)).read())
    [{'id': '007', 'name': 'Ada'}]
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import stat
import threading
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import AliasChoices, Field, PrivateAttr, field_validator

from xresource.base import XResource
from xresource.errors import (
    XResourceConfigurationError,
    XResourceError,
    XResourceNotFoundError,
    XResourceValidationError,
)
from xresource.files.atomic import WriteCancelled, cancellable, path_lock
from xresource.files.pump import ChunkPump
from xresource.url import ParsedURL

__all__ = ["DEFAULT_CHUNK_SIZE", "EncodingErrors", "FileResource", "Record", "WriteMode"]

Record = dict[str, Any]
WriteMode = Literal["replace", "append"]
EncodingErrors = Literal["strict", "replace", "ignore", "surrogateescape", "backslashreplace"]
DEFAULT_CHUNK_SIZE = 10_000
#: Seconds a cancelled write waits for its worker thread to stop before letting the
#: cancellation through anyway (the thread stops within one buffered write in practice).
CANCEL_WAIT = 30.0

_E = TypeVar("_E", bound=XResourceError)


class FileResource(XResource):
    """A file on the local file system, read and written as records.

    Args:
        path: the file (``file_path`` is accepted as an alias, as in the specification). Relative
            paths are relative to ``base_dir`` when it is set, else to the working directory.
        base_dir: when set, the resolved path (``..`` and symbolic links followed) must stay inside
            it; anything else is refused with ``XResourceValidationError``. Use it whenever the
            path comes from a user.
        encoding: text encoding. ``utf-8`` also reads files that start with a byte order mark
            (the BOM is dropped); ``utf-8-sig`` writes one.
        encoding_errors: what to do with bytes the encoding cannot decode: ``strict`` (the
            default) raises ``XResourceValidationError`` naming the byte offset; ``replace``,
            ``ignore``, ``surrogateescape`` and ``backslashreplace`` decode anyway.
        create_if_missing: allow ``connect()`` on a file that does not exist yet (a resource
            meant for writing); reads of the missing file return no records.
    """

    resource_type: ClassVar[str] = "file"
    url_schemes: ClassVar[tuple[str, ...]] = ("file",)
    #: Format options reported by ``get_metadata()["format"]``.
    format_fields: ClassVar[tuple[str, ...]] = ()

    path: str = Field(
        validation_alias=AliasChoices("path", "file_path"), description="Path of the file."
    )
    base_dir: str | None = Field(default=None, description="Directory the path must stay in.")
    encoding: str = "utf-8"
    encoding_errors: EncodingErrors = "strict"
    create_if_missing: bool = False

    _write_lock: asyncio.Lock | None = PrivateAttr(default=None)

    # -- validation of parameters ---------------------------------------------------------------
    @field_validator("path", "base_dir")
    @classmethod
    def _check_path_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("must be a non-empty path")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str) -> str:
        try:
            info = codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r}") from None
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError(f"{value!r} is not a text encoding")
        return value

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """Parameters of ``file:///abs/x.csv?delimiter=;&encoding=latin-1`` (or a bare path).

        Every query parameter must name a field of the resource; values are validated by it.
        """
        if url.scheme != "file":
            raise XResourceConfigurationError(
                f"{cls.resource_type} resources take file: URLs or paths, not {url.scheme}:",
                operation="from_url",
            )
        if not url.path:
            raise XResourceConfigurationError(
                f"the URL {url.redacted!r} names no file", operation="from_url"
            )
        fields = set(cls.model_fields) - {"path", "metadata", "ns"}
        unknown = sorted(set(url.query) - fields)
        if unknown:
            raise XResourceConfigurationError(
                f"unknown query parameter(s) {', '.join(unknown)} for a {cls.resource_type} file; "
                f"valid ones: {', '.join(sorted(fields))}",
                operation="from_url",
            )
        return {"path": url.path, **url.query}

    # -- paths ---------------------------------------------------------------------------------
    def resolve_path(self, operation: str = "open") -> Path:
        """The absolute, symlink-free path of the file, checked against ``base_dir``.

        Raises:
            XResourceValidationError: the path leaves ``base_dir`` (through ``..`` or a link).
        """
        raw = Path(self.path).expanduser()
        if self.base_dir is None:
            return raw.resolve()
        base = Path(self.base_dir).expanduser().resolve()
        candidate = raw if raw.is_absolute() else base / raw
        lexical = Path(os.path.normpath(candidate))
        if not lexical.is_relative_to(base):
            raise self._error(
                XResourceValidationError,
                f"path {self.path!r} escapes base_dir {str(base)!r}; give a path inside it",
                operation,
            )
        real = candidate.resolve()
        if not real.is_relative_to(base):
            raise self._error(
                XResourceValidationError,
                f"path {self.path!r} leads through a symbolic link to {str(real)!r}, outside "
                f"base_dir {str(base)!r}; refusing to follow it",
                operation,
            )
        return real

    def _error(self, kind: type[_E], message: str, operation: str) -> _E:
        return kind(message, resource=self.display_name, operation=operation)

    def _check_file(self, path: Path, operation: str, *, must_exist: bool) -> bool:
        """Whether ``path`` exists as a regular file; errors for directories and specials."""
        try:
            st = path.stat()
        except FileNotFoundError:
            if must_exist:
                raise self._error(
                    XResourceNotFoundError,
                    f"file {str(path)!r} does not exist; check the path, or pass "
                    "create_if_missing=True to create it by writing",
                    operation,
                ) from None
            if not path.parent.is_dir():
                raise self._error(
                    XResourceNotFoundError,
                    f"directory {str(path.parent)!r} of file {path.name!r} does not exist; "
                    "create it first",
                    operation,
                ) from None
            return False
        except PermissionError:
            raise self._error(
                XResourceValidationError, f"no permission to access {str(path)!r}", operation
            ) from None
        if stat.S_ISDIR(st.st_mode):
            raise self._error(
                XResourceValidationError,
                f"{str(path)!r} is a directory, not a file; name a file in it",
                operation,
            )
        if not stat.S_ISREG(st.st_mode):
            raise self._error(
                XResourceValidationError,
                f"{str(path)!r} is not a regular file (a device, pipe or socket)",
                operation,
            )
        return True

    async def _readable(self, operation: str = "read") -> Path | None:
        """Connect, resolve and check the path; ``None`` when it may be (and is) missing."""
        await self.ensure_connected()
        path = self.resolve_path(operation)
        exists = await asyncio.to_thread(
            self._check_file, path, operation, must_exist=not self.create_if_missing
        )
        return path if exists else None

    # -- lifecycle -----------------------------------------------------------------------------
    async def _connect(self) -> None:
        path = self.resolve_path("connect")
        await asyncio.to_thread(
            self._check_file, path, "connect", must_exist=not self.create_if_missing
        )

    async def _disconnect(self) -> None:
        # Files are opened per operation (in the worker thread that parses them): nothing is held.
        return None

    async def validate_connection(self) -> bool:
        """Whether the file exists, is a regular file and is readable; never raises."""
        try:
            path = self.resolve_path("validate")
        except XResourceError:
            return False
        return await asyncio.to_thread(lambda: path.is_file() and os.access(path, os.R_OK))

    async def list_collections_or_tables(self) -> list[str]:
        """``[stem]`` of the file; formats with several collections override this."""
        return [Path(self.path).stem]

    def get_metadata(self) -> dict[str, Any]:
        """Parameters, resolved path, size, modification time and format options."""
        meta = super().get_metadata()
        try:
            path = self.resolve_path("metadata")
        except XResourceError as exc:
            return {**meta, "error": exc.message}
        try:
            st = path.stat()
        except OSError:
            size, mtime, exists = None, None, False
        else:
            size = st.st_size
            mtime = datetime.fromtimestamp(st.st_mtime, UTC).isoformat()
            exists = True
        return {
            **meta,
            "resolved_path": str(path),
            "exists": exists,
            "size": size,
            "mtime": mtime,
            "format": {name: getattr(self, name) for name in self.format_fields},
        }

    # -- collections ---------------------------------------------------------------------------
    @property
    def stem(self) -> str:
        """The file name without its suffix: the name of a single-collection file's collection."""
        return Path(self.path).stem

    def _check_single_collection(self, collection: str | None, operation: str) -> None:
        if collection is not None and collection != self.stem:
            raise self._error(
                XResourceNotFoundError,
                f"collection {collection!r} not found: file {self.path!r} holds one collection, "
                f"{self.stem!r}",
                operation,
            )

    # -- reading -------------------------------------------------------------------------------
    async def read(
        self, collection: str | None = None, *, limit: int | None = None
    ) -> list[Record]:
        """Every record of ``collection`` (or of the file), at most ``limit`` of them.

        Parsing runs in a worker thread; with ``limit`` only the needed part of the file is read.
        """
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise self._error(
                XResourceValidationError,
                f"limit must be a non-negative integer, got {limit!r}",
                "read",
            )
        if limit == 0:
            return []
        size = DEFAULT_CHUNK_SIZE if limit is None else min(limit, DEFAULT_CHUNK_SIZE)
        out: list[Record] = []
        stream = self.read_stream(chunk_size=size, collection=collection)
        try:
            async for chunk in stream:
                out.extend(chunk)
                if limit is not None and len(out) >= limit:
                    del out[limit:]
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return out

    async def read_stream(
        self, chunk_size: int = DEFAULT_CHUNK_SIZE, collection: str | None = None
    ) -> AsyncIterator[list[Record]]:
        """Yield lists of at most ``chunk_size`` records, parsed chunk by chunk in a thread.

        A worker thread parses the next chunk while you work on the current one; no more than
        these two chunks (plus the parser's small buffer) are in memory. Stopping early closes the
        file: at once when the stream is closed (``async with contextlib.aclosing(stream)``, or
        ``await stream.aclose()``), otherwise when the abandoned generator is collected.

        Examples:
            >>> async def count(resource):  # doctest: +SKIP
            ...     n = 0
            ...     async for chunk in resource.read_stream(chunk_size=10_000):
            ...         n += len(chunk)
            ...     return n
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise self._error(
                XResourceValidationError,
                f"chunk_size must be a positive integer, got {chunk_size!r}",
                "read_stream",
            )
        path = await self._readable("read_stream")
        if path is None:
            self._check_collection_for_missing(collection)
            return
        pump = ChunkPump(
            self._iter_chunks(path, chunk_size, collection),
            name=f"xresource-{self.resource_type}-read",
        )
        try:
            async for chunk in pump:
                if chunk:
                    yield chunk
        finally:
            # Stopping early (break, an error, cancellation) stops the thread and closes the
            # file before the caller goes on.
            await pump.aclose()

    def _check_collection_for_missing(self, collection: str | None) -> None:
        """What reading a collection of a file that does not exist yet means (default: none)."""
        self._check_single_collection(collection, "read")

    @abstractmethod
    def _iter_chunks(
        self, path: Path, chunk_size: int, collection: str | None
    ) -> Iterator[list[Record]]:
        """Synchronous generator of record chunks; runs in worker threads, one step at a time."""

    # -- writing -------------------------------------------------------------------------------
    def _lock_for_writes(self) -> asyncio.Lock:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    async def write(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        mode: WriteMode = "replace",
        collection: str | None = None,
    ) -> int:
        """Write ``records`` atomically; returns how many were written.

        ``mode="replace"`` replaces the file's content (or the one collection/sheet it names);
        ``mode="append"`` adds to it. Either way the new file is written beside the old one and
        renamed over it only when complete: on any error the file is unchanged. Cancelling the
        call stops the write and leaves the file unchanged too (unless the rename had already
        happened); the temporary file is removed before the cancellation propagates.
        """
        if mode not in ("replace", "append"):
            raise self._error(
                XResourceValidationError,
                f"mode must be 'replace' or 'append', got {mode!r}",
                "write",
            )
        rows = self._check_records(records)
        await self.ensure_connected()
        path = self.resolve_path("write")
        async with self._lock_for_writes():
            cancel = threading.Event()
            work = asyncio.ensure_future(
                asyncio.to_thread(self._write_locked, path, rows, mode, collection, cancel)
            )
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                # A thread cannot be interrupted: ask it to stop (it checks at each buffered
                # write and before the rename) and wait for it, so that the file is settled
                # (untouched, temporary file removed) when the cancellation propagates.
                cancel.set()
                with contextlib.suppress(WriteCancelled, Exception, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(work), CANCEL_WAIT)
                raise

    def _write_locked(
        self,
        path: Path,
        rows: list[Mapping[str, Any]],
        mode: WriteMode,
        collection: str | None,
        cancel: threading.Event | None = None,
    ) -> int:
        # The per-path lock also serializes writers in other threads and other resources.
        with path_lock(path), cancellable(cancel or threading.Event()):
            exists = self._check_file(path, "write", must_exist=False)
            if mode == "append" and not rows and exists:
                return 0  # nothing to add: leave the file (and its mtime) alone
            return self._write_sync(path, rows, mode, collection)

    def _check_records(self, records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        if isinstance(records, Mapping | str | bytes) or not isinstance(records, Iterable):
            raise self._error(
                XResourceValidationError,
                f"records must be a list of mappings, got {type(records).__name__}",
                "write",
            )
        rows = list(records)
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise self._error(
                    XResourceValidationError,
                    f"record {index} is a {type(row).__name__}, not a mapping",
                    "write",
                )
            for key in row:
                if not isinstance(key, str):
                    raise self._error(
                        XResourceValidationError,
                        f"record {index} has a non-string key {key!r}; keys must be str",
                        "write",
                    )
        return rows

    @abstractmethod
    def _write_sync(
        self, path: Path, rows: list[Mapping[str, Any]], mode: WriteMode, collection: str | None
    ) -> int:
        """Write ``rows`` to ``path`` through :func:`~xresource.files.atomic.atomic_replace`."""

    # -- helpers for subclasses ----------------------------------------------------------------
    @property
    def read_encoding(self) -> str:
        """The codec used to read: ``utf-8`` reads as ``utf-8-sig`` so a BOM is dropped."""
        return "utf-8-sig" if codecs.lookup(self.encoding).name == "utf-8" else self.encoding

    @property
    def append_encoding(self) -> str:
        """The codec for text added to an existing file: never writes a second BOM."""
        name = codecs.lookup(self.encoding).name
        return "utf-8" if name in ("utf-8", "utf-8-sig") else self.encoding

    def decode_error(self, path: Path, operation: str) -> XResourceValidationError:
        """An error naming the byte offset (and line) of the first undecodable byte of ``path``."""
        decoder = codecs.getincrementaldecoder(self.read_encoding)(errors="strict")
        offset = 0
        lines = 1
        detail = ""
        with path.open("rb") as fh:
            while True:
                block = fh.read(1 << 20)
                # Bytes of a partial character kept from the previous block: exc.start counts
                # from the start of those, not of this block.
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    start = exc.start - pending
                    offset += start
                    lines += block[: max(start, 0)].count(b"\n")
                    detail = exc.reason
                    break
                if not block:
                    break
                offset += len(block)
                lines += block.count(b"\n")
        return self._error(
            XResourceValidationError,
            f"file {str(path)!r} is not valid {self.encoding} at byte offset {offset} "
            f"(line {lines}): {detail or 'undecodable bytes'}; pass the file's real encoding "
            "(e.g. encoding='latin-1') or encoding_errors='replace'",
            operation,
        )
