"""``XRepoFactory``: one ``create(**inputs)`` that picks the right repository.

The smart defaults of the specification, implemented as pluggable strategies tried by priority:

- ``data=[...]``                                   -> :class:`MaterializedRepo`
- a REST, WebSocket or event-stream resource        -> :class:`MaterializedRepo` (a snapshot)
- a database (SQL, MongoDB) or a file resource      -> a connected repository
- ``materialized=True``/``False``                   -> overrides the default

A model class is used when given; otherwise one is generated: from the data (field types
inferred from the values) or, for a resource, by XInspector (``create_from_resource``).
"""

from __future__ import annotations

import builtins
import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from xrepo.errors import XRepoConfigurationError
from xrepo.repos import (
    MaterializedRepo,
    XRepo,
    connected_repo,
    model_from_data,
    model_from_schema,
)
from xrepo.repos._options import (
    CREATE_OPTIONS,
    SECURE_OPTIONS,
    check_options,
    id_field_of,
    metadata_for,
    repo_options,
    resource_kind,
)
from xrepo.secure import SecureRepo
from xrepo.views import ViewRepo, create_aggregate_repo, create_view
from xresource import XResource

__all__ = [
    "CREATE_OPTIONS",
    "RepoCreationStrategy",
    "XRepoFactory",
    "create_view_from_resources",
    "model_from_data",
    "model_from_schema",
    "resource_kind",
]


class RepoCreationStrategy(ABC):
    """A way to build a repository from ``create(**inputs)``; higher priority is tried first.

    A strategy that names the options it reads in :attr:`options` has ``create()`` refuse any
    other (the built-in ones do); ``None`` (the default) leaves every input to the strategy.
    """

    #: The options of ``create()`` this strategy reads; ``None``: not checked by ``create()``.
    options: ClassVar[frozenset[str] | None] = None

    @abstractmethod
    def can_handle(self, **inputs: Any) -> bool:
        """Whether this strategy builds a repository for these inputs."""

    @abstractmethod
    async def create_repo(self, **inputs: Any) -> XRepo[Any]:
        """Build the repository."""

    @property
    @abstractmethod
    def priority(self) -> int:
        """Higher is tried first."""


class DataStrategy(RepoCreationStrategy):
    """``data=[...]`` (or ``materialized=True`` without a resource): an in-memory repository."""

    priority = 100
    options = CREATE_OPTIONS

    def can_handle(self, **inputs: Any) -> bool:
        return inputs.get("data") is not None and inputs.get("materialized") is not False

    async def create_repo(self, **inputs: Any) -> XRepo[Any]:
        data = list(inputs["data"])
        model = inputs.get("model_class")
        if model is None and inputs.get("schema"):
            model = model_from_schema(inputs["schema"], inputs.get("name"))
        if model is None:
            model = model_from_data(
                str(inputs.get("name") or "Record").title().replace("_", ""),
                data,
                id_field=id_field_of(inputs),
            )
        return MaterializedRepo(
            model_class=model,
            data=data,
            metadata=metadata_for(inputs, model),
            indexes=inputs.get("indexes", ()),
            related=inputs.get("related"),
            schema=inputs.get("schema"),
            **repo_options(inputs),
        )


