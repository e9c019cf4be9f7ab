"""An append-only JSON Lines audit file: one entry per line, never a torn line left behind.

Writes run in a worker thread (``asyncio.to_thread``), one at a time, so the event loop never
waits on the disk. A batch is one ``write`` of complete lines on an ``O_APPEND`` descriptor; if
the write fails part-way the file is truncated back to where the batch began. A crash (power
loss, ``kill -9``) can still leave a partial last line: readers skip it, and the next sink that
opens the file cuts it off before appending, so new lines never glue onto a fragment.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from xrepo.audit._errors import XRepoAuditError
from xrepo.audit._models import AuditEntry, AuditFilter
from xrepo.audit._sink import AuditSink

__all__ = ["FsyncPolicy", "JSONLinesAuditSink"]

log = logging.getLogger("xrepo.audit")

#: ``always``: fsync after every batch (durable, slowest); ``interval``: at most every
#: ``fsync_interval`` seconds and on close; ``never``: leave it to the OS.
FsyncPolicy = Literal["always", "interval", "never"]
_CHUNK = 64 * 1024


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _complete_length(path: Path) -> int:
    """The length of ``path`` up to and including its last newline (0 if it has none)."""
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        pos = size
        while pos > 0:
            start = max(0, pos - _CHUNK)
            f.seek(start)
            chunk = f.read(pos - start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                return start + nl + 1
            pos = start
        return 0


class JSONLinesAuditSink(AuditSink):
    """Audit entries appended to a ``.jsonl`` file, optionally rotated by size.

    Args:
        path: the log file; its directory must exist. Created with mode 0600.
        fsync: the durability policy (:data:`FsyncPolicy`).
        fsync_interval: seconds between fsyncs under ``"interval"``.
        max_bytes: rotate before a batch would grow the file beyond this; ``None``: never.
        backups: rotated files kept (``audit.jsonl.1`` is the newest); queries read them too.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "always",
        fsync_interval: float = 1.0,
        max_bytes: int | None = None,
        backups: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fsync not in ("always", "interval", "never"):
            raise XRepoAuditError(
                f"fsync must be 'always', 'interval' or 'never', got {fsync!r}",
                operation="configure audit",
            )
        if max_bytes is not None and (isinstance(max_bytes, bool) or max_bytes < 1):
            raise XRepoAuditError(
                f"max_bytes must be a positive integer or None, got {max_bytes!r}",
                operation="configure audit",
            )
        if isinstance(backups, bool) or not isinstance(backups, int) or backups < 0:
            raise XRepoAuditError(
                f"backups must be an integer >= 0, got {backups!r}", operation="configure audit"
            )
        self.path = Path(path)
        self.fsync = fsync
        self.fsync_interval = fsync_interval
        self.max_bytes = max_bytes
        self.backups = backups
        self._clock = clock
        self._fd: int | None = None
        self._size = 0
        self._last_sync = 0.0
        self._lock = asyncio.Lock()
        #: Lines skipped by queries because they were not valid entries (torn or foreign).
        self.skipped_lines = 0

    # -- AuditSink -----------------------------------------------------------------------------
    async def write(self, entries: Sequence[AuditEntry]) -> None:
        batch = list(entries)
        if not batch:
            return
        for entry in batch:
            if not isinstance(entry, AuditEntry):
                raise XRepoAuditError(
                    f"audit sinks take AuditEntry objects, got {type(entry).__name__}",
                    operation="write audit",
                )
        blob = b"".join(e.model_dump_json().encode() + b"\n" for e in batch)
        async with self._lock:
            try:
                await asyncio.to_thread(self._write_sync, blob)
            except OSError as exc:
                raise XRepoAuditError(
                    f"cannot append to the audit file {str(self.path)!r}: "
                    f"{exc.strerror or type(exc).__name__}; nothing of this batch was kept",
                    operation="write audit",
                ) from None

    async def query(self, filters: AuditFilter) -> list[AuditEntry]:
        async with self._lock:
            try:
                return await asyncio.to_thread(self._query_sync, filters)
            except OSError as exc:
                raise XRepoAuditError(
                    f"cannot read the audit file {str(self.path)!r}: "
                    f"{exc.strerror or type(exc).__name__}",
                    operation="get_audit_log",
                ) from None

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._close_sync)

    # -- worker-thread side --------------------------------------------------------------------
    def _open_sync(self) -> int:
        if self._fd is None:
            if self.path.exists():
                # Cut a torn last line (a crash mid-write) before appending after it.
                complete = _complete_length(self.path)
                if complete != self.path.stat().st_size:
                    os.truncate(self.path, complete)
                    log.warning(
                        "audit file %s ended with a partial line (a crash mid-write?); cut it",
                        self.path,
                    )
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(self.path, flags, 0o600)
            self._size = os.fstat(self._fd).st_size
        return self._fd

    def _write_sync(self, blob: bytes) -> None:
        fd = self._open_sync()
        if self.max_bytes is not None and self._size and self._size + len(blob) > self.max_bytes:
            self._rotate_sync()
            fd = self._open_sync()
        start = self._size
        try:
            _write_all(fd, blob)
        except OSError:
            # Take back what part of the batch reached the file: all of it or none of it.
            try:
                os.ftruncate(fd, start)
            except OSError:
                log.exception("audit file %s: could not cut a failed write", self.path)
            raise
        self._size = start + len(blob)
        now = self._clock()
        if self.fsync == "always" or (
            self.fsync == "interval" and now - self._last_sync >= self.fsync_interval
        ):
            os.fsync(fd)
            self._last_sync = now

    def _rotate_sync(self) -> None:
        self._close_sync()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
            return
        oldest = self._backup(self.backups)
        oldest.unlink(missing_ok=True)
        for i in range(self.backups - 1, 0, -1):
            if self._backup(i).exists():
                self._backup(i).replace(self._backup(i + 1))
        self.path.replace(self._backup(1))

    def _backup(self, i: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{i}")

    def _close_sync(self) -> None:
        if self._fd is not None:
            try:
                if self.fsync != "never":
                    os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None

    def _query_sync(self, filters: AuditFilter) -> list[AuditEntry]:
        files = [self.path, *(self._backup(i) for i in range(1, self.backups + 1))]
        matches: list[AuditEntry] = []
        for file in files:
            if not file.exists():
                continue
            with file.open("rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):  # a torn last line: not an entry
                        self.skipped_lines += 1
                        continue
                    try:
                        entry = AuditEntry.model_validate(json.loads(line))
                    except (ValueError, ValidationError):
                        self.skipped_lines += 1
                        continue
                    if filters.matches(entry):
                        matches.append(entry)
        return heapq.nlargest(filters.limit, matches, key=AuditEntry.sort_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, fsync={self.fsync!r})"
