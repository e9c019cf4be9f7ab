"""Datetime columns with and without UTC offsets: the columnar engine (DuckDB) answers as the
streaming pass does.

A naive value is no instant (its time zone is unknown), so a column mixing naive and aware values
has no order: both paths keep naive values naive and aware ones with their offset (top, distinct
and sample values), count ``2024-03-01T10:00+02:00`` and ``2024-03-01T08:00Z`` as one value, and
report no minimum, maximum, quantiles or histogram. An all-aware column is ordered by instant, and
its bounds, quantiles and histogram come back in ``datetime.UTC`` on both paths (the engine's top,
distinct and sample values too). Bounds are exact to the microsecond on both paths (also past
2100); quantiles and histogram edges go through epoch seconds in a float, hence "close".

Files are hostile: offsets ``Z``, ``+05:30``, ``+0530``, ``-08:00``, ``+14:00``, naive values with
``T`` and with a space, date-only cells, years before 1970 and beyond 2038, fractional seconds,
null tokens, empty cells and padded cells; columns that turn mixed after the 20,000 rows the
engine types from; JSON Lines strings. The oracle is Python's own ``datetime.fromisoformat`` (and
numpy for quantiles); a hypothesis property compares both paths on generated columns, and the
cases it found are kept in ``FOUND``.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from file_profiles import assert_fields_agree, inspect_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinspector import FieldStatistics, ProfileOptions

NULLS = {"", "NULL", "N/A", "null", "None"}
SAME = [
    "type",
    "format",
    "count",
    "null_count",
    "unique_count",
    "unique_exact",
    "type_counts",
    "min_length",
    "max_length",
    "is_categorical",
    "cardinality",
    "distinct_values",
    "quantiles_exact",
]
OFFSETS = ["Z", "+05:30", "+0530", "-08:00", "+00:00", "+14:00", "-12:00", "+02:00"]


def spelled(when: datetime, r: random.Random, *, offset: str | None) -> str:
    """One ISO spelling of ``when`` (naive) with ``offset`` (or none): either separator,
    whole or fractional seconds, or no seconds at all."""
    sep = r.choice(["T", " "])
    if when.microsecond:
        clock = when.strftime("%H:%M:%S.%f")[: r.choice([12, 14, 15])]  # 3, 5 or 6 digits
        when = datetime.fromisoformat(f"{when.date()}T{clock}")
    else:
        clock = r.choice([when.strftime("%H:%M:%S"), when.strftime("%H:%M")])
        when = when.replace(second=0) if len(clock) == 5 else when
    return f"{when.date().isoformat()}{sep}{clock}{offset or ''}"


def instants(r: random.Random, n: int) -> list[datetime]:
    """Naive datetimes across eras: before 1970, around now, beyond 2038, fractional seconds."""
    eras = [(1901, 1969), (1970, 2037), (2038, 2200)]
    out = []
    for _ in range(n):
        lo, hi = r.choice(eras)
        when = datetime(r.randint(lo, hi), r.randint(1, 12), r.randint(1, 28))
        when += timedelta(seconds=r.randrange(86_400))
        if r.random() < 0.3:
            when = when.replace(microsecond=r.randrange(1, 1_000_000))
        out.append(when)
    return out


def hostile_csv(path: Path, rows: int = 3_000, seed: int = 3) -> Path:
    """Columns: mixed (naive and aware), aware (every offset), naive, dates_and_aware (date-only
    cells next to aware datetimes), padded (whitespace: text on both paths), few (a handful of
    values, mixed: categorical)."""
    r = random.Random(seed)
    # Repeated values, so that top values and merged spellings matter (and fewer than the
    # 1,000 spellings past which the streaming pass counts top values approximately).
    pool = instants(r, 20)
    few = ["2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z", "2024-03-01T10:00:00", "N/A"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["mixed", "aware", "naive", "dates_and_aware", "padded", "few"])
        for i in range(rows):
            when = r.choice(pool)
            null = r.choice(sorted(NULLS)) if i % 13 == 0 else None
            w.writerow(
                [
                    null or spelled(when, r, offset=r.choice([None, None, *OFFSETS])),
                    null or spelled(when, r, offset=r.choice(OFFSETS)),
                    null or spelled(when, r, offset=None),
                    null
                    or (
                        when.date().isoformat()
                        if i % 3
                        else spelled(when, r, offset=r.choice(OFFSETS))
                    ),
                    r.choice([" ", ""]) + spelled(when, r, offset=r.choice([None, "Z"])) + " ",
                    r.choice(few),
                ]
            )
    return path


def parsed(path: Path, name: str) -> list[datetime]:
    """The oracle's values of column ``name``: every present cell through ``fromisoformat``."""
    with path.open(encoding="utf-8") as fh:
        if path.suffix == ".csv":
            cells = [row[name] for row in csv.DictReader(fh)]
        else:
            cells = [json.loads(line).get(name) for line in fh]
    return [datetime.fromisoformat(c) for c in cells if c is not None and c not in NULLS]


