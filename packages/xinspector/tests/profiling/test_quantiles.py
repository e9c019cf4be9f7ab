"""QuantileSketch: exact against numpy while exact, within its stated rank error beyond."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinspector.profiling._quantiles import (
    KLL_RANK_ERROR,
    QuantileSketch,
    bin_index,
    histogram_edges,
)

LEVELS = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]

numbers = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 0.0, -0.0, 1e-300, -1e-300, 5e-324, 3]),
)


def reference_bins(values: list[float], bins: int) -> list[int]:
    """The histogram definition, vectorised by numpy."""
    a = np.asarray(values, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return [len(a)]
    idx = np.minimum(np.floor((a - lo) * bins / (hi - lo)), bins - 1).astype(int)
    return np.bincount(idx, minlength=bins).tolist()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(numbers, min_size=1, max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=5),
    counted=st.booleans(),
)
def test_exact_mode_is_numpy(values: list[float], cuts: list[int], counted: bool) -> None:
    s = QuantileSketch()
    bounds = sorted({0, len(values), *(c for c in cuts if c < len(values))})
    for a, b in itertools.pairwise(bounds):
        part = values[a:b]
        if counted:  # the same chunk given as distinct values and their counts
            distinct: dict[float, int] = {}
            for v in part:
                distinct[v] = distinct.get(v, 0) + 1
            s.add(list(distinct), list(distinct.values()))
        else:
            s.add(part)
    assert s.exact
    assert s.count == len(values)
    expected = np.quantile(np.asarray(values, dtype=np.float64), LEVELS, method="linear")
    got = s.quantiles(LEVELS)
    for e, g in zip(expected, got, strict=True):
        assert g == pytest.approx(float(e), rel=1e-12, abs=1e-300)
    bars = s.histogram(20)
    assert [c for _, c in bars] == reference_bins(values, 20)
    assert bars[0][0][0] == min(values)
    assert bars[-1][0][1] == max(values)


def test_counts_equal_repetition() -> None:
    a, b = QuantileSketch(), QuantileSketch()
    a.add([1.5, 7, -3], [1000, 1, 250])
    b.add([1.5] * 1000 + [7] + [-3] * 250)
    assert a.quantiles(LEVELS) == b.quantiles(LEVELS)
    assert a.histogram(7) == b.histogram(7)
    # "1.0" and "1.00" are two keys of a text column but one number
    c = QuantileSketch()
    c.add([1.0, 1.0, 2.0], [3, 2, 5])
    assert c.weighted() == ([1.0, 2.0], [5, 5])


def rank_error(data: list[float], sketch: QuantileSketch, levels: list[float]) -> float:
    ordered = np.sort(np.asarray(data, dtype=np.float64))
    n = len(ordered)
    worst = 0.0
    for q, est in zip(levels, sketch.quantiles(levels), strict=True):
        lo = np.searchsorted(ordered, est, side="left") / n
        hi = np.searchsorted(ordered, est, side="right") / n
        worst = max(worst, 0.0 if lo <= q <= hi else min(abs(lo - q), abs(hi - q)))
    return worst


@pytest.mark.parametrize(
    "order", ["random", "sorted", "reversed", "duplicates", "zipf", "sawtooth"]
)
def test_sketch_within_rank_error(order: str) -> None:
    rnd = random.Random(order)
    n = 300_000
    if order == "duplicates":
        data = [float(rnd.randrange(5_000)) for _ in range(n)]
    elif order == "zipf":
        data = [float(int(1 / (1 - rnd.random()) ** 1.5)) for _ in range(n)]
    elif order == "sawtooth":
        data = [float(i % 997) + i / n for i in range(n)]
    else:
        data = [rnd.lognormvariate(0, 2) for _ in range(n)]
        if order != "random":
            data.sort(reverse=order == "reversed")
    s = QuantileSketch(exact_limit=1_000)
    for i in range(0, n, 20_000):
        s.add(data[i : i + 20_000])
    assert not s.exact
    assert s.count == n
    assert s.min == min(data)
    assert s.max == max(data)
    retained = sum(len(level) for level in s._levels)
    assert retained < 4 * s.k  # bounded memory, whatever n
    assert rank_error(data, s, [0.05, 0.25, 0.5, 0.75, 0.95]) <= KLL_RANK_ERROR
    bars = s.histogram(20)
    assert sum(c for _, c in bars) == n  # weight is never lost
    reference = reference_bins(data, 20)
    cumulative_ref = np.cumsum(reference)
    cumulative_est = np.cumsum([c for _, c in bars])
    # every bin edge is a rank query: within the rank error, twice (both edges of a bin)
    assert np.max(np.abs(cumulative_est - cumulative_ref)) <= 2 * KLL_RANK_ERROR * n


def test_weighted_heavy_values_beyond_exact_limit() -> None:
    rnd = random.Random(7)
    data: list[float] = []
    s = QuantileSketch(exact_limit=100)
    for _ in range(30):
        keys = [float(rnd.randrange(10_000)) for _ in range(500)]
        counts = [rnd.choice([1, 1, 1, 2, 17, 1000]) for _ in keys]
        distinct: dict[float, int] = {}
        for k, c in zip(keys, counts, strict=True):
            distinct[k] = distinct.get(k, 0) + c
        s.add(list(distinct), list(distinct.values()))
        for k, c in distinct.items():
            data.extend([k] * c)
    assert not s.exact
    assert s.count == len(data)
    assert rank_error(data, s, [0.05, 0.25, 0.5, 0.75, 0.95]) <= KLL_RANK_ERROR


def test_merge() -> None:
    rnd = random.Random(3)
    a_data = [rnd.gauss(0, 1) for _ in range(50_000)]
    b_data = [rnd.gauss(3, 1) for _ in range(70_000)]
    small = QuantileSketch()
    small.add([1, 2, 3])
    other = QuantileSketch()
    other.add([4, 5])
    small.merge(other)
    assert small.exact
    assert small.quantiles([0.5]) == [3.0]
    assert small.count == 5
    a, b = QuantileSketch(exact_limit=1_000), QuantileSketch(exact_limit=1_000)
    for i in range(0, len(a_data), 10_000):
        a.add(a_data[i : i + 10_000])
    exact_b = QuantileSketch()
    exact_b.add(b_data)
    b.merge(exact_b)
    a.merge(b)
    a.merge(QuantileSketch())
    assert a.count == len(a_data) + len(b_data)
    assert (a.min, a.max) == (min(a_data + b_data), max(a_data + b_data))
    assert rank_error(a_data + b_data, a, [0.05, 0.5, 0.95]) <= KLL_RANK_ERROR
    exact = QuantileSketch()
    exact.add([10.0])
    exact.merge(a)  # an exact sketch absorbing a compacted one
    assert not exact.exact
    assert exact.count == a.count + 1


def test_hostile_values() -> None:
    s = QuantileSketch()
    s.add([float("nan"), 1.0, float("nan")], [5, 2, 1])
    assert s.count == 2
    assert s.quantiles([0.5]) == [1.0]
    s.add([float("nan")])
    assert s.count == 2
    assert s.histogram(3) == [((1.0, 1.0), 2)]  # one value: one bin
    inf = QuantileSketch()
    inf.add([1.0, float("inf")])
    assert inf.histogram(4) == []  # no equal-width bins up to infinity
    assert inf.quantiles([0.0]) == [1.0]
    huge = QuantileSketch()
    huge.add([1, 10**400])
    assert not huge.usable
    assert huge.quantiles([0.5]) == []
    assert huge.histogram(3) == []
    empty = QuantileSketch()
    assert empty.quantiles([0.5]) == []
    assert empty.histogram(3) == []
    assert empty.min is None
    with pytest.raises(ValueError, match="exact_limit"):
        QuantileSketch(exact_limit=0)
    with pytest.raises(ValueError, match="k >= 8"):
        QuantileSketch(k=2)


def test_bins_and_edges() -> None:
    assert histogram_edges(0.0, 1.0, 4) == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
    assert histogram_edges(2.0, 2.0, 4) == [(2.0, 2.0)]
    assert [bin_index(x, 0.0, 1.0, 4) for x in (0.0, 0.2499, 0.25, 0.999, 1.0)] == [0, 0, 1, 3, 3]
    assert bin_index(5.0, 5.0, 5.0, 10) == 0
    # edges are exact values where the arithmetic allows: the last edge is the maximum itself
    lo, hi = 0.1, 0.7
    assert histogram_edges(lo, hi, 3)[-1][1] == hi
    wide = QuantileSketch()
    wide.add([-1e308, 1e308])
    assert wide.histogram(20) == []  # the range itself overflows: no bins rather than NaN ones
    assert all(math.isfinite(a) for a, _ in histogram_edges(-1e300, 1e300, 20))
