"""Shared helpers of the ratio benchmarks: timing and the marker blocks of ``docs/benchmarks.md``.

Every benchmark owns one block of ``docs/benchmarks.md``, delimited by
``<!-- bench:<name>:start -->`` and ``<!-- bench:<name>:end -->``; :func:`write_docs_block`
replaces the inside of that block and leaves the rest of the page (other benchmarks' blocks
included) as it is.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DOCS_PAGE",
    "child_peak_rss_mb",
    "fmt_time",
    "interleaved_medians",
    "interleaved_medians_async",
    "interleaved_medians_on_loop",
    "median_time",
    "publish",
    "speed_cells",
    "write_docs_block",
]

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

_HEADER = """# Benchmarks

Ratio benchmarks: each one times the xstack code path against the plain alternative (the raw
driver, a linear scan, a peer library) in the same run, on the same data, and reports the ratio.
Absolute times depend on the machine; the ratios are what the numbers below are for. Run them with
`nox -s bench`; each benchmark rewrites only its own block of this page.
"""

_NAME = re.compile(r"[a-z0-9_\-]+")


def median_time(fn: Callable[[], Any], repeat: int, *, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs, after ``warmup`` untimed runs.

    The median, not the mean: one garbage-collection pause or scheduler hiccup must not move it.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(warmup):
        fn()
    times: list[float] = []
    clock = time.perf_counter
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def interleaved_medians(
    fns: Sequence[Callable[[], Any]], repeat: int, *, warmup: bool = True, collect: bool = False
) -> list[float]:
    """Median wall time in seconds of each of ``fns``, their runs interleaved (a, b, a, b...).

    Interleaving makes load from other processes on a shared machine hit every contender alike,
    instead of whichever happened to run while it lasted. ``warmup`` runs each once, untimed,
    first; ``collect`` runs the garbage collector (untimed) before every timed run, so that
    garbage one contender leaves behind is not paid for by the next.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if warmup:
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    clock = time.perf_counter
    for _ in range(repeat):
        for fn, bucket in zip(fns, times, strict=True):
            if collect:
                gc.collect()
            start = clock()
            fn()
            bucket.append(clock() - start)
    return [statistics.median(t) for t in times]


async def interleaved_medians_async(
    fns: Sequence[Callable[[], Awaitable[Any]]],
    repeat: int,
    *,
    warmup: bool = True,
    collect: bool = False,
) -> list[float]:
    """:func:`interleaved_medians` for coroutine functions, awaited on the running loop."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if warmup:
        for fn in fns:
            await fn()
    times: list[list[float]] = [[] for _ in fns]
    clock = time.perf_counter
    for _ in range(repeat):
        for fn, bucket in zip(fns, times, strict=True):
            if collect:
                gc.collect()
            start = clock()
            await fn()
            bucket.append(clock() - start)
    return [statistics.median(t) for t in times]


def interleaved_medians_on_loop(
    loop: asyncio.AbstractEventLoop,
    fns: Sequence[Callable[[], Awaitable[Any]]],
    repeat: int,
    *,
    warmup: bool = True,
    collect: bool = False,
) -> list[float]:
    """:func:`interleaved_medians` of coroutine functions, each run timed as a whole
    ``loop.run_until_complete(fn())`` (the way a caller outside the loop pays for it)."""
    runs = [lambda fn=fn: loop.run_until_complete(fn()) for fn in fns]
    return interleaved_medians(runs, repeat, warmup=warmup, collect=collect)


def fmt_time(seconds: float) -> str:
    """``12.3 µs`` below a millisecond, ``4.56 ms`` from there on."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} µs"
    return f"{seconds * 1e3:,.2f} ms"


def speed_cells(raw: float, ours: float, target: float) -> tuple[str, bool]:
    """The ``raw (ms) | ours (ms) | speed | met`` cells of a raw-driver comparison (speed = raw
    time / our time, met when at least ``target``), and whether it is met."""
    speed = raw / ours
    met = speed >= target
    return f"{raw * 1000:.1f} | {ours * 1000:.1f} | {speed:.2f}x | {'yes' if met else 'no'}", met


def publish(name: str, markdown: str, write_docs: bool) -> None:
    """Print a benchmark's table and, with ``--write-docs``, record it in its docs block."""
    print(markdown)
    if write_docs:
        print(f"\nwrote {write_docs_block(name, markdown)}")


# VmHWM (the peak resident set of this process image), not ru_maxrss: Linux carries ru_maxrss
# over exec(), so a child would report its (large) parent's peak.
_PEAK_PRELUDE = f"""
import resource, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
def _hwm_kb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def child_peak_rss_mb(setup: str, run: str, *argv: str) -> tuple[float, float]:
    """``(baseline, peak)`` resident set in MB of a fresh interpreter that runs ``setup`` (the
    imports; the baseline is taken after it) and then ``run``, with ``argv`` as ``sys.argv[1:]``.

    The child can import the modules beside this file (the other benchmarks).
    """
    code = (
        f"{_PEAK_PRELUDE}\n{setup}\n_base = _hwm_kb()\n{run}\n"
        "print(_base / 1024, _hwm_kb() / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True
    ).stdout
    base, peak = out.strip().splitlines()[-1].split()
    return float(base), float(peak)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_docs_block(name: str, markdown: str, *, page: Path | None = None) -> Path:
    """Put ``markdown`` between the ``bench:<name>`` markers of ``docs/benchmarks.md``.

    The page is created with a heading when missing; a block that is not there yet is appended.
    Only the inside of this benchmark's block changes. The write goes through a temporary file and
    a rename, so a crash midway never leaves a half-written page.

    Returns the path of the page written.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"benchmark name {name!r} may hold only a-z, 0-9, '_' and '-'")
    target = page if page is not None else DOCS_PAGE
    start, end = _markers(name)
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = target.read_text(encoding="utf-8") if target.exists() else _HEADER
    begin_at, end_at = text.find(start), text.find(end)
    if begin_at == -1 and end_at == -1:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    elif begin_at == -1 or end_at < begin_at:
        raise ValueError(
            f"{target}: the markers of benchmark {name!r} are unbalanced; fix them by hand "
            f"(expected {start} before {end})"
        )
    else:
        text = text[:begin_at] + block + text[end_at + len(end) :]
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file private (0600); the page keeps its mode, or gets the usual 0644.
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
