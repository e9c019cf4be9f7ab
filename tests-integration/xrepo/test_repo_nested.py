"""Dotted paths into nested documents on every backend (JSON columns on SQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from repo_backends import mongo_collections, sql_tables

from xobj_prototype import XObjPrototype
from xrepo import XRepo, XRepoFactory
from xresource import ResourceFactory


class Person(XObjPrototype):
    id: int
    name: str
    address: dict[str, Any] = {}


PEOPLE = [
    {"id": 1, "name": "ann", "address": {"city": "oslo", "zip": 150}},
    {"id": 2, "name": "bob", "address": {"city": "rome", "zip": 1000}},
    {"id": 3, "name": "cy", "address": {"city": "oslo", "zip": 900}},
    {"id": 4, "name": "dan", "address": {}},
    {"id": 5, "name": "eve", "address": {"city": "lima", "zip": 42}},
]
DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT, address TEXT)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT, address JSONB)",
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(50), address JSON)",
}


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql", "mongodb", "json", "csv"])
async def people(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    unique_name: str,
    postgres_url: str,
    mysql_url: str,
    mongodb_url: str,
) -> AsyncIterator[tuple[str, XRepo[Person]]]:
    kind: str = request.param
    if kind == "memory":
        yield kind, await XRepoFactory.create(data=PEOPLE, model_class=Person)
        return
    if kind in ("json", "csv"):
        res = ResourceFactory.create(kind, path=str(tmp_path / f"p.{kind}"), create_if_missing=True)
        repo = await XRepoFactory.create(resource=res, model_class=Person)
        await repo.bulk_create(PEOPLE)
        yield kind, repo
        return
    if kind == "mongodb":
        url = mongodb_url.replace("/?", "/xrepo_nested?")
        async with mongo_collections(url, [unique_name]) as mongo:
            repo = await XRepoFactory.create(
                resource=mongo, model_class=Person, collection=unique_name
            )
            await repo.bulk_create(PEOPLE)
            yield kind, repo
        return
    url = {
        "sqlite": f"sqlite:///{tmp_path / 'n.db'}",
        "postgresql": postgres_url,
        "mysql": mysql_url,
    }[kind]
    async with sql_tables(url, {unique_name: DDL[kind]}) as db:
        repo = await XRepoFactory.create(resource=db, model_class=Person, collection=unique_name)
        await repo.bulk_create(PEOPLE)
        yield kind, repo


async def test_nested_filters(people: tuple[str, XRepo[Person]]) -> None:
    _, repo = people
    assert [p.id for p in await repo.list({"address.city": "oslo"})] == [1, 3]
    assert [p.id for p in await repo.list({"address.zip": {"$gt": 500}})] == [2, 3]
    assert [p.id for p in await repo.list({"address.zip__lte": 150})] == [1, 5]
    assert [p.id for p in await repo.list({"address__city__startswith": "r"})] == [2]
    assert [p.id for p in await repo.list({"address.city": None})] == [4]
    assert [p.id for p in await repo.list({"address.city": {"$ne": "oslo"}})] == [2, 4, 5]
    assert await repo.count({"address.city": {"$in": ["lima", "rome"]}}) == 2


async def test_nested_sort_and_group(people: tuple[str, XRepo[Person]]) -> None:
    _, repo = people
    assert [p.id for p in await repo.list(sort=[("address.city", 1)])] == [4, 5, 1, 3, 2]
    got = await repo.aggregate(
        [
            {"$match": {"address.city": {"$ne": None}}},
            {"$group": {"_id": "$address.city", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ]
    )
    assert got == [{"_id": "lima", "n": 1}, {"_id": "oslo", "n": 2}, {"_id": "rome", "n": 1}]
    read = await repo.read(2)
    assert read is not None
    assert read.address == {"city": "rome", "zip": 1000}
