"""Audited writes that fail midway (issue 16): a ``SecureRepo`` whose audit policy is ``"fail"``
runs its write and the audit entry in one transaction. A batch with one bad item must fail at
once, name that item, leave nothing written and leave one ``failure`` entry, on every backend,
exactly as the plain repository does.

The bug this keeps fixed: naming the bad item replayed the batch on a second connection while
the audited transaction still held its row locks, so MariaDB waited ``innodb_lock_wait_timeout``
(50 s) and SQLite its busy timeout (5 s), then named item 0 or none.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from repo_backends import (
    Doc,
    backend_and_resource,  # noqa: F401 (the backend fixture)
    drop_sink,
    sink_for,
)

from xrepo import RepoContext, XRepo, XRepoConflictError
from xrepo.audit import AuditLogger
from xrepo.secure import SecureRepo

ADMIN = RepoContext(user_id="root", roles=("admin",))
#: A deadline, not a benchmark: a lock wait (50 s on MariaDB) or a hang fails the test.
DEADLINE = 20.0


def batch_with_duplicate_at(position: int, size: int = 12) -> list[dict[str, Any]]:
    """``size`` new records; the one at ``position`` reuses id 3, which the seed holds."""
    items = [{"id": 200 + i, "owner": "u1", "title": f"neu-Ünïcode {i} "} for i in range(size)]
    items[position]["id"] = 3
    return items


@pytest.mark.parametrize("policy", ["fail", "buffer"])
async def test_bulk_create_with_one_duplicate_names_it_and_writes_nothing(
    backend: tuple[str, XRepo[Doc], Any], tmp_path: Path, unique_name: str, policy: str
) -> None:
    kind, inner, resource = backend
    sink = sink_for(kind, resource, tmp_path, unique_name)
    repo = SecureRepo(inner, audit=AuditLogger(sink, policy=policy))  # type: ignore[arg-type]
    try:
        before = await inner.count()
        with pytest.raises(XRepoConflictError) as caught:
            await asyncio.wait_for(
                repo.bulk_create(batch_with_duplicate_at(7), context=ADMIN), DEADLINE
            )
        assert caught.value.item == 7, str(caught.value)
        # The plain repository gives the same answer for the same batch.
        with pytest.raises(XRepoConflictError) as plain:
            await asyncio.wait_for(inner.bulk_create(batch_with_duplicate_at(7)), DEADLINE)
        assert plain.value.item == 7
        assert await inner.count() == before
        assert await inner.list({"id__gte": 200}) == []
        # The transaction is usable afterwards: the same batch without the duplicate goes in.
        fixed = batch_with_duplicate_at(7)
        fixed[7]["id"] = 299
        made = await asyncio.wait_for(repo.bulk_create(fixed, context=ADMIN), DEADLINE)
        assert len(made) == 12
        assert await inner.count() == before + 12
        log = await repo.get_audit_log(limit=10, context=ADMIN)
        assert [(e.action, e.outcome) for e in reversed(log)] == [
            ("bulk_create", "failure"),
            ("bulk_create", "success"),
        ]
    finally:
        await drop_sink(sink)


async def test_duplicate_first_and_last_items_are_named(
    backend: tuple[str, XRepo[Doc], Any], tmp_path: Path, unique_name: str
) -> None:
    kind, inner, resource = backend
    sink = sink_for(kind, resource, tmp_path, unique_name)
    repo = SecureRepo(inner, audit=AuditLogger(sink, policy="fail"))  # type: ignore[arg-type]
    try:
        for position in (0, 11):
            with pytest.raises(XRepoConflictError) as caught:
                await asyncio.wait_for(
                    repo.bulk_create(batch_with_duplicate_at(position), context=ADMIN), DEADLINE
                )
            assert caught.value.item == position
        assert await inner.list({"id__gte": 200}) == []
    finally:
        await drop_sink(sink)
