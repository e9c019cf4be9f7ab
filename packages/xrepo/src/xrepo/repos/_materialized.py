"""``MaterializedRepo``: a repository over records held in memory (an :class:`XRepo` over a
:class:`~xrepo.stores.MemoryStore`).

The constructor takes the specification's arguments (``MaterializedRepo(schema, data)``, or a
model class and data) and loads the records through the repository's own validation; the
engine itself (indexes, the compiled Python predicates, worker threads for large scans) is the
store's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from xrepo.errors import XRepoConfigurationError
from xrepo.repos._annotations import now as _now
from xrepo.repos._codec import T
from xrepo.repos._inferred import model_from_data, model_from_schema
from xrepo.repos._metadata import RepoMetadata
from xrepo.repos._repo import XRepo
from xrepo.stores import MemoryStore

__all__ = ["MaterializedRepo"]


class MaterializedRepo(XRepo[T]):
    """A repository over records held in memory (data, views, REST snapshots, files).

    ``MaterializedRepo(model_class=User, data=rows)`` is
    ``XRepo(model_class=User, store=MemoryStore())`` with ``rows`` loaded.

    Args:
        model_class: the model records are validated against and returned as.
        data: initial records (validated; ids generated where missing).
        indexes: fields to keep hash indexes on, for fast equality filters.
        related: what ``$lookup`` may read: ``{name: repo or list of dicts}``.
    """

    backend = "memory"

    def __init__(
        self,
        schema: Mapping[str, Any] | None = None,
        data: Iterable[Any] | None = None,
        model_class: type[T] | None = None,
        *,
        metadata: RepoMetadata | None = None,
        indexes: Sequence[str] = (),
        related: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if model_class is None:
            # The spec's MaterializedRepo(schema, data): generate the model from what is given.
            if schema and schema.get("fields"):
                model_class = model_from_schema(schema, kwargs.get("name"))  # type: ignore[assignment]
            elif data is not None:
                data = list(data)
                model_class = model_from_data(  # type: ignore[assignment]
                    str(kwargs.get("name") or "Record"), data
                )
            else:
                raise XRepoConfigurationError(
                    "MaterializedRepo needs a model_class, a schema with fields, or data"
                )
        assert model_class is not None
        store = MemoryStore(indexes=indexes, related=related)
        super().__init__(
            model_class=model_class, store=store, metadata=metadata, schema=schema, **kwargs
        )
        if data is not None:
            self._load(data)

    def _load(self, data: Iterable[Any]) -> None:
        rows, _ = self._new_rows(list(data), "load", _now())
        self._memory.load(rows)

    @property
    def _memory(self) -> MemoryStore:
        store: MemoryStore = self._store  # type: ignore[assignment]
        return store

    def add_related(self, name: str, source: Any) -> None:
        """Make ``source`` (a repo or a list of dicts) readable by ``$lookup`` as ``name``."""
        self._memory.add_related(name, source)

    def _lookup_sources(self) -> frozenset[str] | None:
        # Registering a related source is the declaration: only those exist here anyway.
        declared = super()._lookup_sources()
        return None if declared is None else declared | frozenset(self._memory.related)

    def __len__(self) -> int:
        return len(self._memory)
