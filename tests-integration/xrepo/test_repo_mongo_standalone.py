"""MongoDB without a replica set: no transactions, so bulk writes compensate instead.

A standalone ``mongod`` (the same binary the suite's replica set runs) is started on a free port
for this module and stopped after it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import test_servers

from xobj_prototype import XObjPrototype
from xrepo import ConnectedMongoRepo, XRepoConflictError
from xresource import ResourceFactory


class Item(XObjPrototype):
    id: int
    name: str
    qty: int = 0
    version: int | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def standalone_url(server_env: dict[str, str]) -> Iterator[str]:
    mongod = test_servers.find_mongod(sys.executable)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="xrepo-standalone-") as dbpath:
        proc = subprocess.Popen(
            [
                mongod,
                "--dbpath",
                dbpath,
                "--bind_ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--nounixsocket",
                "--quiet",
                "--wiredTigerCacheSizeGB",
                "0.25",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        pytest.fail("the standalone mongod did not start", pytrace=False)
                    time.sleep(0.2)
            yield f"mongodb://127.0.0.1:{port}/standalone"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture
async def repo(standalone_url: str, unique_name: str) -> AsyncIterator[ConnectedMongoRepo[Item]]:
    mongo = ResourceFactory.from_url(standalone_url)
    await mongo.connect()
    try:
        yield ConnectedMongoRepo(resource=mongo, model_class=Item, collection=unique_name)
    finally:
        await mongo.db.drop_collection(unique_name)
        await mongo.disconnect()


async def test_standalone_has_no_transactions(repo: ConnectedMongoRepo[Item]) -> None:
    assert await repo.supports_transactions() is False


async def test_failed_bulk_create_takes_back_what_went_in(repo: ConnectedMongoRepo[Item]) -> None:
    await repo.create({"id": 3, "name": "there"})
    with pytest.raises(XRepoConflictError) as info:
        await repo.bulk_create(
            [
                {"id": 1, "name": "a"},
                {"id": 2, "name": "b"},
                {"id": 3, "name": "dup"},
                {"id": 4, "name": "d"},
            ]
        )
    assert info.value.item == 2
    assert [i.id for i in await repo.list()] == [3]


async def test_failed_bulk_update_restores_earlier_items(repo: ConnectedMongoRepo[Item]) -> None:
    await repo.bulk_create([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    assert await repo.bulk_update([(1, {"qty": 5}), (2, {"qty": 6})]) == 2
    with pytest.raises(XRepoConflictError) as info:
        await repo.bulk_update([(1, {"qty": 50}), (2, {"qty": 60, "version": 1})])
    assert info.value.item == 1
    assert [(i.qty, i.version) for i in await repo.list()] == [(5, 2), (6, 2)]
