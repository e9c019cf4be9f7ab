"""xinspector on DuckDB: a ``duckdb:///`` database's catalog, and a Parquet file's own schema."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from xinspector import XInspector, XInspectorNotFoundError
from xresource import ResourceFactory


async def test_duckdb_catalog(tmp_path: Path) -> None:
    db = ResourceFactory.from_url(f"duckdb:///{tmp_path / 'shop.duckdb'}")
    async with db:
        await db.execute(
            'CREATE TABLE "Kunden" (id INTEGER PRIMARY KEY, "e-mail" VARCHAR UNIQUE NOT NULL, '
            "joined DATE DEFAULT DATE '2020-01-01', score DECIMAL(10, 3), seen TIMESTAMPTZ, "
            "tags VARCHAR[], extra STRUCT(a INTEGER), big HUGEINT, ok BOOLEAN, ref UUID, "
            "doc JSON, raw BLOB, \"at\" TIME, mood ENUM('sad', 'ok'))"
        )
        await db.execute(
            'CREATE TABLE orders (id BIGINT PRIMARY KEY, kunde INTEGER REFERENCES "Kunden"(id), '
            "total DOUBLE)"
        )
        await db.execute("CREATE INDEX orders_total ON orders(total)")
        await db.execute("CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100")
        await db.execute(
            'INSERT INTO "Kunden" (id, "e-mail", score, ok) VALUES (1, $1, 1.5, true), '
            "(2, $2, NULL, false)",
            ["zoë@example.org", "ω@example.org"],
        )
        inspector = XInspector(db)
        kunden = await inspector.discover("Kunden")
        types = {n: f.type for n, f in kunden.fields.items()}
        assert types == {
            "id": "int",
            "e-mail": "str",
            "joined": "date",
            "score": "Decimal",
            "seen": "datetime",
            "tags": "list",
            "extra": "object",
            "big": "int",
            "ok": "bool",
            "ref": "UUID",
            "doc": "json",
            "raw": "bytes",
            "at": "time",
            "mood": "str",
        }
        assert kunden.primary_key == ["id"]
        assert kunden.fields["id"].primary_key
        assert kunden.fields["e-mail"].unique
        assert kunden.fields["e-mail"].nullable is False
        assert kunden.fields["joined"].required is False
        assert (kunden.fields["score"].max_digits, kunden.fields["score"].decimal_places) == (10, 3)
        orders = await inspector.discover("orders")
        assert orders.fields["kunde"].foreign_key == {"table": "Kunden", "column": "id"}
        assert [(i.name, i.fields) for i in orders.indexes] == [("orders_total", ["total"])]
        view = await inspector.discover("big_orders")
        assert view.kind == "view"
        assert set(view.fields) == {"id", "kunde", "total"}
        with pytest.raises(XInspectorNotFoundError, match="available: Kunden, big_orders, orders"):
            await inspector.discover("nope")
        result = await inspector.inspect("Kunden")
        assert result.pushdown
        score = result.field_statistics["score"]
        assert (score.min, score.max, score.null_count) == (Decimal("1.500"), Decimal("1.500"), 1)
        assert score.quantiles == dict.fromkeys(["p5", "p25", "p50", "p75", "p95"], 1.5)
        email = result.field_statistics["e-mail"]
        assert email.length_histogram is not None
        assert [(b.lower, b.count) for b in email.length_histogram] == [(13, 1), (14, 0), (15, 1)]


async def test_parquet_schema_is_the_files_own(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    parquet = ResourceFactory.from_url(str(path), create_if_missing=True)
    await parquet.write(
        [
            {"id": 1, "at": datetime(2024, 1, 1, 12), "day": date(2024, 1, 1), "v": 1.5, "s": "ä"},
            {"id": 2, "at": None, "day": date(2024, 1, 2), "v": None, "s": None},
        ]
    )
    inspector = XInspector(ResourceFactory.from_url(str(path)))
    schema = await inspector.discover()
    assert {n: f.type for n, f in schema.fields.items()} == {
        "id": "int",
        "at": "datetime",
        "day": "date",
        "v": "float",
        "s": "str",
    }
    result = await inspector.inspect()
    assert result.total_count == 2
    assert result.field_statistics["day"].quantiles == {
        "p5": datetime(2024, 1, 1, 1, 12),
        "p25": datetime(2024, 1, 1, 6),
        "p50": datetime(2024, 1, 1, 12),
        "p75": datetime(2024, 1, 1, 18),
        "p95": datetime(2024, 1, 1, 22, 48),
    }
    preview = await inspector.preview_data(1)
    assert preview == [
        {"id": 1, "at": datetime(2024, 1, 1, 12), "day": date(2024, 1, 1), "v": 1.5, "s": "ä"}
    ]
