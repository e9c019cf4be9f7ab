"""``xregistry serve`` killed (SIGKILL) while clients keep registering model versions: every
acknowledged version is in the store, nothing is half-written (read with sqlite3 as the
oracle), and a restarted server serves the history and accepts the next version."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from registry_server import Served, start_serve, stop_serve
from registry_store_helpers import call, settings_file, wait_for

from xregistry.models import fingerprint

WRITERS = 6
ACKED_BEFORE_KILL = 40


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


def test_a_killed_server_loses_no_acknowledged_version(tmp_path: Path) -> None:
    settings = settings_file(tmp_path)
    data = tmp_path / "data"
    served = start_serve("--config", str(settings), "--data-dir", str(data))
    acked: list[tuple[str, str]] = []
    stop = threading.Event()
    models = [f"modell_{i}" for i in range(WRITERS)]
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

    with sqlite3.connect(data / "registry.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute(
            "SELECT model, version, seq, fingerprint, fields_schema, changes, revision "
            "FROM xregistry_versions ORDER BY model, seq"
        ).fetchall()
        current = dict(db.execute("SELECT name, current_version FROM xregistry_models"))
        notices = {
            (r, k, n)
            for r, k, n in db.execute("SELECT revision, kind, name FROM xregistry_changes")
        }
        state = db.execute("SELECT revision FROM xregistry_state").fetchone()[0]
        audited = db.execute(
            "SELECT name, event FROM xregistry_audit "
            "WHERE kind = 'model' AND event LIKE '%fingerprint%'"
        ).fetchall()

    stored = {(m, v) for m, v, *_ in rows}
    missing = [a for a in acknowledged if a not in stored]
    assert missing == [], f"acknowledged but lost: {missing}"
    by_model: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_model.setdefault(row[0], []).append(row)
    assert set(by_model) == set(current)
    for model, versions in by_model.items():
        assert [r[2] for r in versions] == list(range(1, len(versions) + 1))
        numbers = [tuple(int(p) for p in r[1].split(".")) for r in versions]
        assert numbers == sorted(set(numbers))
        assert current[model] == versions[-1][1]
        for _, version, _, fp, fields, changes, revision in versions:
            assert fingerprint(json.loads(fields)) == fp, (model, version)
            assert isinstance(json.loads(changes), list)
            assert (revision, "version", model) in notices
            assert any(
                name == model and f'"version":"{version}"' in event for name, event in audited
            ), (model, version)
    assert state == max(r for r, _, _ in notices)

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
