"""UUID columns of CSV and JSON Lines files: the engine keeps them as lowercase text (cheaper than
DuckDB's UUID cast) and must report what the streaming pass reports: one value per UUID whatever
its letters' case, the same counts, distinct values in the same order, UUID objects out, and the
minimum and maximum as Python orders UUIDs (by their 128-bit value; the oracle is ``min()`` and
``max()`` of ``uuid.UUID``), whatever the case of their letters ("B0..." is above "a0...", though
it sorts below it as text).
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from file_profiles import assert_fields_agree, inspect_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SAME = [
    "type",
    "count",
    "null_count",
    "unique_count",
    "unique_exact",
    "is_categorical",
    "distinct_values",
    "cardinality",
    "sample_values",
]


def spell(u: uuid.UUID, r: random.Random) -> str:
    text = str(u)
    return r.choice([text, text.upper(), "".join(r.choice((c, c.upper())) for c in text)])


def uuids(r: random.Random, n: int) -> list[uuid.UUID]:
    # Edge values next to random ones: all zeros, all ones, letters only, digits only.
    edges = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID("a" * 32), uuid.UUID("9" * 32)]
    return edges + [uuid.UUID(int=r.getrandbits(128)) for _ in range(n - len(edges))]


def column_uuids(path: Path, name: str) -> list[uuid.UUID]:
    """The oracle's values: every UUID of column ``name`` (null tokens and nulls left out)."""
    with path.open(encoding="utf-8") as fh:
        if path.suffix == ".csv":
            cells = [row[name] for row in csv.DictReader(fh)]
        else:
            cells = [json.loads(line).get(name) for line in fh]
    return [uuid.UUID(c) for c in cells if c and c not in {"NULL", "n/a", "None"}]


def compare(path: Path, columns: list[str]) -> dict[str, Any]:
    streamed, engine = inspect_file(path, False), inspect_file(path, True)
    assert streamed.total_count == engine.total_count
    for name in columns:
        s, e = streamed.field_statistics[name], engine.field_statistics[name]
        assert_fields_agree(s, e, SAME)
        values = column_uuids(path, name)
        assert (e.min, e.max) == (min(values), max(values)), name
        assert isinstance(e.min, uuid.UUID), name
        assert isinstance(e.max, uuid.UUID), name
        assert (s.min, s.max) == (e.min, e.max), name
        assert isinstance(s.min, uuid.UUID), name
        assert all(isinstance(v, uuid.UUID) for v in e.sample_values), name
        assert all(isinstance(v.value, uuid.UUID) for v in e.top_values), name
        # Top values: the same counts, and the same values above the last count (ties at
        # the cut may be broken either way).
        assert [v.count for v in s.top_values] == [v.count for v in e.top_values], name
        if s.top_values:
            cut = s.top_values[-1].count
            above = {v.value: v.count for v in s.top_values if v.count > cut}
            assert above == {v.value: v.count for v in e.top_values if v.count > cut}, name
    return {n: engine.field_statistics[n] for n in columns}


@pytest.mark.parametrize("distinct", [1, 30, 150])
def test_csv_uuid_columns_engine_equals_streaming(tmp_path: Path, distinct: int) -> None:
    r = random.Random(distinct)
    pool = uuids(r, max(distinct, 4))[:distinct]
    rows = 2_000
    path = tmp_path / "ids.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["u", "with_nulls", "label"])
        for i in range(rows):
            u = pool[i % distinct] if i < distinct else r.choice(pool)
            nullish = r.choice(["", "NULL", "n/a", "None"]) if i % 11 == 0 else spell(u, r)
            w.writerow([spell(u, r), nullish, f"réf {i % 7}"])
    got = compare(path, ["u", "with_nulls"])
    assert got["u"].type == "UUID"
    assert got["u"].unique_count == distinct
    counts = Counter(uuid.UUID(row["u"]) for row in csv.DictReader(path.open(encoding="utf-8")))
    assert {v.value: v.count for v in got["u"].top_values} == {
        v.value: counts[v.value] for v in got["u"].top_values
    }
    if distinct <= 100:
        assert got["u"].distinct_values == sorted(counts)


