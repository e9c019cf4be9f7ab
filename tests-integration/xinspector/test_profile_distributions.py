"""Quantiles, histograms and string-length histograms on every backend, against numpy.

The NYC taxi trips of the seaborn dataset (timestamps, small integers, floats, money, text with
nulls), with hostile rows added (non-ASCII and padded text, empty strings, a date before the
epoch, tiny and negative-zero floats, nulls next to missing keys), are loaded into PostgreSQL,
MariaDB, SQLite, a DuckDB database and MongoDB. Each backend profiles them where they lie; the
reference reads the same rows back through the raw driver and computes every figure with numpy
(``np.quantile``, the histogram's bin formula vectorised, ``len`` of each string).
"""

from __future__ import annotations

import csv
import math
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xinspector import FieldStatistics, XInspector
from xresource import ResourceFactory, SQLDatabaseResource

LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]
BINS = 20
EPOCH = datetime(1970, 1, 1)
COLUMNS = ["pickup", "day", "passengers", "distance", "fare", "color", "zone"]
NUMERIC = {"passengers", "distance", "fare"}
TEMPORAL = {"pickup", "day"}
TEXT = {"color", "zone"}

HOSTILE: list[dict[str, Any]] = [
    {
        "pickup": datetime(1969, 12, 31, 23, 59, 59),
        "day": date(1900, 1, 1),
        "passengers": 0,
        "distance": 1e-300,
        "fare": Decimal("0.01"),
        "color": "Zürich straße 日本語",
        "zone": "",
    },
    {
        "pickup": None,
        "day": None,
        "passengers": None,
        "distance": -0.0,
        "fare": Decimal("-99999.99"),
        "color": "  padded  ",
        "zone": None,
    },
    {"pickup": datetime(2019, 3, 1), "distance": 3, "color": "é", "fare": None},
]

DDL = {
    "postgresql": (
        "pickup timestamp, day date, passengers integer, distance double precision, "
        "fare numeric(12, 2), color text, zone text"
    ),
    "mysql": (
        "pickup datetime, day date, passengers int, distance double, fare decimal(12, 2), "
        "color varchar(100), zone varchar(100)"
    ),
    "sqlite": (
        "pickup datetime, day date, passengers integer, distance real, fare numeric, "
        "color text, zone text"
    ),
    "duckdb": (
        "pickup timestamp, day date, passengers integer, distance double, "
        "fare decimal(12, 2), color varchar, zone varchar"
    ),
}


