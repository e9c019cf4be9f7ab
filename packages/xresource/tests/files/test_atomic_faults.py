"""Atomic writes under faults: cancelled writes and crashed writers' temporary files.

What :mod:`xresource.files.atomic` promises beyond "write beside, fsync, rename": a write stopped
through its cancellation event leaves the target and no temporary file, and the leftovers of a
writer that died are removed by the next write, never the file of a writer still at work.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from xresource import CSVResource, JSONResource
from xresource.files.atomic import (
    STALE_AFTER,
    WriteCancelled,
    atomic_replace,
    cancellable,
    remove_stale_temporaries,
)

ORIGINAL = "id,name\n1,Ada ☂\n"


def _temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def _leftover(target: Path, tag: str, *, age: float = 60.0) -> Path:
    """A temporary file of ``target`` as a crashed writer leaves it, ``age`` seconds old."""
    path = target.parent / f".{target.name}.{tag}.tmp"
    path.write_bytes(b"half a file")
    past = time.time() - age
    os.utime(path, (past, past))
    return path


# -- cancellation ------------------------------------------------------------------------------
def test_a_write_cancelled_before_it_starts_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    target.write_text(ORIGINAL, encoding="utf-8")
    event = threading.Event()
    event.set()
    with cancellable(event), pytest.raises(WriteCancelled), atomic_replace(target) as fh:
        fh.write(b"never")
    assert target.read_text(encoding="utf-8") == ORIGINAL
    assert _temporaries(tmp_path) == []


def test_a_write_cancelled_midway_stops_at_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    target.write_text(ORIGINAL, encoding="utf-8")
    event = threading.Event()
    written = 0
    # The raise is midway through the block, which is the point.
    with cancellable(event), pytest.raises(WriteCancelled), atomic_replace(target) as fh:  # noqa: PT012
        for n in range(1000):
            if n == 10:
                event.set()
            fh.write(b"x" * 100)
            written += 1
    assert written == 10
    assert target.read_text(encoding="utf-8") == ORIGINAL
    assert _temporaries(tmp_path) == []


def test_a_cancellation_after_the_last_write_still_keeps_the_target(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    target.write_text(ORIGINAL, encoding="utf-8")
    event = threading.Event()
    with cancellable(event), pytest.raises(WriteCancelled), atomic_replace(target) as fh:  # noqa: PT012
        fh.write(b"complete new content")
        event.set()  # before the rename: the rename does not happen
    assert target.read_text(encoding="utf-8") == ORIGINAL
    assert _temporaries(tmp_path) == []


def test_outside_cancellable_an_event_of_another_thread_has_no_effect(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    event = threading.Event()
    event.set()

    def cancelled_elsewhere() -> None:
        with cancellable(event):
            pass

    worker = threading.Thread(target=cancelled_elsewhere)
    worker.start()
    worker.join(timeout=10)
    with atomic_replace(target) as fh:
        fh.write(b"ok")
    assert target.read_bytes() == b"ok"


class _Slow(Mapping[str, Any]):
    """A record that takes a moment to read, so that a write of many is cancelled midway."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, key: str) -> Any:
        if key == "id":
            time.sleep(0.0005)
            return self.n
        if key == "name":
            return f"name {self.n} é"
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("id", "name"))

    def __len__(self) -> int:
        return 2


def _has_temporary(directory: Path) -> bool:
    """Whether a temporary file with some content exists in ``directory``."""
    for path in directory.glob("*.tmp"):
        try:
            if path.stat().st_size > 0:
                return True
        except FileNotFoundError:
            continue
    return False


async def _wait_for_temporary(directory: Path) -> None:
    async with asyncio.timeout(30):
        while not _has_temporary(directory):  # noqa: ASYNC110 - another thread writes it
            await asyncio.sleep(0.005)


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
async def test_cancelling_write_leaves_the_file_and_no_temporary(tmp_path: Path, kind: str) -> None:
    target = tmp_path / f"data.{kind}"
    resource = (
        CSVResource(path=str(target), create_if_missing=True)
        if kind == "csv"
        else JSONResource(path=str(target), create_if_missing=True)
    )
    await resource.write([{"id": 1, "name": "Ada ☂"}])
    before = target.read_bytes()
    task = asyncio.create_task(resource.write([_Slow(n) for n in range(20_000)]))
    await _wait_for_temporary(tmp_path)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    # Settled when the cancellation arrives: no thread is still writing behind our back.
    assert target.read_bytes() == before
    assert _temporaries(tmp_path) == []
    # The resource is not stuck (its write lock was released).
    assert await asyncio.wait_for(resource.write([{"id": 2, "name": "Bo"}]), 30) == 1
    assert _temporaries(tmp_path) == []


# -- crashed writers' leftovers ----------------------------------------------------------------
def test_the_next_write_removes_a_crashed_writers_temporary(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    target.write_text(ORIGINAL, encoding="utf-8")
    stale = _leftover(target, "crashed")
    with atomic_replace(target) as fh:
        fh.write(b"new")
    assert not stale.exists()
    assert target.read_bytes() == b"new"
    assert _temporaries(tmp_path) == []


def test_a_live_writers_temporary_is_never_removed(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    live = _leftover(target, "live")
    fd = os.open(live, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a writer at work holds it
        assert remove_stale_temporaries(target) == []
        assert live.exists()
    finally:
        os.close(fd)
    assert remove_stale_temporaries(target) == [live]


def test_a_fresh_temporary_and_other_targets_files_are_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    fresh = _leftover(target, "fresh", age=0)
    other = _leftover(tmp_path / "t.csv.bak", "other")
    unrelated = tmp_path / ".t.csv.notes"
    unrelated.write_text("mine", encoding="utf-8")
    assert remove_stale_temporaries(target, older_than=STALE_AFTER) == []
    assert fresh.exists()
    assert other.exists()
    assert unrelated.exists()
