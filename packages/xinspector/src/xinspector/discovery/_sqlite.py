"""A SQLite table's schema from ``sqlite_master`` and the ``pragma_*`` table-valued functions."""

from __future__ import annotations

import re

from xinspector._schema import CollectionSchema, FieldSchema, ForeignKey, IndexSchema
from xinspector.discovery._sql_common import _apply_keys, _not_found
from xinspector.discovery._sql_types import map_sqlite_type
from xresource import SQLITE, SQLExecutor

__all__ = ["discover_sqlite"]

_SIZE = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


async def discover_sqlite(
    db: SQLExecutor, table: str, *, target: str = "sqlite"
) -> CollectionSchema:
    """The schema of ``table`` from SQLite's ``pragma_*`` table-valued functions."""
    info = await db.fetch_one(
        "SELECT type, sql FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", [table]
    )
    if info is None:
        rows = await db.fetch_all(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        raise _not_found(target, table, [r["name"] for r in rows])
    columns = await db.fetch_all(
        'SELECT cid, name, type, "notnull" AS not_null, dflt_value, pk '
        "FROM pragma_table_info(?) ORDER BY cid",
        [table],
    )
    pk_cols = sorted((c for c in columns if c["pk"]), key=lambda c: c["pk"])
    ddl = (info["sql"] or "").upper()
    fields: dict[str, FieldSchema] = {}
    for col in columns:
        declared = col["type"] or ""
        fs = FieldSchema(
            type=map_sqlite_type(declared),
            db_type=declared or None,
            nullable=not col["not_null"] and not col["pk"],
            default=col["dflt_value"],
        )
        size = _SIZE.search(declared)
        if size and fs.type == "str":
            fs.max_length = int(size.group(1))
        elif size and fs.type == "Decimal":
            fs.max_digits = int(size.group(1))
            fs.decimal_places = int(size.group(2) or 0)
        rowid_alias = len(pk_cols) == 1 and col["pk"] and declared.upper() == "INTEGER"
        if rowid_alias:
            # INTEGER PRIMARY KEY is the rowid: SQLite assigns it, it is never NULL.
            fs.auto_increment = True
            fs.required = False
            fs.nullable = False
        elif col["dflt_value"] is not None:
            fs.required = False
        fields[col["name"]] = fs
    if len(pk_cols) == 1 and "AUTOINCREMENT" in ddl:
        fields[pk_cols[0]["name"]].auto_increment = True
    estimate = await _sqlite_estimate(db, table)
    schema = CollectionSchema(
        name=table,
        kind="view" if info["type"] == "view" else "table",
        source="sqlite",
        fields=fields,
        primary_key=[c["name"] for c in pk_cols],
        row_estimate=estimate,
    )
    fks: dict[int, ForeignKey] = {}
    for row in await db.fetch_all(
        "SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq", [table]
    ):
        fk = fks.get(row["id"])
        if fk is None:
            fk = fks[row["id"]] = ForeignKey(
                columns=[],
                ref_table=row["table"],
                ref_columns=[],
                on_delete=row["on_delete"],
                on_update=row["on_update"],
            )
        fk.columns.append(row["from"])
        fk.ref_columns.append(row["to"] or "")
    schema.foreign_keys = list(fks.values())
    for ix in await db.fetch_all(
        'SELECT name, "unique" AS is_unique, origin FROM pragma_index_list(?) ORDER BY name',
        [table],
    ):
        cols = [
            r["name"]
            for r in await db.fetch_all(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno", [ix["name"]]
            )
        ]
        if ix["origin"] == "u":
            schema.unique_constraints.append(cols)
        schema.indexes.append(
            IndexSchema(
                name=ix["name"],
                fields=cols,
                unique=bool(ix["is_unique"]),
                primary=ix["origin"] == "pk",
            )
        )
    _apply_keys(schema)
    return schema


async def _sqlite_estimate(db: SQLExecutor, table: str) -> int | None:
    has_stat = await db.fetch_value(
        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
    )
    if has_stat:
        stat = await db.fetch_value(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = ? AND idx IS NULL", [table]
        )
        if stat:
            return int(str(stat).split()[0])
    # No statistics: the exact count is cheap enough in an embedded database.
    value = await db.fetch_value(f"SELECT count(*) FROM {_quote_sqlite(table)}")  # noqa: S608
    return int(value) if value is not None else None


def _quote_sqlite(name: str) -> str:
    return SQLITE.quote(name)
