"""The PostgreSQL compiler: typed columns natively and exactly, untyped values type-strictly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xrepo import parse_filter, parse_pipeline
from xrepo.compile.sql import PostgresCompiler, compiler_for
from xrepo.compile.sql._postgres import pcre_pattern
from xresource import POSTGRESQL

COLS = ["id", "i", "f", "s", "b", "at", "d", "tags"]
KINDS: dict[str, Any] = {
    "id": int, "i": int, "f": float, "s": str, "b": bool, "at": dt.datetime, "d": dict,
}  # fmt: skip


def pg() -> PostgresCompiler:
    c = compiler_for(POSTGRESQL, columns=COLS, field_kinds=KINDS, array_columns=["tags"], repo="r")
    assert isinstance(c, PostgresCompiler)
    return c


def where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    c = pg()
    return c.finish(c.where(parse_filter(filters), c.columns))


def test_a_float_against_an_integer_column_is_not_truncated() -> None:
    assert where({"i": 1.5}) == ('"i" = $1::double precision', [1.5])
    assert where({"i": {"$lt": 2.5}}) == ('"i" < $1::double precision', [2.5])
    sql, params = where({"i": {"$in": [1, 2.5]}})
    assert sql == '("i" IN ($1::bigint, $2::double precision))'
    assert params == [1, 2.5]


def test_plain_comparisons_keep_the_column_bare_for_its_index() -> None:
    assert where({"id": 7}) == ('"id" = $1::bigint', [7])
    assert where({"s": "abc"}) == ('"s" = $1', ["abc"])
    assert where({"b": True}) == ('"b" = $1', [True])
    assert where({"i": 2**70})[0] == '"i" = $1::numeric'


def test_a_value_the_column_cannot_hold_matches_nothing() -> None:
    assert where({"i": True})[0] == "1=0"
    assert where({"b": 1})[0] == "1=0"
    assert where({"s": 0})[0] == "1=0"
    assert where({"s": {"$ne": 0}})[0] == "(NOT COALESCE(1=0, FALSE))"
    assert where({"i__contains": "1"})[0] == "1=0"
    assert where({"at": "2024-01-01"})[0] == "1=0"  # the query layer converts ISO text first
    sql, params = where({"s": {"$in": ["a", 1, None]}})
    assert sql == '("s" IN ($1) OR "s" IS NULL)'
    assert params == ["a"]


def test_text_ranges_and_sorts_are_by_code_point() -> None:
    assert where({"s": {"$gt": "Z"}}) == ('"s" COLLATE "C" > $1', ["Z"])
    c = pg()
    assert c.order_by([("s", 1), ("id", -1)], c.columns) == (
        '"s" COLLATE "C" ASC NULLS FIRST, "id" DESC'
    )


def test_case_insensitive_operators_fold_with_icu() -> None:
    sql, params = where({"s__icontains": "É%"})
    assert sql == (
        '(lower("s" COLLATE "und-x-icu") LIKE lower($1::text COLLATE "und-x-icu") ESCAPE \'!\')'
    )
    assert params == ["%É!%%"]


@pytest.mark.parametrize(
    ("value", "typed"),
    [("10", "'string'"), (10, "'number'"), (True, "'boolean'"), (1.5, "'number'")],
)
def test_nested_values_compare_within_their_json_type(value: Any, typed: str) -> None:
    sql, params = where({"d.zip": value})
    assert sql.startswith("EXISTS (SELECT 1 FROM jsonb_array_elements(")
    assert f'jsonb_typeof("v1"."e") = {typed}' in sql
    assert params[0] == ["zip"]


def test_text_operators_on_json_only_see_strings() -> None:
    sql, _ = where({"d.n": {"$regex": "^x"}})
    assert 'jsonb_typeof("v1"."e") = \'string\'' in sql
    assert " ~ $" in sql


def test_fields_after_a_group_compare_as_json() -> None:
    c = pg()
    stages = parse_pipeline(
        [{"$group": {"_id": "$b", "t": {"$sum": "$i"}}}, {"$match": {"_id": 1}}],
        fields=set(COLS),
    )
    sql = c.pipeline('"t"', stages).sql
    assert 'to_jsonb("_id")' in sql
    assert "'number'" in sql


def test_accumulators() -> None:
    c = pg()
    stages = parse_pipeline(
        [
            {
                "$group": {
                    "_id": None,
                    "mx": {"$max": "$d.zip"},
                    "ms": {"$min": "$s"},
                    "mb": {"$min": "$b"},
                    "ss": {"$sum": "$s"},
                    "af": {"$avg": "$f"},
                    "ai": {"$avg": "$i"},
                }
            }
        ],
        fields=set(COLS),
    )
    compiled = c.pipeline('"t"', stages)
    sql = compiled.sql
    assert "max(" not in sql.lower().replace("array_agg", "")  # no max(jsonb)
    assert 'MIN("s" COLLATE "C")' in sql
    assert 'bool_and("b")' in sql
    assert "COALESCE(SUM(NULL::numeric), 0)" in sql  # $sum of strings: 0, as MongoDB
    assert '(SUM("f") / NULLIF(COUNT("f"), 0))' in sql
    assert 'AVG("i")' in sql  # exact numeric
    assert "mx" in compiled.json_columns


@pytest.mark.parametrize(
    ("pattern", "translated"),
    [
        ("^abc$", "^abc(?=\\n?$)"),
        ("a|b$", "a|b(?=\\n?$)"),
        ("$", "(?=\\n?$)"),
        ("a\\$b", "a\\$b"),  # an escaped dollar is a character
        ("[$]x$", "[$]x(?=\\n?$)"),  # so is a dollar in a class
        ("[]$]", "[]$]"),  # "]" first in a class is a member
        ("[^]$]$", "[^]$](?=\\n?$)"),
        ("[a^]$", "[a^](?=\\n?$)"),
        ("^.$", "^[^\\n](?=\\n?$)"),  # PCRE's dot is not a newline
        ("a\\.b[.]", "a\\.b[.]"),  # an escaped dot and a dot in a class are dots
    ],
)
def test_pcre_reads_the_same_on_postgresql(pattern: str, translated: str) -> None:
    # MongoDB's (PCRE's) $ also matches before a final newline, its dot never matches one.
    assert pcre_pattern(pattern) == translated
