"""SQL schemas from the catalog (never by scanning rows): PostgreSQL, MySQL/MariaDB, SQLite.

Every column with its type mapped to a schema type name (numbers and decimals with precision and
scale, dates and times, JSON, arrays with their element type, enums with their labels, UUID,
binary), nullability, server defaults, identity/auto-increment, primary key, unique constraints,
foreign keys, indexes, comments and the planner's row estimate. Table and schema names are bound
parameters of catalog queries; nothing the caller passes is spliced into SQL text.
"""

from __future__ import annotations

import re
from typing import Any

from xinspector.discovery.checks import apply_check, parse_check
from xinspector.errors import XInspectorNotFoundError
from xinspector.schema import CollectionSchema, FieldSchema, ForeignKey, IndexSchema
from xresource import SQLExecutor

__all__ = [
    "discover_mysql",
    "discover_postgres",
    "discover_sqlite",
    "map_mysql_type",
    "map_postgres_type",
    "map_sqlite_type",
]

# -- type mapping ------------------------------------------------------------------------------
_PG_TYPES = {
    "int2": "int",
    "int4": "int",
    "int8": "int",
    "oid": "int",
    "xid": "int",
    "float4": "float",
    "float8": "float",
    "numeric": "Decimal",
    "bool": "bool",
    "text": "str",
    "varchar": "str",
    "bpchar": "str",
    "char": "str",
    "name": "str",
    "citext": "str",
    "xml": "str",
    "money": "str",
    "tsvector": "str",
    "bit": "str",
    "varbit": "str",
    "date": "date",
    "timestamp": "datetime",
    "timestamptz": "datetime",
    "time": "time",
    "timetz": "time",
    "interval": "timedelta",
    "uuid": "UUID",
    "json": "json",
    "jsonb": "json",
    "bytea": "bytes",
}


def map_postgres_type(udt: str) -> str:
    """Schema type name of a PostgreSQL base type (``pg_type.typname``); unknown -> ``Any``."""
    return _PG_TYPES.get(udt, "Any")


_MYSQL_TYPES = {
    "tinyint": "int",
    "smallint": "int",
    "mediumint": "int",
    "int": "int",
    "integer": "int",
    "bigint": "int",
    "year": "int",
    "decimal": "Decimal",
    "numeric": "Decimal",
    "float": "float",
    "double": "float",
    "real": "float",
    "char": "str",
    "varchar": "str",
    "tinytext": "str",
    "text": "str",
    "mediumtext": "str",
    "longtext": "str",
    "enum": "str",
    "set": "str",
    "date": "date",
    "datetime": "datetime",
    "timestamp": "datetime",
    "time": "timedelta",
    "json": "json",
    "uuid": "UUID",
    "binary": "bytes",
    "varbinary": "bytes",
    "tinyblob": "bytes",
    "blob": "bytes",
    "mediumblob": "bytes",
    "longblob": "bytes",
    "bit": "bytes",
    "inet4": "str",
    "inet6": "str",
}


def map_mysql_type(data_type: str, column_type: str = "") -> str:
    """Schema type name of a MySQL/MariaDB column (``DATA_TYPE``, ``COLUMN_TYPE``)."""
    dt = data_type.lower()
    if dt == "tinyint" and column_type.lower().startswith("tinyint(1)"):
        return "bool"
    return _MYSQL_TYPES.get(dt, "Any")


_SIZE = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def map_sqlite_type(declared: str) -> str:
    """Schema type name of a SQLite declared type, after SQLite's own affinity rules.

    Names that say more than the affinity (``DATE``, ``DATETIME``, ``BOOLEAN``, ``DECIMAL``,
    ``NUMERIC(10,2)``, ``UUID``, ``JSON``) map to that type.
    """
    t = declared.upper().strip()
    base = t.split("(", 1)[0].strip()
    specific = {
        "DATE": "date",
        "DATETIME": "datetime",
        "TIMESTAMP": "datetime",
        "TIME": "time",
        "BOOLEAN": "bool",
        "BOOL": "bool",
        "UUID": "UUID",
        "JSON": "json",
        "DECIMAL": "Decimal",
        "NUMERIC": "Decimal",
        "MONEY": "Decimal",
    }
    if base in specific:
        return specific[base]
    if not t:
        return "Any"  # no declared type: BLOB affinity, any value
    if "INT" in t:
        return "int"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "str"
    if "BLOB" in t:
        return "bytes"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "float"
    return "Decimal"


def _not_found(target: str, table: str, available: list[str]) -> XInspectorNotFoundError:
    shown = ", ".join(available[:20]) + (" ..." if len(available) > 20 else "")
    return XInspectorNotFoundError(
        f"table {table!r} not found; available: {shown or '(none)'}",
        target=target,
        operation="discover_schema",
    )


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


def _apply_keys(schema: CollectionSchema) -> None:
    """Copy table-level keys onto the fields (primary_key, unique, foreign_key)."""
    for name in schema.primary_key:
        if name in schema.fields:
            schema.fields[name].primary_key = True
    for cols in schema.unique_constraints:
        if len(cols) == 1 and cols[0] in schema.fields:
            schema.fields[cols[0]].unique = True
    if len(schema.primary_key) == 1 and schema.primary_key[0] in schema.fields:
        schema.fields[schema.primary_key[0]].unique = True
    for fk in schema.foreign_keys:
        for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
            if col in schema.fields:
                schema.fields[col].foreign_key = {"table": fk.ref_table, "column": ref}


# -- PostgreSQL --------------------------------------------------------------------------------
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


# -- MySQL / MariaDB ---------------------------------------------------------------------------
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


# -- SQLite ------------------------------------------------------------------------------------
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
    from xresource import SQLITE

    return SQLITE.quote(name)
