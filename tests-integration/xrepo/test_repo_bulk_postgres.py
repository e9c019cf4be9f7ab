"""``bulk_create`` on PostgreSQL: rows are prepared chunk by chunk while ``COPY`` streams them.

These batches are larger than one preparation chunk, so every failure below happens after the
server has already received rows: the point is that none of them is ever committed, that the
error names the failing item, and that the pooled connection is fine afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from repo_backends import sql_tables

from xrepo import XRepo, XRepoConflictError, XRepoFactory, XRepoValidationError
from xrepo.stores import SQLStore

COPY_PREPARE_CHUNK = SQLStore.COPY_PREPARE_CHUNK
N = COPY_PREPARE_CHUNK * 2 + 500  # three chunks: failures land in the middle of the stream


class Item(BaseModel):
    id: int
    name: str
    qty: int


class Stamped(BaseModel):
    id: int
    name: str
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    version: int | None = None


class Revalidated(BaseModel):
    model_config = ConfigDict(revalidate_instances="always")
    id: int
    name: str
    qty: int


def _items(n: int = N) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"n{i}", "qty": i % 7} for i in range(n)]


@pytest.fixture
async def pg(postgres_url: str, unique_name: str) -> AsyncIterator[tuple[Any, str]]:
    ddl = "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)"
    async with sql_tables(postgres_url, {unique_name: ddl}) as resource:
        yield resource, unique_name


async def _repo(pg: tuple[Any, str], model: type[BaseModel] = Item) -> XRepo[Any]:
    resource, table = pg
    return await XRepoFactory.create(resource=resource, model_class=model, collection=table)


async def test_dicts_and_models_round_trip(pg: tuple[Any, str]) -> None:
    repo = await _repo(pg)
    created = await repo.bulk_create(_items())
    assert [m.id for m in created] == list(range(N))
    models = [Item(id=N + i, name=f"m{i}", qty=1) for i in range(N)]
    back = await repo.bulk_create(models)
    # Instances of the repo's model are stored as they are: pydantic already validated them.
    assert all(a is b for a, b in zip(back, models, strict=True))
    assert await repo.count() == 2 * N
    assert (await repo.read(N + 7)) == Item(id=N + 7, name="m7", qty=1)


@pytest.mark.parametrize("bad_at", [3, COPY_PREPARE_CHUNK + 17, N - 1])
async def test_invalid_item_aborts_the_stream(pg: tuple[Any, str], bad_at: int) -> None:
    repo = await _repo(pg)
    rows = _items()
    rows[bad_at] = {**rows[bad_at], "qty": "not a number"}
    with pytest.raises(XRepoValidationError) as info:
        await repo.bulk_create(rows)
    assert info.value.item == bad_at
    assert "qty" in str(info.value)
    assert await repo.count() == 0  # the rows already sent were never committed
    # The pooled connection that carried the aborted COPY works.
    assert len(await repo.bulk_create(_items(COPY_PREPARE_CHUNK))) == COPY_PREPARE_CHUNK


async def test_duplicate_across_chunks_names_the_second(pg: tuple[Any, str]) -> None:
    repo = await _repo(pg)
    rows = _items()
    second = COPY_PREPARE_CHUNK * 2 + 3
    rows[second] = {**rows[second], "id": 11}
    with pytest.raises(XRepoConflictError) as info:
        await repo.bulk_create(rows)
    assert info.value.item == second
    assert await repo.count() == 0


async def test_server_rejection_names_the_item(pg: tuple[Any, str]) -> None:
    repo = await _repo(pg)
    await repo.create({"id": COPY_PREPARE_CHUNK + 5, "name": "there", "qty": 0})
    with pytest.raises(XRepoConflictError) as info:
        await repo.bulk_create(_items())
    assert info.value.item == COPY_PREPARE_CHUNK + 5
    assert await repo.count() == 1


async def test_wrong_input_type_in_the_last_chunk(pg: tuple[Any, str]) -> None:
    repo = await _repo(pg)
    rows: list[Any] = _items()
    rows[-1] = ["not", "a", "record"]
    with pytest.raises(XRepoValidationError) as info:
        await repo.bulk_create(rows)
    assert info.value.item == N - 1
    assert await repo.count() == 0


async def test_database_made_ids_fall_back_to_insert(postgres_url: str, unique_name: str) -> None:
    class Auto(BaseModel):
        id: int | None = None
        name: str

    ddl = "CREATE TABLE {t} (id SERIAL PRIMARY KEY, name TEXT NOT NULL)"
    async with sql_tables(postgres_url, {unique_name: ddl}) as resource:
        repo = await XRepoFactory.create(
            resource=resource, model_class=Auto, collection=unique_name
        )
        n = COPY_PREPARE_CHUNK + 10
        created = await repo.bulk_create([{"name": f"a{i}"} for i in range(n)])
        assert sorted(m.id for m in created) == list(range(1, n + 1))
        assert await repo.count() == n


async def test_metadata_is_stamped_on_copies_of_instances(
    postgres_url: str, unique_name: str
) -> None:
    ddl = (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT, created_at TIMESTAMPTZ, "
        "updated_at TIMESTAMPTZ, version INTEGER)"
    )
    async with sql_tables(postgres_url, {unique_name: ddl}) as resource:
        repo = await XRepoFactory.create(
            resource=resource, model_class=Stamped, collection=unique_name
        )
        mine = [Stamped(id=i, name=f"s{i}") for i in range(COPY_PREPARE_CHUNK + 1)]
        back = await repo.bulk_create(mine)
        assert all(m.created_at is None and m.version is None for m in mine)  # untouched
        assert all(b.created_at is not None and b.version == 1 for b in back)
        stored = await repo.read(3)
        assert stored is not None
        assert stored.version == 1
        assert stored.created_at == back[3].created_at


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the broken instance
async def test_revalidate_instances_is_honoured(pg: tuple[Any, str]) -> None:
    repo = await _repo(pg, Revalidated)
    models = [Revalidated(id=i, name=f"r{i}", qty=1) for i in range(COPY_PREPARE_CHUNK + 1)]
    models[42].qty = "many"  # type: ignore[assignment]  # no validate_assignment on this model
    with pytest.raises(XRepoValidationError) as info:
        await repo.bulk_create(models)
    assert info.value.item == 42
    assert await repo.count() == 0
