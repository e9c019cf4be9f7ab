"""SQL pipelines answer as MongoDB does where documents are involved; a real ``mongod`` holding the
same records is the oracle, on SQLite, PostgreSQL and MariaDB.

Three classes of issue 14's differential report:

- ``$lookup`` with a null or missing local value joins the foreign documents whose field is null
  or missing (SQL's ``=`` never joins ``NULL``), in both forms: ``$lookup`` + ``$unwind`` (a join)
  and a lone ``$lookup`` (a JSON array per row);
- a path naming a sub-document (``o`` after ``$lookup`` + ``$unwind``, a compound ``_id`` after
  ``$group``) is the whole document wherever it is read: ``$project``, ``$group`` keys,
  ``$push``/``$first``/``$last``, ``$sort`` (field by field in key order), ``$match``;
- ``$match`` and ``$sort`` on a compound ``_id``: null, ``$exists``, scalars, whole documents
  (same keys in the same order), ``_id.<name>``; ``$gt`` with a document is refused clearly.

Nulls and missing fields are one thing on SQL (docs/xrepo.md): the oracle's compound group keys
read missing as null (``$ifNull``) and ``None``-valued keys are dropped on both sides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from bson.decimal128 import Decimal128
from pymongo import MongoClient
from pymongo.collection import Collection
from repo_backends import sql_tables

from xobj_prototype import XObjPrototype
from xrepo import XRepo, XRepoFactory, XRepoValidationError

BACKENDS = ["sqlite", "postgresql", "mysql", "duckdb"]
ORACLE_DB = "xrepo_sql_pipelines"


class Rec(XObjPrototype):
    id: int
    k: int | None = None
    s: str | None = None
    f: float | None = None


class Order(XObjPrototype):
    id: int
    ref: int | None = None
    amt: int | None = None
    label: str | None = None


REC_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, k INTEGER, s TEXT, f REAL)",
    "postgresql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, k BIGINT, s TEXT, f DOUBLE PRECISION)"
    ),
    # The server's default collation (general_ci): the compiler must not rely on the table's.
    "mysql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, k BIGINT, s VARCHAR(100), f DOUBLE) "
        "CHARACTER SET utf8mb4"
    ),
    "duckdb": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, k BIGINT, s VARCHAR, f DOUBLE)",
}
ORDER_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, ref INTEGER, amt INTEGER, label TEXT)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, ref BIGINT, amt INTEGER, label TEXT)",
    "mysql": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, ref BIGINT, amt INTEGER, label VARCHAR(100)) "
        "CHARACTER SET utf8mb4"
    ),
    "duckdb": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, ref BIGINT, amt INTEGER, label VARCHAR)",
}

#: ``k`` is the local key: ints, null (``None``) and missing (no key) side by side.
RECORDS: list[dict[str, Any]] = [
    {"id": 1, "k": 1, "s": "a", "f": 1.5},
    {"id": 2, "k": 2, "s": "É", "f": -0.0},
    {"id": 3, "k": None, "s": "a ", "f": 2.0},
    {"id": 4, "s": "A", "f": 10.0},
    {"id": 5, "k": 1, "s": "a", "f": None},
    {"id": 6, "k": 7, "s": "", "f": 0.5},
    {"id": 7, "k": 2, "f": 1e300},
    {"id": 8, "k": -(2**40), "s": "中\n", "f": -1.0},
]
#: ``ref`` is the foreign key: matches, null, missing, and orders that match nothing.
ORDERS: list[dict[str, Any]] = [
    {"id": 101, "ref": 1, "amt": 2, "label": "x"},
    {"id": 102, "ref": 1, "amt": 3, "label": "X"},
    {"id": 103, "ref": 2, "amt": 4, "label": "x "},
    {"id": 104, "ref": None, "amt": 5, "label": "é"},
    {"id": 105, "amt": 6, "label": "É"},
    {"id": 106, "ref": 99, "amt": 7},
    {"id": 107, "ref": -(2**40), "label": ""},
]

LOOKUP = {"$lookup": {"from": "orders", "localField": "k", "foreignField": "ref", "as": "o"}}
UNWIND = {"$unwind": "$o"}
UNWIND_KEEP = {"$unwind": {"path": "$o", "preserveNullAndEmptyArrays": True}}
#: The compound key of the group cases; the oracle reads missing as null (SQL cannot tell).
KEY = {"k": "$k", "s": "$s"}
ORACLE_KEY = {"k": {"$ifNull": ["$k", None]}, "s": {"$ifNull": ["$s", None]}}


def _group(extra: dict[str, Any] | None = None, *, oracle: bool = False) -> dict[str, Any]:
    return {"$group": {"_id": ORACLE_KEY if oracle else KEY, "n": {"$sum": 1}, **(extra or {})}}


@dataclass
class Case:
    """A pipeline for us and (when it differs) for mongod; how to compare the answers."""

    name: str
    ours: list[dict[str, Any]]
    oracle: list[dict[str, Any]] | None = None
    ordered: bool = False
    bags: tuple[str, ...] = ()  # list fields compared regardless of order


def _g(name: str, after: list[dict[str, Any]], **kw: Any) -> Case:
    """A case after the compound ``$group``."""
    return Case(name, [_group(), *after], [_group(oracle=True), *after], **kw)


CASES: list[Case] = [
    # 1. $lookup joins null and missing local values with null and missing foreign ones
    Case("lookup-array-null-safe", [LOOKUP, {"$project": {"id": 1, "o": 1}}], bags=("o",)),
    Case("lookup-unwind-null-safe", [LOOKUP, UNWIND, {"$project": {"id": 1, "oid": "$o.id"}}]),
    Case(
        "lookup-unwind-keep-null-safe",
        [LOOKUP, UNWIND_KEEP, {"$project": {"id": 1, "oid": "$o.id", "amt": "$o.amt"}}],
    ),
    Case(
        "lookup-unwind-group",
        [LOOKUP, UNWIND, {"$group": {"_id": "$o.label", "n": {"$sum": "$o.amt"}}}],
    ),
    Case(
        "lookup-after-match",
        [{"$match": {"k": None}}, LOOKUP, {"$project": {"id": 1, "o": 1}}],
        bags=("o",),
    ),
    # 2. the joined sub-document as a whole
    Case("project-subdocument", [LOOKUP, UNWIND, {"$project": {"id": 1, "o": 1}}]),
    Case("project-subdocument-renamed", [LOOKUP, UNWIND, {"$project": {"id": 1, "x": "$o"}}]),
    Case("project-subdocument-kept", [LOOKUP, UNWIND_KEEP, {"$project": {"id": 1, "o": 1}}]),
    Case("group-by-subdocument", [LOOKUP, UNWIND, {"$group": {"_id": "$o", "n": {"$sum": 1}}}]),
    Case(
        "group-by-subdocument-kept",
        [LOOKUP, UNWIND_KEEP, {"$group": {"_id": "$o", "n": {"$sum": 1}}}],
    ),
    Case(
        "push-subdocument-in-order",
        [
            LOOKUP,
            UNWIND,
            {"$sort": {"o.amt": -1, "id": 1}},
            {"$group": {"_id": "$k", "p": {"$push": "$o"}}},
        ],
    ),
    Case(
        "addtoset-subdocument",
        [LOOKUP, UNWIND, {"$group": {"_id": None, "u": {"$addToSet": "$o"}}}],
        bags=("u",),
    ),
    Case(
        "first-last-subdocument",
        [
            LOOKUP,
            UNWIND,
            {"$sort": {"o.amt": 1, "id": 1}},
            {"$group": {"_id": "$s", "f": {"$first": "$o"}, "l": {"$last": "$o"}}},
        ],
    ),
    Case(
        "sum-avg-of-subdocument",
        [LOOKUP, UNWIND, {"$group": {"_id": None, "t": {"$sum": "$o"}, "a": {"$avg": "$o"}}}],
    ),
    Case(
        "sort-by-subdocument",
        [LOOKUP, UNWIND, {"$sort": {"o": -1, "id": 1}}, {"$project": {"id": 1, "oid": "$o.id"}}],
        ordered=True,
    ),
    Case(
        "match-subdocument-null",
        [LOOKUP, UNWIND_KEEP, {"$match": {"o": None}}, {"$project": {"id": 1}}],
    ),
    Case(
        "match-subdocument-exists",
        [LOOKUP, UNWIND_KEEP, {"$match": {"o": {"$exists": True}}}, {"$project": {"id": 1}}],
    ),
    # 3. a compound _id after $group
    _g("compound-id-null", [{"$match": {"_id": None}}]),
    _g("compound-id-ne-null", [{"$match": {"_id": {"$ne": None}}}]),
    _g("compound-id-exists", [{"$match": {"_id": {"$exists": True}}}]),
    _g("compound-id-not-exists", [{"$match": {"_id": {"$exists": False}}}]),
    _g("compound-id-field", [{"$match": {"_id.k": 1}}]),
    _g("compound-id-field-null", [{"$match": {"_id.s": None}}]),
    _g("compound-id-document", [{"$match": {"_id": {"k": 1, "s": "a"}}}]),
    _g("compound-id-document-number", [{"$match": {"_id": {"k": 2.0, "s": "É"}}}]),
    _g("compound-id-document-null-field", [{"$match": {"_id": {"k": 2, "s": None}}}]),
    _g("compound-id-document-key-order", [{"$match": {"_id": {"s": "a", "k": 1}}}]),
    _g("compound-id-document-fewer-keys", [{"$match": {"_id": {"k": 1}}}]),
    _g("compound-id-document-other-type", [{"$match": {"_id": {"k": "1", "s": "a"}}}]),
    _g(
        "compound-id-in",
        [{"$match": {"_id": {"$in": [{"k": 1, "s": "a"}, {"k": 7, "s": ""}, None, 1]}}}],
    ),
    _g("compound-id-nin", [{"$match": {"_id": {"$nin": [{"k": 1, "s": "a"}, "a"]}}}]),
    _g("compound-id-ne-document", [{"$match": {"_id": {"$ne": {"k": 1, "s": "a"}}}}]),
    _g("compound-id-scalar", [{"$match": {"_id": 1}}]),
    _g("compound-id-gt-scalar", [{"$match": {"_id": {"$gt": 1}}}]),
    _g("compound-id-regex", [{"$match": {"_id": {"$regex": "a"}}}]),
    _g("compound-id-sort", [{"$sort": {"_id": 1}}], ordered=True),
    _g("compound-id-sort-desc", [{"$sort": {"_id": -1}}], ordered=True),
    _g(
        "compound-id-sort-limit", [{"$sort": {"_id": 1}}, {"$skip": 1}, {"$limit": 3}], ordered=True
    ),
    _g("compound-id-project-keeps-id", [{"$project": {"n": 1}}]),
    _g("compound-id-project-drops-id", [{"$project": {"_id": 0, "n": 1}}]),
    _g("compound-id-exclude", [{"$project": {"_id": 0}}]),
    _g("compound-id-regroup", [{"$group": {"_id": "$_id", "c": {"$sum": "$n"}}}]),
    _g("compound-id-push", [{"$group": {"_id": None, "ids": {"$push": "$_id"}}}], bags=("ids",)),
]


#: Mismatches of another class, owned elsewhere: MariaDB groups text read through a $lookup
#: join (``o.label``, and the local ``s`` once joined) by the table's collation (general_ci merges
#: "x"/"X"/"x "). Reported as expected failures until the MariaDB compiler makes them exact.
KNOWN: dict[tuple[str, str], str] = {
    ("mysql", "lookup-unwind-group"): "MariaDB: joined text columns keep the table's collation",
    ("mysql", "first-last-subdocument"): "MariaDB: joined text columns keep the table's collation",
}


# -- comparing documents as MongoDB does ----------------------------------------------------------
def norm(value: Any, top: bool = True) -> Any:
    """A value where equal BSON values are equal (1 == 1.0, True != 1, null == missing)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, int | float | Decimal):
        return ("num", float(value) + 0.0)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, dt.datetime):
        return ("date", value.replace(tzinfo=value.tzinfo or dt.UTC))
    if isinstance(value, list | tuple):
        return ("list", tuple(norm(v, False) for v in value if v is not None))
    if isinstance(value, dict):
        # A looked-up document carries mongod's own ObjectId _id, which SQL rows do not have.
        items = [
            (k, norm(v, False))
            for k, v in value.items()
            if v is not None and not (k == "_id" and isinstance(v, ObjectId))
        ]
        return ("doc", tuple(sorted(items)))
    return ("other", repr(value))


