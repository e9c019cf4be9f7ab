"""``AuditSink``: where audit entries go, and how they are read back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from xrepo.audit._models import AuditEntry, AuditFilter, parse_filter

__all__ = ["AuditSink"]


class AuditSink(ABC):
    """Storage of audit entries.

    Implementations: :class:`~xrepo.audit.MemoryAuditSink`,
    :class:`~xrepo.audit.JSONLinesAuditSink`, :class:`~xrepo.audit.SQLAuditSink`,
    :class:`~xrepo.audit.MongoAuditSink`. A sink that can join a caller's transaction takes
    it as a keyword of :meth:`write` (``executor=`` for SQL, ``session=`` for MongoDB).
    """

    @abstractmethod
    async def write(self, entries: Sequence[AuditEntry]) -> None:
        """Store ``entries`` (all or none where the storage allows it); raise on failure."""

    @abstractmethod
    async def query(self, filters: AuditFilter) -> list[AuditEntry]:
        """Entries matching ``filters``, newest first, at most ``filters.limit``."""

    async def get_audit_log(
        self, filters: AuditFilter | Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries by user, action, repo/entity, outcome and time range, newest first.

        ``filters`` is an :class:`AuditFilter` or a mapping of its fields, e.g.
        ``{"user_id": "u1", "action": ["update", "delete"], "since": t0}``.
        """
        return await self.query(parse_filter(filters, limit=limit))

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the sink holds (files); the sink is not used afterwards."""
