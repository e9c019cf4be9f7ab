"""``ConnectedMongoRepo``: a repository over one MongoDB collection: an :class:`XRepo` over a
:class:`~xrepo.stores.MongoStore`, which runs filters and pipelines on the server (see
:mod:`xrepo.stores` for how ObjectIds, Decimals and datetimes are stored and read)."""

from __future__ import annotations

from typing import Any

from xrepo.errors import XRepoConfigurationError
from xrepo.repos._codec import T
from xrepo.repos._metadata import RepoMetadata
from xrepo.repos._repo import XRepo
from xrepo.stores import MongoStore
from xresource import MongoDBResource

__all__ = ["ConnectedMongoRepo"]


class ConnectedMongoRepo(XRepo[T]):
    """A repository over a MongoDB collection.

    ``ConnectedMongoRepo(resource=mongo, model_class=User, collection="users")`` is
    ``XRepo(model_class=User, store=MongoStore(mongo, "users"))``.

    Args:
        resource: a connected or connectable :class:`~xresource.MongoDBResource`.
        model_class: the model of the documents.
        collection: the collection (default: ``metadata.collection``, the model's
            ``Meta.collection``, then the repository name).
    """

    backend = "mongodb"

    def __init__(
        self,
        *,
        resource: MongoDBResource,
        model_class: type[T],
        collection: str | None = None,
        metadata: RepoMetadata | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(resource, MongoDBResource):
            raise XRepoConfigurationError(
                f"ConnectedMongoRepo needs a MongoDBResource, got {type(resource).__name__}"
            )
        store = MongoStore(resource, collection)
        super().__init__(model_class=model_class, store=store, metadata=metadata, **kwargs)
        self.metadata.collection = store.collection_name
        self.metadata.resource_name = resource.name

    @property
    def _mongo(self) -> MongoStore:
        store: MongoStore = self._store  # type: ignore[assignment]
        return store

    @property
    def resource(self) -> MongoDBResource:
        """The MongoDB resource."""
        return self._mongo.resource

    @property
    def collection_name(self) -> str:
        """The collection name."""
        return self._mongo.collection_name

    async def supports_transactions(self) -> bool:
        """Whether the server runs transactions (a replica set or a sharded cluster)."""
        return await self._mongo.supports_transactions()
