"""A registry that remembers: ``xregistry serve`` with its default SQLite store is registered,
restarted, its source table altered and restarted again; the API shows the versions, the diffs,
the breaking change flagged under ``backward``, re-discovery without conflicts, and the store
itself (read directly, as the oracle) holds the versions and their audit entries."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from registry_server import Served, start_serve, stop_serve
from registry_store_helpers import call, settings_file, wait_for

TABLE = "commandes"
COLUMN = "client_名"  # a non-ASCII column name survives the store's JSON round trip


def _source(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            f'CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, "{COLUMN}" TEXT NOT NULL, '
            "status TEXT, amount NUMERIC)"
        )
        db.executemany(
            f'INSERT INTO {TABLE} (id, "{COLUMN}", status, amount) VALUES (?, ?, ?, ?)',
            [
                (1, "Zoë ✓", "open", 12),
                (2, "", None, 0.5),
                (3, "  spaced  ", "closed", 10**15),
                (4, "naïve\ttab", "open", None),
            ],
        )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    _source(tmp_path / "source.db")
    return tmp_path


class Serving:
    """Start and stop ``xregistry serve`` on one data directory, one at a time."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.settings = settings_file(workdir, resources=[f"sqlite:///{workdir / 'source.db'}"])
        self.current: Served | None = None

    def start(self) -> Served:
        self.current = start_serve(
            "--config", str(self.settings), "--data-dir", str(self.workdir / "data")
        )
        return self.current

    def stop(self) -> None:
        served, self.current = self.current, None
        if served is not None:
            rest = stop_serve(served)
            assert "Traceback" not in rest, rest
            assert served.process.returncode == 0, rest


@pytest.fixture
def serving(workdir: Path) -> Iterator[Serving]:
    runs = Serving(workdir)
    yield runs
    runs.stop()


def versions(served: Served) -> dict[str, Any]:
    status, body = call(served, "GET", f"/api/registry/models/{TABLE}/versions")
    assert status == 200, body
    return body


