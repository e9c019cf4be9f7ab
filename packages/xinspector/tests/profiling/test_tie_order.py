"""The order of top values and distinct values: count descending, ties by value.

The streaming profiler used to list tied values in the order it first met them (so a shuffled
file reordered its report, and the engine and the databases listed them in yet another order).
The expected orders below are written out by hand; the properties check that neither the input
order nor the chunking changes the result, and that the value order is total over mixed types.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinspector.profiling import ColumnProfiler, ProfileOptions
from xinspector.profiling._order import rank_counts, sorted_values, value_key

HOSTILE_TEXT = ["a", "A", "á", "a ", " a", "Ä", "ß", "日本", "😀", "é", "e\u0301", "Z", "z"]


def profile(cells: list[Any], *, text: bool, chunk: int = 7, **options: Any) -> Any:
    col = ColumnProfiler("c", ProfileOptions(**options))
    for i in range(0, len(cells), chunk):
        part = cells[i : i + chunk]
        if text:
            col.add_text(part)
        else:
            col.add_values(part)
    return col.finish()


def shuffled(cells: list[Any], seed: int) -> list[Any]:
    out = list(cells)
    random.Random(seed).shuffle(out)
    return out


def top(fs: Any) -> list[tuple[Any, int]]:
    return [(v.value, v.count) for v in fs.top_values]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_reported_example_ranks_ties_by_value(seed: int) -> None:
    cells = ["a"] * 10 + ["b"] * 10 + [f"c{i}" for i in (3, 1, 2, 0)] * 5
    fs = profile(shuffled(cells, seed), text=True)
    assert top(fs) == [("a", 10), ("b", 10), ("c0", 5), ("c1", 5), ("c2", 5), ("c3", 5)]
    assert fs.distinct_values == ["a", "b", "c0", "c1", "c2", "c3"]


# (cells, text?, expected top values) written out by hand: code points for text, numbers by
# value, dates by time, booleans False first, nulls never counted.
CASES: list[tuple[list[Any], bool, list[tuple[Any, int]]]] = [
    (
        HOSTILE_TEXT * 3 + ["b"] * 4 + [None, ""] * 2,
        True,
        [
            ("b", 4),
            (" a", 3),
            ("A", 3),
            ("Z", 3),
            ("a", 3),
            ("a ", 3),
            ("e\u0301", 3),
            ("z", 3),
            ("Ä", 3),
            ("ß", 3),
        ],
    ),
    (
        ["10", "2", "-1", "2.0", "100", "0"] * 2 + [""],
        True,
        [(2.0, 4), (-1.0, 2), (0.0, 2), (10.0, 2), (100.0, 2)],  # not "-1" < "0" < "10" < "2"
    ),
    (
        ["2024-01-10", "2024-01-09", "1969-12-31", "2024-01-09"] * 2,
        True,
        [(date(2024, 1, 9), 4), (date(1969, 12, 31), 2), (date(2024, 1, 10), 2)],
    ),
    (["true", "FALSE", "yes", "n", "NULL"] * 3, True, [(False, 6), (True, 6)]),
    (['{"b": 1}', '{"a": 2}', "[1, 2]"] * 2, True, [([1, 2], 2), ({"a": 2}, 2), ({"b": 1}, 2)]),
    (
        [3, 1.5, 2, Decimal("1.25"), 3, 2, 1.5, Decimal("1.25")],
        False,
        [
            (Decimal("1.25"), 2),
            (1.5, 2),
            (2, 2),
            (3, 2),
        ],
    ),
    # A JSON column mixing types: numbers, then text, then booleans, None never counted.
    ([True, "x", 5, "X", None, 5, "x", True, "X"], False, [(5, 2), ("X", 2), ("x", 2), (True, 2)]),
]


@pytest.mark.parametrize(("cells", "text", "expected"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_ties_by_value_whatever_the_input_order(
    cells: list[Any], text: bool, expected: list[tuple[Any, int]], seed: int
) -> None:
    fs = profile(shuffled(cells, seed), text=text)
    assert top(fs) == expected
    if fs.is_categorical:
        values = {v for v, _ in top(profile(cells, text=text, top_k=100))}
        assert fs.distinct_values == sorted_values(values)


def test_json_text_ranks_by_its_text_as_the_engine_groups_it() -> None:
    # '[' < '{' and '{"b"' > '{"a"' as text; the parsed values come out in that order.
    fs = profile(['{"b": 1}', '{"a": 2}', "[1, 2]"] * 2, text=True)
    assert fs.type == "json"
    assert [v.value for v in fs.top_values] == [[1, 2], {"a": 2}, {"b": 1}]


def test_distinct_values_of_hostile_text_in_code_point_order() -> None:
    fs = profile(shuffled(HOSTILE_TEXT * 2, 4), text=True)
    assert fs.is_categorical
    assert fs.distinct_values == [
        " a",
        "A",
        "Z",
        "a",
        "a ",
        "e\u0301",
        "z",
        "Ä",
        "ß",
        "á",
        "é",
        "日本",
        "😀",
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([*HOSTILE_TEXT, "b", "x10", "x9"]), min_size=1, max_size=120),
    st.integers(min_value=1, max_value=40),
    st.randoms(use_true_random=False),
)
def test_text_order_does_not_depend_on_input_order_or_chunks(
    cells: list[str], chunk: int, rnd: random.Random
) -> None:
    expected = sorted(Counter(cells).items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    fs = profile(cells, text=True, chunk=chunk)
    again = profile(rnd.sample(cells, len(cells)), text=True, chunk=max(1, chunk // 2))
    assert top(fs) == top(again) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=1, max_size=150), st.randoms())
def test_integer_ties_by_value_not_by_text(cells: list[int], rnd: random.Random) -> None:
    expected = sorted(Counter(cells).items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    shuffled_cells = rnd.sample(cells, len(cells))
    assert top(profile([str(c) for c in shuffled_cells], text=True)) == expected
    assert top(profile(shuffled_cells, text=False)) == expected


MIXED = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])),
    st.uuids(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(MIXED, max_size=25))
def test_value_order_is_total_over_mixed_types(values: list[Any]) -> None:
    ordered = sorted_values(values)  # no TypeError, whatever the mix
    keys = [value_key(v) for v in ordered]
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert not b < a  # consistent: no later key sorts before an earlier one
    assert (ordered[-1] is None) == (None in values) if values else True


def test_value_order_by_family() -> None:
    aware = datetime(2024, 1, 1, 12, tzinfo=UTC)
    values = [
        None,
        aware,
        date(2024, 1, 1),
        datetime(2024, 1, 1),
        True,
        False,
        UUID(int=1),
        b"\x00",
        [1],
        {"a": 1},
        "é",
        "E",
        float("nan"),
        Decimal("NaN"),
        math.inf,
        2**80,
        -1,
        Decimal("0.5"),
    ]
    ordered = sorted_values(shuffled(values, 3))
    assert ordered[:4] == [-1, Decimal("0.5"), 2**80, math.inf]
    assert all(isinstance(v, float | Decimal) and v != v for v in ordered[4:6])  # NaNs
    assert ordered[6:] == [
        "E",
        "é",
        {"a": 1},
        [1],
        b"\x00",
        UUID(int=1),
        False,
        True,
        date(2024, 1, 1),
        datetime(2024, 1, 1),
        aware,
        None,
    ]


def test_rank_counts_takes_the_first_k_of_the_full_order() -> None:
    pairs = [("b", 2), ("a", 2), (None, 9), ("c", 5), (3, 2)]
    assert rank_counts(pairs) == [(None, 9), ("c", 5), (3, 2), ("a", 2), ("b", 2)]
    assert rank_counts(pairs, 3) == [(None, 9), ("c", 5), (3, 2)]
    assert rank_counts([], 3) == []
