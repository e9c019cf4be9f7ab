"""SQL pipelines over sub-documents and null-safe ``$lookup`` joins, on every SQL dialect.

The answers are checked against a real mongod in tests-integration/xrepo/test_repo_sql_pipelines.py;
these tests pin what the compiler writes: the null-safe join of each dialect, sub-documents
expanded into their columns or built as one JSON object, and conditions on a compound ``_id``.
"""

from __future__ import annotations

from typing import Any

import pytest

from xrepo import XRepoValidationError, parse_pipeline
from xrepo.compile.sql import CompiledPipeline, compiler_for
from xrepo.compile.sql._documents import children, expand, expand_keys
from xresource import MYSQL, POSTGRESQL, SQLITE, SQLDialect

COLS = ["id", "k", "s"]
DIALECTS = [POSTGRESQL, MYSQL, SQLITE]
LOOKUP = {"$lookup": {"from": "orders", "localField": "k", "foreignField": "ref", "as": "o"}}
GROUP = {"$group": {"_id": {"k": "$k", "s": "$s"}, "n": {"$sum": 1}}}


def compile_(dialect: SQLDialect, pipeline: list[dict[str, Any]]) -> CompiledPipeline:
    c = compiler_for(
        dialect, columns=COLS, foreign_columns={"orders": ["id", "ref", "amt"]}, repo="r"
    )
    return c.pipeline('"t"', parse_pipeline(pipeline, fields=set(COLS)))


# -- helpers --------------------------------------------------------------------------------------
def test_children_are_the_columns_under_a_prefix_only() -> None:
    fields = ["id", "o.id", "o.ref", "ox", "_id.k"]
    assert children("o", fields) == ["o.id", "o.ref"]
    assert children("_id", fields) == ["_id.k"]
    assert children("id", fields) == []  # a column is not a prefix
    assert children("x", fields) == []
    assert children("o", None) == []


def test_expansion_keeps_key_order_and_renames() -> None:
    fields = ["_id.k", "_id.s", "n"]
    assert expand("_id", "x", fields) == [("_id.k", "x.k"), ("_id.s", "x.s")]
    assert expand("n", "n", fields) == [("n", "n")]
    assert expand_keys([("_id", -1), ("n", 1)], fields) == [("_id.k", -1), ("_id.s", -1), ("n", 1)]


# -- 1. $lookup joins null with null --------------------------------------------------------------
@pytest.mark.parametrize(
    ("dialect", "join", "correlated"),
    [
        (POSTGRESQL, 'jsonb_build_array("f2"."ref") = jsonb_build_array("s1"."k")',
         '("f2"."ref" = "s1"."k" OR ("f2"."ref" IS NULL AND "s1"."k" IS NULL))'),
        (MYSQL, "`f2`.`ref` <=> `s1`.`k`", "`f2`.`ref` <=> `s1`.`k`"),
        (SQLITE, '"f2"."ref" IS "s1"."k"', '"f2"."ref" IS "s1"."k"'),
    ],
)  # fmt: skip
def test_lookup_joins_null_safely_in_both_forms(
    dialect: SQLDialect, join: str, correlated: str
) -> None:
    unwound = compile_(dialect, [LOOKUP, {"$unwind": "$o"}]).sql
    assert f" ON {join}" in unwound
    lone = compile_(dialect, [LOOKUP]).sql
    assert f"WHERE {correlated})" in lone
    assert " = " not in unwound.split(" ON ", 1)[1].split(")", 1)[0] or dialect is POSTGRESQL


# -- 2. a sub-document as a whole -----------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_projected_subdocument_is_its_columns_nested_again(dialect: SQLDialect) -> None:
    compiled = compile_(dialect, [LOOKUP, {"$unwind": "$o"}, {"$project": {"id": 1, "x": "$o"}}])
    assert compiled.nested_columns >= {"x.id", "x.ref", "x.amt"}
    rows = [{"id": 1, "x.id": 10, "x.ref": 1, "x.amt": None}]
    assert compiled.documents(rows) == [{"id": 1, "x": {"id": 10, "ref": 1, "amt": None}}]


