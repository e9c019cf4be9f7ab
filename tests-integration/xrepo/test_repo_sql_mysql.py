"""MariaDB answers as MongoDB does, whatever collation the table was created with.

The same hostile records (trailing spaces, case and accent variants, control characters, emoji,
digit strings next to numbers, booleans next to 1) live in a plain ``mongod`` collection (the
oracle) and in a MariaDB table created twice: with the server's default collation
(``utf8mb4_general_ci``: case- and accent-insensitive, pads trailing spaces) and with
``utf8mb4_bin`` (pads trailing spaces). Every filter, sort, distinct and pipeline below must give
mongod's answer on both tables, or a clear ``XRepoValidationError``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xobj_prototype import XObjPrototype
from xrepo import XRepo, XRepoFactory, XRepoValidationError, parse_filter
from xresource import ResourceFactory


class Rec(XObjPrototype):
    id: int
    s: str | None = None
    i: int | None = None
    f: float | None = None
    tags: list[str] = []
    doc: dict[str, Any] = {}


STRINGS = [
    "abc",
    "abc ",
    "ABC",
    "àbc",
    "Abc",
    "a",
    "A",
    "é",
    "É",
    "e",
    "",
    " ",
    "a\x01b",
    "a\tb",
    "a\nb",
    "😀",
    "😀x",
    "\uffff",
    "ß",
    "ẞ",
    "10",
    "x" * 5000,
    "Straße",
    "b",
    "B",
]
ZIPS: list[Any] = [10, "10", 10.5, True, 1, None, "x", -3, "é", False, 0, "É"]


def records() -> list[dict[str, Any]]:
    out = []
    for n, s in enumerate(STRINGS, start=1):
        meta: dict[str, Any] = {"zip": ZIPS[n % len(ZIPS)], "name": STRINGS[-n]}
        if n % 5 == 0:
            del meta["zip"]
        out.append(
            {
                "id": n,
                "s": s,
                "i": (n * 7) % 5 if n % 6 else None,
                "f": n / 4,
                "tags": [STRINGS[(n + k) % len(STRINGS)][:20] for k in range(n % 4)],
                "doc": meta,
            }
        )
    return out


DATA = records()
COLLATIONS = ["server-default", "utf8mb4_bin"]


def ddl(collation: str) -> str:
    suffix = "" if collation == "server-default" else f" COLLATE {collation}"
    return (
        "CREATE TABLE {t} (id INT PRIMARY KEY, s VARCHAR(6000), i INT, f DOUBLE, tags JSON, "
        "doc JSON, KEY ix_s (s(100))) CHARACTER SET utf8mb4" + suffix
    )


class Backends:
    """A MariaDB repository and the mongod oracle collection, on one private event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, repo: XRepo[Rec], coll: Any) -> None:
        self.loop = loop
        self.repo = repo
        self.coll = coll

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def ids(self, flt: dict[str, Any]) -> list[int]:
        return sorted(m.id for m in self.run(self.repo.list(flt, limit=None)))

    def oracle_ids(self, flt: dict[str, Any]) -> list[int]:
        return sorted(d["id"] for d in self.coll.find(flt))


@pytest.fixture(params=COLLATIONS, scope="module")
def backends(
    request: pytest.FixtureRequest, mysql_url: str, mongodb_url: str
) -> Iterator[Backends]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    loop = asyncio.new_event_loop()
    resource = ResourceFactory.from_url(mysql_url)
    q = resource.dialect.quote
    client: Any = pymongo.MongoClient(mongodb_url)
    coll = client["xrepo_mysql_oracle"][name]
    coll.insert_many([{"_id": r["id"], **r} for r in DATA])

    async def setup() -> XRepo[Rec]:
        await resource.connect()
        await resource.execute(ddl(request.param).format(t=q(name)))
        repo = await XRepoFactory.create(resource=resource, model_class=Rec, collection=name)
        await repo.bulk_create(DATA)
        return repo

    try:
        yield Backends(loop, loop.run_until_complete(setup()), coll)
    finally:
        loop.run_until_complete(resource.execute(f"DROP TABLE IF EXISTS {q(name)}"))
        loop.run_until_complete(resource.disconnect())
        loop.close()
        coll.drop()
        client.close()


