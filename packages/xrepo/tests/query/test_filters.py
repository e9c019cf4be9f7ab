"""The query language: parsing, normalization and rejection of bad filters and pipelines."""

from __future__ import annotations

import re
from typing import Any

import pytest

from xrepo import XRepoValidationError, parse_filter, parse_pipeline
from xrepo.query import (
    And,
    Condition,
    FilterLimits,
    Group,
    Limit,
    Match,
    Nor,
    Not,
    Or,
    Project,
    Sort,
    parse_sort,
)

FIELDS = {"id", "name", "age", "address", "tags"}


def test_mongo_and_django_spellings_give_the_same_tree() -> None:
    mongo = parse_filter({"age": {"$gte": 18, "$lt": 65}, "name": "Ada"}, fields=FIELDS)
    django = parse_filter({"age__gte": 18, "age__lt": 65, "name": "Ada"}, fields=FIELDS)
    assert (
        mongo
        == django
        == And(
            (
                Condition("age", "gte", 18),
                Condition("age", "lt", 65),
                Condition("name", "eq", "Ada"),
            )
        )
    )


def test_logical_operators_and_not() -> None:
    tree = parse_filter(
        {"$or": [{"age": 1}, {"$nor": [{"name": "x"}]}], "age": {"$not": {"$gt": 5}}}, fields=FIELDS
    )
    assert tree == And(
        (
            Or((Condition("age", "eq", 1), Nor((Condition("name", "eq", "x"),)))),
            Not(Condition("age", "gt", 5)),
        )
    )


def test_django_suffixes() -> None:
    assert parse_filter({"name__isnull": True}) == Condition("name", "eq", None)
    assert parse_filter({"name__isnull": False}) == Condition("name", "ne", None)
    assert parse_filter({"tags__in": ["a", "b"]}) == Condition("tags", "in", ("a", "b"))
    assert parse_filter({"address__city__icontains": "os"}) == Condition(
        "address.city", "icontains", "os"
    )


def test_regex_forms() -> None:
    assert parse_filter({"name": {"$regex": "^a", "$options": "i"}}) == Condition(
        "name", "regex", ("^a", "i")
    )
    assert parse_filter({"name": re.compile("b$", re.I)}) == Condition("name", "regex", ("b$", "i"))


def test_dotted_paths_are_checked_by_their_first_segment() -> None:
    assert parse_filter({"address.city": "Oslo"}, fields=FIELDS) == Condition(
        "address.city", "eq", "Oslo"
    )
    with pytest.raises(XRepoValidationError, match=r"unknown field 'street\.name'"):
        parse_filter({"street.name": 1}, fields=FIELDS)


def test_empty_filter_matches_all() -> None:
    assert parse_filter(None) == And(()) == parse_filter({})


BAD: list[tuple[Any, str]] = [
    ({"$where": "1"}, r"\$where runs code"),
    ({"age": {"$function": {}}}, r"\$function runs code"),
    ({"age": {"$expr": {}}}, r"\$expr runs code"),
    ({"$text": {"$search": "x"}}, r"\$text"),
    ({"age": {"$elemMatch": {}}}, r"unknown operator '\$elemMatch' on field 'age'"),
    ({"$xor": []}, "unknown top-level operator"),
    ({"nope": 1}, "unknown field 'nope'"),
    ({"age__near": 1}, "unknown filter suffix '__near'"),
    ({"age": {"$in": 5}}, r"\$in needs a list"),
    ({"age": {"$exists": "yes"}}, r"\$exists needs"),
    ({"name": {"$regex": "("}}, "invalid regex"),
    ({"name": {"$regex": "a", "$options": "q"}}, "unknown regex option"),
    ({"name": {"$options": "i"}}, r"\$options without \$regex"),
    ({"age": {"$gt": 1, "plain": 2}}, "cannot mix"),
    ({"age": {"$eq": {"$where": "x"}}}, "not allowed inside a value"),
    ({"age": object()}, "cannot be used in a filter"),
    ({"name__isnull": "yes"}, "needs True or False"),
    ({"name__contains": 5}, "needs a string"),
    ({"$and": "x"}, "non-empty list"),
    ({"": 1}, "non-empty"),
    ({"a\x00b": 1}, "control characters"),
    ({"$nor": [{"age": 1}, 5]}, "must be a dict"),
    ([("age", 1)], "must be a dict"),
]


