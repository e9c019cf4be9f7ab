"""What every file resource shares: paths and base_dir, missing files, URLs, atomic writes."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from xresource import (
    CSVResource,
    JSONResource,
    ResourceFactory,
    XResourceConfigurationError,
    XResourceNotFoundError,
    XResourceValidationError,
)
from xresource.files import FileResource
from xresource.files.atomic import atomic_replace


def file_resource(kind: str, **params: Any) -> FileResource:
    """A file resource by type name (imported only when its extra is installed)."""
    resource = ResourceFactory.create(kind, **params)
    assert isinstance(resource, FileResource)
    return resource


def needs(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip (naming the missing driver) when an optional extra is not installed."""
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"{module} is not installed (pip install 'xresource[{extra}]')",
    )


ALL_TYPES = [
    pytest.param("csv", "data.csv", id="csv"),
    pytest.param("json", "data.json", id="json"),
    pytest.param("json", "data.jsonl", id="jsonl"),
    pytest.param("yaml", "data.yaml", id="yaml", marks=needs("yaml", "yaml")),
    pytest.param("excel", "data.xlsx", id="excel", marks=needs("openpyxl", "excel")),
]
RECORDS = [{"id": "1", "name": "Ada"}, {"id": "2", "name": "Grace"}]


def open_files() -> list[str]:
    """Paths this process has open (Linux ``/proc``)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # the directory's own descriptor is gone by now
    return out


def parser_threads() -> list[threading.Thread]:
    """Live worker threads of CSV streams."""
    return [t for t in threading.enumerate() if t.name.startswith("xresource-csv-read")]


def leftovers(directory: Path) -> list[str]:
    """Temporary files a write may have left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# -- paths and base_dir ----------------------------------------------------------------------------
async def test_relative_path_inside_base_dir_is_read(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.csv").write_text("x\n1\n", encoding="utf-8")
    r = CSVResource(path="sub/a.csv", base_dir=str(tmp_path))
    assert await r.read() == [{"x": "1"}]
    assert r.resolve_path() == (tmp_path / "sub" / "a.csv").resolve()


@pytest.mark.parametrize(
    "hostile", ["../outside.csv", "sub/../../outside.csv", "/etc/passwd", "~/x.csv"]
)
async def test_paths_escaping_base_dir_are_refused(tmp_path: Path, hostile: str) -> None:
    base = tmp_path / "base"
    (base / "sub").mkdir(parents=True)
    (tmp_path / "outside.csv").write_text("secret\n1\n", encoding="utf-8")
    r = CSVResource(path=hostile, base_dir=str(base))
    with pytest.raises(XResourceValidationError, match="escapes base_dir"):
        await r.connect()
    with pytest.raises(XResourceValidationError, match="escapes base_dir"):
        await r.read()
    with pytest.raises(XResourceValidationError, match="escapes base_dir"):
        await r.write([{"a": 1}])
    assert (tmp_path / "outside.csv").read_text(encoding="utf-8") == "secret\n1\n"
    assert await r.validate_connection() is False


async def test_symlink_leaving_base_dir_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\nx\n", encoding="utf-8")
    (base / "link.csv").symlink_to(outside)
    (base / "dirlink").symlink_to(tmp_path)
    for path in ("link.csv", "dirlink/outside.csv"):
        r = CSVResource(path=path, base_dir=str(base))
        with pytest.raises(XResourceValidationError, match="symbolic link"):
            await r.read()
        with pytest.raises(XResourceValidationError, match="symbolic link"):
            await r.write([{"secret": "overwritten"}])
    assert outside.read_text(encoding="utf-8") == "secret\nx\n"


async def test_symlink_inside_base_dir_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "alias.csv").symlink_to(tmp_path / "real.csv")
    r = CSVResource(path="alias.csv", base_dir=str(tmp_path))
    assert await r.read() == [{"a": "1"}]
    # A write replaces the link's target, not the link: the link keeps working.
    await r.write([{"a": "2"}])
    assert (tmp_path / "alias.csv").is_symlink()
    assert (tmp_path / "real.csv").read_text(encoding="utf-8") == "a\n2\n"


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b.csv"])
def test_bad_path_text_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(XResourceConfigurationError, match="path"):
        ResourceFactory.create("csv", path=bad)