# -- filters: (ours, mongod's spelling) -----------------------------------------------------------
def icase(s: str) -> dict[str, Any]:
    return {"$regex": re.escape(s), "$options": "i"}


FILTERS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"s": "abc"}, {"s": "abc"}),  # not "abc " (PAD SPACE), "ABC", "àbc"
    ({"s": "abc "}, {"s": "abc "}),
    ({"s": "A"}, {"s": "A"}),
    ({"s": "é"}, {"s": "é"}),
    ({"s": "ß"}, {"s": "ß"}),
    ({"s": ""}, {"s": ""}),
    ({"s": "a\x01b"}, {"s": "a\x01b"}),
    ({"s": "😀"}, {"s": "😀"}),
    ({"s": "x" * 5000}, {"s": "x" * 5000}),
    ({"s": {"$ne": "abc"}}, {"s": {"$ne": "abc"}}),
    ({"s": {"$in": ["a", "é", "abc "]}}, {"s": {"$in": ["a", "é", "abc "]}}),
    ({"s": {"$nin": ["a", "B"]}}, {"s": {"$nin": ["a", "B"]}}),
    ({"s": {"$gt": "a"}}, {"s": {"$gt": "a"}}),  # code-point order: "b" > "a" > "B"
    ({"s": {"$lt": "B"}}, {"s": {"$lt": "B"}}),
    ({"s": {"$gte": "abc", "$lt": "abd"}}, {"s": {"$gte": "abc", "$lt": "abd"}}),
    ({"s": {"$gt": "\uffff"}}, {"s": {"$gt": "\uffff"}}),  # emoji above the BMP
    ({"tags": "é"}, {"tags": "é"}),  # list elements written as JSON escapes
    ({"tags": "a"}, {"tags": "a"}),
    ({"tags": "😀"}, {"tags": "😀"}),
    ({"tags": {"$in": ["A", "abc "]}}, {"tags": {"$in": ["A", "abc "]}}),
    ({"tags": {"$nin": ["a"]}}, {"tags": {"$nin": ["a"]}}),
    ({"tags": {"$gt": "x"}}, {"tags": {"$gt": "x"}}),
    ({"tags": {"$regex": "^é"}}, {"tags": {"$regex": "^é"}}),
    ({"doc.zip": "10"}, {"doc.zip": "10"}),  # never the number 10
    ({"doc.zip": 10}, {"doc.zip": 10}),  # never the string "10"
    ({"doc.zip": True}, {"doc.zip": True}),  # never 1
    ({"doc.zip": 1}, {"doc.zip": 1}),  # never true
    ({"doc.zip": 0}, {"doc.zip": 0}),  # never false nor a string
    ({"doc.zip": {"$gt": 5}}, {"doc.zip": {"$gt": 5}}),
    ({"doc.zip": {"$lt": "z"}}, {"doc.zip": {"$lt": "z"}}),
    ({"doc.zip": {"$in": [10, "x"]}}, {"doc.zip": {"$in": [10, "x"]}}),
    ({"doc.zip": {"$nin": [10, "x"]}}, {"doc.zip": {"$nin": [10, "x"]}}),
    ({"doc.zip": {"$ne": "10"}}, {"doc.zip": {"$ne": "10"}}),
    ({"doc.zip": {"$exists": True}}, {"doc.zip": {"$exists": True, "$ne": None}}),
    ({"doc.zip": "é"}, {"doc.zip": "é"}),
    ({"doc.zip": {"$regex": "^1"}}, {"doc.zip": {"$regex": "^1"}}),  # not the number 10
    ({"doc.name": "abc"}, {"doc.name": "abc"}),
    ({"s": {"$regex": "É", "$options": "i"}}, {"s": {"$regex": "É", "$options": "i"}}),
    ({"s": {"$regex": "^a"}}, {"s": {"$regex": "^a"}}),
    ({"s": {"$regex": "\\u00e9"}}, {"s": {"$regex": "é"}}),  # Python's \u escape
    ({"s__icontains": "É"}, {"s": icase("É")}),
    ({"s__icontains": "e"}, {"s": icase("e")}),  # not "é": no accent folding
    ({"s__istartswith": "ABC"}, {"s": {"$regex": "^" + re.escape("ABC"), "$options": "i"}}),
    ({"s__contains": "b"}, {"s": {"$regex": "b"}}),
    ({"s__endswith": " "}, {"s": {"$regex": " \\z"}}),
    ({"s__startswith": "😀"}, {"s": {"$regex": "^😀"}}),
    ({"s__contains": "\x01"}, {"s": {"$regex": "\x01"}}),
    ({"i": {"$gte": 2}}, {"i": {"$gte": 2}}),
    ({"f": {"$lt": 1.5}}, {"f": {"$lt": 1.5}}),
]


