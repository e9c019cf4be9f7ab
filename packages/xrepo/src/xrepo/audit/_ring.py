"""``AuditRing``: the bounded in-memory audit log a repository keeps by default.

``RepoMetadata.enable_audit`` is on by default (as the specification has it), so every repository
audits its writes. Without an audit logger of its own (``XRepoFactory.create(..., audit=...)``),
a repository keeps the last ``RepoMetadata.audit_max_entries`` operations here; older ones are
dropped (and counted in :attr:`AuditRing.dropped`), so memory stays bounded whatever the traffic.

The write path pays for one tuple appended to a ``deque``: the entry keeps a reference to the
changes the repository already built (never a copy of the rows), and the :class:`AuditEntry`
objects (validated, secrets masked) are built only when the log is read.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from xobj_prototype import MASK
from xrepo.audit._models import AuditEntry, AuditFilter, parse_filter

__all__ = ["DEFAULT_AUDIT_ENTRIES", "AuditRing"]

#: ``RepoMetadata.audit_max_entries`` by default.
DEFAULT_AUDIT_ENTRIES = 10_000

# (sequence, unix time, action, user_id, roles, request_id, entity_id, changes)
_Raw = tuple[
    int, float, str, str | None, tuple[str, ...], str | None, Any, Mapping[str, Any] | None
]


class AuditRing:
    """The last ``max_entries`` audited operations of one repository, in memory.

    Args:
        max_entries: the bound; when full, the oldest entry is dropped.
        repo: the repository's name (``AuditEntry.repo``).
        entity: the model's name (``AuditEntry.entity``).
        secret_fields: fields masked in ``changes`` in addition to the secret-looking ones.

    Examples:
        >>> ring = AuditRing(2, repo="users", entity="User")
        >>> for i in range(3):
        ...     ring.append("update", None, (), None, i, {"name": f"n{i}"})
        >>> [e.entity_id for e in ring.entries()], ring.dropped
        (['2', '1'], 1)
    """

    __slots__ = ("_entries", "_prefix", "_seq", "dropped", "entity", "repo", "secret_fields")

    def __init__(
        self,
        max_entries: int = DEFAULT_AUDIT_ENTRIES,
        *,
        repo: str | None = None,
        entity: str | None = None,
        secret_fields: Iterable[str] = (),
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"audit_max_entries must be an integer >= 1, got {max_entries!r}")
        self._entries: deque[_Raw] = deque(maxlen=max_entries)
        self._seq = itertools.count()
        # Entry ids are stable across reads: this ring's prefix and the entry's sequence number.
        self._prefix = uuid.uuid4().hex[:16]
        self.repo = repo
        self.entity = entity
        self.secret_fields = frozenset(secret_fields)
        #: Entries pushed out by the bound.
        self.dropped = 0

    @property
    def max_entries(self) -> int:
        """The bound."""
        return self._entries.maxlen or 0

    def append(
        self,
        action: str,
        user_id: str | None,
        roles: tuple[str, ...],
        request_id: str | None,
        entity_id: Any,
        changes: Mapping[str, Any] | None,
    ) -> None:
        """Record one operation (the hot path: no validation, no copy; see the module docs)."""
        entries = self._entries
        if len(entries) == entries.maxlen:
            self.dropped += 1
        entries.append(
            (next(self._seq), time.time(), action, user_id, roles, request_id, entity_id, changes)
        )

    def entries(
        self, filters: AuditFilter | Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries matching ``filters`` (an :class:`AuditFilter` or a mapping of its fields),
        newest first, at most ``limit`` (100 by default).

        Raises:
            XRepoValidationError: an unknown filter key or a value of the wrong type.
        """
        flt = parse_filter(filters, limit=limit)
        out: list[AuditEntry] = []
        for raw in reversed(self._entries):  # newest first, as the filter returns them
            entry = self._build(raw)
            if flt.matches(entry):
                out.append(entry)
                if len(out) >= flt.limit:
                    break
        return out

    def _build(self, raw: _Raw) -> AuditEntry:
        seq, at, action, user_id, roles, request_id, entity_id, changes = raw
        if changes is not None and self.secret_fields:
            changes = {k: (MASK if k in self.secret_fields else v) for k, v in changes.items()}
        if isinstance(entity_id, bool | Mapping | list | tuple | set):
            entity_id = None  # not a scalar id: AuditEntry keeps ids as text
        data: dict[str, Any] = {
            "id": f"{self._prefix}-{seq}",
            "timestamp": _dt.datetime.fromtimestamp(at, _dt.UTC),
            "action": action,
            "user_id": user_id,
            "roles": roles,
            "request_id": request_id,
            "repo": self.repo,
            "entity": self.entity,
            "entity_id": entity_id,
            "changes": changes,
        }
        try:
            return AuditEntry.model_validate(data)
        except ValidationError as exc:
            # Validated only now (the write path stays cheap): an entry that does not fit (a
            # 300-character user id) is still shown, with what could not be kept named.
            bad = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
            for name in bad:
                data[name] = None
            data["metadata"] = {"unrecorded_fields": bad}
            return AuditEntry.model_validate(data)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
