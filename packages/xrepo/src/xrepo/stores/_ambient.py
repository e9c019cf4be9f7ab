"""An ambient transaction: a write and its audit entry on one SQL connection / MongoDB session.

``store.transaction()`` (:class:`~xrepo.stores.SQLStore`, :class:`~xrepo.stores.MongoStore`)
opens the resource's transaction and sets it here for the block; every store on that resource
then runs its statements on :func:`current` instead of opening its own transaction. The audit
layer writes its entry on the same transaction (:func:`transaction_for`), so both commit or
neither does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

__all__ = ["TransactionFactory", "active", "current", "open_transaction", "transaction_for"]

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


@contextlib.asynccontextmanager
async def open_transaction(resource: Any) -> AsyncIterator[Any]:
    """``resource.transaction()``, ambient for the block (what ``store.transaction()`` is)."""
    async with resource.transaction() as tx:
        token = _AMBIENT.set((resource, tx))
        try:
            yield tx
        finally:
            _AMBIENT.reset(token)


async def transaction_for(store: Any, audit: Any) -> TransactionFactory | None:
    """A transaction factory for ``store``'s resource, or ``None`` when the store cannot run
    its writes inside a caller's transaction (a memory or file store, a view, a standalone
    MongoDB)."""
    if not await store.supports_transactions():
        return None
    resource = getattr(store, "resource", None)
    sink = getattr(audit, "sink", None)
    same = resource is not None and getattr(sink, "resource", None) is resource
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
        async with store.transaction() as tx:
            yield tx, ({kind: tx} if same else {})

    return factory
