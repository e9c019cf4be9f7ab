"""Quantiles and histograms in bounded memory: :class:`QuantileSketch`.

A column's numbers (or temporal values as epoch seconds) are kept **exactly**, as a count per
distinct value, while there are at most ``exact_limit`` distinct values: quantiles and histogram
counts are then exactly what numpy computes over every value. Beyond that the counts move into a
KLL sketch (Karnin, Lang, Liberty 2016): levels of values where a value on level ``h`` stands for
``2**h`` input values, and a full level is sorted and every other value (from a random offset) is
promoted to the level above. The sketch keeps ``O(k)`` values whatever the input size, its total
weight stays the exact count, and a value's estimated rank is off by at most about
:data:`KLL_RANK_ERROR` ``* n`` (with high probability; see the unit tests). Two sketches merge
(level by level), so chunks or partitions can be profiled apart.

The definitions every backend shares (so that the pure-Python path and the databases agree):

- quantile ``q`` is numpy's default ``method="linear"`` (PostgreSQL ``percentile_cont``): the
  values sorted, position ``q * (n - 1)``, linear interpolation between its two neighbours;
- a histogram has ``bins`` equal-width bins over ``[lo, hi]`` (the minimum and the maximum); value
  ``x`` falls in bin ``min(floor((x - lo) * bins / (hi - lo)), bins - 1)``, computed in binary64
  in this order everywhere, so that a value on a bin edge lands in the same bin on every backend.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import accumulate, chain, compress, pairwise, repeat
from typing import Any

__all__ = [
    "KLL_RANK_ERROR",
    "QuantileSketch",
    "bin_index",
    "histogram_edges",
    "interpolate",
]

#: Normalized rank error that the default sketch (k=1024) stays within (measured with a margin
#: in the unit tests: adversarial orders included, the observed error is below a third of it).
KLL_RANK_ERROR = 0.01

_LEVEL_SHRINK = 2 / 3  # capacity of a level relative to the one above (KLL's c)


def histogram_edges(lo: float, hi: float, bins: int) -> list[tuple[float, float]]:
    """The ``(lower, upper)`` bounds of ``bins`` equal-width bins over ``[lo, hi]``; one bin
    ``(lo, hi)`` when every value is the same."""
    if hi <= lo:
        return [(lo, hi)]
    span = hi - lo
    cuts = [lo + span * i / bins for i in range(bins)] + [hi]
    return list(pairwise(cuts))


def bin_index(x: float, lo: float, hi: float, bins: int) -> int:
    """The bin of ``x`` (see the module docstring for why this exact arithmetic)."""
    if hi <= lo:
        return 0
    i = math.floor((x - lo) * bins / (hi - lo))
    return bins - 1 if i >= bins else max(i, 0)


def interpolate(values: Sequence[Any], weights: Sequence[int], q: float) -> float:
    """Quantile ``q`` of sorted ``values`` each standing ``weights`` times (numpy ``linear``)."""
    cum = list(accumulate(weights))
    n = cum[-1]
    pos = q * (n - 1)
    below = math.floor(pos)
    frac = pos - below

    def at(rank: int) -> Any:  # the value at 0-based position ``rank`` of the expanded list
        return values[bisect_right(cum, rank)]

    lo = at(below)
    if frac == 0:
        return float(lo)
    hi = at(min(below + 1, n - 1))
    return float(lo) + (float(hi) - float(lo)) * frac


class QuantileSketch:
    """Quantiles and histogram of a stream of numbers, exact up to ``exact_limit`` distinct
    values and a mergeable KLL sketch of ``k`` values per level beyond.

    Examples:
        >>> s = QuantileSketch()
        >>> s.add([1, 2, 3, 4])
        >>> s.add([10], [2])  # the value 10, twice
        >>> s.quantiles([0.5]), s.exact, s.count
        ([3.5], True, 6)
        >>> s.histogram(2)
        [((1.0, 5.5), 4), ((5.5, 10.0), 2)]
    """

    def __init__(self, *, exact_limit: int = 50_000, k: int = 1024, seed: int = 0) -> None:
        if exact_limit < 1 or k < 8:
            raise ValueError("QuantileSketch needs exact_limit >= 1 and k >= 8")
        self.exact_limit = exact_limit
        self.k = k
        self._counts: Counter[Any] | None = Counter()
        self._levels: list[list[Any]] = []
        self._rng = random.Random(seed)  # noqa: S311 (sampling, not secrets; seeded: reproducible)
        self.count = 0
        #: False once a value had no binary64 value (an integer beyond 1e308): no results then.
        self.usable = True
        self._min: Any = None
        self._max: Any = None

    @property
    def min(self) -> Any:
        """The smallest value (``None`` when empty)."""
        if self._counts is not None:
            return min(self._counts) if self._counts else None
        return self._min

    @min.setter
    def min(self, value: Any) -> None:
        self._min = value

    @property
    def max(self) -> Any:
        """The largest value (``None`` when empty)."""
        if self._counts is not None:
            return max(self._counts) if self._counts else None
        return self._max

    @max.setter
    def max(self, value: Any) -> None:
        self._max = value

    @property
    def exact(self) -> bool:
        """True while every value is still counted exactly (no compaction happened)."""
        return self._counts is not None

    # -- feeding ------------------------------------------------------------------------------
    def add(self, values: Sequence[Any], counts: Sequence[int] | None = None) -> None:
        """Fold numbers, each once or ``counts[i]`` times. NaN is skipped (it has no rank)."""
        if not values or not self.usable:
            return
        try:
            has_nan = any(map(math.isnan, values))
        except OverflowError:
            self.usable = False
            self._counts, self._levels = None, []
            return
        if has_nan:
            keep = [not math.isnan(v) for v in values]
            values = list(compress(values, keep))
            counts = list(compress(counts, keep)) if counts is not None else None
            if not values:
                return
        n = len(values) if counts is None else sum(counts)
        self.count += n
        if self._counts is not None:
            # Counting is C-level over single values (Counter.update of a mapping is a Python
            # loop): values repeated by their counts while that is not much longer.
            if counts is None:
                self._counts.update(values)
            elif n <= 4 * len(values):
                self._counts.update(chain.from_iterable(map(repeat, values, counts)))
            else:
                for v, c in zip(values, counts, strict=True):
                    self._counts[v] += c
            if len(self._counts) > self.exact_limit:
                items = self._counts
                self._counts = None
                keys = list(items)
                self.min, self.max = min(keys), max(keys)
                self._add_weighted(keys, list(items.values()))
            return
        lo, hi = min(values), max(values)
        if lo < self.min:
            self.min = lo
        if hi > self.max:
            self.max = hi
        self._add_weighted(values, counts)

    def _add_weighted(self, values: Sequence[Any], counts: Sequence[int] | None) -> None:
        if not self._levels:
            self._levels.append([])
        if counts is None:
            self._levels[0].extend(values)
        else:
            self._levels[0].extend(compress(values, map((1).__eq__, counts)))
            # A value seen c times goes, by the binary digits of c, to the levels whose weight
            # they are: exactly its weight, no expansion of heavy values.
            for v, c in compress(zip(values, counts, strict=True), map((1).__lt__, counts)):
                h = 0
                while c:
                    if c & 1:
                        while len(self._levels) <= h:
                            self._levels.append([])
                        self._levels[h].append(v)
                    c >>= 1
                    h += 1
        self._compress()

    def _capacity(self, h: int) -> int:
        top = len(self._levels) - 1
        return max(int(self.k * _LEVEL_SHRINK ** (top - h)), 8)

    def _compress(self) -> None:
        h = 0
        while h < len(self._levels):
            if len(self._levels[h]) > self._capacity(h):
                self._compact(h)
            h += 1

    def _compact(self, h: int) -> None:
        buf = self._levels[h]
        buf.sort()
        # An odd value out stays on its level (picked at random so that no end is favoured):
        # the total weight never changes.
        keep = [buf.pop(self._rng.randrange(len(buf)))] if len(buf) % 2 else []
        if h + 1 == len(self._levels):
            self._levels.append([])
        self._levels[h + 1].extend(buf[self._rng.getrandbits(1) :: 2])
        self._levels[h] = keep

    def merge(self, other: QuantileSketch) -> None:
        """Fold another sketch's values into this one (counts add up)."""
        if not other.usable:
            self.usable = False
            self._counts, self._levels = None, []
        if other.count == 0 or not self.usable:
            return
        if other._counts is not None:
            self.add(list(other._counts), list(other._counts.values()))
            return
        lo = other.min if self.min is None else min(self.min, other.min)
        hi = other.max if self.max is None else max(self.max, other.max)
        if self._counts is not None:
            items = self._counts
            self._counts = None
            if items:
                self._add_weighted(list(items), list(items.values()))
        self.count += other.count
        self.min, self.max = lo, hi
        while len(self._levels) < len(other._levels):
            self._levels.append([])
        for h, level in enumerate(other._levels):
            self._levels[h].extend(level)
        self._compress()

    # -- results ------------------------------------------------------------------------------
    def weighted(self) -> tuple[list[Any], list[int]]:
        """The sorted values and the count each stands for (sums to :attr:`count`)."""
        if self._counts is not None:
            pairs: Iterable[tuple[Any, int]] = self._counts.items()
        else:
            pairs = ((v, 1 << h) for h, level in enumerate(self._levels) for v in level)
        ordered = sorted(pairs, key=lambda p: p[0])
        return [v for v, _ in ordered], [w for _, w in ordered]

    def quantiles(self, levels: Sequence[float]) -> list[float]:
        """Quantile of each level in ``[0, 1]`` (numpy's ``linear`` method); ``[]`` when empty."""
        if not self.count or not self.usable:
            return []
        values, weights = self.weighted()
        return [interpolate(values, weights, q) for q in levels]

    def histogram(self, bins: int) -> list[tuple[tuple[float, float], int]]:
        """``bins`` equal-width bins over ``[min, max]`` with their counts (estimates once the
        sketch is no longer exact; they always add up to :attr:`count`); ``[]`` when empty or
        unbounded (an infinite value, or a range beyond the largest binary64)."""
        if not self.count or not self.usable:
            return []
        lo, hi = float(self.min), float(self.max)
        if not math.isfinite(hi - lo):
            return []
        edges = histogram_edges(lo, hi, bins)
        counts = [0] * len(edges)
        values, weights = self.weighted()
        for v, w in zip(values, weights, strict=True):
            counts[bin_index(v, lo, hi, bins)] += w
        return list(zip(edges, counts, strict=True))
