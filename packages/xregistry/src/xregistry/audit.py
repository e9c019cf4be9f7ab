"""A bounded audit log: who registered, read, executed or was refused what, and when.

Every registry writes here; an HTTP layer can expose :meth:`AuditLog.events` to administrators.
Details are redacted on the way in, so an argument named ``password`` never sits in the log.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xobj_prototype import redact

__all__ = ["AuditAction", "AuditEvent", "AuditLog"]

logger = logging.getLogger("xregistry.audit")


class AuditAction(StrEnum):
    """What happened to a registered item."""

    REGISTER = "register"
    UNREGISTER = "unregister"
    UPDATE = "update"
    ACCESS = "access"
    FIND = "find"
    EXECUTE = "execute"
    VALIDATE = "validate"
    DENIED = "denied"
    ENRICH = "enrich"


class AuditEvent(BaseModel):
    """One audited operation."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    action: AuditAction
    kind: str  # "function", "model", "type", "enrichment"
    name: str
    principal: str = "system"
    roles: tuple[str, ...] = ()
    allowed: bool = True
    details: dict[str, Any] = Field(default_factory=dict)


class AuditLog:
    """The last ``max_events`` events, oldest first; older ones fall off.

    Examples:
        >>> log = AuditLog(max_events=2)
        >>> for n in ("a", "b", "c"):
        ...     _ = log.record(AuditAction.REGISTER, "function", n)
        >>> [e.name for e in log.events()]
        ['b', 'c']
    """

    def __init__(self, max_events: int = 10_000, *, enabled: bool = True) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {max_events}")
        self._events: deque[AuditEvent] = deque(maxlen=max_events)
        self._listeners: list[Callable[[AuditEvent], None]] = []
        self.enabled = enabled

    @property
    def max_events(self) -> int:
        """How many events the log keeps."""
        return self._events.maxlen or 0

    def resize(self, max_events: int) -> None:
        """Keep at most ``max_events`` events from now on (the newest ones survive)."""
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {max_events}")
        self._events = deque(self._events, maxlen=max_events)

    def record(
        self,
        action: AuditAction,
        kind: str,
        name: str,
        *,
        principal: Any = None,
        allowed: bool = True,
        details: Mapping[str, Any] | None = None,
        trusted: bool = False,
    ) -> AuditEvent | None:
        """Append an event; ``principal`` is a :class:`~xregistry.permissions.Principal` or None.

        ``trusted=True`` skips the redaction of ``details``: for details the registry built from
        validated names and paths only (registration is a hot path).
        """
        if not self.enabled:
            return None
        event = AuditEvent(
            action=action,
            kind=kind,
            name=name,
            principal=getattr(principal, "id", "system"),
            roles=tuple(sorted(getattr(principal, "roles", ()))),
            allowed=allowed,
            details=(dict(details) if trusted else redact(dict(details))) if details else {},
        )
        self._events.append(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the registry operation
                logger.exception("audit listener %r failed", listener)
        return event

    def subscribe(self, listener: Callable[[AuditEvent], None]) -> Callable[[], None]:
        """Call ``listener`` for every new event; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def events(
        self,
        *,
        kind: str | None = None,
        name: str | None = None,
        action: AuditAction | str | None = None,
        principal: str | None = None,
        allowed: bool | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Events matching every given filter, oldest first; ``limit`` keeps the newest."""
        act = AuditAction(action) if action is not None else None
        out = [
            e
            for e in self._events
            if (kind is None or e.kind == kind)
            and (name is None or e.name == name)
            and (act is None or e.action is act)
            and (principal is None or e.principal == principal)
            and (allowed is None or e.allowed is allowed)
        ]
        return out[-limit:] if limit else out

    def clear(self) -> None:
        """Forget every event."""
        self._events.clear()

    def __len__(self) -> int:
        return len(self._events)
