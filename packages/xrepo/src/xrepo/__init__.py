"""xrepo: async repositories over any xresource.

CRUD, Mongo-style filters and pipelines compiled to each backend natively (SQL for PostgreSQL,
MariaDB/MySQL and SQLite, native queries for MongoDB, compiled predicates in memory), soft
deletes, timestamps and optimistic concurrency::

    from xrepo import XRepoFactory

    repo = await XRepoFactory.create(resource=db, model_class=User, collection="users")
    adults = await repo.list({"age__gte": 18}, sort=[("name", 1)], limit=20)
    by_city = await repo.aggregate([{"$group": {"_id": "$city", "n": {"$sum": 1}}}])

Access control, audit, caching and statistics wrap any repository (:class:`SecureRepo`, or
``XRepoFactory.create(..., acl=..., audit=..., cache=...)``); views join collections of different
resources and aggregate repositories group across repositories (:mod:`xrepo.views`).

``ConnectedMongoRepo`` is imported on first access, so ``import xrepo`` needs no driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xrepo.__about__ import __version__
from xrepo._context import Permission, RepoContext
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.audit import AuditEntry, AuditLogger
from xrepo.cache import CacheManager
from xrepo.errors import (
    XRepoConfigurationError,
    XRepoConflictError,
    XRepoConnectionError,
    XRepoError,
    XRepoNotFoundError,
    XRepoPermissionError,
    XRepoQueryError,
    XRepoValidationError,
)
from xrepo.factory import (
    RepoCreationStrategy,
    XRepoFactory,
    create_view_from_resources,
    model_from_data,
    model_from_schema,
)
from xrepo.query import FilterLimits, parse_filter, parse_pipeline
from xrepo.repos import (
    ConnectedEngineFileRepo,
    ConnectedFileRepo,
    ConnectedRepo,
    ConnectedSQLRepo,
    MaterializedRepo,
    RepoMetadata,
    XRepo,
)
from xrepo.secure import SecureRepo
from xrepo.stats import RepoStats
from xrepo.stores import Store
from xrepo.views import (
    AggregateRepo,
    ViewRepo,
    XRepoReadOnlyError,
    create_aggregate_repo,
)

if TYPE_CHECKING:
    from xrepo.repos import ConnectedMongoRepo

# The MongoDB repository needs the driver (xrepo[mongodb]): imported on first access.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {"ConnectedMongoRepo": "xrepo.repos"},
    extras={"xrepo.repos": "xrepo[mongodb]"},
)

__all__ = [
    "ACLPolicy",
    "ACLRule",
    "AggregateRepo",
    "AuditEntry",
    "AuditLogger",
    "CacheManager",
    "ConnectedEngineFileRepo",
    "ConnectedFileRepo",
    "ConnectedMongoRepo",
    "ConnectedRepo",
    "ConnectedSQLRepo",
    "FilterLimits",
    "MaterializedRepo",
    "Permission",
    "RepoContext",
    "RepoCreationStrategy",
    "RepoMetadata",
    "RepoStats",
    "SecureRepo",
    "Store",
    "ViewRepo",
    "XRepo",
    "XRepoConfigurationError",
    "XRepoConflictError",
    "XRepoConnectionError",
    "XRepoError",
    "XRepoFactory",
    "XRepoNotFoundError",
    "XRepoPermissionError",
    "XRepoQueryError",
    "XRepoReadOnlyError",
    "XRepoValidationError",
    "__version__",
    "create_aggregate_repo",
    "create_view_from_resources",
    "model_from_data",
    "model_from_schema",
    "parse_filter",
    "parse_pipeline",
]
