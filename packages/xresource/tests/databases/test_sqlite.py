"""SQLiteResource: round trips, streaming, execute_many, copy_records, URLs and metadata."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from xresource import (
    SQLITE,
    ResourceFactory,
    SQLiteResource,
    XResourceConfigurationError,
    XResourceError,
    XResourceIntegrityError,
    XResourceValidationError,
)

CREATE = (
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, price REAL, "
    "data BLOB, note TEXT)"
)


@pytest.fixture
async def db(tmp_path: Path):
    async with SQLiteResource(name="unit", path=str(tmp_path / "unit.db")) as resource:
        await resource.execute(CREATE)
        yield resource


async def test_round_trip_keeps_types_and_unicode(db: SQLiteResource) -> None:
    inserted = await db.execute(
        "INSERT INTO items (id, name, price, data, note) VALUES (?, ?, ?, ?, ?)",
        [1, "Antônio Carlos Jobim ☕", 9.5, b"\x00\xff", None],
    )
    assert inserted == 1
    rows = await db.fetch_all("SELECT id, name, price, data, note FROM items")
    assert rows == [
        {
            "id": 1,
            "name": "Antônio Carlos Jobim ☕",
            "price": 9.5,
            "data": b"\x00\xff",
            "note": None,
        }
    ]
    assert await db.fetch_one("SELECT name FROM items WHERE id = ?", [1]) == {
        "name": "Antônio Carlos Jobim ☕"
    }
    assert await db.fetch_one("SELECT name FROM items WHERE id = ?", [2]) is None
    assert await db.fetch_value("SELECT count(*) FROM items") == 1
    assert await db.fetch_value("SELECT name FROM items WHERE id = ?", (99,)) is None
    assert await db.execute("UPDATE items SET price = price * 2 WHERE id = ?", [1]) == 1
    assert await db.fetch_value("SELECT price FROM items") == 19.0
    assert await db.execute("DELETE FROM items WHERE id = ?", [42]) == 0


async def test_fetch_all_of_a_statement_without_rows_is_empty(db: SQLiteResource) -> None:
    assert await db.fetch_all("SELECT * FROM items") == []
    assert await db.fetch_all("UPDATE items SET note = 'x'") == []


async def test_lazy_connect_on_first_call(tmp_path: Path) -> None:
    db = SQLiteResource(path=str(tmp_path / "lazy.db"))
    assert not db.is_connected
    try:
        assert await db.fetch_value("SELECT 40 + 2") == 42
        assert db.is_connected
    finally:
        await db.disconnect()
    assert not db.is_connected
    await db.disconnect()  # idempotent


async def test_stream_yields_batches_of_batch_size(db: SQLiteResource) -> None:
    await db.execute_many(
        "INSERT INTO items (id, name) VALUES (?, ?)", ((i, f"n{i}") for i in range(2500))
    )
    sizes = []
    ids: list[int] = []
    async for batch in db.stream("SELECT id FROM items ORDER BY id", batch_size=1000):
        sizes.append(len(batch))
        ids.extend(row["id"] for row in batch)
    assert sizes == [1000, 1000, 500]
    assert ids == list(range(2500))
    batches = [b async for b in db.stream("SELECT id FROM items WHERE id < 0")]
    assert batches == []


async def test_stream_closed_early_returns_its_connection(db: SQLiteResource) -> None:
    await db.execute_many("INSERT INTO items (id, name) VALUES (?, ?)", [(1, "a"), (2, "b")])
    async with contextlib.aclosing(db.stream("SELECT * FROM items", batch_size=1)) as batches:
        async for batch in batches:
            assert batch == [{"id": 1, "name": "a", "price": None, "data": None, "note": None}]
            assert db.get_pool_stats().in_use == 1
            break
    assert db.get_pool_stats().in_use == 0


async def test_stream_rejects_a_bad_batch_size(db: SQLiteResource) -> None:
    for bad in (0, -1, 1.5, "10", True):
        with pytest.raises(XResourceValidationError, match="batch_size"):
            async for _ in db.stream("SELECT 1", batch_size=bad):  # type: ignore[arg-type]
                pass


async def test_execute_many_counts_rows_and_takes_a_generator(db: SQLiteResource) -> None:
    count = await db.execute_many(
        "INSERT INTO items (id, name) VALUES (?, ?)", ((i, f"n{i}") for i in range(10))
    )
    assert count == 10
    assert (
        await db.execute_many("UPDATE items SET price = ? WHERE id < ?", [(1.0, 3), (2.0, 1)]) == 4
    )
    assert await db.execute_many("INSERT INTO items (id, name) VALUES (?, ?)", []) == 0


async def test_execute_many_is_atomic(db: SQLiteResource) -> None:
    with pytest.raises(XResourceIntegrityError, match="UNIQUE"):
        await db.execute_many(
            "INSERT INTO items (id, name) VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "a")]
        )
    assert await db.fetch_value("SELECT count(*) FROM items") == 0


async def test_copy_records_inserts_all_rows(db: SQLiteResource) -> None:
    rows = [(i, f"item {i}", i / 2) for i in range(1000)]
    assert await db.copy_records("items", ["id", "name", "price"], rows) == 1000
    assert await db.fetch_value("SELECT sum(price) FROM items") == sum(i / 2 for i in range(1000))


async def test_copy_records_with_a_bad_row_inserts_nothing(db: SQLiteResource) -> None:
    rows = [(1, "a"), (2, "b"), (3, None)]  # name is NOT NULL
    with pytest.raises(XResourceIntegrityError, match="NOT NULL"):
        await db.copy_records("items", ["id", "name"], rows)
    assert await db.fetch_value("SELECT count(*) FROM items") == 0


async def test_copy_records_with_a_short_row_inserts_nothing(db: SQLiteResource) -> None:
    with pytest.raises(XResourceError, match="bindings"):
        await db.copy_records("items", ["id", "name"], [(1, "a"), (2,)])
    assert await db.fetch_value("SELECT count(*) FROM items") == 0


async def test_copy_records_needs_columns(db: SQLiteResource) -> None:
    with pytest.raises(XResourceValidationError, match="column names"):
        await db.copy_records("items", [], [(1,)])
    with pytest.raises(XResourceValidationError, match="column names"):
        await db.copy_records("items", "id", [(1,)])


async def test_values_are_bound_never_interpreted(db: SQLiteResource) -> None:
    hostile = "x'); DROP TABLE items; --"
    await db.execute("INSERT INTO items (id, name) VALUES (?, ?)", [1, hostile])
    assert await db.fetch_value("SELECT name FROM items WHERE name = ?", [hostile]) == hostile
    assert await db.fetch_value("SELECT count(*) FROM items WHERE name = ?", ["' OR '1'='1"]) == 0
    assert "items" in await db.list_collections_or_tables()


async def test_hostile_identifiers_are_quoted(db: SQLiteResource) -> None:
    table = 'evil"; DROP TABLE items; --'
    column = 'col" TEXT); DROP TABLE items; --'
    await db.execute(f"CREATE TABLE {SQLITE.quote(table)} ({SQLITE.quote(column)} TEXT)")
    assert await db.copy_records(table, [column], [("v1",), ("v2",)]) == 2
    rows = await db.fetch_all(f"SELECT * FROM {SQLITE.quote(table)} ORDER BY 1")
    assert rows == [{column: "v1"}, {column: "v2"}]
    assert set(await db.list_collections_or_tables()) == {"items", table}
    with pytest.raises(XResourceValidationError, match="control characters"):
        await db.copy_records("items\x00; DROP TABLE items", ["id"], [(1,)])


async def test_parameters_must_be_a_sequence(db: SQLiteResource) -> None:
    for bad in ("abc", 5, {"a": 1}):
        with pytest.raises(XResourceValidationError, match="list or tuple"):
            await db.fetch_all("SELECT ?", bad)  # type: ignore[arg-type]


async def test_list_collections_or_tables_has_tables_and_views_only(db: SQLiteResource) -> None:
    await db.execute("CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)")
    await db.execute("INSERT INTO seq (v) VALUES ('a')")  # creates sqlite_sequence
    await db.execute("CREATE VIEW cheap AS SELECT * FROM items WHERE price < 1")
    await db.execute("CREATE INDEX items_price ON items (price)")
    assert await db.list_collections_or_tables() == ["cheap", "items", "seq"]


async def test_foreign_keys_are_enforced(db: SQLiteResource) -> None:
    await db.execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id))"
    )
    with pytest.raises(XResourceIntegrityError, match="FOREIGN KEY"):
        await db.execute("INSERT INTO orders (id, item_id) VALUES (1, 999)")
    assert await db.fetch_value("SELECT count(*) FROM orders") == 0


async def test_memory_database_is_shared_between_calls_and_private_to_its_resource() -> None:
    async with SQLiteResource() as one, SQLiteResource(path=":memory:") as two:
        assert one.is_memory
        await one.execute("CREATE TABLE t (v INTEGER)")
        await one.execute("INSERT INTO t VALUES (1)")
        assert await one.fetch_value("SELECT v FROM t") == 1
        assert await one.list_collections_or_tables() == ["t"]
        assert await two.list_collections_or_tables() == []
        assert one.get_pool_stats().max_size == 1


async def test_file_database_survives_reconnect(tmp_path: Path) -> None:
    db = SQLiteResource(path=str(tmp_path / "keep.db"))
    async with db:
        await db.execute("CREATE TABLE t (v TEXT)")
        await db.execute("INSERT INTO t VALUES ('kept')")
    async with db:
        assert await db.fetch_value("SELECT v FROM t") == "kept"
        assert await db.fetch_value("PRAGMA journal_mode") == "wal"
        assert await db.fetch_value("PRAGMA foreign_keys") == 1


async def test_database_field_names_the_file(tmp_path: Path) -> None:
    db = SQLiteResource(database=str(tmp_path / "alias.db"))
    assert db.path == str(tmp_path / "alias.db")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite:///data/relative.db", "data/relative.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://", ":memory:"),
        ("sqlite+aiosqlite:///x.sqlite3", "x.sqlite3"),
        # A file path or file: URL keeps its absolute path (it was read as relative to the
        # working directory: /tmp/x.db became tmp/x.db).
        ("/tmp/bücher data.db", "/tmp/bücher data.db"),
        ("file:///tmp/x.sqlite", "/tmp/x.sqlite"),
    ],
)
def test_urls_follow_sqlalchemy(url: str, path: str) -> None:
    resource = ResourceFactory.from_url(url)
    assert isinstance(resource, SQLiteResource)
    assert resource.path == path


def test_url_options_set_fields() -> None:
    resource = ResourceFactory.from_url("sqlite:///x.db?busy_timeout=1.5&pool_size=2")
    assert isinstance(resource, SQLiteResource)
    assert resource.busy_timeout == 1.5
    assert resource.pool_max_size == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/x.db", "names a file, not a host"),
        ("sqlite:///x.db?journal=off", "unknown SQLite URL option 'journal'"),
        ("sqlite:///x.db?busy_timeout=soon", "busy_timeout"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=message):
        ResourceFactory.from_url(url)


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="path"):
        SQLiteResource(path="  ")
    with pytest.raises(ValueError, match="NUL"):
        SQLiteResource(path="a\x00b.db")
    with pytest.raises(ValueError, match="pool_min_size"):
        SQLiteResource(pool_min_size=5, pool_max_size=2)
    with pytest.raises(ValueError, match="busy_timeout"):
        SQLiteResource(busy_timeout=-1)


async def test_metadata_shows_path_and_pool_not_server_fields(tmp_path: Path) -> None:
    db = SQLiteResource(name="meta", path=str(tmp_path / "m.db"))
    meta = db.get_metadata()
    assert meta["type"] == "sqlite"
    assert meta["path"] == str(tmp_path / "m.db")
    assert meta["connected"] is False
    assert not {"host", "port", "user", "password"} & set(meta)
    async with db:
        assert db.get_metadata()["connected"] is True
