"""Who the caller is: resolvers decide the principal behind ``user_id=``/``context=``.

The repository never decides by itself what a caller may be; a :class:`RoleResolver` does, and it
is pluggable:

- :class:`ContextResolver` (the default) trusts the ``RepoContext`` (a :class:`Principal`) the
  application built after authenticating the caller; a bare ``user_id`` gets no role;
- :class:`StaticResolver` looks roles and attributes up in a table by ``user_id`` and ignores
  any role the context claims (for callers whose context you do not build yourself);
- :class:`CallableResolver` calls your function (sync or async), e.g. a directory lookup.

What they take and return is the stack's one principal type, :class:`xobj_prototype.Principal`
(also ``xrepo.acl.Principal`` and ``xrepo.RepoContext``): registries and repositories read the
same caller. The context is what the caller presents; the resolver's answer is what it may do.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from xobj_prototype import Principal
from xrepo._context import RepoContext
from xrepo.errors import XRepoConfigurationError, XRepoPermissionError

__all__ = ["CallableResolver", "ContextResolver", "Principal", "RoleResolver", "StaticResolver"]


def principal(**values: Any) -> Principal:
    """A :class:`Principal` of the caller's values; a value the principal type refuses (an empty
    or control-character id, a role named ``"*"``...) refuses the caller, naming why."""
    try:
        return Principal(**values)
    except ValidationError as exc:
        reasons = "; ".join(
            str(e["msg"]) for e in exc.errors(include_input=False, include_url=False)
        )
        raise XRepoPermissionError(
            f"the caller's identity is not valid: {reasons}", operation="resolve"
        ) from None


class RoleResolver(ABC):
    """Turns the caller's context into a :class:`Principal`.

    A resolver whose answer depends only on the context sets ``deterministic = True``: the
    repository then remembers its answers (a bounded table) instead of asking on every call.
    """

    deterministic: bool = False

    @abstractmethod
    async def resolve(self, context: RepoContext) -> Principal:
        """The principal behind ``context``; raise ``XRepoPermissionError`` for an unknown one."""


class ContextResolver(RoleResolver):
    """Trusts the ``RepoContext``: its roles and attributes are the caller's.

    Use it when the application builds the context itself after authentication; never when a
    remote caller can choose its own roles.
    """

    deterministic = True

    async def resolve(self, context: RepoContext) -> Principal:
        return context


class StaticResolver(RoleResolver):
    """Roles and attributes from a table keyed by ``user_id``.

    Args:
        users: ``{user_id: {"roles": [...], "attributes": {...}}}`` (or ``{user_id: [roles]}``).
        default_roles: roles of a user absent from the table (and of anonymous callers).
        unknown: ``"default"`` gives unknown users ``default_roles``; ``"deny"`` refuses them.

    Roles named by the context are ignored: only the table decides.
    """

    deterministic = True

    def __init__(
        self,
        users: Mapping[str, Any],
        *,
        default_roles: tuple[str, ...] = (),
        unknown: str = "default",
    ) -> None:
        if unknown not in ("default", "deny"):
            raise XRepoConfigurationError("unknown= must be 'default' or 'deny'")
        self._users: dict[str, Principal] = {}
        for user_id, entry in users.items():
            if isinstance(entry, Mapping):
                roles = entry.get("roles", ())
                attributes = dict(entry.get("attributes", {}))
            else:
                roles, attributes = entry, {}
            if isinstance(roles, str):
                roles = [roles]
            try:
                self._users[str(user_id)] = Principal(
                    id=str(user_id), roles=frozenset(roles), attributes=attributes
                )
            except ValidationError as exc:
                raise XRepoConfigurationError(
                    f"user {str(user_id)[:40]!r} of the StaticResolver table: "
                    + "; ".join(
                        str(e["msg"]) for e in exc.errors(include_input=False, include_url=False)
                    )
                ) from None
        self.default_roles = frozenset(default_roles)
        self.unknown = unknown

    async def resolve(self, context: RepoContext) -> Principal:
        found = self._users.get(context.user_id) if context.user_id is not None else None
        if found is None:
            if self.unknown == "deny":
                raise XRepoPermissionError(
                    "unknown caller: no roles are configured for this user", operation="resolve"
                )
            return principal(
                user_id=context.user_id,
                roles=self.default_roles,
                request_id=context.request_id,
            )
        if context.request_id is None:
            return found
        return principal(
            user_id=found.user_id,
            roles=found.roles,
            attributes=found.attributes,
            request_id=context.request_id,
        )


class CallableResolver(RoleResolver):
    """Calls ``fn(context)`` (sync or async), which returns a :class:`Principal` or a dict
    ``{"roles": [...], "attributes": {...}}``."""

    def __init__(self, fn: Callable[[RepoContext], Any | Awaitable[Any]]) -> None:
        if not callable(fn):
            raise XRepoConfigurationError("CallableResolver needs a callable")
        self._fn = fn

    async def resolve(self, context: RepoContext) -> Principal:
        result = self._fn(context)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Principal):
            return result
        if isinstance(result, Mapping):
            roles = result.get("roles", ())
            return principal(
                user_id=context.user_id,
                roles=frozenset([roles] if isinstance(roles, str) else roles),
                attributes=dict(result.get("attributes", {})),
                request_id=context.request_id,
            )
        raise XRepoConfigurationError(
            f"the role resolver returned {type(result).__name__}; return a Principal or a dict"
        )