@pytest.mark.parametrize(("filters", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_filters_name_the_culprit(filters: Any, message: str) -> None:
    with pytest.raises(XRepoValidationError, match=message):
        parse_filter(filters, fields=FIELDS)


def test_limits() -> None:
    limits = FilterLimits(max_depth=3, max_conditions=5, max_in_values=3, max_regex_length=4)
    deep: dict[str, Any] = {"age": 1}
    for _ in range(5):
        deep = {"$and": [deep]}
    with pytest.raises(XRepoValidationError, match="deeper than 3"):
        parse_filter(deep, limits=limits)
    with pytest.raises(XRepoValidationError, match="more than 5 conditions"):
        parse_filter({"$or": [{"age": i} for i in range(6)]}, limits=limits)
    with pytest.raises(XRepoValidationError, match="more than the limit of 3"):
        parse_filter({"age": {"$in": [1, 2, 3, 4]}}, limits=limits)
    with pytest.raises(XRepoValidationError, match="longer than 4"):
        parse_filter({"name": {"$regex": "aaaaa"}}, limits=limits)


def test_sort_spellings() -> None:
    assert parse_sort([("age", -1), "name", "-id"]) == (("age", -1), ("name", 1), ("id", -1))
    assert parse_sort({"age": "desc"}) == (("age", -1),)
    for bad in ([("age", 2)], 5, [("age", True)], [("$x", 1)]):
        with pytest.raises(XRepoValidationError):
            parse_sort(bad)
    with pytest.raises(XRepoValidationError, match="unknown field 'nope'"):
        parse_sort("nope", fields=FIELDS)


def test_pipeline_tracks_fields_between_stages() -> None:
    stages = parse_pipeline(
        [
            {"$match": {"age": {"$gt": 1}}},
            {"$group": {"_id": "$name", "n": {"$sum": 1}, "avg": {"$avg": "$age"}}},
            {"$sort": {"n": -1}},
            {"$limit": 3},
            {"$project": {"n": 1, "_id": 0}},
        ],
        fields=FIELDS,
    )
    assert [type(s) for s in stages] == [Match, Group, Sort, Limit, Project]
    with pytest.raises(XRepoValidationError, match="unknown field 'age'"):
        parse_pipeline(
            [{"$group": {"_id": "$name", "n": {"$sum": 1}}}, {"$match": {"age": 1}}], fields=FIELDS
        )


BAD_PIPELINES: list[tuple[Any, str]] = [
    ({"$match": {}}, "a pipeline is a list"),
    ([{"$out": "x"}], "unknown pipeline stage '\\$out'"),
    ([{"$merge": "x"}], "unknown pipeline stage"),
    ([{"$match": {}, "$limit": 1}], "exactly one"),
    ([{"$group": {"n": {"$sum": 1}}}], "needs an _id"),
    ([{"$group": {"_id": None, "x": {"$accumulator": {}}}}], r"\$accumulator runs code"),
    ([{"$group": {"_id": None, "x": {"$median": "$age"}}}], "unknown accumulator"),
    ([{"$group": {"_id": "name"}}], "field reference"),
    ([{"$project": {"name": 1, "age": 0}}], "cannot mix"),
    ([{"$project": {"x": {"$function": {}}}}], r"\$function runs code"),
    ([{"$limit": -1}], "non-negative"),
    ([{"$limit": 0}], "positive"),
    ([{"$skip": "1"}], "non-negative"),
    ([{"$count": "a.b"}], "must not contain"),
    ([{"$lookup": {"from": "x", "pipeline": []}}], "exactly from"),
    ([{"$unwind": "tags"}], "field reference"),
    ([{"$sort": {}}], "non-empty"),
    ([{"$match": {"$where": "1"}}], r"\$where"),
]


@pytest.mark.parametrize(("pipeline", "message"), BAD_PIPELINES, ids=[m for _, m in BAD_PIPELINES])
def test_bad_pipelines(pipeline: Any, message: str) -> None:
    with pytest.raises(XRepoValidationError, match=message):
        parse_pipeline(pipeline, fields=FIELDS)


def test_too_many_stages() -> None:
    with pytest.raises(XRepoValidationError, match="more than 100"):
        parse_pipeline([{"$limit": 1}] * 101)
