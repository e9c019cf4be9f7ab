"""UUID columns in SQL: counted as one value per UUID, bounded and ordered in 128-bit order.

A UUID's order is its 128-bit number's (Python's ``uuid.UUID`` order, the order of its 16
bytes, of its 32 lowercase hex digits and of its canonical lowercase text). Each database gets
there its own way:

- PostgreSQL's ``uuid`` compares its bytes (``ORDER BY`` and the btree agree) but has no
  ``min(uuid)``/``max(uuid)`` (15 has none): the bounds are ``ORDER BY ... LIMIT 1`` subqueries
  of the profiling query. Added to the aggregate query over 1,000,000 random UUIDs (PostgreSQL
  15, medians of 7), they cost what ``min(col::text COLLATE "C")`` costs in the aggregate scan
  with parallel workers (+145 ms both), less without them (+240 vs +340 ms), and nothing with an
  index on the column (the usual primary key), where the text aggregate still prints every UUID.
- DuckDB's ``UUID`` is a HUGEINT with the top bit flipped, so that its signed order is the
  unsigned 128-bit order: ``min``/``max``/``ORDER BY`` are right as they are.
- MariaDB's ``UUID`` (10.7+) compares version-1 UUIDs by their time fields swapped (an index
  friendly order, not the 128-bit one): bounds and tie-breaks compare its lowercase text.
- SQLite has no UUID type: a column declared ``UUID`` holds text in any case, with or without
  hyphens, braces or ``urn:uuid:``, or 16-byte blobs. Every value is turned into its 32 lowercase
  hex digits, which both count one UUID once (``'ABC…'`` and ``'abc…'`` are one value) and sort
  in 128-bit order; a value that is no UUID is kept as it is (counted) and never a bound.
"""

from __future__ import annotations

__all__ = ["uuid_bounds", "uuid_key", "uuid_order"]


def _sqlite_hex(col: str) -> str:
    """The 32 lowercase hex digits of a SQLite value that is a UUID (as Python's ``UUID()``
    reads text: ``urn:``/``uuid:`` prefixes, braces and hyphens dropped), else NULL."""
    text = (
        f"lower(replace(trim(replace(replace({col}, 'urn:', ''), 'uuid:', ''), '{{}}'), '-', ''))"
    )
    return (
        f"(CASE WHEN typeof({col}) = 'blob' THEN "
        f"(CASE WHEN length({col}) = 16 THEN lower(hex({col})) END) "
        f"WHEN length({text}) = 32 AND {text} NOT GLOB '*[^0-9a-f]*' THEN {text} END)"
    )


def _mysql_text(col: str) -> str:
    # ascii_bin: the canonical text compared byte by byte (the default collation ignores case).
    return f"CAST({col} AS CHAR CHARACTER SET ascii) COLLATE ascii_bin"


def uuid_key(dialect: str, col: str) -> str:
    """``col`` as counted and grouped: one key per UUID (SQLite: its hex digits, or the value
    itself when it is no UUID); the native types already compare UUIDs as equal or not."""
    if dialect == "sqlite":
        return f"coalesce({_sqlite_hex(col)}, {col})"
    return col


def uuid_order(dialect: str, key: str) -> str:
    """The key of :func:`uuid_key` in 128-bit order, for an ``ORDER BY``."""
    if dialect == "mysql":
        return _mysql_text(key)
    if dialect == "sqlite":
        return f"{key} COLLATE BINARY"
    return key


def uuid_bounds(dialect: str, col: str, table_sql: str) -> tuple[str, str]:
    """SQL of the smallest and the largest UUID of ``col``, items of the profiling query's
    ``SELECT`` over ``table_sql`` (text or UUIDs, which ``UUID()`` reads back)."""
    if dialect == "postgresql":
        first = f"SELECT {col} FROM {table_sql} WHERE {col} IS NOT NULL ORDER BY {col}"  # noqa: S608
        return f"({first} LIMIT 1)", f"({first} DESC LIMIT 1)"
    if dialect == "mysql":
        key = _mysql_text(col)
    elif dialect == "sqlite":
        key = _sqlite_hex(col)
    else:
        key = col
    return f"min({key})", f"max({key})"
