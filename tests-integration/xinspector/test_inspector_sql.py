"""xinspector against real SQL servers: Chinook in PostgreSQL, MariaDB and SQLite.

The expected structure comes from parsing the Chinook DDL scripts themselves (an oracle
independent of the catalogs xinspector reads): every column with its type, length, precision
and nullability, every primary key and every foreign key must be discovered. Every row of every
table must validate against its generated model, and the exported source must import and
define an equivalent model.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from chinook import CHINOOK_TABLES, load_chinook

from xinspector import (
    XInspector,
    XInspectorConnectionError,
    XInspectorError,
    XInspectorNotFoundError,
    model_to_source,
)
from xresource import ResourceFactory, SQLDatabaseResource

_SCRIPTS = {
    "postgresql": "Chinook_PostgreSql.sql",
    "mysql": "Chinook_MySql.sql",
    "sqlite": "Chinook_Sqlite.sql",
}


@dataclass
class DDLTable:
    columns: dict[str, tuple[str, bool, tuple[int, ...]]] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: set[tuple[str, str, str]] = field(default_factory=set)


def parse_ddl(script: str) -> dict[str, DDLTable]:
    """Table -> columns (type, not null, size), primary key and foreign keys, from DDL text."""
    text = re.sub(r"[`\[\]\"]", "", script)
    tables: dict[str, DDLTable] = {}
    for name, body in re.findall(r"CREATE TABLE (\w+)\s*\((.*?)\n\);", text, re.S):
        table = tables[name] = DDLTable()
        for line in body.splitlines():
            m = re.match(r"\s*(\w+)\s+([A-Z]+)(?:\((\d+)(?:,\s*(\d+))?\))?(.*)$", line)
            if not m or m.group(1) in {"CONSTRAINT", "FOREIGN", "PRIMARY", "ON"}:
                continue
            size = tuple(int(g) for g in (m.group(3), m.group(4)) if g)
            table.columns[m.group(1)] = (m.group(2), "NOT NULL" in m.group(5), size)
        pk = re.search(r"PRIMARY KEY\s*\(([^)]*)\)", body)
        if pk:
            table.primary_key = [c.strip() for c in pk.group(1).split(",")]
        for col, ref, ref_col in re.findall(
            r"FOREIGN KEY\s*\((\w+)\)\s*REFERENCES\s+(\w+)\s*\((\w+)\)", body
        ):
            table.foreign_keys.add((col, ref, ref_col))
    for name, col, ref, ref_col in re.findall(
        r"ALTER TABLE (\w+) ADD CONSTRAINT \w+\s+FOREIGN KEY\s*\((\w+)\)\s*REFERENCES\s+"
        r"(\w+)\s*\((\w+)\)",
        text,
    ):
        tables[name].foreign_keys.add((col, ref, ref_col))
    return tables


def expected_type(ddl_type: str) -> str:
    return {
        "INT": "int",
        "INTEGER": "int",
        "VARCHAR": "str",
        "NVARCHAR": "str",
        "NUMERIC": "Decimal",
        "TIMESTAMP": "datetime",
        "DATETIME": "datetime",
    }[ddl_type]


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
async def chinook(
    request: pytest.FixtureRequest,
    postgres_url: str,
    mysql_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, SQLDatabaseResource]]:
    dialect: str = request.param
    url = {
        "postgresql": postgres_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{tmp_path_factory.getbasetemp() / 'chinook.db'}",
    }[dialect]
    base = ResourceFactory.from_url(url)
    assert isinstance(base, SQLDatabaseResource)
    async with base:
        resource = await load_chinook(base, dialect)
    async with resource:
        yield dialect, resource


def _import(source: str, directory: Path) -> dict[str, Any]:
    name = f"chinook_models_{uuid.uuid4().hex[:8]}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return vars(module)


async def test_discovered_schema_matches_the_ddl(
    chinook: tuple[str, SQLDatabaseResource], datasets: Path
) -> None:
    dialect, resource = chinook
    ddl = parse_ddl((datasets / "chinook" / _SCRIPTS[dialect]).read_text(encoding="utf-8"))
    assert set(ddl) == set(CHINOOK_TABLES[dialect])
    inspector = XInspector(resource)
    for table, expected in ddl.items():
        schema = await inspector.discover(table)
        assert list(schema.fields) == list(expected.columns), table
        for column, (ddl_type, not_null, size) in expected.columns.items():
            fs = schema.fields[column]
            where = f"{table}.{column}"
            assert fs.type == expected_type(ddl_type), where
            assert fs.nullable is not not_null, where
            if fs.type == "str":
                assert fs.max_length == size[0], where
            if fs.type == "Decimal":
                assert (fs.max_digits, fs.decimal_places) == size, where
        assert schema.primary_key == expected.primary_key, table
        found = {
            (c, fk.ref_table, r)
            for fk in schema.foreign_keys
            for c, r in zip(fk.columns, fk.ref_columns, strict=True)
        }
        assert found == expected.foreign_keys, table
        for col, ref, ref_col in expected.foreign_keys:
            assert schema.fields[col].foreign_key == {"table": ref, "column": ref_col}
        assert (
            any(ix.fields == expected.primary_key for ix in schema.indexes) or dialect == "sqlite"
        )  # SQLite's rowid primary key has no index of its own
        assert schema.row_estimate is not None


async def test_every_row_validates_and_source_round_trips(
    chinook: tuple[str, SQLDatabaseResource], tmp_path: Path
) -> None:
    dialect, resource = chinook
    inspector = XInspector(resource)
    for table, count in CHINOOK_TABLES[dialect].items():
        Model = await inspector.generate_model(table)
        rows = await inspector.preview_data(count + 10, table)
        assert len(rows) == count
        for row in rows:
            Model.model_validate(row)
        assert Model.meta().collection == table
        assert Model.meta().auto_generated
        exported = _import(model_to_source(Model), tmp_path)[Model.__name__]
        assert exported.model_json_schema() == Model.model_json_schema()
        for row in rows[:200]:
            assert (
                exported.model_validate(row).model_dump() == Model.model_validate(row).model_dump()
            )


async def test_profile_by_pushdown(chinook: tuple[str, SQLDatabaseResource]) -> None:
    dialect, resource = chinook
    track = "track" if dialect == "postgresql" else "Track"
    genre_id = "genre_id" if dialect == "postgresql" else "GenreId"
    price = "unit_price" if dialect == "postgresql" else "UnitPrice"
    result = await XInspector(resource).inspect(track)
    assert result.pushdown
    assert result.total_count == 3503
    stats = result.field_statistics
    assert stats[genre_id].unique_count == 25
    assert stats[genre_id].is_categorical
    assert stats[genre_id].null_count == 0
    assert float(stats[price].min) == pytest.approx(0.99)
    assert float(stats[price].max) == pytest.approx(1.99)
    assert stats[price].distinct_values is not None
    assert result.statistics["field_statistics"][genre_id]["unique_count"] == 25
    assert result.data_quality[genre_id]["completeness"] == 1.0


async def test_bad_input(chinook: tuple[str, SQLDatabaseResource]) -> None:
    _, resource = chinook
    inspector = XInspector(resource)
    with pytest.raises(XInspectorNotFoundError, match="not found"):
        await inspector.discover("no_such_table")
    with pytest.raises(XInspectorNotFoundError):
        await inspector.discover("x'; DROP TABLE album; --")
    with pytest.raises(XInspectorError):
        await inspector.discover("")


async def test_table_without_primary_key_and_empty_table(
    postgres_url: str, unique_name: str
) -> None:
    async with ResourceFactory.from_url(postgres_url) as db:
        assert isinstance(db, SQLDatabaseResource)
        name = db.dialect.quote(unique_name)
        await db.execute(
            f"CREATE TABLE {name} (a text, b integer[], c jsonb, "
            f"d uuid, e numeric, f boolean DEFAULT true)"
        )
        try:
            inspector = XInspector(db)
            schema = await inspector.discover(unique_name)
            assert schema.primary_key == []
            assert schema.fields["b"].type == "list"
            assert schema.fields["b"].items is not None
            assert schema.fields["b"].items.type == "int"
            assert (schema.fields["c"].type, schema.fields["d"].type) == ("json", "UUID")
            assert schema.fields["f"].default == "true"
            result = await inspector.inspect(unique_name)
            assert result.total_count == 0
            await db.execute(
                f"INSERT INTO {name} (a, b, c) VALUES ($1, $2, $3)", [None, [1, 2], '{"k": 1}']
            )
            Model = await inspector.generate_model(unique_name)
            for row in await inspector.preview_data(5, unique_name):
                Model.model_validate(row)
            result = await inspector.inspect(unique_name)
            assert result.field_statistics["a"].null_count == 1
        finally:
            await db.execute(f"DROP TABLE {name}")


async def test_dead_server() -> None:
    dead = ResourceFactory.from_url("postgresql://app:s3cret@127.0.0.1:9/db", connect_timeout=2)
    with pytest.raises(XInspectorConnectionError) as info:
        await XInspector(dead).discover("album")
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:9" in str(info.value)


async def test_planner_statistics_path(postgres_url: str) -> None:
    """Past ``exact_rows``, PostgreSQL's planner statistics and one GROUPING SETS scan."""
    base = ResourceFactory.from_url(postgres_url)
    assert isinstance(base, SQLDatabaseResource)
    async with base:
        resource = await load_chinook(base, "postgresql")
    async with resource:
        result = await XInspector(resource, exact_rows=1000).inspect("track")
        stats = result.field_statistics
        assert result.total_count == 3503
        assert stats["genre_id"].unique_count == 25
        assert stats["genre_id"].unique_exact  # low cardinality: counted exactly
        assert stats["genre_id"].distinct_values == list(range(1, 26))
        assert stats["media_type_id"].top_values[0].count == 3034
        assert not stats["name"].unique_exact  # estimated by the planner
        assert abs(stats["name"].unique_count - 3257) < 3257 * 0.2
        assert stats["composer"].null_count == 977
