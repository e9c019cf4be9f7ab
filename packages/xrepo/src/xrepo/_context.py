"""Who calls and what for: :class:`RepoContext` (the caller as the application describes it) and
:class:`Permission` (the operations access control grants).

They sit below the repositories and access control alike: both read them, neither owns them.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

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


class RepoContext(BaseModel):
    """Who is calling, as the application describes the caller: ``context=`` of every
    operation (``user_id=`` is ``RepoContext(user_id=...)``)."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    roles: tuple[str, ...] = ()
    request_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Caller(Protocol):
    """The caller as a repository's internal steps receive it, explicitly: a
    :class:`RepoContext`, or the principal a secured repository resolved once for the call."""

    @property
    def user_id(self) -> str | None:
        """Who (``None``: anonymous)."""

    @property
    def roles(self) -> Collection[str]:
        """The roles the caller holds (as given, or as resolved)."""

    @property
    def request_id(self) -> str | None:
        """The request the call belongs to."""


def caller_context(user_id: str | None, context: RepoContext | None) -> RepoContext:
    """The caller of a public operation (``user_id=`` or ``context=``), checked."""
    if context is not None:
        if not isinstance(context, RepoContext):
            raise XRepoValidationError(
                f"context must be a RepoContext, got {type(context).__name__}"
            )
        return context
    if user_id is not None and not isinstance(user_id, str):
        raise XRepoValidationError(f"user_id must be a string, got {type(user_id).__name__}")
    return RepoContext(user_id=user_id)
