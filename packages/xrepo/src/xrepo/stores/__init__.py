"""Stores: what a backend does (:class:`Store`), one per kind of backend.

A :class:`~xrepo.XRepo` runs every operation on a store: it validates filters, sorts, pages and
values, applies soft deletes, timestamps and versions, and hands the store parsed trees and
storable rows. The built-in stores:

- :class:`MemoryStore`: records in memory, queried by the Python engine (indexes, worker threads
  for large scans);
- :class:`FileStore`: a CSV, JSON, YAML or Excel file through a file resource, in memory and
  written back atomically on every change;
- :class:`EngineFileStore`: a Parquet, JSON Lines, CSV or JSON file queried where it lies by
  the resource's DuckDB engine (``xresource[duckdb]``), written back as :class:`FileStore` does;
- :class:`SQLStore`: one table of PostgreSQL, MariaDB/MySQL or SQLite, every query one statement;
- :class:`MongoStore`: one MongoDB collection (needs ``xrepo[mongodb]``; imported on first use).

::

    from xrepo import XRepo
    from xrepo.stores import SQLStore

    users = XRepo(model_class=User, store=SQLStore(pg, "users"))

A new backend implements :class:`Store` and passes the cross-backend conformance suite
(``tests-integration/xrepo/test_repo_conformance.py``), which is the protocol's contract test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xrepo.stores._engine_file import EngineFileStore
from xrepo.stores._file import FileStore
from xrepo.stores._memory import MemoryStore
from xrepo.stores._protocol import INCREMENT, Row, RowLayout, Store, UpdateItem, VersionConflict
from xrepo.stores._sql import SQLStore

if TYPE_CHECKING:
    from xrepo.stores._mongo import MongoStore

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"MongoStore": "xrepo.stores._mongo"},
    extras={"xrepo.stores._mongo": "xrepo[mongodb]"},
)

__all__ = [
    "INCREMENT",
    "EngineFileStore",
    "FileStore",
    "MemoryStore",
    "MongoStore",
    "Row",
    "RowLayout",
    "SQLStore",
    "Store",
    "UpdateItem",
    "VersionConflict",
]