def norm_doc(doc: dict[str, Any], bags: tuple[str, ...]) -> Any:
    out = norm(doc)
    if not bags:
        return out
    items = [
        (k, ("bag", tuple(sorted(v[1], key=repr))) if k in bags and v[0] == "list" else v)
        for k, v in out[1]
    ]
    return ("doc", tuple(items))


def oracle_doc(record: dict[str, Any]) -> dict[str, Any]:
    return {"_id": ObjectId(), **record}


# -- fixtures -------------------------------------------------------------------------------------
@dataclass
class Setup:
    kind: str
    repo: XRepo[Rec]
    orders: str
    coll: Collection[dict[str, Any]]
    oracle_orders: str

    async def ours(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await self.repo.aggregate(_with_source(pipeline, self.orders))

    def oracle(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self.coll.aggregate(_with_source(pipeline, self.oracle_orders)))


def _with_source(pipeline: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    out = []
    for stage in pipeline:
        if "$lookup" in stage:
            stage = {"$lookup": {**stage["$lookup"], "from": source}}
        out.append(stage)
    return out


@pytest.fixture(params=BACKENDS)
async def setup(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str, mongodb_url: str
) -> AsyncIterator[Setup]:
    kind = request.param
    urls = {
        "sqlite": f"sqlite:///{tmp_path / 'p.db'}",
        "duckdb": f"duckdb:///{tmp_path / 'p.duckdb'}",
    }
    url = urls.get(kind) or request.getfixturevalue(
        "postgres_url" if kind == "postgresql" else "mysql_url"
    )
    orders = f"{unique_name}_orders"
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_url)
    db = client[ORACLE_DB]
    db[unique_name].insert_many([oracle_doc(r) for r in RECORDS])
    db[orders].insert_many([oracle_doc(o) for o in ORDERS])
    try:
        tables = {unique_name: REC_DDL[kind], orders: ORDER_DDL[kind]}
        async with sql_tables(url, tables) as resource:
            repo = await XRepoFactory.create(
                resource=resource, model_class=Rec, collection=unique_name, lookups=[orders]
            )
            await repo.bulk_create(RECORDS)
            order_repo = await XRepoFactory.create(
                resource=resource, model_class=Order, collection=orders
            )
            await order_repo.bulk_create(ORDERS)
            yield Setup(kind, repo, orders, db[unique_name], orders)
    finally:
        db.drop_collection(unique_name)
        db.drop_collection(orders)
        client.close()


# -- the cases ------------------------------------------------------------------------------------
async def test_pipelines_equal_mongodb(setup: Setup) -> None:
    mismatches, known = [], []
    for case in CASES:
        want = [norm_doc(d, case.bags) for d in setup.oracle(case.oracle or case.ours)]
        try:
            got = [norm_doc(d, case.bags) for d in await setup.ours(case.ours)]
        except Exception as exc:  # reported with the case below
            mismatches.append(f"{case.name}: {type(exc).__name__}: {exc}")
            continue
        if not case.ordered:
            want, got = sorted(want, key=repr), sorted(got, key=repr)
        if got != want:
            reason = KNOWN.get((setup.kind, case.name))
            found = f"{case.name}:\n  {setup.kind} {got}\n  mongod {want}"
            (known if reason else mismatches).append(f"{found}\n  known: {reason}")
    assert not mismatches, "\n".join(mismatches)
    if known:
        pytest.xfail("\n".join(known))


async def test_the_cases_are_not_trivial(setup: Setup) -> None:
    """The oracle's answers hold what the cases are about (so a case can fail)."""
    rows = setup.oracle([LOOKUP, UNWIND, {"$project": {"id": 1, "oid": "$o.id"}}])
    # Records 3 (null) and 4 (missing) join orders 104 (null) and 105 (missing).
    assert sorted((d["id"], d["oid"]) for d in rows if d["id"] in (3, 4)) == [
        (3, 104), (3, 105), (4, 104), (4, 105),
    ]  # fmt: skip
    ours = await setup.ours([LOOKUP, UNWIND, {"$project": {"id": 1, "oid": "$o.id"}}])
    assert sorted((d["id"], d["oid"]) for d in ours if d["id"] in (3, 4)) == [
        (3, 104), (3, 105), (4, 104), (4, 105),
    ]  # fmt: skip
    ours = await setup.ours([LOOKUP, UNWIND, {"$match": {"id": 1}}, {"$project": {"o": 1}}])
    assert sorted(d["o"]["id"] for d in ours) == [101, 102]
    assert {d["o"]["label"] for d in ours} == {"x", "X"}
    ours = await setup.ours([_group(), {"$match": {"_id": {"k": 1, "s": "a"}}}])
    assert ours == [{"_id": {"k": 1, "s": "a"}, "n": 2}]


@pytest.mark.parametrize(
    ("stage", "operator", "field"),
    [
        ({"$match": {"_id": {"$gt": {"k": 1, "s": "a"}}}}, "$gt", "'_id'"),
        ({"$match": {"_id": {"$lte": {"k": 1}}}}, "$lte", "'_id'"),
        ({"$group": {"_id": None, "m": {"$max": "$_id"}}}, "$max", "'_id'"),
        ({"$group": {"_id": None, "m": {"$min": "$_id"}}}, "$min", "'_id'"),
    ],
)
async def test_what_cannot_be_compiled_is_refused_clearly(
    setup: Setup, stage: dict[str, Any], operator: str, field: str
) -> None:
    """MongoDB orders documents field by field with its order of types: as a range bound or a
    $min/$max that is refused, naming the operator, the field and the backend."""
    with pytest.raises(XRepoValidationError) as info:
        await setup.ours([_group(), stage])
    message = str(info.value)
    assert operator in message
    assert field in message
    assert setup.repo.resource.dialect.name in message  # type: ignore[attr-defined]
