"""Files profiled by the columnar engine (DuckDB) and by the streaming pass give the same answers.

Every CSV of the public datasets and generated hostile files (numbers of every spelling next to
null tokens, integers beyond 64 bits, leading-zero codes, dates before the epoch, naive and
aware datetimes with both separators, non-ASCII and padded text, booleans in several spellings,
JSON text, e-mails) are profiled twice, ``engine=True`` and ``engine=False``, and every
statistic is compared. Parquet files (engine only) and JSON Lines are checked against numpy.
Without DuckDB (blocked in a child process) ``XInspector`` falls back to the streaming pass.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import subprocess
import sys
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinspector import FieldStatistics, XInspector
from xresource import ResourceFactory

SAME = [
    "type",
    "format",
    "count",
    "null_count",
    "unique_count",
    "min",
    "max",
    "min_length",
    "max_length",
    "length_histogram",
    "is_categorical",
    "distinct_values",
    "cardinality",
]
LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]
LENGTHS = {"min_length", "max_length", "avg_length", "length_histogram"}


def hostile_csv(path: Path, rows: int = 3000, seed: int = 5) -> Path:
    r = random.Random(seed)
    header = ["n_mixed", "n_big", "d", "dt", "aware", "s", "code", "flag", "js", "mail", "empty"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(rows):
            w.writerow(
                [
                    r.choice(["1", "2.5", "-3e2", "1e-300", "", "NULL", str(r.randint(-999, 999))]),
                    r.choice([str(r.randint(-(2**62), 2**62)), "123456789012345678901234567", "0"]),
                    r.choice(
                        [
                            "2024-01-01",
                            "1969-12-31",
                            "2000-02-29",
                            "",
                            f"20{r.randint(10, 30)}-0{r.randint(1, 9)}-1{r.randint(0, 9)}",
                        ]
                    ),
                    r.choice(
                        [
                            "2024-03-01T10:00:00",
                            "2024-03-01 23:30:00",
                            "1970-01-01T00:00:00.5",
                            "N/A",
                            f"2021-05-0{r.randint(1, 9)}T0{r.randint(0, 9)}:1{r.randint(0, 9)}:00",
                        ]
                    ),
                    r.choice(
                        [
                            "2024-03-01T10:00:00+02:00",
                            "2024-03-01T08:30:00Z",
                            "2024-03-02T00:00:00-05:30",
                            "",
                        ]
                    ),
                    r.choice(
                        [
                            "Zürich",
                            "  padded  ",
                            "日本語テキスト",
                            "",
                            "ß",
                            "a,b",
                            'quote"d',
                            "x" * r.randint(1, 60),
                            "N/A",
                        ]
                    ),
                    r.choice(["007", "010", "123", "0"]),
                    r.choice(["true", "false", "TRUE", "yes", "n"]),
                    r.choice(['{"a": 1}', "[1, 2]", '{"k": "v"}']),
                    r.choice(["a@b.org", "x.y@example.com"]) if i % 2 else f"user{i}@example.org",
                    "",
                ]
            )
    return path


def numbers_only(path: Path, rows: int = 120_000) -> Path:
    """Many distinct values: past the streaming pass's exact quantile limit and exact_rows."""
    r = random.Random(9)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "k"])
        for _ in range(rows):
            w.writerow([repr(r.lognormvariate(3, 1)), r.randrange(40)])
    return path


def key(value: Any) -> Any:
    """One key per value: 7.5 and 7.50 are one number."""
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def same_top(a: FieldStatistics, b: FieldStatistics) -> None:
    """Top values agree. Exact counts on both sides: the same list, values tied on a count in
    one order (count descending, then the value: profiling/_order.py). Approximate counts on
    either side (the capped counter, approx_top_k) keep which values tie at the cut open: the
    same counts in order, the same values above the last tie."""
    if a.top_values_exact and b.top_values_exact:
        assert [(key(v.value), v.count) for v in a.top_values] == [
            (key(v.value), v.count) for v in b.top_values
        ], a.name
        assert a.top_values == b.top_values, a.name  # the values' types too
        return
    counts_a = [v.count for v in a.top_values]
    counts_b = [v.count for v in b.top_values]
    assert counts_a == counts_b, a.name
    if counts_a:
        cut = counts_a[-1]
        above = {key(v.value): v.count for v in a.top_values if v.count > cut}
        other = {key(v.value): v.count for v in b.top_values if v.count > cut}
        assert above == other, a.name


