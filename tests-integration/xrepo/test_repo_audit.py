"""Audit and cache on every backend, including their failure modes.

- every write and every refusal leaves exactly one entry, in a real sink (a SQL table on the
  same database for SQL backends, a MongoDB collection for MongoDB, a JSON-lines file otherwise);
- the audit store down: with policy ``"fail"`` the operation fails and nothing is written; with
  ``"buffer"`` it succeeds and the entry arrives once the store is back. "Down" is a real outage:
  the audit store's PostgreSQL is reached through a TCP proxy that the test stops and restarts;
- Redis down (through the same kind of proxy): reads still work, uncached;
- two processes sharing a Redis cache see each other's writes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from repo_backends import (
    DOCS,
    Doc,
    TcpProxy,
    backend_and_resource,  # noqa: F401 (the backend fixture)
    backend_urls,
    drop_sink,
    open_backend,
    sink_for,
)

from xrepo import RepoContext, XRepo, XRepoPermissionError
from xrepo.acl import ACLPolicy, ACLRule
from xrepo.audit import (
    AuditLogger,
    MongoAuditSink,
    SQLAuditSink,
    XRepoAuditError,
)
from xrepo.cache import CacheManager
from xrepo.secure import SecureRepo
from xresource import ResourceFactory

RULES = [
    ACLRule(role="admin", permissions=["admin"]),
    ACLRule(
        role="user",
        permissions=["read", "list", "create", "update", "delete"],
        conditions={"rows": {"owner": "$user.id"}, "hidden_fields": ["salary"]},
    ),
]
U1 = RepoContext(user_id="u1", roles=("user",))
GUEST = RepoContext(user_id="g", roles=("guest",))
ROOT = Path(__file__).resolve().parents[2]


async def test_every_write_and_refusal_is_audited_once(
    backend: tuple[str, XRepo[Doc], Any], tmp_path: Path, unique_name: str
) -> None:
    kind, inner, resource = backend
    sink = sink_for(kind, resource, tmp_path, unique_name)
    logger = AuditLogger(sink)
    repo = SecureRepo(inner, acl=ACLPolicy(RULES), audit=logger)
    try:
        made = await repo.create({"id": 50, "owner": "u1", "title": "new"}, context=U1)
        await repo.update(made.id, {"title": "newer"}, context=U1)
        await repo.bulk_create(
            [{"id": 51, "owner": "u1", "title": "b1"}, {"id": 52, "owner": "u1", "title": "b2"}],
            context=U1,
        )
        await repo.bulk_update([(1, {"title": "x"}), (3, {"title": "y"})], context=U1)
        await repo.delete(1, context=U1)
        await repo.restore(1, context=U1)
        await repo.bulk_delete([3, 5], context=U1)
        await repo.update(2, {"title": "not mine"}, context=U1)  # no match: still one entry
        with pytest.raises(XRepoPermissionError):
            await repo.list(context=GUEST)
        with pytest.raises(XRepoPermissionError):
            await repo.list({"salary": 1}, context=U1)
        with pytest.raises(XRepoPermissionError):
            await repo.create({"owner": "u2", "title": "planted"}, context=U1)
        log = list(
            reversed(await repo.get_audit_log(limit=1000, context=RepoContext(roles=("admin",))))
        )
        assert [(e.action, e.outcome) for e in log] == [
            ("create", "success"),
            ("update", "success"),
            ("bulk_create", "success"),
            ("bulk_update", "success"),
            ("delete", "success"),
            ("restore", "success"),
            ("bulk_delete", "success"),
            ("update", "success"),
            ("list", "denied"),
            ("list", "denied"),
            ("create", "denied"),
        ]
        assert log[1].changes == {
            "title": {"from": "new", "to": "newer"},
            **{k: v for k, v in (log[1].changes or {}).items() if k != "title"},
        }
        assert log[1].entity_id == str(made.id)
        assert log[7].metadata == {"matched": 0}
        assert all(e.user_id in ("u1", "g") for e in log)
        assert all(e.repo == inner.name for e in log)
    finally:
        await drop_sink(sink)


@pytest.fixture
async def audit_store(
    postgres_url: str, unique_name: str
) -> AsyncIterator[tuple[TcpProxy, SQLAuditSink]]:
    """An audit table on PostgreSQL reached through a proxy the test may stop (an outage);
    restarted, dropped and disconnected after the test."""
    async with TcpProxy.in_front_of(postgres_url, 5432) as (proxy, url):
        audit_db = ResourceFactory.from_url(url, acquire_timeout=2.0, connect_timeout=2.0)
        sink = SQLAuditSink(audit_db, table=f"{unique_name}_audit")
        await sink.ensure_table()
        try:
            yield proxy, sink
        finally:
            if proxy._server is None:
                await proxy.start()
            await sink.drop_table()
            await audit_db.disconnect()


async def snapshot(inner: XRepo[Doc]) -> list[dict[str, Any]]:
    rows = await inner.list(limit=None, include_deleted=True)
    return [r.model_dump(exclude={"ns"}) for r in rows]


async def test_audit_store_down_fail_policy_writes_nothing(
    backend: tuple[str, XRepo[Doc], Any], audit_store: tuple[TcpProxy, SQLAuditSink]
) -> None:
    _, inner, _ = backend
    proxy, sink = audit_store
    repo = SecureRepo(inner, acl=ACLPolicy(RULES), audit=AuditLogger(sink, policy="fail"))
    before = await snapshot(inner)
    await proxy.stop()
    attempts = [
        lambda: repo.create({"id": 60, "owner": "u1", "title": "lost"}, context=U1),
        lambda: repo.update(1, {"title": "lost"}, context=U1),
        lambda: repo.bulk_update([(1, {"title": "a"}), (3, {"title": "b"})], context=U1),
        lambda: repo.delete(1, context=U1),
        lambda: repo.bulk_delete([3, 5], soft=False, context=U1),
        lambda: repo.bulk_create([{"id": 61, "owner": "u1", "title": "x"}], context=U1),
    ]
    for attempt in attempts:
        with pytest.raises(XRepoAuditError):
            await attempt()
    assert await snapshot(inner) == before
    await proxy.start()
    await repo.update(1, {"title": "back"}, context=U1)
    entries = await sink.get_audit_log({"repo": inner.name})
    assert [(e.action, e.outcome) for e in entries] == [("update", "success")]


async def test_audit_store_down_buffer_policy_delivers_later(
    backend: tuple[str, XRepo[Doc], Any], audit_store: tuple[TcpProxy, SQLAuditSink]
) -> None:
    _, inner, _ = backend
    proxy, sink = audit_store
    logger = AuditLogger(sink, policy="buffer", retry_initial=0.05, retry_max=0.2)
    repo = SecureRepo(inner, acl=ACLPolicy(RULES), audit=logger)
    try:
        await proxy.stop()
        made = await repo.create({"id": 62, "owner": "u1", "title": "kept"}, context=U1)
        assert await repo.update(1, {"title": "kept too"}, context=U1) is not None
        assert (await inner.read(made.id)) is not None
        assert len(logger.pending()) == 2
        await proxy.start()
        # The retry task's backoff and a loaded CI machine decide when the buffer drains: wait
        # for it with a generous deadline rather than a fixed number of polls.
        deadline = asyncio.get_running_loop().time() + 30
        while logger.pending() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the logger exposes no event to wait on; poll its buffer
        assert not logger.pending(), "the buffered audit entries were not delivered in 30 s"
        entries = await sink.get_audit_log({"repo": inner.name})
        assert sorted(e.action for e in entries) == ["create", "update"]
    finally:
        if proxy._server is None:
            await proxy.start()
        await logger.close(close_sink=False)


async def test_audit_failure_in_the_same_database_rolls_back(
    postgres_url: str, tmp_path: Path, unique_name: str
) -> None:
    """SQL repository and SQL sink on one database: the entry cannot be written (its table is
    missing and may not be created) so the write rolls back with it."""
    async with open_backend(
        "postgresql", name=unique_name, tmp_path=tmp_path, urls={"postgresql": postgres_url}
    ) as (inner, _, resource):
        sink = SQLAuditSink(resource, table=f"{unique_name}_missing", create=False)
        repo = SecureRepo(inner, audit=AuditLogger(sink, policy="fail"))
        before = await snapshot(inner)
        with pytest.raises(XRepoAuditError):
            await repo.update(1, {"title": "rolled back"})
        with pytest.raises(XRepoAuditError):
            await repo.create({"id": 63, "owner": "u1", "title": "rolled back"})
        assert await snapshot(inner) == before


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    async with TcpProxy.in_front_of(redis_url, 6379) as proxied:
        yield proxied


async def test_redis_down_reads_still_work_uncached(
    backend: tuple[str, XRepo[Doc], Any], redis_proxy: tuple[TcpProxy, str], unique_name: str
) -> None:
    _, inner, _ = backend
    proxy, url = redis_proxy
    cache = CacheManager.redis(
        url, namespace=f"down_{unique_name}", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    repo = SecureRepo(inner, acl=ACLPolicy(RULES), cache=cache)
    try:
        assert await repo.count(context=U1) == 5
        assert await repo.count(context=U1) == 5
        assert cache.stats().hits == 1
        await proxy.stop()
        hits = cache.stats().hits
        assert [d.id for d in await repo.list(context=U1, limit=None)] == [1, 3, 5, 7, 9]
        await inner.update(1, {"title": "changed behind the cache's back"})
        one = await repo.read(1, context=U1)
        assert one is not None
        assert one.title == "changed behind the cache's back"
        assert cache.stats().hits == hits
        assert cache.stats().errors > 0
        await repo.update(3, {"title": "written while redis is down"}, context=U1)
        await proxy.start()
        three = await repo.read(3, context=U1)
        assert three is not None
        assert three.title == "written while redis is down"
    finally:
        if proxy._server is None:
            await proxy.start()
        await cache.clear()
        await cache.close()


CHILD = textwrap.dedent(
    """
    import asyncio, sys, json
    sys.path.insert(0, {tests!r})
    from repo_backends import Doc
    from xrepo import XRepoFactory
    from xrepo.cache import CacheManager
    from xrepo.secure import SecureRepo
    from xresource import ResourceFactory

    async def main():
        db = ResourceFactory.from_url({url!r})
        await db.connect()
        inner = await XRepoFactory.create(resource=db, model_class=Doc, collection={table!r})
        cache = CacheManager.redis({redis!r}, namespace={ns!r})
        repo = SecureRepo(inner, cache=cache)
        before = (await repo.read(1)).title
        await repo.update(1, {{"title": "from the other process"}})
        print(json.dumps({{"before": before}}))
        await cache.close()
        await db.disconnect()

    asyncio.run(main())
    """
)


async def test_cache_coherence_between_two_processes(
    postgres_url: str, redis_url: str, tmp_path: Path, unique_name: str
) -> None:
    async with open_backend(
        "postgresql", name=unique_name, tmp_path=tmp_path, urls={"postgresql": postgres_url}
    ) as (inner, _, _):
        ns = f"coh_{unique_name}"
        cache = CacheManager.redis(redis_url, namespace=ns)
        repo = SecureRepo(inner, cache=cache)
        try:
            first = await repo.read(1)
            assert first is not None
            assert first.title == DOCS[0]["title"]
            assert (await repo.read(1)).title == DOCS[0]["title"]  # type: ignore[union-attr]
            hits = cache.stats().hits
            assert hits >= 1
            script = CHILD.format(
                tests=str(ROOT / "tests-integration"),
                url=postgres_url,
                table=unique_name,
                redis=redis_url,
                ns=ns,
            )
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            # The other process read through the same Redis entries.
            assert json.loads(done.stdout.strip().splitlines()[-1]) == {"before": "t1"}
            after = await repo.read(1)
            assert after is not None
            assert after.title == "from the other process"
        finally:
            await cache.clear()
            await cache.close()


class _JoinedSQLSink(SQLAuditSink):
    """The real SQL sink, noting whether each write joined the caller's transaction."""

    joined: list[bool]

    async def write(self, entries: Any, *, executor: Any = None) -> None:
        self.joined.append(executor is not None)
        await super().write(entries, executor=executor)


