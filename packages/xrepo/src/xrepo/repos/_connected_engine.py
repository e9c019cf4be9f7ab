"""``ConnectedEngineFileRepo``: a repository over a file queried in place by DuckDB: an
:class:`XRepo` over an :class:`~xrepo.stores.EngineFileStore` (reads compiled to the engine's
SQL over the file, writes rewriting the file atomically)."""

from __future__ import annotations

import importlib.util
from typing import Any

from xobj_prototype import MissingExtraError
from xrepo.errors import XRepoConfigurationError
from xrepo.repos._codec import T
from xrepo.repos._metadata import RepoMetadata
from xrepo.repos._repo import XRepo
from xrepo.stores import EngineFileStore
from xresource import XResource
from xresource.files import ColumnarFileResource

__all__ = ["ENGINE_DEFAULT_TYPES", "ConnectedEngineFileRepo", "engine_available", "uses_engine"]

#: File types read through the engine by default (when the extra is installed): Parquet, and
#: JSON Lines (a ``json`` resource with ``lines=True`` or a ``.jsonl``/``.ndjson`` name), the
#: formats made for large files. CSV and JSON documents switch only with ``engine=True``: the
#: file store reads a CSV cell as the model's validation does ("" is ``None`` for an optional
#: field, "yes" is ``True``), which SQL casts do not all follow (docs/xrepo.md, "Files").
ENGINE_DEFAULT_TYPES = frozenset({"parquet"})
_LINES_SUFFIXES = (".jsonl", ".ndjson")


def _default_engine(resource: XResource) -> bool:
    rtype = str(getattr(resource, "resource_type", "")).lower()
    if rtype in ENGINE_DEFAULT_TYPES:
        return True
    if rtype != "json":
        return False
    lines = getattr(resource, "lines", None)
    return lines is True or (
        lines is None and str(getattr(resource, "path", "")).lower().endswith(_LINES_SUFFIXES)
    )


def engine_available() -> bool:
    """Whether DuckDB (``xresource[duckdb]``) is installed."""
    return importlib.util.find_spec("duckdb") is not None


def uses_engine(resource: XResource, engine: bool | None, collection: str | None = None) -> bool:
    """Whether a repository over the file ``resource`` reads through its DuckDB engine:
    ``engine=True`` asks for it (an error says what is missing), ``False`` refuses it, and
    ``None`` takes it for Parquet and JSON Lines when DuckDB is installed. A ``collection``
    inside the file (a JSON document holding several) is read by the file store: the engine
    reads a file as one collection."""
    if engine is not None and not isinstance(engine, bool):
        raise XRepoConfigurationError(f"engine= must be True, False or None, got {engine!r}")
    if engine is False:
        return False
    if collection and str(getattr(resource, "resource_type", "")) == "json":
        if engine:
            raise XRepoConfigurationError(
                f"engine=True reads a file as one collection; collection={collection!r} names "
                "one of several inside the file: leave engine= out to use the file store"
            )
        return False
    capable = isinstance(resource, ColumnarFileResource)
    if engine is None:
        return capable and _default_engine(resource) and engine_available()
    if not capable:
        raise XRepoConfigurationError(
            f"engine=True: {type(resource).__name__} has no DuckDB engine (Parquet, CSV, JSON "
            "and JSON Lines files have one)"
        )
    if not engine_available():
        raise MissingExtraError(
            "engine=True reads files through DuckDB, which is not installed; install "
            "xresource[duckdb] (or xrepo[duckdb])"
        )
    return True


class ConnectedEngineFileRepo(XRepo[T]):
    """A repository over a file whose reads run in the file's DuckDB engine.

    ``ConnectedEngineFileRepo(resource=parquet, model_class=Trip)`` is
    ``XRepo(model_class=Trip, store=EngineFileStore(parquet))``; ``XRepoFactory.create()``
    builds one for Parquet and JSON Lines files when ``xresource[duckdb]`` is installed, and for
    any file with ``engine=True``.

    Args:
        resource: a file resource with ``engine()``, ``read()`` and ``write()``.
        model_class: the model of the records.
        collection: the collection inside the file, for formats that have several.
    """

    backend = "file"

    def __init__(
        self,
        *,
        resource: XResource,
        model_class: type[T],
        collection: str | None = None,
        metadata: RepoMetadata | None = None,
        **kwargs: Any,
    ) -> None:
        store = EngineFileStore(resource, collection=collection)
        super().__init__(model_class=model_class, store=store, metadata=metadata, **kwargs)
        self.metadata.resource_name = resource.name
        if collection:
            self.metadata.collection = collection

    @property
    def resource(self) -> XResource:
        """The file resource."""
        store: EngineFileStore = self._store  # type: ignore[assignment]
        return store.resource
