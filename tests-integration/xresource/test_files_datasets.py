"""File resources against the real public datasets of ``../shared/datasets``.

Every count asserted here comes from the dataset's ``SOURCE.md``; the datasets are read in place
(never copied into the repository), through the ``datasets`` fixture.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, time
from pathlib import Path

import pytest
from chinook import CHINOOK_COUNTS

from xresource import CSVResource, ExcelResource, JSONResource, ResourceFactory


# -- seaborn CSVs: timestamps and missing values ---------------------------------------------------
@pytest.mark.parametrize(
    ("name", "rows", "columns", "empty"),
    [
        (
            "taxis",
            6433,
            14,
            {
                "payment": 44,
                "pickup_zone": 26,
                "dropoff_zone": 45,
                "pickup_borough": 26,
                "dropoff_borough": 45,
            },
        ),
        ("penguins", 344, 7, {"sex": 11, "bill_length_mm": 2, "body_mass_g": 2}),
        ("titanic", 891, 15, {"age": 177, "deck": 688, "embarked": 2, "embark_town": 2}),
    ],
)
async def test_seaborn_csvs(
    datasets: Path, name: str, rows: int, columns: int, empty: dict[str, int]
) -> None:
    r = ResourceFactory.from_url(f"file://{datasets / 'seaborn_csv' / name}.csv")
    assert isinstance(r, CSVResource)
    async with r:
        records = await r.read()
        assert await r.list_collections_or_tables() == [name]
    assert len(records) == rows
    assert {len(rec) for rec in records} == {columns}
    for column, count in empty.items():
        assert sum(rec[column] == "" for rec in records) == count, column
    # Values stay text: the missing ones are "", not None.
    assert all(isinstance(v, str) for rec in records for v in rec.values())


async def test_seaborn_taxis_streams_in_chunks(datasets: Path) -> None:
    r = CSVResource(path=str(datasets / "seaborn_csv" / "taxis.csv"))
    sizes = [len(chunk) async for chunk in r.read_stream(chunk_size=1000)]
    assert sizes == [1000] * 6 + [433]
    first = (await r.read(limit=1))[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first["pickup"])
    colors = Counter([rec["color"] async for chunk in r.read_stream() for rec in chunk])
    assert colors == {"yellow": 5451, "green": 982}


# -- the messy Amazon purchases CSV ----------------------------------------------------------------
async def test_amazon_purchases_messy_csv(datasets: Path) -> None:
    path = datasets / "amazon_purchases_csv" / "amazon-purchases-sample.csv"
    assert b"\r\n" in path.read_bytes()[:2000]  # the CRLF the test is about
    r = CSVResource(path=str(path))
    records = await r.read()
    assert len(records) == 1816
    assert {len(rec) for rec in records} == {8}
    assert "\r" not in "".join(v for rec in records for v in rec.values())
    dates = [rec["Order Date"] for rec in records]
    # M/D/YYYY without zero padding, kept as written.
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/20\d\d", d) for d in dates)
    assert "1/18/2018" in dates
    codes = [rec["ASIN/ISBN (Product Code)"] for rec in records]
    isbns = [c for c in codes if c.isdigit()]
    assert len(isbns) == 68
    assert sum(c.startswith("0") for c in isbns) == 29  # leading zeros survive
    assert "0062465600" in codes
    assert sum(rec["Shipping Address State"] == "" for rec in records) == 22
    assert sum(rec["Title"] == "" for rec in records) == 67
    assert sum(rec["Category"] == "" for rec in records) == 67
    assert len({rec["Survey ResponseID"] for rec in records}) == 3
    # Titles with commas were quoted: they are one field, not several.
    assert records[0]["Title"].startswith("NOW Foods, Certified Organic Better Stevia,")
    assert sum("," in rec["Title"] for rec in records) > 100
    assert any("°" in rec["Title"] or "é" in rec["Title"] for rec in records)


# -- the supermarket workbook and its CSV twin -----------------------------------------------------
SHEETS = {"January": (352, 16), "February": (303, 17), "March": (345, 17)}


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
async def test_supermarket_workbook(datasets: Path, engine: str) -> None:
    path = datasets / "supermarket_sales_xlsx" / "supermarket_sales.xlsx"
    r = ExcelResource(path=str(path), engine=engine)  # type: ignore[arg-type]
    assert await r.list_collections_or_tables() == list(SHEETS)
    total = 0
    for sheet, (rows, columns) in SHEETS.items():
        records = await r.read(collection=sheet)
        assert len(records) == rows
        assert {len(rec) for rec in records} == {columns}
        assert ("gross margin percentage" in records[0]) is (sheet != "January")
        for rec in records:
            day = rec["Date"]
            # Real date cells (number format 14, m/d/yyyy): a date with either engine.
            assert type(day) is date
            assert date(2019, 1, 1) <= day <= date(2019, 3, 30)
            assert isinstance(rec["Time"], time)
            assert isinstance(rec["Quantity"], int)
            # Whole numbers come back as int (as openpyxl reads them), the rest as float.
            assert isinstance(rec["Total"], int | float)
            assert not isinstance(rec["Total"], bool)
        total += len(records)
    assert total == 1000
    first = (await r.read(collection="January", limit=1))[0]
    assert first["Invoice ID"] == "316-68-6352"
    assert first["Tax 5%"] == pytest.approx(3.636)


async def test_supermarket_sheet_streams(datasets: Path) -> None:
    path = datasets / "supermarket_sales_xlsx" / "supermarket_sales.xlsx"
    r = ExcelResource(path=str(path), sheet="March")
    sizes = [len(c) async for c in r.read_stream(chunk_size=100)]
    assert sizes == [100, 100, 100, 45]


async def test_supermarket_csv_twin_matches_the_workbook(datasets: Path, tmp_path: Path) -> None:
    folder = datasets / "supermarket_sales_xlsx"
    csv_path = folder / "supermarket_Sales.csv"
    records = await CSVResource(path=str(csv_path)).read()
    assert len(records) == 1000
    assert {len(rec) for rec in records} == {17}
    assert next(iter(records[0])) == "Invoice ID"  # no BOM glued to the first name
    assert "Customer stratification rating" in records[0]
    book = ExcelResource(path=str(folder / "supermarket_sales.xlsx"))
    invoices = {rec["Invoice ID"] for sheet in SHEETS for rec in await book.read(collection=sheet)}
    assert {rec["Invoice ID"] for rec in records} == invoices
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/2019", rec["Date"]) for rec in records)
    # The same bytes behind a UTF-8 byte order mark read the same.
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + csv_path.read_bytes())
    assert await CSVResource(path=str(bom)).read() == records


# -- JSON: Chinook's mapping of tables, MongoDB's NDJSON exports -----------------------------------


async def test_chinook_json_collections(datasets: Path) -> None:
    r = JSONResource(path=str(datasets / "chinook" / "ChinookData.json"))
    assert sorted(await r.list_collections_or_tables()) == sorted(CHINOOK_COUNTS)
    counts = {}
    for table in CHINOOK_COUNTS:
        counts[table] = sum([len(c) async for c in r.read_stream(chunk_size=500, collection=table)])
    assert counts == CHINOOK_COUNTS
    assert sum(counts.values()) == 15607
    tracks = await r.read(collection="Track")
    # The SQL scripts' 977 NULL composers are empty strings in the JSON source.
    assert sum(t["Composer"] == "" for t in tracks) == 977
    assert any("\\" in t["Name"] for t in tracks)
    artists = await r.read(collection="Artist")
    assert any(a["Name"] == "Antônio Carlos Jobim" for a in artists)


MONGO_FILES = {
    "books": 431,
    "countries-small": 248,
    "grades": 280,
    "products": 11,
    "restaurant": 2548,
    "students": 200,
}


@pytest.mark.parametrize(("name", "count"), MONGO_FILES.items())
async def test_mongodb_ndjson_files(datasets: Path, name: str, count: int) -> None:
    # Suffix .json, content one document per line: detected as JSON Lines.
    r = JSONResource(path=str(datasets / "mongodb_json_files" / f"{name}.json"))
    records = await r.read()
    assert len(records) == count
    streamed = [rec async for chunk in r.read_stream(chunk_size=97) for rec in chunk]
    assert streamed == records


async def test_mongodb_ndjson_documents_stay_nested(datasets: Path) -> None:
    folder = datasets / "mongodb_json_files"
    books = await JSONResource(path=str(folder / "books.json")).read()
    assert sum(isinstance(b["_id"], int) for b in books) == 399
    dated = [b for b in books if "publishedDate" in b]
    assert len(dated) == 353
    assert dated[0]["publishedDate"] == {"$date": "2009-04-01T00:00:00.000-0700"}
    assert Counter(b["status"] for b in books) == {"PUBLISH": 363, "MEAP": 68}
    countries = await JSONResource(path=str(folder / "countries-small.json")).read()
    assert all(isinstance(c["name"]["native"], dict) for c in countries)
    restaurants = await JSONResource(path=str(folder / "restaurant.json")).read()
    assert "address line 2" in restaurants[0]
    assert sum(r["rating"] == "Not yet rated" for r in restaurants) == 63
    total = 0
    for name in MONGO_FILES:
        total += len(await JSONResource(path=str(folder / f"{name}.json")).read())
    assert total == 3718
