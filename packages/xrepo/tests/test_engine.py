"""The in-memory engine and MaterializedRepo, checked against SQLite (stdlib ``sqlite3``)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xobj_prototype import XObjPrototype
from xrepo import (
    MaterializedRepo,
    XRepoConfigurationError,
    XRepoConflictError,
    XRepoFactory,
    XRepoValidationError,
    parse_filter,
    parse_pipeline,
)
from xrepo.compile import compile_filter, run_pipeline
from xrepo.compile.sql import SQLITE_FUNCTIONS, compiler_for
from xresource.databases.dialect import SQLITE


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


COLUMNS = ["id", "name", "age", "city", "tags"]


def sqlite_rows(rows: list[dict[str, Any]], node: Any, pipeline: Any = None) -> list[Any]:
    """Run the SQL the compiler produces on stdlib sqlite3."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    for fname, n_args, function in SQLITE_FUNCTIONS:  # as the repository does
        conn.create_function(fname, n_args, function, deterministic=True)
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, city TEXT, tags TEXT)"
    )
    conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
        [(r["id"], r["name"], r["age"], r["city"], json.dumps(r["tags"])) for r in rows],
    )
    compiler = compiler_for(SQLITE, columns=COLUMNS, array_columns={"tags"})
    if pipeline is not None:
        compiled = compiler.pipeline('"t"', pipeline)
        out = [dict(r) for r in conn.execute(compiled.sql, compiled.params)]
        return compiled.documents(out)
    sql, params = compiler.select('"t"', node, (("id", 1),))
    return [r["id"] for r in conn.execute(sql, params)]


values = st.one_of(st.none(), st.integers(-3, 3))
names = st.sampled_from(["ann", "bob", "cy", "Ann", "dan"])
cities = st.one_of(st.none(), st.sampled_from(["oslo", "rome"]))
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "name": names,
            "age": values,
            "city": cities,
            "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
        }
    ),
    max_size=15,
)


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    num = st.integers(-3, 3)
    return st.one_of(
        st.builds(
            lambda op, v: {"age": {op: v}},
            st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
            num,
        ),
        st.builds(lambda v: {"age": v}, values),
        st.builds(lambda vs: {"age": {"$in": vs}}, st.lists(values, max_size=3)),
        st.builds(lambda vs: {"city": {"$nin": vs}}, st.lists(cities, max_size=2)),
        st.builds(lambda b: {"city": {"$exists": b}}, st.booleans()),
        st.builds(lambda s: {"name__startswith": s}, st.sampled_from(["a", "A", "b", ""])),
        st.builds(lambda s: {"name__icontains": s}, st.sampled_from(["n", "AN", "%", "_"])),
        st.builds(lambda s: {"name__contains": s}, st.sampled_from(["n", "An", "b"])),
        st.builds(lambda t: {"tags": t}, st.sampled_from(["a", "b"])),
        st.builds(lambda v: {"age": {"$not": {"$gt": v}}}, num),
    )


filters_strategy = st.recursive(
    leaf(),
    lambda children: st.one_of(
        st.builds(lambda cs: {"$and": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$or": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$nor": cs}, st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=6,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rows=rows_strategy, filters=filters_strategy)
def test_python_engine_matches_sqlite(rows: list[dict[str, Any]], filters: dict[str, Any]) -> None:
    data = [{"id": i + 1, **r} for i, r in enumerate(rows)]
    node = parse_filter(filters, fields=set(COLUMNS))
    mine = [r["id"] for r in compile_filter(node, array_fields=frozenset({"tags"}))(data)]
    assert mine == sqlite_rows(data, node)


@settings(max_examples=100, deadline=None)
@given(
    rows=rows_strategy,
    key=st.sampled_from(["$city", "$name", None]),
    acc=st.sampled_from(["$sum", "$min", "$max", "$avg"]),
)
def test_python_group_matches_sqlite(rows: list[dict[str, Any]], key: str | None, acc: str) -> None:
    data = [{"id": i + 1, **r} for i, r in enumerate(rows)]
    stages = parse_pipeline(
        [{"$group": {"_id": key, "v": {acc: "$age"}, "n": {"$sum": 1}}}], fields=set(COLUMNS)
    )
    mine = run_pipeline(stages, data)
    theirs = sqlite_rows(data, None, stages)

    def norm(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (str(d["_id"]), d["n"], None if d["v"] is None else round(d["v"], 6)) for d in docs
        )

    assert norm(mine) == norm(theirs)


def test_cross_type_comparisons_do_not_match() -> None:
    rows = [{"id": 1, "v": "text"}, {"id": 2, "v": 5}, {"id": 3, "v": None}, {"id": 4}]
    node = parse_filter({"v": {"$gt": 1}})
    assert [r["id"] for r in compile_filter(node)(rows)] == [2]
    node = parse_filter({"v": {"$ne": 5}})
    assert [r["id"] for r in compile_filter(node)(rows)] == [1, 3, 4]


def test_pipeline_stages_in_memory() -> None:
    rows = [{"id": 1, "tags": ["a", "b"], "n": 2}, {"id": 2, "tags": [], "n": 3}, {"id": 3, "n": 4}]
    out = run_pipeline(parse_pipeline([{"$unwind": "$tags"}]), rows)
    assert [(d["id"], d["tags"]) for d in out] == [(1, "a"), (1, "b")]
    out = run_pipeline(
        parse_pipeline([{"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True}}]), rows
    )
    assert [d["id"] for d in out] == [1, 1, 2, 3]
    out = run_pipeline(
        parse_pipeline(
            [{"$lookup": {"from": "o", "localField": "id", "foreignField": "uid", "as": "os"}}]
        ),
        rows,
        related={"o": [{"uid": 1, "x": 1}, {"uid": 1, "x": 2}]},
    )
    assert [len(d["os"]) for d in out] == [2, 0, 0]
    out[0]["os"].append("mutated")
    assert rows[0].get("os") is None  # results never share state with the inputs


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
