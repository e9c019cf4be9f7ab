"""The ``XRepoError`` hierarchy: every failure of a repository, derived from ``XError``.

Each error names the repository (``repo``) and the operation (``operation``) that failed, so a
message reads ``[repo 'users'] update: ...``. Values a caller passed in are never echoed where they
could be secrets; field names and operator names are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xobj_prototype import (
    XConfigurationError,
    XConflictError,
    XError,
    XNotFoundError,
    XValidationError,
)

__all__ = [
    "XRepoConfigurationError",
    "XRepoConflictError",
    "XRepoConnectionError",
    "XRepoError",
    "XRepoNotFoundError",
    "XRepoPermissionError",
    "XRepoQueryError",
    "XRepoValidationError",
]


class XRepoError(XError):
    """Base of every repository failure.

    Args:
        message: what went wrong and what to do about it.
        repo: the repository's name, when the error concerns one.
        operation: ``create``, ``list``, ``aggregate``...
        item: index of the failing item of a bulk operation.
    """

    def __init__(
        self,
        message: str,
        *,
        repo: str | None = None,
        operation: str | None = None,
        item: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        prefix = " ".join(
            p for p in (repo and f"[repo {repo!r}]", operation and f"{operation}:") if p
        )
        super().__init__(
            f"{prefix} {message}" if prefix else message,
            details={**(details or {}), "repo": repo, "operation": operation, "item": item},
        )
        self.repo = repo
        self.operation = operation
        self.item = item


class XRepoConnectionError(XRepoError, ConnectionError):
    """The resource behind the repository cannot be reached."""


class XRepoPermissionError(XRepoError, PermissionError):
    """The caller may not perform this operation (ACL)."""


class XRepoValidationError(XRepoError, XValidationError):
    """Bad input: an unknown field or operator, a value of the wrong type, a filter too large."""

    def __init__(
        self,
        message: str,
        *,
        repo: str | None = None,
        operation: str | None = None,
        item: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        XRepoError.__init__(
            self, message, repo=repo, operation=operation, item=item, details=details
        )
        self.errors: list[dict[str, Any]] = errors or []


class XRepoNotFoundError(XRepoError, XNotFoundError):
    """The record, table or collection does not exist."""


class XRepoConfigurationError(XRepoError, XConfigurationError):
    """The repository is set up wrongly (no model, no table name, unsupported resource...)."""


class XRepoConflictError(XRepoError, XConflictError):
    """The write collides with existing state: a duplicate key or a stale ``version``."""


class XRepoQueryError(XRepoError):
    """The backend rejected or failed a query that passed validation."""
