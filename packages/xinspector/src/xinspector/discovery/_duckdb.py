"""A DuckDB table's or view's schema from DuckDB's catalog.

Columns, types, nullability and defaults come from ``information_schema.columns``; keys from
``duckdb_constraints()``; indexes from ``duckdb_indexes()``; the row estimate from
``duckdb_tables()`` (views have none). A file's engine view (``ColumnarFileResource.engine()``)
is such a view: for a Parquet file its columns are the file's own schema.
"""

from __future__ import annotations

import re

from xinspector._schema import CollectionSchema, FieldSchema, ForeignKey, IndexSchema
from xinspector.discovery._sql_common import _apply_keys, _not_found
from xinspector.discovery._sql_types import map_duckdb_type
from xresource import SQLExecutor

__all__ = ["discover_duckdb"]

_INDEX_COLUMNS = re.compile(r'"((?:[^"]|"")*)"|([^,\s\[\]]+)')


async def discover_duckdb(
    db: SQLExecutor, table: str, *, target: str = "duckdb"
) -> CollectionSchema:
    """The schema of ``table`` (a table or a view of the current schema)."""
    info = await db.fetch_one(
        "SELECT table_type FROM information_schema.tables WHERE table_name = $1 "
        "AND table_schema = current_schema() AND table_catalog = current_database()",
        [table],
    )
    if info is None:
        rows = await db.fetch_all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_catalog = current_database() ORDER BY table_name"
        )
        raise _not_found(target, table, [r["table_name"] for r in rows])
    columns = await db.fetch_all(
        "SELECT column_name, data_type, is_nullable, column_default, numeric_precision, "
        "numeric_scale FROM information_schema.columns WHERE table_name = $1 AND "
        "table_schema = current_schema() AND table_catalog = current_database() "
        "ORDER BY ordinal_position",
        [table],
    )
    fields: dict[str, FieldSchema] = {}
    for col in columns:
        declared = str(col["data_type"])
        fs = FieldSchema(
            type=map_duckdb_type(declared),
            db_type=declared,
            nullable=col["is_nullable"] == "YES",
            default=col["column_default"],
        )
        if fs.type == "Decimal" and col["numeric_precision"] is not None:
            fs.max_digits = int(col["numeric_precision"])
            fs.decimal_places = int(col["numeric_scale"] or 0)
        if col["column_default"] is not None:
            fs.required = False
        fields[str(col["column_name"])] = fs
    is_view = str(info["table_type"]).upper() == "VIEW"
    estimate = None
    if not is_view:
        size = await db.fetch_value(
            "SELECT estimated_size FROM duckdb_tables() WHERE table_name = $1 "
            "AND schema_name = current_schema() AND database_name = current_database()",
            [table],
        )
        estimate = int(size) if size is not None else None
    schema = CollectionSchema(
        name=table,
        kind="view" if is_view else "table",
        source="duckdb",
        fields=fields,
        row_estimate=estimate,
    )
    constraints = await db.fetch_all(
        "SELECT constraint_type, constraint_column_names AS cols, referenced_table, "
        "referenced_column_names AS ref_cols FROM duckdb_constraints() WHERE table_name = $1 "
        "AND schema_name = current_schema() AND database_name = current_database() "
        "ORDER BY constraint_index",
        [table],
    )
    for c in constraints:
        kind, cols = c["constraint_type"], [str(n) for n in c["cols"] or []]
        if kind == "PRIMARY KEY":
            schema.primary_key = cols
        elif kind == "UNIQUE":
            schema.unique_constraints.append(cols)
        elif kind == "FOREIGN KEY":
            schema.foreign_keys.append(
                ForeignKey(
                    columns=cols,
                    ref_table=str(c["referenced_table"]),
                    ref_columns=[str(n) for n in c["ref_cols"] or []],
                )
            )
    for ix in await db.fetch_all(
        "SELECT index_name, is_unique, is_primary, expressions FROM duckdb_indexes() "
        "WHERE table_name = $1 AND schema_name = current_schema() "
        "AND database_name = current_database() ORDER BY index_name",
        [table],
    ):
        schema.indexes.append(
            IndexSchema(
                name=str(ix["index_name"]),
                fields=_index_columns(str(ix["expressions"] or "")),
                unique=bool(ix["is_unique"]),
                primary=bool(ix["is_primary"]),
            )
        )
    _apply_keys(schema)
    return schema


def _index_columns(expressions: str) -> list[str]:
    """``[a, "b c"]`` (DuckDB's text of an index's expressions) -> ``["a", "b c"]``."""
    return [
        quoted.replace('""', '"') if quoted else bare
        for quoted, bare in _INDEX_COLUMNS.findall(expressions.strip())
    ]
