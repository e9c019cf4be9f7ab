"""CSVResource: dialects, headers, ragged rows, encodings, streaming, writing."""

from __future__ import annotations

import csv
import tracemalloc
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from xresource import CSVResource, XResourceNotFoundError, XResourceValidationError


def make(tmp_path: Path, content: str | bytes, name: str = "t.csv", **kw: object) -> CSVResource:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return CSVResource(path=str(path), **kw)  # type: ignore[arg-type]


# -- reading ---------------------------------------------------------------------------------------
async def test_values_stay_strings_exactly_as_written(tmp_path: Path) -> None:
    r = make(tmp_path, 'code,city,price,note\r\n007,"Paris, France",1.50,NA\r\n0042,,NULL,""\r\n')
    assert await r.read() == [
        {"code": "007", "city": "Paris, France", "price": "1.50", "note": "NA"},
        {"code": "0042", "city": "", "price": "NULL", "note": ""},
    ]


async def test_quoted_newlines_and_doubled_quotes(tmp_path: Path) -> None:
    r = make(tmp_path, 'a,b\n"line 1\nline 2","say ""hi"""\n')
    assert await r.read() == [{"a": "line 1\nline 2", "b": 'say "hi"'}]


async def test_delimiter_quotechar_escapechar(tmp_path: Path) -> None:
    r = make(tmp_path, "a;b\n'x;y';z\n", delimiter=";", quotechar="'")
    assert await r.read() == [{"a": "x;y", "b": "z"}]
    r = make(tmp_path, "a\tb\n1\t2\n", name="t.tsv", delimiter="tab")
    assert await r.read() == [{"a": "1", "b": "2"}]
    r = make(tmp_path, "a,b\n1\\,5,2\n", name="e.csv", escapechar="\\")
    assert await r.read() == [{"a": "1,5", "b": "2"}]


async def test_header_false_names_columns(tmp_path: Path) -> None:
    r = make(tmp_path, "1,2,3\n4,5,6\n", header=False)
    assert await r.read() == [
        {"column_1": "1", "column_2": "2", "column_3": "3"},
        {"column_1": "4", "column_2": "5", "column_3": "6"},
    ]


async def test_explicit_header_treats_every_row_as_data(tmp_path: Path) -> None:
    r = make(tmp_path, "1,Ada\n2,Grace\n", header=["id", "name"])
    assert await r.read() == [{"id": "1", "name": "Ada"}, {"id": "2", "name": "Grace"}]


def test_explicit_header_must_be_usable() -> None:
    with pytest.raises(ValueError, match="unique"):
        CSVResource(path="x.csv", header=["a", "a"])
    with pytest.raises(ValueError, match="at least one"):
        CSVResource(path="x.csv", header=[])


async def test_blank_and_duplicate_header_names_are_made_unique(tmp_path: Path) -> None:
    r = make(tmp_path, "id,,id,name,id_2\n1,2,3,4,5\n")
    assert await r.read() == [{"id": "1", "column_2": "2", "id_3": "3", "name": "4", "id_2": "5"}]


async def test_bom_is_dropped_with_utf8_and_utf8_sig(tmp_path: Path) -> None:
    for encoding in ("utf-8", "utf-8-sig", "UTF8"):
        r = make(tmp_path, "\ufeffInvoice ID,Total\r\n1,2\r\n".encode(), encoding=encoding)
        assert await r.read() == [{"Invoice ID": "1", "Total": "2"}]


async def test_latin1_file(tmp_path: Path) -> None:
    r = make(
        tmp_path, "stadt;code\nKöln;0042\n".encode("latin-1"), delimiter=";", encoding="latin-1"
    )
    assert await r.read() == [{"stadt": "Köln", "code": "0042"}]


