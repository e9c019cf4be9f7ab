"""Audit sinks on real servers: the SQL sink on PostgreSQL and MariaDB (own table, bound
parameters, joining a caller's transaction) and the MongoDB sink (optional session)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from xrepo.audit import (
    AuditEntry,
    AuditLogger,
    MongoAuditSink,
    SQLAuditSink,
    XRepoAuditError,
    parse_filter,
)
from xresource import MongoDBResource, ResourceFactory

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def make_entries(n: int = 6) -> list[AuditEntry]:
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
            before={"n": i, "$where": "1", "a.b": 2} if i % 3 else None,
            after={"n": i + 1, "password": "hunter2"},
        )
        for i in range(n)
    ]


async def check_queries(sink: Any) -> None:
    entries = make_entries()
    await sink.write(entries[:3])
    await sink.write(entries[3:])
    everything = await sink.get_audit_log()
    assert [e.entity_id for e in everything] == ["5", "4", "3", "2", "1", "0"]
    assert everything == list(reversed(entries))  # exact, microseconds and odd keys included
    assert [e.entity_id for e in await sink.get_audit_log({"user_id": "u1"})] == ["4", "2", "0"]
    by_action = await sink.get_audit_log({"action": ["update", "delete"], "repo": "users"})
    assert [e.entity_id for e in by_action] == ["2", "1"]
    assert [e.entity_id for e in await sink.get_audit_log({"entity": "Order"})] == ["5", "4"]
    span = {"since": T0 + dt.timedelta(seconds=1), "until": T0 + dt.timedelta(seconds=3)}
    assert [e.entity_id for e in await sink.get_audit_log(span)] == ["2", "1"]
    assert [e.entity_id for e in await sink.get_audit_log(limit=2)] == ["5", "4"]
    assert await sink.get_audit_log({"user_id": "' OR 1=1 --"}) == []
    assert await sink.get_audit_log({"user_id": "u1' OR '1'='1"}) == []
    assert all("hunter2" not in e.model_dump_json() for e in everything)


#: The payload keys of an entry before AuditEntry became an xobj_prototype.AuditRecord.
_PREVIOUS_NAMES = {
    "principal_id": "user_id",
    "target_name": "repo",
    "target_kind": "entity",
    "target_id": "entity_id",
    "details": "metadata",
}


class _PreviousLayout(AuditEntry):
    """An entry whose stored payload is the previous layout, through the sink's own write path."""

    def model_dump_json(self, **kwargs: Any) -> str:  # type: ignore[override]
        data = self.model_dump(mode="json")
        return json.dumps({_PREVIOUS_NAMES.get(k, k): v for k, v in data.items()})


async def check_previous_layout_reads_back(sink: Any) -> None:
    """Rows written in the previous payload layout and in the current one read back alike."""
    entries = make_entries(4)
    old = [_PreviousLayout.model_validate(e.model_dump()) for e in entries[:2]]
    assert '"user_id": "u1"' in old[0].model_dump_json()  # really the previous layout
    await sink.write(old)
    await sink.write(entries[2:])
    everything = await sink.get_audit_log()
    assert everything == list(reversed(entries))  # exact, whichever layout was stored
    assert all(type(e) is AuditEntry for e in everything)
    assert [e.entity_id for e in await sink.get_audit_log({"user_id": "u1"})] == ["2", "0"]
    assert [e.entity_id for e in await sink.get_audit_log({"target_id": 1})] == ["1"]
    (first,) = await sink.get_audit_log({"repo": "users", "entity_id": 0})
    assert (first.user_id, first.entity, first.metadata) == ("u1", "User", {})


