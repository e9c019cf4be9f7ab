"""Atomic file replacement: write beside the target, fsync, then ``os.replace``.

A reader (or a crash) sees either the old file or the new one, never a half-written mix: the new
content goes to a temporary file in the target's own directory (``os.replace`` is atomic only
within one file system), is flushed and fsynced, and only then renamed over the target. Any
exception while writing removes the temporary file and leaves the target untouched.

Writes to the same path from several resources or threads of this process are serialized by a
per-path lock, so two appends never lose one another's rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_replace", "copy_prefix", "path_lock"]

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
    directory = target.parent
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            shutil.copymode(target, tmp)
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