async def test_non_utf8_bytes_name_the_file_and_byte_offset(tmp_path: Path) -> None:
    content = b"a,b\n" + b"x,y\n" * 30_000 + b"caf\xe9,1\n"
    r = make(tmp_path, content)
    offset = len(b"a,b\n" + b"x,y\n" * 30_000) + 3
    with pytest.raises(XResourceValidationError) as info:
        await r.read()
    message = str(info.value)
    assert f"byte offset {offset}" in message
    assert "line 30002" in message
    assert "t.csv" in message
    assert "encoding" in message
    # ...unless encoding_errors says otherwise.
    r = make(tmp_path, content, encoding_errors="replace")
    rows = await r.read()
    assert rows[-1] == {"a": "caf\ufffd", "b": "1"}


async def test_bad_multibyte_sequence_split_across_blocks(tmp_path: Path) -> None:
    # A truncated 3-byte character right at a 1 MiB block boundary of the offset scan.
    head = b"a\n" + (b"x" * 99 + b"\n") * 10485 + b"y" * 72 + b"\n"
    assert len(head) == (1 << 20) - 1  # the bad sequence starts at the last byte of the block
    r = make(tmp_path, head + b"\xe2\x82\n")
    with pytest.raises(XResourceValidationError, match=f"byte offset {len(head)}"):
        await r.read()


async def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    assert await make(tmp_path, "").read() == []
    assert await make(tmp_path, "\n\n", name="blank.csv").read() == []
    assert await make(tmp_path, "a,b,c\r\n", name="h.csv").read() == []
    assert [c async for c in make(tmp_path, "a,b\n", name="h2.csv").read_stream()] == []


async def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    r = make(tmp_path, "\na,b\n\n1,2\n\n3,4\n")
    assert await r.read() == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    r = make(tmp_path, "a\n1\n\n2\n", name="k.csv", skip_blank_lines=False, on_ragged="pad")
    assert await r.read() == [{"a": "1"}, {"a": None}, {"a": "2"}]


# -- ragged rows -----------------------------------------------------------------------------------
RAGGED = 'a,b,c\n1,2,3\n4,5\n"multi\nline",x,y\n6,7,8,9,10\n11,12,13\n'


async def test_ragged_rows_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(XResourceValidationError, match=r"line 3 has 2 fields.*header has 3"):
        await make(tmp_path, RAGGED).read()
    # The line number counts the physical lines of a quoted multi-line field.
    good_first = 'a,b,c\n1,2,3\n"multi\nline",x,y\n6,7,8,9\n'
    with pytest.raises(XResourceValidationError, match="line 5 has 4 fields"):
        await make(tmp_path, good_first, name="m.csv").read()


async def test_ragged_rows_error_line_in_a_later_chunk(tmp_path: Path) -> None:
    content = "a,b\n" + "1,2\n" * 25 + "3\n"
    with pytest.raises(XResourceValidationError, match="line 27 "):
        async for _ in make(tmp_path, content).read_stream(chunk_size=10):
            pass


async def test_ragged_rows_pad(tmp_path: Path) -> None:
    rows = await make(tmp_path, RAGGED, on_ragged="pad").read()
    assert rows == [
        {"a": "1", "b": "2", "c": "3"},
        {"a": "4", "b": "5", "c": None},
        {"a": "multi\nline", "b": "x", "c": "y"},
        {"a": "6", "b": "7", "c": "8", "_extra": ["9", "10"]},
        {"a": "11", "b": "12", "c": "13"},
    ]
    rows = await make(tmp_path, RAGGED, on_ragged="pad", extra_key="rest").read()
    assert rows[3]["rest"] == ["9", "10"]


async def test_ragged_rows_skip(tmp_path: Path) -> None:
    rows = await make(tmp_path, RAGGED, on_ragged="skip").read()
    assert [r["a"] for r in rows] == ["1", "multi\nline", "11"]


async def test_header_false_ragged_against_first_row(tmp_path: Path) -> None:
    rows = await make(tmp_path, "1,2\n3\n4,5,6\n", header=False, on_ragged="pad").read()
    assert rows == [
        {"column_1": "1", "column_2": "2"},
        {"column_1": "3", "column_2": None},
        {"column_1": "4", "column_2": "5", "_extra": ["6"]},
    ]


