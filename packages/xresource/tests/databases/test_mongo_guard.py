"""The server-side JavaScript guard: every method of ``MongoDBResource``, every place of a request.

The resource here points at a port where nothing listens, with a short server-selection timeout:
an operation the guard lets through would try to reach the server and fail with a connection
error, so a validation error proves the request was refused before any server call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytest.importorskip("pymongo", reason="the mongodb extra (pymongo) is not installed")

from bson.code import Code
from bson.son import SON

from xresource import XResourceConnectionError, XResourceValidationError
from xresource.databases import FORBIDDEN_OPERATORS, MongoDBResource, check_no_server_js
from xresource.databases.mongo_guard import check_request

JS = "function() { sleep(5000); return 1; }"
#: One payload per JavaScript operator, as the server would accept it.
PAYLOADS: dict[str, Any] = {
    "$where": {"$where": JS},
    "$function": {"$function": {"body": JS, "args": [], "lang": "js"}},
    "$accumulator": {
        "$accumulator": {
            "init": JS,
            "accumulate": JS,
            "accumulateArgs": [],
            "merge": JS,
            "lang": "js",
        }
    },
}


def nested(payload: dict[str, Any]) -> list[Any]:
    """``payload`` at several depths: in a list, in a dict in a list, under ``$expr``."""
    return [
        payload,
        {"$and": [{"a": 1}, payload]},
        {"$expr": {"$and": [{"$gt": ["$a", 1]}, payload]}},
        {"a": {"b": [{"c": payload}]}},
        SON([("a", 1), ("b", [payload])]),
        ({"deep": (payload,)},),
    ]


@pytest.fixture
def mongo() -> MongoDBResource:
    # Port 9 (discard) on loopback: nothing answers there; a request that gets past the guard
    # fails fast with a connection error instead.
    return MongoDBResource(
        connection_string="mongodb://127.0.0.1:9/guard", database="guard", connect_timeout=0.3
    )


# -- the guard function ---------------------------------------------------------------------------
@pytest.mark.parametrize("op", sorted(FORBIDDEN_OPERATORS))
def test_every_operator_is_refused_at_every_depth(op: str) -> None:
    for value in nested(PAYLOADS[op]):
        with pytest.raises(ValueError, match=rf"uses \{op}, which runs JavaScript"):
            check_no_server_js(value)


@pytest.mark.parametrize("part", ["filter", "projection", "sort", "hint", "update", "let"])
def test_check_request_names_the_part_and_the_operation(part: str) -> None:
    with pytest.raises(ValueError, match=rf"^{part} of fetch uses \$function"):
        check_request("fetch", **{part: {"x": PAYLOADS["$function"]}})


def test_key_specs_are_checked_as_the_documents_the_driver_sends() -> None:
    for spec in ("$where", ["a", "$where"], [("$where", 1)], (("a", 1), ("$function", -1))):
        with pytest.raises(ValueError, match="runs JavaScript"):
            check_request("fetch", sort=spec)
        with pytest.raises(ValueError, match="runs JavaScript"):
            check_request("fetch", projection=spec)


def test_code_values_are_refused() -> None:
    with pytest.raises(ValueError, match="JavaScript code value"):
        check_no_server_js({"a": {"$eq": Code("1")}})
    with pytest.raises(ValueError, match="JavaScript code value"):
        check_request("fetch", projection={"x": {"$literal": [Code("1")]}})


def test_harmless_requests_pass() -> None:
    check_request(
        "fetch",
        filter={"$expr": {"$gt": ["$a", 1]}, "s": "$where", "t": {"$eq": "$function"}},
        projection={"a": 1, "b": {"$concat": ["$x", "$where"]}},
        sort=[("a", 1), ("b", -1)],
        update=[{"$set": {"n": {"$add": ["$n", 1]}}}],
        pipeline=None,
    )
    # A value (not a key) spelled like an operator is data.
    check_no_server_js({"name": ["$where", "$function", "$accumulator"]})


def test_a_cycle_or_a_too_deep_document_is_refused() -> None:
    loop: dict[str, Any] = {}
    loop["a"] = loop
    with pytest.raises(ValueError, match="nested more than 100 levels"):
        check_no_server_js(loop)


# -- every method of the resource, every place ---------------------------------------------------
Call = Callable[[MongoDBResource, Any], Awaitable[Any]]


async def _drain(it: Any) -> None:
    async for _ in it:
        pass


#: (method and place, how to call it with the hostile part ``p``).
CALLS: list[tuple[str, Call]] = [
    ("fetch_all filter", lambda m, p: m.fetch_all("c", p)),
    ("fetch_all projection", lambda m, p: m.fetch_all("c", {}, projection={"x": p})),
    ("fetch_all projection list", lambda m, p: m.fetch_all("c", None, projection=[p])),
    ("fetch_all sort", lambda m, p: m.fetch_all("c", None, sort=[(p, 1)])),
    ("fetch_one filter", lambda m, p: m.fetch_one("c", p)),
    ("fetch_one projection", lambda m, p: m.fetch_one("c", None, {"x": p})),
    ("find filter", lambda m, p: _drain(m.find("c", p))),
    ("find projection", lambda m, p: _drain(m.find("c", None, {"a": 1, "x": p}))),
    ("find sort", lambda m, p: _drain(m.find("c", None, None, {p: 1}))),
    ("count filter", lambda m, p: m.count("c", p)),
    ("aggregate $match", lambda m, p: m.aggregate("c", [{"$match": p}])),
    ("aggregate $project", lambda m, p: m.aggregate("c", [{"$project": {"x": p}}])),
    ("aggregate $addFields", lambda m, p: m.aggregate("c", [{"$addFields": {"x": p}}])),
    ("aggregate $group", lambda m, p: m.aggregate("c", [{"$group": {"_id": None, "x": p}}])),
    (
        "aggregate $lookup pipeline",
        lambda m, p: m.aggregate(
            "c", [{"$lookup": {"from": "d", "as": "o", "pipeline": [{"$match": p}]}}]
        ),
    ),
    (
        "aggregate $facet",
        lambda m, p: m.aggregate("c", [{"$facet": {"a": [{"$project": {"x": p}}]}}]),
    ),
    ("aggregate_stream", lambda m, p: _drain(m.aggregate_stream("c", [{"$project": {"x": p}}]))),
    ("update_many filter", lambda m, p: m.update_many("c", p, {"$set": {"a": 1}})),
    ("update_many $set", lambda m, p: m.update_many("c", {}, {"$set": {"a": p}})),
    ("update_many pipeline", lambda m, p: m.update_many("c", {}, [{"$set": {"a": p}}])),
    ("delete_many filter", lambda m, p: m.delete_many("c", p)),
]


@pytest.mark.parametrize("op", sorted(FORBIDDEN_OPERATORS))
@pytest.mark.parametrize(("place", "call"), CALLS, ids=[c[0] for c in CALLS])
async def test_every_method_refuses_javascript_before_the_server(
    mongo: MongoDBResource, place: str, call: Call, op: str
) -> None:
    hostile: Any = op if place.endswith(("sort", "projection list")) else PAYLOADS[op]
    with pytest.raises(XResourceValidationError, match=rf"\{op}, which runs JavaScript") as info:
        await call(mongo, hostile)
    assert info.value.resource is not None
    assert mongo._client is None, f"{place}: the resource connected before refusing"


@pytest.mark.parametrize(("place", "call"), CALLS, ids=[c[0] for c in CALLS])
async def test_the_same_calls_without_javascript_reach_for_the_server(
    mongo: MongoDBResource, place: str, call: Call
) -> None:
    """The control: a harmless part gets past the guard (and fails on the dead server), so the
    refusals above are the guard's."""
    harmless: Any = "a" if place.endswith(("sort", "projection list")) else {"a": 1}
    if "$group" in place:
        harmless = {"$sum": 1}
    elif "$project" in place or "$addFields" in place or "$set" in place or "pipeline" in place:
        harmless = {"$add": [1, 2]} if "$lookup" not in place else {"a": 1}
    with pytest.raises(XResourceConnectionError):
        await call(mongo, harmless)