class ResourceStrategy(RepoCreationStrategy):
    """A resource: connected for databases and files, materialized for REST and streams."""

    priority = 50
    options = CREATE_OPTIONS

    def can_handle(self, **inputs: Any) -> bool:
        return inputs.get("resource") is not None

    async def create_repo(self, **inputs: Any) -> XRepo[Any]:
        resource = inputs["resource"]
        kind = resource_kind(resource)
        materialized = inputs.get("materialized")
        if materialized is None:
            materialized = kind in ("rest", "stream")
        data: list[Any] | None = None
        if materialized and kind == "rest":
            data = await _rest_snapshot(resource, inputs)
        elif materialized and kind == "stream":
            data = list(inputs.get("data") or [])
        model = inputs.get("model_class")
        if model is None and inputs.get("schema"):
            model = model_from_schema(inputs["schema"], inputs.get("name"))
        if model is None and data:
            model = model_from_data(
                str(inputs.get("name") or "Record").title().replace("_", ""),
                data,
                id_field=id_field_of(inputs),
            )
        if model is None:
            raise XRepoConfigurationError(
                "a model_class is needed for a resource; generate one with XInspector or use "
                "XRepoFactory.create_from_resource(), which does"
            )
        if not materialized:
            return XRepoFactory.connected(resource, model, inputs)
        if data is None:
            # A snapshot of a database table or file, through its own repository.
            data = await XRepoFactory.connected(resource, model, inputs).aggregate([])
        return MaterializedRepo(
            model_class=model,
            data=data,
            metadata=metadata_for(inputs, model),
            indexes=inputs.get("indexes", ()),
            related=inputs.get("related"),
            schema=inputs.get("schema"),
            **repo_options(inputs),
        )


async def _rest_snapshot(resource: Any, inputs: Mapping[str, Any]) -> list[Any]:
    """The records of a REST endpoint: ``GET path`` (``path=`` or ``collection=``), a list of
    objects or an object holding one (``data_key=`` names it when there are several)."""
    path = inputs.get("path") or inputs.get("collection") or ""
    body = await resource.get(path)
    key = inputs.get("data_key")
    if isinstance(body, Mapping):
        if key is not None:
            body = body.get(key)
        else:
            lists = [v for v in body.values() if isinstance(v, list)]
            body = lists[0] if len(lists) == 1 else body
    if not isinstance(body, list) or not all(isinstance(r, Mapping) for r in body):
        raise XRepoConfigurationError(
            f"GET {path!r} did not return a list of objects; pass data_key= to pick the list"
        )
    return list(body)


