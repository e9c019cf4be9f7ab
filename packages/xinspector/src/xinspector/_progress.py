"""Progress of long work on a terminal: one line on stderr, redrawn in place.

``profiling 120,000 / 1,000,000 records (12.0%) · 85,300 records/s · 1.4 s`` — the records done
and the total when the source knows it, the rate and the elapsed time. The line is redrawn at
most every ``interval`` seconds (a callback per chunk would flood a slow terminal) and also
when nothing reports (a database computing statistics in place says nothing until it is done),
so the elapsed time keeps moving. Whether to draw at all is the caller's choice:
:func:`wants_progress` says yes for a terminal, no for a pipe or a file. Forced onto a pipe or a
file, each redraw is a line of its own, without terminal escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressLine", "wants_progress"]

# Erase to the end of the line: a shorter line leaves no tail of the previous one.
_CLEAR = "\r\x1b[K"


def wants_progress(stream: TextIO, forced: bool | None = None) -> bool:
    """Whether to draw progress on ``stream``: ``forced`` if given, else only on a terminal
    (and not when ``TERM=dumb``, which cannot redraw a line)."""
    if forced is not None:
        return forced
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False
    return tty and os.environ.get("TERM") != "dumb"


def _elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressLine:
    """A progress line on ``stream``; :meth:`update` is a ``ProgressCallback``.

    Args:
        stream: where to draw (stderr).
        label: what is being done (``profiling orders``).
        interval: least seconds between two redraws.
        clock: the monotonic clock (tests give their own).
        width: the terminal's columns (default: asked of the terminal at each redraw).
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"ProgressLine interval must not be negative, got {interval!r}")
        self.stream = stream
        self.label = label
        self.interval = interval
        self.clock = clock
        self.width = width
        self.started = clock()
        self.done = 0
        self.total: int | None = None
        self.drawn_at: float | None = None
        self.closed = False
        try:
            self.in_place = stream.isatty()
        except (AttributeError, ValueError):
            self.in_place = False
        self._ticker: asyncio.Task[None] | None = None

    def text(self) -> str:
        """The line as it reads now."""
        elapsed = max(self.clock() - self.started, 0.0)
        parts = [self.label]
        if self.total is not None and self.total > 0:
            pct = min(self.done / self.total, 1.0)
            parts.append(f"{self.done:,} / {self.total:,} records ({pct:.1%})")
        elif self.done:
            parts.append(f"{self.done:,} records")
        if self.done and elapsed > 0:
            parts.append(f"{self.done / elapsed:,.0f} records/s")
        parts.append(_elapsed(elapsed))
        return " · ".join(parts)

    def _columns(self) -> int:
        if self.width is not None:
            return self.width
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):  # not a file descriptor after all
            return 80
        return columns if columns > 0 else 80  # a terminal that never said its size

    def fitted(self) -> str:
        """The line cut to the terminal's width: a line that wraps cannot be redrawn in place
        (the carriage return goes back to the start of its last row only). The label (a long
        path) gives way first, the numbers stay."""
        line = self.text()
        room = max(self._columns() - 1, 10)
        if len(line) <= room:
            return line
        rest = line[len(self.label) :]
        keep = room - len(rest) - 1
        if keep >= 8:
            return "…" + self.label[len(self.label) - keep :] + rest
        return line[: room - 1] + "…"

    def _draw(self) -> None:
        self.drawn_at = self.clock()
        if self.in_place:
            self.stream.write(_CLEAR + self.fitted())
        else:
            self.stream.write(self.text() + "\n")
        self.stream.flush()

    def update(self, done: int, total: int | None = None) -> None:
        """Record progress (``done`` records of ``total``) and redraw if it is time."""
        if self.closed:
            return
        self.done = max(done, 0)
        if total is not None:
            self.total = total
        now = self.clock()
        if self.drawn_at is None or now - self.drawn_at >= self.interval:
            self._draw()

    __call__ = update

    async def _tick(self) -> None:
        while not self.closed:
            await asyncio.sleep(max(self.interval, 0.05) * 5)
            if not self.closed and (
                self.drawn_at is None or self.clock() - self.drawn_at >= self.interval
            ):
                self._draw()

    def start(self) -> None:
        """Draw now, and keep the elapsed time moving while no progress is reported (needs a
        running event loop)."""
        self._draw()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def finish(self, summary: str | None = None) -> None:
        """Stop redrawing and leave the final state (or ``summary``) as a line of its own: how
        many records, how fast, how long."""
        if self.closed:
            return
        self.closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        final = (
            summary if summary is not None else (self.fitted() if self.in_place else self.text())
        )
        self.stream.write((_CLEAR if self.in_place else "") + final + "\n")
        self.stream.flush()