@pytest.mark.parametrize(
    ("dialect", "builder"),
    [(POSTGRESQL, "jsonb_build_object("), (MYSQL, "JSON_OBJECT("), (SQLITE, "json_object(")],
)
def test_a_pushed_subdocument_is_one_json_object(dialect: SQLDialect, builder: str) -> None:
    compiled = compile_(
        dialect,
        [LOOKUP, {"$unwind": "$o"}, {"$group": {"_id": None, "p": {"$push": "$o"}}}],
    )
    assert builder in compiled.sql
    assert "p" in compiled.json_columns
    assert compiled.params[:3] == ["id", "ref", "amt"]  # the keys, in the table's order


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_subdocument_kept_by_preserve_is_null_where_nothing_joined(dialect: SQLDialect) -> None:
    unwind = {"$unwind": {"path": "$o", "preserveNullAndEmptyArrays": True}}
    compiled = compile_(dialect, [LOOKUP, unwind, {"$group": {"_id": None, "f": {"$first": "$o"}}}])
    assert "CASE WHEN" in compiled.sql
    assert "IS NOT NULL OR" in compiled.sql
    grouped = compile_(dialect, [LOOKUP, unwind, {"$group": {"_id": "$o", "n": {"$sum": 1}}}])
    assert "_id" in grouped.optional_prefixes
    rows = [{"_id.id": None, "_id.ref": None, "_id.amt": None, "n": 2}]
    assert grouped.documents(rows) == [{"n": 2}]  # missing, as in MongoDB


@pytest.mark.parametrize("op", ["$min", "$max"])
def test_min_max_of_a_subdocument_is_refused_naming_operator_field_backend(op: str) -> None:
    with pytest.raises(XRepoValidationError, match=rf"\{op} of the document field 'o'.*sqlite"):
        compile_(SQLITE, [LOOKUP, {"$unwind": "$o"}, {"$group": {"_id": None, "m": {op: "$o"}}}])


# -- 3. a compound _id ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("match", "where"),
    [
        ({"_id": None}, "1=0"),
        ({"_id": {"$exists": False}}, "1=0"),
        ({"_id": 1}, "1=0"),
        ({"_id": {"$gt": "a"}}, "1=0"),
        ({"_id": {"$regex": "a"}}, "1=0"),
        ({"_id": {"s": "a", "k": 1}}, "1=0"),  # key order matters
        ({"_id": {"k": 1, "x": 2}}, "1=0"),  # a key the document does not have
    ],
)
def test_conditions_a_document_never_meets_match_nothing(match: dict[str, Any], where: str) -> None:
    sql = compile_(POSTGRESQL, [GROUP, {"$match": match}]).sql
    # "nothing", or the negation of "the document is there" (it always is after a $group)
    assert sql.rsplit(" WHERE ", 1)[1] in (where, "(NOT COALESCE((1=1), FALSE))")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_document_equality_is_field_by_field(dialect: SQLDialect) -> None:
    compiled = compile_(dialect, [GROUP, {"$match": {"_id": {"k": 1, "s": None}}}])
    q = dialect.quote
    where = compiled.sql.split(" WHERE ", 1)[1]
    assert " AND " in where
    assert "IS NULL" in where.split(q("_id.s"), 1)[1]
    assert q("_id.k") in where
    assert 1 in compiled.params


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sort_on_a_compound_id_is_field_by_field_in_key_order(dialect: SQLDialect) -> None:
    sql = compile_(dialect, [GROUP, {"$sort": {"_id": -1}}]).sql
    order = sql.rsplit(" ORDER BY ", 1)[1]
    q = dialect.quote
    assert order.index(q("_id.k")) < order.index(q("_id.s"))
    assert "ASC" not in order


@pytest.mark.parametrize("dialect", DIALECTS)
def test_project_after_a_compound_group_keeps_or_drops_the_whole_id(dialect: SQLDialect) -> None:
    kept = compile_(dialect, [GROUP, {"$project": {"n": 1}}])
    assert kept.documents([{"_id.k": 1, "_id.s": "a", "n": 2}]) == [
        {"_id": {"k": 1, "s": "a"}, "n": 2}
    ]
    dropped = compile_(dialect, [GROUP, {"$project": {"_id": 0}}])
    assert dialect.quote("_id.k") not in dropped.sql.split(" FROM ", 1)[0]


@pytest.mark.parametrize("op", ["$gt", "$gte", "$lt", "$lte"])
def test_a_range_against_a_document_is_refused_naming_operator_field_backend(op: str) -> None:
    with pytest.raises(XRepoValidationError, match=rf"\{op} .* '_id' .*mysql"):
        compile_(MYSQL, [GROUP, {"$match": {"_id": {op: {"k": 1, "s": "a"}}}}])
