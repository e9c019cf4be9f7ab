"""ColumnarFileResource.engine(): the file as a DuckDB view gives what read() gives.

CSV is the case that matters: every value is a string, and the engine must decode exactly as the
pure-Python reader (BOM, delimiters, quotes, line endings, empty strings, header names).
Each hostile file here is a bug that a naive ``read_csv`` call has (found while building it).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xobj_prototype import MissingExtraError
from xresource import (
    ColumnarFileResource,
    CSVResource,
    JSONResource,
    XResourceConfigurationError,
    XResourceError,
    XResourceNotFoundError,
    XResourceValidationError,
)
from xresource.files import _engine


async def engine_rows(resource: ColumnarFileResource) -> list[dict[str, Any]]:
    async with resource.engine() as db:
        view = db.dialect.quote(resource.engine_view)
        return await db.fetch_all(f"SELECT * FROM {view}")


async def assert_same(resource: ColumnarFileResource) -> list[dict[str, Any]]:
    expected = await resource.read()
    got = await engine_rows(resource)
    assert got == expected
    # Same column order too (discovery lists columns in file order).
    assert [list(r) for r in got] == [list(r) for r in expected]
    return got


# (file bytes, CSVResource options): each decodes the same through both paths.
HOSTILE_CSV: dict[str, tuple[bytes, dict[str, Any]]] = {
    "bom_crlf_quotes": (
        (
            '\ufeffid,name,note\r\n1,"a,""quoted""",\r\n2,,""\r\n3,"multi\r\nline\nmix", \r\n'
        ).encode(),
        {},
    ),
    "empty_vs_quoted_empty_vs_space": (b'a,b,c\n,"", \n" ",,"  "\n', {}),
    "blank_and_duplicate_header_names": (b"id,,id,name, name \n1,2,3,4,5\n", {}),
    "non_ascii_and_emoji": ("città,名前,emoji\nKöln,東京,☕𝄞\n".encode(), {}),
    "latin1_semicolon": (
        "code;city\n0042;Köln\n007;Zürich\n".encode("latin-1"),
        {"delimiter": ";", "encoding": "latin-1"},
    ),
    "tab_delimited": (b"a\tb\n1\t \n\t\n", {"delimiter": "tab"}),
    "no_header": (b"x,y\n1,2\n", {"header": False}),
    "explicit_header": (b"x,y\n1,2\n", {"header": ["first", "second"]}),
    "leading_and_inner_blank_lines": (b"\n\na,b\n1,2\n\n3,4\n", {}),
    "quote_inside_unquoted_field": (b'a,b\nab"c,5" tall\n', {}),
    "no_final_newline": (b"a,b\n1,2", {}),
    "header_only": (b"a,b\n", {}),
    "empty_file": (b"", {}),
    "numbers_stay_text": (b"n,f,big\n007,1.50,123456789012345678901234567890\n-0,1e-300,NaN\n", {}),
    "nulls_stay_text": (b"a,b\nNULL,NA\nnull,None\n", {}),
    "ragged_short_rows_padded": (b"a,b,c\n1,2\n3,4,5\n", {"on_ragged": "pad"}),
    "ragged_rows_skipped": (b"a,b\n1,2\n3\n4,5,6\n7,8\n", {"on_ragged": "skip"}),
    "pipe_and_other_quote": (b"a|b\n'x|y'|'it''s'\n", {"delimiter": "pipe", "quotechar": "'"}),
    "escapechar_inside_quotes": (b'a,b\n"x\\"y","p\\\\q"\n', {"escapechar": "\\"}),
    "utf16": ("a,b\nä,☕\n".encode("utf-16"), {"encoding": "utf-16"}),
    "huge_field": (b"a,b\n" + b"x" * 3_000_000 + b",y\n", {"field_size_limit": 4_000_000}),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CSV))
