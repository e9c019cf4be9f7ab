"""A column's values are its values, not their spellings (profiling/_values.py and the bounds of
profiling/_column_state.py).

The oracle is Python itself: ``uuid.UUID``, ``datetime.fromisoformat``, ``Decimal`` and their
``==`` (numbers by value, UUIDs by their 128 bits, aware datetimes by instant), ``min``/``max``.
Cells are hostile: letter case, offsets, trailing zeros, bool spellings, far-future microseconds,
naive next to aware values, columns of nulls only; every property is checked for any chunking.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinspector import FieldStatistics
from xinspector.profiling import ColumnProfiler, ProfileOptions
from xinspector.profiling._values import SampleSpellings, value_key

NULLS = {None, "", "NULL", "n/a", "None"}


def profile_text(cells: Sequence[str | None], chunk: int = 3, **opts: Any) -> FieldStatistics:
    col = ColumnProfiler("c", ProfileOptions(**opts))
    for i in range(0, len(cells), chunk):
        col.add_text(list(cells[i : i + chunk]))
    if not cells:
        col.add_text([])
    return col.finish()


def profile_values(values: Sequence[Any], chunk: int = 3) -> FieldStatistics:
    col = ColumnProfiler("c")
    for i in range(0, len(values), chunk):
        col.add_values(list(values[i : i + chunk]))
    return col.finish()


def first_distinct(values: Sequence[Any], n: int) -> list[Any]:
    """The oracle of sample values: the first ``n`` distinct values (by ``==``) in order."""
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out[:n]


def present(cells: Sequence[str | None], parse: Callable[[str], Any]) -> list[Any]:
    return [parse(c) for c in cells if c not in NULLS]


def spellings_of(u: uuid.UUID, mask: int) -> str:
    """``u`` with its hex digits upper or lower case as the bits of ``mask`` say (bit i: the
    i-th hex digit, hyphens not counted)."""
    digits = iter(range(32))
    return "".join(c if c == "-" else c.upper() if mask >> next(digits) & 1 else c for c in str(u))


A = uuid.UUID("a0000000-0000-0000-0000-0000000000ff")
B = uuid.UUID("b0000000-0000-0000-0000-000000000000")
Z = uuid.UUID(int=0)
F = uuid.UUID(int=2**128 - 1)

# Columns where a spelling and its value part (found while writing these tests and by the
# properties below), each with its type and the oracle's parse.
FOUND: list[tuple[list[str | None], str, Callable[[str], Any]]] = [
    ([str(A), str(B).upper()], "UUID", uuid.UUID),
    ([str(A).upper(), str(A), "NULL", str(A).title(), str(Z), str(F).upper()], "UUID", uuid.UUID),
    (["1.5", "1.50", "1.500", "", "2", "2.0", "0.10", "0.1"], "Decimal", Decimal),
    (["1e3", "1000.0", "1E3", "-0.0", "0.0", "2.5e-1"], "float", float),
    (["true", "TRUE", "True", "yes", "no", "N"], "bool", lambda v: v.lower() in {"true", "yes"}),
    (
        ["2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z", "2024-03-01 08:00+00:00", "n/a"],
        "datetime",
        datetime.fromisoformat,
    ),
    (["2024-03-01", "2024-02-29", "NULL", "2024-03-01"], "date", date.fromisoformat),
    (["10:00", "10:00:00", "09:59:59.999999", "10:00:00.000"], "time", time.fromisoformat),
]


@pytest.mark.parametrize(("cells", "type_name", "parse"), FOUND)
@pytest.mark.parametrize("chunk", [1, 2, 100])
def test_found_columns_are_profiled_by_value(
    cells: list[str | None], type_name: str, parse: Callable[[str], Any], chunk: int
) -> None:
    fs = profile_text(cells, chunk)
    values = present(cells, parse)
    assert fs.type == type_name
    assert fs.unique_count == len(set(values))
    assert fs.sample_values == first_distinct(values, 5)
    assert sum(v.count for v in fs.top_values) == len(values)
    assert {v.value: v.count for v in fs.top_values} == {
        v: sum(1 for w in values if w == v) for v in set(values)
    }
    if fs.is_categorical:
        assert fs.distinct_values is not None
        assert len(fs.distinct_values) == len(set(values))
    if type_name in {"UUID", "Decimal", "float", "date", "datetime"}:
        assert (fs.min, fs.max) == (min(values), max(values))


def test_samples_are_one_per_value_in_input_order() -> None:
    # The same UUID first in five spellings, then four other UUIDs: five values, not five
    # spellings of one.
    others = [uuid.UUID(int=i * 2**120 + 7) for i in range(1, 5)]
    cells = [spellings_of(A, m) for m in (0, 1, 2, 3, 4)] + [str(u).upper() for u in others]
    for chunk in (1, 4, 100):
        fs = profile_text(cells, chunk)
        assert fs.sample_values == [A, *others]
        assert fs.unique_count == 5


def test_samples_of_a_column_that_turns_out_text_are_its_spellings() -> None:
    # UUID-looking so far (one value in two spellings), then a cell that is no UUID: as text
    # the two spellings are two values, in the order they came.
    cells = [str(A).upper(), str(A), "not a uuid", "x", "y", "z"]
    fs = profile_text(cells, chunk=2)
    assert fs.type == "str"
    assert fs.sample_values == cells[:5]
    assert fs.unique_count == 6


def test_samples_past_a_thousand_spellings_of_few_values() -> None:
    # UUIDs in random letter case have 2**32 spellings: sampling stops after 1,000 of them
    # rather than keep them all, and what it has is still one per value.
    lettered = uuid.UUID("abcdefab-cdef-abcd-efab-cdefabcdefab")
    cells = [spellings_of(lettered, m) for m in range(1_500)] + [str(B)]
    assert len(set(cells)) == 1_501
    fs = profile_text(cells, chunk=400)
    assert fs.sample_values == [lettered]
    assert fs.unique_count == 2
    assert (fs.min, fs.max) == (lettered, B)


def test_value_key_merges_only_typed_values() -> None:
    assert value_key("str")("ABC") == "ABC"
    assert value_key("json")('{"a": 1}') == '{"a": 1}'
    assert value_key("UUID")(str(A).upper()) == A
    assert value_key("Decimal")("1.50") == value_key("Decimal")("1.5")


def test_sample_spellings_regroup_when_the_type_changes() -> None:
    s = SampleSpellings(2)
    s.fold(["1", "1.0"], "float")  # one value so far: still open
    assert s.is_open()
    s.fold(["2"], "float")
    assert not s.is_open()
    assert s.values(float, merged=True) == [1.0, 2.0]
    s.fold([], "str")  # as text, '1' and '1.0' are two values
    assert s.values(str, merged=False) == ["1", "1.0"]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(sorted(NULLS - {None})),
            st.tuples(st.sampled_from([A, B, Z, F]), st.integers(0, 2**36 - 1)).map(
                lambda t: spellings_of(*t)
            ),
            st.uuids().map(str),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 70),
)
@settings(max_examples=150, deadline=None)
def test_any_uuid_spellings_any_chunking(cells: list[str], chunk: int) -> None:
    fs = profile_text(cells, chunk)
    values = present(cells, uuid.UUID)
    if not values:
        assert fs.type == "None"
        assert fs.type_counts == {}
        return
    assert fs.type == "UUID"
    assert fs.sample_values == first_distinct(values, 5)
    assert fs.unique_count == len(set(values))
    assert (fs.min, fs.max) == (min(values), max(values))
    assert fs.distinct_values in (None, sorted(set(values)))


# -- datetimes: exact bounds, no bounds where naive meets aware ---------------------------------

_OFFSETS = st.sampled_from(["Z", "+00:00", "+05:30", "-08:00", "+14:00", "-12:00", "+0100"])
_WHEN = st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2500, 12, 31))


@given(st.lists(_WHEN, min_size=1, max_size=30), st.integers(1, 31), st.booleans())
@settings(max_examples=150, deadline=None)
def test_naive_datetime_bounds_are_exact(whens: list[datetime], chunk: int, text: bool) -> None:
    cells = [w.isoformat(sep=" " if w.day % 2 else "T") for w in whens]
    fs = profile_text(cells, chunk) if text else profile_values(whens, chunk)
    assert fs.type == "datetime"
    assert (fs.min, fs.max) == (min(whens), max(whens))
    assert (fs.date_min, fs.date_max) == (fs.min, fs.max)
    assert fs.min is not None
    assert fs.min.tzinfo is None


@given(st.lists(st.tuples(_WHEN, _OFFSETS), min_size=1, max_size=30), st.integers(1, 31))
@settings(max_examples=150, deadline=None)
def test_aware_datetime_bounds_are_exact_instants(
    cells: list[tuple[datetime, str]], chunk: int
) -> None:
    text = [w.isoformat() + off for w, off in cells]
    values = [datetime.fromisoformat(c) for c in text]
    fs = profile_text(text, chunk)
    assert fs.type == "datetime"
    assert (fs.min, fs.max) == (min(values), max(values))
    assert fs.min is not None
    assert fs.max is not None
    assert fs.min.tzinfo is UTC
    assert fs.max.tzinfo is UTC
    assert fs.unique_count == len(set(values))
    assert fs.sample_values == first_distinct(values, 5)


# Bounds a float epoch got wrong by a microsecond, and their neighbours.
EXACT = [
    ["2243-01-01 00:00:00.000001"],
    ["2243-01-01T00:00:00.000001+00:00", "2243-01-01T00:00:00.000003Z"],
    ["2499-12-31T23:59:59.999999", "1800-01-01T00:00:00.000001"],
    ["9999-12-31T23:59:59.999999", "0001-01-01T00:00:00"],
    ["1969-12-31T23:59:59.999999-08:00", "1970-01-01T07:59:59.999999Z"],
]


@pytest.mark.parametrize("cells", EXACT)
def test_found_datetime_bounds(cells: list[str]) -> None:
    values = [datetime.fromisoformat(c) for c in cells]
    fs = profile_text(cells)
    assert (fs.min, fs.max) == (min(values), max(values))
    assert fs.unique_count == len(set(values))


def test_date_bounds_are_dates_and_exact() -> None:
    cells = ["2500-12-31", "1800-01-01", "NULL", "2024-02-29"]
    fs = profile_text(cells)
    assert fs.type == "date"
    assert (fs.min, fs.max) == (date(1800, 1, 1), date(2500, 12, 31))
    # Python dates next to datetimes (a YAML file): a date is its midnight.
    fs = profile_values([date(2300, 1, 1), datetime(2299, 12, 31, 23, 59, 59, 999_999)])
    assert (fs.min, fs.max) == (datetime(2299, 12, 31, 23, 59, 59, 999_999), datetime(2300, 1, 1))


@pytest.mark.parametrize(
    "cells",
    [
        ["2024-03-01T10:00:00+02:00", "2024-03-01T10:00:00"],
        ["2024-03-01", "2024-03-01T08:00:00Z"],
        ["2024-03-01T10:00:00", "NULL", "1900-01-01T00:00:00-05:00", "2500-01-01T00:00:00"],
    ],
)
def test_naive_next_to_aware_has_no_bounds(cells: list[str]) -> None:
    for chunk in (1, 100):
        fs = profile_text(cells, chunk)
        assert fs.type == "datetime"
        assert (fs.min, fs.max, fs.date_min, fs.date_max) == (None, None, None, None)
        assert fs.quantiles is None
        values = present(cells, datetime.fromisoformat)
        assert fs.unique_count == len(set(values))
        assert fs.sample_values == first_distinct(values, 5)
    aware = datetime(2024, 3, 1, 8, tzinfo=UTC)
    fs = profile_values([aware, aware.replace(tzinfo=None)])
    assert (fs.min, fs.max) == (None, None)


def test_json_strings_are_valued_as_their_refined_type() -> None:
    # Python values (a JSON file): ISO strings are datetimes, UUID strings UUIDs, by value.
    east = timezone(timedelta(hours=2))
    fs = profile_values(["2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z", None])
    assert fs.type == "datetime"
    assert fs.sample_values == [datetime(2024, 3, 1, 10, tzinfo=east)]
    assert fs.unique_count == 1
    fs = profile_values([str(B).upper(), str(A), str(B)])
    assert fs.type == "UUID"
    assert (fs.min, fs.max) == (A, B)
    assert fs.sample_values == [B, A]


def test_a_column_of_nulls_has_no_kinds_of_values() -> None:
    for fs in (profile_text(["", "NULL", None]), profile_values([None, None])):
        assert fs.type == "None"
        assert fs.type_counts == {}
        assert fs.null_count == fs.count
        assert (fs.min, fs.max, fs.sample_values, fs.top_values) == (None, None, [], [])


def test_python_values_of_several_kinds_are_not_merged_as_text() -> None:
    # 1 and "1" are two values (Python's == tells them apart); 1 and 1.0 are one.
    fs = profile_values([1, "1", 1.0, "x", 2, "2", "y", None], chunk=2)
    assert fs.sample_values == [1, "1", "x", 2, "2"]
    assert fs.unique_count == 6
    assert value_key("Any")(1) == 1


def test_top_values_of_python_values_past_the_cap_keep_kinds_apart() -> None:
    # More than 1,000 distinct values: the counter caps; 5 and "5" stay two values.
    values: list[Any] = [*range(600), *map(str, range(600)), 5]
    fs = profile_values(values, chunk=500)
    assert (fs.top_values[0].value, fs.top_values[0].count) == (5, 2)
    assert all(v.count == 1 for v in fs.top_values[1:])


def test_top_values_past_the_cap_are_counted_by_value() -> None:
    # 300 UUIDs, each in five spellings: 1,500 spellings but 300 values, counted exactly.
    ids = [uuid.UUID(f"{i * 7919:08x}-abcd-abcd-abcd-abcdabcdabcd") for i in range(300)]
    masks = (0, 1 << 8, 1 << 9, 1 << 10, 1 << 11)  # one of the first "abcd" upper case
    cells = [spellings_of(u, m) for m in masks for u in ids]
    assert len(set(cells)) == 1_500
    cells += [str(ids[7])] * 3
    fs = profile_text(cells, chunk=700)
    assert fs.top_values_exact
    assert (fs.top_values[0].value, fs.top_values[0].count) == (ids[7], 8)
    assert all(v.count == 5 for v in fs.top_values[1:])
    assert fs.unique_count == 300


def test_top_values_regrouped_then_text_are_not_exact() -> None:
    # Regrouped as UUIDs past the cap, then a cell that is no UUID: as text, the merged
    # spellings were other values, so the counts are no longer exact.
    ids = [uuid.UUID(f"{i * 7919:08x}-abcd-abcd-abcd-abcdabcdabcd") for i in range(300)]
    cells = [spellings_of(u, m) for m in (0, 1 << 8, 1 << 9, 1 << 10, 1 << 11) for u in ids]
    fs = profile_text([*cells, "not a uuid"], chunk=700)
    assert fs.type == "str"
    assert not fs.top_values_exact
    assert fs.unique_count == 1_501


# Decimals one double cannot tell apart (more than 15 significant digits).
WIDE = [
    ["90071992547409931.2", "90071992547409931.1", "90071992547409931.3"],
    ["-90071992547409931.25", "-90071992547409931.5", "1", "-90071992547409931.4"],
    ["12345678901234567890", "12345678901234567891", "12345678901234567889.5"],
]


@pytest.mark.parametrize("cells", WIDE)
@pytest.mark.parametrize("chunk", [1, 2, 100])
def test_decimal_bounds_past_double_precision(cells: list[str], chunk: int) -> None:
    fs = profile_text(cells, chunk)
    values = [Decimal(c) for c in cells]
    assert fs.type == "Decimal"
    assert (fs.min, fs.max) == (min(values), max(values))
    fs = profile_values(values, chunk)
    assert (fs.min, fs.max) == (min(values), max(values))


@given(
    st.lists(
        st.decimals(min_value=-(10**18), max_value=10**18, places=2, allow_nan=False),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 41),
)
@settings(max_examples=150, deadline=None)
def test_any_decimals_bounds_are_exact(values: list[Decimal], chunk: int) -> None:
    cells = [f"{v:.2f}" for v in values]
    fs = profile_text(cells, chunk)
    assert fs.min == min(values)
    assert fs.max == max(values)
    assert fs.unique_count == len(set(values))


def test_top_values_of_random_case_uuids_over_many_chunks() -> None:
    # 150 UUIDs in random letter case over 60,000 cells: thousands of new spellings in every
    # chunk, 150 values, top values exact and counted by value.
    r = random.Random(3)
    ids = [uuid.UUID(int=r.getrandbits(128)) for _ in range(150)]
    picks = [r.choice(ids) for _ in range(60_000)]
    cells = [spellings_of(u, r.getrandbits(32)) for u in picks]
    assert len(set(cells)) > 40_000
    fs = profile_text(cells, chunk=20_000)
    counts = Counter(picks)
    assert fs.top_values_exact
    assert {v.value: v.count for v in fs.top_values} == {
        v.value: counts[v.value] for v in fs.top_values
    }
    assert [v.count for v in fs.top_values] == sorted(counts.values(), reverse=True)[:10]
    assert fs.unique_count == 150
    assert fs.is_categorical is False or fs.distinct_values == sorted(counts)
    assert fs.sample_values == first_distinct(picks, 5)


@pytest.mark.parametrize("then_text", [False, True])
def test_distinct_counts_past_the_limit_in_spellings(then_text: bool) -> None:
    # 40 UUIDs in 2,000 spellings, past an exact limit of 500 spellings: counted exactly by
    # value; a cell that is no UUID afterwards makes the count of values no exact count of
    # the text (its spellings were merged).
    r = random.Random(8)
    ids = [uuid.UUID(int=r.getrandbits(128)) for _ in range(40)]
    cells = [spellings_of(ids[i % 40], r.getrandbits(32)) for i in range(2_000)]
    cells += ["not a uuid"] if then_text else []
    fs = profile_text(cells, chunk=300, exact_distinct_limit=500)
    if then_text:
        assert fs.type == "str"
        assert not fs.unique_exact
        assert not fs.top_values_exact
    else:
        assert fs.type == "UUID"
        assert (fs.unique_count, fs.unique_exact) == (40, True)
        assert fs.is_categorical
        assert fs.distinct_values == sorted(ids)
