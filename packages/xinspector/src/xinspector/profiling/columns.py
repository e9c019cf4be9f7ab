"""The streaming profiler: one pass over rows or columns, bounded memory.

Rows arrive in chunks (a CSV read in blocks, a database cursor, sampled documents). Each chunk is
turned into columns and each column is folded into a :class:`ColumnProfiler` with C-level
operations only where it matters: a ``Counter`` per chunk (which also gives the null count and the
distinct values), a regular-expression pass per surviving type candidate over the *distinct*
values, weighted sums for mean and variance. Distinct values are counted exactly up to
``exact_distinct_limit`` and by a :class:`~xinspector.profiling.hll.HyperLogLog` sketch beyond;
the most frequent values are kept in a capped counter. Memory is therefore bounded by the chunk
size and the limits, not by the input.
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from itertools import filterfalse, repeat
from operator import mul, sub
from typing import Any
from uuid import UUID

from xinspector.profiling.hll import HyperLogLog
from xinspector.profiling.stats import DataQuality, FieldStatistics, ValueCount
from xinspector.types import (
    DEFAULT_NULL_TOKENS,
    PATTERNS,
    TextColumnTyper,
    is_numeric_type,
    split_union,
    type_of_value,
    unify_types,
)

__all__ = [
    "ColumnProfiler",
    "ProfileOptions",
    "ProgressCallback",
    "StreamingProfiler",
    "gc_paused",
    "profile_records",
]

_gc_lock = threading.Lock()
_gc_pausers = 0


@contextmanager
def gc_paused(enabled: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk pass runs.

    A chunk of parsed rows is tens of thousands of young lists that survive a few generation-0
    collections each: the collector would traverse them over and over for nothing (parsing
    creates no reference cycles), which costs as much as the parsing itself. The collector is
    re-enabled when the last concurrent pass ends; reference counting frees memory throughout.
    """
    global _gc_pausers
    if not enabled:
        yield
        return
    with _gc_lock:
        if _gc_pausers == 0:
            was_enabled = gc.isenabled()
            gc.disable()
            _gc_pausers = -1 if not was_enabled else 1
        elif _gc_pausers > 0:
            _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            if _gc_pausers > 0:
                _gc_pausers -= 1
                if _gc_pausers == 0:
                    gc.enable()
            elif _gc_pausers == -1:
                _gc_pausers = 0


#: ``callback(records_done, records_total_or_None)``; called after every chunk.
ProgressCallback = Callable[[int, int | None], None]

_FEW = 4  # up to this many distinct raw values, chunks are counted with list.count
_NUMERIC_CANDIDATES = frozenset({"int", "Decimal", "float"})
_PATTERN_BLOCKERS = frozenset({"bool", "int", "Decimal", "float", "date", "datetime", "time"})
_BOOL_TRUE = frozenset({"true", "yes", "t", "y"})


@dataclass(frozen=True)
class ProfileOptions:
    """Knobs of profiling (the defaults suit tables of any size).

    Attributes:
        categorical_threshold: a field with at most this many distinct values (and values that
            repeat) is categorical; its ``cardinality`` is ``"low"``.
        exact_distinct_limit: distinct values counted exactly up to here, estimated beyond.
        top_k: most frequent values reported per field.
        sample_size: sample values reported per field.
        null_tokens: text that means "no value" in CSV and Excel cells.
        pattern_threshold: share of values that must match a pattern for it to be reported.
        decimal_scale_limit: see :class:`~xinspector.types.TextColumnTyper`.
        chunk_size: rows per chunk when the profiler reads a source itself.
    """

    categorical_threshold: int = 100
    exact_distinct_limit: int = 50_000
    top_k: int = 10
    sample_size: int = 5
    null_tokens: frozenset[str] = DEFAULT_NULL_TOKENS
    pattern_threshold: float = 0.9
    decimal_scale_limit: int = 4
    hll_precision: int = 12
    chunk_size: int = 20_000
    pause_gc: bool = True
    # Distinct values per chunk that pattern and consistency checks look at: enough for shares
    # to be stable, few enough to cost nothing next to parsing.
    check_sample: int = 500
    check_total: int = 5_000

    def __post_init__(self) -> None:
        for name in ("categorical_threshold", "exact_distinct_limit", "top_k", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"ProfileOptions.{name} must be at least 1")
        if not 0 < self.pattern_threshold <= 1:
            raise ValueError("ProfileOptions.pattern_threshold must be in (0, 1]")


