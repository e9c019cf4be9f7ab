"""Server-side JavaScript never runs through ``MongoDBResource`` or an xrepo MongoDB repository.

On the real ``mongod`` the same requests through the raw driver do run the JavaScript (the
controls below: a projection computes a value, an update pipeline writes one), so each refusal
is the guard's, before anything reaches the server: no result comes back and no data changes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo import errors as pm_errors
from repo_backends import mongo_db_url

from xrepo import XRepo, XRepoFactory, XRepoValidationError
from xresource import MongoDBResource, ResourceFactory, XResourceValidationError

MARK = "js-ran"
FUNCTION = {"$function": {"body": f"function() {{ return '{MARK}'; }}", "args": [], "lang": "js"}}
ACCUMULATOR = {
    "$accumulator": {
        "init": "function() { return 0; }",
        "accumulate": "function(s) { return s + 1; }",
        "accumulateArgs": [],
        "merge": "function(a, b) { return a + b; }",
        "finalize": f"function(s) {{ return '{MARK}'; }}",
        "lang": "js",
    }
}
WHERE = {"$where": "function() { return true; }"}
DOCS = [{"_id": i, "n": i, "s": f"v{i}"} for i in range(5)]


@pytest.fixture
async def mongo(mongodb_url: str) -> AsyncIterator[MongoDBResource]:
    resource = ResourceFactory.create(
        "mongodb", connection_string=mongodb_url, database=f"xjs_{uuid.uuid4().hex[:12]}"
    )
    assert isinstance(resource, MongoDBResource)
    await resource.connect()
    try:
        await resource.insert_many("c", DOCS)
        yield resource
    finally:
        await resource.client.drop_database(resource.database)
        await resource.disconnect()


async def _unchanged(mongo: MongoDBResource) -> None:
    rows = await mongo.collection("c").find({}).sort("_id", 1).to_list()
    assert rows == DOCS


async def _js_enabled(mongo: MongoDBResource) -> None:
    try:
        rows = await mongo.collection("c").find({"_id": 0}, {"x": FUNCTION}).to_list()
    except pm_errors.OperationFailure as exc:  # javascriptEnabled: false on this server
        pytest.skip(f"server-side JavaScript is disabled on this mongod: {exc}")
    assert rows == [{"_id": 0, "x": MARK}]


async def test_the_raw_driver_runs_the_javascript_the_resource_refuses(
    mongo: MongoDBResource,
) -> None:
    """The controls: through the driver, a projection and an update pipeline run JavaScript."""
    await _js_enabled(mongo)
    await mongo.insert_many("copy", DOCS)
    await mongo.collection("copy").update_many({"_id": 1}, [{"$set": {"s": FUNCTION}}])
    assert (await mongo.collection("copy").find_one({"_id": 1}))["s"] == MARK  # type: ignore[index]


#: (place, call with the hostile document ``p``): every method and every place of a request.
READS: list[tuple[str, Any]] = [
    ("fetch_all projection", lambda m, p: m.fetch_all("c", {}, projection={"x": p})),
    ("fetch_all filter $expr", lambda m, p: m.fetch_all("c", {"$expr": p})),
    ("fetch_one projection", lambda m, p: m.fetch_one("c", {"_id": 0}, {"x": p})),
    ("find projection", lambda m, p: m.find("c", {}, {"x": p}).__anext__()),
    ("count filter $expr", lambda m, p: m.count("c", {"$expr": p})),
    ("aggregate $project", lambda m, p: m.aggregate("c", [{"$project": {"x": p}}])),
    ("aggregate $addFields", lambda m, p: m.aggregate("c", [{"$addFields": {"x": p}}])),
    (
        "aggregate $lookup sub-pipeline",
        lambda m, p: m.aggregate(
            "c", [{"$lookup": {"from": "c", "as": "o", "pipeline": [{"$project": {"x": p}}]}}]
        ),
    ),
    (
        "aggregate_stream $project",
        lambda m, p: m.aggregate_stream("c", [{"$project": {"x": p}}]).__anext__(),
    ),
]


@pytest.mark.parametrize(("place", "call"), READS, ids=[r[0] for r in READS])
async def test_reads_refuse_function_everywhere(
    mongo: MongoDBResource, place: str, call: Any
) -> None:
    await _js_enabled(mongo)
    with pytest.raises(XResourceValidationError, match=r"\$function, which runs JavaScript"):
        await call(mongo, FUNCTION)


async def test_where_and_accumulator_are_refused(mongo: MongoDBResource) -> None:
    with pytest.raises(XResourceValidationError, match=r"filter of fetch uses \$where"):
        await mongo.fetch_all("c", WHERE)
    with pytest.raises(XResourceValidationError, match=r"\$accumulator"):
        await mongo.aggregate("c", [{"$group": {"_id": None, "x": ACCUMULATOR}}])
    with pytest.raises(XResourceValidationError, match=r"projection of fetch uses \$where"):
        await mongo.fetch_all("c", {}, projection=["$where"])


@pytest.mark.parametrize(
    "update",
    [
        [{"$set": {"s": FUNCTION}}],
        [{"$set": {"s": {"$cond": [True, FUNCTION, "x"]}}}],
        {"$set": {"s": FUNCTION}},
    ],
    ids=["pipeline", "pipeline nested", "operators"],
)
async def test_writes_refuse_function_and_change_nothing(
    mongo: MongoDBResource, update: Any
) -> None:
    await _js_enabled(mongo)
    with pytest.raises(XResourceValidationError, match=r"\$function"):
        await mongo.update_many("c", {"_id": 1}, update)
    with pytest.raises(XResourceValidationError, match=r"\$where"):
        await mongo.update_many("c", WHERE, {"$set": {"s": "x"}})
    with pytest.raises(XResourceValidationError, match=r"\$function"):
        await mongo.delete_many("c", {"$expr": FUNCTION})
    await _unchanged(mongo)


async def test_harmless_expressions_still_work(mongo: MongoDBResource) -> None:
    rows = await mongo.fetch_all(
        "c", {"$expr": {"$gt": ["$n", 2]}}, projection={"d": {"$multiply": ["$n", 2]}}, sort="_id"
    )
    assert rows == [{"_id": 3, "d": 6}, {"_id": 4, "d": 8}]
    assert await mongo.update_many("c", {"_id": 1}, [{"$set": {"s": {"$concat": ["$s", "!"]}}}])
    assert (await mongo.fetch_one("c", {"_id": 1}))["s"] == "v1!"  # type: ignore[index]


# -- through xrepo ---------------------------------------------------------------------------------
class Rec(BaseModel):
    id: int
    n: int
    s: str


@pytest.fixture
async def repo(mongodb_url: str, unique_name: str) -> AsyncIterator[XRepo[Any]]:
    resource = ResourceFactory.from_url(mongo_db_url(mongodb_url, "xjs_repo"))
    await resource.connect()
    try:
        r = await XRepoFactory.create(resource=resource, model_class=Rec, collection=unique_name)
        await r.bulk_create([{"id": d["_id"], "n": d["n"], "s": d["s"]} for d in DOCS])
        yield r
    finally:
        await resource.db.drop_collection(unique_name)
        await resource.disconnect()


async def test_the_repository_refuses_javascript_in_every_query(repo: XRepo[Any]) -> None:
    before = sorted((m.n, m.s) for m in await repo.list(limit=None))
    attempts: list[Any] = [
        lambda: repo.list({"$expr": FUNCTION}),
        lambda: repo.list(WHERE),
        lambda: repo.count({"n": {"$where": "true"}}),
        lambda: repo.aggregate([{"$project": {"x": FUNCTION}}]),
        lambda: repo.aggregate([{"$addFields": {"x": FUNCTION}}]),
        lambda: repo.aggregate([{"$group": {"_id": None, "x": ACCUMULATOR}}]),
        lambda: repo.aggregate([{"$match": {"$expr": FUNCTION}}]),
        lambda: repo.aggregate([{"$project": {"x": {"$literal": FUNCTION}}}]),
        lambda: repo.distinct("s", {"$expr": FUNCTION}),
        lambda: repo.find_one({"s": {"$not": WHERE}}),
    ]
    for attempt in attempts:
        with pytest.raises(XRepoValidationError):
            await attempt()
    assert sorted((m.n, m.s) for m in await repo.list(limit=None)) == before