@pytest.mark.parametrize(("ours", "mongo"), FILTERS, ids=[repr(f)[:60] for f, _ in FILTERS])
def test_filters_match_mongod(backends: Backends, ours: dict[str, Any], mongo: dict[str, Any]):
    assert backends.ids(ours) == backends.oracle_ids(mongo)


def test_a_number_never_matches_a_string_column(backends: Backends) -> None:
    # the typed layer refuses it first; the compiler must not coerce either
    assert backends.ids({"s": 0}) == []
    assert backends.ids({"s": {"$ne": 0}}) == list(range(1, len(DATA) + 1))


@pytest.mark.parametrize(
    "sort",
    [[("s", 1), ("id", 1)], [("s", -1), ("id", 1)], [("doc.zip", 1), ("id", 1)]],
    ids=["s", "-s", "doc.zip"],
)
def test_sort_follows_code_points(backends: Backends, sort: list[tuple[str, int]]) -> None:
    ours = [m.id for m in backends.run(backends.repo.list({}, sort=sort, limit=None))]
    assert ours == [d["id"] for d in backends.coll.find({}, sort=sort)]


def test_sort_with_limit_pages_exactly(backends: Backends) -> None:
    sort = [("s", 1), ("id", 1)]
    page = backends.run(backends.repo.list({}, sort=sort, skip=3, limit=5))
    assert [m.id for m in page] == [d["id"] for d in backends.coll.find({}, sort=sort)][3:8]


@pytest.mark.parametrize("field", ["s", "tags"])
def test_distinct_keeps_every_byte(backends: Backends, field: str) -> None:
    ours = backends.run(backends.repo.distinct(field))
    assert sorted(ours) == sorted(backends.coll.distinct(field))


def _group_set(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((repr(d["_id"]), *(repr(d[k]) for k in sorted(d) if k != "_id")) for d in docs)


PIPELINES: list[list[dict[str, Any]]] = [
    [{"$group": {"_id": "$s", "n": {"$sum": 1}}}],
    [{"$unwind": "$tags"}, {"$group": {"_id": "$tags", "n": {"$sum": 1}}}],
    [{"$group": {"_id": None, "mn": {"$min": "$s"}, "mx": {"$max": "$s"}}}],
    [{"$group": {"_id": None, "avg": {"$avg": "$i"}, "sum": {"$sum": "$i"}}}],
    [{"$group": {"_id": "$i", "avg": {"$avg": "$i"}}}],
    [{"$group": {"_id": None, "sum": {"$sum": "$s"}, "avg": {"$avg": "$s"}}}],
    [{"$group": {"_id": None, "sum": {"$sum": "$doc.zip"}, "avg": {"$avg": "$doc.zip"}}}],
    [{"$group": {"_id": None, "mn": {"$min": "$doc.zip"}, "mx": {"$max": "$doc.zip"}}}],
    [{"$group": {"_id": None, "mn": {"$min": "$doc.name"}, "mx": {"$max": "$doc.name"}}}],
    [{"$group": {"_id": "$s", "n": {"$sum": 1}}}, {"$match": {"_id": 0}}],
    [{"$group": {"_id": "$s", "n": {"$sum": 1}}}, {"$match": {"_id": "abc"}}],
    [{"$group": {"_id": "$s", "n": {"$sum": 1}}}, {"$match": {"_id": {"$gt": "a"}}}],
    [{"$group": {"_id": "$i", "n": {"$sum": 1}}}, {"$match": {"_id": "1"}}],
    [{"$project": {"k": "$s"}}, {"$match": {"k": "ABC"}}],
    [{"$project": {"k": "$s"}}, {"$group": {"_id": "$k", "n": {"$sum": 1}}}],
    [{"$unwind": "$tags"}, {"$match": {"tags": "A"}}, {"$project": {"tags": 1}}],
    [{"$unwind": "$tags"}, {"$group": {"_id": None, "mx": {"$max": "$tags"}}}],
    [{"$group": {"_id": None, "set": {"$addToSet": "$s"}}}],
    [{"$project": {"z": "$doc.zip"}}, {"$match": {"z": 10}}],
    [{"$project": {"z": "$doc.zip"}}, {"$match": {"z": "10"}}],
    [{"$project": {"z": "$doc.zip"}}, {"$match": {"z": {"$gt": "a"}}}],
    [{"$group": {"_id": "$doc.zip", "n": {"$sum": 1}}}, {"$match": {"_id": True}}],
]


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[repr(p)[:70] for p in PIPELINES])
def test_pipelines_match_mongod(backends: Backends, pipeline: list[dict[str, Any]]) -> None:
    ours = backends.run(backends.repo.aggregate(pipeline))
    mongo = list(backends.coll.aggregate(pipeline))
    for docs in (ours, mongo):
        for d in docs:
            d.pop("id", None)
            if isinstance(d.get("set"), list):
                d["set"] = sorted(d["set"])
            if "_id" not in d:
                d["_id"] = None
    if pipeline[0].get("$project") or ("$unwind" in pipeline[0] and len(pipeline) == 3):
        for docs in (ours, mongo):
            for d in docs:
                d["_id"] = None
    assert _group_set(ours) == _group_set(mongo)