def _shape(value: str) -> str:
    # A cheap classification of one text value, for the consistency score.
    if not value:
        return "empty"
    if value.lstrip("+-").isdigit():
        return "int"
    try:
        float(value)
    except ValueError:
        pass
    else:
        return "float"
    if value.lower() in _BOOL_TRUE or value.lower() in {"false", "no", "f", "n"}:
        return "bool"
    if value[:4].isdigit() and len(value) >= 10 and value[4:5] == "-":
        return "date"
    return "str"


def _convert_text(type_name: str) -> Callable[[str], Any]:
    def to_bool(v: str) -> bool:
        return v.lower() in _BOOL_TRUE

    def to_json(v: str) -> Any:
        return json.loads(v)

    converters: dict[str, Callable[[str], Any]] = {
        "int": int,
        "float": float,
        "Decimal": Decimal,
        "bool": to_bool,
        "date": date.fromisoformat,
        "datetime": datetime.fromisoformat,
        "time": time.fromisoformat,
        "UUID": UUID,
        "json": to_json,
    }
    return converters.get(type_name, str)


class ColumnProfiler:
    """Statistics of one column, accumulated chunk by chunk.

    Feed text cells with :meth:`add_text` (CSV, Excel read as text) or Python values with
    :meth:`add_values` (JSON, documents, database rows); do not mix the two on one column.
    """

    def __init__(self, name: str, options: ProfileOptions | None = None) -> None:
        self.name = name
        self.options = options or ProfileOptions()
        self.count = 0
        self.nulls = 0
        self._text: bool | None = None
        self._typer = TextColumnTyper(decimal_scale_limit=self.options.decimal_scale_limit)
        self._str_typer = TextColumnTyper(decimal_scale_limit=self.options.decimal_scale_limit)
        self._type_counts: Counter[str] = Counter()
        self._exact: set[Any] | None = set()
        self._hll: HyperLogLog | None = None
        self._top: Counter[Any] = Counter()
        self._top_exact = True
        # Up to this many distinct values the top values are exact (and merging a chunk's
        # counter is one cheap update); beyond it they are the heavy hitters of a capped counter.
        self._top_cap = max(1_000, 10 * self.options.categorical_threshold, 4 * self.options.top_k)
        self._samples: list[Any] = []
        # numeric accumulators, shifted by the first value for numerical stability
        self._numeric_ok = True
        self._shift: float | None = None
        self._n = 0
        self._s1 = 0.0
        self._s2 = 0.0
        self._min_num: tuple[float, Any] | None = None
        self._max_num: tuple[float, Any] | None = None
        self._min_val: Any = None
        self._max_val: Any = None
        self._comparable = True
        self._len_min: int | None = None
        self._len_max: int | None = None
        self._len_sum = 0
        self._len_n = 0
        self._pattern_hits: Counter[str] = Counter()
        self._pattern_n = 0
        self._shapes: Counter[str] = Counter()
        self._sketch_only = False
        self._checked = 0
        self._few: list[Any] | None = None
        self._len_partial = False
        # exact integer accumulators (text columns that are still int)
        self._i_n = 0
        self._i_s1 = 0
        self._i_s2 = 0
        self._i_min: int | None = None
        self._i_max: int | None = None
        self._null_set = frozenset({None, *self.options.null_tokens})

    # -- feeding ------------------------------------------------------------------------------
    def add_text(self, values: Sequence[str | None]) -> None:
        """Fold a chunk of text cells (``None`` and the null tokens are nulls)."""
        self._mode(text=True)
        self.count += len(values)
        if self._sketch_only:
            self._add_text_sketch(values)
            return
        cnt = self._count_few(values) if self._few else None
        if cnt is None:
            cnt = Counter(values)
            # A handful of raw values (flags, small categories): later chunks count them with
            # list.count, which compares strings without hashing every fresh cell.
            self._few = list(cnt) if len(cnt) <= _FEW else None
        self._fold_counter(cnt, len(values))

    @property
    def wants_counts(self) -> bool:
        """Whether the next chunk may arrive pre-counted (:meth:`add_text_counted`): true until
        the column turned out to hold mostly distinct values."""
        return not self._sketch_only and self._text is not False

    def add_text_counted(self, cnt: Counter[Any], n: int) -> None:
        """Fold a chunk of ``n`` text cells given as a ``Counter`` of them.

        Readers that count each small batch as it is parsed let the cells go right away: only
        the distinct values stay in memory until the chunk is folded.
        """
        self._mode(text=True)
        self.count += n
        self._fold_counter(cnt, n)

    def _fold_counter(self, cnt: Counter[Any], n: int) -> None:
        """Fold the counts of a chunk of ``n`` text cells (nulls and null tokens taken out)."""
        nulls = cnt.pop(None, 0)
        for token in self.options.null_tokens:
            nulls += cnt.pop(token, 0)
        self.nulls += nulls
        if not cnt:
            return
        keys: list[str] = list(cnt)
        self._fold_text_keys(keys, list(cnt.values()), cnt)
        if self._exact is None and not self._top_exact and len(keys) > 0.5 * (n - nulls):
            # Mostly distinct values, already past the exact limits: counting them per chunk
            # buys nothing, so later chunks skip the Counter (see _add_text_sketch).
            self._sketch_only = True

    def _count_few(self, values: Sequence[str | None]) -> Counter[Any] | None:
        """Counts of the known few values, or ``None`` when the chunk holds others too."""
        assert self._few is not None
        counts = list(map(values.count, self._few))
        if sum(counts) != len(values):
            return None
        return Counter({v: c for v, c in zip(self._few, counts, strict=True) if c})

    def _fold_text_keys(self, keys: list[str], counts: list[int], cnt: Counter[Any]) -> None:
        self._typer.update(keys)
        self._fold_common(cnt, keys)
        if self._typer.candidates:
            self._len_partial = True  # see _add_text_sketch
        else:
            self._fold_lengths(keys, counts)
        if self._numeric_ok and _NUMERIC_CANDIDATES & set(self._typer.candidates):
            self._fold_text_numbers(keys, counts)
        else:
            self._numeric_ok = False
        kmin, kmax = min(keys), max(keys)
        self._min_val = kmin if self._min_val is None or kmin < self._min_val else self._min_val
        self._max_val = kmax if self._max_val is None or kmax > self._max_val else self._max_val
        if self._wants_checks():
            sample = keys[: self.options.check_sample]
            sample_counts = counts[: self.options.check_sample]
            self._fold_shapes(sample, sample_counts)
            self._fold_patterns(sample, sample_counts)

    def _wants_checks(self) -> bool:
        # Shapes (consistency) and patterns only say something about text columns: skip them
        # while the column still parses as numbers, dates or booleans (after a first look),
        # and stop once enough values were sampled.
        if self._checked >= self.options.check_total:
            return False
        return not self._checked or not _PATTERN_BLOCKERS & set(self._typer.candidates)

    def _fold_shapes(self, sample: list[str], counts: list[int]) -> None:
        self._checked += len(sample)
        for key, c in zip(sample, counts, strict=True):
            self._shapes[_shape(key)] += c

    def _add_text_sketch(self, values: Sequence[str | None]) -> None:
        # High-cardinality mode: the values themselves (duplicates are harmless to every
        # check and to the sketch) with unit counts, and the top values from a slice.
        nulls_set = self._null_set
        present: list[str] = list(filterfalse(nulls_set.__contains__, values))  # type: ignore[arg-type]
        self.nulls += len(values) - len(present)
        if not present:
            return
        head: Counter[Any] = Counter(present[: self.options.check_sample])
        self._top.update(head)
        if len(self._top) > self._top_cap:
            self._top = Counter(dict(self._top.most_common(self._top_cap // 2)))
        self._typer.update(present)
        self._hll_add(present)
        n = len(present)
        if self._typer.candidates:
            # Numbers, dates, UUIDs: their text lengths say nothing; a column that turns out
            # to be text after all reports no lengths rather than partial ones.
            self._len_partial = True
        else:
            lens = list(map(len, present))
            self._fold_length_totals(min(lens), max(lens), sum(lens), n)
        if self._numeric_ok and _NUMERIC_CANDIDATES & set(self._typer.candidates):
            self._fold_text_numbers(present, None)
        else:
            self._numeric_ok = False
            kmin, kmax = min(present), max(present)
            if self._min_val is None or kmin < self._min_val:
                self._min_val = kmin
            if self._max_val is None or kmax > self._max_val:
                self._max_val = kmax
        if self._wants_checks():
            sample = present[: self.options.check_sample]
            ones = [1] * len(sample)
            self._fold_shapes(sample, ones)
            self._fold_patterns(sample, ones)

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
        self._fold_common(cnt, keys)
        kinds = set(by_type)
        strs = [k for k in keys if isinstance(k, str)] if "str" in kinds else []
        if strs:
            self._str_typer.update(strs)
            str_counts = [cnt[k] for k in strs]
            self._fold_lengths(strs, str_counts)
            sample = strs[: self.options.check_sample]
            self._fold_patterns(sample, str_counts[: self.options.check_sample])
        if self._numeric_ok and kinds and kinds <= _NUMERIC_CANDIDATES:
            self._fold_numbers(list(map(float, keys)), keys, counts)
        else:
            self._numeric_ok = False
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

    def _mode(self, *, text: bool) -> None:
        if self._text is None:
            self._text = text
        elif self._text != text:
            raise ValueError(f"column {self.name!r}: cannot mix text and Python values")

    def _fold_common(self, cnt: Counter[Any], keys: list[Any]) -> None:
        if self._exact is not None:
            self._exact.update(keys)
            if len(self._exact) > self.options.exact_distinct_limit:
                self._hll = HyperLogLog(self.options.hll_precision)
                self._hll_add(self._exact)
                self._exact = None
        else:
            self._hll_add(keys)
        if self._top_exact:
            self._top.update(cnt)
        elif max(cnt.values()) > 1:
            # Capped: only the chunk's own most frequent values can matter.
            self._top.update(dict(cnt.most_common(self._top_cap // 2)))
        if len(self._top) > self._top_cap:
            self._top = Counter(dict(self._top.most_common(self._top_cap // 2)))
            self._top_exact = False
        need = self.options.sample_size - len(self._samples)
        if need > 0:
            for key in keys:
                if key not in self._samples:
                    self._samples.append(key)
                    need -= 1
                    if not need:
                        break

    def _hll_add(self, values: Iterable[Any]) -> None:
        assert self._hll is not None
        if self._text:
            self._hll.update_str(values)
        else:
            self._hll.update(values)

    def _fold_lengths(self, keys: list[str], counts: list[int]) -> None:
        lens = list(map(len, keys))
        self._fold_length_totals(min(lens), max(lens), sum(map(mul, lens, counts)), sum(counts))

    def _fold_length_totals(self, lo: int, hi: int, total: int, n: int) -> None:
        self._len_min = lo if self._len_min is None else min(lo, self._len_min)
        self._len_max = hi if self._len_max is None else max(hi, self._len_max)
        self._len_sum += total
        self._len_n += n

    def _fold_text_numbers(self, keys: list[str], counts: list[int] | None) -> None:
        """Sums for mean and variance: exact integers while the column is ``int``."""
        if "int" in self._typer.candidates:
            xs = list(map(int, keys))
            if counts is None:
                self._i_n += len(xs)
                self._i_s1 += sum(xs)
                self._i_s2 += sum(map(mul, xs, xs))
            else:
                self._i_n += sum(counts)
                self._i_s1 += sum(map(mul, xs, counts))
                self._i_s2 += sum(map(mul, map(mul, xs, xs), counts))
            lo, hi = min(xs), max(xs)
            self._i_min = lo if self._i_min is None else min(lo, self._i_min)
            self._i_max = hi if self._i_max is None else max(hi, self._i_max)
            return
        self._flush_ints()
        floats = list(map(float, keys))
        self._fold_numbers(floats, keys, counts if counts is not None else [1] * len(keys))

    def _flush_ints(self) -> None:
        """Move the exact integer sums into the (shifted) float ones: the column stopped
        being ``int``."""
        if not self._i_n:
            return
        n, s1, s2 = self._i_n, self._i_s1, self._i_s2
        assert self._i_min is not None
        assert self._i_max is not None
        if self._shift is None:
            self._shift = float(self._i_min)
        k = self._shift
        self._n += n
        self._s1 += s1 - n * k
        self._s2 += s2 - 2 * k * s1 + n * k * k
        lo, hi = float(self._i_min), float(self._i_max)
        if self._min_num is None or lo < self._min_num[0]:
            self._min_num = (lo, str(self._i_min))
        if self._max_num is None or hi > self._max_num[0]:
            self._max_num = (hi, str(self._i_max))
        self._i_n = self._i_s1 = self._i_s2 = 0
        self._i_min = self._i_max = None

    def _fold_numbers(self, xs: list[float], keys: list[Any], counts: list[int]) -> None:
        if self._shift is None:
            self._shift = xs[0] if math.isfinite(xs[0]) else 0.0
        ds = list(map(sub, xs, repeat(self._shift, len(xs))))
        self._n += sum(counts)
        self._s1 += sum(map(mul, ds, counts))
        self._s2 += sum(map(mul, map(mul, ds, ds), counts))
        lo, hi = min(xs), max(xs)
        if self._min_num is None or lo < self._min_num[0]:
            self._min_num = (lo, keys[xs.index(lo)])
        if self._max_num is None or hi > self._max_num[0]:
            self._max_num = (hi, keys[xs.index(hi)])

    def _fold_patterns(self, sample: list[str], counts: list[int]) -> None:
        typer = self._typer if self._text else self._str_typer
        if _PATTERN_BLOCKERS & set(typer.candidates):
            return
        self._pattern_n += sum(counts)
        for name, pattern in PATTERNS.items():
            hits = sum(c for v, c in zip(sample, counts, strict=True) if pattern.fullmatch(v))
            if hits:
                self._pattern_hits[name] += hits

    # -- result -------------------------------------------------------------------------------
    @property
    def unique_count(self) -> int:
        """Distinct non-null values so far (exact or estimated)."""
        if self._exact is not None:
            return len(self._exact)
        assert self._hll is not None
        return self._hll.count()

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
            convert = _convert_text(type_name)
        else:
            type_name = "None"
            for name in self._type_counts:
                type_name = unify_types(type_name, name)
            if type_name == "str":
                refined, refined_fmt, _ = self._str_typer.result()
                if refined in {"date", "datetime", "time", "UUID"}:
                    type_name = refined
                fmt = refined_fmt if refined == "str" else None
            convert = _identity
        exact = self._exact is not None
        unique = self.unique_count
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
        stats.type_counts = dict(self._type_counts) if not self._text else {type_name: present}
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
                stats.min = _safe(convert, self._min_num[1])
                stats.max = _safe(convert, self._max_num[1])
        elif (
            self._min_val is not None
            and self._comparable
            and type_name not in {"json", "object", "list", "bool"}
        ):
            stats.min = _safe(convert, self._min_val)
            stats.max = _safe(convert, self._max_val)
        if type_name in {"date", "datetime"}:
            stats.date_min, stats.date_max = stats.min, stats.max
        if self._len_n and not (self._len_partial and type_name == "str"):
            stats.min_length = self._len_min
            stats.max_length = self._len_max
            stats.avg_length = self._len_sum / self._len_n
        top = self._top.most_common(opts.top_k)
        stats.top_values = [ValueCount(value=_safe(convert, v), count=c) for v, c in top]
        stats.top_values_exact = self._top_exact
        stats.sample_values = [_safe(convert, v) for v in self._samples]
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
            values = [_safe(convert, v) for v in self._top]
            try:
                values.sort()
            except TypeError:
                values.sort(key=str)
            stats.distinct_values = values
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


def _identity(value: Any) -> Any:
    return value


def _safe(convert: Callable[[Any], Any], value: Any) -> Any:
    try:
        return convert(value)
    except (ValueError, TypeError, InvalidOperation):
        return value


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
