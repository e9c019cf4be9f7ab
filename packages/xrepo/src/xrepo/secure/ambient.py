"""An ambient transaction: a write and its audit entry on one SQL connection / MongoDB session.

:class:`~xrepo.secure.SecureRepo` opens the resource's transaction, sets it here, and runs the
repository's write; a repository class that declares ``ambient_transactions = True`` runs its
statements on :func:`current` (when set for its resource) instead of opening its own
transaction. The audit entry is written on the same transaction, so both commit or neither does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

__all__ = ["TransactionFactory", "active", "current", "transaction_for"]

_AMBIENT: ContextVar[tuple[Any, Any] | None] = ContextVar("xrepo_ambient_tx", default=None)

#: ``factory()`` is an async context manager yielding ``(executor, audit write options)``.
TransactionFactory = Callable[
    [], contextlib.AbstractAsyncContextManager[tuple[Any, dict[str, Any]]]
]


def active() -> bool:
    """Whether an ambient transaction is open in this task."""
    return _AMBIENT.get() is not None


def current(resource: Any) -> Any:
    """The open transaction (SQL executor or MongoDB session) for ``resource``, or ``None``."""
    found = _AMBIENT.get()
    if found is not None and found[0] is resource:
        return found[1]
    return None


async def transaction_for(repo: Any, audit: Any) -> TransactionFactory | None:
    """A transaction factory for ``repo``'s resource, or ``None`` when the repository cannot
    run its writes inside a caller's transaction (or its server has no transactions: a
    standalone MongoDB)."""
    if not getattr(type(repo), "ambient_transactions", False):
        return None
    resource = getattr(repo, "resource", None)
    if resource is None or not callable(getattr(resource, "transaction", None)):
        return None
    supports = getattr(repo, "supports_transactions", None)
    if callable(supports) and not await supports():
        return None
    sink = getattr(audit, "sink", None)
    same = getattr(sink, "resource", None) is resource
    kind = (
        "session"
        if hasattr(resource, "client") and not hasattr(resource, "dialect")
        else "executor"
    )

    prepare = getattr(sink, "ensure_indexes", None) or getattr(sink, "ensure_table", None)

    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[tuple[Any, dict[str, Any]]]:
        if callable(prepare):
            # Create the audit table/collection before the transaction: MongoDB cannot write
            # to a collection created after the transaction's snapshot, MySQL commits on DDL.
            await prepare()
        async with resource.transaction() as tx:
            token = _AMBIENT.set((resource, tx))
            try:
                yield tx, ({kind: tx} if same else {})
            finally:
                _AMBIENT.reset(token)

    return factory