def test_csv_column_that_only_looks_like_uuids_stays_text(tmp_path: Path) -> None:
    # Forms DuckDB's UUID cast takes but the pattern refuses: braces, no hyphens.
    path = tmp_path / "almost.csv"
    r = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["u"])
        for i, u in enumerate(uuids(r, 25_000)):
            late = i == 24_000
            w.writerow(["{" + str(u) + "}" if late else str(u)])
    streamed, engine = inspect_file(path, False), inspect_file(path, True)
    s, e = streamed.field_statistics["u"], engine.field_statistics["u"]
    assert s.type == e.type == "str"
    assert s.unique_count == e.unique_count == 25_000
    assert s.sample_values == e.sample_values
    # (the streaming pass keeps no lengths of a column that turned text late; the engine does)
    assert (e.min_length, e.max_length) == (36, 38)


def test_jsonl_uuid_strings_engine_equals_streaming(tmp_path: Path) -> None:
    r = random.Random(11)
    pool = uuids(r, 40)
    path = tmp_path / "ids.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(1_500):
            u = r.choice(pool)
            record: dict[str, Any] = {"u": spell(u, r), "n": i}
            if i % 13 == 0:
                record["maybe"] = None
            elif i % 5:
                record["maybe"] = str(u)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    got = compare(path, ["u", "maybe"])
    assert got["u"].type == got["maybe"].type == "UUID"


def write_column(path: Path, cells: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["u"])
        w.writerows([c] for c in cells)
    return path


# Bounds where text and value orders part: letters against digits, upper against lower case,
# the extremes of 128 bits; each row: the column's cells, then the expected (min, max).
BOUNDS = [
    (
        ["a0000000-0000-0000-0000-0000000000ff", "B0000000-0000-0000-0000-000000000000"],
        ("a0", "b0"),
    ),
    (
        ["ffffffff-ffff-ffff-ffff-ffffffffffff", "00000000-0000-0000-0000-000000000000"],
        ("00", "ff"),
    ),
    (
        ["9fffffff-ffff-ffff-ffff-ffffffffffff", "a0000000-0000-0000-0000-000000000000"],
        ("9f", "a0"),
    ),
    (
        ["E0000000-0000-0000-0000-000000000000", "f0000000-0000-0000-0000-000000000000"],
        ("e0", "f0"),
    ),
    (
        ["F0000000-0000-0000-0000-000000000000", "e0000000-0000-0000-0000-000000000001"],
        ("e0", "f0"),
    ),
    (
        [
            "12345678-90ab-cdef-1234-567890ABCDEF",
            "",
            "NULL",
            "12345678-90AB-CDEF-1234-567890abcdef",
        ],
        ("12", "12"),
    ),
]


@pytest.mark.parametrize(("cells", "expected"), BOUNDS)
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "streaming"])
def test_uuid_bounds_are_the_128_bit_order(
    tmp_path: Path, cells: list[str], expected: tuple[str, str], engine: bool
) -> None:
    path = write_column(tmp_path / "bounds.csv", cells)
    got = inspect_file(path, engine).field_statistics["u"]
    values = column_uuids(path, "u")
    assert got.type == "UUID"
    assert (got.min, got.max) == (min(values), max(values))
    assert (got.min.hex[:2], got.max.hex[:2]) == expected


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_single_case_uuid_bounds_engine_equals_streaming(
    tmp_path: Path, case: Callable[[str], str]
) -> None:
    r = random.Random(23)
    pool = uuids(r, 300)
    cells = [
        case(str(u)) if (i + 1) % 17 else r.choice(["", "NULL", "n/a"]) for i, u in enumerate(pool)
    ]
    path = write_column(tmp_path / "single.csv", cells)
    got = compare(path, ["u"])
    assert got["u"].min == uuid.UUID(int=0)
    assert got["u"].max == uuid.UUID(int=2**128 - 1)


@given(
    st.lists(
        st.tuples(st.uuids(), st.sampled_from(["lower", "upper", "mixed", "null"])),
        min_size=1,
        max_size=30,
    )
)
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_uuid_bounds(tmp_path: Path, cells: list[tuple[uuid.UUID, str]]) -> None:
    """Any UUIDs in any case, nulls between them: both paths' bounds are the oracle's."""
    r = random.Random(len(cells))
    text = [
        "NULL" if how == "null" else spell(u, r) if how == "mixed" else getattr(str(u), how)()
        for u, how in cells
    ]
    path = write_column(tmp_path / f"random_{uuid.uuid4().hex[:8]}.csv", text)
    values = column_uuids(path, "u")
    for engine in (True, False):
        got = inspect_file(path, engine).field_statistics["u"]
        if not values:
            assert (got.min, got.max) == (None, None)
            continue
        assert (got.min, got.max) == (min(values), max(values)), engine
