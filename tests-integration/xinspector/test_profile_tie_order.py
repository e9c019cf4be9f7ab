"""Top values and categorical values in one order on every backend, run after run.

The same hostile columns (text that ties among ``'a'``, ``'A'``, ``'á'``, ``'a '``, ``' a'``,
decomposed accents, emoji and mixed case; integers whose text order is not their order; dates
around the epoch; booleans; a many-valued text column whose ties straddle the ``top_k`` cut)
are written to a CSV file (profiled streamed and by the engine), PostgreSQL, SQLite, MariaDB
(case- and accent-insensitive default collation), a DuckDB database and MongoDB (a collection
whose default collation ignores case and accents). Each backend
profiles them twice; every answer must equal the oracle: Python's own order over the rows
(count descending, then the value), computed here from the rows with ``Counter``.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from xinspector import InspectionResult, XInspector
from xresource import ResourceFactory, SQLDatabaseResource

COLUMNS = ["txt", "num", "day", "flag", "big"]
TOP_K = 10  # ProfileOptions' default

HOSTILE_TEXT = ["a", "A", "á", "a ", " a", "Ä", "ß", "日本", "😀", "é", "e\u0301", "Z", "z", "ǅ"]
VALUES: dict[str, list[Any]] = {
    # Ties of 3 among the hostile spellings, and of 5 between 'B' and 'b' above them.
    "txt": HOSTILE_TEXT * 3 + ["b", "B"] * 5,
    # Text order "-1" < "0" < "10" < "100" < "2" is not the numbers' order.
    "num": [-1, 0, 2, 10, 100] * 4 + [7] * 6,
    "day": [date(2024, 1, 10), date(2024, 1, 9), date(1969, 12, 31), date(2000, 2, 29)] * 4
    + [date(1970, 1, 1)] * 5,
    "flag": [True, False] * 7,
    # 120 values twice each (more than categorical_threshold): the ties straddle the top_k cut,
    # so the database's ORDER BY decides which come back. A linguistic order would keep w00,
    # W00, ŵ00, w01...; code points keep W00 to W08.
    "big": [
        f"{p}{i:02d}{s}"
        for p, s in (("w", ""), ("W", ""), ("ŵ", ""), ("w", " "))
        for i in range(30)
    ]
    * 2
    + ["Ω"] * 3,
}
# Text columns under each database's linguistic or case-insensitive collation: the profiler
# must count and order them by code point all the same (MariaDB's default, utf8mb4_general_ci,
# makes 'a' = 'A' = 'á' = 'a ').
DDL = {
    "postgresql": (
        'txt text COLLATE "und-x-icu", num integer, day date, flag boolean, '
        'big text COLLATE "und-x-icu"'
    ),
    "mysql": (
        "txt varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, num int, day date, "
        "flag boolean, big varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ),
    "sqlite": (
        "txt text COLLATE NOCASE, num integer, day date, flag boolean, big text COLLATE NOCASE"
    ),
    "duckdb": (
        "txt varchar COLLATE NOCASE, num integer, day date, flag boolean, "
        "big varchar COLLATE NOCASE"
    ),
}


def table_rows() -> list[dict[str, Any]]:
    """The columns side by side in shuffled rows, the shorter ones padded with nulls."""
    rnd = random.Random(11)
    n = max(map(len, VALUES.values())) + 4
    columns = {}
    for name, values in VALUES.items():
        cells = values + [None] * (n - len(values))
        rnd.shuffle(cells)
        columns[name] = cells
    return [{c: columns[c][i] for c in COLUMNS} for i in range(n)]


def oracle(name: str) -> tuple[list[tuple[Any, int]], list[Any] | None, int]:
    """``(top values, distinct values or None, distinct count)`` by Python's own order."""
    counts = Counter(VALUES[name])
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_K]
    categorical = len(counts) <= 100
    return top, sorted(counts) if categorical else None, len(counts)


def normal(name: str, value: Any) -> Any:
    """A value as the oracle holds it: SQLite and MariaDB keep booleans as 0 and 1, MongoDB
    dates as midnight datetimes (BSON has no date)."""
    if name == "flag" and value is not None:
        return bool(value)
    if name == "day" and isinstance(value, datetime):
        assert value.time() == datetime.min.time(), value
        return value.date()
    return value


def answers(result: InspectionResult) -> dict[str, Any]:
    out = {}
    for name in COLUMNS:
        fs = result.field_statistics[name]
        distinct = fs.distinct_values
        out[name] = (
            [(normal(name, v.value), v.count) for v in fs.top_values],
            None if distinct is None else [normal(name, v) for v in distinct],
            fs.unique_count,
            fs.top_values_exact,
        )
    return out


Profile = Callable[[], Awaitable[InspectionResult]]


def write_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in table_rows():
            w.writerow(
                [
                    "" if v is None else ("true" if v is True else "false" if v is False else v)
                    for v in (r[c] for c in COLUMNS)
                ]
            )
    return path


async def sql_profiles(
    url: str, dialect: str, table: str
) -> AsyncIterator[tuple[SQLDatabaseResource, str]]:
    db = ResourceFactory.from_url(url)
    assert isinstance(db, SQLDatabaseResource)
    q = db.dialect.quote
    async with db:
        await db.execute(f"CREATE TABLE {q(table)} ({DDL[dialect]})")
        try:
            rows = [[r[c] for c in COLUMNS] for r in table_rows()]
            if dialect == "sqlite":  # SQLite stores dates as ISO text, booleans as 0 and 1
                rows = [[v.isoformat() if isinstance(v, date) else v for v in row] for row in rows]
            marks = ", ".join(db.dialect.param(i + 1) for i in range(len(COLUMNS)))
            await db.execute_many(
                f"INSERT INTO {q(table)} ({', '.join(map(q, COLUMNS))}) VALUES ({marks})", rows
            )
            yield db, table
        finally:
            await db.execute(f"DROP TABLE {q(table)}")


