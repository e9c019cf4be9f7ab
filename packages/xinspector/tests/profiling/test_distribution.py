"""Quantiles, histograms and string-length histograms of the streaming profiler, against numpy."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinspector.profiling import ColumnProfiler, ProfileOptions, StreamingProfiler, profile_records
from xinspector.profiling._distribution import (
    apply_length_histogram,
    epoch_of,
    from_epoch,
    length_bins,
)
from xinspector.profiling._stats import QUANTILE_LEVELS, FieldStatistics

LEVELS = list(QUANTILE_LEVELS.values())
EPOCH = datetime(1970, 1, 1)


def np_quantiles(values: list[float]) -> list[float]:
    return [float(q) for q in np.quantile(np.asarray(values, dtype=float), LEVELS)]


def np_bins(values: list[float], bins: int = 20) -> list[int]:
    a = np.asarray(values, dtype=float)
    lo, hi = a.min(), a.max()
    if hi <= lo:
        return [len(a)]
    idx = np.minimum(np.floor((a - lo) * bins / (hi - lo)), bins - 1).astype(int)
    return np.bincount(idx, minlength=bins).tolist()


def fed_as_text(cells: list[str | None], chunk: int = 7, **options: int) -> FieldStatistics:
    col = ColumnProfiler("c", ProfileOptions(**options))
    for i in range(0, len(cells), chunk):
        col.add_text(cells[i : i + chunk])
    return col.finish()


def test_text_numbers_with_nulls_and_mixed_ints_floats() -> None:
    cells = ["1", "2", "", "NULL", "2", "3", "4.5", "-1e3", "1000000", None]
    fs = fed_as_text(cells)
    nums = [1, 2, 2, 3, 4.5, -1000.0, 1_000_000]
    assert fs.type == "float"
    assert fs.quantiles_exact
    assert list(fs.quantiles.values()) == pytest.approx(np_quantiles(nums))
    assert fs.histogram is not None
    assert [b.count for b in fs.histogram] == np_bins(nums)
    assert (fs.histogram[0].lower, fs.histogram[-1].upper) == (-1000.0, 1_000_000.0)
    assert fs.length_histogram is None  # numbers have no string-length distribution


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-(10**12), 10**12),
            st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
        ),
        min_size=1,
        max_size=120,
    ),
    st.integers(1, 40),
)
def test_text_and_values_paths_agree_with_numpy(values: list[int | Decimal], chunk: int) -> None:
    cells = [str(v) for v in values]
    text = fed_as_text(cells, chunk=chunk)
    col = ColumnProfiler("c")
    for i in range(0, len(values), chunk):
        col.add_values(values[i : i + chunk])
    typed = col.finish()
    expected = np_quantiles([float(v) for v in values])
    for fs in (text, typed):
        assert fs.quantiles is not None
        assert fs.quantiles_exact
        assert list(fs.quantiles.values()) == pytest.approx(expected, rel=1e-12, abs=1e-9)
        assert fs.histogram is not None
        assert [b.count for b in fs.histogram] == np_bins([float(v) for v in values])


def test_high_cardinality_column_uses_the_sketch() -> None:
    rnd = random.Random(11)
    values = [rnd.expovariate(0.01) for _ in range(60_000)]
    opts = {"quantile_exact_limit": 5_000, "chunk_size": 5_000}
    fs = fed_as_text([repr(v) for v in values], chunk=5_000, **opts)
    assert fs.quantiles is not None
    assert not fs.quantiles_exact
    ordered = np.sort(values)
    for q, est in zip(LEVELS, fs.quantiles.values(), strict=True):
        rank = np.searchsorted(ordered, est) / len(values)
        assert abs(rank - q) <= 0.01
    assert fs.histogram is not None
    assert sum(b.count for b in fs.histogram) == len(values)
    exact = fed_as_text([repr(v) for v in values], chunk=5_000)  # default limit: 50,000
    assert not exact.quantiles_exact  # 60,000 distinct values
    small = fed_as_text([repr(v) for v in values[:40_000]], chunk=5_000)
    assert small.quantiles_exact
    assert list(small.quantiles.values()) == pytest.approx(np_quantiles(values[:40_000]))


def test_text_dates_and_datetimes() -> None:
    days = ["2024-01-01", "2024-01-03", "2023-12-31", "", "2024-02-29", "2024-01-03"]
    fs = fed_as_text(days, chunk=2)
    assert fs.type == "date"
    secs = [epoch_of(date.fromisoformat(d))[0] for d in days if d]
    expected = [EPOCH + timedelta(seconds=s) for s in np_quantiles(secs)]
    assert fs.quantiles is not None
    assert list(fs.quantiles.values()) == expected
    assert all(type(v) is datetime for v in fs.quantiles.values())  # one type per field
    assert fs.histogram is not None
    assert fs.histogram[0].lower == datetime(2023, 12, 31)
    assert fs.histogram[-1].upper == datetime(2024, 2, 29)
    assert [b.count for b in fs.histogram] == np_bins(secs)

    stamps = ["2024-03-01T10:00:00+02:00", "2024-03-01T08:30:00Z", "2024-03-02T00:00:00+00:00"]
    aware = fed_as_text(stamps)
    assert aware.type == "datetime"
    assert aware.quantiles is not None
    assert aware.quantiles["p50"] == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert aware.quantiles["p5"] == datetime(2024, 3, 1, 8, 3, tzinfo=UTC)
    mixed = fed_as_text(["2024-03-01T10:00:00", "2024-03-01T08:30:00Z"])
    assert mixed.type == "datetime"
    assert mixed.quantiles is None
    assert mixed.histogram is None


def test_python_temporal_values() -> None:
    tz = timezone(timedelta(hours=-5))
    rows = [
        {"d": date(2020, 1, 1), "t": datetime(2020, 1, 1, 12, tzinfo=tz)},
        {"d": date(2020, 1, 2), "t": datetime(2020, 1, 1, 18, tzinfo=UTC)},
        {"d": None},
        {"d": date(2020, 1, 4), "t": datetime(2020, 1, 3, tzinfo=UTC)},
    ]
    _, fields = profile_records(rows)
    d, t = fields["d"], fields["t"]
    assert d.quantiles == {
        "p5": datetime(2020, 1, 1, 2, 24),
        "p25": datetime(2020, 1, 1, 12),
        "p50": datetime(2020, 1, 2),
        "p75": datetime(2020, 1, 3),
        "p95": datetime(2020, 1, 3, 19, 12),
    }
    assert t.quantiles is not None
    assert t.quantiles["p50"] == datetime(2020, 1, 1, 18, tzinfo=UTC)
    assert t.histogram is not None
    assert sum(b.count for b in t.histogram) == 3
    # JSON-like ISO strings become temporal fields too
    _, fields = profile_records([{"s": "2021-05-01"}, {"s": "2021-05-03"}, {"s": None}])
    assert fields["s"].type == "date"
    assert fields["s"].quantiles is not None
    assert fields["s"].quantiles["p50"] == datetime(2021, 5, 2)


def test_string_length_histogram() -> None:
    words = ["a", "bb", "ccc", "éé", "ß", "日本語テキスト", "  padded  ", "", "NULL", None]
    fs = fed_as_text(words, chunk=3)
    assert fs.type == "str"
    assert fs.length_histogram is not None
    present = [w for w in words if w not in (None, "", "NULL")]
    lengths = Counter(map(len, present))
    assert {b.lower: b.count for b in fs.length_histogram if b.count} == dict(lengths)
    assert sum(b.count for b in fs.length_histogram) == len(present)
    assert fs.quantiles is None
    assert fs.histogram is None
    long = [("x" * n) for n in range(1, 95)] * 3
    fl = fed_as_text(long, chunk=50)
    assert fl.length_histogram is not None
    width = length_bins(1, 94, 20)
    assert width == 5
    assert len(fl.length_histogram) == 19
    assert [b.upper - b.lower for b in fl.length_histogram] == [5] * 19
    assert sum(b.count for b in fl.length_histogram) == len(long)
    assert fl.length_histogram[0].count == 15  # lengths 1..5, three times each


def test_length_histogram_from_pairs_and_bins_option() -> None:
    fs = FieldStatistics(name="x")
    apply_length_histogram(fs, [(3, 2), (10, 0), (4, 1)], 20)
    assert fs.length_histogram is not None
    assert [(b.lower, b.upper, b.count) for b in fs.length_histogram] == [(3, 4, 2), (4, 5, 1)]
    cells = [str(i) for i in range(100)]
    five = fed_as_text(cells, histogram_bins=5)
    assert five.histogram is not None
    assert len(five.histogram) == 5
    assert [b.count for b in five.histogram] == [20] * 5


def test_constant_column_one_bin_and_categories_exact() -> None:
    cells = ["7"] * 50_000 + ["8"]
    fs = fed_as_text(cells, chunk=20_000)
    assert fs.quantiles == {"p5": 7.0, "p25": 7.0, "p50": 7.0, "p75": 7.0, "p95": 7.0}
    assert fs.quantiles_exact
    assert fs.histogram is not None
    assert fs.histogram[0].count == 50_000
    assert fs.histogram[-1].count == 1
    one = fed_as_text(["3.5"] * 10)
    assert one.histogram is not None
    assert len(one.histogram) == 1
    assert one.histogram[0].count == 10


def test_non_numeric_and_hostile_columns_get_no_quantiles() -> None:
    assert fed_as_text(["1", "two", "3"]).quantiles is None
    assert fed_as_text(["true", "false"]).quantiles is None
    huge = ColumnProfiler("h")
    huge.add_values([1, 10**400, 3])
    fs = huge.finish()
    assert fs.quantiles is None
    assert fs.histogram is None
    assert fs.mean is None
    assert (fs.min, fs.max) == (1, 10**400)
    mixed = profile_records([{"m": 1}, {"m": "x"}, {"m": 2.5}])[1]["m"]
    assert mixed.quantiles is None
    nan = ColumnProfiler("n")
    nan.add_values([1.0, float("nan"), 3.0])
    got = nan.finish()
    assert got.quantiles is not None
    assert got.quantiles["p50"] == 2.0


def test_streaming_profiler_columns_and_missing_keys() -> None:
    prof = StreamingProfiler(options=ProfileOptions(chunk_size=2))
    prof.add_rows([{"a": 1, "b": "x"}, {"a": 5}])
    prof.add_rows([{"b": "yyy"}, {"a": 3, "b": None}])
    _, fields = prof.finish()
    assert fields["a"].quantiles is not None
    assert fields["a"].quantiles["p50"] == 3.0
    assert fields["b"].length_histogram is not None
    assert [(b.lower, b.count) for b in fields["b"].length_histogram if b.count] == [(1, 1), (3, 1)]


def test_epoch_round_trip() -> None:
    for value in (
        datetime(1900, 1, 1),
        datetime(2262, 4, 11, 23, 47, 16, 854775),
        datetime(2024, 2, 29, 13, 1, 2, 3),
    ):
        seconds, aware = epoch_of(value)
        assert not aware
        assert abs(from_epoch(seconds, aware=False) - value) <= timedelta(microseconds=1)
    seconds, aware = epoch_of(datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert aware
    assert from_epoch(seconds, aware=True) == datetime(2024, 1, 1, tzinfo=UTC)
    assert epoch_of(date(1969, 12, 31)) == (-86_400.0, False)


@pytest.mark.parametrize(
    ("name", "value"),
    [("histogram_bins", 0), ("quantile_exact_limit", 0), ("quantile_sketch_k", 4)],
)
def test_options_refuse_bad_values(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=name):
        ProfileOptions(**{name: value})