# -- SQL -------------------------------------------------------------------------------------
@pytest.fixture(params=["postgresql", "mysql"])
async def sql_db(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")
    async with ResourceFactory.from_url(url) as db:
        yield db


@pytest.fixture
async def sql_sink(sql_db: Any, unique_name: str) -> AsyncIterator[SQLAuditSink]:
    sink = SQLAuditSink(sql_db, table=f"audit_{unique_name}")
    yield sink
    await sink.drop_table()


async def test_sql_sink_queries(sql_sink: SQLAuditSink) -> None:
    await check_queries(sql_sink)


async def test_sql_sink_reads_rows_of_the_previous_layout(sql_sink: SQLAuditSink) -> None:
    await check_previous_layout_reads_back(sql_sink)


async def test_sql_sink_creates_an_indexed_table_once(sql_sink: SQLAuditSink, sql_db: Any) -> None:
    await sql_sink.ensure_table()
    await sql_sink.ensure_table()
    assert sql_sink.table in await sql_db.list_collections_or_tables()
    if sql_db.dialect.name == "postgresql":
        indexes = await sql_db.fetch_all(
            "SELECT indexname FROM pg_indexes WHERE tablename = $1", [sql_sink.table]
        )
    else:
        indexes = await sql_db.fetch_all(
            "SELECT DISTINCT index_name AS indexname FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND table_name = %s",
            [sql_sink.table],
        )
    assert len(indexes) == 4  # the primary key and three query indexes


async def test_sql_sink_joins_the_callers_transaction(sql_sink: SQLAuditSink, sql_db: Any) -> None:
    await sql_sink.ensure_table()
    committed, rolled_back = make_entries(2)
    async with sql_db.transaction() as tx:
        await sql_sink.write([committed], executor=tx)
        # Visible inside the transaction...
        assert await sql_sink.query(parse_filter(None), executor=tx) == [committed]

    async def fail_after_audit() -> None:
        async with sql_db.transaction() as tx:
            await sql_sink.write([rolled_back], executor=tx)
            raise RuntimeError("the audited operation failed")

    with pytest.raises(RuntimeError):
        await fail_after_audit()
    assert await sql_sink.get_audit_log() == [committed]


async def test_sql_sink_batches_are_atomic(sql_sink: SQLAuditSink) -> None:
    first = make_entries(1)
    await sql_sink.write(first)
    with pytest.raises(Exception, match=r"(?i)duplicate|unique|integrity"):
        await sql_sink.write([*make_entries(4)[1:], first[0]])
    assert await sql_sink.get_audit_log() == first


async def test_a_logger_with_fail_policy_refuses_when_the_table_is_unusable(
    sql_db: Any, unique_name: str
) -> None:
    sink = SQLAuditSink(sql_db, table=f"audit_{unique_name}", create=False)  # never created
    logger = AuditLogger(sink, policy="fail")
    with pytest.raises(XRepoAuditError, match="policy is 'fail'"):
        await logger.log(make_entries(1)[0])
    await logger.close()


# -- MongoDB ---------------------------------------------------------------------------------
@pytest.fixture
async def mongo(mongodb_url: str) -> AsyncIterator[MongoDBResource]:
    resource = ResourceFactory.create(
        "mongodb", connection_string=mongodb_url, database=f"xaud_{uuid.uuid4().hex[:12]}"
    )
    assert isinstance(resource, MongoDBResource)
    await resource.connect()
    try:
        yield resource
    finally:
        await resource.client.drop_database(resource.database)
        await resource.disconnect()


async def test_mongo_sink_queries(mongo: MongoDBResource) -> None:
    sink = MongoAuditSink(mongo, collection="audit")
    await check_queries(sink)
    indexes = await (await mongo.get_collection("audit")).index_information()
    assert len(indexes) == 4  # _id and three query indexes


async def test_mongo_sink_reads_documents_of_the_previous_layout(mongo: MongoDBResource) -> None:
    await check_previous_layout_reads_back(MongoAuditSink(mongo, collection="audit"))


async def test_mongo_sink_joins_a_session(mongo: MongoDBResource) -> None:
    sink = MongoAuditSink(mongo, collection="audit")
    await sink.ensure_indexes()
    committed, rolled_back = make_entries(2)
    async with mongo.transaction() as session:
        await sink.write([committed], session=session)

    async def fail_after_audit() -> None:
        async with mongo.transaction() as session:
            await sink.write([rolled_back], session=session)
            raise RuntimeError("the audited operation failed")

    with pytest.raises(RuntimeError):
        await fail_after_audit()
    assert await sink.get_audit_log() == [committed]


async def test_mongo_sink_hostile_filters_are_values(mongo: MongoDBResource) -> None:
    sink = MongoAuditSink(mongo, collection="audit")
    await sink.write(make_entries(2))
    assert await sink.get_audit_log({"user_id": "$ne"}) == []
    with pytest.raises(Exception, match="entity_id"):
        await sink.get_audit_log({"entity_id": {"$ne": None}})
    with pytest.raises(XRepoAuditError):
        MongoAuditSink(mongo, collection="$cmd")
    with pytest.raises(XRepoAuditError):
        MongoAuditSink(object())  # type: ignore[arg-type]


async def test_a_first_write_inside_a_rolled_back_transaction_leaves_the_sink_usable(
    sql_sink: SQLAuditSink, sql_db: Any
) -> None:
    entry = make_entries(1)[0]

    async def fail_after_audit() -> None:
        async with sql_db.transaction() as tx:
            await sql_sink.write([entry], executor=tx)  # also the sink's first use
            raise RuntimeError("the audited operation failed")

    with pytest.raises(RuntimeError):
        await fail_after_audit()
    assert await sql_sink.get_audit_log() == []
    await sql_sink.write([entry])
    assert await sql_sink.get_audit_log() == [entry]


async def test_sql_sink_in_a_named_schema(postgres_url: str, unique_name: str) -> None:
    async with ResourceFactory.from_url(postgres_url) as db:
        schema = f"s_{unique_name}"
        await db.execute(f'CREATE SCHEMA "{schema}"')
        try:
            sink = SQLAuditSink(db, table="audit log", schema=schema)
            await sink.write(make_entries(2))
            assert len(await sink.get_audit_log()) == 2
            tables = await db.fetch_all(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                [schema],
            )
            assert [t["table_name"] for t in tables] == ["audit log"]
        finally:
            await db.execute(f'DROP SCHEMA "{schema}" CASCADE')