def test_unknown_encoding_is_a_configuration_error() -> None:
    with pytest.raises(XResourceConfigurationError, match="unknown text encoding"):
        ResourceFactory.create("csv", path="x.csv", encoding="klingon-8")
    with pytest.raises(XResourceConfigurationError, match="not a text encoding"):
        ResourceFactory.create("csv", path="x.csv", encoding="base64")


# -- missing files, directories --------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "name"), ALL_TYPES)
async def test_missing_file_names_the_path(tmp_path: Path, kind: str, name: str) -> None:
    r = file_resource(kind, path=str(tmp_path / name))
    with pytest.raises(XResourceNotFoundError, match=name) as info:
        await r.connect()
    assert "create_if_missing" in str(info.value)
    with pytest.raises(XResourceNotFoundError):
        await r.read()
    assert await r.validate_connection() is False


@pytest.mark.parametrize(("kind", "name"), ALL_TYPES)
async def test_directory_instead_of_file(tmp_path: Path, kind: str, name: str) -> None:
    (tmp_path / name).mkdir()
    r = file_resource(kind, path=str(tmp_path / name), create_if_missing=True)
    with pytest.raises(XResourceValidationError, match="is a directory"):
        await r.connect()
    with pytest.raises(XResourceValidationError, match="is a directory"):
        await r.write(RECORDS)


async def test_missing_directory_is_named_even_with_create_if_missing(tmp_path: Path) -> None:
    r = CSVResource(path=str(tmp_path / "nope" / "a.csv"), create_if_missing=True)
    with pytest.raises(XResourceNotFoundError, match="directory"):
        await r.connect()


@pytest.mark.parametrize(("kind", "name"), ALL_TYPES)
async def test_create_if_missing_reads_nothing_then_round_trips(
    tmp_path: Path, kind: str, name: str
) -> None:
    r = file_resource(kind, path=str(tmp_path / name), create_if_missing=True)
    await r.connect()
    assert await r.read() == []
    assert [chunk async for chunk in r.read_stream()] == []
    assert await r.write(RECORDS) == 2
    got = await r.read()
    assert [{k: str(v) for k, v in row.items()} for row in got] == RECORDS
    assert leftovers(tmp_path) == []


def test_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    async def go() -> None:
        await CSVResource(path=str(fifo)).read()

    with pytest.raises(XResourceValidationError, match="not a regular file"):
        asyncio.run(go())


# -- URLs and the factory --------------------------------------------------------------------------
def test_file_urls_map_query_parameters_to_fields(tmp_path: Path) -> None:
    r = ResourceFactory.from_url(
        f"file://{tmp_path}/x.csv?delimiter=;&encoding=latin-1&header=false&on_ragged=pad"
    )
    assert isinstance(r, CSVResource)
    assert (r.path, r.delimiter, r.encoding, r.header, r.on_ragged) == (
        f"{tmp_path}/x.csv",
        ";",
        "latin-1",
        False,
        "pad",
    )
    r = ResourceFactory.from_url(
        "file:///data/a.tsv?delimiter=tab&header=id,name", resource_type="csv"
    )
    assert isinstance(r, CSVResource)
    assert (r.delimiter, r.header) == ("\t", ["id", "name"])


def test_bare_paths_pick_the_type_from_the_suffix() -> None:
    assert isinstance(ResourceFactory.from_url("data/events.ndjson"), JSONResource)
    assert isinstance(ResourceFactory.from_url("./data/orders.tsv"), CSVResource)


@needs("yaml", "yaml")
def test_yaml_suffix() -> None:
    assert type(ResourceFactory.from_url("./conf/app.yml")).__name__ == "YAMLResource"


@needs("openpyxl", "excel")
def test_excel_suffix_and_url_parameters() -> None:
    assert type(ResourceFactory.from_url("/srv/report.xlsx")).__name__ == "ExcelResource"
    # In a bare path "?" is part of the name; query parameters need a file: URL.
    r = ResourceFactory.from_url("file:///srv/report.xlsx?sheet=Q1&header_row=2")
    assert r.get_metadata()["format"] == {
        "sheet": "Q1",
        "header": True,
        "header_row": 2,
        "engine": "auto",
    }


