"""``AuditLogger``: records entries to a sink under a failure policy.

``policy="fail"``: a sink failure raises :class:`XRepoAuditError`, so the audited operation fails
(nothing happens unaudited). ``policy="buffer"``: a failed batch goes to a bounded in-memory
buffer and a background task retries it with exponential backoff, oldest first, until the sink
takes it; the operation goes on. :meth:`AuditLogger.close` stops that task cleanly after one last
attempt; what could still not be written is reported (logged and left in :meth:`pending`).

A write that joins a caller's transaction (``executor=``/``session=``) is never buffered: if the
transaction rolls back, a buffered copy would record something that did not happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from xobj_prototype import redact_text
from xrepo.audit._errors import XRepoAuditError
from xrepo.audit._models import AuditAction, AuditEntry, AuditFilter, parse_filter
from xrepo.audit._sink import AuditSink

__all__ = ["AuditLogger", "AuditLoggerStats", "FailurePolicy"]

log = logging.getLogger("xrepo.audit")

FailurePolicy = Literal["fail", "buffer"]


class AuditLoggerStats(BaseModel):
    """Counters of one :class:`AuditLogger`."""

    written: int = 0
    failed_writes: int = 0
    buffered: int = 0
    dropped: int = 0
    retries: int = 0


class AuditLogger:
    """Writes :class:`AuditEntry` objects to an :class:`AuditSink`.

    Args:
        sink: where entries go.
        policy: ``"fail"`` or ``"buffer"`` (see the module docstring).
        buffer_size: the buffer's bound; when full, the oldest entries are dropped (counted and
            logged as errors).
        retry_initial / retry_max: the backoff of the retry task, in seconds.
        batch_size: entries per retried write.

    Examples:
        >>> logger = AuditLogger(MemoryAuditSink(), policy="buffer")  # doctest: +SKIP
        >>> await logger.record("update", user_id="u1", repo="users", entity_id=7,
        ...                     before=old, after=new)  # doctest: +SKIP
        >>> await logger.get_audit_log({"user_id": "u1"})  # doctest: +SKIP
    """

    def __init__(
        self,
        sink: AuditSink,
        *,
        policy: FailurePolicy = "fail",
        buffer_size: int = 10_000,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        batch_size: int = 500,
    ) -> None:
        if not isinstance(sink, AuditSink):
            raise XRepoAuditError(
                f"sink must be an AuditSink, got {type(sink).__name__}", operation="configure audit"
            )
        if policy not in ("fail", "buffer"):
            raise XRepoAuditError(
                f"audit failure policy must be 'fail' or 'buffer', got {policy!r}",
                operation="configure audit",
            )
        for name, value in (("buffer_size", buffer_size), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise XRepoAuditError(
                    f"{name} must be an integer >= 1, got {value!r}", operation="configure audit"
                )
        if not 0 < retry_initial <= retry_max:
            raise XRepoAuditError(
                "retry delays must satisfy 0 < retry_initial <= retry_max",
                operation="configure audit",
            )
        self.sink = sink
        self.policy: FailurePolicy = policy
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.batch_size = batch_size
        self._buffer: deque[AuditEntry] = deque(maxlen=buffer_size)
        self._stats = AuditLoggerStats()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = False

    # -- recording -----------------------------------------------------------------------------
    async def log(self, entry: AuditEntry, **write_options: Any) -> None:
        """Record one entry (``write_options`` such as ``executor=tx`` go to the sink)."""
        await self.log_many([entry], **write_options)

    async def log_many(self, entries: Iterable[AuditEntry], **write_options: Any) -> None:
        """Record several entries in one sink write.

        Raises:
            XRepoAuditError: the sink failed and the policy is ``"fail"`` (or the write joined
                a transaction), or the logger is closed.
        """
        if self._closed or self._closing:
            raise XRepoAuditError("the audit logger is closed", operation="write audit")
        batch = list(entries)
        for entry in batch:
            if not isinstance(entry, AuditEntry):
                raise XRepoAuditError(
                    f"audit entries must be AuditEntry objects, got {type(entry).__name__}",
                    operation="write audit",
                )
        if not batch:
            return
        if self.policy == "buffer" and not write_options and self._buffer:
            # Older entries wait in the buffer: keep the log in order behind them.
            self._enqueue(batch)
            return
        try:
            await self.sink.write(batch, **write_options)
        except Exception as exc:  # any sink failure is subject to the policy
            self._stats.failed_writes += 1
            if self.policy == "fail" or write_options:
                raise XRepoAuditError(
                    f"audit entry could not be written to {type(self.sink).__name__} "
                    f"({type(exc).__name__}: {redact_text(str(exc))}); the operation is refused "
                    "because the audit policy is 'fail'"
                    if self.policy == "fail"
                    else f"audit entry could not be written inside the caller's transaction "
                    f"({type(exc).__name__}: {redact_text(str(exc))})",
                    operation="write audit",
                ) from None
            log.warning(
                "audit sink %s failed (%s); %d entries buffered for retry",
                type(self.sink).__name__,
                redact_text(f"{type(exc).__name__}: {exc}"),
                len(batch),
            )
            self._enqueue(batch)
            return
        self._stats.written += len(batch)

    async def record(
        self,
        action: str | AuditAction,
        *,
        before: Mapping[str, Any] | BaseModel | None = None,
        after: Mapping[str, Any] | BaseModel | None = None,
        secret_fields: Iterable[str] = (),
        write_options: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> AuditEntry:
        """Build an entry with :meth:`AuditEntry.for_operation` and record it; return it."""
        entry = AuditEntry.for_operation(
            action, before=before, after=after, secret_fields=secret_fields, **fields
        )
        await self.log(entry, **dict(write_options or {}))
        return entry

    # -- reading -------------------------------------------------------------------------------
    async def get_audit_log(
        self, filters: AuditFilter | Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries matching ``filters``, newest first; buffered entries are included."""
        flt = parse_filter(filters, limit=limit)
        stored = await self.sink.query(flt)
        if not self._buffer:
            return stored
        seen = {e.id for e in stored}
        return flt.select([*stored, *(e for e in self._buffer if e.id not in seen)])

    def pending(self) -> list[AuditEntry]:
        """Entries waiting in the buffer, oldest first."""
        return list(self._buffer)

    def stats(self) -> AuditLoggerStats:
        """A snapshot of the counters."""
        return self._stats.model_copy(update={"buffered": len(self._buffer)})

    # -- buffer and retry ----------------------------------------------------------------------
    def _enqueue(self, batch: Sequence[AuditEntry]) -> None:
        maxlen = self._buffer.maxlen or 0
        overflow = len(self._buffer) + len(batch) - maxlen
        if overflow > 0:
            self._stats.dropped += overflow
            log.error("audit buffer full (%d entries): %d oldest entries dropped", maxlen, overflow)
        self._buffer.extend(batch)
        # Only start the retry task; new entries do not wake it early, or a sink that is down
        # would be retried at the request rate instead of with backoff.
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retry_loop(), name="xrepo-audit-retry")

    async def flush(self) -> bool:
        """Try to write the buffer now; whether it is empty afterwards."""
        while self._buffer:
            batch = list(self._buffer)[: self.batch_size]
            try:
                await self.sink.write(batch)
            except Exception as exc:  # stays buffered; the retry loop backs off
                self._stats.failed_writes += 1
                log.debug("audit retry failed: %s", redact_text(f"{type(exc).__name__}: {exc}"))
                return False
            written = {e.id for e in batch}
            # Drop exactly what was written (the bound may have dropped some meanwhile).
            while self._buffer and self._buffer[0].id in written:
                self._buffer.popleft()
            self._stats.written += len(batch)
        return True

    def _stopping(self) -> bool:
        # A call, not the attribute, so that type narrowing does not outlive the awaits.
        return self._closing

    async def _retry_loop(self) -> None:
        delay = self.retry_initial
        while self._buffer and not self._stopping():
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            if self._stopping():
                return
            self._stats.retries += 1
            ok = await self.flush()
            delay = self.retry_initial if ok else min(delay * 2, self.retry_max)

    async def close(self, *, close_sink: bool = True) -> None:
        """Stop the retry task, make one last attempt at the buffer, close the sink.

        Entries that still could not be written are logged as an error and stay available
        through :meth:`pending`. Idempotent.
        """
        if self._closed:
            return
        self._closing = True
        if self._task is not None:
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._buffer and not await self.flush():
            log.error(
                "audit logger closed with %d entries not written to %s",
                len(self._buffer),
                type(self.sink).__name__,
            )
        self._closed = True
        if close_sink:
            await self.sink.close()

    async def __aenter__(self) -> AuditLogger:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
