"""Audit sinks without a server: memory, JSON Lines file (torn writes, crashes, rotation) and
the SQL sink on SQLite (transactions, hostile names and values)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from xrepo.audit import (
    AuditEntry,
    AuditSink,
    JSONLinesAuditSink,
    MemoryAuditSink,
    SQLAuditSink,
    XRepoAuditError,
    timestamp_us,
)
from xrepo.audit import _jsonl as jsonl_module  # faults injected into the sink's file writes
from xrepo.errors import XRepoValidationError

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def make_entries(n: int = 6) -> list[AuditEntry]:
    """create/update/delete by u1/u2 on users/orders, one second apart."""
    actions = ["create", "update", "delete"]
    return [
        AuditEntry.for_operation(
            actions[i % 3],
            user_id=f"u{i % 2 + 1}",
            roles=("editor",),
            repo="users" if i < 4 else "orders",
            entity="User" if i < 4 else "Order",
            entity_id=i,
            timestamp=T0 + dt.timedelta(seconds=i),
            before={"n": i} if i % 3 else None,
            after={"n": i + 1, "password": "hunter2"},
        )
        for i in range(n)
    ]


async def check_queries(sink: AuditSink) -> None:
    """The filter behaviour every sink must share."""
    entries = make_entries()
    await sink.write(entries[:3])
    await sink.write(entries[3:])
    everything = await sink.get_audit_log()
    assert [e.entity_id for e in everything] == ["5", "4", "3", "2", "1", "0"]
    assert everything[0] == entries[5]  # exact round trip, microseconds included
    assert [e.entity_id for e in await sink.get_audit_log({"user_id": "u1"})] == ["4", "2", "0"]
    by_action = await sink.get_audit_log({"action": ["update", "delete"], "repo": "users"})
    assert [e.entity_id for e in by_action] == ["2", "1"]
    assert [e.entity_id for e in await sink.get_audit_log({"entity": "Order"})] == ["5", "4"]
    assert [e.entity_id for e in await sink.get_audit_log({"entity_id": 3})] == ["3"]
    span = {"since": T0 + dt.timedelta(seconds=1), "until": T0 + dt.timedelta(seconds=3)}
    assert [e.entity_id for e in await sink.get_audit_log(span)] == ["2", "1"]
    assert [e.entity_id for e in await sink.get_audit_log(limit=2)] == ["5", "4"]
    assert await sink.get_audit_log({"user_id": "' OR 1=1 --"}) == []
    assert await sink.get_audit_log({"outcome": "failure"}) == []
    with pytest.raises(XRepoValidationError):
        await sink.get_audit_log({"nope": 1})
    assert all("hunter2" not in e.model_dump_json() for e in everything)


# -- memory ------------------------------------------------------------------------------------
async def test_memory_sink_queries() -> None:
    await check_queries(MemoryAuditSink())


async def test_memory_sink_is_bounded() -> None:
    sink = MemoryAuditSink(max_entries=4)
    await sink.write(make_entries(6))
    assert len(sink) == 4
    assert sink.dropped == 2
    assert [e.entity_id for e in await sink.get_audit_log()] == ["5", "4", "3", "2"]
    with pytest.raises(XRepoAuditError):
        MemoryAuditSink(0)
    with pytest.raises(XRepoAuditError, match="AuditEntry"):
        await sink.write([{"action": "read"}])  # type: ignore[list-item]


# -- JSON Lines --------------------------------------------------------------------------------
@pytest.fixture
async def jsonl(tmp_path: Path) -> AsyncIterator[JSONLinesAuditSink]:
    sink = JSONLinesAuditSink(tmp_path / "audit.jsonl")
    yield sink
    await sink.close()


async def test_jsonl_sink_queries(jsonl: JSONLinesAuditSink) -> None:
    await check_queries(jsonl)


async def test_jsonl_file_holds_one_json_entry_per_line(jsonl: JSONLinesAuditSink) -> None:
    await jsonl.write(make_entries(3))
    raw = jsonl.path.read_bytes()
    lines = raw.split(b"\n")
    assert lines[-1] == b""
    # The record's names (xobj_prototype.AuditRecord): one shape for every sink and reader.
    assert [json.loads(line)["target_id"] for line in lines[:-1]] == ["0", "1", "2"]
    assert stat.S_IMODE(os.stat(jsonl.path).st_mode) == 0o600


async def test_a_failed_write_leaves_complete_lines_only(
    jsonl: JSONLinesAuditSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_entries(2)
    await jsonl.write(first)
    size = jsonl.path.stat().st_size

    def torn(fd: int, data: bytes) -> None:  # the disk fills up half-way through the batch
        os.write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jsonl_module, "_write_all", torn)
    with pytest.raises(XRepoAuditError, match="No space left"):
        await jsonl.write(make_entries(5)[2:])
    assert jsonl.path.stat().st_size == size
    assert jsonl.path.read_bytes().endswith(b"\n")
    monkeypatch.undo()
    later = make_entries(3)[2:]
    await jsonl.write(later)
    assert [e.entity_id for e in await jsonl.get_audit_log()] == ["2", "1", "0"]
    assert jsonl.skipped_lines == 0


async def test_a_crash_mid_line_is_skipped_then_cut(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    entries = make_entries(3)
    path.write_bytes(
        b"".join(e.model_dump_json().encode() + b"\n" for e in entries[:2])
        + entries[2].model_dump_json().encode()[:40]  # kill -9 during the third line
    )
    reader = JSONLinesAuditSink(path)
    assert [e.entity_id for e in await reader.get_audit_log()] == ["1", "0"]
    assert reader.skipped_lines == 1
    await reader.write([entries[2]])  # the torn tail is cut before appending
    await reader.close()
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3
    assert all(json.loads(line) for line in lines)
    again = JSONLinesAuditSink(path)
    assert [e.entity_id for e in await again.get_audit_log()] == ["2", "1", "0"]
    assert again.skipped_lines == 0


async def test_foreign_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    good = make_entries(1)[0]
    path.write_bytes(
        b'not json\n{"action": "bad action!"}\n' + good.model_dump_json().encode() + b"\n"
    )
    sink = JSONLinesAuditSink(path)
    assert await sink.get_audit_log() == [good]
    assert sink.skipped_lines == 2


async def test_jsonl_lines_of_the_previous_layout_still_read_back(
    tmp_path: Path, legacy_audit_payload: str
) -> None:
    # A file written before AuditEntry became an AuditRecord (user_id, repo, entity, entity_id,
    # metadata), then appended to by this version: one query reads both.
    path = tmp_path / "audit.jsonl"
    path.write_bytes(legacy_audit_payload.encode() + b"\n")
    sink = JSONLinesAuditSink(path)
    newer = make_entries(6)[5]  # one second later than T0 + 4s; the legacy line is at T0
    await sink.write([newer])
    both = await sink.get_audit_log()
    await sink.close()
    assert sink.skipped_lines == 0
    assert [e.entity_id for e in both] == ["5", "7"]
    legacy = both[1]
    assert (legacy.user_id, legacy.repo, legacy.entity, legacy.metadata) == (
        "u1",
        "users",
        "User",
        {"via": "api"},
    )
    assert [e.entity_id for e in await sink.get_audit_log({"repo": "users"})] == ["7"]
    assert [e.entity_id for e in await sink.get_audit_log({"target_kind": "Order"})] == ["5"]


def uniform(n: int) -> list[AuditEntry]:
    """Entries whose JSON lines all have the same length."""
    return [
        AuditEntry(
            id=f"{i:032x}", action="read", entity_id=i, timestamp=T0 + dt.timedelta(seconds=i)
        )
        for i in range(n)
    ]


async def test_rotation_by_size_keeps_backups_and_queries_them(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    line = len(uniform(1)[0].model_dump_json()) + 1
    sink = JSONLinesAuditSink(path, max_bytes=2 * line, backups=2, fsync="never")
    for entry in uniform(6):
        await sink.write([entry])
    await sink.close()
    files = sorted(os.listdir(tmp_path))
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    assert [os.stat(tmp_path / f).st_size for f in files] == [2 * line] * 3
    # Six entries, two per file, three files: nothing dropped yet.
    assert [e.entity_id for e in await sink.get_audit_log()] == ["5", "4", "3", "2", "1", "0"]
    reopened = JSONLinesAuditSink(path, max_bytes=2 * line, backups=2)
    await reopened.write(uniform(7)[6:])
    await reopened.close()
    # The oldest backup went: entries 0 and 1.
    assert [e.entity_id for e in await reopened.get_audit_log()] == ["6", "5", "4", "3", "2"]


async def test_rotation_without_backups_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    line = len(uniform(1)[0].model_dump_json()) + 1
    sink = JSONLinesAuditSink(path, max_bytes=line, backups=0)
    for entry in uniform(3):
        await sink.write([entry])
    await sink.close()
    assert os.listdir(tmp_path) == ["audit.jsonl"]
    assert [e.entity_id for e in await sink.get_audit_log()] == ["2"]


@pytest.mark.parametrize(("policy", "expected"), [("always", 3), ("never", 0)])
async def test_fsync_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: Any, expected: int
) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(jsonl_module.os, "fsync", lambda fd: calls.append(fd) or real(fd))
    sink = JSONLinesAuditSink(tmp_path / "a.jsonl", fsync=policy)
    for entry in make_entries(3):
        await sink.write([entry])
    assert len(calls) == expected
    await sink.close()


async def test_fsync_interval_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    calls: list[int] = []
    monkeypatch.setattr(jsonl_module.os, "fsync", calls.append)
    sink = JSONLinesAuditSink(
        tmp_path / "a.jsonl", fsync="interval", fsync_interval=5, clock=lambda: now[0]
    )
    for step in (0, 1, 1, 5):
        now[0] += step
        await sink.write(make_entries(1))
    assert len(calls) == 2  # at 100 and at 107; not at 101 or 102
    await sink.close()
    assert len(calls) == 3  # and on close


async def test_jsonl_bad_configuration_and_paths(tmp_path: Path) -> None:
    with pytest.raises(XRepoAuditError, match="fsync"):
        JSONLinesAuditSink(tmp_path / "a", fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(XRepoAuditError, match="max_bytes"):
        JSONLinesAuditSink(tmp_path / "a", max_bytes=0)
    with pytest.raises(XRepoAuditError, match="backups"):
        JSONLinesAuditSink(tmp_path / "a", backups=-1)
    missing_dir = JSONLinesAuditSink(tmp_path / "no" / "such" / "dir.jsonl")
    with pytest.raises(XRepoAuditError, match="cannot append"):
        await missing_dir.write(make_entries(1))
    assert await missing_dir.get_audit_log() == []


# -- SQL on SQLite -----------------------------------------------------------------------------
@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Any]:
    pytest.importorskip(
        "aiosqlite", reason="the SQLite sink tests need aiosqlite (xresource[sqlite])"
    )
    from xresource import SQLiteResource

    async with SQLiteResource(path=str(tmp_path / "audit.db")) as db:
        yield db


async def test_sql_sink_queries_on_sqlite(sqlite: Any) -> None:
    await check_queries(SQLAuditSink(sqlite))


async def test_sql_rows_of_the_previous_layout_still_read_back(
    sqlite: Any, legacy_audit_payload: str
) -> None:
    # The table keeps its columns (user_id, repo, entity, entity_id); a row whose payload holds
    # the previous entry layout is found by those columns and reads back as an entry.
    sink = SQLAuditSink(sqlite, table="audit_legacy")
    await sink.ensure_table()
    await sqlite.execute(
        'INSERT INTO "audit_legacy" ("id", "ts_us", "user_id", "action", "repo", "entity", '
        '"entity_id", "outcome", "payload") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
            "0123456789abcdef0123456789abcdef",
            timestamp_us(T0),
            "u1",
            "update",
            "users",
            "User",
            "7",
            "success",
            legacy_audit_payload,
        ],
    )
    await sink.write(make_entries(2)[1:])
    assert [e.entity_id for e in await sink.get_audit_log()] == ["1", "7"]
    (legacy,) = await sink.get_audit_log({"principal_id": "u1", "entity_id": 7})
    assert (legacy.repo, legacy.entity, legacy.metadata) == ("users", "User", {"via": "api"})
    assert legacy.id == "0123456789abcdef0123456789abcdef"


async def test_sql_sink_joins_the_callers_transaction(sqlite: Any) -> None:
    sink = SQLAuditSink(sqlite, table="audit_tx")
    await sink.ensure_table()
    await sqlite.execute('CREATE TABLE "items" ("id" INTEGER PRIMARY KEY, "name" TEXT)')
    committed, rolled_back = make_entries(2)
    async with sqlite.transaction() as tx:
        await tx.execute('INSERT INTO "items" VALUES (1, ?)', ["kept"])
        await sink.write([committed], executor=tx)

    async def fails_after_auditing() -> None:
        async with sqlite.transaction() as tx:
            await tx.execute('INSERT INTO "items" VALUES (2, ?)', ["lost"])
            await sink.write([rolled_back], executor=tx)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fails_after_auditing()
    assert await sink.get_audit_log() == [committed]
    assert await sqlite.fetch_value('SELECT count(*) FROM "items"') == 1


async def test_sql_sink_batch_is_all_or_nothing(sqlite: Any) -> None:
    sink = SQLAuditSink(sqlite)
    first = make_entries(1)
    await sink.write(first)
    with pytest.raises(Exception, match=r"(?i)unique|constraint|integrity"):
        await sink.write([*make_entries(3)[1:], first[0]])  # the duplicate id fails the batch
    assert await sink.get_audit_log() == first


async def test_sql_sink_hostile_table_name_is_quoted(sqlite: Any) -> None:
    name = 'audit"; DROP TABLE x; --'
    sink = SQLAuditSink(sqlite, table=name)
    await sink.write(make_entries(1))
    assert len(await sink.get_audit_log()) == 1
    assert name in await sqlite.list_collections_or_tables()
    with pytest.raises(XRepoAuditError, match="table name"):
        SQLAuditSink(sqlite, table="bad\x00name")
    with pytest.raises(XRepoAuditError, match="SQL database"):
        SQLAuditSink(object())  # type: ignore[arg-type]
    await sink.drop_table()
    assert name not in await sqlite.list_collections_or_tables()


async def test_sql_sink_first_use_inside_a_rolled_back_transaction(sqlite: Any) -> None:
    sink = SQLAuditSink(sqlite, table="audit_first")
    entry = make_entries(1)[0]

    async def fail_after_audit() -> None:
        async with sqlite.transaction() as tx:
            await sink.write([entry], executor=tx)  # creates the table inside the transaction
            raise RuntimeError("the audited operation failed")

    with pytest.raises(RuntimeError):
        await fail_after_audit()
    assert "audit_first" not in await sqlite.list_collections_or_tables()
    assert await sink.get_audit_log() == []
    await sink.write([entry])
    assert await sink.get_audit_log() == [entry]


async def test_jsonl_file_work_runs_off_the_event_loop(
    jsonl: JSONLinesAuditSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = jsonl_module._write_all

    def spy(fd: int, data: bytes) -> None:
        threads.append(threading.current_thread())
        real(fd, data)

    monkeypatch.setattr(jsonl_module, "_write_all", spy)
    await jsonl.write(make_entries(1))
    assert threads
    assert threads[0] is not threading.main_thread()
