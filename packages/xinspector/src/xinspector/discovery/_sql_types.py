"""Catalog type names to schema type names: PostgreSQL, MySQL/MariaDB, SQLite, DuckDB."""

from __future__ import annotations

__all__ = ["map_duckdb_type", "map_mysql_type", "map_postgres_type", "map_sqlite_type"]

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


_DUCKDB_TYPES = {
    "TINYINT": "int",
    "SMALLINT": "int",
    "INTEGER": "int",
    "BIGINT": "int",
    "HUGEINT": "int",
    "UTINYINT": "int",
    "USMALLINT": "int",
    "UINTEGER": "int",
    "UBIGINT": "int",
    "UHUGEINT": "int",
    "FLOAT": "float",
    "DOUBLE": "float",
    "DECIMAL": "Decimal",
    "BOOLEAN": "bool",
    "VARCHAR": "str",
    "DATE": "date",
    "TIMESTAMP": "datetime",
    "TIMESTAMP_S": "datetime",
    "TIMESTAMP_MS": "datetime",
    "TIMESTAMP_NS": "datetime",
    "TIMESTAMP WITH TIME ZONE": "datetime",
    "TIME": "time",
    "TIME WITH TIME ZONE": "time",
    "INTERVAL": "timedelta",
    "UUID": "UUID",
    "JSON": "json",
    "BLOB": "bytes",
    "BIT": "str",
    "ENUM": "str",
}


def map_duckdb_type(data_type: str) -> str:
    """Schema type name of a DuckDB column type (``information_schema.columns.data_type``).

    Lists and arrays (``INTEGER[]``, ``INTEGER[3]``) are ``list``; ``STRUCT`` and ``MAP`` are
    ``object``; ``DECIMAL(10,2)`` and ``ENUM('a', 'b')`` map by their base name.
    """
    t = data_type.strip().upper()
    if t.endswith("]"):
        return "list"
    base = t.split("(", 1)[0].strip()
    if base in {"STRUCT", "MAP", "UNION"}:
        return "object"
    return _DUCKDB_TYPES.get(base, "Any")
