"""Database resources: SQLite, DuckDB, PostgreSQL, MySQL/MariaDB and MongoDB, and what they share.

:class:`DatabaseResource` is the base of every database resource (pool fields, pool statistics);
:class:`SQLDatabaseResource` adds ``fetch_all``/``fetch_one``/``execute``/``executemany`` and
transactions (``SQLExecutor`` is that protocol), :class:`PooledSQLResource` the pool of a driver
with its own connections. ``SQLDialect`` (``SQLITE``, ``DUCKDB``, ``POSTGRESQL``, ``MYSQL``) quotes
identifiers and writes placeholders for each server.

The driver-backed classes are imported on first access, so importing this package needs no
driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xresource.databases.base import DatabaseResource, PoolStats, SQLDatabaseResource, SQLExecutor
from xresource.databases.dialect import DUCKDB, MYSQL, POSTGRESQL, SQLITE, SQLDialect
from xresource.databases.pooled import PooledSQLResource
from xresource.databases.value_scrub import raise_alone, scrub_record_values

if TYPE_CHECKING:
    from xresource.databases.duckdb import DuckDBResource
    from xresource.databases.mongo_guard import FORBIDDEN_OPERATORS, check_no_server_js
    from xresource.databases.mongodb import MongoDBResource, MongoPoolStats
    from xresource.databases.mysql import MySQLResource
    from xresource.databases.postgres import PostgreSQLResource
    from xresource.databases.sqlite import SQLiteResource

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SQLiteResource": "xresource.databases.sqlite",
        "DuckDBResource": "xresource.databases.duckdb",
        "PostgreSQLResource": "xresource.databases.postgres",
        "MySQLResource": "xresource.databases.mysql",
        "MongoDBResource": "xresource.databases.mongodb",
        "MongoPoolStats": "xresource.databases.mongodb",
        "FORBIDDEN_OPERATORS": "xresource.databases.mongo_guard",
        "check_no_server_js": "xresource.databases.mongo_guard",
    },
    extras={
        "xresource.databases.duckdb": "xresource[duckdb]",
        "xresource.databases.postgres": "xresource[postgres]",
        "xresource.databases.mysql": "xresource[mysql]",
        "xresource.databases.mongodb": "xresource[mongodb]",
        "xresource.databases.mongo_guard": "xresource[mongodb]",
    },
)

__all__ = [
    "DUCKDB",
    "FORBIDDEN_OPERATORS",
    "MYSQL",
    "POSTGRESQL",
    "SQLITE",
    "DatabaseResource",
    "DuckDBResource",
    "MongoDBResource",
    "MongoPoolStats",
    "MySQLResource",
    "PoolStats",
    "PooledSQLResource",
    "PostgreSQLResource",
    "SQLDatabaseResource",
    "SQLDialect",
    "SQLExecutor",
    "SQLiteResource",
    "check_no_server_js",
    "raise_alone",
    "scrub_record_values",
]
