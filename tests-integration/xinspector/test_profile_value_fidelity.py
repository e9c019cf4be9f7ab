"""A column's values are its values, not their spellings: the streaming pass and the columnar
engine (DuckDB) report the same statistics, and those of the values as Python compares them.

Spellings of one value: UUIDs in any letter case, decimals with trailing zeros, floats with and
without exponents, booleans as ``true``/``TRUE``/``yes``, one instant at several UTC offsets,
dates. Every result that counts or lists values (sample, top and distinct values, distinct
counts, categorical values) counts each value once; the bounds are the smallest and largest
value (UUIDs by their 128 bits, aware datetimes by instant, exact to the microsecond past 2100,
decimals exact past the 15 digits of a double); a column mixing naive and aware datetimes has
none; a column of nulls only is typed ``None`` with no ``type_counts`` on both paths, in CSV and
JSON Lines files.

The oracle is Python: ``uuid.UUID``, ``Decimal``, ``float``, ``datetime.fromisoformat`` and
their ``==``, ``min`` and ``max``. A hypothesis property compares both paths with the oracle on
generated columns; the columns it found are kept in ``FOUND``.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from file_profiles import assert_fields_agree, inspect_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinspector import FieldStatistics

NULLS = {"", "NULL", "N/A", "null", "None"}
SAME = [
    "type",
    "count",
    "null_count",
    "unique_count",
    "unique_exact",
    "type_counts",
    "is_categorical",
    "cardinality",
    "distinct_values",
    "sample_values",
    "min",
    "max",
    "date_min",
    "date_max",
]


def to_bool(v: str) -> bool:
    return v.lower() in {"true", "yes", "t", "y"}


PARSE: dict[str, Callable[[str], Any]] = {
    "UUID": uuid.UUID,
    "Decimal": Decimal,
    "float": float,
    "bool": to_bool,
    "datetime": datetime.fromisoformat,
    "date": lambda v: datetime.fromisoformat(v).date(),
}


def cells_of(path: Path, name: str) -> list[Any]:
    with path.open(encoding="utf-8") as fh:
        if path.suffix == ".csv":
            return [row[name] for row in csv.DictReader(fh)]
        return [json.loads(line).get(name) for line in fh]


def oracle(path: Path, name: str, type_name: str) -> list[Any]:
    """Every present value of column ``name`` as Python reads it."""
    return [PARSE[type_name](c) for c in cells_of(path, name) if c is not None and c not in NULLS]


def first_distinct(values: list[Any], n: int = 5) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out[:n]


def check(path: Path, name: str, type_name: str) -> tuple[FieldStatistics, FieldStatistics]:
    """Both paths agree with each other and with the oracle on column ``name``."""
    s = inspect_file(path, False).field_statistics[name]
    e = inspect_file(path, True).field_statistics[name]
    assert_fields_agree(s, e, SAME)
    values = oracle(path, name, type_name)
    counts = Counter(values)
    for fs in (s, e):
        assert fs.type == type_name, name
        assert fs.unique_count == len(counts), name
        assert fs.sample_values == first_distinct(values), name
        assert {v.value: v.count for v in fs.top_values} == {
            v.value: counts[v.value] for v in fs.top_values
        }, name
        assert len({v.value for v in fs.top_values}) == len(fs.top_values), name
        if fs.is_categorical:
            assert fs.distinct_values is not None
            assert sorted(fs.distinct_values) == sorted(counts), name
        if type_name != "bool":
            assert (fs.min, fs.max) == (min(values), max(values)), name
    return s, e


def spell_uuid(u: uuid.UUID, r: random.Random) -> str:
    text = str(u)
    return r.choice([text, text.upper(), "".join(r.choice((c, c.upper())) for c in text)])


def spell_decimal(d: Decimal, r: random.Random) -> str:
    return f"{d:.{r.randint(2, 4)}f}"


def spell_float(x: float, r: random.Random) -> str:
    return r.choice([repr(x), f"{x:e}", f"{x:E}"])


def spell_bool(b: bool, r: random.Random) -> str:
    return r.choice(["true", "TRUE", "True", "yes", "Y"] if b else ["false", "FALSE", "no", "N"])


def spell_instant(when: datetime, r: random.Random) -> str:
    """``when`` (aware, UTC) at some offset: the same instant, another spelling."""
    hours = r.choice([0, 2, -8, 14, -12, 5.5])
    local = when.astimezone(timezone(timedelta(hours=hours)))
    text = local.isoformat(sep=r.choice(["T", " "]))
    return text.replace("+00:00", "Z") if r.random() < 0.5 else text


def hostile_csv(path: Path, rows: int = 2_000, distinct: int = 30, seed: int = 1) -> Path:
    """Columns of few values in many spellings (categorical) and of more values (not):
    every value first appears in the first rows (the engine's samples come from there)."""
    r = random.Random(seed)
    ids = [uuid.UUID(int=r.getrandbits(128)) for _ in range(distinct)]
    decs = [Decimal(r.randint(-10_000, 10_000)) / 100 for _ in range(distinct)]
    floats = [r.uniform(-1e6, 1e6) for _ in range(distinct)]
    whens = [
        datetime(r.randint(1901, 2400), r.randint(1, 12), r.randint(1, 28), tzinfo=UTC).replace(
            hour=r.randrange(24), microsecond=r.randrange(1_000_000)
        )
        for _ in range(distinct)
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["u", "d", "f", "b", "t", "empty"])
        for i in range(rows):
            k = i % distinct if i < 2 * distinct else r.randrange(distinct)
            null = r.choice(sorted(NULLS)) if i % 17 == 5 else None
            w.writerow(
                [
                    null or spell_uuid(ids[k], r),
                    null or spell_decimal(decs[k], r),
                    null or spell_float(floats[k], r),
                    null or spell_bool(k % 2 == 0, r),
                    null or spell_instant(whens[k], r),
                    r.choice(sorted(NULLS)),
                ]
            )
    return path


@pytest.mark.parametrize(("distinct", "seed"), [(3, 1), (30, 2), (150, 3)])
def test_hostile_csv_is_profiled_by_value(tmp_path: Path, distinct: int, seed: int) -> None:
    path = hostile_csv(tmp_path / "spellings.csv", distinct=distinct, seed=seed)
    for name, type_name in [
        ("u", "UUID"),
        ("d", "Decimal"),
        ("f", "float"),
        ("b", "bool"),
        ("t", "datetime"),
    ]:
        s, _ = check(path, name, type_name)
        assert s.top_values_exact
    if distinct <= 100:  # few values: categorical on both paths
        assert inspect_file(path, False).field_statistics["u"].is_categorical


def test_hostile_jsonl_is_profiled_by_value(tmp_path: Path) -> None:
    """JSON strings that are UUIDs or ISO datetimes are those values, by value."""
    r = random.Random(9)
    ids = [uuid.UUID(int=r.getrandbits(128)) for _ in range(12)]
    whens = [datetime(2200 + i, 1, 1, 0, 0, 0, 1 + i, tzinfo=UTC) for i in range(12)]
    path = tmp_path / "spellings.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(600):
            k = i % 12 if i < 24 else r.randrange(12)
            record: dict[str, Any] = {"u": spell_uuid(ids[k], r), "t": spell_instant(whens[k], r)}
            if i % 9 == 0:
                record["u"] = None
            if i % 7 != 3:
                record["nothing"] = None
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    check(path, "u", "UUID")
    check(path, "t", "datetime")
    for engine in (False, True):
        fs = inspect_file(path, engine).field_statistics["nothing"]
        assert (fs.type, fs.type_counts, fs.null_count) == ("None", {}, 600), engine


def write_column(path: Path, cells: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["c", "k"])
        w.writerows([c, str(i % 3)] for i, c in enumerate(cells))
    return path


# Columns where spellings and values part (each with its type), kept as a fixed table.
FOUND: list[tuple[list[str], str]] = [
    (["a0000000-0000-0000-0000-0000000000ff", "B0000000-0000-0000-0000-000000000000"], "UUID"),
    (
        [
            "abcdef00-0000-0000-0000-000000000000",
            "ABCDEF00-0000-0000-0000-000000000000",
            "Abcdef00-0000-0000-0000-000000000000",
            "NULL",
            "00000000-0000-0000-0000-00000000000a",
        ],
        "UUID",
    ),
    (["1.5", "1.50", "1.500", "", "2.25", "-0.10", "-0.1"], "Decimal"),
    (["90071992547409931.2", "90071992547409931.1", "90071992547409931.10", "-1.5"], "Decimal"),
    (["90071992547409931.2", "90071992547409931.1", "90071992547409931.3"], "Decimal"),
    (["1e3", "1000.0", "1E3", "2.5e-1", "0.25"], "float"),
    (["true", "TRUE", "True", "yes", "no", "N/A", "FALSE"], "bool"),
    (
        ["2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z", "2024-03-01 08:00:00+00:00"],
        "datetime",
    ),
    (["2243-01-01 00:00:00.000001", "2243-01-01T00:00:00.000001"], "datetime"),
    (["2243-01-01 00:00:00.000001+05:30", "2242-12-31T18:30:00.000001Z"], "datetime"),
]


@pytest.mark.parametrize(("cells", "type_name"), FOUND)
def test_found_columns(tmp_path: Path, cells: list[str], type_name: str) -> None:
    check(write_column(tmp_path / "found.csv", cells), "c", type_name)


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_naive_next_to_aware_has_no_bounds(tmp_path: Path, kind: str) -> None:
    cells = ["2024-03-01T10:00:00", "2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z", "NULL"]
    path = tmp_path / f"mixed.{kind}"
    if kind == "csv":
        write_column(path, cells)
    else:
        path.write_text(
            "".join(json.dumps({"c": None if c == "NULL" else c}) + "\n" for c in cells),
            encoding="utf-8",
        )
    got = [inspect_file(path, engine).field_statistics["c"] for engine in (False, True)]
    for fs in got:
        assert fs.type == "datetime"
        assert (fs.min, fs.max, fs.date_min, fs.date_max) == (None, None, None, None)
        assert fs.quantiles is None
        assert fs.unique_count == 2  # 10:00+02:00 is 08:00Z; the naive 10:00 is another
    assert got[0].sample_values == got[1].sample_values


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_columns_of_nulls_only(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"nulls.{kind}"
    if kind == "csv":
        path.write_text("a,b\n,1\nNULL,2\nN/A,3\n", encoding="utf-8")
    else:
        path.write_text('{"a": null, "b": 1}\n{"b": 2}\n{"a": null, "b": 3}\n', encoding="utf-8")
    for engine in (False, True):
        fs = inspect_file(path, engine).field_statistics["a"]
        assert (fs.type, fs.type_counts) == ("None", {}), engine
        assert (fs.count, fs.null_count, fs.unique_count) == (3, 3, 0), engine
        assert fs.sample_values == [], engine


_SPELLERS: dict[str, tuple[Callable[[random.Random], Any], Callable[[Any, random.Random], str]]] = {
    "UUID": (lambda r: uuid.UUID(int=r.getrandbits(128)), spell_uuid),
    "Decimal": (lambda r: Decimal(r.randint(-999, 999)) / 10, spell_decimal),
    "float": (lambda r: r.uniform(-1e9, 1e9), spell_float),
    "datetime": (
        lambda r: datetime.fromisoformat(
            f"{r.randint(1800, 2499)}-0{r.randint(1, 9)}-1{r.randint(0, 9)}"
            f"T0{r.randint(0, 9)}:00:00.{r.randrange(1_000_000):06d}+00:00"
        ),
        spell_instant,
    ),
}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    type_name=st.sampled_from(sorted(_SPELLERS)),
    seed=st.integers(0, 2**32 - 1),
    values=st.integers(1, 12),
    rows=st.integers(1, 60),
    nulls=st.booleans(),
)
def test_random_spellings_engine_equals_streaming_equals_python(
    tmp_path: Path, type_name: str, seed: int, values: int, rows: int, nulls: bool
) -> None:
    r = random.Random(seed)
    make, spell = _SPELLERS[type_name]
    pool = [make(r) for _ in range(values)]
    cells = [
        r.choice(sorted(NULLS - {""})) if nulls and r.random() < 0.2 else spell(r.choice(pool), r)
        for _ in range(rows)
    ]
    if all(c in NULLS for c in cells):
        cells.append(spell(pool[0], r))
    check(write_column(tmp_path / f"random_{uuid.uuid4().hex[:8]}.csv", cells), "c", type_name)


def test_random_case_uuids_past_the_limits(tmp_path: Path) -> None:
    """150 UUIDs each written in random letter case over 60,000 rows: about as many spellings
    as cells, past the streaming pass's 1,000-entry top counter and its 50,000
    exact distinct values (``exact_distinct_limit``); both paths count 150 values exactly."""
    r = random.Random(21)
    ids = [uuid.UUID(int=r.getrandbits(128)) for _ in range(150)]
    path = tmp_path / "random_case.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["c", "k"])
        for i in range(60_000):
            u = ids[i] if i < len(ids) else r.choice(ids)
            w.writerow(["".join(r.choice((ch, ch.upper())) for ch in str(u)), i % 3])
    s, e = check(path, "c", "UUID")
    assert s.unique_count == e.unique_count == 150
    assert s.unique_exact
    assert s.top_values_exact
    assert [v.count for v in s.top_values] == [v.count for v in e.top_values]