class XRepoFactory:
    """Creates repositories from whatever the caller has (see the module docs)."""

    _strategies: ClassVar[list[RepoCreationStrategy]] = [DataStrategy(), ResourceStrategy()]

    @classmethod
    def register_strategy(cls, strategy: RepoCreationStrategy) -> None:
        """Add a strategy; strategies are tried by descending priority."""
        if not isinstance(strategy, RepoCreationStrategy):
            raise XRepoConfigurationError(f"{strategy!r} is not a RepoCreationStrategy")
        cls._strategies.append(strategy)
        cls._strategies.sort(key=lambda s: s.priority, reverse=True)

    @classmethod
    def unregister_strategy(cls, strategy: RepoCreationStrategy) -> None:
        """Remove a strategy added with :meth:`register_strategy`."""
        cls._strategies.remove(strategy)

    @classmethod
    async def create(cls, **inputs: Any) -> XRepo[Any]:
        """Build a repository from ``model_class``, ``resource``, ``data``, ``collection``,
        ``materialized`` (override) and the repository options (``metadata``, ``indexes``...).

        ``limits=FilterLimits(...)`` (the bounds of filters and ``$regex``) and ``ns=`` go to
        the repository built, whichever strategy builds it. An option that the strategy does
        not read is an ``XRepoConfigurationError`` naming it and the closest known one
        (``cache_tll=5``: did you mean ``cache_ttl``?); the built-in strategies read
        :data:`CREATE_OPTIONS`.

        ``acl=`` (an ``ACLPolicy`` or a list of ``ACLRule``; ``metadata.acl_rules`` too),
        ``audit=`` (an ``AuditLogger``), ``cache=`` (a ``CacheManager``) and ``cache_ttl=``
        return the repository wrapped in a :class:`~xrepo.secure.SecureRepo`.

        The metadata (``metadata=RepoMetadata(...)`` or a dict, validated the same way: an
        unknown key is an error) decides auditing, statistics and caching; without
        ``metadata=``, ``enable_audit``, ``audit_max_entries``, ``enable_statistics``,
        ``cache_enabled`` and ``cache_ttl`` are also taken as keywords.

        Examples:
            >>> repo = await XRepoFactory.create(
            ...     data=rows, model_class=User,
            ...     metadata=RepoMetadata(name="users", cache_enabled=True, cache_ttl=60))
        """
        # cache_ttl without a cache= object is the metadata's option (the repository's cache).
        keep = ("cache_ttl",) if inputs.get("cache") is None else ()
        secure = {k: inputs.pop(k) for k in SECURE_OPTIONS if k in inputs and k not in keep}
        for strategy in cls._strategies:
            if strategy.can_handle(**inputs):
                if strategy.options is not None:
                    check_options({**inputs, **secure}, strategy.options, "XRepoFactory.create()")
                return cls.secure(await strategy.create_repo(**inputs), **secure)
        raise XRepoConfigurationError(
            f"no strategy can build a repository from {sorted(inputs)}; give data=[...] or a "
            "resource (with model_class)"
        )

    @staticmethod
    def secure(repo: XRepo[Any], **options: Any) -> XRepo[Any]:
        """``repo`` wrapped in a :class:`~xrepo.secure.SecureRepo` when ``acl``, ``audit``,
        ``cache`` (or ``metadata.acl_rules``) ask for one; else ``repo`` itself."""
        check_options(options, frozenset(SECURE_OPTIONS), "XRepoFactory.secure()")
        acl = options.get("acl")
        if acl is None and repo.metadata.acl_rules:
            acl = list(repo.metadata.acl_rules)
        if all(options.get(k) is None for k in ("audit", "cache", "cache_ttl")) and acl is None:
            return repo  # it applies its metadata itself (XRepo._initialize_components)
        # SecureRepo turns the metadata's options into its components (audit, cache, latency),
        # the same way whether it is built here or directly.
        return SecureRepo(
            repo,
            acl=acl,
            audit=options.get("audit"),
            cache=options.get("cache"),
            cache_ttl=options.get("cache_ttl"),
        )

    @classmethod
    async def create_view_from_resources(
        cls,
        name: str,
        resources: Any,
        join_config: Mapping[str, Any],
        result_model_class: type[Any] | None = None,
        **kwargs: Any,
    ) -> XRepo[Any]:
        """A read-only view joining collections/tables of several resources (inner, left,
        right, full; one or more keys) — see :mod:`xrepo.views`. ``schemas=``/``models=``
        give the sources' schemas or models; ``acl=``/``audit=``/``cache=`` secure the view."""
        secure = {k: kwargs.pop(k) for k in SECURE_OPTIONS if k in kwargs}
        view = await create_view_from_resources(
            name, resources, join_config, result_model_class, **kwargs
        )
        return cls.secure(view, **secure)

    @classmethod
    async def create_aggregate_repo(
        cls,
        name: str,
        source_repos: Any,
        aggregation_config: Mapping[str, Any],
        result_model_class: type[Any] | None = None,
        **secure: Any,
    ) -> XRepo[Any]:
        """A read-only repository of group-by aggregates across ``source_repos`` — see
        :mod:`xrepo.views`; ``acl=``/``audit=``/``cache=`` secure it."""
        repo = await create_aggregate_repo(
            name, source_repos, aggregation_config, result_model_class
        )
        return cls.secure(repo, **secure)

    @staticmethod
    def connected(resource: XResource, model: type[Any], inputs: Mapping[str, Any]) -> XRepo[Any]:
        """The connected repository for ``resource`` (SQL, MongoDB or file).

        ``inputs`` are :meth:`create`'s options less those that secure a repository
        (``acl``, ``audit``, ``cache``: see :meth:`secure`); an unknown one is an error.
        """
        return connected_repo(resource, model, inputs)

    @classmethod
    async def create_from_resource(
        cls,
        resource: XResource,
        model_class: type[Any] | None = None,
        collection: str | None = None,
        materialized: bool | None = None,
        **kwargs: Any,
    ) -> XRepo[Any]:
        """A repository for ``collection`` of ``resource``; without ``model_class`` (and
        ``schema``) XInspector discovers the schema and generates the model."""
        await resource.ensure_connected()
        schema = kwargs.pop("schema", None)
        if model_class is None or schema is None:
            try:
                module = importlib.import_module("xinspector")
                inspector_cls = module.XInspector
            except (ImportError, AttributeError):
                if model_class is None:
                    raise XRepoConfigurationError(
                        "model_class is missing and xinspector's XInspector is not available "
                        "to generate one"
                    ) from None
                inspector_cls = None
            if inspector_cls is not None:
                inspector = inspector_cls(resource)
                if schema is None:
                    schema = await inspector.discover_schema(collection)
                if model_class is None:
                    model_class = await inspector.generate_model(collection)
        primary = schema.get("primary_key") if isinstance(schema, Mapping) else None
        if (
            "id_field" not in kwargs
            and kwargs.get("metadata") is None  # the metadata's id_field is the caller's word
            and isinstance(primary, list)
            and len(primary) == 1
        ):
            key = "id" if primary[0] == "_id" else primary[0]
            if model_class is not None and key in model_class.model_fields:
                kwargs["id_field"] = key
        return await cls.create(
            resource=resource,
            model_class=model_class,
            collection=collection,
            materialized=materialized,
            schema=schema,
            **kwargs,
        )