def test_unknown_and_invalid_url_parameters_are_refused() -> None:
    with pytest.raises(XResourceConfigurationError, match=r"unknown query parameter.*bogus"):
        ResourceFactory.from_url("file:///x.csv?bogus=1")
    with pytest.raises(XResourceConfigurationError, match="delimiter"):
        ResourceFactory.from_url("file:///x.csv?delimiter=;;")
    with pytest.raises(XResourceConfigurationError, match="on_ragged"):
        ResourceFactory.from_url("file:///x.csv?on_ragged=ignore")


def test_spec_spellings_file_path_and_has_header_are_accepted() -> None:
    r = ResourceFactory.create("csv", name="sales", file_path="/data/s.csv", has_header=False)
    assert isinstance(r, CSVResource)
    assert (r.path, r.header) == ("/data/s.csv", False)


@pytest.mark.usefixtures("isolated_factory")
def test_settings_defaults_apply(tmp_path: Path) -> None:
    ResourceFactory.settings.configure(
        {"resources": {"csv": {"default_encoding": "latin-1", "default_delimiter": ";"}}}
    )
    r = ResourceFactory.create("csv", path=str(tmp_path / "x.csv"))
    assert isinstance(r, CSVResource)
    assert (r.encoding, r.delimiter) == ("latin-1", ";")


