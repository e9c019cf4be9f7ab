"""Shared helpers of the ratio benchmarks: timing and the marker blocks of ``docs/benchmarks.md``.

Every benchmark owns one block of ``docs/benchmarks.md``, delimited by
``<!-- bench:<name>:start -->`` and ``<!-- bench:<name>:end -->``; :func:`write_docs_block`
replaces the inside of that block and leaves the rest of the page (other benchmarks' blocks
included) as it is.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["DOCS_PAGE", "median_time", "write_docs_block"]

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
