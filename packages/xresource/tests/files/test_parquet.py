"""ParquetResource: typed round trips, streaming, schema from metadata, atomic writes, errors."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xresource import (
    DUCKDB,
    ParquetColumn,
    ParquetResource,
    ResourceFactory,
    XResourceNotFoundError,
    XResourceQueryError,
    XResourceValidationError,
)

ROWS = [
    {
        "id": 1,
        "score": 1.5,
        "name": "Köln ☕ 𝄞",
        "amount": Decimal("-1234567890.0123456789"),
        "at": dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC),
        "local": dt.datetime(1, 1, 1, 0, 0),
        "day": dt.date(9999, 12, 31),
        "clock": dt.time(23, 59, 59),
        "blob": b"\x00\xff",
        "uid": UUID("12345678-1234-5678-1234-567812345678"),
        "nested": {"tags": ["a", "b"], "n": 1},
        "items": [1, 2, 3],
        "flag": True,
        "huge": 2**100,
    },
    {
        "id": -(2**63),
        "score": 2,  # an int among floats: the column is DOUBLE
        "name": "",
        "amount": None,
        "at": None,
        "local": None,
        "day": None,
        "clock": None,
        "blob": None,
        "uid": None,
        "nested": None,
        "items": [],
        "flag": False,
        # "huge" missing: null
    },
]


@pytest.fixture
def resource(tmp_path: Path) -> ParquetResource:
    return ParquetResource(path=str(tmp_path / "data.parquet"), create_if_missing=True)


async def test_round_trip_keeps_values_and_types(resource: ParquetResource) -> None:
    assert await resource.write(ROWS) == 2
    back = await resource.read()
    first, second = back
    assert first["at"] == ROWS[0]["at"]  # the same instant (DuckDB answers in its time zone)
    assert {k: v for k, v in first.items() if k != "at"} == {
        **{k: v for k, v in ROWS[0].items() if k != "at"},
        "huge": Decimal(2**100),  # beyond 64 bits: an exact DECIMAL(38, 0), not a double
    }
    assert second["score"] == 2.0
    assert isinstance(second["score"], float)
    assert second["id"] == -(2**63)
    assert second["huge"] is None
    assert second["name"] == ""
    assert second["items"] == []
    # An oracle: DuckDB's own reading of the file agrees on every value.
    with duckdb.connect() as con:
        raw = con.execute("SELECT name, amount FROM read_parquet(?)", [resource.path]).fetchall()
    assert raw == [("Köln ☕ 𝄞", Decimal("-1234567890.0123456789")), ("", None)]


async def test_schema_and_row_count_from_metadata(resource: ParquetResource) -> None:
    assert await resource.read_schema() == []  # not written yet
    assert await resource.row_count() == 0
    await resource.write(ROWS)
    schema = {c.name: c for c in await resource.read_schema()}
    assert list(schema) == list(ROWS[0])
    assert schema["id"].type == "BIGINT"
    assert schema["score"].type == "DOUBLE"
    assert schema["amount"].type == "DECIMAL(20,10)"
    assert schema["at"].type == "TIMESTAMP WITH TIME ZONE"
    assert schema["local"].type == "TIMESTAMP"
    assert schema["nested"].type.startswith("STRUCT(")
    assert schema["items"].type in ("INTEGER[]", "BIGINT[]")
    assert schema["amount"].nullable is True
    assert isinstance(schema["id"], ParquetColumn)
    assert await resource.row_count() == 2


async def test_nullability_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "req.parquet"
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE t (a INTEGER NOT NULL, s STRUCT(x INTEGER, y VARCHAR[]), b VARCHAR)"
        )
        # DuckDB marks a column without nulls REQUIRED: b has none, s has one.
        con.execute("INSERT INTO t VALUES (1, {'x': 1, 'y': ['q']}, 'p'), (2, NULL, 'q')")
        con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    schema = await ParquetResource(path=str(path)).read_schema()
    # The nested fields of s (x, y and y's element) are not columns: b follows s.
    assert [(c.name, c.nullable) for c in schema] == [("a", False), ("s", True), ("b", False)]


async def test_stream_in_chunks(resource: ParquetResource) -> None:
    rows = [{"i": i, "s": f"v{i}", "f": i / 3} for i in range(25_001)]
    await resource.write(rows)
    sizes = []
    seen = 0
    async for chunk in resource.read_stream(chunk_size=10_000):
        sizes.append(len(chunk))
        assert chunk[0]["i"] == seen
        seen += len(chunk)
    assert sizes == [10_000, 10_000, 5_001]
    assert await resource.read(limit=3) == rows[:3]
    with pytest.raises(XResourceNotFoundError):
        await resource.read(collection="other")


async def test_append_keeps_the_schema_and_casts(resource: ParquetResource) -> None:
    await resource.write([{"id": 1, "v": 1.5, "s": "a"}])
    await resource.write([{"id": 2, "s": "b"}, {"v": 3, "id": 3}], mode="append")
    assert await resource.read() == [
        {"id": 1, "v": 1.5, "s": "a"},
        {"id": 2, "v": None, "s": "b"},
        {"id": 3, "v": 3.0, "s": None},
    ]
    with pytest.raises(XResourceValidationError, match="'extra' are not columns"):
        await resource.write([{"id": 4, "extra": 1}], mode="append")
    with pytest.raises(XResourceValidationError, match="do not fit"):
        await resource.write([{"id": "not a number"}], mode="append")
    assert await resource.row_count() == 3  # the failed writes left the file as it was


async def test_replace_with_nothing_keeps_the_schema(resource: ParquetResource) -> None:
    await resource.write([{"id": 1, "s": "a"}])
    assert await resource.write([]) == 0
    assert await resource.read() == []
    assert [c.name for c in await resource.read_schema()] == ["id", "s"]


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([{"a": 1}, {"a": "x"}], "several types"),
        ([{"a": True}, {"a": 1}], "several types"),
        ([{"a": dt.datetime(2024, 1, 1)}, {"a": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}], "naive"),
        ([{"a": Decimal("NaN")}], "NaN"),
        (
            [{"a": dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-9)))}],
            "outside the years 1-9999",
        ),
        (
            [{"a": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))}],
            "outside the years 1-9999",
        ),
        ([{"a": 10**40}], "decimal digits"),
        ([{"a": {1, 2}}], "several types|set"),
        ([{}], "no fields"),
        ([], "no fields"),
    ],
)
async def test_records_a_parquet_file_cannot_hold(
    rows: list[dict[str, object]], problem: str, resource: ParquetResource
) -> None:
    with pytest.raises(XResourceValidationError, match=problem):
        await resource.write(rows)
    assert _left_in(Path(resource.path).parent) == []  # neither the file nor a temporary


def _left_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_special_floats(resource: ParquetResource) -> None:
    await resource.write([{"f": math.inf}, {"f": -math.inf}, {"f": math.nan}, {"f": -0.0}])
    values = [r["f"] for r in await resource.read()]
    assert values[:2] == [math.inf, -math.inf]
    assert math.isnan(values[2])
    assert math.copysign(1, values[3]) == -1


async def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 but not really" * 10)
    bad = ParquetResource(path=str(path))
    with pytest.raises(XResourceValidationError, match="not a readable Parquet file"):
        await bad.read()
    with pytest.raises(XResourceValidationError, match="not a readable Parquet file"):
        await bad.read_schema()


async def test_engine_view_and_factory(tmp_path: Path) -> None:
    path = tmp_path / "sales ☕.parquet"
    resource = ResourceFactory.from_url(str(path), create_if_missing=True)
    assert isinstance(resource, ParquetResource)
    await resource.write([{"city": "Köln", "n": 2}, {"city": "Köln", "n": 3}, {"city": "", "n": 1}])
    async with resource.engine() as db:
        view = DUCKDB.quote(resource.engine_view)
        rows = await db.fetch_all(
            f"SELECT city, sum(n) AS total FROM {view} GROUP BY city ORDER BY city"
        )
        with pytest.raises(XResourceQueryError, match=r"not an? table"):
            await db.execute(f"INSERT INTO {view} VALUES ('x', 1)")
    assert rows == [{"city": "", "total": 1}, {"city": "Köln", "total": 5}]
    assert ResourceFactory.create("parquet", path=str(path)).resource_type == "parquet"
    assert resource.get_metadata()["format"] == {"compression": "zstd", "row_group_size": 122880}


async def test_glob_characters_in_file_names_are_literal(tmp_path: Path) -> None:
    mine = ParquetResource(path=str(tmp_path / "p[1]*?.parquet"), create_if_missing=True)
    decoy = ParquetResource(path=str(tmp_path / "p1xy.parquet"), create_if_missing=True)
    await decoy.write([{"who": "decoy"}, {"who": "decoy"}])
    await mine.write([{"who": "mine"}])
    await mine.write([{"who": "mine too"}], mode="append")
    assert await mine.read() == [{"who": "mine"}, {"who": "mine too"}]
    assert await mine.row_count() == 2
    assert [c.name for c in await mine.read_schema()] == ["who"]
    assert await decoy.row_count() == 2


# -- property: whatever fits a column round-trips unchanged ------------------------------------
_KINDS = {
    "int": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "float": st.floats(allow_nan=False, width=64),
    "text": st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    "bool": st.booleans(),
    "decimal": st.decimals(
        min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=6, allow_nan=False
    ),
    "date": st.dates(),
    "naive": st.datetimes(),
    "aware": st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-9, minutes=-30))]),
    ),
    "time": st.times(),
    "uuid": st.uuids(),
    "bytes": st.binary(max_size=10),
    "list": st.lists(st.integers(min_value=-1000, max_value=1000), max_size=4),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from(sorted(_KINDS)), min_size=1, max_size=5),
    data=st.data(),
)
async def test_typed_records_round_trip(
    kinds: list[str], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fields = {f"f{i} ☕": kind for i, kind in enumerate(kinds)}
    value = {name: st.none() | _KINDS[kind] for name, kind in fields.items()}
    rows = data.draw(st.lists(st.fixed_dictionaries(value), min_size=1, max_size=30))
    path = tmp_path_factory.mktemp("pq") / "p.parquet"
    resource = ParquetResource(path=str(path), create_if_missing=True)
    await resource.write(rows)
    back = await resource.read()
    assert back == rows
    async with resource.engine() as db:
        assert await db.fetch_all(f'SELECT * FROM "{resource.engine_view}"') == rows


async def test_nested_values_take_one_type_from_all_of_them(resource: ParquetResource) -> None:
    rows = [
        {"l": [], "s": {"a": None}, "deep": [[]]},
        {"l": [0, None], "s": {"a": 1}, "deep": [[{"x": "é"}]]},
        {"l": None, "s": None, "deep": None},
    ]
    await resource.write(rows)
    assert await resource.read() == rows
    with pytest.raises(XResourceValidationError, match="'mixed' holds nested values"):
        await resource.write([{"mixed": [1]}, {"mixed": [{"a": 1}]}])


async def test_staging_leftovers_of_a_crashed_writer_are_removed(tmp_path: Path) -> None:
    import fcntl
    import os
    import time

    from xresource.files import _staging

    target = tmp_path / "t.parquet"
    crashed = tmp_path / ".t.parquet.abc123.staging"
    crashed.mkdir()
    (crashed / "new.parquet").write_bytes(b"half a file")
    live = tmp_path / ".t.parquet.live99.staging"
    live.mkdir()
    old = time.time() - 60
    for directory in (crashed, live):
        os.utime(directory, (old, old))
    other = tmp_path / ".t.parquet.bak.x1.staging"  # another target's ("t.parquet.bak")
    other.mkdir()
    os.utime(other, (old, old))
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a writer alive in another process
        resource = ParquetResource(path=str(target), create_if_missing=True)
        await resource.write([{"a": 1}])
        left = _left_in(tmp_path)
    finally:
        os.close(fd)
    assert left == sorted(["t.parquet", live.name, other.name])
    assert await resource.read() == [{"a": 1}]
    assert _staging.remove_stale_staging(target) == [live]  # its lock is gone now
