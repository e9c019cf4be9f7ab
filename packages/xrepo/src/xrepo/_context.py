"""Who calls and what for: :class:`RepoContext` (the caller as the application describes it) and
:class:`Permission` (the operations access control grants).

They sit below the repositories and access control alike: both read them, neither owns them.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Permission", "RepoContext"]


class Permission(enum.StrEnum):
    """Operations a caller may be allowed (checked by :meth:`XRepo._check_permission`)."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"
    ADMIN = "admin"


class RepoContext(BaseModel):
    """Who is calling: passed to every operation and to the permission/audit seams."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    roles: tuple[str, ...] = ()
    request_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
