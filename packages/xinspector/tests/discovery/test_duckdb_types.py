"""DuckDB catalog type names to schema type names (no DuckDB needed)."""

from __future__ import annotations

import pytest

from xinspector.discovery._duckdb import _index_columns
from xinspector.discovery._sql_types import map_duckdb_type


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INTEGER", "int"),
        ("bigint", "int"),
        ("HUGEINT", "int"),
        ("UBIGINT", "int"),
        ("DOUBLE", "float"),
        ("FLOAT", "float"),
        ("DECIMAL(18,3)", "Decimal"),
        ("VARCHAR", "str"),
        ("BOOLEAN", "bool"),
        ("DATE", "date"),
        ("TIMESTAMP", "datetime"),
        ("TIMESTAMP WITH TIME ZONE", "datetime"),
        ("TIMESTAMP_NS", "datetime"),
        ("TIME", "time"),
        ("INTERVAL", "timedelta"),
        ("UUID", "UUID"),
        ("JSON", "json"),
        ("BLOB", "bytes"),
        ("INTEGER[]", "list"),
        ("VARCHAR[3]", "list"),
        ("STRUCT(a INTEGER, b VARCHAR[])", "object"),
        ("MAP(VARCHAR, INTEGER)", "object"),
        ("ENUM('a', 'b')", "str"),
        ("GEOMETRY", "Any"),
        ("", "Any"),
    ],
)
def test_map_duckdb_type(declared: str, expected: str) -> None:
    assert map_duckdb_type(declared) == expected


def test_index_columns_are_unquoted() -> None:
    assert _index_columns("[total]") == ["total"]
    assert _index_columns('[a, "b c", "x""y"]') == ["a", "b c", 'x"y']
    assert _index_columns("") == []