# -- limits ----------------------------------------------------------------------------------------
async def test_huge_field_is_refused_then_accepted_with_field_size_limit(tmp_path: Path) -> None:
    previous = csv.field_size_limit()
    try:
        csv.field_size_limit(131072)
        huge = "x" * 300_000
        content = f"a,b\n1,{huge}\n"
        with pytest.raises(
            XResourceValidationError,
            match=r"line 2.*field larger than field limit.*field_size_limit",
        ):
            await make(tmp_path, content).read()
        rows = await make(tmp_path, content, field_size_limit=1_000_000).read()
        assert rows == [{"a": "1", "b": huge}]
    finally:
        csv.field_size_limit(previous)


async def test_collection_is_the_stem(tmp_path: Path) -> None:
    r = make(tmp_path, "a\n1\n", name="orders.csv")
    assert await r.list_collections_or_tables() == ["orders"]
    assert await r.read(collection="orders") == [{"a": "1"}]
    with pytest.raises(XResourceNotFoundError, match="'users' not found"):
        await r.read(collection="users")


# -- streaming -------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [1, 7, 100, 1000, 10_000])
async def test_stream_chunk_sizes(tmp_path: Path, chunk_size: int) -> None:
    n = 2345
    r = make(tmp_path, "i,s\n" + "".join(f"{i},v{i}\n" for i in range(n)))
    chunks = [c async for c in r.read_stream(chunk_size=chunk_size)]
    assert all(len(c) == chunk_size for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= chunk_size
    flat = [row for c in chunks for row in c]
    assert [int(row["i"]) for row in flat] == list(range(n))
    assert flat == await r.read()


async def test_stream_memory_is_bounded(tmp_path: Path) -> None:
    rows = 200_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"col{i}" for i in range(8)])
        for i in range(rows):
            writer.writerow([i, f"name {i}", "0042", "2024-01-01", "x" * 20, i * 3, "", "end"])
    r = CSVResource(path=str(path))
    # What the whole file costs as records, measured on a slice and scaled up.
    tracemalloc.start()
    sample = await r.read(limit=20_000)
    sample_bytes = tracemalloc.get_traced_memory()[0]
    del sample
    tracemalloc.stop()
    whole_file_estimate = sample_bytes * rows / 20_000

    tracemalloc.start()
    count = 0
    async for chunk in r.read_stream(chunk_size=5_000):
        count += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == rows
    # A few chunks at most, never the file: well under a tenth of it.
    assert peak < whole_file_estimate / 10, (peak, whole_file_estimate)


# -- writing ---------------------------------------------------------------------------------------
async def test_write_then_read_round_trip(tmp_path: Path) -> None:
    r = CSVResource(path=str(tmp_path / "out.csv"), create_if_missing=True)
    records = [
        {"code": "007", "name": "Paris, France", "note": 'say "hi"', "multi": "a\nb"},
        {"code": "0042", "name": "Köln", "note": "", "multi": None},
    ]
    assert await r.write(records) == 2
    assert await r.read() == [
        {"code": "007", "name": "Paris, France", "note": 'say "hi"', "multi": "a\nb"},
        {"code": "0042", "name": "Köln", "note": "", "multi": ""},
    ]


async def test_write_scalars_and_dates(tmp_path: Path) -> None:
    r = CSVResource(path=str(tmp_path / "out.csv"), create_if_missing=True)
    await r.write(
        [
            {
                "i": 1,
                "f": 2.5,
                "b": True,
                "d": date(2024, 1, 2),
                "t": datetime(2024, 1, 2, 3, 4, 5),
                "dec": Decimal("1.10"),
            }
        ]
    )
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == (
        "i,f,b,d,t,dec\n1,2.5,True,2024-01-02,2024-01-02T03:04:05,1.10\n"
    )


async def test_columns_are_the_union_of_keys_in_order(tmp_path: Path) -> None:
    r = CSVResource(path=str(tmp_path / "out.csv"), create_if_missing=True)
    await r.write([{"a": 1}, {"b": 2, "a": 3}, {"c": 4}])
    assert await r.read() == [
        {"a": "1", "b": "", "c": ""},
        {"a": "3", "b": "2", "c": ""},
        {"a": "", "b": "", "c": "4"},
    ]


