"""One column's statistics: :class:`ColumnProfiler` (Python values and the result)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from typing import Any
from uuid import UUID

from xinspector._types import is_numeric_type, split_union, type_of_value, unify_types
from xinspector.profiling._column_state import _NUMERIC_CANDIDATES, _TEMPORAL
from xinspector.profiling._column_text import _TextFolding
from xinspector.profiling._distribution import apply_length_histogram, apply_sketch
from xinspector.profiling._order import rank_counts, sorted_values
from xinspector.profiling._stats import DataQuality, FieldStatistics, ValueCount
from xinspector.profiling._values import REFINED, convert_text, identity, merged, safe

__all__ = ["ColumnProfiler"]


class ColumnProfiler(_TextFolding):
    """Statistics of one column, accumulated chunk by chunk.

    Feed text cells with :meth:`add_text` (CSV, Excel read as text) or Python values with
    :meth:`add_values` (JSON, documents, database rows); do not mix the two on one column.
    """

    def add_values(self, values: Sequence[Any]) -> None:
        """Fold a chunk of Python values (``None`` is null; dicts and lists are allowed)."""
        self._mode(text=False)
        self.count += len(values)
        by_type = Counter(map(type_of_value, values))
        nulls = by_type.pop("None", 0)
        self.nulls += nulls
        self._type_counts.update(by_type)
        present = [v for v in values if v is not None] if nulls else list(values)
        if not present:
            return
        containers = by_type.keys() & {"object", "list", "Any", "bytes"}
        if containers:
            present = [_hashable(v) for v in present]
        cnt: Counter[Any] = Counter(present)
        keys = list(cnt)
        counts = list(cnt.values())
        kinds = set(by_type)
        strs = [k for k in keys if isinstance(k, str)] if "str" in kinds else []
        if strs:
            self._str_typer.update(strs)
            if "UUID" in self._str_typer.candidates:
                self._fold_uuid_bounds(strs)
        self._fold_common(cnt, keys)
        self._samples.fold(keys, self._guess())
        if strs:
            str_counts = [cnt[k] for k in strs]
            self._fold_lengths(strs, str_counts)
            sample = strs[: self.options.check_sample]
            self._fold_patterns(sample, str_counts[: self.options.check_sample])
            if kinds == {"str"} and _TEMPORAL & set(self._str_typer.candidates):
                self._fold_temporal(strs, str_counts, text=True)
        xs = _floats(keys) if self._numeric_ok and kinds and kinds <= _NUMERIC_CANDIDATES else None
        if xs is not None:
            self._num_sketch.add(xs, counts)
            self._fold_numbers(xs, keys, counts)
        else:
            self._numeric_ok = False
            if kinds and kinds <= _TEMPORAL:
                self._fold_temporal(keys, counts, text=False)
        if self._comparable and len(kinds) == 1 and not containers:
            try:
                kmin, kmax = min(keys), max(keys)
                if self._min_val is None or kmin < self._min_val:
                    self._min_val = kmin
                if self._max_val is None or kmax > self._max_val:
                    self._max_val = kmax
            except TypeError:
                self._comparable = False
        else:
            self._comparable = False

    # -- result -------------------------------------------------------------------------------
    def finish(self, total: int | None = None) -> FieldStatistics:
        """The statistics of the column; ``total`` counts records where it was absent too."""
        opts = self.options
        count = max(total or 0, self.count)
        nulls = self.nulls + (count - self.count)
        present = count - nulls
        fmt: str | None = None
        constraints: dict[str, Any] = {}
        if self._text:
            type_name, fmt, constraints = self._typer.result()
            convert = convert_text(type_name)
        else:
            type_name = "None"
            for name in self._type_counts:
                type_name = unify_types(type_name, name)
            convert = identity
            if type_name == "str":
                refined, refined_fmt, _ = self._str_typer.result()
                if refined in REFINED:
                    # ISO strings of one kind are that kind: their values as such (as a CSV's
                    # and the engine's are), and no text lengths.
                    type_name = refined
                    convert = convert_text(refined)
                fmt = refined_fmt if refined == "str" else None
        # Distinct spellings kept one per value under a type the column then lost: a count of
        # values no more (the spellings merged may be other values now).
        exact = self._exact is not None and self._exact_grouped_as in {None, type_name}
        unique = self.unique_count
        top_counts: Counter[Any] = self._top
        by_value = merged(type_name) and (self._text or convert is not identity)
        if by_value:
            # Spellings of one value ("1.5" and "1.50", "true" and "TRUE") are one value.
            top_counts = Counter()
            for v, c in self._top.items():
                top_counts[safe(convert, v)] += c
            if self._exact is not None:
                unique = len({safe(convert, v) for v in self._exact})
        if unique > present:  # an estimate can overshoot
            unique = present
        stats = FieldStatistics(
            name=self.name,
            type=type_name,
            format=fmt,
            count=count,
            null_count=nulls,
            unique_count=unique,
            unique_exact=exact,
        )
        if constraints:
            stats.__pydantic_extra__ = dict(constraints)
        # The kinds of the values present: none in a column of nulls (not {'None': 0}).
        stats.type_counts = (
            dict(self._type_counts) if not self._text else {type_name: present} if present else {}
        )
        if self._numeric_ok and self._i_n and type_name == "int":
            n, s1, s2 = self._i_n, self._i_s1, self._i_s2
            stats.mean = s1 / n
            stats.stddev = math.sqrt((n * s2 - s1 * s1) / (n * (n - 1))) if n > 1 else 0.0
            stats.min, stats.max = self._i_min, self._i_max
        elif self._numeric_ok and (self._n or self._i_n) and is_numeric_type(type_name):
            self._flush_ints()
            k = self._shift or 0.0
            mean_d = self._s1 / self._n
            stats.mean = k + mean_d
            var = max(self._s2 / self._n - mean_d * mean_d, 0.0)
            if self._n > 1:
                var *= self._n / (self._n - 1)
            stats.stddev = math.sqrt(var)
            if self._min_num and self._max_num:
                stats.min = safe(convert, self._min_num[1])
                stats.max = safe(convert, self._max_num[1])
        elif (
            self._min_val is not None
            and self._comparable
            and type_name not in {"json", "object", "list", "bool"}
        ):
            stats.min = safe(convert, self._min_val)
            stats.max = safe(convert, self._max_val)
        if type_name == "UUID" and self._uuid_min is not None and self._uuid_max is not None:
            stats.min, stats.max = UUID(self._uuid_min), UUID(self._uuid_max)
        if type_name in _TEMPORAL:
            self._temporal_bounds(stats, type_name)
            stats.date_min, stats.date_max = stats.min, stats.max
        refined_text = not self._text and convert is not identity
        if self._len_n and not (self._len_partial and type_name == "str") and not refined_text:
            stats.min_length = self._len_min
            stats.max_length = self._len_max
            stats.avg_length = self._len_sum / self._len_n
            apply_length_histogram(stats, self._len_counts.items(), opts.histogram_bins)
        self._finish_distribution(stats, type_name)
        # Ties by value (see _order), on the values as counted: JSON text ranks by its text, as
        # the engine, which groups that text, ranks it.
        top = rank_counts(top_counts.items(), opts.top_k)
        stats.top_values = [
            ValueCount(value=v if top_counts is not self._top else safe(convert, v), count=c)
            for v, c in top
        ]
        # Top values counted by value under a type the column then lost (a UUID-looking
        # column that is text after all) merged spellings that are other values now.
        grouped = self._top_grouped_as
        stats.top_values_exact = self._top_exact and grouped in {None, type_name}
        stats.sample_values = self._samples.values(convert, merged=by_value)
        categorical = (
            exact
            and 0 < unique <= opts.categorical_threshold
            and unique < present
            and type_name not in {"json", "object", "list"}
        )
        stats.is_categorical = categorical
        if present:
            low = unique <= opts.categorical_threshold and unique < present
            stats.cardinality = "low" if categorical or low else "high"
        if categorical:
            stats.distinct_values = sorted_values(
                v if top_counts is not self._top else safe(convert, v) for v in top_counts
            )
        if self._pattern_n and (type_name in {"str", "UUID"} or "str" in split_union(type_name)):
            best: tuple[str | None, int] = max(
                self._pattern_hits.items(), key=lambda kv: kv[1], default=(None, 0)
            )
            pattern, hits = best
            share = hits / self._pattern_n
            if pattern is not None and share >= opts.pattern_threshold:
                stats.pattern, stats.pattern_share = pattern, share
            elif pattern is not None:
                stats.pattern_share = share
        stats.quality = self._quality(stats, present, count, type_name)
        return stats

    def _temporal_bounds(self, stats: FieldStatistics, type_name: str) -> None:
        """Chronological minimum and maximum, exact (text compares "2024-03-01 23:00" below
        "2024-03-01T01:00", and offsets do not compare as text at all). Naive and aware values
        do not compare: a column mixing them has no bounds (as it has no quantiles)."""
        if self._time_sketch is None:
            return  # a value that did not parse (or overflowed): not a temporal column
        lo, hi = self._t_min, self._t_max
        if len(self._aware) != 1 or lo is None or hi is None:
            stats.min = stats.max = None
            return
        if True in self._aware:  # aware bounds in UTC, as the quantiles
            lo, hi = lo.astimezone(UTC), hi.astimezone(UTC)
        if type_name == "date":
            stats.min, stats.max = lo.date(), hi.date()
        else:
            stats.min, stats.max = lo, hi

    def _finish_distribution(self, stats: FieldStatistics, type_name: str) -> None:
        """Quantiles and histogram of numeric and temporal columns (from their sketches)."""
        bins = self.options.histogram_bins
        if self._numeric_ok and is_numeric_type(type_name):
            apply_sketch(stats, self._num_sketch, type_name=type_name, bins=bins)
        elif type_name in _TEMPORAL and self._time_sketch is not None and len(self._aware) == 1:
            # A column mixing naive and aware values has no order: no quantiles rather than
            # a guessed time zone.
            aware = True in self._aware
            apply_sketch(stats, self._time_sketch, type_name=type_name, bins=bins, aware=aware)

    def _quality(
        self, stats: FieldStatistics, present: int, count: int, type_name: str
    ) -> DataQuality:
        if self._text:
            shapes = self._shapes
            total = sum(shapes.values())
            consistency = max(shapes.values()) / total if total else 1.0
            validity = stats.pattern_share if stats.pattern and stats.pattern_share else 1.0
        else:
            total = sum(self._type_counts.values())
            consistency = max(self._type_counts.values()) / total if total else 1.0
            validity = (
                consistency
                if " | " in type_name
                else (stats.pattern_share if stats.pattern and stats.pattern_share else 1.0)
            )
        return DataQuality(
            completeness=present / count if count else 0.0,
            uniqueness=stats.unique_count / present if present else 0.0,
            validity=round(validity, 6),
            consistency=round(consistency, 6),
        )


def _floats(keys: list[Any]) -> list[float] | None:
    """The values as floats, or ``None`` when one has none (an integer beyond 1e308: the
    column then gets no mean, deviation or quantiles rather than an error)."""
    try:
        return list(map(float, keys))
    except OverflowError:
        return None


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
