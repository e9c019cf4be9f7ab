from __future__ import annotations

import gc
import statistics
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinspector.profiling import (
    ColumnProfiler,
    HyperLogLog,
    ProfileOptions,
    StreamingProfiler,
    profile_records,
)
from xinspector.profiling._options import gc_paused


@pytest.mark.parametrize("n", [0, 1, 10, 1_000, 50_000, 300_000])
def test_hll_accuracy_ints_and_strings(n: int) -> None:
    ints, strs = HyperLogLog(), HyperLogLog()
    ints.update(range(n))
    strs.update_str(f"user{i}@example.org" for i in range(n))
    for h in (ints, strs):
        assert abs(h.count() - n) <= max(2, 0.03 * n)


def test_hll_duplicates_and_merge() -> None:
    a, b = HyperLogLog(), HyperLogLog()
    a.update([1, 2, 3] * 1000)
    assert a.count() == 3
    b.update(range(2, 10_000))
    a.merge(b)
    assert abs(a.count() - 10_000) < 300
    with pytest.raises(ValueError, match="precision"):
        HyperLogLog(3)
    with pytest.raises(ValueError, match="different precision"):
        a.merge(HyperLogLog(10))


def test_text_column_statistics() -> None:
    values = ["1", "2", "", "4", "NULL", "4"]
    col = ColumnProfiler("n")
    col.add_text(values)
    fs = col.finish()
    nums = [1, 2, 4, 4]
    assert (fs.type, fs.count, fs.null_count, fs.unique_count) == ("int", 6, 2, 3)
    assert (fs.min, fs.max) == (1, 4)
    assert fs.mean == pytest.approx(statistics.mean(nums))
    assert fs.stddev == pytest.approx(statistics.stdev(nums))
    assert fs.top_values[0].value == 4
    assert fs.top_values[0].count == 2
    assert fs.quality.completeness == pytest.approx(4 / 6)
    assert fs.quality.uniqueness == pytest.approx(3 / 4)


def test_categorical_threshold_is_configurable() -> None:
    values = ["red", "green", "blue"] * 20
    col = ColumnProfiler("c")
    col.add_text(values)
    stats = col.finish()
    assert stats.is_categorical
    assert stats.cardinality == "low"
    assert stats.distinct_values == ["blue", "green", "red"]
    strict = ColumnProfiler("c", ProfileOptions(categorical_threshold=2))
    strict.add_text(values)
    assert not strict.finish().is_categorical


def test_all_null_and_empty_columns() -> None:
    col = ColumnProfiler("x")
    col.add_text(["", "", "NULL"])
    fs = col.finish()
    assert (fs.type, fs.null_count, fs.unique_count, fs.cardinality) == ("None", 3, 0, None)
    assert fs.quality.completeness == 0.0
    empty = StreamingProfiler()
    assert empty.finish() == (0, {})


def test_mixed_text_lowers_consistency() -> None:
    col = ColumnProfiler("m")
    col.add_text(["1", "2", "3", "x", "y", "2024-01-01"])
    fs = col.finish()
    assert fs.type == "str"
    assert fs.quality.consistency == pytest.approx(0.5)


def test_high_cardinality_switches_to_sketch() -> None:
    # Precision 14 (standard error 0.8 %): at the default 12 (1.6 %) a 3 % bound fails for about
    # one hash seed in thirty (PYTHONHASHSEED=24, for one).
    opts = ProfileOptions(exact_distinct_limit=1_000, chunk_size=5_000, hll_precision=14)
    col = ColumnProfiler("id", opts)
    for start in range(0, 60_000, 5_000):
        col.add_text([str(i) for i in range(start, start + 5_000)])
    fs = col.finish()
    assert not fs.unique_exact
    assert not fs.top_values_exact
    assert abs(fs.unique_count - 60_000) < 0.03 * 60_000
    assert (fs.min, fs.max) == (0, 59_999)
    assert fs.mean == pytest.approx(29_999.5)
    assert fs.cardinality == "high"
    assert not fs.is_categorical


