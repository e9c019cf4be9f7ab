"""Helpers of the secured-repository suites: one repository per backend, and a TCP proxy.

``open_backend(kind, ...)`` yields a repository of :class:`Doc` seeded with ``DOCS`` (and an
``Order`` table/collection next to it for ``$lookup``) on PostgreSQL, MariaDB, SQLite, MongoDB,
a CSV or JSON file, or in memory; tables and collections get unique names and are dropped after.

:class:`TcpProxy` forwards a local port to a real server and can be stopped and restarted: a
real outage of the network path to a server (an audit store, Redis), not a stand-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepo, XRepoFactory
from xrepo.audit import AuditSink, JSONLinesAuditSink, MongoAuditSink, SQLAuditSink
from xresource import ResourceFactory

BACKENDS = ["memory", "sqlite", "postgresql", "mysql", "mongodb", "duckdb", "csv", "json"]
LOOKUP_BACKENDS = ["memory", "sqlite", "postgresql", "mysql", "mongodb", "duckdb"]


class Doc(XObjPrototype):
    id: int | None = None
    owner: str
    team: str = "a"
    title: str
    salary: int = 0
    version: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


class Order(XObjPrototype):
    id: int
    doc_id: int
    owner: str
    cost: int
    margin: int = 0


DOCS = [
    {
        "id": i,
        "owner": "u1" if i % 2 else "u2",
        "team": "a" if i <= 5 else "b",
        "title": f"t{i}",
        "salary": i * 100,
    }
    for i in range(1, 11)
]
ORDERS = [
    {"id": 100 + i, "doc_id": i, "owner": "u1" if i % 3 else "u2", "cost": i, "margin": i * 2}
    for i in range(1, 11)
]

DOC_DDL = {
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, team TEXT, title TEXT, "
        "salary INTEGER, version INTEGER, created_at TEXT, updated_at TEXT, deleted_at TEXT)"
    ),
    "postgresql": (
        "CREATE TABLE {t} (id SERIAL PRIMARY KEY, owner TEXT NOT NULL, team TEXT, title TEXT, "
        "salary INTEGER, version INTEGER, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, "
        "deleted_at TIMESTAMPTZ)"
    ),
    "mysql": (
        "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, owner VARCHAR(50) NOT NULL, "
        "team VARCHAR(50), title VARCHAR(200), salary INT, version INT, "
        "created_at DATETIME(6), updated_at DATETIME(6), deleted_at DATETIME(6)) "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ),
    "duckdb": (
        "CREATE SEQUENCE IF NOT EXISTS {t_seq} START 1000; "
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY DEFAULT nextval('{t_seq}'), "
        "owner VARCHAR NOT NULL, team VARCHAR, title VARCHAR, salary BIGINT, version BIGINT, "
        "created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ)"
    ),
}
ORDER_DDL = {
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, doc_id INTEGER, owner TEXT, cost INTEGER, "
        "margin INTEGER)"
    ),
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, doc_id INTEGER, owner TEXT, cost INTEGER, "
        "margin INTEGER)"
    ),
    "mysql": (
        "CREATE TABLE {t} (id INT PRIMARY KEY, doc_id INT, owner VARCHAR(50), cost INT, margin INT)"
    ),
    "duckdb": (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, doc_id BIGINT, owner VARCHAR, cost BIGINT, "
        "margin BIGINT)"
    ),
}


def mongo_db_url(url: str, db: str = "xrepo_secure") -> str:
    """``url`` pointing at database ``db``."""
    return url.replace("/?", f"/{db}?") if "/?" in url else url.rstrip("/") + f"/{db}"


def backend_urls(request: pytest.FixtureRequest) -> dict[str, str]:
    """The server URLs :func:`open_backend` needs, from the session's fixtures."""
    return {
        "postgresql": request.getfixturevalue("postgres_url"),
        "mysql": request.getfixturevalue("mysql_url"),
        "mongodb": request.getfixturevalue("mongodb_url"),
    }


@contextlib.asynccontextmanager
async def sql_tables(url: str, tables: Mapping[str, str]) -> AsyncIterator[Any]:
    """A connected SQL resource at ``url`` with ``tables`` created (name -> DDL, ``{t}`` standing
    for the quoted name); the tables are dropped and the resource disconnected on exit."""
    resource = ResourceFactory.from_url(url)
    await resource.connect()
    q = resource.dialect.quote
    try:
        for name, ddl in tables.items():
            # {t_seq}: a sequence beside the table, for databases without SERIAL (DuckDB).
            for statement in ddl.format(t=q(name), t_seq=f"{name}_seq").split("; "):
                await resource.execute(statement)
        yield resource
    finally:
        for name in tables:
            await resource.execute(f"DROP TABLE IF EXISTS {q(name)}")
        await resource.disconnect()


