"""A MySQL/MariaDB table's schema from ``information_schema``: the catalog queries and their rows
as fields, keys, checks and indexes."""

from __future__ import annotations

import re
from typing import Any

from xinspector._schema import CollectionSchema, FieldSchema, ForeignKey, IndexSchema
from xinspector.discovery._checks import apply_check, parse_check
from xinspector.discovery._sql_common import _apply_keys, _not_found
from xinspector.discovery._sql_types import map_mysql_type
from xresource import SQLExecutor

__all__ = ["discover_mysql"]

_MY_TABLE = """
SELECT TABLE_TYPE AS table_type, TABLE_ROWS AS table_rows, TABLE_COMMENT AS comment
FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
"""
_MY_COLUMNS = """
SELECT COLUMN_NAME AS name, ORDINAL_POSITION AS position, COLUMN_DEFAULT AS column_default,
       IS_NULLABLE AS is_nullable, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type,
       CHARACTER_MAXIMUM_LENGTH AS max_length, NUMERIC_PRECISION AS num_precision,
       NUMERIC_SCALE AS num_scale, EXTRA AS extra, COLUMN_COMMENT AS comment
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
ORDER BY ORDINAL_POSITION
"""
_MY_KEYS = """
SELECT tc.CONSTRAINT_NAME AS name, tc.CONSTRAINT_TYPE AS type, k.COLUMN_NAME AS col,
       k.REFERENCED_TABLE_SCHEMA AS ref_schema, k.REFERENCED_TABLE_NAME AS ref_table,
       k.REFERENCED_COLUMN_NAME AS ref_col, rc.DELETE_RULE AS on_delete,
       rc.UPDATE_RULE AS on_update
FROM information_schema.TABLE_CONSTRAINTS tc
JOIN information_schema.KEY_COLUMN_USAGE k
  ON k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
 AND k.TABLE_NAME = tc.TABLE_NAME
LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc
  ON rc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND rc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
 AND rc.TABLE_NAME = tc.TABLE_NAME
WHERE tc.TABLE_SCHEMA = %s AND tc.TABLE_NAME = %s
  AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY tc.CONSTRAINT_TYPE, tc.CONSTRAINT_NAME, k.ORDINAL_POSITION
"""
_MY_INDEXES = """
SELECT INDEX_NAME AS name, NON_UNIQUE AS non_unique, COLUMN_NAME AS col, SEQ_IN_INDEX AS seq
FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
ORDER BY INDEX_NAME, SEQ_IN_INDEX
"""
_MY_JSON_CHECKS = """
SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s
"""
_ENUM_LABEL = re.compile(r"'((?:[^']|'')*)'")


def _text(value: Any) -> Any:
    # information_schema columns come back as bytes from some server/driver combinations.
    return value.decode() if isinstance(value, bytes | bytearray) else value


async def discover_mysql(
    db: SQLExecutor, table: str, *, database: str, target: str = "mysql"
) -> CollectionSchema:
    """The schema of ``database.table`` from ``information_schema``."""
    info = await db.fetch_one(_MY_TABLE, [database, table])
    if info is None:
        rows = await db.fetch_all(
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s ORDER BY 1",
            [database],
        )
        raise _not_found(target, f"{database}.{table}", [_text(r["name"]) for r in rows])
    json_cols: set[str] = set()
    other_checks: list[str] = []
    try:
        for row in await db.fetch_all(_MY_JSON_CHECKS, [database, table]):
            clause = _text(row["clause"]) or ""
            m = re.match(r"\s*json_valid\(`?([^`)]+)`?\)\s*$", clause)
            if m:
                json_cols.add(m.group(1))
            else:
                other_checks.append(clause)
    except Exception:  # noqa: S110 - CHECK_CONSTRAINTS is missing before MySQL 8.0.16
        pass
    fields: dict[str, FieldSchema] = {}
    for col in await db.fetch_all(_MY_COLUMNS, [database, table]):
        name = _text(col["name"])
        column_type = _text(col["column_type"]) or ""
        data_type = _text(col["data_type"]) or ""
        extra = (_text(col["extra"]) or "").lower()
        default = _text(col["column_default"])
        if isinstance(default, str) and default.upper() == "NULL":
            default = None  # MariaDB spells "no default" of a nullable column as 'NULL'
        fs = FieldSchema(
            type="json" if name in json_cols else map_mysql_type(data_type, column_type),
            nullable=_text(col["is_nullable"]) == "YES",
            db_type=column_type,
            description=_text(col["comment"]) or None,
            default=default,
            auto_increment="auto_increment" in extra,
        )
        if fs.auto_increment or default is not None or "generated" in extra:
            fs.required = False
        if (
            fs.type == "str"
            and col["max_length"] is not None
            and data_type.lower() in ("char", "varchar")
        ):
            fs.max_length = int(col["max_length"])
        if fs.type == "Decimal" and col["num_precision"] is not None:
            fs.max_digits = int(col["num_precision"])
            fs.decimal_places = int(col["num_scale"] or 0)
        if data_type.lower() == "enum":
            fs.enum = [m.replace("''", "'") for m in _ENUM_LABEL.findall(column_type)]
        if fs.type == "json":
            fs.format = "json"
        fields[name] = fs
    for clause in other_checks:
        check = parse_check(clause)
        if check.column is not None and check.column in fields:
            apply_check(fields[check.column], clause, check)
    rows_estimate = info["table_rows"]
    schema = CollectionSchema(
        name=table,
        kind="view" if "VIEW" in (_text(info["table_type"]) or "") else "table",
        source="mysql",
        schema_name=database,
        fields=fields,
        description=_text(info["comment"]) or None,
        row_estimate=int(rows_estimate) if rows_estimate is not None else None,
    )
    keys: dict[tuple[str, str], dict[str, Any]] = {}
    for row in await db.fetch_all(_MY_KEYS, [database, table]):
        key = (_text(row["type"]), _text(row["name"]))
        entry = keys.setdefault(key, {"cols": [], "ref_cols": [], "row": row})
        entry["cols"].append(_text(row["col"]))
        if row["ref_col"] is not None:
            entry["ref_cols"].append(_text(row["ref_col"]))
    for (ctype, cname), entry in keys.items():
        if ctype == "PRIMARY KEY":
            schema.primary_key = entry["cols"]
        elif ctype == "UNIQUE":
            schema.unique_constraints.append(entry["cols"])
        else:
            row = entry["row"]
            schema.foreign_keys.append(
                ForeignKey(
                    name=cname,
                    columns=entry["cols"],
                    ref_table=_text(row["ref_table"]),
                    ref_columns=entry["ref_cols"],
                    ref_schema=_text(row["ref_schema"]),
                    on_delete=_text(row["on_delete"]),
                    on_update=_text(row["on_update"]),
                )
            )
    indexes: dict[str, IndexSchema] = {}
    for row in await db.fetch_all(_MY_INDEXES, [database, table]):
        name = _text(row["name"])
        ix = indexes.get(name)
        if ix is None:
            ix = indexes[name] = IndexSchema(
                name=name, fields=[], unique=int(row["non_unique"]) == 0, primary=name == "PRIMARY"
            )
        if row["col"] is not None:
            ix.fields.append(_text(row["col"]))
    schema.indexes = list(indexes.values())
    _apply_keys(schema)
    return schema