def test_versions_survive_restarts_and_drift_becomes_the_next_version(
    serving: Serving, workdir: Path
) -> None:
    served = serving.start()
    first = versions(served)
    assert first["current"] == "1.0.0"
    assert [(v["version"], v["source"]) for v in first["versions"]] == [("1.0.0", "discovery")]
    assert first["compatibility"] == "backward"
    fingerprint = first["versions"][0]["fingerprint"]
    serving.stop()

    # A restart with the same table: the same single version, not a fresh 1.0.0 history.
    served = serving.start()
    again = versions(served)
    assert [v["version"] for v in again["versions"]] == ["1.0.0"]
    assert again["versions"][0]["fingerprint"] == fingerprint
    assert again["versions"][0]["created_at"] == first["versions"][0]["created_at"]
    serving.stop()

    with sqlite3.connect(workdir / "source.db") as db:
        db.execute(f"ALTER TABLE {TABLE} ADD COLUMN note TEXT")
    served = serving.start()
    drifted = versions(served)
    assert drifted["current"] == "1.1.0"
    assert [(v["version"], v["source"]) for v in drifted["versions"]] == [
        ("1.0.0", "discovery"),
        ("1.1.0", "drift"),
    ]
    newest = drifted["versions"][-1]
    assert (newest["change_count"], newest["compatible"], newest["breaking"]) == (1, True, [])
    status, diff = call(served, "GET", f"/api/registry/models/{TABLE}/versions/1.0.0/diff/1.1.0")
    assert status == 200, diff
    assert [(c["kind"], c["field"], c["breaks"]) for c in diff["changes"]] == [
        ("added", "note", [])
    ]
    assert diff["compatible"] is True
    status, detail = call(served, "GET", f"/api/registry/models/{TABLE}/versions/1.1.0")
    assert status == 200
    assert "note" in detail["schema"]["properties"]
    assert COLUMN in detail["fields"]
    status, old = call(served, "GET", f"/api/registry/models/{TABLE}/versions/1.0.0")
    assert "note" not in old["schema"]["properties"]
    status, model = call(served, "GET", f"/api/registry/models/{TABLE}")
    assert model["version"] == "1.1.0"

    # Discovering the served resource again conflicts with nothing and changes nothing.
    status, resources = call(served, "GET", "/api/discovery/resources")
    name = resources[0]["name"]
    status, started = call(served, "POST", f"/api/discovery/resources/{name}/discover")
    assert status == 202, started
    done = wait_for(
        lambda: (
            (s := call(served, "GET", f"/api/discovery/resources/{name}/discover")[1])
            and s["state"] != "running"
            and s
        ),
        what="the re-discovery",
    )
    assert (done["state"], done["failed"], done["unchanged"]) == ("done", {}, [TABLE])
    assert [v["version"] for v in versions(served)["versions"]] == ["1.0.0", "1.1.0"]

    # A nullable column becoming NOT NULL breaks backward: a new version, flagged.
    with sqlite3.connect(workdir / "source.db") as db:
        db.executescript(
            f"""
            UPDATE {TABLE} SET status = '' WHERE status IS NULL;
            CREATE TABLE fresh (id INTEGER PRIMARY KEY, "{COLUMN}" TEXT NOT NULL,
                                status TEXT NOT NULL, amount NUMERIC, note TEXT);
            INSERT INTO fresh SELECT id, "{COLUMN}", status, amount, note FROM {TABLE};
            DROP TABLE {TABLE};
            ALTER TABLE fresh RENAME TO {TABLE};
            """
        )
    status, refreshed = call(served, "POST", f"/api/enrichment/refresh/{TABLE}")
    assert status == 200, refreshed
    broken = versions(served)
    assert [v["version"] for v in broken["versions"]] == ["1.0.0", "1.1.0", "2.0.0"]
    flagged = broken["versions"][-1]
    assert flagged["compatible"] is False
    assert [(c["kind"], c["field"]) for c in flagged["breaking"]] == [("nullability", "status")]
    assert "backward" in flagged["breaking"][0]["breaks"]
    status, diff = call(served, "GET", f"/api/registry/models/{TABLE}/versions/1.0.0/diff/2.0.0")
    assert diff["compatible"] is False
    assert {c["field"] for c in diff["changes"]} == {"note", "status"}
    assert [c["field"] for c in diff["breaking"]] == ["status"]
    # The same two versions the other way round: the flags follow the direction asked.
    status, back = call(served, "GET", f"/api/registry/models/{TABLE}/versions/2.0.0/diff/1.1.0")
    assert back["compatible"] is True
    assert [(c["kind"], c["field"], c["breaks"]) for c in back["changes"]] == [
        ("nullability", "status", ["forward", "full"])
    ]
    serving.stop()

    # The store itself: three versions in order, each audited, the counter past every write.
    with sqlite3.connect(workdir / "data" / "registry.db") as db:
        rows = db.execute(
            "SELECT version, source, seq FROM xregistry_versions WHERE model = ? ORDER BY seq",
            (TABLE,),
        ).fetchall()
        audited = db.execute(
            "SELECT action, event FROM xregistry_audit WHERE kind = 'model' AND name = ? "
            "AND event LIKE '%fingerprint%' ORDER BY id",
            (TABLE,),
        ).fetchall()
        revision = db.execute("SELECT revision FROM xregistry_state").fetchone()[0]
        newest_change = db.execute("SELECT MAX(revision) FROM xregistry_changes").fetchone()[0]
    assert rows == [("1.0.0", "discovery", 1), ("1.1.0", "drift", 2), ("2.0.0", "drift", 3)]
    assert [a for a, _ in audited] == ["register", "update", "update"]
    assert '"2.0.0"' in audited[-1][1]
    assert '"status"' in audited[-1][1]
    assert revision == newest_change

    # Restarting on the breaking version: nothing new, the flags are still there.
    served = serving.start()
    final = versions(served)
    assert final["current"] == "2.0.0"
    assert len(final["versions"]) == 3
    assert final["versions"][-1]["compatible"] is False


def test_unknown_versions_and_models_are_404_naming_them(serving: Serving) -> None:
    served = serving.start()
    status, body = call(served, "GET", f"/api/registry/models/{TABLE}/versions/9.9.9")
    assert status == 404
    assert "9.9.9" in body["error"]["message"]
    assert TABLE in body["error"]["message"]
    status, body = call(served, "GET", f"/api/registry/models/{TABLE}/versions/1.0.0/diff/3.0.0")
    assert status == 404
    assert "3.0.0" in body["error"]["message"]
    status, body = call(served, "GET", f"/api/registry/models/{quote('nowhere_ü')}/versions")
    assert status == 404
    assert "nowhere_ü" in body["error"]["message"]
    status, body = call(served, "GET", f"/api/registry/models/{TABLE}/versions/1.0")
    assert status == 422  # not MAJOR.MINOR.PATCH


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        ("postgresql://registry:s3cret-pw@127.0.0.1:1/registry", "cannot reach the server"),
        ("sqlite:////nonexistent-dir-ü/registry.db", "does not exist"),
        ("mongodb://127.0.0.1:27017/registry", "SQL database"),
    ],
)
def test_a_store_that_cannot_serve_stops_serve_clearly(
    store: str, expected: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xregistry.cli", "serve", "--port", "0", "--store", store,
         "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected in done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "URL:" not in done.stdout  # it never started serving