# -- property: hostile strings --------------------------------------------------------------------
hostile = st.one_of(
    st.sampled_from(STRINGS[:-5]),
    st.text(
        alphabet=st.sampled_from(["a", "A", "b", "é", "É", "e", " ", "\t", "\x01", "😀", "ß"]),
        max_size=4,
    ),
)
operators = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=hostile, op=operators, where=st.sampled_from(["s", "tags", "doc.name"]))
def test_hostile_strings_compare_as_in_mongod(
    backends: Backends, value: str, op: str, where: str
) -> None:
    flt = {where: {op: value}}
    assert backends.ids(flt) == backends.oracle_ids(flt)
    if op == "$eq":
        ours = backends.ids({f"{where}__icontains": value})
        expected = sorted(
            d["id"]
            for d in DATA
            if any(isinstance(x, str) and value.lower() in x.lower() for x in _values(d, where))
        )
        assert ours == expected


def _values(doc: dict[str, Any], path: str) -> list[Any]:
    value: Any = doc
    for seg in path.split("."):
        value = value.get(seg) if isinstance(value, dict) else None
    return value if isinstance(value, list) else [value]


async def test_equality_on_an_indexed_column_uses_the_index(
    mysql_url: str, unique_name: str
) -> None:
    resource = ResourceFactory.from_url(mysql_url)
    await resource.connect()
    q = resource.dialect.quote(unique_name)
    try:
        await resource.execute(ddl("server-default").format(t=q))
        repo = await XRepoFactory.create(resource=resource, model_class=Rec, collection=unique_name)
        await repo.bulk_create([{"id": n, "s": f"v{n}"} for n in range(1, 400)])
        compiler = repo.store.compiler()  # type: ignore[attr-defined]
        for flt in ({"s": "v7"}, {"s": {"$in": ["v7", "v8"]}}):
            sql, params = compiler.select(q, parse_filter(flt))
            plan = await resource.fetch_all("EXPLAIN " + sql, params)
            assert plan[0]["key"] == "ix_s", plan
            assert int(plan[0]["rows"]) <= 2, plan
    finally:
        await resource.execute(f"DROP TABLE IF EXISTS {q}")
        await resource.disconnect()


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ([{"$group": {"_id": None, "m": {"$min": "$doc"}}}], "$min of the document field 'doc'"),
        ([{"$group": {"_id": None, "m": {"$max": "$tags"}}}], "$max of the list field 'tags'"),
    ],
)
def test_unsupported_aggregates_are_refused_clearly(
    backends: Backends, pipeline: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(XRepoValidationError, match=re.escape(message) + ".*mysql"):
        backends.run(backends.repo.aggregate(pipeline))
