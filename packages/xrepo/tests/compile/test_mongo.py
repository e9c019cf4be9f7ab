"""The MongoDB compiler: ObjectId hex strings, anchored text operators, stored values."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128, ObjectId

from xrepo.compile.mongo import (
    is_object_id_hex,
    regex_literal,
    stored_value,
    to_bson,
    to_mongo_filter,
    to_mongo_pipeline,
)
from xrepo.errors import XRepoValidationError
from xrepo.query import parse_filter, parse_pipeline

HEX = "65f0a1b2c3d4e5f601234567"
OID = ObjectId(HEX)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HEX, True),
        (HEX.upper(), False),  # list() never returns upper case: no ObjectId is that string
        (HEX[:-1], False),
        (HEX + "0", False),
        ("g" * 24, False),
        (" " + HEX[1:], False),
        (HEX[:-1] + "\n", False),
        (12, False),
        (OID, False),
    ],
)
def test_object_id_hex(value: Any, expected: bool) -> None:
    assert is_object_id_hex(value) is expected


def test_a_hex_string_also_matches_its_object_id() -> None:
    assert to_mongo_filter(parse_filter({"id": HEX}), "id") == {"_id": {"$in": [HEX, OID]}}
    assert to_mongo_filter(parse_filter({"ref": {"$ne": HEX}})) == {"ref": {"$nin": [HEX, OID]}}
    assert to_mongo_filter(parse_filter({"id": {"$in": [HEX, "x"]}}), "id") == {
        "_id": {"$in": [HEX, "x", OID]}
    }
    assert to_mongo_filter(parse_filter({"id": {"$nin": [HEX]}}), "id") == {
        "_id": {"$nin": [HEX, OID]}
    }
    assert to_mongo_filter(parse_filter({"id__gt": HEX}), "id") == {
        "$or": [{"_id": {"$gt": HEX}}, {"_id": {"$gt": OID}}]
    }
    # Other strings and other types are left alone.
    assert to_mongo_filter(parse_filter({"id": HEX.upper()}), "id") == {"_id": {"$eq": HEX.upper()}}
    assert to_mongo_filter(parse_filter({"n": 3})) == {"n": {"$eq": 3}}


@pytest.mark.parametrize(
    ("op", "value", "pattern"),
    [
        ("endswith", "c", r"c\z"),
        ("startswith", "a", r"\Aa"),
        ("contains", "a.b", r"a\.b"),
        ("iendswith", "É", r"É\z"),
        ("contains", "a\x00b", r"a\x{0}b"),
        ("contains", "\n", r"\x{a}"),
        ("endswith", "", r"\z"),
    ],
)
def test_text_operators_are_anchored_at_the_very_ends(op: str, value: str, pattern: str) -> None:
    compiled = to_mongo_filter(parse_filter({f"s__{op}": value}))
    assert compiled["s"]["$regex"] == pattern
    assert ("$options" in compiled["s"]) is op.startswith("i")
    assert "\x00" not in compiled["s"]["$regex"]  # MongoDB refuses a NUL inside a pattern


@pytest.mark.parametrize(
    "text", ["", "a.b*c", "(x)[y]{z}", "^$|?+\\", "é ß\t\n\x00\x7f", " lead", "日本"]
)
def test_regex_literal_matches_exactly_the_text(text: str) -> None:
    # Python's re reads \x{..} differently: translate the PCRE escape to check the rest.
    python = re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: f"\\x{int(m[1], 16):02x}", regex_literal(text))
    assert re.fullmatch(python, text)
    assert not re.fullmatch(python, text + "x")


def test_to_bson_decimal_datetime_and_date() -> None:
    assert to_bson(Decimal("19.990")) == Decimal128("19.990")
    with pytest.raises(XRepoValidationError, match="Decimal128"):
        to_bson(Decimal("1" * 40))
    naive = dt.datetime(2024, 1, 1, 10, 30, 0, 123456)
    assert to_bson(naive) == dt.datetime(2024, 1, 1, 10, 30, 0, 123000, tzinfo=dt.UTC)
    plus2 = dt.datetime(2024, 1, 1, 12, 0, 0, 999999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert to_bson(plus2) == dt.datetime(2024, 1, 1, 10, 0, 0, 999000, tzinfo=dt.UTC)
    assert to_bson(plus2).tzinfo is dt.UTC
    assert to_bson(dt.date(2024, 2, 29)) == dt.datetime(2024, 2, 29, tzinfo=dt.UTC)
    assert to_bson({"a": [Decimal("1"), naive]}) == {
        "a": [Decimal128("1"), dt.datetime(2024, 1, 1, 10, 30, 0, 123000, tzinfo=dt.UTC)]
    }
    assert to_bson(True) is True
    assert to_bson(HEX) == HEX  # a str is stored as a str; ObjectId fields are the repo's call


def test_stored_value_keeps_unchanged_values_as_the_same_object() -> None:
    row = {"a": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "b": [1, "x"], "c": {"d": None}}
    for value in row.values():
        assert stored_value(value) is value
    nested = {"at": [dt.datetime(2024, 1, 1, 0, 0, 0, 1500)]}
    assert stored_value(nested) == {"at": [dt.datetime(2024, 1, 1, 0, 0, 0, 1000, tzinfo=dt.UTC)]}


def test_pipeline_with_object_ids_turns_them_into_hex_on_the_server() -> None:
    stages = parse_pipeline(
        [
            {"$match": {"id": HEX}},
            {"$group": {"_id": "$ref", "n": {"$count": {}}}},
        ],
        fields={"id", "ref"},
    )
    as_hex = {"$cond": [{"$eq": [{"$type": "$_id"}, "objectId"]}, {"$toString": "$_id"}, "$_id"]}
    out = to_mongo_pipeline(stages, id_field="id", object_ids=True)
    assert out[:3] == [
        {"$match": {"_id": {"$in": [HEX, OID]}}},
        {"$set": {"id": as_hex}},
        {"$unset": "_id"},
    ]
    assert out[3]["$group"]["_id"] == {
        "$cond": [{"$eq": [{"$type": "$ref"}, "objectId"]}, {"$toString": "$ref"}, "$ref"]
    }
    # Without object_ids, the plain rename (a model holding bson.ObjectId fields).
    plain = to_mongo_pipeline(stages, id_field="id")
    assert plain[1] == {"$set": {"id": "$_id"}}
    assert plain[3]["$group"]["_id"] == "$ref"


def test_lookup_joins_on_both_forms_of_the_local_key() -> None:
    stages = parse_pipeline(
        [{"$lookup": {"from": "users", "localField": "ref", "foreignField": "id", "as": "u"}}],
        fields={"id", "ref"},
    )
    out = to_mongo_pipeline(stages, id_field="id", object_ids=True)
    assert list(out[2]) == ["$set"]
    assert out[3]["$lookup"]["localField"] == "__xrepo_lookup_key"
    assert out[3]["$lookup"]["foreignField"] == "_id"
    assert out[4] == {"$unset": "__xrepo_lookup_key"}
    assert to_mongo_pipeline(stages, id_field="id")[2]["$lookup"]["localField"] == "ref"