def spelled_alike(a: Any, b: Any) -> bool:
    """Equal, and written alike: both naive, or both with the same offset."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return bool(a == b)


def close(a: Any, b: Any) -> bool:
    """Equal quantiles and histogram edges up to the rounding of epoch seconds in a float."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return (a.tzinfo is None) == (b.tzinfo is None) and abs((a - b).total_seconds()) < 1e-3
    return bool(a == b)


def same(s: FieldStatistics, e: FieldStatistics, *, mixed: bool) -> None:
    """The statistics of one column agree; a mixed column's values also keep their spelling
    (naive or aware, and which offset) and its samples are the same."""
    assert_fields_agree(s, e, SAME)
    # Bounds are exact, and both naive or both aware (a naive and an aware value are never ==).
    for key in ("min", "max", "date_min", "date_max"):
        assert spelled_alike(getattr(s, key), getattr(e, key)), f"{s.name}.{key}"
    for key in ("mean", "stddev"):  # (the other columns' sums: float rounding)
        a, b = getattr(s, key), getattr(e, key)
        assert (a is None) == (b is None), f"{s.name}.{key}"
        assert a is None or a == pytest.approx(b, rel=1e-12), f"{s.name}.{key}"
    assert (s.quantiles is None) == (e.quantiles is None), s.name
    if s.quantiles is not None and e.quantiles is not None:
        assert s.quantiles.keys() == e.quantiles.keys()
        assert all(close(s.quantiles[k], e.quantiles[k]) for k in s.quantiles), s.name
    assert (s.histogram is None) == (e.histogram is None), s.name
    if s.histogram is not None and e.histogram is not None:
        assert [b.count for b in s.histogram] == [b.count for b in e.histogram], s.name
        assert all(
            close(a.lower, b.lower) and close(a.upper, b.upper)
            for a, b in zip(s.histogram, e.histogram, strict=True)
        ), s.name
    # Top values: past 1,000 spellings the streaming pass counts them approximately.
    counts = [v.count for v in s.top_values]
    exact = s.top_values_exact and e.top_values_exact
    assert counts == [v.count for v in e.top_values] or not exact, s.name
    if counts and exact:
        cut = counts[-1]
        above = {v.value: v.count for v in s.top_values if v.count > cut}
        assert above == {v.value: v.count for v in e.top_values if v.count > cut}, s.name
    if mixed and exact:
        assert all(
            spelled_alike(a.value, b.value) for a, b in zip(s.top_values, e.top_values, strict=True)
        ), s.name
        assert len(s.sample_values) == len(e.sample_values), s.name
        assert all(
            spelled_alike(a, b) for a, b in zip(s.sample_values, e.sample_values, strict=True)
        ), s.name
    if mixed:  # naive and aware values do not compare: no bounds
        assert (s.min, s.max, s.date_min, s.date_max) == (None, None, None, None), s.name


def compare(path: Path, options: ProfileOptions | None = None) -> tuple[Any, Any]:
    streamed, engine = inspect_file(path, False, options), inspect_file(path, True, options)
    assert streamed.total_count == engine.total_count
    assert list(streamed.field_statistics) == list(engine.field_statistics)
    for name, s in streamed.field_statistics.items():
        mixed = s.type == "datetime" and naive_and_aware(parsed(path, name))
        same(s, engine.field_statistics[name], mixed=mixed)
    return streamed, engine


def naive_and_aware(values: list[datetime]) -> bool:
    return len({v.tzinfo is None for v in values}) == 2


