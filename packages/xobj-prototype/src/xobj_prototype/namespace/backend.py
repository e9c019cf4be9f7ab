"""The async namespace interface and its in-memory backend.

Registries use :class:`NamespaceIndex` directly; services that share a namespace between
processes go through a :class:`NamespaceBackend` (xrepo adds a Redis one to this memory one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from xobj_prototype.namespace.index import FuzzyMatch, NamespaceIndex
from xobj_prototype.namespace.path import validate_path

__all__ = ["MemoryNamespace", "NamespaceBackend"]

_MISSING: Any = object()


class NamespaceBackend(ABC):
    """Async storage of namespace entries; every method may do I/O."""

    @abstractmethod
    async def register(self, path: str, value: Any, *, override: bool = False) -> None:
        """Store ``value`` at ``path``; a taken path is ``XConflictError`` unless ``override``."""

    @abstractmethod
    async def get(self, path: str, default: Any = _MISSING) -> Any:
        """The value at ``path``; ``default`` when given and absent, else ``XNotFoundError``."""

    @abstractmethod
    async def unregister(self, path: str) -> None:
        """Remove ``path``; ``XNotFoundError`` when absent."""

    @abstractmethod
    async def find(self, pattern: str, *, segments: bool = False) -> list[str]:
        """Sorted paths matching the glob ``pattern``."""

    @abstractmethod
    async def list_prefix(self, prefix: str) -> list[str]:
        """Every path below ``prefix``."""

    @abstractmethod
    async def register_indirect(self, key: str, path: str) -> None:
        """Let ``key`` resolve to ``path``."""

    @abstractmethod
    async def resolve(self, key: str) -> str:
        """The path registered for ``key``; ``XNotFoundError`` when none is."""

    @abstractmethod
    async def fuzzy_search(
        self, term: str, pattern: str = "*", *, limit: int = 10, cutoff: float = 0.6
    ) -> list[FuzzyMatch]:
        """Entries resembling ``term``, best first."""

    async def get_by_key(self, key: str) -> Any:
        """The value an indirect ``key`` points at."""
        return await self.get(await self.resolve(key))

    async def close(self) -> None:  # noqa: B027 - optional hook, a no-op for memory
        """Release connections; the memory backend holds none."""


class MemoryNamespace(NamespaceBackend):
    """A namespace held in this process, on a :class:`NamespaceIndex`."""

    def __init__(self, index: NamespaceIndex[Any] | None = None) -> None:
        self.index: NamespaceIndex[Any] = index if index is not None else NamespaceIndex()

    async def register(self, path: str, value: Any, *, override: bool = False) -> None:
        self.index.register(path, value, override=override)

    async def get(self, path: str, default: Any = _MISSING) -> Any:
        if default is _MISSING:
            return self.index.get(path)
        # A default covers a missing entry, not a malformed path: that stays an error, as it is
        # for every backend (a Redis key must be well-formed too).
        return self.index.lookup(validate_path(path), default)

    async def unregister(self, path: str) -> None:
        self.index.unregister(path)

    async def find(self, pattern: str, *, segments: bool = False) -> list[str]:
        return self.index.glob(pattern, segments=segments)

    async def list_prefix(self, prefix: str) -> list[str]:
        return self.index.list_prefix(prefix)

    async def register_indirect(self, key: str, path: str) -> None:
        self.index.register_indirect(key, path)

    async def resolve(self, key: str) -> str:
        return self.index.resolve(key)

    async def fuzzy_search(
        self, term: str, pattern: str = "*", *, limit: int = 10, cutoff: float = 0.6
    ) -> list[FuzzyMatch]:
        return self.index.fuzzy_search(term, pattern, limit=limit, cutoff=cutoff)
