"""YAMLResource: safe loading only, list / mapping-of-lists / multi-document layouts, streaming."""

from __future__ import annotations

import tracemalloc
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from xresource import XResourceNotFoundError, XResourceValidationError

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install 'xresource[yaml]')")

from xresource.files import YAMLResource  # noqa: E402 - needs PyYAML, checked above


def temp_files(directory: Path) -> list[Path]:
    """Temporary files a failed write may have left."""
    return [p for p in directory.iterdir() if p.suffix == ".tmp"]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


LIST_DOC = """\
# users
- &ada
  name: Ada
  born: 1815-12-10
  langs: [en, fr]
  address: {city: London}
- name: Grace
  born: 1906-12-09
  langs: []
  address: null
- *ada
"""
ADA = {
    "name": "Ada",
    "born": date(1815, 12, 10),
    "langs": ["en", "fr"],
    "address": {"city": "London"},
}
GRACE = {"name": "Grace", "born": date(1906, 12, 9), "langs": [], "address": None}


async def test_list_of_mappings(tmp_path: Path) -> None:
    r = YAMLResource(path=str(write(tmp_path, "users.yaml", LIST_DOC)))
    assert await r.read() == [ADA, GRACE, ADA]
    assert [c async for c in r.read_stream(chunk_size=2)] == [[ADA, GRACE], [ADA]]
    assert await r.read(limit=1) == [ADA]
    assert await r.list_collections_or_tables() == ["users"]
    with pytest.raises(XResourceNotFoundError, match="'other' not found"):
        await r.read(collection="other")


async def test_mapping_of_lists_is_collections(tmp_path: Path) -> None:
    text = "users:\n  - {name: a}\n  - {name: b}\norders:\n  - {id: 1}\nempty: []\n"
    r = YAMLResource(path=str(write(tmp_path, "db.yml", text)))
    assert await r.list_collections_or_tables() == ["users", "orders", "empty"]
    assert await r.read(collection="users") == [{"name": "a"}, {"name": "b"}]
    assert [c async for c in r.read_stream(collection="orders")] == [[{"id": 1}]]
    assert await r.read(collection="empty") == []
    for read in (r.read(), r.read(limit=3)):
        with pytest.raises(XResourceValidationError, match="several collections"):
            await read
    with pytest.raises(XResourceNotFoundError, match=r"'nope' not found.*users, orders"):
        await r.read(collection="nope")
    with pytest.raises(XResourceNotFoundError, match="'nope' not found"):
        async for _ in r.read_stream(collection="nope"):
            pass


async def test_single_mapping_and_multi_document_streams(tmp_path: Path) -> None:
    one = YAMLResource(path=str(write(tmp_path, "one.yaml", "name: app\nport: 8080\n")))
    assert await one.read() == [{"name": "app", "port": 8080}]
    assert [c async for c in one.read_stream()] == [[{"name": "app", "port": 8080}]]
    multi = write(tmp_path, "multi.yaml", "a: 1\n---\na: 2\n---\n- a: 3\n- a: 4\n---\n")
    r = YAMLResource(path=str(multi))
    expected = [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]
    assert await r.read() == expected
    assert [row async for c in r.read_stream(chunk_size=3) for row in c] == expected


@pytest.mark.parametrize(
    "text",
    [
        "- !!python/object:os.system {}\n",
        "- !!python/object/apply:os.system ['echo pwned']\n",
        "- a: !!python/name:os.system\n",
        "x: !!python/object/new:subprocess.Popen [['ls']]\n",
    ],
)
async def test_python_tags_are_refused(tmp_path: Path, text: str) -> None:
    r = YAMLResource(path=str(write(tmp_path, "evil.yaml", text)))
    for attempt in (r.read(), r.read(limit=1), r.list_collections_or_tables()):
        with pytest.raises(XResourceValidationError, match=r"python/.*safe|tags such as"):
            await attempt
    with pytest.raises(XResourceValidationError, match="line 1"):
        async for _ in r.read_stream():
            pass


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("- a: [1\n", "not valid YAML at line 2"),
        ("- 1\n- 2\n", "item 0 is a int"),
        ("- a: 1\n- just text\n", "item 1 is a str"),
        ("key: [unclosed\n", "not valid YAML"),
        ("- a: *undefined\n", "not valid YAML"),
    ],
)
async def test_malformed_yaml(tmp_path: Path, text: str, match: str) -> None:
    r = YAMLResource(path=str(write(tmp_path, "bad.yaml", text)))
    with pytest.raises(XResourceValidationError, match=match):
        await r.read()
    with pytest.raises(XResourceValidationError, match=match):
        async for _ in r.read_stream():
            pass