@contextlib.asynccontextmanager
async def mongo_collections(url: str, names: Sequence[str]) -> AsyncIterator[Any]:
    """A connected MongoDB resource at ``url``; ``names`` are dropped and the resource
    disconnected on exit."""
    resource = ResourceFactory.from_url(url)
    await resource.connect()
    try:
        yield resource
    finally:
        for name in names:
            await resource.db.drop_collection(name)
        await resource.disconnect()


@contextlib.asynccontextmanager
async def open_backend(
    kind: str,
    *,
    name: str,
    tmp_path: Path,
    urls: dict[str, str],
    docs: list[dict[str, Any]] | None = None,
) -> AsyncIterator[tuple[XRepo[Doc], str, Any]]:
    """``(repository of Doc seeded with docs, orders source name, resource or None)``."""
    docs = DOCS if docs is None else docs
    orders = f"{name}_orders"
    if kind == "memory":
        order_repo = MaterializedRepo(model_class=Order, data=ORDERS)
        repo = MaterializedRepo(model_class=Doc, data=docs, name=name, related={orders: order_repo})
        yield repo, orders, None
        return
    if kind in ("csv", "json"):
        resource = ResourceFactory.create(
            kind, path=str(tmp_path / f"{name}.{kind}"), create_if_missing=True
        )
        repo = await XRepoFactory.create(resource=resource, model_class=Doc, name=name)
        if docs:
            await repo.bulk_create(docs)
        yield repo, orders, resource
        return
    if kind == "mongodb":
        async with mongo_collections(mongo_db_url(urls["mongodb"]), [name, orders]) as resource:
            repo = await XRepoFactory.create(
                resource=resource, model_class=Doc, collection=name, lookups=[orders]
            )
            if docs:
                await repo.bulk_create(docs)
            order_repo = await XRepoFactory.create(
                resource=resource, model_class=Order, collection=orders
            )
            await order_repo.bulk_create(ORDERS)
            yield repo, orders, resource
        return
    url = {
        "sqlite": f"sqlite:///{tmp_path / f'{name}.db'}",
        "duckdb": f"duckdb:///{tmp_path / f'{name}.duckdb'}",
    }.get(kind) or urls[kind]
    async with sql_tables(url, {name: DOC_DDL[kind], orders: ORDER_DDL[kind]}) as resource:
        repo = await XRepoFactory.create(
            resource=resource, model_class=Doc, collection=name, lookups=[orders]
        )
        if docs:
            await repo.bulk_create(docs)
        order_repo = await XRepoFactory.create(
            resource=resource, model_class=Order, collection=orders, soft_delete=False
        )
        await order_repo.bulk_create(ORDERS)
        if kind == "postgresql" and docs:
            # Explicit ids were inserted: move the sequence past them for generated ones.
            await resource.execute("SELECT setval(pg_get_serial_sequence($1, 'id'), 1000)", [name])
        yield repo, orders, resource


#: The session fixture holding each server's URL, by backend.
URL_FIXTURES = {"postgresql": "postgres_url", "mysql": "mysql_url", "mongodb": "mongodb_url"}


@contextlib.asynccontextmanager
async def seeded_repo(
    request: pytest.FixtureRequest,
    kind: str,
    *,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    ddl: Mapping[str, str],
    name: str,
    tmp_path: Path,
    database: str = "xrepo_tests",
) -> AsyncIterator[XRepo[Any]]:
    """A repository of ``model`` holding ``rows`` on backend ``kind``: in memory, a MongoDB
    collection of ``database``, or a SQL table made with ``ddl[kind]`` (``{t}`` standing for the
    quoted ``name``); the collection or table is dropped on exit."""
    if kind == "memory":
        yield MaterializedRepo(model_class=model, data=list(rows))
        return
    if kind == "mongodb":
        url = mongo_db_url(request.getfixturevalue(URL_FIXTURES[kind]), database)
        async with mongo_collections(url, [name]) as resource:
            repo = await XRepoFactory.create(resource=resource, model_class=model, collection=name)
            await repo.bulk_create(list(rows))
            yield repo
        return
    url = {
        "sqlite": f"sqlite:///{tmp_path / f'{name}.db'}",
        "duckdb": f"duckdb:///{tmp_path / f'{name}.duckdb'}",
    }.get(kind) or request.getfixturevalue(URL_FIXTURES[kind])
    async with sql_tables(url, {name: ddl[kind]}) as resource:
        repo = await XRepoFactory.create(resource=resource, model_class=model, collection=name)
        await repo.bulk_create(list(rows))
        yield repo


