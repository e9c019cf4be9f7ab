# ruff: noqa: S608 - catalog queries: the table name is a bound parameter.
"""What :class:`~xrepo.stores.SQLStore` asks each SQL database differently: the catalog query of
a table's columns, whether a transaction can hold savepoints, and which database errors are a
``$regex`` the database refused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xrepo.query import Condition
from xresource import SQLDialect, XResourceIntegrityError

__all__ = ["columns_query", "refuse_taken_ids", "refused_regex", "savepoints"]


def columns_query(dialect: SQLDialect, table: str, schema: str | None) -> tuple[str, list[Any]]:
    """The query of ``table``'s column names (as ``name``, in table order) and its parameters."""
    if dialect.name == "sqlite":
        return f"SELECT name AS name FROM pragma_table_info({dialect.param(1)})", [table]
    if dialect.name in ("postgresql", "duckdb"):
        p1, p2 = dialect.param(1), dialect.param(2)
        return (
            "SELECT column_name AS name FROM information_schema.columns WHERE "
            f"table_name = {p1} AND table_schema = COALESCE({p2}, current_schema()) "
            "ORDER BY ordinal_position",
            [table, schema],
        )
    return (
        "SELECT COLUMN_NAME AS name FROM information_schema.columns WHERE "
        "TABLE_NAME = %s AND TABLE_SCHEMA = DATABASE() ORDER BY ORDINAL_POSITION",
        [table],
    )


def savepoints(dialect: SQLDialect) -> bool:
    """Whether a transaction of ``dialect`` takes ``SAVEPOINT`` (DuckDB's does not: a failed
    statement there dooms the whole transaction, which the caller then rolls back)."""
    return dialect.name != "duckdb"


async def refuse_taken_ids(
    executor: Any,
    compiler: Any,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    id_field: str,
) -> None:
    """Raise ``XResourceIntegrityError`` (the primary key's error; ``details["item"]``: the
    position) for the first of ``rows``
    whose id an earlier row of the batch or a row of ``table`` holds already, before any
    ``INSERT`` runs (for a transaction that cannot roll back to a savepoint)."""
    ids = [r[id_field] for r in rows]
    taken: set[Any] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql, params = compiler.select(table, Condition(id_field, "in", chunk))
        taken.update(r[id_field] for r in await executor.fetch_all(sql, params))
    seen: set[Any] = set()
    for i, value in enumerate(ids):
        if value in taken or value in seen:
            raise XResourceIntegrityError(
                f"constraint violated, nothing was written: duplicate {id_field} (primary key)",
                operation="execute",
                details={"item": i},
            )
        seen.add(value)


#: DuckDB's messages for a pattern RE2 does not take (lookaround, backreferences, bad syntax).
_RE2_REFUSALS = (
    "invalid perl operator",
    "invalid escape sequence",
    "missing )",
    "missing ]",
    "unexpected )",
    "invalid repetition",
    "bad repetition",
    "invalid character class",
    "invalid named capture",
    "trailing \\",
    "invalid utf-8",
    "pattern too large",
)


def refused_regex(dialect: SQLDialect, message: str) -> bool:
    """Whether the database error ``message`` is a ``$regex`` pattern the database refused."""
    if dialect.name != "duckdb":
        return False
    lowered = message.lower()
    return any(r in lowered for r in _RE2_REFUSALS)
