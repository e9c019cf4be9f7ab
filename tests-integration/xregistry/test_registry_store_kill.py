"""``xregistry serve`` killed (SIGKILL) while clients keep registering model versions, on its
SQLite store and on PostgreSQL: every acknowledged version is in the store, nothing is
half-written (the store read with the raw driver as the oracle), and a restarted server serves
the history and accepts the next version."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from registry_server import Served, start_serve, stop_serve
from registry_store_helpers import call, settings_file, wait_for

from xregistry.models import fingerprint

WRITERS = 6
ACKED_BEFORE_KILL = 40
TABLES = ("state", "models", "versions", "changes", "enrichment", "catalog", "audit", "migrations")


def schema(step: int) -> dict[str, Any]:
    """Version ``step`` of a model: one more optional field each time (backward compatible)."""
    properties: dict[str, Any] = {"id": {"type": "integer"}, "name": {"type": "string"}}
    for k in range(step):
        properties[f"feld_{k}_ß"] = {"type": "string", "default": ""}
    return {"type": "object", "properties": properties, "required": ["id"]}


def writer(served: Served, model: str, acked: list[tuple[str, str]], stop: threading.Event) -> None:
    step = 0
    while not stop.is_set():
        try:
            status, body = call(
                served, "POST", "/api/registry/models", {"name": model, "schema": schema(step)}
            )
        except OSError:
            return  # the server is gone
        if status == 201:
            acked.append((model, body["version"]))
        step += 1


@dataclass
class Snapshot:
    """What the store holds, read with the raw driver."""

    versions: list[tuple[Any, ...]]  # model, version, seq, fingerprint, fields, changes, revision
    current: dict[str, str]
    notices: set[tuple[int, str, str]]
    revision: int
    audited: list[tuple[str, str]]


QUERIES = {
    "versions": "SELECT model, version, seq, fingerprint, fields_schema, changes, revision "
    "FROM {p}versions ORDER BY model, seq",
    "current": "SELECT name, current_version FROM {p}models",
    "notices": "SELECT revision, kind, name FROM {p}changes",
    "revision": "SELECT revision FROM {p}state",
    "audited": "SELECT name, event FROM {p}audit "
    "WHERE kind = 'model' AND event LIKE '%fingerprint%'",
}


def snapshot(rows: dict[str, list[tuple[Any, ...]]]) -> Snapshot:
    return Snapshot(
        versions=rows["versions"],
        current=dict(rows["current"]),  # type: ignore[arg-type]
        notices={(int(r), k, n) for r, k, n in rows["notices"]},
        revision=int(rows["revision"][0][0]),
        audited=rows["audited"],  # type: ignore[arg-type]
    )


def read_sqlite(path: Path) -> Snapshot:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return snapshot(
            {k: db.execute(q.format(p="xregistry_")).fetchall() for k, q in QUERIES.items()}
        )


def read_postgres(url: str, prefix: str) -> Snapshot:
    async def run() -> Snapshot:
        conn = await asyncpg.connect(url)
        try:
            rows = {
                k: [tuple(r) for r in await conn.fetch(q.format(p=prefix))]
                for k, q in QUERIES.items()
            }
        finally:
            await conn.close()
        return snapshot(rows)

    return asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> Iterator[tuple[Path, Any]]:
    """The settings file and a reader of the store it names."""
    if request.param == "sqlite":
        yield settings_file(tmp_path), lambda: read_sqlite(tmp_path / "data" / "registry.db")
        return
    url = request.getfixturevalue("postgres_url")
    prefix = f"{unique_name}_"
    yield settings_file(tmp_path, store_url=url, prefix=prefix), lambda: read_postgres(url, prefix)

    async def drop() -> None:
        conn = await asyncpg.connect(url)
        try:
            for table in TABLES:
                await conn.execute(f'DROP TABLE IF EXISTS "{prefix}{table}"')
        finally:
            await conn.close()

    asyncio.run(drop())


def test_a_killed_server_loses_no_acknowledged_version(
    store: tuple[Path, Any], tmp_path: Path
) -> None:
    settings, read = store
    data = tmp_path / "data"
    served = start_serve("--config", str(settings), "--data-dir", str(data))
    acked: list[tuple[str, str]] = []
    stop = threading.Event()
    models = [f"modell_ä{i}" for i in range(WRITERS)]
    with ThreadPoolExecutor(WRITERS) as pool:
        for model in models:
            pool.submit(writer, served, model, acked, stop)
        try:
            wait_for(
                lambda: len(acked) >= ACKED_BEFORE_KILL, timeout=120, what="acknowledged writes"
            )
        finally:
            # While the writers are still sending: no warning, no shutdown, no flush.
            os.killpg(served.process.pid, signal.SIGKILL)
            served.process.wait()
            stop.set()
    assert served.process.returncode == -signal.SIGKILL
    acknowledged = list(acked)

    found = read()
    stored = {(m, v) for m, v, *_ in found.versions}
    missing = [a for a in acknowledged if a not in stored]
    assert missing == [], f"acknowledged but lost: {missing}"
    by_model: dict[str, list[tuple[Any, ...]]] = {}
    for row in found.versions:
        by_model.setdefault(row[0], []).append(row)
    assert set(by_model) == set(found.current)
    for model, versions in by_model.items():
        assert [r[2] for r in versions] == list(range(1, len(versions) + 1))
        numbers = [tuple(int(p) for p in r[1].split(".")) for r in versions]
        assert numbers == sorted(set(numbers))
        assert found.current[model] == versions[-1][1]
        for _, version, _, fp, fields, changes, revision in versions:
            assert fingerprint(json.loads(fields)) == fp, (model, version)
            assert isinstance(json.loads(changes), list)
            assert (int(revision), "version", model) in found.notices
            assert any(
                name == model and f'"version":"{version}"' in event for name, event in found.audited
            ), (model, version)
    assert found.revision == max(r for r, _, _ in found.notices)

    # Restarted on the same store: the history is served and the next version accepted.
    again = start_serve("--config", str(settings), "--data-dir", str(data))
    try:
        for model in models:
            status, body = call(again, "GET", f"/api/registry/models/{model}/versions")
            assert status == 200, body
            served_versions = [v["version"] for v in body["versions"]]
            assert served_versions == [r[1] for r in by_model[model]]
            assert body["current"] == served_versions[-1]
        step = len(by_model[models[0]]) + 5
        status, body = call(
            again, "POST", "/api/registry/models", {"name": models[0], "schema": schema(step)}
        )
        assert status == 201, body
    finally:
        rest = stop_serve(again)
    assert "Traceback" not in rest, rest
