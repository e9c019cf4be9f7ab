"""RepoStats on every backend: counts of today, cardinalities, latency, storage and indexes
read from the database itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from repo_backends import (
    Doc,
    backend_and_resource,  # noqa: F401 (the backend fixture)
    open_backend,
)

from xrepo import RepoContext, XRepo, XRepoPermissionError
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.audit import AuditLogger, MemoryAuditSink
from xrepo.secure import SecureRepo
from xrepo.stats import collect_statistics


async def test_statistics(backend: tuple[str, XRepo[Doc], Any]) -> None:
    kind, inner, _resource = backend
    logger = AuditLogger(MemoryAuditSink())
    policy = ACLPolicy([ACLRule(role="admin", permissions=["admin"])])
    repo = SecureRepo(inner, acl=policy, audit=logger)
    admin = RepoContext(user_id="root", roles=("admin",))
    await repo.create({"id": 40, "owner": "u3", "title": "today"}, context=admin)
    await repo.update(1, {"title": "touched"}, context=admin)
    await repo.delete(2, context=admin)
    await repo.delete(3, soft=False, context=admin)
    for _ in range(3):
        await repo.list({"team": "a"}, context=admin)
    stats = await repo.get_statistics(context=admin)
    assert stats.total_count == 9
    # the seed was stored today too: every record counts as created today (10 + 1 - 1 hard)
    assert stats.created_today == 10
    assert stats.updated_today == 1
    assert stats.deleted_today == 2  # one soft (deleted_at), one hard (audit log)
    assert stats.field_cardinalities["owner"] == 3
    assert stats.field_cardinalities["team"] == 2
    assert stats.latency["list"].count == 3
    assert stats.query_performance["list"] > 0
    if kind == "memory":
        assert stats.storage_size_bytes is None
    else:
        assert stats.storage_size_bytes is not None
        assert stats.storage_size_bytes > 0
    if kind == "postgresql":
        assert any(
            v["definition"].startswith("CREATE UNIQUE INDEX") for v in stats.index_stats.values()
        )
    elif kind == "mysql":
        assert stats.index_stats["PRIMARY"]["columns"] == ["id"]
        assert stats.index_stats["PRIMARY"]["unique"] is True
    elif kind == "mongodb":
        assert "_id_" in stats.index_stats
        assert stats.index_stats["_id_"]["size_bytes"] > 0
    elif kind == "sqlite":
        assert isinstance(stats.index_stats, dict)
    with pytest.raises(XRepoPermissionError):
        await repo.get_statistics(context=RepoContext(user_id="x"))
    direct = await collect_statistics(inner)
    assert direct.total_count == 9
    assert direct.backend in (kind if kind != "csv" and kind != "json" else "file", "memory", kind)


async def test_sqlite_index_listing(tmp_path: Path, unique_name: str) -> None:
    async with open_backend("sqlite", name=unique_name, tmp_path=tmp_path, urls={}) as (
        inner,
        _,
        resource,
    ):
        q = resource.dialect.quote
        await resource.execute(
            f"CREATE INDEX {q(unique_name + '_owner')} ON {q(unique_name)} (owner, team)"
        )
        stats = await collect_statistics(inner)
        assert stats.index_stats[unique_name + "_owner"]["columns"] == ["owner", "team"]
        assert stats.storage_size_bytes is not None
        assert stats.storage_size_bytes > 0
