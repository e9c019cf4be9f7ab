"""How profiling runs: :class:`ProfileOptions`, the progress callback, a paused collector."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from xinspector._types import DEFAULT_NULL_TOKENS

__all__ = ["ProfileOptions", "ProgressCallback", "gc_paused"]

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
        decimal_scale_limit: see :class:`~xinspector._types.TextColumnTyper`.
        chunk_size: rows per chunk when the profiler reads a source itself.
        histogram_bins: bins of the histograms of numeric and temporal fields (equal width
            over ``[min, max]``) and, at most, of the string-length histograms.
        quantile_exact_limit: quantiles and histograms of a field are exact while it holds at
            most this many distinct values; beyond, a KLL sketch estimates them (the streaming
            path only: ``quantiles_exact`` says which).
        quantile_sketch_k: size of that sketch (about ``3 * k`` numbers per field); its rank
            error is below 1% at the default.
        engine_materialize_bytes: files up to this size that the columnar engine profiles are
            parsed once into a temporary engine table (fast, memory about the file's size);
            larger ones are read again by each query (bounded memory).
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
    histogram_bins: int = 20
    quantile_exact_limit: int = 50_000
    quantile_sketch_k: int = 1024
    engine_materialize_bytes: int = 256 * 1024 * 1024
    pause_gc: bool = True
    # Distinct values per chunk that pattern and consistency checks look at: enough for shares
    # to be stable, few enough to cost nothing next to parsing.
    check_sample: int = 500
    check_total: int = 5_000

    def __post_init__(self) -> None:
        for name in (
            "categorical_threshold",
            "exact_distinct_limit",
            "top_k",
            "chunk_size",
            "histogram_bins",
            "quantile_exact_limit",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"ProfileOptions.{name} must be at least 1")
        if self.quantile_sketch_k < 8:
            raise ValueError("ProfileOptions.quantile_sketch_k must be at least 8")
        if not 0 < self.pattern_threshold <= 1:
            raise ValueError("ProfileOptions.pattern_threshold must be in (0, 1]")
