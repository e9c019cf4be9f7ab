"""The per-operation latency recorder: figures, bounded window, threads, bad input."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from xrepo.errors import XRepoValidationError
from xrepo.stats import LatencyRecorder, LatencySnapshot


def test_percentiles_mean_and_extremes() -> None:
    rec = LatencyRecorder(window=1000)
    for ms in range(100, 0, -1):  # 100..1, out of order
        rec.record("list", ms)
    snap = rec.snapshot()["list"]
    assert isinstance(snap, LatencySnapshot)
    assert (snap.operation, snap.count, snap.window) == ("list", 100, 100)
    assert (snap.mean_ms, snap.min_ms, snap.max_ms) == (50.5, 1.0, 100.0)
    assert snap.p50_ms == pytest.approx(50.5)
    assert snap.p95_ms == pytest.approx(95.05)
    assert snap.p99_ms == pytest.approx(99.01)


def test_a_single_sample() -> None:
    rec = LatencyRecorder()
    rec.record("read", 3.25)
    snap = rec.snapshot()["read"]
    assert (snap.p50_ms, snap.p99_ms, snap.mean_ms, snap.window) == (3.25, 3.25, 3.25, 1)


def test_percentiles_describe_the_recent_window_totals_everything() -> None:
    rec = LatencyRecorder(window=10)
    for _ in range(1000):
        rec.record("list", 1000.0)  # an old slow period
    for _ in range(10):
        rec.record("list", 1.0)  # now fast
    snap = rec.snapshot()["list"]
    assert snap.count == 1010
    assert snap.window == 10
    assert snap.p99_ms == 1.0
    assert snap.max_ms == 1000.0
    assert snap.mean_ms == pytest.approx((1000 * 1000 + 10) / 1010)


def test_operations_are_kept_apart_and_sorted() -> None:
    rec = LatencyRecorder()
    rec.record("update", 4)
    rec.record("create", 2)
    rec.record("create", 4)
    assert list(rec.snapshot()) == ["create", "update"]
    assert rec.query_performance() == {"create": 3.0, "update": 4.0}
    rec.reset()
    assert rec.snapshot() == {}


def test_recording_from_many_threads_loses_nothing() -> None:
    rec = LatencyRecorder(window=64)

    def work(op: str) -> None:
        for i in range(2000):
            rec.record(op, i % 7)

    threads = [threading.Thread(target=work, args=(f"op{i % 2}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = rec.snapshot()
    assert snap["op0"].count + snap["op1"].count == 16_000
    assert snap["op0"].window == 64


async def test_time_measures_awaits_and_failures() -> None:
    rec = LatencyRecorder()
    with rec.time("aggregate"):
        await asyncio.sleep(0.01)
    with pytest.raises(KeyError), rec.time("aggregate"):
        raise KeyError("boom")
    snap = rec.snapshot()["aggregate"]
    assert snap.count == 2
    assert snap.max_ms >= 5  # the sleep was measured, not just the bookkeeping


@pytest.mark.parametrize(
    ("operation", "duration"),
    [
        ("", 1.0),
        (None, 1.0),
        ("x" * 101, 1.0),
        ("list", -1.0),
        ("list", float("nan")),
        ("list", float("inf")),
        ("list", True),
        ("list", "3"),
    ],
)
def test_bad_samples_are_refused(operation: Any, duration: Any) -> None:
    rec = LatencyRecorder()
    with pytest.raises(XRepoValidationError):
        rec.record(operation, duration)
    assert rec.snapshot() == {}


def test_unbounded_operation_names_are_refused() -> None:
    rec = LatencyRecorder(max_operations=3)
    for op in ("a", "b", "c"):
        rec.record(op, 1)
    with pytest.raises(XRepoValidationError, match="distinct operations"):
        rec.record("d", 1)
    rec.record("a", 2)  # known ones still work


@pytest.mark.parametrize("window", [0, -5, True, 1.5])
def test_bad_window(window: Any) -> None:
    with pytest.raises(XRepoValidationError):
        LatencyRecorder(window=window)
