"""One secured call: the caller resolved once into a principal, and the decision for it.

:class:`Admission` turns ``user_id=``/``context=`` into a :class:`Call` before anything else
runs: the resolver names the principal (remembered when the resolver is deterministic), the
policy decides for the operation's permission, and a refusal is audited and raised. The
:class:`Call` is then passed explicitly to every step of the operation (it is the caller the
repository's steps receive), and it collects what the audit entry needs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from xrepo._context import Permission, RepoContext, caller_context
from xrepo.acl import BoundPolicy, Decision, LookupGrant, Principal, RoleResolver, freeze_value
from xrepo.errors import XRepoPermissionError, XRepoValidationError
from xrepo.stats import LatencyRecorder

__all__ = ["Admission", "Call", "CallScope"]

#: Principals remembered per resolver answer (a deterministic resolver).
_PRINCIPAL_CACHE = 4096
_ANONYMOUS = RepoContext()

#: ``deny(operation, principal, message)``: audit one refusal.
Deny = Callable[[str, Principal, str], Awaitable[None]]


@dataclass(eq=False)
class Call:
    """One public operation of a secured repository, as its steps see it.

    It is the caller the repository's steps receive (``user_id``, ``roles``, ``request_id`` of
    the resolved principal), with the policy's decision for the operation.
    """

    operation: str
    principal: Principal
    decision: Decision | None
    #: ``(entity id, changes)`` the operation reported for its audit entry.
    captured: tuple[Any, dict[str, Any] | None] | None = None
    #: Whether a write is running (its reads bypass the cache).
    in_write: bool = False
    grants: dict[str, LookupGrant] = field(default_factory=dict)
    #: Output fields of an aggregate derived from hidden fields (stripped from its rows).
    tainted: frozenset[str] = frozenset()

    @property
    def user_id(self) -> str | None:
        """The principal's id."""
        return self.principal.user_id

    @property
    def roles(self) -> frozenset[str]:
        """The principal's roles."""
        return self.principal.roles

    @property
    def request_id(self) -> str | None:
        """The request the call belongs to."""
        return self.principal.request_id


class Admission:
    """Resolves callers into principals and decides their operations (one per repository).

    Args:
        resolver: the policy's :class:`~xrepo.acl.RoleResolver`.
        bound: the policy bound to the repository's fields (``None``: everyone may do all).
        deny: records a refusal in the audit log.
        repo: the repository's name (in errors).
    """

    def __init__(
        self, resolver: RoleResolver, bound: BoundPolicy | None, deny: Deny, repo: str
    ) -> None:
        self._resolver = resolver
        self._cacheable = bool(getattr(resolver, "deterministic", False))
        self._bound = bound
        self._deny = deny
        self._repo = repo
        self._principals: dict[Any, Principal] = {}

    async def admit(
        self,
        operation: str,
        permission: Permission,
        user_id: str | None,
        context: RepoContext | None,
        parent: Call | None = None,
    ) -> Call:
        """The call of ``operation`` by this caller; a refusal is audited and raised.

        A nested step of a call (``restore`` reading its record back) passes ``parent``: its
        principal is the parent's, never resolved again, and a write's reads stay uncached.
        """
        if parent is not None:
            principal = parent.principal
        else:
            principal = await self._principal(operation, user_id, context)
        decision: Decision | None = None
        bound = self._bound
        if bound is not None:
            decision = bound.decide(principal, permission)
            if decision is None:
                message = f"the caller may not {permission.value} in this repository"
                await self._deny(operation, principal, message)
                refused = XRepoPermissionError(message, repo=self._repo, operation=operation)
                refused._xrepo_audited = True  # type: ignore[attr-defined]
                raise refused
        call = Call(operation, principal, decision)
        if parent is not None:
            call.in_write = parent.in_write
        return call

    def decide(self, call: Call, permission: Permission) -> Decision | None:
        """The decision for another permission of the same call (``None``: refused)."""
        assert self._bound is not None
        return self._bound.decide(call.principal, permission)

    async def _principal(
        self, operation: str, user_id: str | None, context: RepoContext | None
    ) -> Principal:
        if context is None and user_id is None:
            raw = _ANONYMOUS
        elif type(context) is RepoContext:
            raw = context
        elif context is None and isinstance(user_id, str):
            try:
                raw = caller_context(user_id, None)
            except XRepoValidationError as exc:
                # A user_id that is no identity (a newline, only spaces) is a refused caller.
                reason = f"the caller's identity is not valid ({exc})"
                await self._deny(operation, _who(None), reason)
                raise self._unknown(operation) from None
        else:  # a context that is no principal, a user_id that is no string: a caller's bug
            raw = caller_context(user_id, context)
        key: Any = None
        if self._cacheable:
            key = (raw.user_id, raw.roles, raw.request_id, freeze_value(raw.attributes))
            found = self._principals.get(key)
            if found is not None:
                return found
        try:
            principal = await self._resolver.resolve(raw)
        except XRepoPermissionError as exc:
            await self._deny(operation, _who(raw.user_id), str(exc))
            raise self._unknown(operation) from None
        if self._cacheable:
            principals = self._principals
            if len(principals) >= _PRINCIPAL_CACHE:
                principals.pop(next(iter(principals)))
            principals[key] = principal
        return principal

    def _unknown(self, operation: str) -> XRepoPermissionError:
        """The refusal of a caller who could not be identified (already audited)."""
        unknown = XRepoPermissionError(
            "the caller could not be identified", repo=self._repo, operation=operation
        )
        unknown._xrepo_audited = True  # type: ignore[attr-defined]
        return unknown


class CallScope:
    """``async with`` one public operation: admit the caller, time the operation, and audit a
    refusal raised inside it (a class: cheaper than a generator)."""

    __slots__ = (
        "admission",
        "call",
        "context",
        "deny",
        "latency",
        "operation",
        "parent",
        "permission",
        "started",
        "user_id",
    )

    def __init__(
        self,
        admission: Admission,
        deny: Deny,
        latency: LatencyRecorder,
        operation: str,
        permission: Permission,
        user_id: str | None,
        context: RepoContext | None,
        parent: Call | None = None,
    ) -> None:
        self.admission = admission
        self.deny = deny
        self.latency = latency
        self.operation = operation
        self.permission = permission
        self.user_id = user_id
        self.context = context
        self.parent = parent
        self.started = 0.0
        self.call: Call | None = None

    async def __aenter__(self) -> Call:
        self.started = time.perf_counter()
        try:
            self.call = await self.admission.admit(
                self.operation, self.permission, self.user_id, self.context, self.parent
            )
        except BaseException:
            self._record()
            raise
        return self.call

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if isinstance(exc, XRepoPermissionError) and not getattr(exc, "_xrepo_audited", False):
                # A nested call (restore reading back) may have recorded this refusal already.
                assert self.call is not None
                await self.deny(self.operation, self.call.principal, str(exc))
                exc._xrepo_audited = True  # type: ignore[attr-defined]
        finally:
            self._record()

    def _record(self) -> None:
        self.latency.record(self.operation, (time.perf_counter() - self.started) * 1000.0)


def _who(user_id: str | None) -> Principal:
    """The refused caller, for its audit entry (anonymous when the id itself was refused)."""
    try:
        return Principal(id=user_id)
    except ValidationError:
        return Principal()
