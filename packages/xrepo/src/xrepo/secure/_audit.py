"""Audit as a layer: every write and every refusal of a secured repository leaves one entry.

:class:`AuditLayer` runs a write with its entry. Where the store has transactions (SQL, a MongoDB
replica set) the write and its entry commit together (``store.transaction()``, joined by the
sink when it writes to the same database); elsewhere a write whose entry cannot be recorded
under the ``"fail"`` policy is undone before the error is raised. Under the ``"buffer"`` policy
the operation goes on whatever the sink does.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from xobj_prototype import XObjPrototype
from xrepo.acl import Principal
from xrepo.audit import AuditEntry, AuditLogger, AuditOutcome, XRepoAuditError
from xrepo.errors import XRepoPermissionError
from xrepo.query import Condition
from xrepo.repos import XRepo
from xrepo.secure._call import Call
from xrepo.stores import Row, UpdateItem
from xrepo.stores import _ambient as ambient

__all__ = ["AuditLayer"]

R = TypeVar("R")

_MAX_AUDIT_IDS = 1000


class AuditLayer:
    """An :class:`~xrepo.audit.AuditLogger` recording the writes and refusals of ``inner``'s
    secured repository (``audit=None``: writes run unrecorded, refusals are not logged).

    Args:
        audit: the logger.
        inner: the wrapped repository (its store joins the entry's transaction; its
            primitives read before-images and undo a write).
        repo: the secured repository's name.
    """

    def __init__(self, audit: AuditLogger | None, inner: XRepo[Any], repo: str) -> None:
        self.audit = audit
        self._inner = inner
        self._repo = repo
        self._entity = inner.model_class.__name__
        self._id = inner.id_field
        model = inner.model_class
        self._secret = model.secret_fields() if issubclass(model, XObjPrototype) else frozenset()
        self._write_lock = asyncio.Lock()

    # -- refusals and failures ----------------------------------------------------------------
    async def deny(self, operation: str, principal: Principal, message: str) -> None:
        """Record a refusal (one entry); an unwritable entry never hides the refusal."""
        await self._log_outcome(operation, principal, "denied", message)

    async def _log_outcome(
        self,
        operation: str,
        principal: Principal,
        outcome: AuditOutcome,
        error: str,
        entity_id: str | None = None,
    ) -> None:
        """One entry for a refusal or a failed write; an unwritable entry is not raised (the
        caller raises the refusal or failure itself, which the entry must never hide)."""
        if self.audit is None:
            return
        entry = AuditEntry(
            action=operation,
            principal_id=principal.user_id,
            roles=tuple(sorted(principal.roles)),
            target_name=self._repo,
            target_kind=self._entity,
            target_id=entity_id,
            outcome=outcome,
            error=error,
            request_id=principal.request_id,
        )
        with contextlib.suppress(XRepoAuditError):
            await self.audit.log(entry)

    async def _log_failure(self, call: Call, ids: builtins.list[Any], exc: Exception) -> None:
        """One entry for a write that failed (nothing was written)."""
        await self._log_outcome(
            call.operation,
            call.principal,
            "failure",
            f"{type(exc).__name__}: {exc}",
            str(ids[0]) if len(ids) == 1 else None,
        )

    # -- the audited write --------------------------------------------------------------------
    async def write(
        self, call: Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        """Run a write with its audit entry: together in one transaction where the store has
        them, else undone when the entry cannot be recorded under the 'fail' policy."""
        audit = self.audit
        if audit is None:
            return await run()
        if audit.policy == "buffer":
            # The operation goes on whatever the sink does: the entry waits in the buffer.
            before = await self._before_images(ids)
            result = await self._run_logged(call, ids, run)
            await audit.log(self._entry(call, result, before))
            return result
        tx = await ambient.transaction_for(self._inner.store, audit)
        if tx is not None:
            return await self._write_in_transaction(call, ids, run, tx)
        return await self._write_compensated(call, ids, run)

    async def _run_logged(
        self, call: Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        """Run the write; a failure other than a refusal leaves its 'failure' entry."""
        try:
            return await run()
        except XRepoPermissionError:
            raise
        except Exception as exc:
            await self._log_failure(call, ids, exc)
            raise

    async def _write_in_transaction(
        self,
        call: Call,
        ids: builtins.list[Any],
        run: Callable[[], Awaitable[R]],
        tx: ambient.TransactionFactory,
    ) -> R:
        assert self.audit is not None
        try:
            async with tx() as (_executor, write_options):
                before = await self._before_images(ids)
                result = await run()
                entry = self._entry(call, result, before)
                await self.audit.log(entry, **write_options)
        except XRepoPermissionError:
            raise
        except XRepoAuditError:
            raise
        except Exception as exc:
            await self._log_failure(call, ids, exc)
            raise
        return result

    async def _write_compensated(
        self, call: Call, ids: builtins.list[Any], run: Callable[[], Awaitable[R]]
    ) -> R:
        assert self.audit is not None
        async with self._write_lock:
            before = await self._before_images(ids)
            result = await self._run_logged(call, ids, run)
            entry = self._entry(call, result, before)
            try:
                await self.audit.log(entry)
            except XRepoAuditError:
                await self._undo(call, result, before)
                raise
            return result

    async def _before_images(self, ids: builtins.list[Any]) -> builtins.list[Row]:
        if not ids or self.audit is None:
            return []
        inner = self._inner
        rows = await inner._select(
            Condition(self._id, "in", tuple(dict.fromkeys(ids))), (), 0, None
        )
        return [inner._dump(inner._to_model(r)) for r in rows]

    async def _undo(self, call: Call, result: Any, before: builtins.list[Row]) -> None:
        """Put back what a write changed (no transaction: the audit entry failed)."""
        inner = self._inner
        id_field = self._id
        op = call.operation
        if op in ("create", "bulk_create"):
            created = result if isinstance(result, builtins.list) else [result]
            keys = [getattr(m, id_field) for m in created if m is not None]
            if keys:
                await inner._delete_where(Condition(id_field, "in", tuple(keys)))
            return
        present = (
            {
                r[id_field]
                for r in await inner._select(
                    Condition(id_field, "in", tuple(r[id_field] for r in before)), (), 0, None
                )
            }
            if before
            else set()
        )
        missing = [r for r in before if r[id_field] not in present]
        if missing:
            await inner._insert(missing)
        batch: builtins.list[UpdateItem] = [
            (
                Condition(id_field, "eq", r[id_field]),
                {k: v for k, v in r.items() if k != id_field},
                None,
            )
            for r in before
            if r[id_field] in present
        ]
        if batch:
            await inner._update_where(batch)

    def _entry(self, call: Call, result: Any, before: builtins.list[Row]) -> AuditEntry:
        op = call.operation
        id_field = self._id
        entity_id: Any = None
        old: Mapping[str, Any] | None = None
        new: Mapping[str, Any] | None = None
        metadata: dict[str, Any] = {}
        captured_id, captured = call.captured if call.captured is not None else (None, None)
        if op == "create":
            entity_id = captured_id
            new = captured
        elif op == "bulk_create":
            created = result if isinstance(result, builtins.list) else []
            keys = [getattr(m, id_field, None) for m in created]
            metadata = {"count": len(created), "ids": keys[:_MAX_AUDIT_IDS]}
        elif op in ("update", "restore"):
            entity_id = (
                captured_id
                if captured_id is not None
                else (before[0][id_field] if before else None)
            )
            if isinstance(result, BaseModel):
                old = before[0] if before else None
                new = self._inner._dump(result)
            else:
                metadata = {"matched": 0}  # not found among the caller's rows: nothing changed
        elif op == "bulk_update":
            metadata = {"count": result, "ids": [r[id_field] for r in before][:_MAX_AUDIT_IDS]}
        else:  # delete, bulk_delete
            if captured is not None:
                metadata = {
                    "count": result,
                    "ids": builtins.list(captured.get("ids", ()))[:_MAX_AUDIT_IDS],
                    "soft": captured.get("soft"),
                }
            else:
                metadata = {"count": result}
            entity_id = captured_id
            if op == "delete" and before:
                old = before[0]
        if isinstance(entity_id, bool | Mapping | builtins.list | tuple):
            entity_id = None
        return AuditEntry.for_operation(
            op,
            before=old,
            after=new,
            secret_fields=self._secret,
            user_id=call.principal.user_id,
            roles=tuple(sorted(call.principal.roles)),
            repo=self._repo,
            entity=self._entity,
            entity_id=entity_id,
            request_id=call.principal.request_id,
            metadata=metadata,
        )
