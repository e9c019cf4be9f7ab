"""A private directory beside a target file, for a writer (DuckDB) that creates its own files.

``COPY ... TO`` writes a new file by name (replacing whatever is there), so it cannot write into
:func:`~xresource.files.atomic.atomic_replace`'s open temporary file: it writes into a staging
directory beside the target, whose content is then copied through ``atomic_replace``. The
directory is removed when the write ends; a crashed writer's directory is removed by the next
write to the same target, once no process holds its lock (each writer keeps an exclusive
``flock`` on its directory while it lives), as ``atomic_replace`` does for its own temporaries.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xresource.files.atomic import STALE_AFTER, remove_abandoned

_HAVE_FLOCK: bool
try:
    import fcntl

    _HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows
    _HAVE_FLOCK = False

__all__ = ["remove_stale_staging", "staging_dir"]

_SUFFIX = ".staging"


def _prefix(target: Path) -> str:
    return f".{target.name}."


def remove_stale_staging(target: Path, *, older_than: float = STALE_AFTER) -> list[Path]:
    """Remove the staging directories crashed writers of ``target`` left; returns them."""

    def remove(entry: Path) -> None:
        if not entry.is_dir():
            raise NotADirectoryError(entry)  # a file of that name is none of ours: kept
        shutil.rmtree(entry, ignore_errors=True)

    return remove_abandoned(target, _SUFFIX, remove, older_than=older_than)


@contextlib.contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """A new directory beside ``target``, locked while the block runs and removed after it."""
    remove_stale_staging(target)
    directory = Path(tempfile.mkdtemp(dir=target.parent, prefix=_prefix(target), suffix=_SUFFIX))
    fd = os.open(directory, os.O_RDONLY)
    try:
        if _HAVE_FLOCK:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        os.close(fd)