def taxi_rows(datasets: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with (datasets / "seaborn_csv" / "taxis.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            pickup = datetime.fromisoformat(r["pickup"])
            rows.append(
                {
                    "pickup": pickup,
                    "day": pickup.date(),
                    "passengers": int(r["passengers"]),
                    "distance": float(r["distance"]),
                    "fare": Decimal(r["fare"]),
                    "color": r["color"],
                    "zone": r["pickup_zone"] or None,
                }
            )
    return rows + HOSTILE


def as_number(value: Any) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None) - value.utcoffset()
        return (value - EPOCH).total_seconds()
    if isinstance(value, date):
        return float((value - date(1970, 1, 1)).days * 86_400)
    if isinstance(value, str):  # SQLite hands dates back as text
        return as_number(datetime.fromisoformat(value))
    return float(str(value)) if not isinstance(value, float) else value


def reference_bins(values: np.ndarray, bins: int = BINS) -> list[int]:
    lo, hi = values.min(), values.max()
    if hi <= lo:
        return [len(values)]
    idx = np.minimum(np.floor((values - lo) * bins / (hi - lo)), bins - 1).astype(int)
    return np.bincount(idx, minlength=bins).tolist()


def reference_lengths(strings: list[str]) -> list[tuple[int, int, int]]:
    lens = np.array([len(s) for s in strings])
    lo, hi = int(lens.min()), int(lens.max())
    width = max(1, math.ceil((hi - lo + 1) / BINS))
    counts = np.bincount((lens - lo) // width)
    return [(lo + i * width, lo + (i + 1) * width, int(c)) for i, c in enumerate(counts)]


def check_field(fs: FieldStatistics, raw: list[Any], *, exact: bool = True) -> None:
    present = [v for v in raw if v is not None]
    if fs.name in TEXT:
        assert fs.length_histogram is not None, fs.name
        got = [(b.lower, b.upper, b.count) for b in fs.length_histogram]
        assert got == reference_lengths(present), fs.name
        assert fs.quantiles is None
        return
    values = np.array([as_number(v) for v in present], dtype=np.float64)
    assert fs.quantiles is not None, fs.name
    assert fs.quantiles_exact is exact
    got = [as_number(v) for v in fs.quantiles.values()]
    expected = np.quantile(values, LEVELS).tolist()
    tolerance = 1e-3 if fs.name in TEMPORAL else 1e-9  # epoch seconds: a millisecond
    assert got == pytest.approx(expected, rel=1e-12, abs=tolerance), fs.name
    assert fs.histogram is not None
    assert [b.count for b in fs.histogram] == reference_bins(values), fs.name
    assert as_number(fs.histogram[0].lower) == pytest.approx(values.min(), abs=tolerance)
    assert as_number(fs.histogram[-1].upper) == pytest.approx(values.max(), abs=tolerance)
    if fs.name in TEMPORAL:
        assert all(isinstance(b.lower, datetime) for b in fs.histogram)


@pytest.fixture(params=["postgresql", "mysql", "sqlite", "duckdb"])
async def sql_table(
    request: pytest.FixtureRequest,
    postgres_url: str,
    mysql_url: str,
    tmp_path: Path,
    unique_name: str,
    datasets: Path,
) -> AsyncIterator[tuple[SQLDatabaseResource, str]]:
    dialect: str = request.param
    url = {
        "postgresql": postgres_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{tmp_path / 'dist.db'}",
        "duckdb": f"duckdb:///{tmp_path / 'dist.duckdb'}",
    }[dialect]
    db = ResourceFactory.from_url(url)
    assert isinstance(db, SQLDatabaseResource)
    table = f"dist_{unique_name}"
    q = db.dialect.quote
    async with db:
        await db.execute(f"CREATE TABLE {q(table)} ({DDL[dialect]})")
        try:
            marks = ", ".join(db.dialect.param(i + 1) for i in range(len(COLUMNS)))
            rows = []
            for r in taxi_rows(datasets):
                values = [r.get(c) for c in COLUMNS]
                if dialect == "sqlite":  # text dates, as SQLite stores them; REAL money
                    values = [
                        v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in values
                    ]
                    values = [v.isoformat() if isinstance(v, date) else v for v in values]
                    values = [float(v) if isinstance(v, Decimal) else v for v in values]
                rows.append(values)
            await db.execute_many(
                f"INSERT INTO {q(table)} ({', '.join(map(q, COLUMNS))}) VALUES ({marks})", rows
            )
            yield db, table
        finally:
            await db.execute(f"DROP TABLE {q(table)}")


async def test_sql_pushdown_matches_numpy(
    sql_table: tuple[SQLDatabaseResource, str],
) -> None:
    db, table = sql_table
    result = await XInspector(db).inspect(table)
    assert result.pushdown
    raw = await db.fetch_all(f"SELECT * FROM {db.dialect.quote(table)}")
    assert len(raw) == result.total_count == 6433 + len(HOSTILE)
    for name in COLUMNS:
        check_field(result.field_statistics[name], [r[name] for r in raw])


async def test_sql_histogram_of_a_constant_and_an_empty_column(
    sql_table: tuple[SQLDatabaseResource, str],
) -> None:
    db, table = sql_table
    q = db.dialect.quote
    await db.execute(f"UPDATE {q(table)} SET passengers = 4, distance = NULL")
    result = await XInspector(db).inspect(table)
    passengers = result.field_statistics["passengers"]
    assert passengers.quantiles == dict.fromkeys(["p5", "p25", "p50", "p75", "p95"], 4.0)
    assert passengers.histogram is not None
    assert [(b.lower, b.upper, b.count) for b in passengers.histogram] == [
        (4.0, 4.0, result.total_count)
    ]
    distance = result.field_statistics["distance"]
    assert distance.quantiles is None
    assert distance.histogram is None


@pytest.fixture
async def mongo_collection(
    mongodb_url: str, unique_name: str, datasets: Path
) -> AsyncIterator[tuple[Any, str]]:
    from bson.decimal128 import Decimal128

    db = ResourceFactory.from_url(mongodb_url, database="xinspector_dist")
    name = f"dist_{unique_name}"
    docs = []
    for i, r in enumerate(taxi_rows(datasets)):
        doc: dict[str, Any] = {}
        for key, value in r.items():
            if value is None and i % 2:
                continue  # a missing key next to an explicit null
            if isinstance(value, Decimal):
                value = Decimal128(str(value))
            elif isinstance(value, date) and not isinstance(value, datetime):
                value = datetime(value.year, value.month, value.day)  # BSON has no date
            doc[key] = value
        docs.append(doc)
    async with db:
        await db.insert_many(name, docs)
        try:
            yield db, name
        finally:
            await db.db.drop_collection(name)


async def test_mongodb_pushdown_matches_numpy(mongo_collection: tuple[Any, str]) -> None:
    db, name = mongo_collection
    result = await XInspector(db).inspect(name)
    assert result.pushdown
    raw = await db.fetch_all(name)
    assert len(raw) == result.total_count
    for column in COLUMNS:
        values = [d.get(column) for d in raw]
        values = [v.to_decimal() if hasattr(v, "to_decimal") else v for v in values]
        check_field(result.field_statistics[column], values)


@pytest.fixture
async def pg_table(
    postgres_url: str, unique_name: str, datasets: Path
) -> AsyncIterator[tuple[SQLDatabaseResource, str]]:
    db = ResourceFactory.from_url(postgres_url)
    assert isinstance(db, SQLDatabaseResource)
    table = f"dist_{unique_name}"
    q = db.dialect.quote
    async with db:
        await db.execute(f"CREATE TABLE {q(table)} ({DDL['postgresql']})")
        try:
            marks = ", ".join(db.dialect.param(i + 1) for i in range(len(COLUMNS)))
            await db.execute_many(
                f"INSERT INTO {q(table)} ({', '.join(map(q, COLUMNS))}) VALUES ({marks})",
                [[r.get(c) for c in COLUMNS] for r in taxi_rows(datasets)],
            )
            yield db, table
        finally:
            await db.execute(f"DROP TABLE {q(table)}")


async def test_large_postgresql_table_is_sampled(pg_table: tuple[SQLDatabaseResource, str]) -> None:
    """Past exact_rows (planner statistics), quantiles and histograms come from a repeatable
    Bernoulli sample: estimates within a few percent of rank, counts scaled to the table, bins
    over the true minimum and maximum."""
    db, table = pg_table
    result = await XInspector(db, exact_rows=1_000).inspect(table)
    raw = await db.fetch_all(f"SELECT * FROM {db.dialect.quote(table)}")
    for name in ("distance", "fare", "pickup"):
        fs = result.field_statistics[name]
        values = np.sort([as_number(r[name]) for r in raw if r[name] is not None])
        assert fs.quantiles is not None
        assert fs.quantiles_exact is False
        for q, est in zip(LEVELS, fs.quantiles.values(), strict=True):
            rank = np.searchsorted(values, as_number(est)) / len(values)
            assert abs(rank - q) <= 0.05, (name, q)
        assert fs.histogram is not None
        assert sum(b.count for b in fs.histogram) == len(values)
        assert as_number(fs.histogram[0].lower) == pytest.approx(values[0], abs=1e-3)
        assert as_number(fs.histogram[-1].upper) == pytest.approx(values[-1], abs=1e-3)
    color = result.field_statistics["color"]
    assert color.length_histogram is not None
    assert sum(b.count for b in color.length_histogram) == result.total_count
    assert color.length_histogram[0].lower == color.min_length
