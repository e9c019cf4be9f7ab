"""What the columnar engine reports beside its SQL profile, so that it answers as the streaming
pass does (:mod:`._engine`).

- UUID columns: the engine keeps them as lowercase text, whose order is the UUIDs' 128-bit
  order (the order Python gives ``uuid.UUID``), so their bounds are the text's bounds.
- Datetime columns that mix naive and aware values: a naive value is no instant (its time
  zone is unknown), so such a column has no order: the streaming pass keeps each value as it
  is written (naive ones naive, aware ones with their offset) and reports no bounds or
  quantiles.
  Casting the column to ``TIMESTAMPTZ`` would take every naive value for a UTC instant, merge
  and move top values and invent quantiles. Such columns are rare, so the engine gives them
  to the streaming pass's own column profiler, fed with the column's distinct cells and their
  counts in the order the file first holds them: the same code, hence the same answers.
- Aware datetimes leave DuckDB in ``ZoneInfo('UTC')``; the streaming pass reports bounds and
  quantiles of an aware column in ``datetime.UTC``: the engine's values are put in that one
  kind too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from xinspector.profiling._column import ColumnProfiler
from xinspector.profiling._options import ProfileOptions, gc_paused
from xinspector.profiling._stats import FieldStatistics, HistogramBin, ValueCount

__all__ = ["profile_as_streamed", "set_uuid_bounds", "to_utc"]


async def set_uuid_bounds(
    db: Any, table: str, names: Sequence[str], fields: dict[str, FieldStatistics]
) -> None:
    """Set the minimum and maximum of the UUID columns ``names`` of ``table`` (lowercase
    text: see ``_cast`` in :mod:`._engine`), all in one scan."""
    if not names:
        return
    q = db.dialect.quote
    bounds = ", ".join(f"min({q(n)}) AS mn_{i}, max({q(n)}) AS mx_{i}" for i, n in enumerate(names))
    row = await db.fetch_one(f"SELECT {bounds} FROM {q(table)}")  # noqa: S608
    assert row is not None
    for i, name in enumerate(names):
        lo, hi = row[f"mn_{i}"], row[f"mx_{i}"]
        if lo is not None and hi is not None:
            fields[name].min, fields[name].max = uuid.UUID(lo), uuid.UUID(hi)


async def profile_as_streamed(
    db: Any, view: str, name: str, options: ProfileOptions, *, total: int, text: bool
) -> FieldStatistics:
    """The streaming pass's statistics of column ``name`` of ``view``: its cells as read
    (``text``: a CSV's text, null tokens included; else a JSON file's values), grouped by
    DuckDB and counted, in the order the file first holds them (the order decides the sample
    values and which of equal values stands for them), go through :class:`ColumnProfiler`.

    Only the column's distinct values enter Python; a column of distinct values costs about
    what streaming that one column costs."""
    q = db.dialect.quote
    # row_number() OVER () numbers the rows in file order (DuckDB keeps the insertion order).
    rows = await db.fetch_all(
        f"SELECT v, count(*) AS n FROM (SELECT {q(name)} AS v, row_number() OVER () AS rn "  # noqa: S608
        f"FROM {q(view)}) GROUP BY v ORDER BY min(rn)"
    )
    # As the streaming pass: in a worker thread (it is CPU work), the collector paused.
    return await asyncio.to_thread(_fold, name, rows, options, total=total, text=text)


def _fold(
    name: str, rows: Sequence[Any], options: ProfileOptions, *, total: int, text: bool
) -> FieldStatistics:
    with gc_paused(options.pause_gc):
        column = ColumnProfiler(name, options)
        # Chunks of chunk_size cells, as the streaming pass folds them: past its exact limits
        # the profiler then switches to its sketches as it does there (one chunk of every
        # distinct value would cost half as much again, and count top values otherwise).
        for chunk in _chunks(((r["v"], int(r["n"])) for r in rows), options.chunk_size):
            if text:
                column.add_text(chunk)
            else:
                column.add_values(chunk)
        return column.finish(total)


def _chunks(counted: Iterator[tuple[Any, int]], size: int) -> Iterator[list[Any]]:
    """Lists of up to ``size`` values, each value repeated by its count."""
    chunk: list[Any] = []
    for value, count in counted:
        while count:
            take = min(count, size - len(chunk))
            chunk.extend([value] * take)
            count -= take
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def to_utc(fs: FieldStatistics) -> None:
    """Put every aware datetime of ``fs`` in ``datetime.UTC`` (the same instant)."""
    fs.min, fs.max = _utc(fs.min), _utc(fs.max)
    fs.date_min, fs.date_max = _utc(fs.date_min), _utc(fs.date_max)
    fs.top_values = [ValueCount(value=_utc(v.value), count=v.count) for v in fs.top_values]
    fs.sample_values = [_utc(v) for v in fs.sample_values]
    if fs.distinct_values is not None:
        fs.distinct_values = [_utc(v) for v in fs.distinct_values]
    if fs.quantiles is not None:
        fs.quantiles = {k: _utc(v) for k, v in fs.quantiles.items()}
    if fs.histogram is not None:
        fs.histogram = [
            HistogramBin(lower=_utc(b.lower), upper=_utc(b.upper), count=b.count)
            for b in fs.histogram
        ]


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None and value.tzinfo is not UTC:
        return value.astimezone(UTC)
    return value
