"""``ConnectedRepo``: the specification's name for a repository with a live resource.

``ConnectedRepo(schema, resource, model_class=None)`` builds the backend's class
(:class:`ConnectedSQLRepo`, :class:`ConnectedMongoRepo` or :class:`ConnectedFileRepo`), and
``isinstance(repo, ConnectedRepo)`` holds for each of them. :func:`connected_repo` is the one
place that picks the class for a resource (``XRepoFactory`` calls it too).
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from typing import Any

from xrepo.errors import XRepoConfigurationError
from xrepo.repos._connected_engine import ConnectedEngineFileRepo, uses_engine
from xrepo.repos._connected_file import ConnectedFileRepo
from xrepo.repos._connected_sql import ConnectedSQLRepo
from xrepo.repos._inferred import model_from_schema
from xrepo.repos._options import (
    CREATE_OPTIONS,
    check_options,
    metadata_for,
    repo_options,
    resource_kind,
)
from xrepo.repos._repo import XRepo
from xresource import XResource

__all__ = ["ConnectedRepo", "connected_repo"]

#: ``backend`` of the repository classes over a live resource.
_CONNECTED_BACKENDS = frozenset({"sql", "mongodb", "file"})


class ConnectedRepo(ABC):  # noqa: B024 - a marker base with a constructor, nothing abstract
    """A repository over a live database or file resource.

    Args:
        schema: the schema dict (XInspector's format); generates the model when none is given.
        resource: the SQL, MongoDB or file resource.
        model_class: the model; generated from ``schema`` when omitted.
        **kwargs: ``collection``/``table``, ``metadata``, ``name``, ``indexes``...

    Examples:
        >>> repo = ConnectedRepo(schema, pg, User, collection="users")  # doctest: +SKIP
        >>> isinstance(repo, ConnectedSQLRepo), isinstance(repo, ConnectedRepo)  # doctest: +SKIP
        (True, True)
    """

    def __new__(
        cls,
        schema: Mapping[str, Any] | None = None,
        resource: Any = None,
        model_class: type[Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if resource is None:
            raise XRepoConfigurationError("ConnectedRepo needs a resource")
        if model_class is None:
            if not schema:
                raise XRepoConfigurationError("ConnectedRepo needs a model_class or a schema")
            model_class = model_from_schema(schema, kwargs.get("name"))
        return connected_repo(resource, model_class, {"schema": schema, **kwargs})

    @classmethod
    def __subclasshook__(cls, other: type) -> Any:
        # The connected classes do not import this module (it builds them): they are
        # recognized by their backend name instead of registering themselves.
        if cls is ConnectedRepo and getattr(other, "backend", None) in _CONNECTED_BACKENDS:
            return bool(issubclass(other, XRepo))
        return NotImplemented


def connected_repo(resource: XResource, model: type[Any], inputs: Mapping[str, Any]) -> XRepo[Any]:
    """The connected repository for ``resource`` (SQL, MongoDB or file).

    ``inputs`` are ``XRepoFactory.create()``'s options less those that secure a repository
    (``acl``, ``audit``, ``cache``); an unknown one is an error.
    """
    check_options(
        inputs,
        CREATE_OPTIONS - {"acl", "audit", "cache"},
        f"the connected repository of {type(resource).__name__}",
    )
    kind = resource_kind(resource)
    metadata = metadata_for(inputs, model)
    common: dict[str, Any] = {
        "model_class": model,
        "metadata": metadata,
        "schema": inputs.get("schema"),
        **repo_options(inputs),
    }
    if kind == "sql":
        return ConnectedSQLRepo(
            resource=resource,  # type: ignore[arg-type]
            table=inputs.get("table") or inputs.get("collection"),
            db_schema=inputs.get("db_schema"),
            **common,
        )
    if kind == "mongodb":
        # Imported here: the MongoDB driver is an optional extra.
        from xrepo.repos._connected_mongo import ConnectedMongoRepo

        return ConnectedMongoRepo(
            resource=resource,  # type: ignore[arg-type]
            collection=inputs.get("collection"),
            **common,
        )
    if kind == "file" and uses_engine(resource, inputs.get("engine"), inputs.get("collection")):
        return ConnectedEngineFileRepo(
            resource=resource, collection=inputs.get("collection"), **common
        )
    if kind == "file":
        return ConnectedFileRepo(
            resource=resource,
            collection=inputs.get("collection"),
            indexes=inputs.get("indexes", ()),
            **common,
        )
    raise XRepoConfigurationError(
        f"no connected repository for {type(resource).__name__}; pass materialized=True "
        "with data=[...]"
    )
