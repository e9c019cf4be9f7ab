"""``XResource``: the abstract base of every resource, and the lifecycle they share.

A resource is a validated Pydantic model (its parameters) plus private runtime state (its pool,
session or client). Every resource:

- connects lazily: the first operation connects if ``connect()`` was not called, guarded by a lock
  so that concurrent first calls open one pool, not several;
- is an async context manager (``async with resource: ...`` connects and disconnects);
- describes itself through :meth:`get_metadata` with secrets masked;
- names itself in errors by ``display_name`` (type and name, never the URL's password).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from xobj_prototype import XObjPrototype, redact
from xresource.errors import XResourceConfigurationError
from xresource.url import ParsedURL

__all__ = ["ResourceMetadata", "XResource"]


def _now() -> datetime:
    return datetime.now(UTC)


class ResourceMetadata(BaseModel):
    """Descriptive metadata of a resource (the spec's ``ResourceMetadata``)."""

    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class XResource(XObjPrototype, ABC):
    """Abstract base of every resource.

    Subclasses set ``resource_type`` (the factory name, e.g. ``"postgresql"``), declare their
    parameters as fields, and implement :meth:`_connect`, :meth:`_disconnect`,
    :meth:`validate_connection`, :meth:`list_collections_or_tables` and optionally extend
    :meth:`get_metadata`.
    """

    model_config = ConfigDict(extra="forbid")

    resource_type: ClassVar[str] = "resource"
    #: URL schemes that ``ResourceFactory.from_url`` maps to this class.
    url_schemes: ClassVar[tuple[str, ...]] = ()

    name: str = Field(default="", description="Display name; defaults to the resource type.")
    metadata: ResourceMetadata | None = None

    _connected: bool = PrivateAttr(default=False)
    _lifecycle_lock: asyncio.Lock | None = PrivateAttr(default=None)

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
        async with self._lock():
            if self._connected:
                return
            await self._connect()
            self._connected = True

    async def disconnect(self) -> None:
        """Close the connection or pool and release every background task; idempotent."""
        async with self._lock():
            if not self._connected:
                return
            try:
                await self._disconnect()
            finally:
                self._connected = False

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

    def get_metadata(self) -> dict[str, Any]:
        """Type, name, parameters and state, with every secret masked."""
        params = self.model_dump(mode="json", exclude={"metadata", "name"})
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
