"""Per-operation latency: count, mean, min/max and p50/p95/p99 over a bounded window.

Each operation keeps exact totals (count, sum, min, max since the start) and the most recent
``window`` samples in a ring buffer; percentiles are computed over that window, so they describe
current behaviour and memory stays bounded whatever the traffic. Recording is O(1) under a
``threading.Lock``: safe from the event loop and from worker threads alike.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import BaseModel

from xrepo.errors import XRepoValidationError

__all__ = ["LatencyRecorder", "LatencySnapshot"]


class LatencySnapshot(BaseModel):
    """Latency of one operation, in milliseconds (``RepoStats.query_performance`` uses mean)."""

    operation: str
    count: int
    mean_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    #: How many recent samples the percentiles describe.
    window: int


@dataclass
class _Series:
    samples: list[float]
    size: int
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = 0.0
    next: int = field(default=0)

    def add(self, ms: float) -> None:
        if len(self.samples) < self.size:
            self.samples.append(ms)
        else:
            self.samples[self.next] = ms
        self.next = (self.next + 1) % self.size
        self.count += 1
        self.total += ms
        self.low = min(self.low, ms)
        self.high = max(self.high, ms)


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), ``ordered`` non-empty."""
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class LatencyRecorder:
    """Records how long operations take.

    Examples:
        >>> rec = LatencyRecorder(window=1000)
        >>> for ms in (1.0, 2.0, 3.0, 4.0):
        ...     rec.record("list", ms)
        >>> snap = rec.snapshot()["list"]
        >>> snap.count, snap.mean_ms, snap.p50_ms
        (4, 2.5, 2.5)
    """

    def __init__(
        self, window: int = 1024, *, max_operations: int = 256, enabled: bool = True
    ) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise XRepoValidationError(f"window must be an integer >= 1, got {window!r}")
        #: ``False``: :meth:`record` keeps nothing (``RepoMetadata.enable_statistics=False``).
        self.enabled = bool(enabled)
        self.window = window
        self.max_operations = max_operations
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()

    def record(self, operation: str, duration_ms: float) -> None:
        """Add one sample; negative, NaN or infinite durations are refused.

        Raises:
            XRepoValidationError: a bad operation name or duration, or more distinct operations
                than ``max_operations`` (operation names must not come from user input).
        """
        if not self.enabled:
            return
        if not isinstance(operation, str) or not operation or len(operation) > 100:
            raise XRepoValidationError(
                f"operation must be a non-empty string of at most 100 characters, got {operation!r}"
            )
        if (
            isinstance(duration_ms, bool)
            or not isinstance(duration_ms, int | float)
            or not math.isfinite(duration_ms)
            or duration_ms < 0
        ):
            raise XRepoValidationError(
                f"duration must be a finite number of milliseconds >= 0, got {duration_ms!r}"
            )
        with self._lock:
            series = self._series.get(operation)
            if series is None:
                if len(self._series) >= self.max_operations:
                    raise XRepoValidationError(
                        f"more than {self.max_operations} distinct operations recorded; "
                        "operation names must be a fixed set (create, list, ...)"
                    )
                series = self._series[operation] = _Series([], self.window)
            series.add(float(duration_ms))

    @contextlib.contextmanager
    def time(self, operation: str) -> Iterator[None]:
        """Measure the block (also around ``await``\\ s) and record it, even if it raises."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.record(operation, (time.perf_counter() - started) * 1000.0)

    def snapshot(self) -> dict[str, LatencySnapshot]:
        """Every operation's figures now, by operation name."""
        with self._lock:
            copies = {
                op: (list(s.samples), s.count, s.total, s.low, s.high)
                for op, s in self._series.items()
            }
        out: dict[str, LatencySnapshot] = {}
        for op, (samples, count, total, low, high) in sorted(copies.items()):
            samples.sort()  # outside the lock: recording never waits on a sort
            out[op] = LatencySnapshot(
                operation=op,
                count=count,
                mean_ms=total / count,
                min_ms=low,
                max_ms=high,
                p50_ms=_percentile(samples, 0.50),
                p95_ms=_percentile(samples, 0.95),
                p99_ms=_percentile(samples, 0.99),
                window=len(samples),
            )
        return out

    def query_performance(self) -> dict[str, float]:
        """``{operation: mean ms}``: the shape of ``RepoStats.query_performance``."""
        return {op: s.mean_ms for op, s in self.snapshot().items()}

    def reset(self) -> None:
        """Forget every sample."""
        with self._lock:
            self._series.clear()
