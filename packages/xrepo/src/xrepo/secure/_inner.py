"""A repository as a store: what a :class:`~xrepo.secure.SecureRepo` runs its operations on.

The secured repository's operations reach the wrapped repository's store through the wrapped
repository's primitives (a view computes its rows there), and the wrapped store's transactions.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Sequence
from typing import Any

from xrepo.query import Node, SortKey, Stage
from xrepo.repos import XRepo
from xrepo.stores import Row, RowLayout, UpdateItem

__all__ = ["InnerStore"]


class InnerStore:
    """The wrapped repository's primitives as a store (what ``SecureRepo.store`` answers)."""

    def __init__(self, inner: XRepo[Any]) -> None:
        self._inner = inner
        self.backend = inner.store.backend

    def bind(self, layout: RowLayout) -> None:
        return  # the inner repository's store is bound already

    async def select(
        self, node: Node, sort: Sequence[SortKey], skip: int, limit: int | None
    ) -> builtins.list[Row]:
        return await self._inner._select(node, sort, skip, limit)

    async def count(self, node: Node) -> int:
        return await self._inner._count(node)

    async def distinct(self, path: str, node: Node) -> builtins.list[Any]:
        return await self._inner._distinct(path, node)

    async def insert(self, rows: builtins.list[Row]) -> builtins.list[Row]:
        return await self._inner._insert(rows)

    async def update_where(self, batch: builtins.list[UpdateItem]) -> builtins.list[int]:
        return await self._inner._update_where(batch)

    async def delete_where(self, node: Node) -> int:
        return await self._inner._delete_where(node)

    async def aggregate(self, stages: builtins.list[Stage]) -> builtins.list[Row]:
        return await self._inner._aggregate(stages)

    async def supports_transactions(self) -> bool:
        return await self._inner.store.supports_transactions()

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._inner.store.transaction()