class _JoinedMongoSink(MongoAuditSink):
    joined: list[bool]

    async def write(self, entries: Any, *, session: Any = None) -> None:
        self.joined.append(session is not None)
        await super().write(entries, session=session)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql", "mongodb"])
async def test_write_and_entry_share_one_transaction(
    kind: str, tmp_path: Path, unique_name: str, request: pytest.FixtureRequest
) -> None:
    urls = backend_urls(request)
    async with open_backend(kind, name=unique_name, tmp_path=tmp_path, urls=urls) as (
        inner,
        _,
        resource,
    ):
        sink: Any
        if kind == "mongodb":
            sink = _JoinedMongoSink(resource, collection=f"{unique_name}_audit")
        else:
            sink = _JoinedSQLSink(resource, table=f"{unique_name}_audit")
        sink.joined = []
        repo = SecureRepo(inner, audit=AuditLogger(sink, policy="fail"))
        try:
            await repo.update(1, {"title": "together"})
            await repo.bulk_delete([2, 3], soft=False)
            await repo.create({"id": 70, "owner": "u1", "title": "new"})
            assert sink.joined == [True, True, True]
            log = await sink.get_audit_log({"repo": inner.name})
            assert sorted(e.action for e in log) == ["bulk_delete", "create", "update"]
            updated = await inner.read(1)
            assert updated is not None
            assert updated.title == "together"
        finally:
            await drop_sink(sink)