async def create_view_from_resources(
    name: str,
    resources: Sequence[tuple[Any, str]],
    join_config: Mapping[str, Any],
    result_model_class: type[BaseModel] | None = None,
    *,
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
    models: Mapping[str, type[BaseModel]] | None = None,
) -> ViewRepo:
    """A read-only view joining ``(resource, collection)`` pairs (see the module docs).

    Args:
        name: the view's name.
        resources: ``[(resource, "users"), (other_resource, "orders")]``, joined in order.
        join_config: ``{"on": ..., "type": "inner" | "left" | "right" | "full"}``; ``on`` is a
            field present in every source, a list of them, ``{source: field}`` when names
            differ, or a list of such mappings for a composite key. Optional ``prefixes`` and
            ``filters`` by source name (the collection name).
        result_model_class: the row model (e.g. XInspector's ``generate_joined_model``);
            generated from the sources' models when omitted.
        schemas: schema dicts by ``"<resource name>.<collection>"`` or collection name, used
            to build the source models; ``models`` gives the models directly. Without either,
            XInspector discovers each source.
    """
    if not isinstance(resources, Sequence) or len(resources) < 2:
        raise XRepoConfigurationError(
            "create_view_from_resources needs at least two (resource, collection) pairs",
            repo=name,
        )
    sources: list[tuple[str, XRepo[Any]]] = []
    for pair in resources:
        if not isinstance(pair, tuple | builtins.list) or len(pair) != 2:
            raise XRepoConfigurationError(
                f"resources must be (resource, collection) pairs, got {pair!r}", repo=name
            )
        resource, collection = pair
        if not isinstance(collection, str) or not collection:
            raise XRepoConfigurationError(
                f"collection names must be non-empty strings, got {collection!r}", repo=name
            )
        model = (models or {}).get(collection)
        schema = None
        if schemas:
            rname = getattr(resource, "name", "")
            schema = schemas.get(f"{rname}.{collection}") or schemas.get(collection)
        kwargs: dict[str, Any] = {"name": collection}
        if schema is not None:
            kwargs["schema"] = schema
        if model is not None and schema is None:
            repo = await XRepoFactory.create(
                resource=resource, model_class=model, collection=collection, name=collection
            )
        else:
            repo = await XRepoFactory.create_from_resource(
                resource, model, collection=collection, **kwargs
            )
        sources.append((collection, repo))
    return create_view(name, sources, join_config, result_model_class)