@pytest.mark.parametrize("value", [{"nested": 1}, [1, 2], b"bytes", {1, 2}, object()])
async def test_values_without_a_csv_form_are_refused(tmp_path: Path, value: object) -> None:
    path = tmp_path / "out.csv"
    path.write_text("a\nkeep\n", encoding="utf-8")
    with pytest.raises(XResourceValidationError, match="record 1 field 'a'"):
        await CSVResource(path=str(path)).write([{"a": "ok"}, {"a": value}])
    assert path.read_text(encoding="utf-8") == "a\nkeep\n"


async def test_append_keeps_header_bom_and_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbfid,name\r\n1,Ada")  # no final newline
    r = CSVResource(path=str(path))
    assert await r.write([{"name": "Grace", "id": 2}, {"id": 3}], mode="append") == 2
    assert path.read_bytes() == b"\xef\xbb\xbfid,name\r\n1,Ada\r\n2,Grace\r\n3,\r\n"
    assert await r.read() == [
        {"id": "1", "name": "Ada"},
        {"id": "2", "name": "Grace"},
        {"id": "3", "name": ""},
    ]


async def test_append_refuses_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,name\n1,Ada\n", encoding="utf-8")
    with pytest.raises(XResourceValidationError, match=r"'email'.*not\s+columns"):
        await CSVResource(path=str(path)).write([{"id": 2, "email": "x@y"}], mode="append")
    assert path.read_text(encoding="utf-8") == "id,name\n1,Ada\n"


async def test_append_to_missing_or_empty_file_writes_a_header(tmp_path: Path) -> None:
    r = CSVResource(path=str(tmp_path / "new.csv"), create_if_missing=True)
    await r.write([{"a": 1}], mode="append")
    await r.write([{"a": 2}], mode="append")
    assert (tmp_path / "new.csv").read_text(encoding="utf-8") == "a\n1\n2\n"


async def test_write_with_header_false_and_explicit_header(tmp_path: Path) -> None:
    r = CSVResource(path=str(tmp_path / "n.csv"), create_if_missing=True, header=False)
    await r.write([{"column_1": "x", "column_2": "y"}])
    assert (tmp_path / "n.csv").read_text(encoding="utf-8") == "x,y\n"
    await r.write([{"column_1": "z", "column_2": "w"}], mode="append")
    assert await r.read() == [
        {"column_1": "x", "column_2": "y"},
        {"column_1": "z", "column_2": "w"},
    ]
    e = CSVResource(path=str(tmp_path / "e.csv"), create_if_missing=True, header=["b", "a"])
    await e.write([{"a": 1, "b": 2}])
    assert (tmp_path / "e.csv").read_text(encoding="utf-8") == "b,a\n2,1\n"


async def test_unencodable_value_is_refused_and_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes("a\nKöln\n".encode("latin-1"))
    r = CSVResource(path=str(path), encoding="latin-1")
    with pytest.raises(XResourceValidationError, match="latin-1"):
        await r.write([{"a": "東京"}], mode="append")
    assert path.read_bytes() == "a\nKöln\n".encode("latin-1")


async def test_utf8_sig_writes_one_bom(tmp_path: Path) -> None:
    r = CSVResource(
        path=str(tmp_path / "b.csv"),
        create_if_missing=True,
        encoding="utf-8-sig",
        line_terminator="\r\n",
    )
    await r.write([{"a": 1}])
    await r.write([{"a": 2}], mode="append")
    assert (tmp_path / "b.csv").read_bytes() == b"\xef\xbb\xbfa\r\n1\r\n2\r\n"


def test_dialect_fields_are_validated() -> None:
    for bad in (
        {"delimiter": ""},
        {"delimiter": ",,"},
        {"quotechar": "\n"},
        {"on_ragged": "ignore"},
        {"field_size_limit": 0},
    ):
        with pytest.raises(ValueError):
            CSVResource(path="x.csv", **bad)  # type: ignore[arg-type]
