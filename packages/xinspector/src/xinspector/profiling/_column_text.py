"""Folding text cells (CSV, Excel read as text) into a column's profile."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import filterfalse
from operator import mul
from typing import Any

from xinspector.profiling._column_state import (
    _BOOL_TRUE,
    _FEW,
    _NUMERIC_CANDIDATES,
    _PATTERN_BLOCKERS,
    _TEMPORAL,
    _ColumnState,
)

__all__: list[str] = []


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


class _TextFolding(_ColumnState):
    """The text half of :class:`~xinspector.profiling.ColumnProfiler`."""

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
        self._samples.fold(keys, self._guess())
        if "UUID" in self._typer.candidates:
            self._fold_uuid_bounds(keys)
        if self._typer.candidates:
            self._len_partial = True  # see _add_text_sketch
        else:
            self._fold_lengths(keys, counts)
        if self._numeric_ok and _NUMERIC_CANDIDATES & set(self._typer.candidates):
            self._fold_text_numbers(keys, counts)
        else:
            self._numeric_ok = False
            if _TEMPORAL & set(self._typer.candidates):
                self._fold_temporal(keys, counts, text=True)
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
            self._len_counts.update(lens)
            self._fold_length_totals(min(lens), max(lens), sum(lens), n)
        if self._numeric_ok and _NUMERIC_CANDIDATES & set(self._typer.candidates):
            self._fold_text_numbers(present, None)
        else:
            self._numeric_ok = False
            if _TEMPORAL & set(self._typer.candidates):
                self._fold_temporal(present, None, text=True)
            kmin, kmax = min(present), max(present)
            if self._min_val is None or kmin < self._min_val:
                self._min_val = kmin
            if self._max_val is None or kmax > self._max_val:
                self._max_val = kmax
            if "UUID" in self._typer.candidates:
                # Cell by cell here: when no letter is upper case (one scan of the joined
                # text, cheaper than lowercasing every cell), the text bounds are the values'.
                joined = "".join(present)
                if any(map(joined.__contains__, "ABCDEF")):
                    self._fold_uuid_bounds(present)
                else:
                    self._fold_uuid_bounds((kmin, kmax))
        if self._wants_checks():
            sample = present[: self.options.check_sample]
            ones = [1] * len(sample)
            self._fold_shapes(sample, ones)
            self._fold_patterns(sample, ones)

    def _fold_text_numbers(self, keys: list[str], counts: list[int] | None) -> None:
        """Sums for mean and variance: exact integers while the column is ``int``."""
        if "int" in self._typer.candidates:
            xs = list(map(int, keys))
            self._num_sketch.add(xs, counts)
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
        self._num_sketch.add(floats, counts)
        self._fold_numbers(floats, keys, counts if counts is not None else [1] * len(keys))
