"""``ConnectedRepo``: the specification's name for a repository with a live resource.

``ConnectedRepo(schema, resource, model_class=None)`` builds the backend's class
(:class:`ConnectedSQLRepo`, :class:`ConnectedMongoRepo` or :class:`ConnectedFileRepo`), and
``isinstance(repo, ConnectedRepo)`` holds for each of them.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from typing import Any

from xrepo.errors import XRepoConfigurationError

__all__ = ["ConnectedRepo"]


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
        from xrepo.factory import XRepoFactory
        from xrepo.repos.inferred import model_from_schema

        if resource is None:
            raise XRepoConfigurationError("ConnectedRepo needs a resource")
        if model_class is None:
            if not schema:
                raise XRepoConfigurationError("ConnectedRepo needs a model_class or a schema")
            model_class = model_from_schema(schema, kwargs.get("name"))
        return XRepoFactory.connected(resource, model_class, {"schema": schema, **kwargs})
