"""Profiling a table-shaped source chunk by chunk: :class:`StreamingProfiler`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xinspector.profiling._column import ColumnProfiler
from xinspector.profiling._options import ProfileOptions, ProgressCallback
from xinspector.profiling._stats import FieldStatistics

__all__ = ["StreamingProfiler", "profile_records"]


@dataclass
class StreamingProfiler:
    """Profile a table-shaped source chunk by chunk.

    Examples:
        >>> p = StreamingProfiler()
        >>> p.add_rows([{"a": 1, "b": "x"}, {"a": 2, "b": None}])
        >>> total, fields = p.finish()
        >>> total, fields["a"].mean, fields["b"].null_count
        (2, 1.5, 1)
    """

    options: ProfileOptions = field(default_factory=ProfileOptions)
    progress: ProgressCallback | None = None
    expected_total: int | None = None
    total: int = 0
    columns: dict[str, ColumnProfiler] = field(default_factory=dict)

    def column(self, name: str) -> ColumnProfiler:
        """The profiler of column ``name``, created on first use."""
        col = self.columns.get(name)
        if col is None:
            col = self.columns[name] = ColumnProfiler(name, self.options)
        return col

    def _caught_up(self, name: str) -> ColumnProfiler:
        """The profiler of column ``name`` with the records of earlier chunks that lacked the
        column counted as nulls."""
        col = self.column(name)
        if col.count < self.total:
            pad = self.total - col.count
            col.count += pad
            col.nulls += pad
        return col

    def add_columns(
        self, names: Sequence[str], columns: Sequence[Sequence[Any]], *, text: bool
    ) -> None:
        """Fold one chunk given column-wise (all columns the same length)."""
        if len(names) != len(columns):
            raise ValueError("add_columns: as many names as columns are needed")
        rows = len(columns[0]) if columns else 0
        for name, values in zip(names, columns, strict=True):
            col = self._caught_up(name)
            if text:
                col.add_text(values)
            else:
                col.add_values(values)
        self.total += rows
        self._report()

    def add_text_parts(
        self, names: Sequence[str], parts: Sequence[list[Any] | Counter[Any]], rows: int
    ) -> None:
        """Fold one chunk of text columns, each a list of cells or a ``Counter`` of them
        (for the columns whose :attr:`ColumnProfiler.wants_counts`)."""
        for name, part in zip(names, parts, strict=True):
            col = self._caught_up(name)
            if isinstance(part, Counter):
                col.add_text_counted(part, rows)
            else:
                col.add_text(part)
        self.total += rows
        self._report()

    def add_rows(self, rows: Sequence[Mapping[str, Any]], *, text: bool = False) -> None:
        """Fold one chunk of records; a key missing from a record counts as null there."""
        if not rows:
            return
        names: dict[str, None] = dict.fromkeys(self.columns)
        for row in rows:
            if not isinstance(row, Mapping):
                raise TypeError(f"records must be mappings, got {type(row).__name__}")
            names.update(dict.fromkeys(row))
        cols = [[row.get(n) for row in rows] for n in names]
        self.add_columns(list(names), cols, text=text)

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.expected_total)

    def finish(self) -> tuple[int, dict[str, FieldStatistics]]:
        """``(total records, statistics per field)``."""
        return self.total, {name: col.finish(self.total) for name, col in self.columns.items()}


def profile_records(
    records: Iterable[Mapping[str, Any]],
    *,
    options: ProfileOptions | None = None,
) -> tuple[int, dict[str, FieldStatistics]]:
    """Profile an in-memory iterable of records (a convenience for small inputs and tests)."""
    prof = StreamingProfiler(options=options or ProfileOptions())
    chunk: list[Mapping[str, Any]] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= prof.options.chunk_size:
            prof.add_rows(chunk)
            chunk = []
    prof.add_rows(chunk)
    return prof.finish()
