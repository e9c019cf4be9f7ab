"""Discovery: schemas from catalogs and samples.

SQL schemas come from the catalog (never by scanning rows): PostgreSQL, MySQL/MariaDB, SQLite.
Every column with its type mapped to a schema type name (numbers and decimals with precision and
scale, dates and times, JSON, arrays with their element type, enums with their labels, UUID,
binary), nullability, server defaults, identity/auto-increment, primary key, unique constraints,
foreign keys, indexes, comments and the planner's row estimate. Table and schema names are bound
parameters of catalog queries; nothing the caller passes is spliced into SQL text.

- :func:`discover_postgres`, :func:`discover_mysql`, :func:`discover_sqlite` — one table's
  :class:`~xinspector.CollectionSchema` through an ``xresource.SQLExecutor``;
- :func:`map_postgres_type`, :func:`map_mysql_type`, :func:`map_sqlite_type` — a catalog type
  name as a schema type name.
"""

from xinspector.discovery._mysql import discover_mysql
from xinspector.discovery._postgres import discover_postgres
from xinspector.discovery._sql_types import map_mysql_type, map_postgres_type, map_sqlite_type
from xinspector.discovery._sqlite import discover_sqlite

__all__ = [
    "discover_mysql",
    "discover_postgres",
    "discover_sqlite",
    "map_mysql_type",
    "map_postgres_type",
    "map_sqlite_type",
]
