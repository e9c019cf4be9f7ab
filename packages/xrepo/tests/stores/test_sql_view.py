"""The model's view of a file in the DuckDB engine (``rows_view``), run on an in-process DuckDB:
each field read as the SQL compiler expects it, whatever the file's own types."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from xobj_prototype import XObjPrototype
from xrepo import XRepo
from xrepo.stores import MemoryStore
from xrepo.stores._sql_view import rows_view
from xresource import DUCKDB


class Rec(XObjPrototype):
    id: int
    name: str
    note: str | None = None
    n: int | None = None
    price: Decimal | None = None
    at: dt.datetime | None = None
    ok: bool | None = None
    tags: list[str] = []
    doc: dict[str, Any] | None = None
    anything: Any = None
    absent: str | None = None


def layout() -> Any:
    repo = XRepo(model_class=Rec, store=MemoryStore())
    return repo.store.layout  # type: ignore[attr-defined]


def read(create: str, *, optional: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The rows of the view over the table ``f`` made by ``create``, by id."""
    with duckdb.connect() as con:
        con.execute(create)
        types = {
            r[0]: r[1]
            for r in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'f' ORDER BY ordinal_position"
            ).fetchall()
        }
        sql = rows_view(DUCKDB, "f", types, layout(), optional)
        cur = con.execute(f"SELECT * FROM ({sql}) ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_typed_columns_of_a_parquet_file_read_as_they_are() -> None:
    rows = read(
        "CREATE TABLE f AS SELECT * FROM (VALUES "
        "(1, 'a', 7, 999999999.0::DOUBLE, TIMESTAMPTZ '2024-01-01 00:00:00+00', true, "
        "['x', 'y'], {'zip': '010', 'n': 1}, 5)) "
        't(id, name, n, price, "at", ok, tags, doc, anything)'
    )
    (row,) = rows
    assert row["n"] == 7
    # Through the double's shortest text: DuckDB's own cast gives 999999999.0000001024.
    assert row["price"] == Decimal("999999999")
    assert row["at"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert json.loads(row["tags"]) == ["x", "y"]
    assert json.loads(row["doc"]) == {"zip": "010", "n": 1}
    assert json.loads(row["anything"]) == 5
    assert row["absent"] is None  # a field the file lacks
    assert row["note"] is None


def test_text_cells_take_the_models_types() -> None:
    rows = read(
        "CREATE TABLE f (id VARCHAR, name VARCHAR, note VARCHAR, n VARCHAR, price VARCHAR, "
        '"at" VARCHAR, ok VARCHAR, tags VARCHAR, doc VARCHAR, anything VARCHAR); '
        "INSERT INTO f VALUES "
        "('1', 'a', '', '12', '0.000001', '2024-01-01T02:00:00+02:00', 'true', '[\"a\"]', "
        "'{\"k\": 1}', '[1, 2]'), "
        "('2', '', 'x', 'many', '', '2024-01-01 00:00:00', '', '', 'not json', 'plain text')",
        optional=("note", "n", "price", "at", "ok", "absent"),
    )
    first, second = rows
    assert (first["id"], first["n"], first["ok"]) == (1, 12, True)
    assert first["note"] is None  # an empty cell of an optional field is missing
    assert second["name"] == ""  # a required text field keeps its empty string
    assert first["price"] == Decimal("0.000001")
    assert first["at"] == second["at"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert second["n"] is None  # text that is no number reads as missing
    assert json.loads(first["tags"]) == ["a"]
    assert second["tags"] is None
    assert json.loads(first["doc"]) == {"k": 1}
    assert second["doc"] is None  # text that is no JSON document
    assert json.loads(first["anything"]) == [1, 2]
    assert json.loads(second["anything"]) == "plain text"  # an untyped field's text is a string


@pytest.mark.parametrize("name", ['we"ird', "naïve column", "select"])
def test_column_names_are_quoted(name: str) -> None:
    class Odd(XObjPrototype):
        id: int
        value: str | None = None

    repo = XRepo(model_class=Odd, store=MemoryStore())
    sql = rows_view(DUCKDB, name, {"id": "BIGINT", "value": "VARCHAR"}, repo.store.layout)  # type: ignore[attr-defined]
    assert DUCKDB.quote(name) in sql
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE {DUCKDB.quote(name)} (id BIGINT, value VARCHAR)")
        con.execute(f"INSERT INTO {DUCKDB.quote(name)} VALUES (1, 'v')")
        assert con.execute(sql).fetchall() == [(1, "v")]
