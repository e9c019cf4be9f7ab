"""AuditLogger failure policies: "fail" refuses the operation, "buffer" retries in the
background with backoff and stops cleanly on close()."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from xrepo.audit import (
    AuditEntry,
    AuditFilter,
    AuditLogger,
    AuditSink,
    MemoryAuditSink,
    XRepoAuditError,
)


class FailingSink(AuditSink):
    """A sink that fails its first ``failures`` writes (a database that is restarting)."""

    def __init__(self, failures: int = 10**9) -> None:
        self.failures = failures
        self.attempts = 0
        self.closed = False
        self.store = MemoryAuditSink()
        self.kwargs: list[dict[str, Any]] = []

    async def write(self, entries: Sequence[AuditEntry], **kwargs: Any) -> None:
        self.attempts += 1
        self.kwargs.append(kwargs)
        if self.attempts <= self.failures:
            raise ConnectionError("postgresql://audit:s3cret@db/audit refused the connection")
        await self.store.write(entries)

    async def query(self, filters: AuditFilter) -> list[AuditEntry]:
        return await self.store.query(filters)

    async def close(self) -> None:
        self.closed = True


def entries(n: int) -> list[AuditEntry]:
    return [AuditEntry(action="update", user_id="u1", entity_id=i) for i in range(n)]


async def test_fail_policy_refuses_the_operation_without_leaking_secrets() -> None:
    logger = AuditLogger(FailingSink(), policy="fail")
    with pytest.raises(XRepoAuditError) as info:
        await logger.log(entries(1)[0])
    assert "ConnectionError" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert "policy is 'fail'" in str(info.value)
    assert logger.stats().failed_writes == 1
    await logger.close()


async def test_buffer_policy_retries_until_the_sink_recovers() -> None:
    sink = FailingSink(failures=3)
    logger = AuditLogger(sink, policy="buffer", retry_initial=0.01, retry_max=0.05)
    batch = entries(5)
    await logger.log_many(batch[:2])  # fails: buffered
    await logger.log_many(batch[2:])  # goes behind the buffered ones, in order
    assert [e.entity_id for e in logger.pending()] == ["0", "1", "2", "3", "4"]
    # Readers see buffered entries too.
    assert len(await logger.get_audit_log({"user_id": "u1"})) == 5
    for _ in range(500):
        if not logger.pending():
            break
        await asyncio.sleep(0.01)
    assert logger.pending() == []
    assert [e.entity_id for e in await sink.store.get_audit_log()] == ["4", "3", "2", "1", "0"]
    stats = logger.stats()
    assert stats.written == 5
    assert stats.retries >= 2
    assert sink.attempts == 4
    await logger.close()
    assert sink.closed


async def test_the_buffer_is_bounded_and_drops_the_oldest() -> None:
    logger = AuditLogger(FailingSink(), policy="buffer", buffer_size=3, retry_initial=10)
    await logger.log_many(entries(5))
    assert [e.entity_id for e in logger.pending()] == ["2", "3", "4"]
    assert logger.stats().dropped == 2
    await logger.close()


async def test_close_stops_the_retry_task_cleanly() -> None:
    sink = FailingSink()
    logger = AuditLogger(sink, policy="buffer", retry_initial=0.01, retry_max=0.02)
    await logger.log_many(entries(2))
    await asyncio.sleep(0.05)
    task = logger._task
    assert task is not None
    assert not task.done()
    await logger.close()
    assert task.done()
    assert logger._task is None
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert len(logger.pending()) == 2  # not written, not lost silently
    with pytest.raises(XRepoAuditError, match="closed"):
        await logger.log(entries(1)[0])
    await logger.close()  # idempotent


async def test_close_makes_a_last_attempt() -> None:
    sink = FailingSink(failures=1)
    logger = AuditLogger(sink, policy="buffer", retry_initial=30)
    await logger.log_many(entries(2))
    await logger.close()
    assert logger.pending() == []
    assert len(await sink.store.get_audit_log()) == 2


async def test_a_transactional_write_is_never_buffered() -> None:
    sink = FailingSink()
    logger = AuditLogger(sink, policy="buffer")
    with pytest.raises(XRepoAuditError, match="transaction"):
        await logger.log(entries(1)[0], executor="tx")
    assert sink.kwargs == [{"executor": "tx"}]
    assert logger.pending() == []
    await logger.close()


async def test_record_builds_and_logs_an_entry() -> None:
    sink = MemoryAuditSink()
    logger = AuditLogger(sink)
    entry = await logger.record(
        "update", user_id="u9", repo="users", entity_id=3, before={"a": 1}, after={"a": 2}
    )
    assert entry.changes == {"a": {"from": 1, "to": 2}}
    assert await logger.get_audit_log({"user_id": "u9"}) == [entry]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"policy": "ignore"},
        {"buffer_size": 0},
        {"batch_size": -1},
        {"retry_initial": 0},
        {"retry_initial": 5, "retry_max": 1},
    ],
)
def test_bad_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(XRepoAuditError):
        AuditLogger(MemoryAuditSink(), **kwargs)


async def test_bad_entries_and_sinks() -> None:
    with pytest.raises(XRepoAuditError, match="AuditSink"):
        AuditLogger(object())  # type: ignore[arg-type]
    logger = AuditLogger(MemoryAuditSink())
    with pytest.raises(XRepoAuditError, match="AuditEntry"):
        await logger.log({"action": "read"})  # type: ignore[arg-type]
    await logger.log_many([])
    await logger.close()


async def test_a_down_sink_is_retried_with_backoff_not_at_the_request_rate() -> None:
    sink = FailingSink()
    logger = AuditLogger(sink, policy="buffer", retry_initial=10)
    for entry in entries(20):
        await logger.log(entry)
        await asyncio.sleep(0)
    assert sink.attempts == 1  # the first write failed; the rest queued behind it
    assert len(logger.pending()) == 20
    await logger.close()
    assert sink.attempts == 2  # plus the last attempt of close()