def tzinfos(fs: FieldStatistics, *, all_values: bool) -> set[Any]:
    """The tzinfo of every aware datetime ``fs`` reports (bounds, quantiles, histogram; with
    ``all_values`` also top, distinct and sample values)."""
    found: list[Any] = [fs.min, fs.max, fs.date_min, fs.date_max]
    found += list((fs.quantiles or {}).values())
    found += [x for b in fs.histogram or [] for x in (b.lower, b.upper)]
    if all_values:
        found += [v.value for v in fs.top_values] + list(fs.distinct_values or [])
        found += list(fs.sample_values)
    return {v.tzinfo for v in found if isinstance(v, datetime) and v.tzinfo is not None}


def test_hostile_csv_engine_equals_streaming(tmp_path: Path) -> None:
    path = hostile_csv(tmp_path / "zones.csv")
    _, engine = compare(path)
    types = {n: f.type for n, f in engine.field_statistics.items()}
    assert types == {
        "mixed": "datetime",
        "aware": "datetime",
        "naive": "datetime",
        "dates_and_aware": "datetime",
        "padded": "str",
        "few": "datetime",
    }
    for name in ("mixed", "dates_and_aware", "few"):
        e = engine.field_statistics[name]
        values = parsed(path, name)
        assert naive_and_aware(values), name
        assert e.top_values_exact, name
        # The oracle: one value per instant (aware) or wall-clock time (naive), never merged
        # across the two kinds; no order, hence no quantiles or histogram.
        assert e.unique_count == len(set(values)), name
        assert e.null_count == e.count - len(values), name
        oracle = Counter(values)
        assert all(v.count == oracle[v.value] for v in e.top_values), name
        assert e.quantiles is None, name
        assert e.histogram is None, name
        assert (e.min, e.max, e.date_min, e.date_max) == (None, None, None, None), name
    few = engine.field_statistics["few"]
    assert few.is_categorical
    assert few.unique_count == 2  # 10:00+02:00 is 08:00Z; the naive 10:00 is another value
    # An all-aware column is ordered by instant: bounds and quantiles against the oracle.
    aware = engine.field_statistics["aware"]
    values = parsed(path, "aware")
    assert (aware.min, aware.max) == (min(values), max(values))
    epoch = np.array([v.timestamp() for v in values])
    assert aware.quantiles is not None
    got = [v.timestamp() for v in aware.quantiles.values()]
    assert got == pytest.approx(
        np.quantile(epoch, [0.05, 0.25, 0.5, 0.75, 0.95]).tolist(), abs=1e-3
    )


def test_large_file_read_as_a_view(tmp_path: Path) -> None:
    """Past ``engine_materialize_bytes`` the engine profiles a view of the file, read again by
    each query, instead of a table: the same answers."""
    path = hostile_csv(tmp_path / "zones.csv", rows=1_000, seed=4)
    _, engine = compare(path, ProfileOptions(engine_materialize_bytes=0))
    assert engine.field_statistics["mixed"].quantiles is None
    assert tzinfos(engine.field_statistics["aware"], all_values=True) == {UTC}


def test_aware_values_come_back_in_one_tzinfo(tmp_path: Path) -> None:
    """DuckDB hands aware values back in ``ZoneInfo('UTC')``; the streaming pass reports the
    bounds and quantiles of an aware column in ``datetime.UTC``: the engine reports every aware
    value in that one kind. (The streaming pass's top and sample values keep the offset the file
    first writes each instant with.)"""
    path = hostile_csv(tmp_path / "zones.csv", rows=800, seed=8)
    streamed, engine = inspect_file(path, False), inspect_file(path, True)
    s, e = streamed.field_statistics["aware"], engine.field_statistics["aware"]
    assert tzinfos(s, all_values=False) == {UTC}
    assert tzinfos(e, all_values=True) == {UTC}
    # (every kind of value was looked at)
    assert all([e.top_values, e.sample_values, e.quantiles, e.histogram])


def test_jsonl_strings_engine_equals_streaming(tmp_path: Path) -> None:
    """JSON Lines: ISO strings are datetimes on both paths; a missing key next to null."""
    r = random.Random(17)
    pool = instants(r, 40)
    path = tmp_path / "zones.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(1_500):
            when = r.choice(pool)
            record: dict[str, Any] = {
                "mixed": spelled(when, r, offset=r.choice([None, *OFFSETS])),
                "aware": spelled(when, r, offset=r.choice(OFFSETS)),
                "n": i,
            }
            if i % 11 == 0:
                record["mixed"] = None
            if i % 7 == 0:
                del record["aware"]
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    _, engine = compare(path)
    mixed = engine.field_statistics["mixed"]
    assert mixed.type == "datetime"
    assert naive_and_aware(parsed(path, "mixed"))
    assert mixed.unique_count == len(set(parsed(path, "mixed")))
    assert mixed.quantiles is None
    assert tzinfos(engine.field_statistics["aware"], all_values=True) == {UTC}


