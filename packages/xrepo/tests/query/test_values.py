"""Typed values in (xrepo.query): field kinds from models, and filter trees typed by them."""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, BeforeValidator, Field, PositiveInt

from xrepo import parse_filter, parse_pipeline
from xrepo.query import (
    MATCH_ALL,
    MATCH_NONE,
    And,
    Condition,
    FieldType,
    Kind,
    Match,
    Node,
    Nor,
    as_utc,
    field_types,
    type_filter,
    type_stages,
)

# The int64 bounds values are clamped to (what every driver can bind).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    """An aware UTC datetime."""
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _oid_to_hex(value: Any) -> Any:
    return str(value) if type(value).__name__ == "ObjectId" else value


# The shape xinspector generates for MongoDB ObjectId ids: a str with its own validator.
ObjectIdStr = Annotated[str, BeforeValidator(_oid_to_hex)]


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str
    zip: str | None = None


class Doc(BaseModel):
    id: ObjectIdStr
    i: int | None = None
    s: str | None = None
    f: float | None = None
    d: Decimal | None = None
    b: bool | None = None
    t: dt.datetime | None = None
    day: dt.date | None = None
    clock: dt.time | None = None
    u: uuid.UUID | None = None
    tags: list[str] = []
    nums: list[int] = []
    stamps: list[dt.datetime] = []
    meta: dict[str, Any] = {}
    address: Address | None = None
    anything: Any = None
    either: int | str | None = None
    number: int | float | None = None
    color: Color = Color.RED
    level: Literal["low", "high"] = "low"
    positive: PositiveInt = 1
    opt: Optional[Annotated[int, Field(ge=0)]] = None  # noqa: UP045 - the spelling under test
    pair: tuple[int, str] | None = None
    grid: list[list[int]] = []
    parent: Doc | None = None


TYPES = field_types(Doc)


def typed(filters: dict[str, Any]) -> Node:
    return type_filter(parse_filter(filters, fields=set(Doc.model_fields)), TYPES)


# -- kinds ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("id", FieldType(Kind.STR)),  # a validator around str counts as str
        ("i", FieldType(Kind.INT)),
        ("s", FieldType(Kind.STR)),
        ("f", FieldType(Kind.FLOAT)),
        ("d", FieldType(Kind.DECIMAL)),
        ("b", FieldType(Kind.BOOL)),
        ("t", FieldType(Kind.DATETIME)),
        ("day", FieldType(Kind.DATE)),
        ("clock", FieldType(Kind.TIME)),
        ("u", FieldType(Kind.UUID)),
        ("tags", FieldType(Kind.LIST, Kind.STR)),
        ("nums", FieldType(Kind.LIST, Kind.INT)),
        ("stamps", FieldType(Kind.LIST, Kind.DATETIME)),
        ("meta", FieldType(Kind.JSON)),
        ("address", FieldType(Kind.JSON)),
        ("anything", FieldType(Kind.ANY)),
        ("either", FieldType(Kind.ANY)),  # a union of unrelated types is untyped
        ("number", FieldType(Kind.FLOAT)),  # int | float compares as numbers
        ("color", FieldType(Kind.STR)),
        ("level", FieldType(Kind.STR)),
        ("positive", FieldType(Kind.INT)),
        ("opt", FieldType(Kind.INT)),
        ("pair", FieldType(Kind.LIST, Kind.ANY)),
        ("grid", FieldType(Kind.LIST, Kind.ANY)),
        ("parent", FieldType(Kind.JSON)),  # a self-reference resolves through definitions
    ],
)
def test_field_kinds(name: str, expected: FieldType) -> None:
    assert TYPES[name] == expected