async def test_empty_file(tmp_path: Path) -> None:
    for text in ("", "# only a comment\n", "---\n"):
        r = YAMLResource(path=str(write(tmp_path, "e.yaml", text)))
        assert await r.read() == []
        assert [c async for c in r.read_stream()] == []


async def test_non_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    r = YAMLResource(path=str(write(tmp_path, "l.yaml", "- city: Köln\n".encode("latin-1"))))
    with pytest.raises(XResourceValidationError, match="byte offset 9"):
        await r.read()
    ok = YAMLResource(path=str(tmp_path / "l.yaml"), encoding="latin-1")
    assert await ok.read() == [{"city": "Köln"}]


async def test_stream_memory_is_bounded(tmp_path: Path) -> None:
    # Big enough that the streaming peak (a chunk and the parser's state) is far below the
    # whole document's: at 1,500 items the two were within 4x of each other by a few KB.
    n = 4_000
    path = tmp_path / "big.yaml"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(f"- id: {i}\n  name: user {i}\n  tags: [a, b]\n  pad: {'x' * 40}\n")
    r = YAMLResource(path=str(path))
    async for _ in r.read_stream(chunk_size=100):  # untraced warm-up: one-time imports, caches
        break
    tracemalloc.start()
    count = 0
    async for chunk in r.read_stream(chunk_size=100):
        count += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    tracemalloc.start()
    whole = await r.read()
    whole_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == len(whole) == n
    assert peak < whole_peak / 4, (peak, whole_peak)


async def test_write_round_trip_and_append(tmp_path: Path) -> None:
    r = YAMLResource(path=str(tmp_path / "w.yaml"), create_if_missing=True)
    records = [
        {
            "name": "Ada",
            "born": date(1815, 12, 10),
            "at": datetime(2024, 1, 1, 9, 30),
            "langs": ["en"],
            "nested": {"k": [1, {"x": None}]},
            "text": "ü: [not a list]",
        }
    ]
    assert await r.write(records) == 1
    assert await r.read() == records
    await r.write([{"name": "Grace"}], mode="append")
    assert [row["name"] for row in await r.read()] == ["Ada", "Grace"]
    text = (tmp_path / "w.yaml").read_text(encoding="utf-8")
    assert "!!python" not in text
    assert yaml.safe_load(text)[1] == {"name": "Grace"}


async def test_write_collections_keeps_the_others(tmp_path: Path) -> None:
    path = write(tmp_path, "db.yaml", "users:\n  - {name: a}\norders:\n  - {id: 1}\n")
    r = YAMLResource(path=str(path))
    await r.write([{"id": 2}], collection="orders", mode="append")
    await r.write([{"name": "z"}], collection="users")
    await r.write([{"sku": "x"}], collection="products")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {
        "users": [{"name": "z"}],
        "orders": [{"id": 1}, {"id": 2}],
        "products": [{"sku": "x"}],
    }
    with pytest.raises(XResourceValidationError, match="several collections"):
        await r.write([{"a": 1}], mode="append")


@pytest.mark.parametrize("value", [object(), Decimal("1.5"), 1j, Path("/etc")])
async def test_unrepresentable_values_keep_the_file(tmp_path: Path, value: object) -> None:
    path = write(tmp_path, "k.yaml", "- keep: true\n")
    with pytest.raises(XResourceValidationError, match="safe dumper cannot write"):
        await YAMLResource(path=str(path)).write([{"ok": 1}, {"bad": value}])
    assert path.read_text(encoding="utf-8") == "- keep: true\n"
    assert temp_files(tmp_path) == []
