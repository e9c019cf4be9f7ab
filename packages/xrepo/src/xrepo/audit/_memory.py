"""A bounded in-memory audit sink (tests, development, a short recent-history view)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from xrepo.audit._errors import XRepoAuditError
from xrepo.audit._models import AuditEntry, AuditFilter
from xrepo.audit._sink import AuditSink

__all__ = ["MemoryAuditSink"]


class MemoryAuditSink(AuditSink):
    """The last ``max_entries`` entries, in memory; older ones are dropped (and counted)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise XRepoAuditError(
                f"max_entries must be an integer >= 1, got {max_entries!r}",
                operation="configure audit",
            )
        self._entries: deque[AuditEntry] = deque(maxlen=max_entries)
        #: Entries pushed out by the bound.
        self.dropped = 0

    async def write(self, entries: Sequence[AuditEntry]) -> None:
        batch = list(entries)
        for entry in batch:
            if not isinstance(entry, AuditEntry):
                raise XRepoAuditError(
                    f"audit sinks take AuditEntry objects, got {type(entry).__name__}",
                    operation="write audit",
                )
        overflow = len(self._entries) + len(batch) - (self._entries.maxlen or 0)
        self.dropped += max(0, overflow)
        self._entries.extend(batch)

    async def query(self, filters: AuditFilter) -> list[AuditEntry]:
        return filters.select(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