# -- the issue's table ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # PostgreSQL truncated a float compared with an int column.
        ({"i": 1.5}, MATCH_NONE),
        ({"i": {"$lt": 2.5}}, Condition("i", "lte", 2)),
        ({"i": {"$lte": 2.5}}, Condition("i", "lte", 2)),
        ({"i": {"$gt": 2.5}}, Condition("i", "gte", 3)),
        ({"i": {"$gte": -2.5}}, Condition("i", "gte", -2)),
        ({"i": {"$lt": Decimal("-2.5")}}, Condition("i", "lte", -3)),
        ({"i": 2.0}, Condition("i", "eq", 2)),
        ({"i": Decimal("2.000")}, Condition("i", "eq", 2)),
        # A value of another type matches nothing; a database never coerces.
        ({"s": 0}, MATCH_NONE),
        ({"i": True}, MATCH_NONE),
        ({"i": "10"}, MATCH_NONE),
        ({"b": 1}, MATCH_NONE),
        ({"b": "true"}, MATCH_NONE),
        ({"f": False}, MATCH_NONE),
        ({"i": [1, 2]}, MATCH_NONE),
        ({"i": {"a": 1}}, MATCH_NONE),
        ({"meta": "x"}, MATCH_NONE),
        # The specification's own example: an ISO date on a datetime field.
        (
            {"t": {"$gte": "2024-01-01"}},
            Condition("t", "gte", at(2024, 1, 1)),
        ),
        (
            {"t": "2024-01-01T10:00:00+02:00"},
            Condition("t", "eq", at(2024, 1, 1, 8)),
        ),
        (
            {"t": "2024-01-01T10:00:00Z"},
            Condition("t", "eq", at(2024, 1, 1, 10)),
        ),
        (
            {"t": dt.datetime(2024, 1, 1, 10)},
            Condition("t", "eq", at(2024, 1, 1, 10)),
        ),
        ({"t": dt.date(2024, 1, 1)}, Condition("t", "eq", at(2024, 1, 1))),
        ({"t": "yesterday"}, MATCH_NONE),
        ({"t": 1704067200}, MATCH_NONE),
        # Dates: a datetime at midnight is that day; another moment is no day.
        ({"day": "2024-02-29"}, Condition("day", "eq", dt.date(2024, 2, 29))),
        ({"day": dt.datetime(2024, 1, 1)}, Condition("day", "eq", dt.date(2024, 1, 1))),
        ({"day": "2024-01-01T00:00:00Z"}, Condition("day", "eq", dt.date(2024, 1, 1))),
        ({"day": dt.datetime(2024, 1, 1, 12)}, MATCH_NONE),
        (
            {"day": {"$gt": dt.datetime(2024, 1, 1, 12)}},
            Condition("day", "gt", dt.date(2024, 1, 1)),
        ),
        (
            {"day": {"$lt": dt.datetime(2024, 1, 1, 12)}},
            Condition("day", "lte", dt.date(2024, 1, 1)),
        ),
        ({"day": "2024-13-01"}, MATCH_NONE),
        ({"clock": "10:30"}, Condition("clock", "eq", dt.time(10, 30))),
        # Decimal strings, and what a JSON float means on a Decimal field.
        ({"d": "1.50"}, Condition("d", "eq", Decimal("1.50"))),
        ({"d": "-.5e2"}, Condition("d", "eq", Decimal("-50"))),
        ({"d": 0.1}, Condition("d", "eq", Decimal("0.1"))),
        ({"d": " 1.5"}, MATCH_NONE),
        ({"d": "NaN"}, MATCH_NONE),
        ({"d": "1,5"}, MATCH_NONE),
        ({"d": {"$gt": "2"}}, Condition("d", "gt", Decimal("2"))),
        # UUID strings in any of their spellings.
        (
            {"u": "12345678123456781234567812345678"},
            Condition("u", "eq", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ),
        (
            {"u": "{12345678-1234-5678-1234-567812345678}"},
            Condition("u", "eq", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ),
        ({"u": "not-a-uuid"}, MATCH_NONE),
        ({"u": 5}, MATCH_NONE),
        # int64 overflow never reaches a driver.
        ({"i": 2**63}, MATCH_NONE),
        ({"i": INT64_MAX}, Condition("i", "eq", INT64_MAX)),
        ({"i": {"$lt": 2**70}}, Condition("i", "lte", INT64_MAX)),
        ({"i": {"$gt": 2**70}}, MATCH_NONE),
        ({"i": {"$gt": -(2**70)}}, Condition("i", "gte", INT64_MIN)),
        ({"i": {"$lte": -(2**70)}}, MATCH_NONE),
        ({"i": {"$gt": 1e300}}, MATCH_NONE),
        ({"i": {"$lt": math.inf}}, Condition("i", "gte", INT64_MIN)),  # every int
        ({"i": {"$gt": -math.inf}}, Condition("i", "gte", INT64_MIN)),
        ({"i": math.nan}, MATCH_NONE),
        ({"i": {"$gt": math.nan}}, MATCH_NONE),
        ({"f": 2**70}, Condition("f", "eq", float(2**70))),
        ({"f": 2**70 + 1}, MATCH_NONE),  # no float equals it
        ({"f": {"$gt": 2**70 + 1}}, Condition("f", "gte", math.nextafter(float(2**70), math.inf))),
        ({"f": {"$lt": 2**70 + 1}}, Condition("f", "lte", float(2**70))),
        ({"f": Decimal("0.5")}, Condition("f", "eq", 0.5)),
        ({"f": Decimal("0.1")}, MATCH_NONE),  # 0.1 has no exact float
        ({"f": 1}, Condition("f", "eq", 1)),
        ({"number": 1.5}, Condition("number", "eq", 1.5)),
        # $in / $nin filtered element by element.
        ({"i": {"$in": [1, "1", True, 2.0, 2.5, None]}}, Condition("i", "in", (1, 2, None))),
        ({"i": {"$in": ["1", True]}}, MATCH_NONE),
        ({"i": {"$nin": ["1", True]}}, MATCH_ALL),
        ({"s": {"$in": ["a", 1]}}, Condition("s", "in", ("a",))),
        (
            {"t": {"$in": ["2024-01-01", "bad"]}},
            Condition("t", "in", (at(2024, 1, 1),)),
        ),
        # Negations of an impossible value match everything, as in MongoDB.
        ({"i": {"$ne": "x"}}, MATCH_ALL),
        ({"i": {"$not": {"$gt": "x"}}}, MATCH_ALL),
        ({"$nor": [{"i": "x"}]}, MATCH_ALL),
        ({"$or": [{"i": "x"}, {"s": "a"}]}, Condition("s", "eq", "a")),
        ({"i": "x", "s": "a"}, MATCH_NONE),
        ({"i": {"$ne": 1.5}}, MATCH_ALL),
        # Text operators only on text.
        ({"i__contains": "1"}, MATCH_NONE),
        ({"t__startswith": "2024"}, MATCH_NONE),
        ({"u": {"$regex": "^1"}}, MATCH_NONE),
        ({"tags__icontains": "é"}, Condition("tags", "icontains", "é")),
        ({"nums__contains": "1"}, MATCH_NONE),
        ({"s__endswith": ""}, Condition("s", "endswith", "")),
        # List fields: a value is typed by the element type, a list element by element.
        ({"tags": 1}, MATCH_NONE),
        ({"tags": "a"}, Condition("tags", "eq", "a")),
        ({"nums": {"$gt": 1.5}}, Condition("nums", "gte", 2)),
        ({"nums": [1, 2.0]}, Condition("nums", "eq", [1, 2])),
        ({"nums": [1, "2"]}, MATCH_NONE),
        ({"stamps": "2024-01-01"}, Condition("stamps", "eq", at(2024, 1, 1))),
        # Untyped places keep their values.
        ({"meta.zip": "10"}, Condition("meta.zip", "eq", "10")),
        ({"address.zip": 10}, Condition("address.zip", "eq", 10)),
        ({"anything": True}, Condition("anything", "eq", True)),
        ({"either": "1"}, Condition("either", "eq", "1")),
        (
            {"anything": dt.datetime(2024, 1, 1)},
            Condition("anything", "eq", dt.datetime(2024, 1, 1)),
        ),
        # null is null on every field; $exists is untouched.
        ({"i": None}, Condition("i", "eq", None)),
        ({"i": {"$exists": True}}, Condition("i", "exists", True)),
        ({"id": 5}, MATCH_NONE),
    ],
)
def test_typed_tree(filters: dict[str, Any], expected: Node) -> None:
    assert typed(filters) == expected


