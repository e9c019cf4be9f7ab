"""Who calls and what for: :data:`RepoContext` (the caller, a :class:`xobj_prototype.Principal`)
and :class:`Permission` (the operations access control grants).

They sit below the repositories and access control alike: both read them, neither owns them.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from typing import Protocol

from pydantic import ValidationError

from xobj_prototype import Principal
from xrepo.errors import XRepoValidationError

__all__ = ["Caller", "Permission", "RepoContext", "caller_context"]


class Permission(enum.StrEnum):
    """Operations a caller may be allowed (checked by :meth:`XRepo._check_permission`)."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"
    ADMIN = "admin"


#: The caller of a repository operation (``context=``): the stack's one principal type,
#: :class:`xobj_prototype.Principal`, under the name the specification gives it. What the
#: application passes and what a :class:`~xrepo.acl.RoleResolver` decides are the same type:
#: :class:`~xrepo.acl.ContextResolver` keeps the caller's roles, other resolvers replace them.
RepoContext = Principal


class Caller(Protocol):
    """The caller as a repository's internal steps receive it, explicitly: the caller's
    :class:`~xobj_prototype.Principal`, or the call a secured repository resolved once."""

    @property
    def user_id(self) -> str | None:
        """Who (``None``: anonymous)."""

    @property
    def roles(self) -> Collection[str]:
        """The roles the caller holds (as given, or as resolved)."""

    @property
    def request_id(self) -> str | None:
        """The request the call belongs to."""


def caller_context(user_id: str | None, context: Principal | None) -> Principal:
    """The caller of a public operation (``user_id=`` or ``context=``), checked.

    Raises:
        XRepoValidationError: ``context`` is not a principal, or ``user_id`` is not a usable id
            (not a string, empty, over 255 characters, control characters).
    """
    if context is not None:
        if not isinstance(context, Principal):
            raise XRepoValidationError(
                f"context must be a RepoContext (xobj_prototype.Principal), got "
                f"{type(context).__name__}"
            )
        return context
    if user_id is None:
        return _NOBODY
    if not isinstance(user_id, str):
        raise XRepoValidationError(f"user_id must be a string, got {type(user_id).__name__}")
    try:
        return Principal(id=user_id)
    except ValidationError as exc:
        reasons = "; ".join(
            str(e["msg"]) for e in exc.errors(include_input=False, include_url=False)
        )
        raise XRepoValidationError(f"user_id is not valid: {reasons}") from None


#: The caller who gave neither ``user_id=`` nor ``context=``: no id, no role.
_NOBODY = Principal()
