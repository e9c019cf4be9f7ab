"""A bounded audit log: who registered, read, executed or was refused what, and when.

Each entry is an :class:`AuditEvent`, an :class:`xobj_prototype.AuditRecord` (the audit record
shape that repositories write too) with the registry's action names.

Every registry writes here; an HTTP layer can expose :meth:`AuditLog.events` to administrators.
Details are redacted on the way in, so an argument named ``password`` never sits in the log.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import model_validator

from xobj_prototype import ANONYMOUS_ROLE, SYSTEM, AuditRecord, Principal

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


class AuditEvent(AuditRecord):
    """One audited registry operation: an :class:`xobj_prototype.AuditRecord` (the stack's one
    audit record shape) whose action is an :class:`AuditAction` and whose target is a registered
    item.

    The registry's own names read the record's fields: :attr:`kind` is ``target_kind``,
    :attr:`name` is ``target_name``, :attr:`principal` is ``principal_id`` (``"anonymous"`` for an
    anonymous caller, ``"system"`` for in-process code that gave no principal) and
    :attr:`allowed` is ``outcome != "denied"``. They are accepted as keywords when an event is
    built, too.

    Examples:
        >>> e = AuditEvent(action="register", kind="function", name="add", principal="ada")
        >>> e.action is AuditAction.REGISTER, e.target_kind, e.principal, e.allowed
        (True, 'function', 'ada', True)
    """

    action: AuditAction  # narrower than the record's action name

    @model_validator(mode="before")
    @classmethod
    def _registry_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not _OLD_NAMES.intersection(data):
            return data
        out = dict(data)
        for old, new in (("kind", "target_kind"), ("name", "target_name")):
            if old in out:
                out[new] = out.pop(old)
        if "principal" in out:
            who = out.pop("principal")
            out["principal_id"] = None if who == ANONYMOUS_ROLE else who
        if "allowed" in out:
            out["outcome"] = "success" if out.pop("allowed") else "denied"
        return out

    @property
    def kind(self) -> str:
        """What sort of item: ``"function"``, ``"model"``, ``"type"`` or ``"enrichment"``."""
        return self.target_kind or ""

    @property
    def name(self) -> str:
        """The registered item's name."""
        return self.target_name or ""

    @property
    def principal(self) -> str:
        """Who acted: the principal's id, ``"anonymous"`` or ``"system"``."""
        return self.principal_id if self.principal_id is not None else ANONYMOUS_ROLE


_OLD_NAMES = frozenset({"kind", "name", "principal", "allowed"})


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
        principal: Principal | None = None,
        allowed: bool = True,
        details: Mapping[str, Any] | None = None,
        trusted: bool = False,
    ) -> AuditEvent | None:
        """Append an event; ``principal`` is a :class:`~xobj_prototype.Principal` or None
        (in-process code: recorded as ``"system"``).

        ``details`` are masked and turned into JSON data; ``trusted=True`` skips that (and the
        validation of the event): for details the registry built from validated names and paths
        only (registration is a hot path).
        """
        if not self.enabled:
            return None
        if principal is None:
            who: dict[str, Any] = {"principal_id": SYSTEM.id, "roles": (), "request_id": None}
        else:
            who = {
                "principal_id": principal.id,
                "roles": tuple(sorted(principal.roles)),
                "request_id": principal.request_id,
            }
        if trusted:
            # Built from validated names and a validated principal: no validation pass needed.
            event = AuditEvent.model_construct(
                action=AuditAction(action),
                target_kind=kind,
                target_name=name,
                outcome="success" if allowed else "denied",
                details=dict(details) if details else {},
                **who,
            )
        else:
            event = AuditEvent(
                action=action,
                target_kind=kind,
                target_name=name,
                outcome="success" if allowed else "denied",
                details=details or {},
                **who,
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