def test_python_values_and_mixed_types() -> None:
    total, fields = profile_records(
        [
            {"a": 1, "b": "x", "c": {"k": 1}, "d": Decimal("1.5")},
            {"a": 2.5, "b": None, "c": [1, 2], "d": Decimal("2.5")},
            {"a": "three", "e": "2024-01-01"},
        ]
    )
    assert total == 3
    assert fields["a"].type == "float | str"
    assert fields["a"].quality.consistency == pytest.approx(1 / 3)
    assert fields["b"].null_count == 2  # null once, missing once
    assert fields["c"].type == "object | list"
    assert fields["d"].mean == pytest.approx(2.0)
    assert fields["e"].type == "date"
    assert fields["e"].null_count == 2


def test_progress_and_bad_input() -> None:
    calls: list[tuple[int, int | None]] = []
    prof = StreamingProfiler(progress=lambda done, total: calls.append((done, total)))
    prof.add_rows([{"a": 1}] * 3)
    prof.add_rows([{"a": 2}] * 2)
    assert calls == [(3, None), (5, None)]
    with pytest.raises(TypeError, match="mappings"):
        prof.add_rows([1])  # type: ignore[list-item]
    col = ColumnProfiler("x")
    col.add_text(["1"])
    with pytest.raises(ValueError, match="mix"):
        col.add_values([1])
    with pytest.raises(ValueError, match="categorical_threshold"):
        ProfileOptions(categorical_threshold=0)


def test_gc_paused_restores_state() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


@settings(max_examples=50)
@given(
    st.lists(st.one_of(st.none(), st.integers(-(10**6), 10**6)), min_size=1, max_size=300),
    st.integers(1, 50),
)
def test_chunking_does_not_change_results(values: list[int | None], chunk: int) -> None:
    text = ["" if v is None else str(v) for v in values]
    whole = ColumnProfiler("x")
    whole.add_text(text)
    parts = ColumnProfiler("x")
    for i in range(0, len(text), chunk):
        parts.add_text(text[i : i + chunk])
    a, b = whole.finish(), parts.finish()
    present = [v for v in values if v is not None]
    assert a.null_count == b.null_count == len(values) - len(present)
    assert a.unique_count == b.unique_count == len(set(present))
    if present:
        assert a.min == b.min == min(present)
        assert a.max == b.max == max(present)
        assert b.mean == pytest.approx(statistics.fmean(present), rel=1e-9, abs=1e-6)


def test_int_then_decimal_keeps_exact_statistics() -> None:
    col = ColumnProfiler("v")
    col.add_text([str(i) for i in range(1, 101)])
    col.add_text(["0.5", "100.25"])
    fs = col.finish()
    values = [*range(1, 101), 0.5, 100.25]
    assert fs.type == "Decimal"
    assert fs.mean == pytest.approx(statistics.fmean(values))
    assert fs.stddev == pytest.approx(statistics.stdev(values))
    assert (fs.min, fs.max) == (Decimal("0.5"), Decimal("100.25"))


def test_large_integers_have_exact_mean() -> None:
    big = [10**15 + i for i in range(1000)]
    col = ColumnProfiler("v")
    col.add_text([str(v) for v in big])
    fs = col.finish()
    assert fs.mean == pytest.approx(statistics.fmean(big), rel=1e-15)
    assert fs.stddev == pytest.approx(statistics.stdev(big), rel=1e-9)


def test_patterns_of_python_strings() -> None:
    _, fields = profile_records([{"e": f"user{i}@example.org", "n": str(i)} for i in range(20)])
    assert fields["e"].pattern == "email"
    assert fields["e"].pattern_share == 1.0
    assert fields["n"].pattern is None


def test_few_values_counting_switches_back_on_new_values() -> None:
    col = ColumnProfiler("flag")
    col.add_text(["true", "false", ""] * 10)
    col.add_text(["true", "false"] * 10)  # counted with list.count
    col.add_text(["true", "maybe", "NULL"])  # a new value: back to a Counter
    fs = col.finish()
    assert fs.count == 53
    assert fs.null_count == 11
    assert fs.type == "str"
    assert {v.value: v.count for v in fs.top_values} == {"true": 21, "false": 20, "maybe": 1}
