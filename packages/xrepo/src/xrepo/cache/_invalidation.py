"""Invalidation messages between cache instances, and the bus interface that carries them.

When one process writes, every other process holding a local (memory) cache of the same data must
drop it. A :class:`InvalidationBus` carries :class:`Invalidation` messages on one channel per cache
namespace; :class:`~xrepo.cache.RedisInvalidationBus` does it over Redis
pub/sub, :class:`LocalInvalidationHub` between caches of one process (tests, several managers).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xrepo.cache._errors import XRepoCacheError
from xrepo.cache._keys import MAX_SCOPE_LENGTH

__all__ = [
    "Invalidation",
    "InvalidationBus",
    "LocalInvalidationBus",
    "LocalInvalidationHub",
    "MessageHandler",
    "ResetHandler",
]


class Invalidation(BaseModel):
    """One announcement: ``scope`` was written (``digest`` ``None``: all of it), by ``origin``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: str = Field(min_length=1, max_length=MAX_SCOPE_LENGTH)
    digest: str | None = Field(default=None, max_length=128)
    origin: str = Field(min_length=1, max_length=64)

    def to_bytes(self) -> bytes:
        """The wire form: compact JSON."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Invalidation:
        """Parse the wire form; anything else is an ``XRepoCacheError`` (never trusted)."""
        try:
            return cls.model_validate(json.loads(data))
        except (ValueError, ValidationError, UnicodeDecodeError, RecursionError):
            raise XRepoCacheError(
                "malformed cache invalidation message ignored", operation="invalidation"
            ) from None


MessageHandler = Callable[[Invalidation], None]
#: Called after the bus reconnected: messages may have been missed, local caches must clear.
ResetHandler = Callable[[], None]


class InvalidationBus(ABC):
    """Publishes this instance's invalidations and delivers the others'."""

    @abstractmethod
    async def start(self, on_message: MessageHandler, on_reset: ResetHandler) -> bool:
        """Begin delivering messages; whether the subscription is live (it retries if not)."""

    @abstractmethod
    async def publish(self, message: Invalidation) -> None:
        """Announce ``message``; raises ``XRepoCacheError`` when it cannot be sent."""

    @abstractmethod
    async def close(self) -> None:
        """Stop delivering and release connections (idempotent)."""


class LocalInvalidationHub:
    """Connects several cache managers of one process, as Redis pub/sub connects processes."""

    def __init__(self) -> None:
        self._buses: list[LocalInvalidationBus] = []

    def bus(self) -> LocalInvalidationBus:
        """A new bus attached to this hub."""
        bus = LocalInvalidationBus(self)
        self._buses.append(bus)
        return bus

    def _deliver(self, message: Invalidation) -> None:
        for bus in list(self._buses):
            if bus.handler is not None:
                bus.handler(message)


class LocalInvalidationBus(InvalidationBus):
    """A bus of a :class:`LocalInvalidationHub`: delivery is immediate and in-process."""

    def __init__(self, hub: LocalInvalidationHub) -> None:
        self._hub = hub
        self.handler: MessageHandler | None = None

    async def start(self, on_message: MessageHandler, on_reset: ResetHandler) -> bool:
        self.handler = on_message
        return True

    async def publish(self, message: Invalidation) -> None:
        self._hub._deliver(message)

    async def close(self) -> None:
        self.handler = None
        if self in self._hub._buses:
            self._hub._buses.remove(self)
