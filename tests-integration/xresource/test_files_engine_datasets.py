"""The columnar engine and Parquet files on the real public datasets of ``../shared/datasets``.

- Every CSV dataset reads the same through ``read()`` and through the engine's view.
- Every JSON Lines dataset too, up to the one documented difference: a field missing from a
  record is NULL in the view (mixed-type fields, nested ones too, come back as themselves).
- Parquet files written from the datasets read back unchanged, and DuckDB's aggregates over the
  view agree with Python's over ``read()`` (the oracle).
- A DuckDB database file built from a dataset is a database resource (read-only reopen).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import pytest

from xresource import (
    DUCKDB,
    ColumnarFileResource,
    CSVResource,
    DuckDBResource,
    JSONResource,
    ParquetResource,
    ResourceFactory,
)

CSV_FILES = [
    "seaborn_csv/taxis.csv",
    "seaborn_csv/penguins.csv",
    "seaborn_csv/titanic.csv",
    "amazon_purchases_csv/amazon-purchases-sample.csv",
    "supermarket_sales_xlsx/supermarket_Sales.csv",
]
JSON_FILES = [
    "mongodb_json_files/books.json",
    "mongodb_json_files/countries-small.json",
    "mongodb_json_files/grades.json",
    "mongodb_json_files/products.json",
    "mongodb_json_files/restaurant.json",
    "mongodb_json_files/students.json",
    "mongodb_atlas_sample/sample_training/zips.json",
    "mongodb_atlas_sample/sample_mflix/theaters.json",
    "mongodb_atlas_sample/sample_mflix/users.json",
    "mongodb_atlas_sample/sample_geospatial/shipwrecks.json",
    "mongodb_atlas_sample/sample_analytics/customers.json",
]


async def view_rows(resource: ColumnarFileResource, **options: Any) -> list[dict[str, Any]]:
    async with resource.engine(**options) as db:
        return await db.fetch_all(f"SELECT * FROM {DUCKDB.quote(resource.engine_view)}")


@pytest.mark.parametrize("name", CSV_FILES)
async def test_csv_datasets_read_the_same_through_the_engine(datasets: Path, name: str) -> None:
    resource = ResourceFactory.from_url(str(datasets / name))
    assert isinstance(resource, CSVResource)
    expected = await resource.read()
    got = await view_rows(resource)
    assert len(got) == len(expected) > 100
    assert got == expected
    assert [list(r) for r in got[:1]] == [list(r) for r in expected[:1]]


def _as_read(engine_value: Any, read_value: Any) -> Any:
    """The engine's value as ``read()`` gives it: keys a record lacks (NULL in the view) go."""
    if isinstance(engine_value, dict) and isinstance(read_value, dict):
        return {
            k: _as_read(v, read_value.get(k))
            for k, v in engine_value.items()
            if not (v is None and k not in read_value)  # missing key: NULL in a struct
        }
    if isinstance(engine_value, list) and isinstance(read_value, list):
        return [_as_read(v, r) for v, r in zip(engine_value, read_value, strict=False)]
    return engine_value


@pytest.mark.parametrize("name", JSON_FILES)
async def test_json_datasets_read_the_same_through_the_engine(datasets: Path, name: str) -> None:
    resource = JSONResource(path=str(datasets / name))
    expected = await resource.read()
    got = await view_rows(resource)
    assert len(got) == len(expected) > 0
    for engine_row, read_row in zip(got, expected, strict=True):
        assert _as_read(engine_row, read_row) == read_row


async def test_penguins_aggregates_agree_with_python(datasets: Path) -> None:
    resource = CSVResource(path=str(datasets / "seaborn_csv/penguins.csv"))
    records = await resource.read()
    lengths = [float(r["bill_length_mm"]) for r in records if r["bill_length_mm"] != ""]
    by_species: dict[str, int] = {}
    for r in records:
        by_species[r["species"]] = by_species.get(r["species"], 0) + 1
    async with resource.engine(infer_types=True) as db:
        row = await db.fetch_one(
            "SELECT count(*) AS n, count(bill_length_mm) AS present, avg(bill_length_mm) AS mean, "
            "stddev_samp(bill_length_mm) AS sd, quantile_cont(bill_length_mm, 0.25) AS p25 "
            "FROM penguins"
        )
        groups = await db.fetch_all("SELECT species, count(*) AS n FROM penguins GROUP BY 1")
    assert row is not None
    assert (row["n"], row["present"]) == (len(records), len(lengths))
    assert math.isclose(row["mean"], statistics.fmean(lengths), rel_tol=1e-12)
    assert math.isclose(row["sd"], statistics.stdev(lengths), rel_tol=1e-12)
    assert math.isclose(row["p25"], statistics.quantiles(lengths, n=4, method="inclusive")[0])
    assert {g["species"]: g["n"] for g in groups} == by_species


@pytest.mark.parametrize("name", CSV_FILES)
async def test_parquet_round_trip_of_datasets(datasets: Path, name: str, tmp_path: Path) -> None:
    records = await CSVResource(path=str(datasets / name)).read()
    target = ParquetResource(path=str(tmp_path / "copy.parquet"), create_if_missing=True)
    assert await target.write(records) == len(records)
    assert await target.read() == records
    assert await target.row_count() == len(records)
    schema = await target.read_schema()
    assert [c.name for c in schema] == list(records[0])
    assert {c.type for c in schema} == {"VARCHAR"}
    half = len(records) // 2
    await target.write(records[:half])
    await target.write(records[half:], mode="append")
    chunks = [len(c) async for c in target.read_stream(chunk_size=500)]
    assert sum(chunks) == len(records)
    assert max(chunks) <= 500
    assert await view_rows(target) == records


async def test_duckdb_database_built_from_a_dataset(datasets: Path, tmp_path: Path) -> None:
    titanic = CSVResource(path=str(datasets / "seaborn_csv/titanic.csv"))
    records = await titanic.read()
    path = tmp_path / "warehouse.duckdb"
    async with titanic.engine(infer_types=True) as engine:
        typed = await engine.fetch_all("SELECT * FROM titanic")
    async with DuckDBResource(path=str(path)) as db:
        await db.execute(
            "CREATE TABLE titanic (survived INTEGER, pclass INTEGER, sex VARCHAR, age DOUBLE, "
            "fare DOUBLE, embark_town VARCHAR)"
        )
        columns = ["survived", "pclass", "sex", "age", "fare", "embark_town"]
        inserted = await db.copy_records(
            "titanic", columns, ([r[c] for c in columns] for r in typed)
        )
        assert inserted == len(records)
    db = ResourceFactory.from_url(f"duckdb:///{path}?read_only=true")
    assert isinstance(db, DuckDBResource)
    async with db:
        assert await db.list_collections_or_tables() == ["titanic"]
        survivors = await db.fetch_value("SELECT count(*) FROM titanic WHERE survived = $1", [1])
        no_age = await db.fetch_value("SELECT count(*) FROM titanic WHERE age IS NULL")
    assert survivors == sum(r["survived"] == "1" for r in records)
    assert no_age == sum(r["age"] == "" for r in records)