def compare(path: Path, *, exact_quantiles: bool = True) -> None:
    import asyncio

    async def both() -> tuple[Any, Any]:
        streamed = await XInspector(ResourceFactory.from_url(str(path)), engine=False).inspect()
        engine = await XInspector(ResourceFactory.from_url(str(path)), engine=True).inspect()
        return streamed, engine

    streamed, engine = asyncio.run(both())
    assert streamed.total_count == engine.total_count
    assert streamed.schema["fields"].keys() == engine.schema["fields"].keys()
    for name, s in streamed.field_statistics.items():
        e = engine.field_statistics[name]
        # A column that looked numeric and turned out text: the streaming pass reports no
        # lengths rather than partial ones (it did not keep them); the engine knows them.
        partial = s.type == "str" and s.min_length is None and e.min_length is not None
        for key in SAME:
            if partial and key in LENGTHS:
                continue
            assert getattr(s, key) == getattr(e, key), f"{path.name}:{name}.{key}"
        for key in ("mean", "stddev", "avg_length"):
            if partial and key in LENGTHS:
                continue
            a, b = getattr(s, key), getattr(e, key)
            assert (a is None) == (b is None), f"{name}.{key}"
            if a is not None:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), f"{name}.{key}"
        assert (s.quantiles is None) == (e.quantiles is None), name
        if s.quantiles is not None and e.quantiles is not None:
            assert s.quantiles.keys() == e.quantiles.keys()
            for k in s.quantiles:
                a, b = s.quantiles[k], e.quantiles[k]
                if isinstance(a, datetime):
                    assert abs((a - b).total_seconds()) < 1e-3, f"{name}.{k}"
                elif exact_quantiles:
                    assert a == pytest.approx(b, rel=1e-12), f"{name}.{k}"
            if exact_quantiles:
                assert s.quantiles_exact
                assert e.quantiles_exact
                assert s.histogram == e.histogram, name
        same_top(s, e)


@pytest.mark.parametrize(
    "relative",
    [
        "seaborn_csv/taxis.csv",
        "seaborn_csv/penguins.csv",
        "seaborn_csv/titanic.csv",
        "amazon_purchases_csv/amazon-purchases-sample.csv",
        "supermarket_sales_xlsx/supermarket_Sales.csv",
    ],
)
def test_dataset_csv_engine_equals_streaming(datasets: Path, relative: str) -> None:
    compare(datasets / relative)


def test_hostile_csv_engine_equals_streaming(tmp_path: Path) -> None:
    compare(hostile_csv(tmp_path / "hostile.csv"))