@pytest.mark.parametrize("first", ["naive", "aware"])
def test_column_mixed_after_the_first_rows(tmp_path: Path, first: str) -> None:
    """The engine types from the first 20,000 rows and casts them as these suggest: a column
    whose other kind of value comes later is found mixed over every row, and the other columns
    still come from the typed table."""
    r = random.Random(5)
    path = tmp_path / f"late_{first}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["when", "n", "steady"])
        for i, when in enumerate(instants(r, 22_000)):
            late = i >= 21_000 and i % 2
            aware = (first == "aware") != bool(late)
            w.writerow([spelled(when, r, offset="-08:00" if aware else None), i, str(i % 9)])
    _, engine = compare(path)
    when = engine.field_statistics["when"]
    assert naive_and_aware(parsed(path, "when"))
    assert when.quantiles is None
    assert when.histogram is None
    assert when.unique_count == len(set(parsed(path, "when")))
    assert engine.field_statistics["n"].max == 21_999
    assert engine.field_statistics["steady"].quantiles is not None


def write_column(path: Path, cells: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["t", "k"])
        w.writerows([c, str(i % 3)] for i, c in enumerate(cells))
    return path


# Columns hypothesis found where a difference could hide (kept as a fixed table): one naive
# value among aware ones, the same instant in two offsets next to its naive wall-clock time,
# a date-only cell among aware datetimes, a value with minutes only, a single aware value.
FOUND = [
    ["2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z", "2024-03-01T10:00:00"],
    ["1969-12-31T23:59:59.999999-08:00", "1970-01-01", "NULL", ""],
    ["2100-01-01 00:00+14:00", "2099-12-31T10:00:00Z", "2099-12-31 10:00"],
    ["2038-01-19T03:14:08+0530", "2038-01-19T03:14:08+05:30", "2038-01-19T03:14:08"],
    ["1901-12-13T20:45:52Z"],
    ["1950-06-01T00:00:00.5", "N/A", "1950-06-01T00:00:00.500-00:00"],
    ["2243-01-01 00:00:00.000001"],  # a float epoch gave ...00.000002
    ["2243-01-01 00:00:00.000001+00:00", "2243-01-01 00:00:00.000003Z"],
    ["2499-12-31T23:59:59.999999", "1800-01-01T00:00:00.000001"],
]


@pytest.mark.parametrize("cells", FOUND)
def test_found_columns_engine_equals_streaming(tmp_path: Path, cells: list[str]) -> None:
    path = write_column(tmp_path / "found.csv", cells)
    streamed, _ = compare(path)
    # The bounds against the oracle, to the microsecond (none where naive meets aware).
    values = parsed(path, "t")
    fs = streamed.field_statistics["t"]
    if fs.type == "datetime" and values and not naive_and_aware(values):
        assert (fs.min, fs.max) == (min(values), max(values))


_CELL = st.one_of(
    st.sampled_from(sorted(NULLS)),
    st.tuples(
        st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2500, 1, 1)),
        st.sampled_from([None, None, *OFFSETS]),
        st.sampled_from(["T", " "]),
        st.booleans(),
    ).map(
        lambda t: t[0].isoformat(sep=t[2], timespec="auto" if t[3] else "seconds") + (t[1] or "")
    ),
    st.dates(min_value=datetime(1800, 1, 1).date(), max_value=datetime(2500, 1, 1).date()).map(str),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cells=st.lists(_CELL, min_size=1, max_size=40), kind=st.sampled_from(["csv", "jsonl"]))
def test_random_datetime_columns_engine_equals_streaming(
    tmp_path: Path, cells: list[str], kind: str
) -> None:
    """Any mix of naive, aware (any offset), date-only and null cells, in a CSV or as JSON
    strings (null tokens as JSON nulls): the same statistics on both paths."""
    path = tmp_path / f"random_{uuid.uuid4().hex[:8]}.{kind}"
    if kind == "csv":
        compare(write_column(path, cells))
        return
    values = [None if c in NULLS else c for c in cells]
    path.write_text(
        "".join(json.dumps({"t": v, "k": i % 3}) + "\n" for i, v in enumerate(values)),
        encoding="utf-8",
    )
    compare(path)
