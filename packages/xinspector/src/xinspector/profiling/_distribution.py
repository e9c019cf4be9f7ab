"""Quantiles, histograms and string-length histograms as :class:`FieldStatistics` fields.

Every backend (the streaming profiler, SQL, MongoDB, the DuckDB engine) reduces a column to the
same few things: numbers (temporal values as epoch seconds), either as a :class:`QuantileSketch`
or as what the database answered (quantiles, the count per histogram bin, the count per string
length), and this module turns them into ``quantiles``, ``histogram`` and ``length_histogram``
with one set of definitions (see :mod:`._quantiles`), so that every backend reports the same.

Temporal values are epoch seconds: naive datetimes and dates count from ``1970-01-01 00:00``
(wall-clock time, no time zone assumed), aware ones from ``1970-01-01 00:00 UTC``. Results go
back to ``datetime``, aware in UTC when the column held aware values and naive otherwise; for a
``date`` column too (a quantile may fall between two days), so that every bound and quantile of
one field has one type and compares with the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from xinspector.profiling._quantiles import QuantileSketch, histogram_edges
from xinspector.profiling._stats import QUANTILE_LEVELS, FieldStatistics, HistogramBin

__all__ = [
    "TEMPORAL_TYPES",
    "apply_histogram",
    "apply_length_histogram",
    "apply_quantiles",
    "apply_sketch",
    "epoch_of",
    "from_epoch",
    "length_bins",
]

TEMPORAL_TYPES = frozenset({"date", "datetime"})
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_DAY = 86_400


def epoch_of(value: date) -> tuple[float, bool]:
    """``(epoch seconds, aware)`` of a date or datetime (see the module docstring)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.timestamp(), True
        return (value.replace(tzinfo=None) - _EPOCH) / timedelta(seconds=1), False
    return float((value.toordinal() - _EPOCH_ORDINAL) * _DAY), False


def from_epoch(seconds: float, *, aware: bool) -> datetime:
    """The inverse of :func:`epoch_of` (a ``datetime``, also for dates); clamped to the years
    1 to 9999 (a float rounds ``9999-12-31 23:59:59.999999`` up, past the last datetime)."""
    try:
        if aware:
            return datetime.fromtimestamp(seconds, UTC)
        return _EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError, OSError):
        edge = datetime.max if seconds > 0 else datetime.min
        return edge.replace(tzinfo=UTC) if aware else edge


def _out(value: float, type_name: str, aware: bool) -> Any:
    if type_name in TEMPORAL_TYPES:
        return from_epoch(value, aware=aware)
    return value


def apply_quantiles(
    fs: FieldStatistics,
    values: Sequence[float],
    *,
    exact: bool,
    type_name: str,
    aware: bool = False,
) -> None:
    """Set ``fs.quantiles`` from one value per level of ``QUANTILE_LEVELS`` (in order)."""
    if len(values) != len(QUANTILE_LEVELS) or any(v is None for v in values):
        return
    fs.quantiles = {
        key: _out(float(v), type_name, aware)
        for key, v in zip(QUANTILE_LEVELS, values, strict=True)
    }
    fs.quantiles_exact = exact


def apply_histogram(
    fs: FieldStatistics,
    lo: float,
    hi: float,
    bins: int,
    counts_by_bin: Mapping[int, int],
    *,
    type_name: str,
    aware: bool = False,
) -> None:
    """Set ``fs.histogram`` from the count per bin index (indexes past the last bin, the
    maximum's ``floor`` when a backend does not clamp, count in the last bin)."""
    if not math.isfinite(hi - lo):
        return
    edges = histogram_edges(lo, hi, bins)
    counts = [0] * len(edges)
    for index, c in counts_by_bin.items():
        counts[min(max(int(index), 0), len(edges) - 1)] += int(c)
    fs.histogram = [
        HistogramBin(lower=_out(a, type_name, aware), upper=_out(b, type_name, aware), count=c)
        for (a, b), c in zip(edges, counts, strict=True)
    ]


def length_bins(lo: int, hi: int, bins: int) -> int:
    """Width of the string-length bins: one length per bin while they fit in ``bins``."""
    return max(1, math.ceil((hi - lo + 1) / bins))


def apply_length_histogram(
    fs: FieldStatistics,
    lengths: Iterable[tuple[int, int]],
    bins: int,
    *,
    bounds: tuple[int | None, int | None] | None = None,
) -> None:
    """Set ``fs.length_histogram`` from ``(length, count)`` pairs.

    Bins are integer ranges ``[lower, upper)`` of equal width over ``[min length, max length]``:
    one bin per length when there are at most ``bins`` lengths, wider ones otherwise.
    """
    pairs = [(int(n), int(c)) for n, c in lengths if c]
    if not pairs:
        return
    lo = min(n for n, _ in pairs)
    hi = max(n for n, _ in pairs)
    if bounds is not None and bounds[0] is not None and bounds[1] is not None:
        lo, hi = min(lo, bounds[0]), max(hi, bounds[1])  # known from the whole table
    width = length_bins(lo, hi, bins)
    count = (hi - lo) // width + 1
    counts = [0] * count
    for n, c in pairs:
        counts[(n - lo) // width] += c
    fs.length_histogram = [
        HistogramBin(lower=lo + i * width, upper=lo + (i + 1) * width, count=c)
        for i, c in enumerate(counts)
    ]


def apply_sketch(
    fs: FieldStatistics, sketch: QuantileSketch, *, type_name: str, bins: int, aware: bool = False
) -> None:
    """Quantiles and histogram of a column from its sketch."""
    if not sketch.count or not sketch.usable:
        return
    apply_quantiles(
        fs,
        sketch.quantiles(list(QUANTILE_LEVELS.values())),
        exact=sketch.exact,
        type_name=type_name,
        aware=aware,
    )
    bars = sketch.histogram(bins)
    if bars:
        lo, hi = bars[0][0][0], bars[-1][0][1]
        by_bin = {i: c for i, (_, c) in enumerate(bars)}
        apply_histogram(fs, lo, hi, bins, by_bin, type_name=type_name, aware=aware)
