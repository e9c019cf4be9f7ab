"""XRepoFactory against real resources: auto-detection, XInspector-generated models, errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from xobj_prototype import XObjPrototype
from xrepo import (
    ConnectedEngineFileRepo,
    ConnectedFileRepo,
    ConnectedMongoRepo,
    ConnectedSQLRepo,
    MaterializedRepo,
    RepoMetadata,
    XRepoConfigurationError,
    XRepoConnectionError,
    XRepoError,
    XRepoFactory,
    XRepoValidationError,
)
from xrepo.query import FilterLimits
from xrepo.secure import SecureRepo
from xresource import ResourceFactory


class City(XObjPrototype):
    id: int
    name: str
    population: int | None = None


ROWS = [
    {"id": 1, "name": "oslo", "population": 700},
    {"id": 2, "name": "rome", "population": 2800},
    {"id": 3, "name": "lima", "population": None},
]


@pytest.fixture
async def pg_table(postgres_url: str, unique_name: str) -> Any:
    db = ResourceFactory.from_url(postgres_url)
    await db.connect()
    q = db.dialect.quote(unique_name)
    await db.execute(
        f"CREATE TABLE {q} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, population INTEGER)"
    )
    await db.execute_many(
        f"INSERT INTO {q} (id, name, population) VALUES ($1, $2, $3)",
        [(r["id"], r["name"], r["population"]) for r in ROWS],
    )
    try:
        yield db, unique_name
    finally:
        await db.execute(f"DROP TABLE IF EXISTS {q}")
        await db.disconnect()


async def test_database_defaults_to_connected(pg_table: Any) -> None:
    db, table = pg_table
    repo = await XRepoFactory.create(resource=db, model_class=City, collection=table)
    assert isinstance(repo, ConnectedSQLRepo)
    assert [c.name for c in await repo.list(sort="-population")] == ["rome", "oslo", "lima"]


async def test_materialized_override_snapshots_the_table(pg_table: Any) -> None:
    db, table = pg_table
    repo = await XRepoFactory.create(
        resource=db, model_class=City, collection=table, materialized=True
    )
    assert isinstance(repo, MaterializedRepo)
    await db.execute(f"DELETE FROM {db.dialect.quote(table)}")
    assert await repo.count() == 3  # a snapshot, independent of the table now


async def test_create_from_resource_generates_the_model(pg_table: Any) -> None:
    db, table = pg_table
    repo = await XRepoFactory.create_from_resource(db, collection=table)
    assert isinstance(repo, ConnectedSQLRepo)
    assert {"id", "name", "population"} <= set(repo.fields)
    assert repo.id_field == "id"
    assert [r.name for r in await repo.list({"population__gte": 1000})] == ["rome"]
    created = await repo.create({"id": 4, "name": "kyiv", "population": 2900})
    assert created.name == "kyiv"
    assert await repo.count() == 4


async def test_create_from_resource_on_mongodb(mongodb_url: str, unique_name: str) -> None:
    mongo = ResourceFactory.from_url(mongodb_url.replace("/?", "/xrepo_factory?"))
    await mongo.connect()
    try:
        await mongo.collection(unique_name).insert_many(
            [{"_id": r["id"], "name": r["name"], "population": r["population"]} for r in ROWS]
        )
        repo = await XRepoFactory.create(resource=mongo, model_class=City, collection=unique_name)
        assert isinstance(repo, ConnectedMongoRepo)
        assert [c.id for c in await repo.list({"name__in": ["rome", "lima"]})] == [2, 3]
    finally:
        await mongo.db.drop_collection(unique_name)
        await mongo.disconnect()


async def test_csv_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cities.csv"
    path.write_text("id,name,population\n1,oslo,700\n2,rome,2800\n3,lima,\n", encoding="utf-8")
    csv = ResourceFactory.create("csv", path=str(path))
    repo = await XRepoFactory.create(resource=csv, model_class=City)
    assert isinstance(repo, ConnectedFileRepo)
    assert [c.population for c in await repo.list()] == [700, 2800, None]
    await repo.update(3, {"population": 10_000})
    await repo.create({"id": 4, "name": "pune", "population": 3000})
    again = await XRepoFactory.create(
        resource=ResourceFactory.create("csv", path=str(path)), model_class=City
    )
    assert [(c.id, c.population) for c in await again.list(sort="id")] == [
        (1, 700),
        (2, 2800),
        (3, 10_000),
        (4, 3000),
    ]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _block_with_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()  # renaming the new file over a directory fails: the write cannot complete
    (path / "keep").write_text("x", encoding="utf-8")


async def test_file_write_failure_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cities.json"
    json_res = ResourceFactory.create("json", path=str(path), create_if_missing=True)
    repo = await XRepoFactory.create(resource=json_res, model_class=City)
    await repo.bulk_create(ROWS)
    _block_with_directory(path)
    with pytest.raises(XRepoError):
        await repo.create({"id": 9, "name": "x"})
    assert await repo.read(9) is None  # memory was rolled back with the failed write
    assert await repo.count() == 3
    assert _names(tmp_path) == ["cities.json"]  # no temporary file left behind


async def test_dead_server_is_a_connection_error(unique_name: str) -> None:
    db = ResourceFactory.from_url("postgresql://postgres@127.0.0.1:1/test", connect_timeout=1)
    repo = await XRepoFactory.create(resource=db, model_class=City, collection=unique_name)
    with pytest.raises(XRepoConnectionError):
        await repo.list()


async def test_resource_without_model() -> None:
    with pytest.raises(XRepoConfigurationError, match="model_class"):
        await XRepoFactory.create(resource=ResourceFactory.create("csv", path="/x.csv"))


async def test_connected_repo_from_a_discovered_schema(pg_table: Any) -> None:
    from xinspector import XInspector
    from xrepo import ConnectedRepo

    db, table = pg_table
    schema = await XInspector(db).discover_schema(table)
    repo = ConnectedRepo(schema, db, collection=table)
    assert isinstance(repo, ConnectedSQLRepo)
    assert isinstance(repo, ConnectedRepo)
    assert await repo.count({"name__in": ["oslo", "lima"]}) == 2


async def test_rest_resource_defaults_to_a_materialized_snapshot() -> None:
    from aiohttp import web

    async def users(_: web.Request) -> web.Response:
        return web.json_response({"items": [{"id": 1, "name": "ann"}, {"id": 2, "name": "bo"}]})

    app = web.Application()
    app.router.add_get("/users", users)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        api = ResourceFactory.from_url(f"http://127.0.0.1:{port}")
        async with api:
            repo = await XRepoFactory.create(resource=api, path="/users", name="users")
            assert isinstance(repo, MaterializedRepo)
            assert [u.name for u in await repo.list({"name__startswith": "a"})] == ["ann"]
            with pytest.raises(XRepoConfigurationError, match="list of objects"):
                await XRepoFactory.create(resource=api, path="/users", data_key="nope")
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("kind", "suffix", "engine"),
    [
        ("csv", "csv", False),
        ("json", "json", False),
        ("json", "jsonl", True),  # JSON Lines and Parquet: read in place by DuckDB by default
        ("parquet", "parquet", True),
        ("yaml", "yaml", False),
        ("excel", "xlsx", False),
    ],
)
async def test_every_file_format_round_trips(
    tmp_path: Path, kind: str, suffix: str, engine: bool
) -> None:
    path = str(tmp_path / f"cities.{suffix}")
    repo = await XRepoFactory.create(
        resource=ResourceFactory.create(kind, path=path, create_if_missing=True),
        model_class=City,
        collection="cities" if kind == "excel" else None,
    )
    assert isinstance(repo, ConnectedEngineFileRepo if engine else ConnectedFileRepo)
    await repo.bulk_create(ROWS)
    await repo.update(1, {"population": 701})
    await repo.delete(2)
    again = await XRepoFactory.create(
        resource=ResourceFactory.create(kind, path=path),
        model_class=City,
        collection="cities" if kind == "excel" else None,
    )
    got = await again.aggregate([{"$sort": {"id": 1}}])
    assert [(d["id"], d["name"], d["population"]) for d in got] == [
        (1, "oslo", 701),
        (3, "lima", None),
    ]


# -- create() options on PostgreSQL and MongoDB (issue 15) ---------------------------------------
#: Tighter than the defaults (500-character regexes, 10,000 $in values).
TIGHT = FilterLimits(max_regex_length=8, max_in_values=2)
LONG_REGEX = {"name": {"$regex": "^(oslo|rome)$"}}  # 13 characters
THREE_IN = {"id": {"$in": [1, 2, 3]}}


@contextlib.asynccontextmanager
async def mongo_cities(mongodb_url: str, name: str) -> AsyncIterator[Any]:
    mongo = ResourceFactory.from_url(mongodb_url.replace("/?", "/xrepo_factory?"))
    await mongo.connect()
    try:
        await mongo.collection(name).insert_many(
            [{"_id": r["id"], "name": r["name"], "population": r["population"]} for r in ROWS]
        )
        yield mongo
    finally:
        await mongo.db.drop_collection(name)
        await mongo.disconnect()


async def _check_limits(repo: Any) -> None:
    with pytest.raises(XRepoValidationError, match="regex longer than 8 characters"):
        await repo.list(LONG_REGEX)
    with pytest.raises(XRepoValidationError, match="limit of 2"):
        await repo.count(THREE_IN)
    assert await repo.count({"name": {"$regex": "^rome$"}}) == 1


@pytest.mark.parametrize("how", ["connected", "snapshot", "from_resource"])
async def test_limits_reach_the_postgres_repository(pg_table: Any, how: str) -> None:
    db, table = pg_table
    if how == "from_resource":
        default = await XRepoFactory.create_from_resource(db, City, collection=table)
        repo = await XRepoFactory.create_from_resource(db, City, collection=table, limits=TIGHT)
    else:
        options: dict[str, Any] = {"materialized": how == "snapshot"}
        default = await XRepoFactory.create(
            resource=db, model_class=City, collection=table, **options
        )
        repo = await XRepoFactory.create(
            resource=db, model_class=City, collection=table, limits=TIGHT, **options
        )
    assert await default.count(LONG_REGEX) == 2  # the defaults accept what TIGHT refuses
    assert await default.count(THREE_IN) == 3
    await _check_limits(repo)


@pytest.mark.parametrize("how", ["connected", "snapshot", "from_resource"])
async def test_limits_reach_the_mongodb_repository(
    mongodb_url: str, unique_name: str, how: str
) -> None:
    async with mongo_cities(mongodb_url, unique_name) as mongo:
        if how == "from_resource":
            repo = await XRepoFactory.create_from_resource(
                mongo, City, collection=unique_name, limits=TIGHT
            )
        else:
            repo = await XRepoFactory.create(
                resource=mongo,
                model_class=City,
                collection=unique_name,
                materialized=how == "snapshot",
                limits=TIGHT,
            )
        await _check_limits(repo)


async def test_unknown_options_are_refused_on_postgres_and_mongodb(
    pg_table: Any, mongodb_url: str, unique_name: str
) -> None:
    db, table = pg_table
    with pytest.raises(XRepoConfigurationError, match=r"'cache_tll' \(did you mean 'cache_ttl'"):
        await XRepoFactory.create(resource=db, model_class=City, collection=table, cache_tll=5)
    with pytest.raises(XRepoConfigurationError, match=r"'soft_delet' \(did you mean"):
        await XRepoFactory.create_from_resource(db, City, collection=table, soft_delet=False)
    async with mongo_cities(mongodb_url, unique_name) as mongo:
        with pytest.raises(XRepoConfigurationError, match=r"'limts' \(did you mean 'limits'"):
            await XRepoFactory.create(
                resource=mongo, model_class=City, collection=unique_name, limts=TIGHT
            )
        assert await mongo.collection(unique_name).count_documents({}) == 3  # nothing touched


async def test_secure_repo_over_postgres_honours_the_metadata(pg_table: Any) -> None:
    # Built directly, as the factory would build it: an audit log bounded by
    # audit_max_entries, a memory cache for cache_ttl seconds, latency per operation.
    db, table = pg_table
    meta = RepoMetadata(
        name=table, collection=table, audit_max_entries=2, cache_enabled=True, cache_ttl=60
    )
    repo = SecureRepo(ConnectedSQLRepo(resource=db, model_class=City, metadata=meta))
    for i in (1, 2, 3):
        await repo.update(i, {"population": i})
    assert [e.entity_id for e in await repo.get_audit_log()] == ["3", "2"]
    assert repo.cache is not None
    await repo.count()
    assert await repo.count() == 3
    assert repo.cache.stats().hits == 1
    assert (await repo.get_statistics()).latency["update"].count == 3
    off = RepoMetadata(name=table, collection=table, enable_audit=False, enable_statistics=False)
    quiet = SecureRepo(ConnectedSQLRepo(resource=db, model_class=City, metadata=off))
    await quiet.update(1, {"population": 5})
    with pytest.raises(XRepoConfigurationError, match="auditing is off"):
        await quiet.get_audit_log()
    assert (await quiet.get_statistics()).latency == {}
