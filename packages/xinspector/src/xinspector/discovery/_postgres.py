"""A PostgreSQL table's schema from ``pg_catalog``: the catalog queries and their rows as
fields, keys, checks and indexes."""

from __future__ import annotations

from typing import Any

from xinspector._schema import CollectionSchema, FieldSchema, ForeignKey, IndexSchema
from xinspector.discovery._checks import apply_check, parse_check
from xinspector.discovery._sql_common import _apply_keys, _not_found
from xinspector.discovery._sql_types import map_postgres_type
from xresource import SQLExecutor

__all__ = ["discover_postgres"]


def _fk_action(code: str | None) -> str | None:
    return {
        "a": "NO ACTION",
        "r": "RESTRICT",
        "c": "CASCADE",
        "n": "SET NULL",
        "d": "SET DEFAULT",
    }.get(code or "")


def _apply_check(schema: CollectionSchema, clause: str | None) -> None:
    """A single-column CHECK becomes declared constraints of its field where it can."""
    if not clause:
        return
    check = parse_check(clause)
    if check.column is not None and check.column in schema.fields:
        apply_check(schema.fields[check.column], clause, check)


_PG_TABLE = """
SELECT c.oid AS oid, c.relkind::text AS relkind, c.reltuples::bigint AS reltuples,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
"""
_PG_COLUMNS = """
SELECT a.attname::text AS name, a.attnum AS position,
       format_type(a.atttypid, a.atttypmod) AS db_type, t.typname::text AS udt,
       t.typtype::text AS typtype, t.typcategory::text AS category, a.atttypid AS type_oid,
       bt.typname::text AS base_udt, et.typname::text AS element_udt,
       et.typtype::text AS element_typtype,
       et.oid AS element_oid, NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS column_default, a.attidentity::text AS identity,
       a.attgenerated::text AS generated, col_description(a.attrelid, a.attnum) AS comment,
       CASE WHEN a.atttypmod > 4 AND t.typname IN ('varchar', 'bpchar', '_varchar', '_bpchar')
            THEN a.atttypmod - 4 END AS max_length,
       CASE WHEN t.typname = 'numeric' AND a.atttypmod > 4
            THEN ((a.atttypmod - 4) >> 16) & 65535 END AS num_precision,
       CASE WHEN t.typname = 'numeric' AND a.atttypmod > 4
            THEN (a.atttypmod - 4) & 65535 END AS num_scale
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PG_CONSTRAINTS = """
SELECT con.conname::text AS name, con.contype::text AS type,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       fn.nspname::text AS ref_schema, fc.relname::text AS ref_table,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS ref_columns,
       con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
       CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid) END AS clause
FROM pg_constraint con
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.conrelid = $1 AND con.contype IN ('p', 'u', 'f', 'c')
ORDER BY con.contype, con.conname
"""
_PG_INDEXES = """
SELECT ic.relname::text AS name, ix.indisunique AS is_unique, ix.indisprimary AS is_primary,
       ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       pg_get_indexdef(ix.indexrelid) AS definition
FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
WHERE ix.indrelid = $1
ORDER BY ic.relname
"""
_PG_ENUM = (
    "SELECT enumlabel::text AS label FROM pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder"
)


async def discover_postgres(
    db: SQLExecutor, table: str, *, schema_name: str = "public", target: str = "postgresql"
) -> CollectionSchema:
    """The schema of ``schema_name.table`` from ``pg_catalog``."""
    info = await db.fetch_one(_PG_TABLE, [schema_name, table])
    if info is None:
        rows = await db.fetch_all(
            "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','f') "
            "ORDER BY 1",
            [schema_name],
        )
        raise _not_found(target, f"{schema_name}.{table}", [r["name"] for r in rows])
    oid = info["oid"]
    fields: dict[str, FieldSchema] = {}
    for col in await db.fetch_all(_PG_COLUMNS, [oid]):
        fields[col["name"]] = await _pg_field(db, col)
    schema = CollectionSchema(
        name=table,
        kind="view" if info["relkind"] in ("v", "m") else "table",
        source="postgresql",
        schema_name=schema_name,
        fields=fields,
        description=info["comment"],
        row_estimate=int(info["reltuples"])
        if info["reltuples"] is not None and info["reltuples"] >= 0
        else None,
    )
    for con in await db.fetch_all(_PG_CONSTRAINTS, [oid]):
        cols = list(con["columns"])
        if con["type"] == "c":
            _apply_check(schema, con["clause"])
        elif con["type"] == "p":
            schema.primary_key = cols
        elif con["type"] == "u":
            schema.unique_constraints.append(cols)
        else:
            schema.foreign_keys.append(
                ForeignKey(
                    name=con["name"],
                    columns=cols,
                    ref_table=con["ref_table"],
                    ref_columns=list(con["ref_columns"]),
                    ref_schema=con["ref_schema"],
                    on_delete=_fk_action(con["on_delete"]),
                    on_update=_fk_action(con["on_update"]),
                )
            )
    for ix in await db.fetch_all(_PG_INDEXES, [oid]):
        schema.indexes.append(
            IndexSchema(
                name=ix["name"],
                fields=list(ix["columns"]),
                unique=bool(ix["is_unique"]),
                primary=bool(ix["is_primary"]),
                definition=ix["definition"],
            )
        )
    _apply_keys(schema)
    return schema


async def _pg_field(db: SQLExecutor, col: dict[str, Any]) -> FieldSchema:
    udt = col["udt"]
    typtype = col["typtype"]
    if typtype == "d" and col["base_udt"]:
        udt = col["base_udt"]
    default = col["column_default"]
    fs = FieldSchema(
        type=map_postgres_type(udt),
        required=True,
        nullable=bool(col["nullable"]),
        db_type=col["db_type"],
        description=col["comment"],
        default=default,
        auto_increment=bool(col["identity"])
        or (isinstance(default, str) and default.startswith("nextval(")),
    )
    if col["identity"] or default is not None or col["generated"]:
        # The server fills it: a record may leave it out.
        fs.required = False
    if col["max_length"] is not None and col["category"] != "A":
        fs.max_length = int(col["max_length"])
    if col["num_precision"] is not None:
        fs.max_digits = int(col["num_precision"])
        fs.decimal_places = int(col["num_scale"])
    if typtype == "e":
        fs.type = "str"
        fs.enum = [r["label"] for r in await db.fetch_all(_PG_ENUM, [col["type_oid"]])]
    elif col["category"] == "A":
        fs.type = "list"
        element = col["element_udt"] or "Any"
        item = FieldSchema(type=map_postgres_type(element), nullable=True)
        if col["element_typtype"] == "e":
            item.type = "str"
            item.enum = [r["label"] for r in await db.fetch_all(_PG_ENUM, [col["element_oid"]])]
        if col["max_length"] is not None:
            item.max_length = int(col["max_length"])
        fs.items = item
    if fs.type == "json":
        fs.format = "json"
    return fs