async def test_csv_engine_decodes_as_read_does(case: str, tmp_path: Path) -> None:
    data, options = HOSTILE_CSV[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(data)
    resource = CSVResource(path=str(path), **options)
    rows = await assert_same(resource)
    if case != "empty_file":
        assert rows or case == "header_only"


async def test_records_as_long_as_read_accepts_are_read_in_a_large_file(tmp_path: Path) -> None:
    # Four quoted fields of 131,072 four-byte characters (Python's default field limit): over
    # DuckDB's default line size (2 MiB), in a file larger than the bound the engine derives.
    path = tmp_path / "long.csv"
    field = '"' + "𝄞" * 131_072 + '"'
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("a,b,c,d\n1,2,3,4\n" + ",".join([field] * 4) + "\n" + "5,6,7,8\n" * 400_000)
    resource = CSVResource(path=str(path))
    expected = await resource.read()
    async with resource.engine() as db:
        view = db.dialect.quote(resource.engine_view)
        assert await db.fetch_value(f"SELECT count(*) FROM {view}") == len(expected)
        long = await db.fetch_one(f"SELECT * FROM {view} WHERE length(a) > 1")
    assert long == expected[1]


async def test_the_view_sizes_duckdb_buffers_by_the_longest_record(tmp_path: Path) -> None:
    # DuckDB allocates its CSV buffers after max_line_size: a fixed 1 GiB held 2 GB of memory
    # on every file over 1 GB. The bound follows the field limit and the columns.
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1_000_000)
    resource = CSVResource(path=str(path))
    async with resource.engine() as db:
        sql = await db.fetch_value(
            "SELECT sql FROM duckdb_views() WHERE view_name = $1", [resource.engine_view]
        )
    line = int(re.search(r"max_line_size = (\d+)", sql)[1])
    # read()'s longest record (the limit is process-wide: other tests may have raised it), no
    # longer than the file, or DuckDB's default when that is more.
    longest = min(3 * (4 * csv.field_size_limit() + 3), path.stat().st_size + 1)
    assert line == max(longest, 2 << 20)
    assert int(re.search(r"buffer_size = (\d+)", sql)[1]) == 2 * line


async def test_empty_file_view_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    resource = CSVResource(path=str(path))
    async with resource.engine() as db:
        assert await db.fetch_value(f'SELECT count(*) FROM "{resource.engine_view}"') == 0


async def test_ragged_row_fails_as_read_does(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"a,b\n1,tok-secret-9\n2\n")
    resource = CSVResource(path=str(path))
    with pytest.raises(XResourceError):
        await resource.read()
    async with resource.engine() as db:
        with pytest.raises(XResourceError, match="CSV Error") as failed:
            await db.fetch_all("SELECT * FROM ragged")
    assert "tok-secret-9" not in str(failed.value)


