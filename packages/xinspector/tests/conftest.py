"""Shared fixtures of the xinspector unit tests (no network: files and SQLite only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from xresource import ResourceFactory, SQLDatabaseResource


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``write(name, text)`` -> path of a new file under ``tmp_path``."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
async def shop_db(tmp_path: Path) -> AsyncIterator[SQLDatabaseResource]:
    """A SQLite database with keys, relations, an index, a table without primary key and an
    empty table."""
    db = ResourceFactory.from_url(f"sqlite:///{tmp_path / 'shop.db'}")
    assert isinstance(db, SQLDatabaseResource)
    async with db:
        for stmt in (
            "CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(80) NOT NULL UNIQUE, "
            "name TEXT, country CHAR(2) DEFAULT 'US', created DATETIME)",
            "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id INTEGER "
            "NOT NULL REFERENCES customer(id) ON DELETE CASCADE, total NUMERIC(10,2) NOT NULL, "
            "paid BOOLEAN, note TEXT)",
            "CREATE INDEX orders_customer ON orders (customer_id)",
            "CREATE TABLE log (at TEXT, message TEXT)",
            "CREATE TABLE empty_table (id INTEGER PRIMARY KEY, v REAL)",
        ):
            await db.execute(stmt)
        countries = ["US", "DE", "FR"]
        await db.execute_many(
            "INSERT INTO customer (id, email, name, country, created) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    i,
                    f"user{i}@example.org",
                    None if i % 10 == 0 else f"User {i}",
                    countries[i % 3],
                    f"2024-01-{1 + i % 28:02d} 10:00:00",
                )
                for i in range(1, 51)
            ],
        )
        await db.execute_many(
            "INSERT INTO orders (customer_id, total, paid, note) VALUES (?, ?, ?, ?)",
            [(1 + i % 50, round(5 + i * 1.25, 2), i % 2, None) for i in range(200)],
        )
        await db.execute_many(
            "INSERT INTO log VALUES (?, ?)", [("2024-01-01", "a"), ("2024-01-02", "a")]
        )
        yield db
