"""``XResource``: the abstract base of every resource, and the lifecycle they share.

A resource is a validated Pydantic model (its parameters) plus private runtime state (its pool,
session or client). Every resource:

- connects lazily: the first operation connects if ``connect()`` was not called, guarded by a lock
  so that concurrent first calls open one pool, not several;
- is an async context manager (``async with resource: ...`` connects and disconnects);
- describes itself through :meth:`get_metadata` with secrets masked;
- names itself in errors by ``display_name`` (type and name, never the URL's password);
- accepts the specification's other spellings of its parameters
  (:attr:`XResource.parameter_aliases`, e.g. MongoDB's ``max_pool_size`` for ``pool_max_size``),
  in code and in settings files alike.

Plugins may be written as the specification shows them: a subclass that overrides ``connect`` and
``disconnect`` directly and reads ``self.connection_params``::

    class CustomResource(XResource):
        async def connect(self):
            self._connection = await open_thing(**self.connection_params)

        async def disconnect(self):
            await self._connection.close()

        async def validate_connection(self):
            return self._connection is not None

        async def list_collections_or_tables(self):
            return []

    ResourceFactory.register("custom", CustomResource)
    thing = ResourceFactory.create("custom", name="test", connection_params={"port": 7000})
"""

from __future__ import annotations

import abc
import asyncio
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from xobj_prototype import XObjPrototype, redact
from xresource.errors import XResourceConfigurationError
from xresource.url import ParsedURL

__all__ = ["ParameterAlias", "ResourceMetadata", "XResource"]

# The spec's plugins override these public methods; the lifecycle runs them as hooks.
_HOOKS = (("connect", "_connect"), ("disconnect", "_disconnect"))


def _now() -> datetime:
    return datetime.now(UTC)


class ResourceMetadata(BaseModel):
    """Descriptive metadata of a resource (the spec's ``ResourceMetadata``)."""

    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


@dataclass(frozen=True)
class ParameterAlias:
    """Another name for a parameter, in another unit.

    ``scale`` converts the alias's value into the field's unit: ``ParameterAlias("connect_timeout",
    0.001)`` reads milliseconds into a field that holds seconds.
    """

    field: str
    scale: float = 1.0


