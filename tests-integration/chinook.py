"""Load the Chinook sample database into PostgreSQL, MariaDB/MySQL or SQLite through xresource.

Reusable by every integration suite (xresource, xinspector, xrepo)::

    from chinook import CHINOOK_TABLES, load_chinook

    async with ResourceFactory.from_url(postgres_url) as pg:
        chinook = await load_chinook(pg, "postgresql")
        async with chinook:  # a resource whose unqualified table names are Chinook's
            albums = await chinook.fetch_all("SELECT * FROM album")

Where the data goes (the scripts are in ``$XTEST_DATASETS/chinook``, see its ``SOURCE.md``):

- **PostgreSQL**: schema ``chinook`` of the resource's database, created in *one* transaction
  (PostgreSQL's DDL is transactional: a failed load leaves nothing). The returned resource has
  ``schema_name="chinook"``, which puts the schema first on its ``search_path``.
- **MariaDB/MySQL**: database ``chinook`` (utf8mb4). The script is run with
  ``NO_BACKSLASH_ESCAPES`` so that the four track names holding a ``\\`` keep it, as in the other
  engines. The returned resource has ``database="chinook"``.
- **SQLite**: the resource's own file (or ``:memory:``) in one ``BEGIN IMMEDIATE`` transaction;
  the returned resource is ``resource`` itself.

Loading is idempotent and safe to run from several processes at once: it holds a lock
(a PostgreSQL advisory lock, a MariaDB named lock, SQLite's write lock) while it checks the row
counts (15,607 rows in 11 tables) and loads only when they are not exactly right, replacing what
was there. Statements run through the drivers (no ``psql``/``mariadb`` binaries): the scripts are
split on ``;`` outside quotes and comments, and their ``CREATE DATABASE``/``USE``/``\\c`` lines
are replaced by the placement above.
"""

from __future__ import annotations

import asyncio
import os
import re
import zlib
from pathlib import Path
from typing import Any

from xresource import MYSQL, POSTGRESQL, SQLITE, SQLDatabaseResource, SQLDialect

__all__ = [
    "CHINOOK_COUNTS",
    "CHINOOK_TABLES",
    "MYSQL_DATABASE",
    "POSTGRES_SCHEMA",
    "TOTAL_ROWS",
    "chinook_counts",
    "chinook_resource",
    "load_chinook",
    "split_statements",
]

POSTGRES_SCHEMA = "chinook"
MYSQL_DATABASE = "chinook"
TOTAL_ROWS = 15_607

#: Row count of each Chinook table, by its name in the dataset's own files (PascalCase).
CHINOOK_COUNTS: dict[str, int] = {
    "Album": 347,
    "Artist": 275,
    "Customer": 59,
    "Employee": 8,
    "Genre": 25,
    "Invoice": 412,
    "InvoiceLine": 2240,
    "MediaType": 5,
    "Playlist": 18,
    "PlaylistTrack": 8715,
    "Track": 3503,
}
_SNAKE = {name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name in CHINOOK_COUNTS}

#: Table name -> row count, per dialect name (PostgreSQL's script uses snake_case names).
CHINOOK_TABLES: dict[str, dict[str, int]] = {
    "postgresql": {_SNAKE[name]: count for name, count in CHINOOK_COUNTS.items()},
    "mysql": dict(CHINOOK_COUNTS),
    "sqlite": dict(CHINOOK_COUNTS),
}
_SCRIPTS = {
    "postgresql": "Chinook_PostgreSql.sql",
    "mysql": "Chinook_MySql.sql",
    "sqlite": "Chinook_Sqlite.sql",
}
_PG, _MY, _SQ = POSTGRESQL, MYSQL, SQLITE
_LOCK_NAME = "xstack_chinook_loader"
_PG_LOCK_KEY = zlib.crc32(_LOCK_NAME.encode())  # a stable 32-bit advisory lock key

# One token of SQL: a quoted string or identifier, a comment, a `;`, or a run of other text.
_TOKEN = re.compile(
    r"'(?:[^']|'')*'"  # 'string' with '' escapes
    r'|"(?:[^"]|"")*"'  # "identifier"
    r"|`[^`]*`"  # `identifier` (MySQL)
    r"|\[[^\]]*\]"  # [identifier] (SQLite)
    r"|--[^\n]*"  # line comment
    r"|/\*.*?\*/"  # block comment
    r"|;"
    r"|[^'\"`\[;/-]+"
    r"|.",
    re.DOTALL,
)
_PLACEMENT = re.compile(r"^\s*(?:(?:DROP|CREATE)\s+DATABASE\b|USE\s)", re.IGNORECASE)