# -- metadata --------------------------------------------------------------------------------------
async def test_metadata_has_size_mtime_and_format(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("a;b\n1;2\n", encoding="utf-8")
    r = CSVResource(path=str(path), delimiter=";")
    meta = r.get_metadata()
    assert meta["type"] == "csv"
    assert meta["size"] == 8
    assert meta["exists"] is True
    assert meta["mtime"].startswith(("20", "19"))
    assert meta["format"]["delimiter"] == ";"
    assert meta["resolved_path"] == str(path.resolve())
    assert await r.list_collections_or_tables() == ["m"]


# -- argument checks -------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [0, -1, 1.5, True, "10"])
async def test_bad_chunk_size(tmp_path: Path, chunk_size: object) -> None:
    (tmp_path / "a.csv").write_text("a\n1\n", encoding="utf-8")
    r = CSVResource(path=str(tmp_path / "a.csv"))
    with pytest.raises(XResourceValidationError, match="chunk_size"):
        async for _ in r.read_stream(chunk_size=chunk_size):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize("limit", [-1, 2.0, "3"])
async def test_bad_limit(tmp_path: Path, limit: object) -> None:
    (tmp_path / "a.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(XResourceValidationError, match="limit"):
        await CSVResource(path=str(tmp_path / "a.csv")).read(limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("records", [{"a": 1}, "abc", [1, 2], [{"a": 1}, None], [{1: "x"}], 42])
async def test_bad_records_are_refused_before_touching_the_file(
    tmp_path: Path, records: object
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(XResourceValidationError, match="record"):
        await CSVResource(path=str(path)).write(records)  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == "a\n1\n"


async def test_bad_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(XResourceValidationError, match="mode"):
        await CSVResource(path=str(path)).write([{"a": 1}], mode="upsert")  # type: ignore[arg-type]


# -- atomic writes ---------------------------------------------------------------------------------
def test_atomic_replace_leaves_the_target_alone_on_error(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_bytes(b"old")

    def crash() -> None:
        with atomic_replace(target) as fh:
            fh.write(b"half of the new")
            raise RuntimeError("crash midway")

    with pytest.raises(RuntimeError):
        crash()
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_atomic_replace_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with atomic_replace(target) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(("kind", "name"), ALL_TYPES)
async def test_unserializable_record_midway_keeps_the_original(
    tmp_path: Path, kind: str, name: str
) -> None:
    r = file_resource(kind, path=str(tmp_path / name), create_if_missing=True)
    await r.write(RECORDS)
    before = (tmp_path / name).read_bytes()
    # Many good records first, so that the temporary file really holds a partial write.
    bad = [{"id": str(i), "name": "x" * 50} for i in range(2000)] + [
        {"id": "bad", "name": object()}
    ]
    for mode in ("replace", "append"):
        with pytest.raises(XResourceValidationError, match=r"record|object"):
            await r.write(bad, mode=mode)  # type: ignore[arg-type]
        assert (tmp_path / name).read_bytes() == before
        assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("kind", "name"), ALL_TYPES)
async def test_concurrent_appends_are_serialized(tmp_path: Path, kind: str, name: str) -> None:
    r = file_resource(kind, path=str(tmp_path / name), create_if_missing=True)
    await r.write([{"id": "0", "name": "first"}])
    # Two resources on the same file, several appends at once: none may be lost.
    other = file_resource(kind, path=str(tmp_path / name))
    writers = [
        (r if i % 2 else other).write([{"id": str(i), "name": f"n{i}"}], mode="append")
        for i in range(1, 9)
    ]
    assert await asyncio.gather(*writers) == [1] * 8
    ids = sorted(int(row["id"]) for row in await r.read())
    assert ids == list(range(9))
    assert leftovers(tmp_path) == []


async def test_append_of_nothing_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"a": 1}]', encoding="utf-8")
    stamp = path.stat().st_mtime_ns
    assert await JSONResource(path=str(path)).write([], mode="append") == 0
    assert path.read_text(encoding="utf-8") == '[{"a": 1}]'
    assert path.stat().st_mtime_ns == stamp


async def test_stopping_a_stream_early_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n" + "".join(f"{i}\n" for i in range(5000)), encoding="utf-8")
    r = CSVResource(path=str(path))
    stream = r.read_stream(chunk_size=10)
    first = await stream.__anext__()
    assert first[0] == {"a": "0"}
    await stream.aclose()  # type: ignore[attr-defined]
    # The file handle is released: on Linux, the fd table no longer points at the file.
    assert str(path) not in open_files()


async def test_read_limit_stops_early(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    # The bad row far down would fail a full read; a limited read never gets there.
    path.write_text("a,b\n" + "1,2\n" * 50_000 + "ragged\n", encoding="utf-8")
    r = CSVResource(path=str(path))
    assert len(await r.read(limit=3)) == 3
    assert await r.read(limit=0) == []
    with pytest.raises(XResourceValidationError, match="line 50002"):
        await r.read()


# -- the worker thread that parses -----------------------------------------------------------------
class ThreadRecordingCSV(CSVResource):
    """Records which thread runs the parser."""

    def _iter_chunks(self, path: Path, chunk_size: int, collection: str | None) -> Any:
        for chunk in super()._iter_chunks(path, chunk_size, collection):
            PARSER_THREADS.add(threading.get_ident())
            yield chunk


PARSER_THREADS: set[int] = set()


async def test_parsing_runs_off_the_event_loop_thread(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n" + "1\n" * 1000, encoding="utf-8")
    PARSER_THREADS.clear()
    rows = await ThreadRecordingCSV(path=str(path)).read()
    assert len(rows) == 1000
    assert PARSER_THREADS
    assert threading.get_ident() not in PARSER_THREADS


async def test_cancelled_consumer_stops_the_parser_and_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n" + "".join(f"{i}\n" for i in range(100_000)), encoding="utf-8")
    started = asyncio.Event()

    async def consume() -> None:
        # aclosing: an exception inside `async for` does not close an async generator by itself.
        stream = CSVResource(path=str(path)).read_stream(chunk_size=100)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for _chunk in stream:
                started.set()
                await asyncio.sleep(3600)  # a consumer stuck on something else

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert str(path) not in open_files()  # closed before aclose() returned
    # The parser thread ends right after closing the file (give the scheduler a moment).
    for _ in range(1000):
        if not parser_threads():
            break
        await asyncio.sleep(0.01)
    assert parser_threads() == []


async def test_many_slow_streams_do_not_starve_the_thread_pool(tmp_path: Path) -> None:
    # More open streams than the default executor has threads, each consumer awaiting work of
    # that executor: a stream that parked a pool thread while waiting would deadlock this.
    path = tmp_path / "a.csv"
    path.write_text("a\n" + "".join(f"{i}\n" for i in range(50)), encoding="utf-8")

    async def consume() -> int:
        total = 0
        async for chunk in CSVResource(path=str(path)).read_stream(chunk_size=5):
            total += len(await asyncio.to_thread(list, chunk))
        return total

    results = await asyncio.wait_for(asyncio.gather(*(consume() for _ in range(40))), 60)
    assert results == [50] * 40


async def test_error_in_a_later_chunk_reaches_the_consumer(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n" + "1,2\n" * 100 + "oops\n", encoding="utf-8")
    seen: list[int] = []

    async def consume() -> None:
        async for chunk in CSVResource(path=str(path)).read_stream(chunk_size=10):
            seen.append(len(chunk))

    with pytest.raises(XResourceValidationError, match="line 102"):
        await consume()
    assert sum(seen) == 100
