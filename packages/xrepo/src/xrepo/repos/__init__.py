"""Repositories: :class:`XRepo` over a store, and the classes that build one for a resource.

- :class:`XRepo` — the one repository: ``XRepo(model_class=..., store=...)``; its
  configuration is a :class:`RepoMetadata`;
- :class:`MaterializedRepo` — an ``XRepo`` over a ``MemoryStore``, loaded with data;
- :class:`ConnectedSQLRepo`, :class:`ConnectedMongoRepo`, :class:`ConnectedFileRepo` — an
  ``XRepo`` over a ``SQLStore``, ``MongoStore`` or ``FileStore`` (same constructors as before);
- :class:`ConnectedEngineFileRepo` — an ``XRepo`` over an ``EngineFileStore`` (a file queried in
  place by DuckDB);
- :class:`ConnectedRepo` — builds the connected class for a resource;
  ``isinstance(repo, ConnectedRepo)`` holds for all three;
- :func:`model_from_data`, :func:`model_from_schema` — models generated from records or an
  XInspector schema.

``ConnectedMongoRepo`` needs ``xrepo[mongodb]`` and is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xrepo.repos._connected import ConnectedRepo, connected_repo
from xrepo.repos._connected_engine import ConnectedEngineFileRepo
from xrepo.repos._connected_file import ConnectedFileRepo
from xrepo.repos._connected_sql import ConnectedSQLRepo
from xrepo.repos._inferred import model_from_data, model_from_schema
from xrepo.repos._materialized import MaterializedRepo
from xrepo.repos._metadata import RepoMetadata, unknown_options
from xrepo.repos._repo import XRepo

if TYPE_CHECKING:
    from xrepo.repos._connected_mongo import ConnectedMongoRepo

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"ConnectedMongoRepo": "xrepo.repos._connected_mongo"},
    extras={"xrepo.repos._connected_mongo": "xrepo[mongodb]"},
)

__all__ = [
    "ConnectedEngineFileRepo",
    "ConnectedFileRepo",
    "ConnectedMongoRepo",
    "ConnectedRepo",
    "ConnectedSQLRepo",
    "MaterializedRepo",
    "RepoMetadata",
    "XRepo",
    "connected_repo",
    "model_from_data",
    "model_from_schema",
    "unknown_options",
]