@pytest.mark.parametrize("data", [b'a,b\n"x""y",1\n', b"a,b\nx\\,y,1\n"])
async def test_escapes_duckdb_does_not_take_fail_instead_of_misreading(
    data: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "esc.csv"
    path.write_bytes(data)
    resource = CSVResource(path=str(path), escapechar="\\", on_ragged="pad")
    assert (await resource.read())[0]["a"] in ('x"y', "x,y")
    with pytest.raises(XResourceError, match="CSV Error"):
        await engine_rows(resource)


@pytest.mark.parametrize("size", [10, 200_000])
async def test_undecodable_bytes_fail_in_both_paths(size: int, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a\n" + b"ok\n" * size + b"\xff\xfe\n")
    resource = CSVResource(path=str(path))
    with pytest.raises(XResourceError, match="not valid utf-8"):
        await resource.read()
    # A small file fails when the engine opens (its header is read in Python), a large one
    # when DuckDB reaches the bytes: either way an error, never a wrong value.
    with pytest.raises(XResourceError):
        await engine_rows(resource)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"encoding": "cp1252"}, "does not decode 'cp1252'"),
        ({"encoding_errors": "replace"}, "encoding_errors='replace'"),
        ({"skip_blank_lines": False}, "skip_blank_lines=False"),
    ],
)
async def test_csv_options_the_engine_cannot_honour(
    options: dict[str, Any], problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\n1\n")
    with pytest.raises(XResourceConfigurationError, match=problem):
        async with CSVResource(path=str(path), **options).engine():
            pass


async def test_header_names_that_differ_only_by_case(tmp_path: Path) -> None:
    path = tmp_path / "case.csv"
    path.write_bytes(b"id,ID\n1,2\n")
    with pytest.raises(XResourceConfigurationError, match="differ only by case"):
        async with CSVResource(path=str(path)).engine():
            pass


async def test_missing_file_and_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    missing = CSVResource(path=str(tmp_path / "nope.csv"), create_if_missing=True)
    with pytest.raises(XResourceNotFoundError, match="does not exist"):
        async with missing.engine():
            pass
    with pytest.raises(XResourceNotFoundError):
        async with CSVResource(path=str(tmp_path / "nope.csv")).engine():
            pass
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\n1\n")
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # what an install without the extra sees
    monkeypatch.delitem(sys.modules, "xresource.databases.duckdb", raising=False)
    with pytest.raises(MissingExtraError, match=r"xresource\[duckdb\]"):
        async with CSVResource(path=str(path)).engine():
            pass
    assert _engine.EXTRA == "xresource[duckdb]"


async def test_view_name_and_hostile_file_names(tmp_path: Path) -> None:
    path = tmp_path / 'it\'s a "file" ☕.csv'
    path.write_bytes(b"a\n1\n")
    resource = CSVResource(path=str(path))
    assert resource.engine_view == 'it\'s a "file" ☕'
    await assert_same(resource)
    assert CSVResource(path=str(tmp_path / "tab\there.csv")).engine_view == "records"


# -- property: anything CSVResource writes, both paths read back the same -----------------------
_cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
_names = st.lists(
    st.text(alphabet=string.ascii_lowercase + "é ☕", min_size=1, max_size=6),
    min_size=1,
    max_size=5,
    unique_by=lambda n: n.strip().casefold(),
).filter(lambda names: all(n.strip() for n in names))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=_names, data=st.data(), delimiter=st.sampled_from([",", ";", "\t", "|"]))
async def test_written_csv_reads_the_same_through_the_engine(
    names: list[str], data: st.DataObject, delimiter: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rows = data.draw(
        st.lists(st.fixed_dictionaries(dict.fromkeys(names, _cell)), min_size=1, max_size=15)
    )
    path = tmp_path_factory.mktemp("prop") / "p.csv"
    resource = CSVResource(path=str(path), delimiter=delimiter, create_if_missing=True)
    await resource.write(rows)
    try:
        await assert_same(resource)
    except XResourceConfigurationError as refused:
        # A value such as ', "' looks like a spaced quote to the line check: refused, never
        # misread.
        message = str(refused)
    else:
        message = "spaces between it and a delimiter"
    assert "spaces between it and a delimiter" in message


# -- JSON ----------------------------------------------------------------------------------------
async def test_json_lines_array_and_document(tmp_path: Path) -> None:
    lines = tmp_path / "events.jsonl"
    lines.write_text(
        '{"id": 1, "name": "Köln ☕", "tags": ["a"], "n": null}\n\n'
        '{"id": 2, "name": "", "tags": [], "n": 3}\n',
        encoding="utf-8",
    )
    await assert_same(JSONResource(path=str(lines)))
    array = tmp_path / "arr.json"
    array.write_text('[{"a": 1, "b": {"c": "x"}}, {"a": 2, "b": {"c": null}}]', encoding="utf-8")
    await assert_same(JSONResource(path=str(array)))
    document = tmp_path / "one.json"
    document.write_text('{"a": 1, "b": "z"}', encoding="utf-8")
    await assert_same(JSONResource(path=str(document)))


async def test_json_objects_past_duckdbs_default_size_are_read(tmp_path: Path) -> None:
    # DuckDB's default maximum_object_size is 16 MiB; read() takes any line. The view's bound
    # is the longest line of a JSON Lines file (its buffers follow it), the file otherwise.
    long = "é" * (9 << 20)  # 18 MiB of UTF-8
    lines = tmp_path / "long.jsonl"
    lines.write_text(
        '{"n": 1, "s": "x"}\n' + json.dumps({"n": 2, "s": long}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    array = tmp_path / "long.json"
    array.write_text(json.dumps([{"n": 1, "s": long}], ensure_ascii=False), encoding="utf-8")
    for path in (lines, array):
        resource = JSONResource(path=str(path))
        assert await engine_rows(resource) == await resource.read()
        async with resource.engine() as db:
            sql = await db.fetch_value(
                "SELECT sql FROM duckdb_views() WHERE view_name = $1", [resource.engine_view]
            )
        bound = int(re.search(r"maximum_object_size = (\d+)", sql)[1])
        if path is lines:
            assert bound == max(map(len, path.open("rb"))) + 1
        else:
            assert bound == path.stat().st_size + 1


async def test_json_mixed_numbers_read_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    rows = [{"v": 1}, {"v": 2.5}, {"v": None}] * 5000 + [{"v": 1e300}]
    path.write_text("".join(f'{{"v": {"null" if r["v"] is None else r["v"]}}}\n' for r in rows))
    got = await engine_rows(JSONResource(path=str(path)))
    assert [r["v"] for r in got] == [r["v"] for r in rows]


async def test_json_collections_and_encodings_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text('{"Album": [{"a": 1}], "Track": [{"t": 2}]}', encoding="utf-8")
    with pytest.raises(XResourceConfigurationError, match="several collections"):
        async with JSONResource(path=str(path)).engine():
            pass
    latin = tmp_path / "l.jsonl"
    latin.write_bytes(codecs.encode('{"a": "é"}\n', "latin-1"))
    with pytest.raises(XResourceConfigurationError, match="UTF-8"):
        async with JSONResource(path=str(latin), encoding="latin-1").engine():
            pass


async def test_infer_types_types_csv_columns_with_the_same_names(tmp_path: Path) -> None:
    path = tmp_path / "typed.csv"
    path.write_text(
        "id,,price,day,flag,name\n1,x,1.5,2024-01-01,true,Köln\n2,,,2024-02-29,false,\n"
        + "".join(f"{i},,{i}.25,2024-03-01,true,n{i}\n" for i in range(3, 30_000))
        + "30000,,1e308,2024-03-02,false,last\n",
        encoding="utf-8",
    )
    resource = CSVResource(path=str(path))
    async with resource.engine(infer_types=True) as db:
        types = {r["column_name"]: r["column_type"] for r in await db.fetch_all("DESCRIBE typed")}
        first = await db.fetch_all("SELECT * FROM typed LIMIT 2")
        last = await db.fetch_value("SELECT price FROM typed WHERE id = 30000")
    assert types == {
        "id": "BIGINT",
        "column_2": "VARCHAR",
        "price": "DOUBLE",
        "day": "DATE",
        "flag": "BOOLEAN",
        "name": "VARCHAR",
    }
    assert first[1] == {
        "id": 2,
        "column_2": None,
        "price": None,
        "day": dt.date(2024, 2, 29),
        "flag": False,
        "name": None,
    }
    assert last == 1e308


async def test_infer_types_sample_never_gives_a_wrong_value(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text(
        "n,d\n" + "".join(f"{i},1/{1 + i % 28}/2024\n" for i in range(50_000)) + "oops,\n",
        encoding="utf-8",
    )
    resource = CSVResource(path=str(path))
    # A sample of the first rows types n as a number: the late text fails the query.
    async with resource.engine(infer_types=True) as db:
        with pytest.raises(XResourceValidationError, match="CSV Error on Line: 50002"):
            await db.fetch_value("SELECT count(n) FROM late")
        described = await db.fetch_all("DESCRIBE late")
        assert [(r["column_name"], r["column_type"]) for r in described] == [
            ("n", "BIGINT"),
            ("d", "DATE"),  # in the file's own format, which the sniffer found (1/31/2024)
        ]
    # All rows sniffed: n is text, every value is there.
    async with resource.engine(infer_types=-1) as db:
        assert await db.fetch_value("SELECT typeof(n) FROM late LIMIT 1") == "VARCHAR"
        assert await db.fetch_value("SELECT count(*) FROM late WHERE n = 'oops'") == 1
        assert await db.fetch_value("SELECT max(d) FROM late") == dt.date(2024, 1, 28)
    for bad in (0, -2):
        with pytest.raises(XResourceValidationError, match="infer_types"):
            async with resource.engine(infer_types=bad):
                pass


async def test_json_values_come_back_as_json_loads_gives_them(tmp_path: Path) -> None:
    # DuckDB would parse the first three as DATE, UUID and TIME, and read the mixed field as
    # JSON text ('"one"'): the view keeps text as text and mixed values as themselves.
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"d": "2024-01-01", "u": "12345678-1234-5678-1234-567812345678", "t": "10:00:00", '
        '"m": 1, "nested": {"at": "2024-01-01T00:00:00Z"}}\n'
        '{"d": "not a date", "u": "", "t": null, "m": "one", "nested": {"at": null}}\n'
        '{"d": null, "u": "☕", "t": "", "m": [1, "x", null], "nested": null}\n'
        '{"d": "", "u": null, "t": "x", "m": {"k": 1.5}, "nested": {"at": ""}}\n'
        '{"d": "", "u": null, "t": "x", "m": null, "nested": {"at": ""}}\n',
        encoding="utf-8",
    )
    await assert_same(JSONResource(path=str(path)))


async def test_json_engine_without_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import sys

    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n', encoding="utf-8")
    monkeypatch.setitem(sys.modules, "duckdb", None)
    monkeypatch.delitem(sys.modules, "xresource.databases.duckdb", raising=False)
    with pytest.raises(MissingExtraError, match=r"xresource\[duckdb\]"):
        async with JSONResource(path=str(path)).engine():
            pass


@pytest.mark.parametrize(
    ("name", "decoy"), [("x[1].csv", "x1.csv"), ("q?.csv", "qq.csv"), ("s*.csv", "sa.csv")]
)
async def test_glob_characters_in_file_names_are_literal(name: str, decoy: str, tmp_path: Path):
    # DuckDB's readers expand *, ? and [...]: x[1].csv would read x1.csv, q?.csv both files.
    (tmp_path / name).write_bytes(b"a\nmine\n")
    (tmp_path / decoy).write_bytes(b"a\ndecoy\n")
    assert await engine_rows(CSVResource(path=str(tmp_path / name))) == [{"a": "mine"}]


# -- property: on any text, the engine gives read()'s records or an error, never others ---------
SPACED_QUOTES = [
    b'a,b\n1, "x"\n',  # a space before an opening quote: read() keeps ' "x"'
    b'a,b\n"x" ,1\n',  # after a closing quote: read() keeps 'x '
    b'a,b\n"x" ""\n',  # between a closing quote and a quote: read() keeps 'x ""'
    b'a,b\n"x"\t\n',  # a tab at the end of the line
    b'a, "b"\n1,2\n',  # in the header too
    # Refused too, though read() and DuckDB would agree: a quoted value holding a delimiter, a
    # space and a doubled quote looks the same line by line (the price of a one-pass check).
    b'a,b\n1,"say, ""hi"""\n',
]


@pytest.mark.parametrize("data", SPACED_QUOTES)
async def test_spaces_around_quotes_are_refused_up_front(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "spaced.csv"
    path.write_bytes(data)
    resource = CSVResource(path=str(path), on_ragged="pad")
    assert await resource.read()  # read() accepts the file: quotes and spaces are text there
    with pytest.raises(XResourceConfigurationError, match="spaces between it and a delimiter"):
        await engine_rows(resource)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.lists(
        st.sampled_from(["a", "b", ",", '"', "\n", "\r\n", "\r", " ", "\t", "é", '""', ",,"]),
        max_size=30,
    ).map("".join),
    ragged=st.sampled_from(["error", "skip", "pad"]),
)
async def test_any_text_reads_the_same_or_fails(
    body: str, ragged: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_text("x,y\n" + body, encoding="utf-8", newline="")
    resource = CSVResource(path=str(path), on_ragged=ragged)  # type: ignore[arg-type]
    try:
        expected = await resource.read()
    except XResourceError:
        return  # read() refuses it: no answer to compare with
    try:
        got = await engine_rows(resource)
    except XResourceError:
        return  # the engine may fail where read() answers, never answer otherwise
    assert got == expected
