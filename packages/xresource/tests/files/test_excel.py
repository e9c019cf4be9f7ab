"""ExcelResource: sheets as tables, real dates, both engines, sheet-preserving writes."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from xresource import ExcelResource, XResourceNotFoundError, XResourceValidationError

openpyxl = pytest.importorskip(
    "openpyxl", reason="openpyxl is not installed (pip install 'xresource[excel]')"
)
Font = pytest.importorskip("openpyxl.styles").Font

NEEDS_CALAMINE = pytest.mark.skipif(
    importlib.util.find_spec("python_calamine") is None,
    reason="python-calamine is not installed (pip install 'xresource[excel]')",
)
ENGINES = [pytest.param("calamine", marks=NEEDS_CALAMINE), "openpyxl"]


def temp_files(directory: Path) -> list[Path]:
    """Temporary files a failed write may have left."""
    return [p for p in directory.iterdir() if p.suffix == ".tmp"]


def workbook(path: Path) -> Path:
    """Two sheets: ``Orders`` (dates, times, ints, floats, an empty cell) and ``Notes``."""
    book = openpyxl.Workbook()
    orders = book.active
    assert orders is not None
    orders.title = "Orders"
    orders.append(["id", "code", "day", "at", "stamp", "price", "note"])
    orders.append(
        [1, "007", date(2019, 1, 21), time(10, 0), datetime(2019, 1, 21, 10, 0, 5), 36.36, "first"]
    )
    orders.append(
        [2, "0042", date(2019, 3, 4), time(13, 45), datetime(2019, 3, 4, 13, 45), 2.0, None]
    )
    for row in orders.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].number_format = "m/d/yyyy"
    notes = book.create_sheet("Notes")
    notes.append(["text"])
    notes.append(["hello"])
    notes["A1"].font = Font(bold=True)
    book.save(path)
    return path


@pytest.mark.parametrize("engine", ENGINES)
async def test_sheets_are_tables_with_real_dates(tmp_path: Path, engine: str) -> None:
    r = ExcelResource(path=str(workbook(tmp_path / "b.xlsx")), engine=engine)  # type: ignore[arg-type]
    assert await r.list_collections_or_tables() == ["Orders", "Notes"]
    rows = await r.read()
    # A date-only number format gives a date; a format with a time part gives a datetime.
    assert rows[0]["day"] == date(2019, 1, 21)
    assert type(rows[0]["day"]) is date
    assert rows[0]["at"] == time(10, 0)
    assert rows[0]["stamp"] == datetime(2019, 1, 21, 10, 0, 5)
    assert rows[0]["id"] == 1
    assert isinstance(rows[0]["id"], int)
    assert rows[0]["code"] == "007"
    assert rows[1]["price"] == 2
    assert rows[0]["price"] == 36.36
    assert rows[1]["note"] is None
    assert await r.read(collection="Notes") == [{"text": "hello"}]


@NEEDS_CALAMINE
async def test_engines_agree(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx")
    fast = await ExcelResource(path=str(path), engine="calamine").read()
    slow = await ExcelResource(path=str(path), engine="openpyxl").read()
    assert fast == slow


@pytest.mark.parametrize("engine", ENGINES)
async def test_sheet_selection_by_name_index_and_collection(tmp_path: Path, engine: str) -> None:
    path = workbook(tmp_path / "b.xlsx")
    assert await ExcelResource(path=str(path), sheet="Notes", engine=engine).read() == [  # type: ignore[arg-type]
        {"text": "hello"}
    ]
    assert await ExcelResource(path=str(path), sheet=1, engine=engine).read() == [  # type: ignore[arg-type]
        {"text": "hello"}
    ]
    r = ExcelResource(path=str(path), engine=engine)  # type: ignore[arg-type]
    with pytest.raises(XResourceNotFoundError, match=r"sheet 'Nope' not found.*Orders, Notes"):
        await r.read(collection="Nope")
    with pytest.raises(XResourceNotFoundError, match="index 5 is out of range"):
        await ExcelResource(path=str(path), sheet=5, engine=engine).read()  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
async def test_header_row_header_false_and_offset_tables(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "o.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["C1"] = "report title"
    sheet["C3"], sheet["D3"] = "name", "score"
    sheet["C4"], sheet["D4"] = "Ada", 10
    sheet["C6"], sheet["D6"] = "Grace", 9.5  # row 5 is empty
    book.save(path)
    r = ExcelResource(path=str(path), header_row=3, engine=engine)  # type: ignore[arg-type]
    assert await r.read() == [
        {"column_1": None, "column_2": None, "name": "Ada", "score": 10},
        {"column_1": None, "column_2": None, "name": "Grace", "score": 9.5},
    ]
    r = ExcelResource(path=str(path), header_row=4, header=False, engine=engine)  # type: ignore[arg-type]
    assert [row["column_3"] for row in await r.read()] == ["Ada", "Grace"]
    r = ExcelResource(
        path=str(path), header_row=4, header=["a", "b", "name", "score"], engine=engine
    )  # type: ignore[arg-type]
    assert [row["score"] for row in await r.read()] == [10, 9.5]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("chunk_size", [1, 2, 500])
async def test_streaming_chunks(tmp_path: Path, engine: str, chunk_size: int) -> None:
    path = tmp_path / "s.xlsx"
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(["i", "when"])
    for i in range(1203):
        sheet.append([i, datetime(2024, 1, 1) + timedelta(hours=i)])
    book.save(path)
    r = ExcelResource(path=str(path), engine=engine)  # type: ignore[arg-type]
    chunks = [c async for c in r.read_stream(chunk_size=chunk_size)]
    assert all(len(c) == chunk_size for c in chunks[:-1])
    rows = [row for c in chunks for row in c]
    assert [row["i"] for row in rows] == list(range(1203))
    assert rows[-1]["when"] == datetime(2024, 1, 1) + timedelta(hours=1202)


async def test_write_replaces_one_sheet_and_keeps_the_others(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx")
    r = ExcelResource(path=str(path))
    new = [{"id": 9, "day": date(2020, 2, 29), "at": time(8, 30), "price": 1.5, "code": "0001"}]
    assert await r.write(new, collection="Orders") == 1
    assert await r.list_collections_or_tables() == ["Orders", "Notes"]  # order kept
    assert await r.read(collection="Orders") == [
        {"id": 9, "day": date(2020, 2, 29), "at": time(8, 30), "price": 1.5, "code": "0001"}
    ]
    assert await r.read(collection="Notes") == [{"text": "hello"}]
    book = openpyxl.load_workbook(path)
    assert book["Notes"]["A1"].font.bold is True  # the other sheet keeps its styles


async def test_write_new_workbook_and_new_sheet_and_append(tmp_path: Path) -> None:
    r = ExcelResource(path=str(tmp_path / "n.xlsx"), create_if_missing=True)
    assert await r.list_collections_or_tables() == []
    assert await r.read() == []
    await r.write([{"a": 1, "b": "x"}])
    assert await r.list_collections_or_tables() == ["Sheet1"]
    await r.write([{"k": True}], collection="Extra")
    await r.write([{"b": "y"}, {"a": 3}], mode="append")
    assert await r.read() == [{"a": 1, "b": "x"}, {"a": None, "b": "y"}, {"a": 3, "b": None}]
    assert await r.read(collection="Extra") == [{"k": True}]
    with pytest.raises(XResourceValidationError, match=r"'zzz'.*not columns"):
        await r.write([{"zzz": 1}], mode="append")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (object(), "cannot be written to an Excel cell"),
        ({"nested": 1}, "cannot be written to an Excel cell"),
        (datetime(2024, 1, 1, tzinfo=__import__("datetime").UTC), "time zones"),
        ("bell\x07char", "characters Excel cannot store"),
    ],
)
async def test_bad_values_keep_the_workbook(tmp_path: Path, value: object, match: str) -> None:
    path = workbook(tmp_path / "b.xlsx")
    before = path.read_bytes()
    with pytest.raises(XResourceValidationError, match=match):
        await ExcelResource(path=str(path)).write([{"id": 1}, {"id": value}], collection="Orders")
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


async def test_bad_sheet_name_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx")
    with pytest.raises(XResourceValidationError, match="sheet 'a/b'"):
        await ExcelResource(path=str(path)).write([{"a": 1}], collection="a/b")


@pytest.mark.parametrize("engine", ENGINES)
async def test_corrupt_workbook(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"this is not a zip file")
    r = ExcelResource(path=str(path), engine=engine)  # type: ignore[arg-type]
    with pytest.raises(XResourceValidationError, match="not a readable Excel workbook"):
        await r.read()
    with pytest.raises(XResourceValidationError, match="not a readable Excel workbook"):
        await r.list_collections_or_tables()
    with pytest.raises(XResourceValidationError, match="not a readable Excel workbook"):
        await r.write([{"a": 1}])
    assert path.read_bytes() == b"this is not a zip file"


@pytest.mark.parametrize("engine", ENGINES)
async def test_empty_sheet_and_header_only_sheet(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "e.xlsx"
    book = openpyxl.Workbook()
    assert book.active is not None
    book.active.title = "empty"
    header_only = book.create_sheet("header")
    header_only.append(["a", "b"])
    book.save(path)
    r = ExcelResource(path=str(path), engine=engine)  # type: ignore[arg-type]
    assert await r.read() == []
    assert await r.read(collection="header") == []


async def test_legacy_xls_is_read_only(tmp_path: Path) -> None:
    r = ExcelResource(path=str(tmp_path / "old.xls"), create_if_missing=True)
    with pytest.raises(XResourceValidationError, match=r"\.xls format is read-only"):
        await r.write([{"a": 1}])
    assert not (tmp_path / "old.xls").exists()
