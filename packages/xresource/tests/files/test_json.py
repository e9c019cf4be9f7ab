"""JSONResource and the incremental parser: arrays, JSON Lines, collections, errors, writing."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xresource import JSONResource, XResourceNotFoundError, XResourceValidationError
from xresource.files.jsonstream import JSONStreamError, JSONTokenStream

NESTED = [
    {
        "id": 1,
        "name": "Ada",
        "tags": ["math", "code"],
        "address": {"city": "London", "geo": [51.5, -0.1]},
    },
    {"id": 2, "name": "Grace", "tags": [], "address": None, "note": 'é \u2028 "quoted"'},
]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


# -- the incremental parser ------------------------------------------------------------------------
def parse_array(text: str, block: int) -> list[object]:
    """A whole top-level array through the incremental parser."""
    stream = JSONTokenStream(io.StringIO(text), block_size=block)
    stream.expect_start()
    items = list(stream.iter_array())
    stream.expect_end()
    return items


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(json_values, max_size=8),
    block=st.integers(1, 64),
    indent=st.sampled_from([None, 0, 2]),
)
def test_stream_matches_json_loads(items: list[object], block: int, indent: int | None) -> None:
    text = json.dumps(items, indent=indent, ensure_ascii=False)
    stream = JSONTokenStream(io.StringIO(text), block_size=block)
    assert stream.expect_start() == "["
    assert list(stream.iter_array()) == items
    stream.expect_end()


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('[{"a": 1},\n {"a": 2,,}]', 2, 10),
        ("[1, 2", 1, 6),
        ("[1,\n\n]", 3, 1),
        ("[1 2]", 1, 4),
        ("[1]x", 1, 4),
        ('[{"a": "unterminated}]', 1, 8),
        ("[tru]", 1, 2),
    ],
)
@pytest.mark.parametrize("block", [1, 3, 1024])
def test_stream_errors_name_line_and_column(text: str, line: int, column: int, block: int) -> None:
    with pytest.raises(JSONStreamError) as info:
        parse_array(text, block)
    assert (info.value.line, info.value.column) == (line, column)


def test_stream_large_element_is_not_quadratic() -> None:
    big = [{"blob": "x" * 2_000_000}]
    stream = JSONTokenStream(io.StringIO(json.dumps(big)), block_size=16)
    stream.expect_start()
    assert list(stream.iter_array()) == big


# -- arrays ----------------------------------------------------------------------------------------
async def test_array_round_trip_keeps_nested_documents(tmp_path: Path) -> None:
    r = JSONResource(path=str(tmp_path / "a.json"), create_if_missing=True)
    assert await r.write(NESTED) == 2
    assert await r.read() == NESTED
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8")) == NESTED
    assert await r.list_collections_or_tables() == ["a"]


@pytest.mark.parametrize("chunk_size", [1, 3, 50, 10_000])
async def test_array_streams_in_chunks(tmp_path: Path, chunk_size: int) -> None:
    items = [{"i": i, "nested": {"v": [i, str(i)]}} for i in range(317)]
    path = write(tmp_path, "a.json", json.dumps(items, indent=2))
    chunks = [c async for c in JSONResource(path=str(path)).read_stream(chunk_size=chunk_size)]
    assert all(len(c) == chunk_size for c in chunks[:-1])
    assert [row for c in chunks for row in c] == items


async def test_array_stream_memory_is_bounded(tmp_path: Path) -> None:
    n = 60_000
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[\n")
        fh.write(
            ",\n".join(
                json.dumps({"i": i, "name": f"user {i}", "tags": ["a", "b"], "pad": "x" * 40})
                for i in range(n)
            )
        )
        fh.write("\n]\n")
    r = JSONResource(path=str(path))
    tracemalloc.start()
    sample = await r.read(limit=6_000)
    sample_bytes = tracemalloc.get_traced_memory()[0]
    del sample
    tracemalloc.stop()
    tracemalloc.start()
    count = 0
    async for chunk in r.read_stream(chunk_size=1_000):
        count += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == n
    assert peak < sample_bytes * (n / 6_000) / 5, (peak, sample_bytes)


async def test_array_append_splices_before_the_bracket(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[\n  {"a": 1}\n]  \n\n')
    r = JSONResource(path=str(path))
    assert await r.write([{"a": 2}, {"a": {"b": [3]}}], mode="append") == 2
    assert await r.read() == [{"a": 1}, {"a": 2}, {"a": {"b": [3]}}]
    empty = write(tmp_path, "e.json", "[ ]")
    await JSONResource(path=str(empty)).write([{"x": 1}], mode="append")
    assert json.loads(empty.read_text(encoding="utf-8")) == [{"x": 1}]


async def test_append_to_a_truncated_array_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": 1}, {"a": 2')
    with pytest.raises(XResourceValidationError, match="does not end with"):
        await JSONResource(path=str(path)).write([{"a": 3}], mode="append")
    assert path.read_text(encoding="utf-8") == '[{"a": 1}, {"a": 2'


async def test_append_in_a_non_ascii_compatible_encoding(tmp_path: Path) -> None:
    path = tmp_path / "u16.json"
    path.write_text('[{"a": "é"}]', encoding="utf-16")
    r = JSONResource(path=str(path), encoding="utf-16")
    await r.write([{"a": "ü"}], mode="append")
    assert await r.read() == [{"a": "é"}, {"a": "ü"}]


async def test_writes_dates_decimals_uuids(tmp_path: Path) -> None:
    r = JSONResource(path=str(tmp_path / "d.json"), create_if_missing=True)
    uid = UUID("12345678-1234-5678-1234-567812345678")
    await r.write(
        [{"d": date(2024, 1, 2), "t": datetime(2024, 1, 2, 3, 4), "m": Decimal("1.10"), "u": uid}]
    )
    assert await r.read() == [
        {"d": "2024-01-02", "t": "2024-01-02T03:04:00", "m": "1.10", "u": str(uid)}
    ]


@pytest.mark.parametrize("value", [object(), {1, 2}, b"raw", float("nan")])
async def test_unserializable_values_are_refused(tmp_path: Path, value: object) -> None:
    path = write(tmp_path, "a.json", '[{"keep": true}]')
    with pytest.raises(XResourceValidationError, match="record 1 cannot be written as JSON"):
        await JSONResource(path=str(path)).write([{"ok": 1}, {"bad": value}])
    assert path.read_text(encoding="utf-8") == '[{"keep": true}]'


# -- JSON Lines ------------------------------------------------------------------------------------
async def test_json_lines_detected_from_suffix_and_content(tmp_path: Path) -> None:
    lines = "".join(json.dumps(r) + "\n" for r in NESTED)
    for name in ("a.jsonl", "a.ndjson", "mongoexport.json"):
        path = write(tmp_path, name, lines)
        assert await JSONResource(path=str(path)).read() == NESTED
    # A pretty-printed single document is not mistaken for JSON Lines.
    pretty = write(tmp_path, "one.json", json.dumps(NESTED[0], indent=2))
    assert await JSONResource(path=str(pretty)).read() == [NESTED[0]]
    one_line = write(tmp_path, "one_line.json", json.dumps(NESTED[0]) + "\n")
    assert await JSONResource(path=str(one_line)).read() == [NESTED[0]]


async def test_json_lines_forced_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "x.txt", '{"a": 1}\n\n   \n{"a": 2}\r\n{"a": 3}')
    assert await JSONResource(path=str(path), lines=True).read() == [{"a": 1}, {"a": 2}, {"a": 3}]


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
async def test_json_lines_streams(tmp_path: Path, chunk_size: int) -> None:
    items = [{"i": i} for i in range(11)]
    path = write(tmp_path, "s.jsonl", "".join(json.dumps(i) + "\n" for i in items))
    chunks = [c async for c in JSONResource(path=str(path)).read_stream(chunk_size=chunk_size)]
    assert [row for c in chunks for row in c] == items
    assert all(len(c) == chunk_size for c in chunks[:-1])


async def test_malformed_json_lines_name_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", '{"a": 1}\n{"a": 2}\n{"a": 3,}\n')
    # Python 3.13's json names the trailing comma (column 8), earlier versions the brace after it.
    with pytest.raises(
        XResourceValidationError, match=r"bad\.jsonl.*not valid JSON.*line 3, column [89]\b"
    ):
        await JSONResource(path=str(path)).read()
    path = write(tmp_path, "arr.jsonl", '{"a": 1}\n[1, 2]\n')
    with pytest.raises(XResourceValidationError, match="line 2 is a list, not a JSON object"):
        await JSONResource(path=str(path)).read()


async def test_json_lines_round_trip_and_append(tmp_path: Path) -> None:
    r = JSONResource(path=str(tmp_path / "w.jsonl"), create_if_missing=True, indent=4)
    await r.write(NESTED)
    await r.write([{"id": 3}], mode="append")
    text = (tmp_path / "w.jsonl").read_text(encoding="utf-8")
    assert len(text.rstrip("\n").split("\n")) == 3  # indent never splits a JSON Lines record
    assert await r.read() == [*NESTED, {"id": 3}]


async def test_json_lines_append_without_final_newline(tmp_path: Path) -> None:
    path = write(tmp_path, "n.jsonl", '{"a": 1}')
    await JSONResource(path=str(path)).write([{"a": 2}], mode="append")
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n{"a": 2}\n'


# -- documents and collections ---------------------------------------------------------------------
CHINOOK_LIKE = {
    "Genre": [{"GenreId": 1, "Name": "Rock"}, {"GenreId": 2, "Name": "Jazz"}],
    "MediaType": [],
    "Album": [{"AlbumId": i, "Title": f"t{i}"} for i in range(25)],
}


async def test_mapping_of_arrays_is_a_set_of_collections(tmp_path: Path) -> None:
    path = write(tmp_path, "db.json", json.dumps(CHINOOK_LIKE, indent=1))
    r = JSONResource(path=str(path))
    assert await r.list_collections_or_tables() == ["Genre", "MediaType", "Album"]
    assert await r.read(collection="Album") == CHINOOK_LIKE["Album"]
    assert await r.read(collection="MediaType") == []
    chunks = [c async for c in r.read_stream(chunk_size=10, collection="Album")]
    assert [len(c) for c in chunks] == [10, 10, 5]
    with pytest.raises(XResourceNotFoundError, match="'Track' not found"):
        await r.read(collection="Track")
    with pytest.raises(XResourceValidationError, match=r"several collections.*collection="):
        await r.read()


async def test_single_object_document_is_one_record(tmp_path: Path) -> None:
    doc = {"name": "app", "tags": ["a"], "limits": {"cpu": 2}, "users": [{"id": 1}]}
    path = write(tmp_path, "cfg.json", json.dumps(doc))
    r = JSONResource(path=str(path))
    assert await r.read() == [doc]
    assert await r.list_collections_or_tables() == ["cfg"]
    assert await r.read(collection="cfg") == [doc]
    # A key holding an array of objects can still be read as a collection...
    assert await r.read(collection="users") == [{"id": 1}]
    # ...but an array of strings holds no records.
    with pytest.raises(XResourceValidationError, match="element of 'tags' 0 is a str"):
        await r.read(collection="tags")


async def test_write_a_collection_keeps_the_others(tmp_path: Path) -> None:
    path = write(tmp_path, "db.json", json.dumps(CHINOOK_LIKE))
    r = JSONResource(path=str(path))
    await r.write([{"MediaTypeId": 1}], collection="MediaType")
    await r.write([{"GenreId": 3, "Name": "Blues"}], collection="Genre", mode="append")
    await r.write([{"TrackId": 1}], collection="Track")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["MediaType"] == [{"MediaTypeId": 1}]
    assert doc["Genre"][-1] == {"GenreId": 3, "Name": "Blues"}
    assert len(doc["Genre"]) == 3
    assert doc["Album"] == CHINOOK_LIKE["Album"]
    assert doc["Track"] == [{"TrackId": 1}]


async def test_write_a_collection_into_an_array_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", "[]")
    with pytest.raises(XResourceValidationError, match="not a mapping of collections"):
        await JSONResource(path=str(path)).write([{"a": 1}], collection="other")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # The trailing comma (Python 3.13) or the brace after it (3.11, 3.12).
        ('[{"a": 1}, {"a": 2,}]', r"line 1, column (19|20)\b"),
        ('[{"a": 1},\n\n  {"a": 2]\n', r"line 3, column 10"),
        ('{"Genre": [1, 2], "x": ', "line 1"),
        ("", "empty"),
        ("   \n  ", "empty"),
        ("42", "expected a JSON array or object"),
        ('["text", {"a": 1}]', "element 0 is a str"),
        ('[{"a": 1}] trailing', "extra data"),
    ],
)
async def test_malformed_documents(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, "bad.json", text)
    with pytest.raises(XResourceValidationError, match=match) as info:
        await JSONResource(path=str(path)).read()
    assert "bad.json" in str(info.value)


async def test_non_utf8_json_names_the_byte_offset(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.json", '[{"city": "Köln"}]'.encode("latin-1"))
    with pytest.raises(XResourceValidationError, match="byte offset 12"):
        await JSONResource(path=str(path)).read()
    assert await JSONResource(path=str(path), encoding="latin-1").read() == [{"city": "Köln"}]


async def test_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.json", b'\xef\xbb\xbf[{"a": 1}]')
    assert await JSONResource(path=str(path)).read() == [{"a": 1}]


async def test_json_lines_with_a_huge_first_line_needs_lines_true(tmp_path: Path) -> None:
    # Detection reads at most 1 MiB of the first line; past that, the error says what to do.
    first = json.dumps({"blob": "x" * (1 << 20)})
    path = write(tmp_path, "big.json", first + "\n" + json.dumps({"a": 1}) + "\n")
    with pytest.raises(XResourceValidationError, match="pass lines=True"):
        await JSONResource(path=str(path)).read()
    rows = await JSONResource(path=str(path), lines=True).read()
    assert [len(r) for r in rows] == [1, 1]
    assert rows[1] == {"a": 1}