BACKENDS = ["csv-streamed", "csv-engine", "postgresql", "sqlite", "mysql", "duckdb", "mongodb"]


@pytest.fixture(params=BACKENDS)
async def profile(
    request: pytest.FixtureRequest,
    postgres_url: str,
    mysql_url: str,
    mongodb_url: str,
    tmp_path: Path,
    unique_name: str,
) -> AsyncIterator[Profile]:
    backend: str = request.param
    name = f"tie_{unique_name}"
    if backend.startswith("csv"):
        path = write_csv(tmp_path / f"{name}.csv")
        engine = backend == "csv-engine"

        async def of_file() -> InspectionResult:
            return await XInspector(ResourceFactory.from_url(str(path)), engine=engine).inspect()

        yield of_file
        return
    if backend == "mongodb":
        db = ResourceFactory.from_url(mongodb_url, database="xinspector_ties")
        docs = []
        for i, r in enumerate(table_rows()):
            doc: dict[str, Any] = {}
            for key, value in r.items():
                if value is None and i % 2:
                    continue  # a missing key next to an explicit null
                if isinstance(value, date):
                    value = datetime(value.year, value.month, value.day)
                doc[key] = value
            docs.append(doc)
        async with db:
            # A default collation that ignores case and accents ('a' = 'A' = 'á'): the
            # profile's pipelines must count and order by code point all the same.
            await db.db.create_collection(name, collation={"locale": "en", "strength": 1})
            await db.insert_many(name, docs)
            try:
                yield lambda: XInspector(db).inspect(name)
            finally:
                await db.db.drop_collection(name)
        return
    url = {
        "postgresql": postgres_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{tmp_path / 'ties.db'}",
        "duckdb": f"duckdb:///{tmp_path / 'ties.duckdb'}",
    }[backend]
    async for db, table in sql_profiles(url, backend, name):

        async def of_table(db: SQLDatabaseResource = db, table: str = table) -> InspectionResult:
            result = await XInspector(db).inspect(table)
            assert result.pushdown
            return result

        yield of_table


async def test_top_and_distinct_values_in_one_order_everywhere(profile: Profile) -> None:
    first = answers(await profile())
    for name in COLUMNS:
        top, distinct, unique = oracle(name)
        assert first[name] == (top, distinct, unique, True), name
    # Run twice: a tie-break left to a hash table or to threads would show here.
    assert answers(await profile()) == first


async def test_text_bounds_in_code_point_order_everywhere(profile: Profile) -> None:
    # The least and greatest text as Python orders it, whatever the collation (PostgreSQL's
    # ICU put 'a' before 'B' and 'á' before 'Z'; MariaDB's general_ci 'a' beside 'A').
    result = await profile()
    for name in ("txt", "big"):
        fs = result.field_statistics[name]
        assert (fs.min, fs.max) == (min(VALUES[name]), max(VALUES[name])), name


async def test_postgresql_padded_enum_and_locale_text_bounds(
    postgres_url: str, unique_name: str
) -> None:
    # char(n) keeps its padding (a cast to text would drop it), an enum compares as its labels'
    # text (not in declaration order), a column under a locale's collation by code point.
    db = ResourceFactory.from_url(postgres_url)
    assert isinstance(db, SQLDatabaseResource)
    table, mood = f"tie_{unique_name}", f"tie_mood_{unique_name}"
    rows = [("ab", "sad", "b"), ("Z", "ok", "A"), ("a", "Zed", "á"), (None, None, "Z")]
    async with db:
        await db.execute(f"CREATE TYPE {mood} AS ENUM ('sad', 'ok', 'Zed')")
        try:
            await db.execute(
                f'CREATE TABLE {table} (c char(4), m {mood}, v varchar(10) COLLATE "en-US-x-icu")'
            )
            await db.execute_many(f"INSERT INTO {table} VALUES ($1, $2, $3)", rows)
            result = await XInspector(db).inspect(table)
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")
            await db.execute(f"DROP TYPE IF EXISTS {mood}")
    bounds = {n: (fs.min, fs.max) for n, fs in result.field_statistics.items()}
    assert bounds == {"c": ("Z   ", "ab  "), "m": ("Zed", "sad"), "v": ("A", "á")}
    top = {n: [v.value for v in fs.top_values] for n, fs in result.field_statistics.items()}
    assert top["c"] == ["Z   ", "a   ", "ab  "]


def test_the_oracle_is_hostile_enough() -> None:
    """The data must tie where the orders differ, or the test above proves nothing."""
    txt, _, _ = oracle("txt")
    assert [v for v, _ in txt[:2]] == ["B", "b"]  # a case-insensitive tie-break says b, B
    assert [v for v, _ in txt[2:6]] == [" a", "A", "Z", "a"]
    num, _, _ = oracle("num")
    assert [v for v, _ in num] == [7, -1, 0, 2, 10, 100]  # not the text order of the ties
    big, distinct, unique = oracle("big")
    assert distinct is None
    assert unique == 121
    assert [c for _, c in big] == [3] + [2] * 9  # the cut falls inside 120 tied values
    assert [v for v, _ in big[1:4]] == ["W00", "W01", "W02"]
    # A linguistic order has other bounds: 'a' or ' a' first, 'Z' or 'z' last.
    assert (min(VALUES["txt"]), max(VALUES["txt"])) == (" a", "😀")
