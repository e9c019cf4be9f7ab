"""An interrupted CSV, JSON, JSON Lines, YAML or Excel write leaves the original file intact.

Three interruptions, on every writable format, in ``replace`` and ``append`` modes:

- a record whose serialisation raises midway (record 500 of 1,000);
- the writing task cancelled while its worker thread is writing a big file;
- the writing *process* killed (SIGKILL) while it writes: a crash.

Each time the original bytes must be unchanged and no temporary file may stay behind; after a
crash (which nothing can clean up at the time) the next write removes the leftover.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from xresource import FileResource, ResourceFactory

#: (resource type, file suffix, rows big enough that writing them takes a while)
FORMATS = [
    ("csv", "csv", 400_000),
    ("json", "json", 200_000),
    ("json", "jsonl", 200_000),
    ("yaml", "yaml", 40_000),
    ("excel", "xlsx", 40_000),
]
IDS = [suffix for _, suffix, _ in FORMATS]
DEADLINE = 60.0


def _resource(kind: str, path: Path) -> FileResource:
    resource = ResourceFactory.create(kind, path=str(path), create_if_missing=True)
    assert isinstance(resource, FileResource)
    return resource


def _rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"nom {i} ☂ é", "qty": i % 13} for i in range(start, start + n)]


def _temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def _has_temporary(directory: Path) -> bool:
    for path in directory.glob("*.tmp"):
        try:
            if path.stat().st_size > 0:
                return True
        except FileNotFoundError:
            continue
    return False


async def _until_temporary(directory: Path, what: str) -> None:
    try:
        async with asyncio.timeout(DEADLINE):
            while not _has_temporary(directory):  # noqa: ASYNC110 - another thread/process
                await asyncio.sleep(0.005)
    except TimeoutError:
        pytest.fail(f"{what}: no temporary file appeared within {DEADLINE:g}s")


async def _original(kind: str, path: Path) -> bytes:
    await _resource(kind, path).write(_rows(10))
    return await asyncio.to_thread(path.read_bytes)


class _Exploding(Mapping[str, Any]):
    """A record whose values cannot be read: its serialisation raises midway through a write."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("the record's source went away")

    def __iter__(self) -> Iterator[str]:
        return iter(("id", "name", "qty"))

    def __len__(self) -> int:
        return 3


# -- an exception while serialising --------------------------------------------------------------
@pytest.mark.parametrize("mode", ["replace", "append"])
@pytest.mark.parametrize(("kind", "suffix", "big"), FORMATS, ids=IDS)
async def test_a_record_failing_midway_leaves_the_original(
    tmp_path: Path, kind: str, suffix: str, big: int, mode: str
) -> None:
    path = tmp_path / f"data.{suffix}"
    before = await _original(kind, path)
    records: list[Mapping[str, Any]] = [*_rows(1000, start=100)]
    records[500] = _Exploding()
    with pytest.raises(RuntimeError, match="went away"):
        await asyncio.wait_for(_resource(kind, path).write(records, mode=mode), DEADLINE)  # type: ignore[arg-type]
    assert path.read_bytes() == before
    assert _temporaries(tmp_path) == []


# -- the writing task cancelled ------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "suffix", "big"), FORMATS, ids=IDS)
async def test_a_cancelled_write_of_a_big_file_leaves_the_original(
    tmp_path: Path, kind: str, suffix: str, big: int
) -> None:
    path = tmp_path / f"data.{suffix}"
    before = await _original(kind, path)
    resource = _resource(kind, path)
    task = asyncio.create_task(resource.write(_rows(big, start=100)))
    await _until_temporary(tmp_path, f"writing {big} rows")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, DEADLINE)
    assert path.read_bytes() == before
    assert _temporaries(tmp_path) == []
    # Not stuck: the next write goes through.
    assert await asyncio.wait_for(resource.write(_rows(3)), DEADLINE) == 3
    assert len(await resource.read()) == 3


# -- the writing process killed --------------------------------------------------------------------
WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from xresource import ResourceFactory

    kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rows = [{"id": i, "name": f"nom {i} ☂ é", "qty": i % 13} for i in range(n)]
    resource = ResourceFactory.create(kind, path=path, create_if_missing=True)
    asyncio.run(resource.write(rows))
    """
)


@pytest.mark.parametrize(("kind", "suffix", "big"), FORMATS, ids=IDS)
async def test_a_writer_killed_midway_leaves_the_original(
    tmp_path: Path, kind: str, suffix: str, big: int
) -> None:
    path = tmp_path / f"data.{suffix}"
    before = await _original(kind, path)
    writer = subprocess.Popen(  # noqa: ASYNC220 - killed below, waited with a timeout
        [sys.executable, "-c", WRITER, kind, str(path), str(big * 3)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await _until_temporary(tmp_path, f"a process writing {big * 3} rows")
    finally:
        writer.send_signal(signal.SIGKILL)
        _, stderr = await asyncio.to_thread(writer.communicate, timeout=DEADLINE)
    assert writer.returncode == -signal.SIGKILL, stderr.decode(errors="replace")
    assert path.read_bytes() == before
    # A crash leaves its temporary file (nothing could remove it)...
    (leftover,) = _temporaries(tmp_path)
    # ...which the next write removes once it is stale (no writer holds it, older than 1 s).
    past = time.time() - 60
    os.utime(tmp_path / leftover, (past, past))
    resource = _resource(kind, path)
    assert await asyncio.wait_for(resource.write(_rows(5), mode="append"), DEADLINE) == 5
    assert _temporaries(tmp_path) == []
    assert len(await resource.read()) == 15
