"""``ConnectedFileRepo``: a repository over a file resource (CSV, JSON, YAML, Excel...): an
:class:`XRepo` over a :class:`~xrepo.stores.FileStore`, which reads the file once and writes it
back atomically on every change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xrepo.errors import XRepoConfigurationError
from xrepo.repos._codec import T
from xrepo.repos._materialized import MaterializedRepo
from xrepo.repos._metadata import RepoMetadata
from xrepo.repos._repo import XRepo
from xrepo.stores import FileStore
from xresource import XResource

__all__ = ["ConnectedFileRepo"]


class ConnectedFileRepo(MaterializedRepo[T]):
    """A repository whose records live in a file, written back atomically on every change.

    ``ConnectedFileRepo(resource=csv, model_class=User)`` is
    ``XRepo(model_class=User, store=FileStore(csv))``.

    Args:
        resource: a file resource with ``read()`` and ``write(records, mode=...)``.
        model_class: the model of the records.
        collection: the sheet or collection inside the file, for formats that have several.
    """

    backend = "file"

    def __init__(
        self,
        *,
        resource: XResource,
        model_class: type[T],
        collection: str | None = None,
        metadata: RepoMetadata | None = None,
        indexes: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        if not (hasattr(resource, "read") and hasattr(resource, "write")):
            raise XRepoConfigurationError(
                f"ConnectedFileRepo needs a file resource with read() and write(), got "
                f"{type(resource).__name__}"
            )
        store = FileStore(resource, collection=collection, indexes=indexes)
        # The memory repository's constructor loads data; a file store loads the file itself.
        XRepo.__init__(self, model_class=model_class, store=store, metadata=metadata, **kwargs)
        self.metadata.resource_name = resource.name
        if collection:
            self.metadata.collection = collection

    @property
    def resource(self) -> XResource:
        """The file resource."""
        return self._file.resource

    @property
    def _file(self) -> FileStore:
        store: FileStore = self._store  # type: ignore[assignment]
        return store

    async def reload(self) -> None:
        """Read the file again, dropping what is in memory."""
        await self._file.reload()