def test_large_file_sketches_agree_within_their_bounds(tmp_path: Path) -> None:
    import asyncio

    path = numbers_only(tmp_path / "numbers.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    values = np.array([float(r["x"]) for r in rows])
    ks = np.array([float(r["k"]) for r in rows])

    async def both() -> tuple[Any, Any]:
        a = await XInspector(ResourceFactory.from_url(str(path)), engine=False).inspect()
        b = await XInspector(
            ResourceFactory.from_url(str(path)), engine=True, exact_rows=50_000
        ).inspect()
        return a, b

    streamed, engine = asyncio.run(both())
    ordered = np.sort(values)
    for result in (streamed, engine):
        fs = result.field_statistics["x"]
        assert fs.quantiles is not None
        for q, est in zip(LEVELS, fs.quantiles.values(), strict=True):
            assert abs(np.searchsorted(ordered, est) / len(values) - q) <= 0.01
        assert fs.histogram is not None
        assert sum(b.count for b in fs.histogram) == len(values)
        k = result.field_statistics["k"]
        assert k.unique_count == 40
        assert k.histogram is not None
        assert [b.count for b in k.histogram] == np.bincount(
            np.minimum(np.floor(ks * 20 / 39), 19).astype(int), minlength=20
        ).tolist()
    assert not streamed.field_statistics["x"].quantiles_exact  # a sketch past 50,000 values
    assert engine.field_statistics["x"].quantiles_exact  # DuckDB sorts exactly
    x = engine.field_statistics["x"]
    assert x.unique_exact is False  # HyperLogLog past exact_rows
    assert abs(x.unique_count - len(set(values))) <= 0.03 * len(values)


def test_parquet_and_jsonl_against_numpy(tmp_path: Path) -> None:
    import asyncio

    r = random.Random(3)
    records = [
        {
            "id": i,
            "price": round(r.uniform(-50, 50), 2) if i % 7 else None,
            "name": r.choice(["Zoë", "Ωmega", "  x  ", ""]),
            "when": datetime(2020, 1, 1 + i % 28, i % 24),
        }
        for i in range(2000)
    ]
    parquet = ResourceFactory.from_url(str(tmp_path / "items.parquet"), create_if_missing=True)
    asyncio.run(parquet.write(records))
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(
        "\n".join(json.dumps({**rec, "when": rec["when"].isoformat()}) for rec in records),
        encoding="utf-8",
    )
    for path in (tmp_path / "items.parquet", jsonl):
        result = asyncio.run(XInspector(ResourceFactory.from_url(str(path))).inspect())
        assert result.pushdown is False  # a file, profiled where it lies
        price = result.field_statistics["price"]
        present = np.array([rec["price"] for rec in records if rec["price"] is not None])
        assert price.null_count == len(records) - len(present)
        assert price.quantiles is not None
        assert list(price.quantiles.values()) == pytest.approx(np.quantile(present, LEVELS))
        lo, hi = present.min(), present.max()
        bins = np.minimum(np.floor((present - lo) * 20 / (hi - lo)), 19).astype(int)
        assert price.histogram is not None
        assert [b.count for b in price.histogram] == np.bincount(bins, minlength=20).tolist()
        when = result.field_statistics["when"]
        assert when.type == "datetime"
        assert when.quantiles is not None
        epoch = np.array([(rec["when"] - datetime(1970, 1, 1)).total_seconds() for rec in records])
        got = [(v - datetime(1970, 1, 1)).total_seconds() for v in when.quantiles.values()]
        assert got == pytest.approx(np.quantile(epoch, LEVELS).tolist(), abs=1e-3)
        name = result.field_statistics["name"]
        assert name.length_histogram is not None
        lengths = {b.lower: b.count for b in name.length_histogram if b.count}
        assert lengths == dict(Counter(len(rec["name"]) for rec in records))


def test_without_duckdb_the_streaming_pass_profiles(tmp_path: Path) -> None:
    path = hostile_csv(tmp_path / "h.csv", rows=200)
    code = (
        "import sys, asyncio, json\n"
        "sys.modules['duckdb'] = None  # as if the extra were not installed\n"
        "from xinspector import XInspector, XInspectorUnsupportedError\n"
        "from xresource import ResourceFactory\n"
        "r = ResourceFactory.from_url(sys.argv[1])\n"
        "res = asyncio.run(XInspector(r).inspect())\n"
        "q = res.field_statistics['n_mixed'].quantiles\n"
        "try:\n"
        "    r2 = ResourceFactory.from_url(sys.argv[1])\n"
        "    asyncio.run(XInspector(r2, engine=True).inspect())\n"
        "    forced = 'no error'\n"
        "except XInspectorUnsupportedError as exc:\n"
        "    forced = str(exc)\n"
        "print(json.dumps({'total': res.total_count, 'p50': q['p50'], 'forced': forced}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["total"] == 200
    assert math.isfinite(out["p50"])
    assert "xresource[duckdb]" in out["forced"]


_CELL = st.one_of(
    st.sampled_from(["", "NULL", "N/A", "0", "007", "-0", "+5", "1e3", "2.50", "true", "no"]),
    st.integers(-(10**6), 10**6).map(str),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False).map(str),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=6),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    columns=st.integers(1, 3).flatmap(
        lambda k: st.lists(st.lists(_CELL, min_size=k, max_size=k), min_size=1, max_size=40)
    ),
    kind=st.sampled_from(["int", "decimal", "date", "mixed"]),
)
def test_random_csv_engine_equals_streaming(
    tmp_path: Path, columns: list[list[str]], kind: str
) -> None:
    """Random cells (null tokens, numbers of every spelling, dates, any text) give the same
    statistics on both paths; a column of one kind keeps that kind's cells only."""
    width = len(columns[0])
    rows = columns
    if kind != "mixed":  # one column of a single kind, so that typed columns are exercised
        pick = {"int": 1, "decimal": 2, "date": 3}[kind]
        rng = random.Random(len(rows))
        rows = [[_typed_cell(pick, rng), *r[1:]] for r in rows]
    path = tmp_path / f"random_{uuid.uuid4().hex[:8]}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([f"c{i}" for i in range(width)])
        w.writerows(rows)
    compare(path)


