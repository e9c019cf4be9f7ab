"""The registry store on SQLite files: migrations, versions written by a plan inside one
transaction, the revision counter and change log, audit, enrichment and catalog, bad input."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from xobj_prototype import XError
from xregistry.errors import RegistryValidationError
from xregistry.models import fingerprint
from xregistry.store import MIGRATIONS, RegistryStore, StoredModel, StoredVersion


def version(number: str, fields: dict[str, Any] | None = None, **extra: Any) -> StoredVersion:
    schema = {"fields": fields or {"id": {"type": "int"}}}
    return StoredVersion(
        model="m", version=number, fingerprint=fingerprint(schema), fields_schema=schema, **extra
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RegistryStore]:
    opened = RegistryStore.from_url(f"sqlite:///{tmp_path / 'registry.db'}", prefix="t_")
    await opened.open()
    yield opened
    await opened.close()


async def test_migrations_run_once_and_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    store = RegistryStore.from_url(f"sqlite:///{path}", prefix="t_")
    await store.open()
    assert await store.schema_version() == MIGRATIONS[-1].number
    assert await store.migrate() == []  # nothing left to do
    await store.close()
    again = RegistryStore.from_url(f"sqlite:///{path}", prefix="t_")
    await again.open()
    assert await again.schema_version() == MIGRATIONS[-1].number
    await again.close()
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT version, description FROM t_migrations ORDER BY version"
        ).fetchall()
    assert [r[0] for r in rows] == [m.number for m in MIGRATIONS]
    assert all(r[1] for r in rows)


async def test_a_store_from_a_newer_xregistry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    store = RegistryStore.from_url(f"sqlite:///{path}", prefix="t_")
    await store.open()
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO t_migrations VALUES (999, 'from the future', '2030-01-01')")
    newer = RegistryStore.from_url(f"sqlite:///{path}", prefix="t_")
    with pytest.raises(XError, match="schema version 999"):
        await newer.open()
    await newer.close()


async def test_two_prefixes_share_one_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = (
        RegistryStore.from_url(url, prefix="a_"),
        RegistryStore.from_url(url, prefix="b_"),
    )
    await first.open()
    await second.open()
    await first.append_version("m", lambda latest, row: version("1.0.0"))
    assert [v.version for v in await first.history("m")] == ["1.0.0"]
    assert await second.history("m") == []
    assert await second.revision() == 0
    await first.close()
    await second.close()


async def test_a_plan_appends_a_version_with_its_model_row_and_notice(store: RegistryStore) -> None:
    seen: list[tuple[StoredVersion | None, StoredModel | None]] = []

    def first(latest: StoredVersion | None, row: StoredModel | None) -> StoredVersion:
        seen.append((latest, row))
        return version("1.0.0", source="api")

    stored, appended = await store.append_version(
        "m", first, metadata={"namespace": "shop", "description": "Zoë's ✓ model"}
    )
    assert appended
    assert stored is not None
    assert (stored.version, stored.source, stored.revision) == ("1.0.0", "api", 1)
    assert seen == [(None, None)]
    row = await store.model("m")
    assert row is not None
    assert (row.current_version, row.metadata["description"]) == ("1.0.0", "Zoë's ✓ model")
    assert [(c.revision, c.kind, c.name) for c in await store.changes_since(0)] == [
        (1, "version", "m")
    ]

    # The plan sees the latest version and the row; the same schema appends nothing and
    # leaves the revision where it was.
    same, appended = await store.append_version("m", lambda latest, row: None)
    assert not appended
    assert same == stored
    assert await store.revision() == 1

    fields = {"id": {"type": "int"}, "straße": {"type": "str", "required": False}}
    change = [{"change": "field_added", "field": "straße", "new": "str"}]
    newer, appended = await store.append_version(
        "m", lambda latest, row: version("1.1.0", fields, changes=change, source="drift")
    )
    assert appended
    assert newer is not None
    assert newer.revision == 2
    history = await store.history("m")
    assert [(v.version, v.source) for v in history] == [("1.0.0", "api"), ("1.1.0", "drift")]
    assert history[-1].changes == change
    assert history[-1].fields_schema == {"fields": fields}
    assert (await store.latest("m")) == history[-1]
    assert [c.revision for c in await store.changes_since(1)] == [2]


async def test_a_failing_plan_writes_nothing(store: RegistryStore) -> None:
    await store.append_version("m", lambda latest, row: version("1.0.0"))

    def refuse(latest: StoredVersion | None, row: StoredModel | None) -> StoredVersion:
        raise RegistryValidationError("no")

    with pytest.raises(RegistryValidationError):
        await store.append_version("m", refuse, audit=lambda v: {"action": "update"})
    assert [v.version for v in await store.history("m")] == ["1.0.0"]
    assert await store.revision() == 1
    assert await store.audit() == []


async def test_a_duplicate_version_number_is_refused_and_rolled_back(store: RegistryStore) -> None:
    await store.append_version("m", lambda latest, row: version("1.0.0"))
    with pytest.raises(XError):
        await store.append_version(
            "m", lambda latest, row: version("1.0.0", {"other": {"type": "str"}})
        )
    assert len(await store.history("m")) == 1
    assert await store.revision() == 1


async def test_compatibility_of_a_stored_model_and_of_an_unknown_one(store: RegistryStore) -> None:
    with pytest.raises(RegistryValidationError, match="register it first"):
        await store.set_compatibility("nowhere", "full")
    assert await store.revision() == 0
    await store.append_version("m", lambda latest, row: version("1.0.0"))
    await store.set_compatibility("m", "forward", audit={"action": "update", "target_name": "m"})
    row = await store.model("m")
    assert row is not None
    assert row.compatibility == "forward"
    await store.set_compatibility("m", None)
    row = await store.model("m")
    assert row is not None
    assert row.compatibility is None
    assert [c.kind for c in await store.changes_since(1)] == ["compatibility", "compatibility"]


async def test_audit_events_round_trip_hostile_text(store: RegistryStore) -> None:
    events = [
        {
            "action": "register",
            "target_kind": "model",
            "target_name": name,
            "details": {"text": text, "n": n},
        }
        for name, text, n in [
            ("Zoë", "nul\x00byte", 10**20),
            ("a b", "", -0.0),
            ("🙂", "  spaced  ", 1.5e-300),
        ]
    ]
    assert await store.append_audit(events) == 3
    assert await store.append_audit([]) == 0
    assert await store.audit() == events
    assert await store.audit(name="🙂") == [events[2]]
    assert await store.audit(kind="model", limit=2) == events[1:]


async def test_enrichment_and_catalog_keep_the_last_state(store: RegistryStore) -> None:
    await store.save_enrichment("m", {"statistics": {"total_count": 3}, "sample": ["ü"]})
    await store.save_enrichment("m", {"statistics": {"total_count": 4}})
    assert await store.enrichments() == {"m": {"statistics": {"total_count": 4}}}
    assert await store.save_catalog("functions", {"f": ("fp1", {"name": "f"})}) == 1
    assert await store.save_catalog("functions", {"f": ("fp1", {"name": "f"})}) == 0
    assert await store.save_catalog("functions", {"f": ("fp2", {"name": "f", "v": 2})}) == 1
    assert await store.catalog("functions") == {"f": {"name": "f", "v": 2}}
    assert await store.catalog("types") == {}


@pytest.mark.parametrize("prefix", ["", "Upper_", "1x_", "a-b_", "x" * 40, "a;drop_"])
def test_bad_table_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(RegistryValidationError, match="prefix"):
        RegistryStore.from_url("sqlite:///:memory:", prefix=prefix)


def test_urls_that_are_not_sql_databases_are_refused() -> None:
    with pytest.raises(RegistryValidationError, match="SQL database"):
        RegistryStore.from_url("/tmp/some.csv")
    with pytest.raises(RegistryValidationError, match="cannot use") as info:
        RegistryStore.from_url("nosuch://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)
    with pytest.raises(RegistryValidationError, match="SQL database"):
        RegistryStore(object())
