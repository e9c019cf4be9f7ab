"""Atomic file replacement: write beside the target, fsync, then ``os.replace``.

A reader (or a crash) sees either the old file or the new one, never a half-written mix: the new
content goes to a temporary file in the target's own directory (``os.replace`` is atomic only
within one file system), is flushed and fsynced, and only then renamed over the target. Any
exception while writing removes the temporary file and leaves the target untouched.

Writes to the same path from several resources or threads of this process are serialized by a
per-path lock, so two appends never lose one another's rows.

Two more guarantees:

- **Cancellation**: a write running in a worker thread under :func:`cancellable` stops at its next
  buffered write (and in any case before the rename) once the event is set; the target is left
  as it was and the temporary file is removed (:class:`WriteCancelled`).
- **Crashes**: a process killed mid-write leaves its temporary file behind (nothing can remove
  it). The next write to the same target removes such leftovers: temporary files of that target
  that no live writer holds (each writer keeps an exclusive ``flock`` on its own) and that are
  older than :data:`STALE_AFTER` seconds. Where ``flock`` does not exist (Windows) they stay.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO, cast

_HAVE_FLOCK: bool
try:
    import fcntl

    _HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows
    _HAVE_FLOCK = False

__all__ = [
    "STALE_AFTER",
    "WriteCancelled",
    "atomic_replace",
    "cancellable",
    "copy_prefix",
    "path_lock",
    "remove_abandoned",
    "remove_stale_temporaries",
]

#: Seconds after which an unlocked temporary file of a target is a crashed writer's leftover.
#: (A writer locks its file right after creating it; the age covers that instant.)
STALE_AFTER = 1.0

_CANCEL: ContextVar[threading.Event | None] = ContextVar("xresource_write_cancel", default=None)


class WriteCancelled(Exception):
    """Raised inside a write whose cancellation event was set; the target is untouched."""


@contextlib.contextmanager
def cancellable(event: threading.Event) -> Iterator[None]:
    """Make the :func:`atomic_replace` calls of this block (in this thread) stop once ``event``
    is set, raising :class:`WriteCancelled`."""
    token = _CANCEL.set(event)
    try:
        yield
    finally:
        _CANCEL.reset(token)


def _check_cancel(event: threading.Event | None) -> None:
    if event is not None and event.is_set():
        raise WriteCancelled("the write was cancelled; the file was left as it was")


class _Writer(io.BufferedWriter):
    """A buffered writer that checks the cancellation event before each write."""

    cancel: threading.Event | None = None

    def write(self, data: Any) -> int:
        _check_cancel(self.cancel)
        return super().write(data)


_PATH_LOCKS: dict[str, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def path_lock(path: Path) -> threading.Lock:
    """The process-wide lock of ``path`` (one per resolved path, created on first use)."""
    key = os.path.normcase(str(path))
    with _PATH_LOCKS_GUARD:
        lock = _PATH_LOCKS.get(key)
        if lock is None:
            lock = _PATH_LOCKS[key] = threading.Lock()
        return lock


def _fsync_dir(directory: Path) -> None:
    # The rename itself must reach the disk too; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


def remove_abandoned(
    target: Path, suffix: str, remove: Callable[[Path], None], *, older_than: float
) -> list[Path]:
    """Remove with ``remove`` the entries beside ``target`` named ``.<target name>.<random>
    <suffix>`` (what crashed writers of it left) that no process holds locked and that were last
    written more than ``older_than`` seconds ago; returns them. Without ``flock``, none."""
    if not _HAVE_FLOCK:  # pragma: no cover - Windows
        return []
    removed: list[Path] = []
    prefix = _temp_prefix(target)
    now = time.time()
    try:
        # mkstemp's random part has no dot: ".t.csv.bak.<random>.tmp" belongs to "t.csv.bak".
        candidates = [
            entry
            for entry in target.parent.iterdir()
            if entry.name.startswith(prefix)
            and entry.name.endswith(suffix)
            and "." not in entry.name[len(prefix) : -len(suffix)]
        ]
    except OSError:
        return []
    for entry in candidates:
        try:
            if now - entry.stat().st_mtime < older_than:
                continue
            fd = os.open(entry, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live writer holds it
            continue
        try:
            remove(entry)
            removed.append(entry)
        except OSError:
            pass
        finally:
            os.close(fd)  # also releases the lock
    return removed


def remove_stale_temporaries(target: Path, *, older_than: float = STALE_AFTER) -> list[Path]:
    """Remove the temporary files that crashed writers of ``target`` left behind; returns them.

    A temporary file is a leftover when no process holds its lock (its writer is gone) and it
    was last written more than ``older_than`` seconds ago. Without ``flock`` nothing is removed.
    """
    return remove_abandoned(
        target, ".tmp", lambda entry: entry.unlink(missing_ok=True), older_than=older_than
    )


@contextlib.contextmanager
def atomic_replace(target: Path) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``target`` when the ``with`` block ends without error.

    The temporary file keeps the target's permission bits when the target exists.

    Examples:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> with atomic_replace(p) as fh:
        ...     _ = fh.write(b"hello")
        >>> p.read_bytes()
        b'hello'
    """
    cancel = _CANCEL.get()
    _check_cancel(cancel)
    directory = target.parent
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=_temp_prefix(target), suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        raw = io.FileIO(fd, "wb")  # owns (and closes) fd from here on
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with _Writer(raw) as fh:
            if _HAVE_FLOCK:
                # Held until the file is closed (or the process dies): tells a live writer's
                # file from a crashed one's, for remove_stale_temporaries().
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            fh.cancel = cancel
            yield cast(BinaryIO, fh)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            shutil.copymode(target, tmp)
        _check_cancel(cancel)  # the last moment the target can still be left alone
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(directory)


def copy_prefix(
    source: Path, dest: BinaryIO, length: int | None = None, block: int = 1 << 20
) -> None:
    """Copy the first ``length`` bytes of ``source`` (all when ``None``) into ``dest``."""
    with source.open("rb") as src:
        if length is None:
            shutil.copyfileobj(src, dest, block)
            return
        remaining = length
        while remaining > 0:
            data = src.read(min(block, remaining))
            if not data:
                break
            dest.write(data)
            remaining -= len(data)