def split_statements(script: str) -> list[str]:
    """The statements of an SQL script, without comments, psql meta-commands (``\\c``) and
    ``CREATE/DROP DATABASE``/``USE`` lines. Backslashes inside strings are literal text."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("\\")]
    statements: list[str] = []
    current: list[str] = []
    for match in _TOKEN.finditer("\n".join(lines)):
        token = match.group()
        if token.startswith(("--", "/*")):
            continue
        if token == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(token)
    statements.append("".join(current).strip())
    return [s for s in statements if s and not _PLACEMENT.match(s)]


def _dialect_name(resource: SQLDatabaseResource, dialect: str | SQLDialect | None) -> str:
    name = dialect.name if isinstance(dialect, SQLDialect) else (dialect or resource.dialect.name)
    name = {"postgres": "postgresql", "mariadb": "mysql"}.get(name, name)
    if name not in _SCRIPTS:
        raise ValueError(f"no Chinook script for dialect {name!r}; use one of {sorted(_SCRIPTS)}")
    if name != resource.dialect.name:
        raise ValueError(
            f"dialect {name!r} does not match the resource ({resource.dialect.name!r})"
        )
    return name


def _script_path(dialect: str) -> Path:
    root = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
    base = Path(os.environ.get("XTEST_DATASETS", str(root)))
    path = base / "chinook" / _SCRIPTS[dialect]
    if not path.is_file():
        raise FileNotFoundError(f"the Chinook script {path} is missing (set XTEST_DATASETS)")
    return path


async def _statements(dialect: str) -> list[str]:
    path = _script_path(dialect)
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return await asyncio.to_thread(split_statements, text)


def chinook_resource(
    resource: SQLDatabaseResource, dialect: str | SQLDialect | None = None
) -> SQLDatabaseResource:
    """A resource whose unqualified table names are Chinook's (see the module docs).

    New and not connected for PostgreSQL and MySQL (close it when done); ``resource`` for SQLite.
    """
    name = _dialect_name(resource, dialect)
    if name == "sqlite":
        return resource
    params: dict[str, Any] = resource.model_dump(exclude={"metadata", "name"})
    params["name"] = f"{resource.name}-chinook"
    if name == "postgresql":
        params["schema_name"] = POSTGRES_SCHEMA
    else:
        params["database"] = MYSQL_DATABASE
    return type(resource)(**params)


async def chinook_counts(executor: Any, dialect: str) -> dict[str, int]:
    """Row count of every Chinook table that exists (missing tables are left out)."""
    d: SQLDialect = {"postgresql": _PG, "mysql": _MY, "sqlite": _SQ}[dialect]
    if dialect == "sqlite":
        where = None
        rows = await executor.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        where = POSTGRES_SCHEMA if dialect == "postgresql" else MYSQL_DATABASE
        rows = await executor.fetch_all(
            "SELECT table_name AS name FROM information_schema.tables "
            f"WHERE table_schema = {d.param(1)}",
            [where],
        )
    present = {r["name"] for r in rows}
    counts = {}
    for table in CHINOOK_TABLES[dialect]:
        if table in present:
            sql = f"SELECT count(*) FROM {d.qualified(where, table)}"
            counts[table] = int(await executor.fetch_value(sql))
    return counts


def _check(counts: dict[str, int], dialect: str) -> None:
    if counts != CHINOOK_TABLES[dialect]:
        raise RuntimeError(
            f"Chinook load into {dialect} gave row counts {counts}, expected "
            f"{CHINOOK_TABLES[dialect]}"
        )


async def load_chinook(
    resource: SQLDatabaseResource, dialect: str | SQLDialect | None = None
) -> SQLDatabaseResource:
    """Load Chinook unless it is already there with the right row counts; see the module docs.

    Returns :func:`chinook_resource` (``resource`` itself for SQLite).
    """
    name = _dialect_name(resource, dialect)
    if name == "postgresql":
        await _load_postgres(resource)
    elif name == "mysql":
        await _load_mysql(resource)
    else:
        await _load_sqlite(resource)
    return chinook_resource(resource, name)


async def _load_postgres(resource: SQLDatabaseResource) -> None:
    schema = _PG.quote(POSTGRES_SCHEMA)
    async with resource.transaction() as tx:
        await tx.execute("SELECT pg_advisory_xact_lock($1)", [_PG_LOCK_KEY])
        if await chinook_counts(tx, "postgresql") != CHINOOK_TABLES["postgresql"]:
            await tx.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await tx.execute(f"CREATE SCHEMA {schema}")
            await tx.execute(f"SET LOCAL search_path TO {schema}")
            for statement in await _statements("postgresql"):
                await tx.execute(statement)
            _check(await chinook_counts(tx, "postgresql"), "postgresql")
        # Planner statistics now, not whenever autovacuum gets to the new tables: the row
        # estimates that discovery reports (pg_class.reltuples) exist only after an ANALYZE.
        tables = ", ".join(f"{schema}.{_PG.quote(t)}" for t in CHINOOK_TABLES["postgresql"])
        await tx.execute(f"ANALYZE {tables}")


async def _load_mysql(resource: SQLDatabaseResource) -> None:
    async with resource.transaction() as lock:  # one connection holds the named lock
        if await lock.fetch_value("SELECT GET_LOCK(%s, %s)", [_LOCK_NAME, 300]) != 1:
            raise TimeoutError("another Chinook load held the MariaDB lock for 300 s")
        try:
            if await chinook_counts(lock, "mysql") == CHINOOK_TABLES["mysql"]:
                return
            database = _MY.quote(MYSQL_DATABASE)
            await lock.execute(f"DROP DATABASE IF EXISTS {database}")
            await lock.execute(
                f"CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            loader = chinook_resource(resource, "mysql")
            loader.pool_min_size, loader.pool_max_size = 1, 1
            async with loader, loader.transaction() as tx:
                # Backslashes in the script are text (as in PostgreSQL and SQLite), not escapes.
                await tx.execute(
                    "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')"
                )
                for statement in await _statements("mysql"):
                    await tx.execute(statement)
            _check(await chinook_counts(lock, "mysql"), "mysql")
        finally:
            await lock.fetch_value("SELECT RELEASE_LOCK(%s)", [_LOCK_NAME])


async def _load_sqlite(resource: SQLDatabaseResource) -> None:
    async with resource.transaction() as tx:  # BEGIN IMMEDIATE: one loader at a time
        counts = await chinook_counts(tx, "sqlite")
        if counts == CHINOOK_TABLES["sqlite"]:
            return
        # Foreign keys are checked at COMMIT, so tables drop and load in the script's order.
        await tx.execute("PRAGMA defer_foreign_keys = ON")
        for table in counts:
            await tx.execute(f"DROP TABLE {_SQ.quote(table)}")
        for statement in await _statements("sqlite"):
            await tx.execute(statement)
        _check(await chinook_counts(tx, "sqlite"), "sqlite")
