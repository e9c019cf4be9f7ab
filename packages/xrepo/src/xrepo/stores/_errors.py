"""Translate resource errors into repository errors, keeping the message and the cause.

The resource message has its record values hidden already (``xresource`` scrubs database
messages where it translates driver errors); it is scrubbed once more here, so that a resource
outside that path (a third-party one, a file backend echoing a row) cannot put a value such as a
duplicate secret token into a repository error or an audit entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from xrepo.errors import (
    XRepoConflictError,
    XRepoConnectionError,
    XRepoError,
    XRepoNotFoundError,
    XRepoQueryError,
    XRepoValidationError,
)
from xresource import (
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.databases import scrub_record_values

__all__ = ["repo_errors", "translate"]


def translate(
    exc: XResourceError, repo: str, operation: str, item: int | None = None
) -> XRepoError:
    """The repository error for a resource error (conflict, connection, not found...)."""
    kind: type[XRepoError]
    if isinstance(exc, XResourceIntegrityError):
        kind = XRepoConflictError
    elif isinstance(exc, XResourceConnectionError | XResourceTimeoutError):
        kind = XRepoConnectionError
    elif isinstance(exc, XResourceNotFoundError):
        kind = XRepoNotFoundError
    elif isinstance(exc, XResourceValidationError):
        kind = XRepoValidationError
    else:
        kind = XRepoQueryError
    where = f"item {item}: " if item is not None else ""
    message = scrub_record_values(exc.message)
    return kind(f"{where}{message}", repo=repo, operation=operation, item=item)


@asynccontextmanager
async def repo_errors(repo: str, operation: str) -> AsyncIterator[None]:
    """Turn ``XResourceError`` raised in the block into the matching ``XRepoError``."""
    try:
        yield
    except XResourceError as exc:
        raise translate(exc, repo, operation) from exc
