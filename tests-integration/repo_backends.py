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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from xobj_prototype import XObjPrototype
from xrepo import MaterializedRepo, XRepo, XRepoFactory
from xresource import ResourceFactory

BACKENDS = ["memory", "sqlite", "postgresql", "mysql", "mongodb", "csv", "json"]
LOOKUP_BACKENDS = ["memory", "sqlite", "postgresql", "mysql", "mongodb"]


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
}


def mongo_db_url(url: str, db: str = "xrepo_secure") -> str:
    """``url`` pointing at database ``db``."""
    return url.replace("/?", f"/{db}?") if "/?" in url else url.rstrip("/") + f"/{db}"


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
        resource = ResourceFactory.from_url(mongo_db_url(urls["mongodb"]))
        await resource.connect()
        try:
            repo = await XRepoFactory.create(resource=resource, model_class=Doc, collection=name)
            if docs:
                await repo.bulk_create(docs)
            order_repo = await XRepoFactory.create(
                resource=resource, model_class=Order, collection=orders
            )
            await order_repo.bulk_create(ORDERS)
            yield repo, orders, resource
        finally:
            await resource.db.drop_collection(name)
            await resource.db.drop_collection(orders)
            await resource.disconnect()
        return
    url = f"sqlite:///{tmp_path / f'{name}.db'}" if kind == "sqlite" else urls[kind]
    resource = ResourceFactory.from_url(url)
    await resource.connect()
    q = resource.dialect.quote
    try:
        await resource.execute(DOC_DDL[kind].format(t=q(name)))
        await resource.execute(ORDER_DDL[kind].format(t=q(orders)))
        repo = await XRepoFactory.create(resource=resource, model_class=Doc, collection=name)
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
    finally:
        await resource.execute(f"DROP TABLE IF EXISTS {q(name)}")
        await resource.execute(f"DROP TABLE IF EXISTS {q(orders)}")
        await resource.disconnect()


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; :meth:`stop` cuts every connection and
    refuses new ones until :meth:`start` again (same port)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.close()
        for t in list(self._pipes):
            t.cancel()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        for t in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self._pipes.add(t)
            t.add_done_callback(self._pipes.discard)