def test_nor_keeps_the_possible_children() -> None:
    tree = typed({"$nor": [{"i": "x"}, {"s": "a"}]})
    assert tree == Nor((Condition("s", "eq", "a"),))


def test_an_untouched_tree_is_the_same_object() -> None:
    tree = parse_filter({"i": 1, "s": "a", "$or": [{"b": True}, {"meta.x": 1}]})
    assert type_filter(tree, TYPES) is tree


def test_as_utc() -> None:
    naive = dt.datetime(2024, 1, 1, 12)
    assert as_utc(naive).tzinfo is UTC
    assert as_utc(naive) == at(2024, 1, 1, 12)
    plus2 = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert as_utc(plus2) == plus2
    assert as_utc(plus2).tzinfo is UTC
    assert as_utc(plus2).hour == 10


def test_every_match_stage_is_typed_by_the_kinds_at_its_point() -> None:
    fields = set(Doc.model_fields)
    stages = parse_pipeline(
        [
            {"$match": {"i": 1.5}},
            {"$sort": {"i": 1}},
            {"$match": {"i": {"$lt": 2.5}}},
            {"$group": {"_id": "$i", "n": {"$sum": 1}}},
            {"$match": {"_id": "1"}},
            {"$match": {"n": {"$gt": 2.5}}},
        ],
        fields=fields,
    )
    out = type_stages(stages, TYPES)
    assert out[0] == Match(MATCH_NONE)
    assert out[2] == Match(Condition("i", "lte", 2))
    assert out[4] == Match(MATCH_NONE)  # the group key is an int: "1" is never one
    assert out[5] == Match(Condition("n", "gte", 3))  # a count is an int
    for keeping in (
        {"$project": {"i": 1}},
        {"$unwind": "$tags"},
        {"$lookup": {"from": "o", "localField": "i", "foreignField": "x", "as": "os"}},
        {"$count": "i"},
    ):
        stages = parse_pipeline([keeping, {"$match": {"i": "x"}}], fields=fields)
        assert type_stages(stages, TYPES)[1] == Match(MATCH_NONE), keeping
    for untyping in (
        {"$project": {"i": "$address.zip"}},
        {"$lookup": {"from": "o", "localField": "s", "foreignField": "x", "as": "i"}},
        {"$group": {"_id": "$anything"}},
    ):
        path = "_id" if "$group" in untyping else "i"
        stages = parse_pipeline([untyping, {"$match": {path: "x"}}], fields=fields)
        assert type_stages(stages, TYPES)[1] == stages[1], untyping


def test_deep_trees_simplify() -> None:
    tree = typed({"$and": [{"$or": [{"i": "x"}, {"i": True}]}, {"s": "a"}]})
    assert tree == MATCH_NONE
    tree = typed({"$or": [{"$nor": [{"i": "x"}]}, {"s": "a"}]})
    assert tree == MATCH_ALL
    tree = typed({"$and": [{"i": {"$ne": "x"}}, {"s": "a"}]})
    assert tree == Condition("s", "eq", "a")
    assert typed({"s": "a", "i": 1}) == And((Condition("s", "eq", "a"), Condition("i", "eq", 1)))
