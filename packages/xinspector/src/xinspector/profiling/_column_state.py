"""The state of one column's profile and the folds that text and Python values share.

:class:`~xinspector.profiling.ColumnProfiler` is this state, the folds of text cells
(:mod:`._column_text`) and of Python values with the result (:mod:`._column`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from itertools import chain, islice, repeat
from operator import mul, sub
from typing import Any

from xinspector._types import PATTERNS, TextColumnTyper
from xinspector.profiling._distribution import TEMPORAL_TYPES, epoch_of
from xinspector.profiling._hll import HyperLogLog
from xinspector.profiling._options import ProfileOptions
from xinspector.profiling._quantiles import QuantileSketch
from xinspector.profiling._values import (
    BOOL_TRUE,
    REFINED,
    SampleSpellings,
    merged,
    safe,
    value_key,
)

__all__: list[str] = []

_FEW = 4  # up to this many distinct raw values, chunks are counted with list.count
_NUMERIC_CANDIDATES = frozenset({"int", "Decimal", "float"})
_PATTERN_BLOCKERS = frozenset({"bool", "int", "Decimal", "float", "date", "datetime", "time"})
_BOOL_TRUE = BOOL_TRUE
_TEMPORAL = TEMPORAL_TYPES


class _ColumnState:
    """Accumulators of one column; the feeding and result methods live in the subclasses."""

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
        # Whether grouping the top values' spellings by value may keep them exact, and the
        # type they were grouped under (see _regroup_top).
        self._regroup = True
        self._top_grouped_as: str | None = None
        self._exact_regroup = True  # the same for the distinct values (see _regroup_exact)
        self._exact_grouped_as: str | None = None
        # Up to this many distinct values the top values are exact (and merging a chunk's
        # counter is one cheap update); beyond it they are the heavy hitters of a capped counter.
        self._top_cap = max(1_000, 10 * self.options.categorical_threshold, 4 * self.options.top_k)
        self._samples = SampleSpellings(self.options.sample_size)
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
        # quantiles and histograms: numbers, and temporal values as epoch seconds
        self._num_sketch = self._new_sketch()
        self._time_sketch: QuantileSketch | None = self._new_sketch()
        self._aware: set[bool] = set()
        # Exact chronological bounds (the sketch's epoch floats lose microseconds past 2100),
        # dates as midnight datetimes; kept while all values are naive or all aware.
        self._t_min: datetime | None = None
        self._t_max: datetime | None = None
        # Bounds of UUID-looking text by value: lowercase text orders UUIDs by their 128 bits
        # (as written, "B0..." sorts before "a0...").
        self._uuid_min: str | None = None
        self._uuid_max: str | None = None
        self._len_counts: Counter[int] = Counter()

    def _new_sketch(self) -> QuantileSketch:
        return QuantileSketch(
            exact_limit=self.options.quantile_exact_limit, k=self.options.quantile_sketch_k
        )

    def _mode(self, *, text: bool) -> None:
        if self._text is None:
            self._text = text
        elif self._text != text:
            raise ValueError(f"column {self.name!r}: cannot mix text and Python values")

    def _fold_common(self, cnt: Counter[Any], keys: list[Any]) -> None:
        if self._exact is not None:
            self._exact.update(keys)
            if len(self._exact) > self.options.exact_distinct_limit and not self._regroup_exact():
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
        if len(self._top) > self._top_cap and not self._regroup_top():
            self._top = Counter(dict(self._top.most_common(self._top_cap // 2)))
            self._top_exact = False

    def _regroup_exact(self) -> bool:
        """Keep one spelling per value (under the type so far) among the distinct ones; whether
        that kept them under ``exact_distinct_limit``, hence the count exact.

        As :meth:`_regroup_top`: probed first, and given up unless it at least halves the
        limit's worth (each later attempt then converts about as many new spellings)."""
        assert self._exact is not None
        if not self._exact_regroup:
            return False
        guess = self._guess()
        key = value_key(guess)
        probe = list(islice(self._exact, 2_000))
        if not merged(guess) or len({safe(key, s) for s in probe}) > len(probe) // 2:
            self._exact_regroup = False
            return False
        firsts: dict[Any, Any] = {}
        for spelling in self._exact:
            firsts.setdefault(safe(key, spelling), spelling)
        self._exact = set(firsts.values())
        self._exact_grouped_as = guess
        limit = self.options.exact_distinct_limit
        if len(self._exact) > limit // 2:
            self._exact_regroup = False
        return len(self._exact) <= limit

    def _regroup_top(self) -> bool:
        """Count the top values by value (under the type so far), each under the spelling that
        first wrote it; whether that kept them under the cap, hence exact.

        A typed column may hold far more spellings than values (UUIDs in any letter case, one
        instant at many offsets): the cap is meant for values. The first spellings are probed
        first (a column of mostly distinct values, the usual one past the cap, is not worth
        converting whole), and grouping is given up once it did not help."""
        if not self._regroup:
            return False
        guess = self._guess()
        key = value_key(guess)
        cap = self._top_cap
        probe = list(islice(self._top, 2 * cap))
        if not merged(guess) or len({safe(key, s) for s in probe}) > cap:
            self._regroup = False
            return False
        firsts: dict[Any, Any] = {}
        grouped: Counter[Any] = Counter()
        for spelling, count in self._top.items():
            grouped[firsts.setdefault(safe(key, spelling), spelling)] += count
        self._top = grouped
        self._top_grouped_as = guess
        if len(grouped) > cap:
            self._regroup = False
            return False
        return True

    def _hll_add(self, values: Iterable[Any]) -> None:
        assert self._hll is not None
        if self._text:
            self._hll.update_str(values)
        else:
            self._hll.update(values)

    def _fold_lengths(self, keys: list[str], counts: list[int]) -> None:
        lens = list(map(len, keys))
        if len(lens) <= 64:
            for n, c in zip(lens, counts, strict=True):
                self._len_counts[n] += c
        else:  # C-level: each length repeated by its count
            self._len_counts.update(chain.from_iterable(map(repeat, lens, counts)))
        self._fold_length_totals(min(lens), max(lens), sum(map(mul, lens, counts)), sum(counts))

    def _fold_length_totals(self, lo: int, hi: int, total: int, n: int) -> None:
        self._len_min = lo if self._len_min is None else min(lo, self._len_min)
        self._len_max = hi if self._len_max is None else max(hi, self._len_max)
        self._len_sum += total
        self._len_n += n

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
        self._fold_num_bounds(
            (float(self._i_min), str(self._i_min)), (float(self._i_max), str(self._i_max))
        )
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
        self._fold_num_bounds((lo, _extreme(keys, xs, lo, min)), (hi, _extreme(keys, xs, hi, max)))

    def _fold_num_bounds(self, lo: tuple[float, Any], hi: tuple[float, Any]) -> None:
        """Numeric bounds: compared as doubles, and exactly where two doubles are equal
        (decimals of more than 15 digits: 90071992547409931.1 and .2 are one double)."""
        cur = self._min_num
        if cur is None or lo[0] < cur[0] or (lo[0] == cur[0] and _exact(lo[1]) < _exact(cur[1])):
            self._min_num = lo
        cur = self._max_num
        if cur is None or hi[0] > cur[0] or (hi[0] == cur[0] and _exact(hi[1]) > _exact(cur[1])):
            self._max_num = hi

    def _fold_temporal(self, values: list[Any], counts: list[int] | None, *, text: bool) -> None:
        """Fold dates and datetimes (text is parsed as ISO 8601) into the temporal sketch; a
        value that does not parse ends it (the column is then no temporal column)."""
        if self._time_sketch is None:
            return
        try:
            parsed: list[date] = (
                [datetime.fromisoformat(v.strip()) for v in values] if text else values
            )
            pairs = list(map(epoch_of, parsed))
        except (ValueError, TypeError, AttributeError, OverflowError):
            self._time_sketch = None
            return
        self._aware.update(a for _, a in pairs)
        self._time_sketch.add([s for s, _ in pairs], counts)
        if len(self._aware) == 1:
            # (text parses to datetimes; Python values may be dates)
            self._fold_time_bounds(list(map(_as_datetime, parsed)) if not text else parsed)  # type: ignore[arg-type]

    def _fold_time_bounds(self, values: list[datetime]) -> None:
        # All naive or all aware (aware ones compare by instant); a mixed column has no bounds.
        lo, hi = min(values), max(values)
        if self._t_min is None or lo < self._t_min:
            self._t_min = lo
        if self._t_max is None or hi > self._t_max:
            self._t_max = hi

    def _fold_uuid_bounds(self, keys: Iterable[str]) -> None:
        lowered = list(map(str.lower, keys))
        lo, hi = min(lowered), max(lowered)
        if self._uuid_min is None or lo < self._uuid_min:
            self._uuid_min = lo
        if self._uuid_max is None or hi > self._uuid_max:
            self._uuid_max = hi

    def _fold_patterns(self, sample: list[str], counts: list[int]) -> None:
        typer = self._typer if self._text else self._str_typer
        if _PATTERN_BLOCKERS & set(typer.candidates):
            return
        self._pattern_n += sum(counts)
        for name, pattern in PATTERNS.items():
            hits = sum(c for v, c in zip(sample, counts, strict=True) if pattern.fullmatch(v))
            if hits:
                self._pattern_hits[name] += hits

    def _guess(self) -> str:
        """The column's type so far (what makes two spellings one value, see :mod:`._values`):
        of text, the typer's; of Python values, theirs, but strings that are all ISO dates,
        times or UUIDs are those (as the result says)."""
        if self._text:
            return self._typer.result()[0]
        if self._type_counts.keys() == {"str"}:
            refined = self._str_typer.result()[0]
            return refined if refined in REFINED else "str"
        return "Any"

    @property
    def unique_count(self) -> int:
        """Distinct non-null values so far (exact or estimated)."""
        if self._exact is not None:
            return len(self._exact)
        assert self._hll is not None
        return self._hll.count()


def _as_datetime(value: date) -> datetime:
    """A date as its midnight (a date does not compare with a datetime)."""
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def _exact(key: Any) -> Any:
    """A number's exact value (text and floats as ``Decimal``), to order equal doubles."""
    try:
        return Decimal(key)
    except (InvalidOperation, TypeError, ValueError):
        return float(key)


def _extreme(keys: list[Any], xs: list[float], x: float, pick: Any) -> Any:
    """The key of the smallest (``pick=min``) or largest value among those whose double is
    ``x``; exactly where several are (see ``_fold_num_bounds``)."""
    if xs.count(x) == 1:
        return keys[xs.index(x)]
    return pick((k for k, v in zip(keys, xs, strict=True) if v == x), key=_exact)