class XResource(XObjPrototype, ABC):
    """Abstract base of every resource.

    Subclasses set ``resource_type`` (the factory name, e.g. ``"postgresql"``), declare their
    parameters as fields, and implement :meth:`_connect`, :meth:`_disconnect`,
    :meth:`validate_connection`, :meth:`list_collections_or_tables` and optionally extend
    :meth:`get_metadata`.

    A subclass may instead override :meth:`connect` and :meth:`disconnect` themselves, as the
    specification's plugins do: their bodies then become the ``_connect``/``_disconnect`` hooks,
    so locking, idempotence and ``async with`` keep working (a ``super().connect()`` call inside
    them does nothing, as in the specification's abstract base).
    """

    model_config = ConfigDict(extra="forbid")

    resource_type: ClassVar[str] = "resource"
    #: URL schemes that ``ResourceFactory.from_url`` maps to this class.
    url_schemes: ClassVar[tuple[str, ...]] = ()

    #: Other names the constructor and the settings files accept for a parameter (alias ->
    #: field name or :class:`ParameterAlias`); a class adds to the aliases of its bases.
    parameter_aliases: ClassVar[Mapping[str, str | ParameterAlias]] = {}
    #: Whether ``connection_params`` means something to this class. Plugins (classes defined
    #: outside xresource) read it in their own ``connect``; built-in types take every parameter
    #: as a field and refuse it rather than ignore it.
    accepts_connection_params: ClassVar[bool] = True

    name: str = Field(default="", description="Display name; defaults to the resource type.")
    metadata: ResourceMetadata | None = None
    connection_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form parameters a plugin's own connect() reads (the specification's "
        "XResource.connection_params); built-in types refuse them.",
    )

    _connected: bool = PrivateAttr(default=False)
    _lifecycle_lock: asyncio.Lock | None = PrivateAttr(default=None)
    # The task running _connect/_disconnect: a plugin's connect() that calls super().connect()
    # runs in it and must not wait for the lock it already holds.
    _hook_task: asyncio.Task[Any] | None = PrivateAttr(default=None)
    #: The specification's handle slot: plugins may keep their client or session here.
    _connection: Any = PrivateAttr(default=None)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "accepts_connection_params" not in cls.__dict__:
            cls.accepts_connection_params = not cls.__module__.startswith("xresource.")
        changed = False
        for public, hook in _HOOKS:
            own = cls.__dict__.get(public)
            inherited = getattr(cls, hook, None)
            # Only when no implementation of the hook exists: a subclass of a concrete resource
            # that overrides connect() to add something keeps its parent's hook.
            if own is not None and getattr(inherited, "__isabstractmethod__", False):
                setattr(cls, hook, own)
                setattr(cls, public, getattr(XResource, public))
                changed = True
        if changed:
            abc.update_abstractmethods(cls)

    @classmethod
    def all_parameter_aliases(cls) -> dict[str, ParameterAlias]:
        """Every alias this class accepts (its own and its bases'), alias -> target."""
        out: dict[str, ParameterAlias] = {}
        for klass in reversed(cls.__mro__):
            for alias, target in vars(klass).get("parameter_aliases", {}).items():
                out[alias] = ParameterAlias(target) if isinstance(target, str) else target
        return out

    @classmethod
    def canonical_params(
        cls, params: Mapping[str, Any], *, given_as: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """``params`` with every alias replaced by its field (values converted to its unit).

        ``given_as`` (when passed) collects field -> alias for the aliases used, so that errors
        can name what the caller wrote.

        Raises:
            ValueError: an alias and its field (or two aliases of one field) are both given with
                different values, or an alias with a unit gets something that is not a number.

        >>> from xresource.databases.base import DatabaseResource
        >>> DatabaseResource.canonical_params({"connection_timeout": 5000, "pool_size": 3})
        {'connect_timeout': 5.0, 'pool_max_size': 3}
        """
        aliases = cls.all_parameter_aliases()
        out: dict[str, Any] = {}
        source: dict[str, str] = {}
        for key, value in params.items():
            target = aliases.get(key) if isinstance(key, str) else None
            field = key
            if target is not None:
                field = target.field
                if target.scale != 1.0 and value is not None:
                    if (
                        isinstance(value, bool)
                        or not isinstance(value, int | float)
                        or not math.isfinite(value)
                    ):
                        raise ValueError(f"{key} must be a number, got {type(value).__name__}")
                    value = value * target.scale
            if field in out and out[field] != value:
                raise ValueError(
                    f"{source[field]} and {key} set the same parameter ({field}) to different "
                    "values; give only one of them"
                )
            out[field] = value
            source[field] = key
            if target is not None and given_as is not None:
                given_as[field] = key
        return out

    @model_validator(mode="before")
    @classmethod
    def _apply_parameter_aliases(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and cls.all_parameter_aliases():
            return cls.canonical_params(data)
        return data

    @model_validator(mode="after")
    def _check_connection_params(self) -> Self:
        if self.connection_params and not self.accepts_connection_params:
            raise ValueError(
                f"{self.resource_type} resources take no connection_params (got keys "
                f"{', '.join(sorted(map(str, self.connection_params)))}); pass each as its own "
                "parameter"
            )
        return self

    def model_post_init(self, context: Any, /) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.resource_type)
        if self.metadata is None:
            object.__setattr__(self, "metadata", ResourceMetadata(name=self.name))

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        """``"<type> '<name>'"``: how errors and logs name this resource."""
        return f"{self.resource_type} {self.name!r}"

    @property
    def is_connected(self) -> bool:
        return self._connected

    def _lock(self) -> asyncio.Lock:
        if self._lifecycle_lock is None:
            self._lifecycle_lock = asyncio.Lock()
        return self._lifecycle_lock

    async def connect(self) -> None:
        """Open the connection or pool; calling it again while connected does nothing."""
        if self._inside_hook():
            return  # a plugin's connect() calling super().connect(): the lock is already held
        async with self._lock():
            if self._connected:
                return
            self._hook_task = asyncio.current_task()
            try:
                await self._connect()
            finally:
                self._hook_task = None
            self._connected = True

    async def disconnect(self) -> None:
        """Close the connection or pool and release every background task; idempotent."""
        if self._inside_hook():
            return
        async with self._lock():
            if not self._connected:
                return
            self._hook_task = asyncio.current_task()
            try:
                await self._disconnect()
            finally:
                self._hook_task = None
                self._connected = False

    def _inside_hook(self) -> bool:
        return self._hook_task is not None and self._hook_task is asyncio.current_task()

    async def ensure_connected(self) -> None:
        """Connect unless connected: what every operation calls first."""
        if not self._connected:
            await self.connect()

    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """Constructor parameters for ``url`` (``ResourceFactory.from_url`` calls this)."""
        raise XResourceConfigurationError(
            f"{cls.resource_type} resources cannot be created from a URL", operation="from_url"
        )

    @abstractmethod
    async def _connect(self) -> None:
        """Open the pool, session or file handle; raise an ``XResourceError`` on failure."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Close what :meth:`_connect` opened."""

    @abstractmethod
    async def validate_connection(self) -> bool:
        """Whether the resource answers now (a ping); never raises for a dead server."""

    @abstractmethod
    async def list_collections_or_tables(self) -> list[str]:
        """Names of the tables, collections, sheets or files this resource holds."""

    def __repr_args__(self) -> Any:
        # Driver options and connection parameters are mappings of text that may hold secrets
        # under secret-looking keys (a URL's ?sslpassword=, DuckDB's s3_secret_access_key):
        # repr() masks them as get_metadata() does.
        for name, value in super().__repr_args__():
            yield name, (redact(value) if isinstance(value, Mapping) else value)

    def get_metadata(self) -> dict[str, Any]:
        """Type, name, parameters and state, with every secret masked."""
        exclude = {"metadata", "name"} | (
            set() if self.connection_params else {"connection_params"}
        )
        params = self.model_dump(mode="json", exclude=exclude)
        redacted: dict[str, Any] = redact(
            {
                "type": self.resource_type,
                "name": self.name,
                "connected": self._connected,
                "description": self.metadata.description if self.metadata else None,
                "tags": list(self.metadata.tags) if self.metadata else [],
                **params,
            }
        )
        return redacted

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()
