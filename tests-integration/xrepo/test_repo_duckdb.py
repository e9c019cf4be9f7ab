"""xrepo over DuckDB: a database file, and Parquet, JSON Lines and CSV files queried where they
lie. What the conformance and differential suites do not reach: which path the factory takes for
each file (and why), writes seen by the next read, files that do not exist yet, transactions
without savepoints, patterns RE2 refuses, and the public datasets read through both paths."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from xobj_prototype import XObjPrototype
from xrepo import (
    ConnectedEngineFileRepo,
    ConnectedFileRepo,
    ConnectedSQLRepo,
    XRepoConfigurationError,
    XRepoConflictError,
    XRepoFactory,
    XRepoValidationError,
)
from xresource import ResourceFactory


class Rec(XObjPrototype):
    id: int
    name: str
    note: str | None = None
    price: Decimal | None = None
    at: dt.datetime | None = None
    tags: list[str] = []
    doc: dict[str, Any] | None = None


RECS: list[dict[str, Any]] = [
    {"id": 1, "name": "Ærø", "note": "", "price": Decimal("999999999"), "tags": ["a", "b"],
     "at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "doc": {"zip": "010", "n": 1}},
    {"id": 2, "name": "  spaced  ", "note": None, "price": Decimal("0.000001"), "tags": [],
     "at": dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "doc": {"zip": 10}},
    {"id": 3, "name": "ß", "price": Decimal("-1.50"), "tags": ["É"], "doc": None},
]  # fmt: skip


@pytest.fixture
async def duck(tmp_path: Path) -> AsyncIterator[Any]:
    db = ResourceFactory.from_url(f"duckdb:///{tmp_path / 'x.duckdb'}")
    await db.connect()
    await db.execute(
        "CREATE TABLE recs (id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, note VARCHAR, "
        'price DECIMAL(30,10), "at" TIMESTAMPTZ, tags JSON, doc JSON)'
    )
    yield db
    await db.disconnect()


def file_resource(tmp_path: Path, suffix: str) -> Any:
    kind = {"jsonl": "json", "json": "json", "csv": "csv", "parquet": "parquet"}[suffix]
    return ResourceFactory.create(
        kind, path=str(tmp_path / f"recs.{suffix}"), create_if_missing=True
    )


@pytest.mark.parametrize(
    ("suffix", "engine", "cls"),
    [
        ("parquet", None, ConnectedEngineFileRepo),
        ("jsonl", None, ConnectedEngineFileRepo),
        ("csv", None, ConnectedFileRepo),  # text cells: the model's validation reads them
        ("json", None, ConnectedFileRepo),
        ("csv", True, ConnectedEngineFileRepo),
        ("json", True, ConnectedEngineFileRepo),
        ("parquet", False, ConnectedFileRepo),
    ],
)
async def test_the_factory_takes_the_engine_where_both_paths_agree(
    tmp_path: Path, suffix: str, engine: bool | None, cls: type
) -> None:
    options = {} if engine is None else {"engine": engine}
    repo = await XRepoFactory.create(
        resource=file_resource(tmp_path, suffix), model_class=Rec, **options
    )
    assert type(repo) is cls


async def test_bad_engine_options_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(XRepoConfigurationError, match="engine= must be True, False or None"):
        await XRepoFactory.create(
            resource=file_resource(tmp_path, "csv"), model_class=Rec, engine="yes"
        )
    jsonl = file_resource(tmp_path, "jsonl")
    with pytest.raises(XRepoConfigurationError, match="reads a file as one collection"):
        await XRepoFactory.create(resource=jsonl, model_class=Rec, engine=True, collection="a")
    plain = await XRepoFactory.create(resource=jsonl, model_class=Rec, collection="a")
    assert isinstance(plain, ConnectedFileRepo)  # a collection inside a JSON file: file store
    yaml = ResourceFactory.create("yaml", path=str(tmp_path / "r.yaml"), create_if_missing=True)
    with pytest.raises(XRepoConfigurationError, match="has no DuckDB engine"):
        await XRepoFactory.create(resource=yaml, model_class=Rec, engine=True)


def dump(record: Rec) -> dict[str, Any]:
    """A record with the null members of its document dropped: DuckDB reads the objects of a
    JSON Lines file as one STRUCT column, which gives every record every member (null and
    missing are one, docs/xrepo.md)."""
    out = record.model_dump()
    if isinstance(out["doc"], dict):
        out["doc"] = {k: v for k, v in out["doc"].items() if v is not None}
    return out


@pytest.mark.parametrize("suffix", ["parquet", "jsonl", "csv"])
async def test_file_paths_agree_and_writes_are_seen_by_the_next_read(
    tmp_path: Path, suffix: str
) -> None:
    resource = file_resource(tmp_path, suffix)
    engine = await XRepoFactory.create(resource=resource, model_class=Rec, engine=True)
    assert await engine.count() == 0  # the file does not exist yet: an empty repository
    assert await engine.list() == []
    await engine.bulk_create(RECS)
    plain = await XRepoFactory.create(resource=resource, model_class=Rec, engine=False)
    filters_tried: list[dict[str, Any]] = [
        {}, {"tags": "a"}, {"note": ""}, {"note": None}, {"doc.zip": 10}, {"price__lt": 0},
        {"at__gte": dt.datetime(2024, 1, 1)}, {"name__icontains": "ÆR"},
    ]  # fmt: skip
    for filters in filters_tried:
        got = [dump(r) for r in await engine.list(filters, sort="id")]
        want = [dump(r) for r in await plain.list(filters, sort="id")]
        assert got == want, filters
    # CSV has no null apart from the empty cell: there, "" reads back as None (file semantics).
    first = await engine.read(1)
    assert first is not None
    assert first.note == (None if suffix == "csv" else "")
    assert first.price == Decimal("999999999")  # exact, not the double's 999999999.0000001024
    await engine.update(2, {"name": "renamed"})
    assert [r.name for r in await engine.list({"id": 2})] == ["renamed"]
    assert await engine.delete(3, soft=False)
    assert await engine.count() == 2
    with pytest.raises(XRepoConflictError) as dup:
        await engine.bulk_create([{"id": 9, "name": "new"}, {"id": 1, "name": "again"}])
    assert dup.value.item == 1
    assert await engine.count() == 2  # nothing of the failed batch was written
    by_tag = await engine.aggregate(
        [{"$unwind": "$tags"}, {"$group": {"_id": "$tags", "n": {"$sum": 1}}}]
    )
    assert sorted((d["_id"], d["n"]) for d in by_tag) == [("a", 1), ("b", 1)]


async def test_a_parquet_file_written_by_another_tool_reads_its_lists_and_structs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "made_elsewhere.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM (VALUES (1, 'a', ['x', 'y'], {{'zip': '010', 'n': 1}}), "
            f"(2, 'b', [], NULL), (3, 'c', [], {{'zip': NULL, 'n': 2}})) "
            f"t(id, name, tags, doc)) TO '{path}' (FORMAT parquet)"
        )
    repo = await XRepoFactory.create(
        resource=ResourceFactory.create("parquet", path=str(path)), model_class=Rec
    )
    assert [r.id for r in await repo.list({"tags": "y"})] == [1]
    assert [r.id for r in await repo.list({"doc.zip": "010"})] == [1]
    assert [r.id for r in await repo.list({"doc.n": {"$gte": 2}})] == [3]
    assert await repo.distinct("tags") == ["x", "y"]
    read = await repo.read(1)
    assert read is not None
    assert (read.tags, read.doc) == (["x", "y"], {"zip": "010", "n": 1})


async def test_lookup_is_refused_by_name_on_a_file(tmp_path: Path) -> None:
    repo = await XRepoFactory.create(
        resource=file_resource(tmp_path, "parquet"), model_class=Rec, lookups=["other"]
    )
    await repo.bulk_create(RECS)
    look = {"$lookup": {"from": "other", "localField": "id", "foreignField": "id", "as": "o"}}
    with pytest.raises(XRepoValidationError, match=r"\$lookup from 'other' is not supported"):
        await repo.aggregate([look])


async def test_a_database_table_round_trips_and_counts_in_place(duck: Any) -> None:
    repo = await XRepoFactory.create(resource=duck, model_class=Rec, collection="recs")
    assert isinstance(repo, ConnectedSQLRepo)
    await repo.bulk_create(RECS)
    got = {r.id: r for r in await repo.list(sort="id")}
    assert got[1].price == Decimal("999999999")
    assert got[2].at == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # the same instant, in UTC
    assert got[1].doc == {"zip": "010", "n": 1}
    assert await repo.count({"at": dt.datetime(2024, 1, 1)}) == 2  # naive means UTC
    stats = await repo.get_statistics()
    assert stats.total_count == 3
    assert (stats.storage_size_bytes or 0) > 0


async def test_a_transaction_commits_or_rolls_back_whole(duck: Any) -> None:
    repo = await XRepoFactory.create(
        resource=duck, model_class=Rec, collection="recs", soft_delete=False
    )
    await repo.bulk_create(RECS)
    store = repo.store
    assert await store.supports_transactions()
    seen_inside = []

    async def write_then_fail() -> None:
        async with store.transaction():
            await repo.create({"id": 10, "name": "inside"})
            seen_inside.append(await repo.exists(10))  # the transaction reads its own writes
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await write_then_fail()
    assert seen_inside == [True]
    assert not await repo.exists(10)
    # No savepoints in DuckDB: a taken id is found before the INSERT, so the transaction stays
    # usable and the error names the item.
    async with store.transaction():
        with pytest.raises(XRepoConflictError) as dup:
            await repo.bulk_create([{"id": 11, "name": "ok"}, {"id": 2, "name": "taken"}])
        assert dup.value.item == 1
        await repo.create({"id": 12, "name": "after"})
    assert [await repo.exists(i) for i in (11, 12)] == [False, True]


@pytest.mark.parametrize("pattern", ["(?<=a)b", "(a)\\1", "(?=x)"])
async def test_patterns_re2_refuses_name_regex(duck: Any, tmp_path: Path, pattern: str) -> None:
    table = await XRepoFactory.create(resource=duck, model_class=Rec, collection="recs")
    await table.bulk_create(RECS)
    parquet = await XRepoFactory.create(
        resource=file_resource(tmp_path, "parquet"), model_class=Rec
    )
    await parquet.bulk_create(RECS)
    for repo in (table, parquet):
        with pytest.raises(XRepoValidationError, match=r"\$regex .* is not a pattern duckdb takes"):
            await repo.list({"name": {"$regex": pattern}})


async def test_catastrophic_patterns_run_in_linear_time(duck: Any) -> None:
    repo = await XRepoFactory.create(resource=duck, model_class=Rec, collection="recs")
    await repo.create({"id": 1, "name": "a" * 5000 + "!"})
    assert await repo.count({"name": {"$regex": "^(a+)+$"}}) == 0
    assert await repo.count({"name": {"$regex": "(a|aa)+!$"}}) == 1


class Taxi(XObjPrototype):
    id: int | None = None
    pickup: dt.datetime
    passengers: int
    distance: float
    fare: float
    tip: float
    color: str
    payment: str | None = None
    pickup_borough: str | None = None


@pytest.mark.parametrize("engine", [True, False])
async def test_a_public_dataset_answers_as_python_computes_it(datasets: Path, engine: bool) -> None:
    """seaborn's taxis.csv (6,433 rides, naive datetimes, empty cells) through the engine and
    through the file store: counts, a datetime range and a $group agree with plain Python."""
    path = datasets / "seaborn_csv" / "taxis.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    resource = ResourceFactory.create("csv", path=str(path))
    repo = await XRepoFactory.create(
        resource=resource, model_class=Taxi, engine=engine, soft_delete=False, max_limit=None
    )
    assert await repo.count() == len(rows)
    assert await repo.count({"payment": None}) == sum(r["payment"] == "" for r in rows)
    since = dt.datetime(2019, 3, 15)
    assert await repo.count({"pickup__gte": since}) == sum(
        dt.datetime.fromisoformat(r["pickup"]) >= since for r in rows
    )
    group = {"_id": "$color", "n": {"$sum": 1}, "fare": {"$avg": "$fare"}, "tip": {"$max": "$tip"}}
    groups = await repo.aggregate([{"$group": group}])
    for g in groups:
        mine = [r for r in rows if r["color"] == g["_id"]]
        assert g["n"] == len(mine)
        assert g["fare"] == pytest.approx(sum(float(r["fare"]) for r in mine) / len(mine))
        assert g["tip"] == max(float(r["tip"]) for r in mine)
    assert sorted(g["_id"] for g in groups) == sorted({r["color"] for r in rows})
