"""SQL and MongoDB compilation: parameters, quoting, and what never reaches the query text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from xrepo import XRepoValidationError, parse_filter, parse_pipeline
from xrepo.compile.mongo import check_collection_name, to_mongo_filter, to_mongo_pipeline
from xrepo.compile.sql import compiler_for, finalize
from xresource import MYSQL, POSTGRESQL, SQLITE

COLS = ["id", "name", "age", "address"]
HOSTILE = "x'); DROP TABLE users; --"


def compile_where(dialect: Any, filters: dict[str, Any]) -> tuple[str, list[Any]]:
    c = compiler_for(dialect, columns=COLS)
    return c.finish(c.where(parse_filter(filters), COLS))


@pytest.mark.parametrize("dialect", [POSTGRESQL, MYSQL, SQLITE], ids=lambda d: d.name)
def test_values_are_always_parameters(dialect: Any) -> None:
    sql, params = compile_where(
        dialect, {"name": HOSTILE, "age__in": [1, 2], "$or": [{"name__icontains": "%_!"}]}
    )
    assert HOSTILE not in sql
    assert "DROP" not in sql
    assert params[0] == HOSTILE
    assert params[1:3] == [1, 2]
    if dialect is SQLITE:  # no LIKE: instr() over Unicode-folded text
        assert params[3] == "%_!"
    else:
        assert params[3] == "%!%!_!!%"  # LIKE wildcards in the value are escaped


def test_placeholders_follow_the_text_order() -> None:
    assert finalize(POSTGRESQL, "a = \x001\x00 AND b = \x000\x00", ["x", "y"]) == (
        "a = $1 AND b = $2",
        ["y", "x"],
    )
    assert finalize(MYSQL, "a = \x001\x00 OR a = \x001\x00", ["x", "y"]) == (
        "a = %s OR a = %s",
        ["y", "y"],
    )
    assert finalize(SQLITE, "\x000\x00", [5]) == ("?", [5])


def test_identifiers_are_quoted() -> None:
    c = compiler_for(POSTGRESQL, columns=['we"ird'], field_kinds={'we"ird': int})
    sql, _ = c.finish(c.where(parse_filter({'we"ird': 1}), c.columns))
    assert sql == '"we""ird" = $1::bigint'
    m = compiler_for(MYSQL, columns=["a`b"], field_kinds={"a`b": int})
    sql, _ = m.finish(m.where(parse_filter({"a`b": 1}), m.columns))
    assert sql == "`a``b` = %s"


def test_unknown_column_is_rejected() -> None:
    c = compiler_for(SQLITE, columns=COLS)
    with pytest.raises(XRepoValidationError, match="unknown field 'salary'"):
        c.where(parse_filter({"salary": 1}), COLS)


def test_null_semantics_in_sql() -> None:
    assert compile_where(SQLITE, {"name": None})[0] == '"name" IS NULL'
    assert compile_where(SQLITE, {"name": {"$ne": "a"}})[0] == (
        '(NOT COALESCE(("name" = ? AND typeof("name") = \'text\'), 0))'
    )
    pg = compiler_for(POSTGRESQL, columns=COLS, field_kinds={"age": int})
    sql, params = pg.finish(pg.where(parse_filter({"age": {"$in": [1, None]}}), pg.columns))
    assert sql == '("age" IN ($1::bigint) OR "age" IS NULL)'
    assert params == [1]
    assert pg.where(parse_filter({"age": {"$gt": None}}), pg.columns) == "1=0"


def test_json_paths_per_dialect() -> None:
    sql, params = compile_where(SQLITE, {"address.city": "oslo"})
    assert sql == ('(json_extract("address", ?) = ? AND json_type("address", ?) = \'text\')')
    assert params == ['$."city"', "oslo", '$."city"']
    sql, params = compile_where(POSTGRESQL, {"address.zip": {"$gt": 5}})
    assert "jsonb_typeof" in sql  # type-strict: a number only compares with numbers
    assert params[0] == ["zip"]
    assert params[-1] == 5
    sql, _ = compile_where(MYSQL, {"address.city": "oslo"})
    assert "JSON_TYPE(JSON_EXTRACT(`address`, %s)) = 'STRING'" in sql  # compile/sql/test_mysql.py
    with pytest.raises(XRepoValidationError, match="not supported in SQL JSON paths"):
        compile_where(SQLITE, {'address.ci"ty': 1})


def test_regex_support_per_dialect() -> None:
    pg = compiler_for(POSTGRESQL, columns=COLS, field_kinds={"name": str})
    assert pg.where(parse_filter({"name": {"$regex": "^a", "$options": "i"}}), pg.columns) == (
        '("name" COLLATE "und-x-icu" ~* \x000\x00::text)'
    )
    my = compiler_for(MYSQL, columns=COLS, field_kinds={"name": str})
    sql, params = my.finish(my.where(parse_filter({"name": {"$regex": "^a"}}), my.columns))
    assert sql == "(`name` REGEXP %s)"
    assert params == ["(?-i)^a"]
    with pytest.raises(XRepoValidationError, match="REGEXP"):
        compiler_for(SQLITE, columns=COLS, regexp=False).where(
            parse_filter({"name": {"$regex": "a"}}), COLS
        )
    with pytest.raises(XRepoValidationError, match="only 'i'"):
        compile_where(POSTGRESQL, {"name": {"$regex": "a", "$options": "m"}})


def test_pipeline_sql_shapes() -> None:
    c = compiler_for(POSTGRESQL, columns=COLS)
    stages = parse_pipeline(
        [
            {"$match": {"age": {"$gte": 18}}},
            {"$group": {"_id": "$name", "n": {"$sum": 1}}},
            {"$sort": {"n": -1}},
            {"$limit": 5},
        ],
        fields=set(COLS),
    )
    compiled = c.pipeline('"users"', stages)
    assert "GROUP BY 1" in compiled.sql
    assert "LIMIT 5" in compiled.sql
    assert """ORDER BY (CASE jsonb_typeof(to_jsonb("n"))""" in compiled.sql
    assert compiled.params == [18]
    docs = compiled.documents([{"_id": "a", "n": 2}])
    assert docs == [{"_id": "a", "n": 2}]
    with pytest.raises(XRepoValidationError, match=r"\$unwind .* JSON array column"):
        c.pipeline('"users"', parse_pipeline([{"$unwind": "$name"}], fields=set(COLS)))
    arrays = compiler_for(SQLITE, columns=COLS, array_columns={"address"})
    unwound = arrays.pipeline(
        '"users"', parse_pipeline([{"$unwind": "$address"}], fields=set(COLS))
    )
    assert 'json_each("s1"."address")' in unwound.sql


def test_compiled_documents_decode_and_nest() -> None:
    c = compiler_for(SQLITE, columns=COLS)
    stages = parse_pipeline(
        [{"$group": {"_id": {"n": "$name"}, "ages": {"$push": "$age"}}}], fields=set(COLS)
    )
    compiled = c.pipeline('"users"', stages)
    assert compiled.documents([{"_id.n": "a", "ages": json.dumps([1, 2])}]) == [
        {"_id": {"n": "a"}, "ages": [1, 2]}
    ]


def test_mongo_filter_is_rebuilt_from_the_tree() -> None:
    node = parse_filter(
        {"id": 3, "name__icontains": "a.b", "age": {"$exists": True}, "$nor": [{"age": {"$gt": 5}}]}
    )
    assert to_mongo_filter(node, "id") == {
        "$and": [
            {"_id": {"$eq": 3}},
            {"name": {"$regex": "a\\.b", "$options": "i"}},
            {"age": {"$ne": None}},
            {"$nor": [{"age": {"$gt": 5}}]},
        ]
    }
    assert to_mongo_filter(parse_filter({"age": {"$not": {"$lt": 1}}})) == {
        "$nor": [{"age": {"$lt": 1}}]
    }


def test_mongo_pipeline_renames_the_id() -> None:
    stages = parse_pipeline(
        [
            {"$match": {"id": {"$gt": 1}}},
            {"$sort": {"id": -1}},
            {"$group": {"_id": None, "n": {"$count": {}}}},
        ],
        fields={"id", "name"},
    )
    assert to_mongo_pipeline(stages, id_field="id") == [
        {"$match": {"_id": {"$gt": 1}}},
        {"$set": {"id": "$_id"}},
        {"$unset": "_id"},
        {"$sort": {"id": -1}},
        {"$group": {"_id": None, "n": {"$sum": 1}}},
    ]


@pytest.mark.parametrize("name", ["", "a$b", "system.users", "a\x00b", 5])
def test_bad_collection_names(name: Any) -> None:
    with pytest.raises(XRepoValidationError):
        check_collection_name(name)
