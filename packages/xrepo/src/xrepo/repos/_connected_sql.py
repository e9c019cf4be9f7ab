"""``ConnectedSQLRepo``: a repository over one table of PostgreSQL, MariaDB/MySQL or SQLite: an
:class:`XRepo` over a :class:`~xrepo.stores.SQLStore`, which compiles every query to one SQL
statement and runs writes that touch several rows in one transaction."""

from __future__ import annotations

from typing import Any

from xrepo.errors import XRepoConfigurationError
from xrepo.repos._codec import T
from xrepo.repos._metadata import RepoMetadata
from xrepo.repos._repo import XRepo
from xrepo.stores import SQLStore
from xresource import SQLDatabaseResource

__all__ = ["ConnectedSQLRepo"]


class ConnectedSQLRepo(XRepo[T]):
    """A repository over a SQL table, queried natively.

    ``ConnectedSQLRepo(resource=pg, model_class=User, table="users")`` is
    ``XRepo(model_class=User, store=SQLStore(pg, "users"))``.

    Args:
        resource: a :class:`~xresource.SQLDatabaseResource` (SQLite, PostgreSQL, MySQL...).
        model_class: the model of the rows; its fields are the table's columns.
        table: the table name (default: ``metadata.collection``, the model's ``Meta.collection``,
            then the repository name).
        db_schema: the schema holding the table, when not the connection's default.
    """

    backend = "sql"

    def __init__(
        self,
        *,
        resource: SQLDatabaseResource,
        model_class: type[T],
        table: str | None = None,
        db_schema: str | None = None,
        metadata: RepoMetadata | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(resource, SQLDatabaseResource):
            raise XRepoConfigurationError(
                f"ConnectedSQLRepo needs a SQL database resource, got {type(resource).__name__}"
            )
        store = SQLStore(resource, table, db_schema=db_schema)
        super().__init__(model_class=model_class, store=store, metadata=metadata, **kwargs)
        self.metadata.collection = store.table
        self.metadata.resource_name = resource.name

    @property
    def _sql(self) -> SQLStore:
        store: SQLStore = self._store  # type: ignore[assignment]
        return store

    @property
    def resource(self) -> SQLDatabaseResource:
        """The database resource."""
        return self._sql.resource

    @property
    def table(self) -> str:
        """The table name."""
        return self._sql.table

    async def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` in this database (cached), in table order."""
        return await self._sql.table_columns(table)
