"""Ratio benchmark of xrepo: repositories against the raw driver and peer libraries.

Same data, same run:

- PostgreSQL, list 10,000 rows as models: ConnectedSQLRepo vs raw asyncpg fetch + model_validate
  (target <= 1.3x) and vs the SQLAlchemy 2 asyncio ORM (target: ours >= 2x faster);
- MongoDB, the same against raw PyMongo async + model_validate (<= 1.3x) and Beanie (>= 2x);
- PostgreSQL bulk_create of 100,000 model instances vs raw ``copy_records_to_table`` of the same
  instances (<= 1.5x); from dicts, which the repository validates and raw COPY does not, for
  context, also against ``model_validate`` + COPY;
- MaterializedRepo over 1,000,000 rows: filter+sort+limit vs a list comprehension (<= 1.5x) and
  ``$group`` vs a hand-written dict loop (<= 2x).

Peers (SQLAlchemy 2 with asyncio, Beanie) are benchmark-only: ``uv pip install
"sqlalchemy[asyncio]>=2" beanie``. Run: ``python benchmarks/bench_repo.py [--write-docs]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import operator
import os
import platform
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import interleaved_medians, interleaved_medians_async, write_docs_block

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepoFactory
from xresource import ResourceFactory

PG_URL = os.environ.get("XTEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MONGO_URL = os.environ.get("XTEST_MONGODB_URL", "mongodb://127.0.0.1:27017/?replicaSet=rs0")


class Row(XObjPrototype):
    id: int
    name: str
    city: str
    score: float
    qty: int


def make_rows(n: int) -> list[dict[str, Any]]:
    cities = ["oslo", "rome", "lima", "kyiv", "pune"]
    return [
        {
            "id": i,
            "name": f"n{i}",
            "city": cities[i % 5],
            "score": (i * 7919) % 1000 / 10,
            "qty": i % 17,
        }
        for i in range(1, n + 1)
    ]


async def bench_postgres(rows: list[dict[str, Any]], bulk_n: int, repeat: int) -> list[tuple]:
    import asyncpg
    from sqlalchemy import Column, Float, Integer, String, select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase

    table = f"bench_{uuid.uuid4().hex[:10]}"
    ddl = (
        f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, name TEXT, city TEXT, '
        "score DOUBLE PRECISION, qty INTEGER)"
    )
    db = ResourceFactory.from_url(PG_URL)
    conn = await asyncpg.connect(PG_URL)

    class Base(DeclarativeBase):
        pass

    class ORMRow(Base):
        __tablename__ = table
        # Column() without annotations: this module uses postponed annotations.
        id = Column(Integer, primary_key=True)
        name = Column(String)
        city = Column(String)
        score = Column(Float)
        qty = Column(Integer)

    engine = create_async_engine(PG_URL.replace("postgresql://", "postgresql+asyncpg://"))
    session_factory = async_sessionmaker(engine, expire_on_commit=False)
    results = []
    try:
        await conn.execute(ddl)
        repo = await XRepoFactory.create(resource=db, model_class=Row, collection=table)
        await repo.bulk_create(rows)

        async def ours() -> None:
            out = await repo.list(limit=None)
            assert len(out) == len(rows)

        async def raw() -> None:
            recs = await conn.fetch(f'SELECT * FROM "{table}" ORDER BY id')
            out = [Row.model_validate(dict(r)) for r in recs]
            assert len(out) == len(rows)

        async def orm() -> None:
            async with session_factory() as session:
                res = await session.execute(select(ORMRow).order_by(ORMRow.id))
                out = [
                    Row(id=o.id, name=o.name, city=o.city, score=o.score, qty=o.qty)
                    for o in res.scalars()
                ]
            assert len(out) == len(rows)

        t_ours, t_raw, t_orm = await interleaved_medians_async(
            [ours, raw, orm], repeat, collect=True
        )
        results.append(
            (
                "PostgreSQL list 10k as models",
                "asyncpg fetch + model_validate",
                t_ours,
                t_raw,
                "<= 1.3x",
            )
        )
        results.append(
            (
                "PostgreSQL list 10k as models",
                "SQLAlchemy 2 asyncio ORM",
                t_ours,
                t_orm,
                "ours >= 2x faster",
            )
        )

        bulk = make_rows(bulk_n)
        bulk_models = [Row.model_validate(r) for r in bulk]
        cols = ["id", "name", "city", "score", "qty"]
        from_dicts, from_models = operator.itemgetter(*cols), operator.attrgetter(*cols)

        async def ours_models() -> None:
            await conn.execute(f'TRUNCATE "{table}"')
            await repo.bulk_create(bulk_models)

        async def raw_models() -> None:
            await conn.execute(f'TRUNCATE "{table}"')
            records = list(map(from_models, bulk_models))
            await conn.copy_records_to_table(table, records=records, columns=cols)

        async def ours_dicts() -> None:
            await conn.execute(f'TRUNCATE "{table}"')
            await repo.bulk_create(bulk)

        async def raw_dicts() -> None:
            await conn.execute(f'TRUNCATE "{table}"')
            records = list(map(from_dicts, bulk))
            await conn.copy_records_to_table(table, records=records, columns=cols)

        async def validated_dicts() -> None:
            await conn.execute(f'TRUNCATE "{table}"')
            models = [Row.model_validate(r) for r in bulk]
            records = list(map(from_models, models))
            await conn.copy_records_to_table(table, records=records, columns=cols)

        t_om, t_rm, t_od, t_rd, t_vd = await interleaved_medians_async(
            [ours_models, raw_models, ours_dicts, raw_dicts, validated_dicts],
            max(3, repeat // 2),
            collect=True,
        )
        what = f"PostgreSQL bulk_create {bulk_n:,}"
        results += [
            (f"{what} model instances", "copy_records_to_table", t_om, t_rm, "<= 1.5x"),
            (
                f"{what} dicts (validated)",
                "copy_records_to_table (not validated)",
                t_od,
                t_rd,
                "(context: validation is the difference)",
            ),
            (
                f"{what} dicts (validated)",
                "model_validate + copy_records_to_table",
                t_od,
                t_vd,
                "(context: the same work by hand)",
            ),
        ]
    finally:
        await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        await conn.close()
        await engine.dispose()
        await db.disconnect()
    return results


async def bench_mongo(rows: list[dict[str, Any]], repeat: int) -> list[tuple]:
    from beanie import Document, init_beanie
    from pymongo import AsyncMongoClient

    coll = f"bench_{uuid.uuid4().hex[:10]}"
    url = MONGO_URL.replace("/?", "/xrepo_bench?")
    db = ResourceFactory.from_url(url)
    await db.connect()
    client: AsyncMongoClient[Any] = AsyncMongoClient(MONGO_URL)

    class BeanieRow(Document):
        id: int  # type: ignore[assignment]  # our ids are ints, not ObjectIds
        name: str
        city: str
        score: float
        qty: int

        class Settings:
            name = coll

    results = []
    try:
        await init_beanie(database=client["xrepo_bench"], document_models=[BeanieRow])
        repo = await XRepoFactory.create(resource=db, model_class=Row, collection=coll)
        await repo.bulk_create(rows)
        raw_coll = client["xrepo_bench"][coll]

        async def ours() -> None:
            out = await repo.list(limit=None)
            assert len(out) == len(rows)

        async def raw() -> None:
            docs = await raw_coll.find({}, sort=[("_id", 1)]).to_list(None)
            out = []
            for d in docs:
                d["id"] = d.pop("_id")
                out.append(Row.model_validate(d))
            assert len(out) == len(rows)

        async def beanie() -> None:
            out = await BeanieRow.find_all().sort("_id").to_list()
            assert len(out) == len(rows)

        t_ours, t_raw, t_b = await interleaved_medians_async(
            [ours, raw, beanie], repeat, collect=True
        )
        results.append(
            (
                "MongoDB list 10k as models",
                "PyMongo async + model_validate",
                t_ours,
                t_raw,
                "<= 1.3x",
            )
        )
        results.append(("MongoDB list 10k as models", "Beanie", t_ours, t_b, "ours >= 2x faster"))
    finally:
        await client["xrepo_bench"].drop_collection(coll)
        await client.close()
        await db.disconnect()
    return results


def bench_memory(n: int, repeat: int) -> list[tuple]:
    rows = make_rows(n)
    repo = MaterializedRepo(model_class=Row, data=rows, metadata=None)
    data = list(repo.store.records.values())  # type: ignore[attr-defined]  # the same dicts the repository holds

    async def ours_list() -> list[Any]:
        return await repo.list({"city": "rome", "qty": {"$gte": 5}}, sort=[("score", -1)], limit=20)

    def hand_list() -> list[Any]:
        hits = [r for r in data if r["city"] == "rome" and r["qty"] >= 5]
        top = sorted(hits, key=lambda r: (-r["score"], r["id"]))[:20]
        return [Row.model_validate(r) for r in top]

    loop = asyncio.new_event_loop()
    try:
        assert [m.id for m in loop.run_until_complete(ours_list())] == [m.id for m in hand_list()]
        t_ours, t_hand = interleaved_medians(
            [lambda: loop.run_until_complete(ours_list()), hand_list], repeat, collect=True
        )

        pipeline = [{"$group": {"_id": "$city", "total": {"$sum": "$qty"}, "n": {"$sum": 1}}}]

        def hand_group() -> dict[Any, list[int]]:
            acc: dict[Any, list[int]] = {}
            for r in data:
                g = acc.get(r["city"])
                if g is None:
                    g = acc[r["city"]] = [0, 0]
                g[0] += r["qty"]
                g[1] += 1
            return acc

        got = loop.run_until_complete(repo.aggregate(pipeline))
        assert {d["_id"]: [d["total"], d["n"]] for d in got} == hand_group()
        t_g, t_hg = interleaved_medians(
            [lambda: loop.run_until_complete(repo.aggregate(pipeline)), hand_group],
            repeat,
            collect=True,
        )
    finally:
        loop.close()
    return [
        (
            f"MaterializedRepo {n:,}: filter+sort+limit",
            "list comprehension + sorted",
            t_ours,
            t_hand,
            "<= 1.5x",
        ),
        (f"MaterializedRepo {n:,}: $group", "hand-written dict loop", t_g, t_hg, "<= 2x"),
    ]


def table(results: list[tuple]) -> str:
    lines = [
        f"Median of interleaved runs, the garbage collector run (untimed) before each, so that no "
        f"contender pays for another's garbage (CPython {platform.python_version()}, "
        f"{os.cpu_count()} CPUs). Ratio: xrepo time / other time.",
        "",
        "| operation | compared with | xrepo (ms) | other (ms) | ratio | target |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for op, other, ours, theirs, target in results:
        lines.append(
            f"| {op} | {other} | {ours * 1000:.1f} | {theirs * 1000:.1f} | "
            f"{ours / theirs:.2f}x | {target} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    list_n = 10_000
    bulk_n = 20_000 if args.quick else 100_000
    mem_n = 200_000 if args.quick else 1_000_000
    rows = make_rows(list_n)
    # Each section starts from a collected heap: a million dead dicts from one section would
    # otherwise make the garbage collector's passes in the next one slow for everyone.
    results = asyncio.run(bench_postgres(rows, bulk_n, repeat))
    gc.collect()
    results += asyncio.run(bench_mongo(rows, repeat))
    gc.collect()
    results += bench_memory(mem_n, repeat)
    md = table(results)
    print(md)
    if args.write_docs:
        write_docs_block("repo", md)


if __name__ == "__main__":
    main()
