"""MaterializedRepo: CRUD, versions, soft delete, bad input, the specification's constructors.

Also what ``XRepoFactory.create`` builds by default (memory data, a CSV file) and a registered
strategy winning by priority. The engine under MaterializedRepo is checked against SQLite in
``tests/compile/test_engine.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xobj_prototype import XObjPrototype
from xrepo import (
    MaterializedRepo,
    XRepoConfigurationError,
    XRepoConflictError,
    XRepoFactory,
    XRepoValidationError,
)


class User(XObjPrototype):
    id: int | None = None
    name: str
    age: int | None = None
    city: str | None = None
    tags: list[str] = []
    version: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


async def test_materialized_crud_and_metadata() -> None:
    repo = MaterializedRepo(model_class=User, data=[{"name": "a", "age": 1}], indexes=["city"])
    created = await repo.create({"name": "b", "age": 2, "city": "oslo"})
    assert created.id == 2
    assert created.version == 1
    assert created.created_at is not None
    assert [u.id for u in await repo.list({"city": "oslo"})] == [2]
    updated = await repo.update(2, {"city": "rome", "version": 1})
    assert updated is not None
    assert updated.version == 2
    assert await repo.list({"city": "oslo"}) == []  # the index followed the update
    with pytest.raises(XRepoConflictError):
        await repo.update(2, {"age": 5, "version": 1})
    assert await repo.delete(2)
    assert await repo.read(2) is None
    assert (await repo.restore(2)) is not None
    assert await repo.bulk_delete([1, 2], soft=False) == 2
    assert len(repo) == 0


async def test_materialized_bad_input() -> None:
    repo = MaterializedRepo(model_class=User)
    with pytest.raises(XRepoValidationError, match="unknown field"):
        await repo.create({"name": "a", "password": "x"})
    with pytest.raises(XRepoValidationError, match="expected a User or a dict"):
        await repo.create(["name"])  # type: ignore[arg-type]
    with pytest.raises(XRepoValidationError, match="item 1"):
        await repo.bulk_create([{"name": "a"}, {"name": None}])
    assert len(repo) == 0
    with pytest.raises(XRepoConflictError, match="duplicate id"):
        await repo.bulk_create([{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])
    with pytest.raises(XRepoValidationError, match="invalid id"):
        await repo.read({"$gt": 1})
    with pytest.raises(XRepoValidationError, match="limit"):
        await repo.list(limit=-1)
    with pytest.raises(XRepoValidationError, match="the id field"):
        await repo.update(1, {"id": 2})
    with pytest.raises(XRepoValidationError, match="user_id"):
        await repo.list(user_id=5)  # type: ignore[arg-type]


async def test_soft_delete_needs_the_field() -> None:
    class Plain(XObjPrototype):
        id: int
        name: str

    repo = MaterializedRepo(model_class=Plain, data=[{"id": 1, "name": "a"}])
    with pytest.raises(XRepoConfigurationError, match="deleted_at"):
        await repo.delete(1, soft=True)
    assert await repo.delete(1) is True  # the default is a hard delete here
    with pytest.raises(XRepoConfigurationError, match="no id field"):
        MaterializedRepo(
            model_class=type("NoId", (XObjPrototype,), {"__annotations__": {"name": str}})
        )


async def test_factory_defaults() -> None:
    repo = await XRepoFactory.create(data=[{"name": "a", "n": 1}, {"name": "b", "n": 2.5}])
    assert isinstance(repo, MaterializedRepo)
    assert set(repo.fields) == {"id", "name", "n"}
    assert [r.id for r in await repo.list({"n__gt": 1})] == [2]
    with pytest.raises(XRepoConfigurationError, match="no strategy"):
        await XRepoFactory.create()


async def test_spec_constructors() -> None:
    from xrepo import ConnectedRepo

    schema = {
        "collection": "points",
        "fields": {
            "id": {"type": "int", "required": True},
            "x": {"type": "float", "required": False},
        },
    }
    repo: MaterializedRepo[Any] = MaterializedRepo(schema, [{"id": 1, "x": 2.5}])
    assert repo.model_class.__name__ == "Points"
    assert [p.x for p in await repo.list()] == [2.5]
    inferred: MaterializedRepo[Any] = MaterializedRepo(None, [{"x": 1}, {"x": 2}])
    assert [p.id for p in await inferred.list({"x__gt": 1})] == [2]
    with pytest.raises(XRepoConfigurationError, match="needs a model_class"):
        MaterializedRepo()
    with pytest.raises(XRepoConfigurationError, match="needs a resource"):
        ConnectedRepo(schema)
    assert not isinstance(repo, ConnectedRepo)


async def test_csv_file_repo_round_trips_missing_values(tmp_path: Any) -> None:
    from xrepo import ConnectedFileRepo
    from xresource import ResourceFactory

    path = str(tmp_path / "users.csv")
    repo = await XRepoFactory.create(
        resource=ResourceFactory.create("csv", path=path, create_if_missing=True),
        model_class=User,
    )
    assert isinstance(repo, ConnectedFileRepo)
    await repo.bulk_create([{"name": "a", "tags": ["x", "y"]}, {"name": "b", "city": "oslo"}])
    again = await XRepoFactory.create(
        resource=ResourceFactory.create("csv", path=path), model_class=User
    )
    got = await again.list(sort="id")
    assert [(u.name, u.city, u.tags, u.age) for u in got] == [
        ("a", None, ["x", "y"], None),
        ("b", "oslo", [], None),
    ]
    assert got[0].created_at is not None
    assert got[0].version == 1


async def test_custom_strategy_wins_by_priority() -> None:
    from xrepo import RepoCreationStrategy, XRepo

    class Fixtures(RepoCreationStrategy):
        priority = 1000

        def can_handle(self, **inputs: Any) -> bool:
            return inputs.get("fixture") == "users"

        async def create_repo(self, **inputs: Any) -> XRepo[Any]:
            return MaterializedRepo(model_class=User, data=[{"name": "fixture"}])

    strategy = Fixtures()
    XRepoFactory.register_strategy(strategy)
    try:
        repo = await XRepoFactory.create(fixture="users", data=[{"name": "ignored"}])
        assert [u.name for u in await repo.list()] == ["fixture"]
        other = await XRepoFactory.create(data=[{"name": "plain"}])
        assert [u.name for u in await other.list()] == ["plain"]
    finally:
        XRepoFactory.unregister_strategy(strategy)
    with pytest.raises(XRepoConfigurationError, match="not a RepoCreationStrategy"):
        XRepoFactory.register_strategy(object())  # type: ignore[arg-type]