def seeded_repo_fixture(
    backends: Sequence[str],
    *,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    ddl: Mapping[str, str],
    database: str = "xrepo_tests",
) -> Any:
    """A ``repo`` fixture for a test module: :func:`seeded_repo` on each of ``backends``.

    Assign it in the module: ``repo = seeded_repo_fixture(BACKENDS, model=Rec, rows=ROWS, ...)``.
    """

    @pytest.fixture(params=backends, name="repo")
    async def fixture(
        request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
    ) -> AsyncIterator[XRepo[Any]]:
        async with seeded_repo(
            request,
            request.param,
            model=model,
            rows=rows,
            ddl=ddl,
            name=unique_name,
            tmp_path=tmp_path,
            database=database,
        ) as repo:
            yield repo

    return fixture


@pytest.fixture(params=BACKENDS, name="backend")
async def backend_and_orders(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[tuple[str, XRepo[Doc], str]]:
    """The ``backend`` fixture of a module importing it: ``(kind, repository of Doc seeded with
    DOCS, orders source name)`` on every backend."""
    urls = backend_urls(request)
    async with open_backend(request.param, name=unique_name, tmp_path=tmp_path, urls=urls) as (
        repo,
        orders,
        _,
    ):
        yield request.param, repo, orders


@pytest.fixture(params=BACKENDS, name="backend")
async def backend_and_resource(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[tuple[str, XRepo[Doc], Any]]:
    """The ``backend`` fixture of a module importing it: ``(kind, repository of Doc seeded with
    DOCS, its resource or None)`` on every backend."""
    urls = backend_urls(request)
    async with open_backend(request.param, name=unique_name, tmp_path=tmp_path, urls=urls) as (
        repo,
        _,
        resource,
    ):
        yield request.param, repo, resource


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; :meth:`stop` cuts every connection and
    refuses new ones until :meth:`start` again (same port).

    Not a mock: every byte goes to the real server; stopping closes the listening socket and
    aborts every relayed connection, as a crashed server or a network partition would.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    @contextlib.asynccontextmanager
    async def in_front_of(cls, url: str, default_port: int) -> AsyncIterator[tuple[TcpProxy, str]]:
        """A started proxy to the server of ``url`` and the same url through the proxy;
        stopped on exit."""
        parts = urlsplit(url)
        proxy = cls(parts.hostname or "127.0.0.1", parts.port or default_port)
        await proxy.start()
        try:
            userinfo = parts.netloc.rpartition("@")[0]
            netloc = (f"{userinfo}@" if userinfo else "") + f"127.0.0.1:{proxy.port}"
            yield proxy, urlunsplit(parts._replace(netloc=netloc))
        finally:
            await proxy.stop()

    async def start(self) -> None:
        """Listen (on the same port as before, after a stop)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every relayed connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Cut the connections before waiting for the server: since Python 3.12 wait_closed()
        # also waits for the connections it accepted, which only end here.
        for w in list(self._writers):
            w.transport.abort()
        for t in list(self._pipes):
            t.cancel()
        for t in list(self._pipes):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await t
        self._pipes.clear()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        for t in (
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ):
            self._pipes.add(t)
            t.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            dst.transport.abort()


def sink_for(kind: str, resource: Any, tmp_path: Path, name: str) -> AuditSink:
    """A real audit sink beside backend ``kind``: a table of its database, a collection of its
    MongoDB, a JSON-lines file otherwise."""
    if kind in ("sqlite", "postgresql", "mysql", "duckdb"):
        return SQLAuditSink(resource, table=f"{name}_audit")
    if kind == "mongodb":
        return MongoAuditSink(resource, collection=f"{name}_audit")
    return JSONLinesAuditSink(tmp_path / f"{name}_audit.jsonl")


async def drop_sink(sink: AuditSink) -> None:
    """Remove what :func:`sink_for` made."""
    if isinstance(sink, SQLAuditSink):
        await sink.drop_table()
    elif isinstance(sink, MongoAuditSink):
        await sink.drop()
    else:
        await sink.close()
