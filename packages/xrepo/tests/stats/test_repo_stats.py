"""RepoStats over the in-memory engine: counts of today, cardinalities, latency."""

from __future__ import annotations

import datetime as dt

import pytest

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepoError
from xrepo.audit import AuditLogger, MemoryAuditSink
from xrepo.secure import SecureRepo
from xrepo.stats import LatencyRecorder, RepoStats, collect_statistics


class Item(XObjPrototype):
    id: int | None = None
    color: str
    size: int
    tags: list[str] = []
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


class Plain(XObjPrototype):
    id: int | None = None
    color: str


YESTERDAY = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)


async def test_counts_of_today() -> None:
    old = [
        {"id": i, "color": "red", "size": i, "created_at": YESTERDAY, "updated_at": YESTERDAY}
        for i in range(1, 6)
    ]
    repo = MaterializedRepo(model_class=Item, data=old)
    await repo.create({"color": "blue", "size": 9})
    await repo.create({"color": "green", "size": 9})
    await repo.update(1, {"size": 100})
    await repo.delete(2)
    stats = await collect_statistics(repo)
    assert isinstance(stats, RepoStats)
    assert stats.total_count == 6
    assert stats.created_today == 2
    assert stats.updated_today == 2  # the update and the soft delete touched old records
    assert stats.deleted_today == 1
    assert stats.field_cardinalities == {"id": 6, "color": 3, "size": 5}
    assert stats.backend == "memory"
    assert stats.storage_size_bytes is None


async def test_hard_deletes_from_the_audit_log_and_latency() -> None:
    logger = AuditLogger(MemoryAuditSink())
    repo = SecureRepo(
        MaterializedRepo(model_class=Plain, data=[{"id": i, "color": "c"} for i in range(5)]),
        audit=logger,
    )
    await repo.delete(1, soft=False)
    await repo.bulk_delete([2, 3], soft=False)
    await repo.list()
    stats = await repo.get_statistics()
    assert stats.deleted_today == 3
    assert stats.total_count == 2
    assert stats.latency["delete"].count == 1
    assert set(stats.query_performance) >= {"delete", "bulk_delete", "list"}


async def test_cardinality_fields_and_sample_limit() -> None:
    data = [{"id": i, "color": f"c{i % 7}", "size": i} for i in range(1, 1001)]
    repo = MaterializedRepo(model_class=Item, data=data)
    stats = await collect_statistics(repo, cardinality_fields=["color"], chunk_size=100)
    assert stats.field_cardinalities == {"color": 7}
    small = await collect_statistics(repo, cardinality_fields=["size"], sample_limit=50)
    assert small.field_cardinalities == {"size": 50}
    with pytest.raises(XRepoError, match="unknown field"):
        await collect_statistics(repo, cardinality_fields=["nope"])


async def test_latency_recorder_is_reported() -> None:
    rec = LatencyRecorder()
    for ms in (1.0, 2.0, 3.0):
        rec.record("list", ms)
    stats = await collect_statistics(MaterializedRepo(model_class=Plain, data=[]), latency=rec)
    assert stats.query_performance == {"list": 2.0}
    assert stats.latency["list"].p50_ms == 2.0
