"""A bulk write that fails midway writes nothing, on every database backend.

1,000 records where record 700 breaks a rule that only the database checks (the model accepts
it): a unique key taken by an existing row, a NULL in a NOT NULL column, an integer beyond the
column's type. ``bulk_create`` and ``bulk_update`` must leave the table exactly as it was (same
rows, same values), name the failing item, and leave the repository usable.

PostgreSQL (COPY and multi-row INSERT paths), MariaDB, SQLite and MongoDB (a replica set, so
the batch runs in a transaction; the collection has a unique index and a ``$jsonSchema``
validator standing for NOT NULL and the column type).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from repo_backends import mongo_collections, mongo_db_url, sql_tables

from xrepo import XRepo, XRepoError, XRepoFactory

BACKENDS = ["postgresql", "mysql", "sqlite", "mongodb"]
N = 1000
BAD = 700
SEED = [
    {"id": 100_000 + i, "code": f"seed-{i}", "note": f"seed ☂ {i}", "qty": i} for i in range(10)
]

DDL = {
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, code VARCHAR(40) NOT NULL UNIQUE, "
        "note TEXT NOT NULL, qty INTEGER NOT NULL)"
    ),
    "mysql": (
        "CREATE TABLE {t} (id INT PRIMARY KEY, code VARCHAR(40) NOT NULL UNIQUE, "
        "note VARCHAR(200) NOT NULL, qty INT NOT NULL) ENGINE=InnoDB"
    ),
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, "
        "note TEXT NOT NULL, qty INTEGER NOT NULL) STRICT"
    ),
}

MONGO_VALIDATOR = {
    "$jsonSchema": {
        "bsonType": "object",
        "required": ["code", "note", "qty"],
        "properties": {
            "code": {"bsonType": "string"},
            "note": {"bsonType": "string"},
            "qty": {"bsonType": ["int", "long"]},
        },
    }
}


class Item(BaseModel):
    """Looser than the table on purpose: only the database refuses record 700."""

    id: int
    code: str
    note: str | None = None
    qty: int


#: What record 700 gets, per kind of fault.
FAULTS: dict[str, dict[str, Any]] = {
    "unique": {"code": "seed-3"},  # taken by an existing row
    "not_null": {"note": None},
    # Beyond the column's integer type (64 bits at most anywhere; INTEGER is 32 on PostgreSQL).
    "out_of_range": {"qty": 2**70},
}


@pytest.fixture(params=BACKENDS)
async def repo(
    request: pytest.FixtureRequest, unique_name: str, tmp_path: Path
) -> AsyncIterator[XRepo[Item]]:
    kind: str = request.param
    if kind == "mongodb":
        url = mongo_db_url(request.getfixturevalue("mongodb_url"))
        async with mongo_collections(url, [unique_name]) as resource:
            await resource.db.create_collection(unique_name, validator=MONGO_VALIDATOR)
            await resource.db[unique_name].create_index("code", unique=True)
            repo = await XRepoFactory.create(
                resource=resource, model_class=Item, collection=unique_name
            )
            assert await repo.supports_transactions()  # type: ignore[attr-defined]
            await repo.bulk_create(SEED)
            yield repo
        return
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'bulk.db'}"
    else:
        url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mysql_url")
    async with sql_tables(url, {unique_name: DDL[kind]}) as resource:
        repo = await XRepoFactory.create(
            resource=resource, model_class=Item, collection=unique_name
        )
        await repo.bulk_create(SEED)
        yield repo


def _batch(n: int = N, fault: str | None = None) -> list[dict[str, Any]]:
    rows = [{"id": i, "code": f"c-{i}", "note": f"note {i} é", "qty": i} for i in range(n)]
    if fault is not None:
        rows[BAD].update(FAULTS[fault])
    return rows


async def _snapshot(repo: XRepo[Item]) -> list[dict[str, Any]]:
    items = await repo.list(limit=5 * N)
    return sorted((item.model_dump() for item in items), key=lambda r: r["id"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_bulk_create_failing_at_row_700_writes_nothing(repo: XRepo[Item], fault: str) -> None:
    before = await _snapshot(repo)
    with pytest.raises(XRepoError) as info:
        await repo.bulk_create(_batch(fault=fault))
    assert info.value.item == BAD, info.value
    assert await repo.count() == len(SEED)
    assert await _snapshot(repo) == before
    # Usable afterwards: the same batch without the fault goes in whole.
    assert len(await repo.bulk_create(_batch())) == N
    assert await repo.count() == len(SEED) + N


@pytest.mark.parametrize("n", [10, 2_500])
async def test_bulk_create_failing_in_the_last_row_writes_nothing(
    repo: XRepo[Item], n: int
) -> None:
    # 2,500 rows: PostgreSQL sends them with COPY in several prepared chunks; 10: one INSERT.
    rows = _batch(n)
    rows[-1].update(FAULTS["unique"])
    with pytest.raises(XRepoError) as info:
        await repo.bulk_create(rows)
    assert info.value.item == n - 1
    assert await repo.count() == len(SEED)


@pytest.mark.parametrize("fault", ["unique", "not_null"])
async def test_bulk_update_failing_at_item_700_changes_nothing(
    repo: XRepo[Item], fault: str
) -> None:
    await repo.bulk_create(_batch())
    before = await _snapshot(repo)
    updates: list[tuple[Any, dict[str, Any]]] = [
        (i, {"note": f"changed {i}", "qty": -i}) for i in range(N)
    ]
    updates[BAD][1].update(FAULTS[fault])
    with pytest.raises(XRepoError):
        await repo.bulk_update(updates)
    after = await _snapshot(repo)
    changed = [row["id"] for row, old in zip(after, before, strict=True) if row != old]
    assert changed == [], f"{len(changed)} records changed, first ids {changed[:5]}"
