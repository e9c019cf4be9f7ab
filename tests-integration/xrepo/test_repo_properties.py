"""Property-based: MaterializedRepo and MongoDB answer random filters on random data alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xobj_prototype import XObjPrototype
from xrepo import ConnectedMongoRepo, MaterializedRepo, XRepo
from xrepo.query import MATCH_ALL
from xresource import ResourceFactory


class Doc(XObjPrototype):
    id: int
    name: str
    age: int | None = None
    city: str | None = None
    tags: list[str] = []


values = st.one_of(st.none(), st.integers(-3, 3))
cities = st.one_of(st.none(), st.sampled_from(["oslo", "rome"]))
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["ann", "bob", "Ann", "cy"]),
            "age": values,
            "city": cities,
            "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
        }
    ),
    max_size=12,
)
leaf = st.one_of(
    st.builds(
        lambda op, v: {"age": {op: v}},
        st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
        values,
    ),
    st.builds(lambda vs: {"age": {"$in": vs}}, st.lists(values, max_size=3)),
    st.builds(lambda vs: {"city": {"$nin": vs}}, st.lists(cities, max_size=2)),
    st.builds(lambda b: {"city": {"$exists": b}}, st.booleans()),
    st.builds(lambda s: {"name__istartswith": s}, st.sampled_from(["a", "B", ""])),
    st.builds(lambda s: {"name": {"$regex": s}}, st.sampled_from(["^a", "n$", "o"])),
    st.builds(lambda t: {"tags": t}, st.sampled_from(["a", "b"])),
    st.builds(lambda v: {"age": {"$not": {"$lt": v}}}, st.integers(-3, 3)),
)
filters_strategy = st.recursive(
    leaf,
    lambda c: st.one_of(
        st.builds(lambda cs: {"$and": cs}, st.lists(c, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$or": cs}, st.lists(c, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$nor": cs}, st.lists(c, min_size=1, max_size=3)),
    ),
    max_leaves=5,
)
sorts = st.sampled_from([None, [("age", 1)], [("city", -1), ("age", 1)], [("name", 1)]])


@pytest.fixture
def mongo_repo(mongodb_url: str, unique_name: str) -> Iterator[tuple[Any, XRepo[Doc]]]:
    loop = asyncio.new_event_loop()
    resource = ResourceFactory.from_url(mongodb_url.replace("/?", "/xrepo_properties?"))
    loop.run_until_complete(resource.connect())
    repo = ConnectedMongoRepo(resource=resource, model_class=Doc, collection=unique_name)
    try:
        yield loop, repo
    finally:
        loop.run_until_complete(resource.db.drop_collection(unique_name))
        loop.run_until_complete(resource.disconnect())
        loop.close()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=rows_strategy, filters=filters_strategy, sort=sorts)
def test_memory_and_mongodb_agree(
    mongo_repo: tuple[Any, XRepo[Doc]],
    rows: list[dict[str, Any]],
    filters: dict[str, Any],
    sort: Any,
) -> None:
    loop, repo = mongo_repo
    data = [{"id": i + 1, **r} for i, r in enumerate(rows)]
    memory = MaterializedRepo(model_class=Doc, data=data)

    async def run() -> tuple[list[Any], list[Any], int, int]:
        await repo._delete_where(MATCH_ALL)  # a clean collection for every example
        if data:
            await repo.bulk_create(data)
        ours = [m.id for m in await repo.list(filters, sort=sort, limit=None)]
        mine = [m.id for m in await memory.list(filters, sort=sort, limit=None)]
        return ours, mine, await repo.count(filters), await memory.count(filters)

    ours, mine, n_ours, n_mine = loop.run_until_complete(run())
    assert ours == mine
    assert n_ours == n_mine == len(mine)
