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
  name as a schema type name;
- :func:`parse_check`, :func:`apply_check`, :class:`CheckConstraint` — what a single-column
  ``CHECK`` clause declares, as constraints of its field;
- :func:`discover_mongodb` — a collection's schema from a ``$sample``, verified on the server;
- :class:`RecordSchemaBuilder`, :func:`schema_from_records` — a schema from sampled records (REST
  endpoints, event streams, files).
"""

from xinspector.discovery._checks import CheckConstraint, apply_check, parse_check
from xinspector.discovery._mongodb import discover_mongodb
from xinspector.discovery._mysql import discover_mysql
from xinspector.discovery._postgres import discover_postgres
from xinspector.discovery._samples import RecordSchemaBuilder, schema_from_records
from xinspector.discovery._sql_types import map_mysql_type, map_postgres_type, map_sqlite_type
from xinspector.discovery._sqlite import discover_sqlite

__all__ = [
    "CheckConstraint",
    "RecordSchemaBuilder",
    "apply_check",
    "discover_mongodb",
    "discover_mysql",
    "discover_postgres",
    "discover_sqlite",
    "map_mysql_type",
    "map_postgres_type",
    "map_sqlite_type",
    "parse_check",
    "schema_from_records",
]