def _typed_cell(kind: int, rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(["", "NULL"])
    if kind == 1:
        return str(rng.randint(-(10**9), 10**9))
    if kind == 2:
        return f"{rng.uniform(-100, 100):.2f}"
    return (date(2000, 1, 1) + timedelta(days=rng.randint(-9000, 9000))).isoformat()


def test_hostile_jsonl_engine_equals_streaming(tmp_path: Path) -> None:
    """JSON Lines: ints next to floats and huge/tiny numbers, missing keys next to nulls,
    non-ASCII and padded text, ISO dates and datetimes as strings (both paths type them)."""
    r = random.Random(3)
    path = tmp_path / "hostile.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(2000):
            rec = {
                "id": i,
                "x": r.choice([1, 2.5, -3, 1e-300, None, 10**15]),
                "s": r.choice(["Zürich", "", "  x ", "日本", None]),
                "d": r.choice(["2024-01-01", "1969-12-31", None]),
                "t": r.choice(["2024-03-01T10:00:00", "2024-03-01 23:30:00"]),
                "b": r.choice([True, False]),
            }
            if i % 7 == 0:
                del rec["s"]
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    compare(path)


def test_types_contradicted_after_the_first_rows(tmp_path: Path) -> None:
    """The engine guesses types from the first 20,000 rows and verifies them over every row:
    later values that contradict the guess (text in a number column, more decimals, an
    integer beyond 64 bits, a time of day among dates) give the types the streaming pass
    gives, and the same statistics."""
    path = tmp_path / "late.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["n", "dec", "wide", "when", "steady"])
        for i in range(25_000):
            late = i == 24_000
            w.writerow(
                [
                    "abc" if late else str(i),
                    "1.2345" if late else f"{i % 100}.5",
                    str(2**70) if late else str(i),
                    "2024-02-01T10:30:00" if late else f"2024-01-{i % 28 + 1:02d}",
                    str(i % 7),
                ]
            )
    compare(path)
    import asyncio

    result = asyncio.run(XInspector(ResourceFactory.from_url(str(path)), engine=True).inspect())
    types = {n: f.type for n, f in result.field_statistics.items()}
    assert types == {
        "n": "str",
        "dec": "Decimal",
        "wide": "int",
        "when": "datetime",
        "steady": "int",
    }
    assert result.field_statistics["dec"].model_extra == {"decimal_places": 4}
    assert result.field_statistics["wide"].max == 2**70
