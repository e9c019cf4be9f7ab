"""xinspector on real-world files: messy CSVs, a multi-sheet workbook and nested JSON.

Every record of every file must validate against the model generated for it, the exported
source must define an equivalent model, and the inferred types must keep the data intact
(codes with leading zeros stay text, US-style dates stay text, dates become dates).
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from xinspector import XInspector, model_to_source
from xresource import ResourceFactory


def _import(source: str, directory: Path) -> dict[str, Any]:
    name = f"file_models_{uuid.uuid4().hex[:8]}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return vars(module)


async def _validate_all(inspector: XInspector, collection: str | None, tmp_path: Path) -> int:
    Model = await inspector.generate_model(collection)
    records = await inspector.resource.read(collection)  # type: ignore[attr-defined]
    for record in records:
        Model.model_validate(record)
    Exported = _import(model_to_source(Model), tmp_path)[Model.__name__]
    assert Exported.model_json_schema() == Model.model_json_schema()
    for record in records[:100]:
        assert (
            Exported.model_validate(record).model_dump()
            == Model.model_validate(record).model_dump()
        )
    return len(records)


async def test_amazon_purchases_csv(datasets: Path, tmp_path: Path) -> None:
    path = datasets / "amazon_purchases_csv" / "amazon-purchases-sample.csv"
    inspector = XInspector(ResourceFactory.from_url(str(path)))
    schema = await inspector.discover()
    f = schema.fields
    assert f["ASIN/ISBN (Product Code)"].type == "str"  # 29 ISBNs start with 0
    assert f["Order Date"].type == "str"  # M/D/YYYY is not ISO: left as text
    assert f["Purchase Price Per Unit"].type == "Decimal"
    assert f["Quantity"].type == "int"
    result = await inspector.inspect()
    stats = result.field_statistics
    assert result.total_count == 1816
    assert stats["Shipping Address State"].null_count == 22
    assert stats["Title"].null_count == 67
    assert stats["Category"].null_count == 67
    assert stats["Survey ResponseID"].unique_count == 3
    assert stats["Survey ResponseID"].is_categorical
    assert stats["Quantity"].min == 1
    assert stats["Quantity"].max == 10
    assert await _validate_all(inspector, None, tmp_path) == 1816


@pytest.mark.parametrize("name", ["penguins", "titanic", "taxis"])
async def test_seaborn_csvs(datasets: Path, tmp_path: Path, name: str) -> None:
    inspector = XInspector(ResourceFactory.from_url(str(datasets / "seaborn_csv" / f"{name}.csv")))
    schema = await inspector.discover()
    if name == "taxis":
        assert schema.fields["pickup"].type == "datetime"
        assert schema.fields["passengers"].type == "int"
    if name == "titanic":
        assert schema.fields["adult_male"].type == "bool"
        assert schema.fields["deck"].nullable
        assert schema.fields["age"].nullable
    if name == "penguins":
        assert schema.fields["sex"].nullable
        assert schema.fields["species"].cardinality == "low"
    assert await _validate_all(inspector, None, tmp_path) > 0


async def test_supermarket_workbook_sheets(datasets: Path, tmp_path: Path) -> None:
    resource = ResourceFactory.from_url(
        str(datasets / "supermarket_sales_xlsx" / "supermarket_sales.xlsx")
    )
    inspector = XInspector(resource)
    every = await inspector.discover_all()
    assert set(every) == {"January", "February", "March"}
    assert "gross margin percentage" not in every["January"].fields
    assert "gross margin percentage" in every["February"].fields
    march = every["March"].fields
    assert march["Date"].type == "date"  # format 14 (m/d/yyyy): a date, no time of day
    assert march["Time"].type == "time"
    assert march["Quantity"].type == "int"
    assert march["Branch"].cardinality == "low"
    result = await inspector.inspect("February")
    assert result.total_count == 303
    assert result.field_statistics["Date"].date_min == date(2019, 2, 1)
    assert isinstance(result.field_statistics["Time"].min, time)
    for sheet, rows in (("January", 352), ("February", 303), ("March", 345)):
        assert await _validate_all(inspector, sheet, tmp_path) == rows


async def test_supermarket_csv_with_bom(datasets: Path, tmp_path: Path) -> None:
    path = datasets / "supermarket_sales_xlsx" / "supermarket_Sales.csv"
    inspector = XInspector(ResourceFactory.from_url(str(path)))
    schema = await inspector.discover()
    assert next(iter(schema.fields)) == "Invoice ID"
    assert await _validate_all(inspector, None, tmp_path) == 1000


async def test_chinook_json_collections(datasets: Path, tmp_path: Path) -> None:
    resource = ResourceFactory.from_url(str(datasets / "chinook" / "ChinookData.json"))
    inspector = XInspector(resource)
    track = await inspector.discover("Track")
    assert track.fields["TrackId"].type == "int"
    # The JSON spells an unknown composer "" (977 times), not null: text, not nullable.
    assert track.fields["Composer"].type == "str"
    assert not track.fields["Composer"].nullable
    assert track.fields["UnitPrice"].type == "float"
    result = await inspector.inspect("Track")
    assert result.total_count == 3503
    assert result.field_statistics["GenreId"].unique_count == 25
    assert result.field_statistics["Composer"].min_length == 0
    assert await _validate_all(inspector, "Invoice", tmp_path) == 412
