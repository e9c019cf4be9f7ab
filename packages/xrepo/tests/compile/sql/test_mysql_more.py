"""The MariaDB compiler after ``$unwind``/``$group``: shapes of the fixes for the suite's cases.

``tests-integration/xrepo/test_repo_sql_mysql_more.py`` checks the answers against mongod.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xrepo import parse_pipeline
from xrepo.compile.sql import MySQLCompiler, compiler_for
from xresource import MYSQL

KINDS: dict[str, Any] = {
    "id": int,
    "s": str,
    "b": bool,
    "d": Decimal,
    "tags": list[str],
    "nums": list[int],
    "addr": dict,
}


def compile_(pipeline: list[dict[str, Any]]) -> str:
    c = compiler_for(
        MYSQL,
        columns=list(KINDS),
        array_columns=["tags", "nums"],
        field_kinds=KINDS,
        element_types={"tags": str, "nums": int},
    )
    assert isinstance(c, MySQLCompiler)
    return c.pipeline("`t`", parse_pipeline(pipeline)).sql


def test_pushed_values_become_json_values_before_json_arrayagg() -> None:
    # JSON_ARRAYAGG of text grouped over a JSON_TABLE turns 'é' into '?' on MariaDB 10.11.
    sql = compile_([{"$unwind": "$tags"}, {"$group": {"_id": "$tags", "a": {"$push": "$s"}}}])
    assert "JSON_ARRAYAGG(JSON_EXTRACT(JSON_ARRAY(" in sql
    sql = compile_([{"$group": {"_id": "$s", "a": {"$addToSet": "$s"}}}])
    assert "JSON_ARRAYAGG(DISTINCT JSON_EXTRACT(JSON_ARRAY(" in sql


def test_booleans_are_collected_as_json_booleans() -> None:
    sql = compile_([{"$group": {"_id": "$s", "a": {"$addToSet": "$b"}}}])
    assert "THEN 'true' ELSE 'false' END" in sql


def test_text_after_unwind_is_grouped_exactly() -> None:
    sql = compile_([{"$unwind": "$tags"}, {"$group": {"_id": "$s", "n": {"$sum": 1}}}])
    assert "`s` COLLATE utf8mb4_nopad_bin AS `_id`" in sql


def test_a_decimal_after_a_sort_is_averaged_exactly() -> None:
    sql = compile_([{"$sort": {"s": 1}}, {"$group": {"_id": "$b", "a": {"$avg": "$d"}}}])
    assert "AS DECIMAL(65,30)" in sql
    assert "AS DOUBLE" not in sql.split("AS `a`")[0].rsplit(",", 1)[-1]


def test_a_nested_group_key_merges_equal_numbers_and_null_with_missing() -> None:
    sql = compile_([{"$group": {"_id": "$addr.zip", "n": {"$sum": 1}}}])
    assert "WHEN COALESCE(JSON_TYPE(" in sql
    assert "THEN NULL" in sql
    assert "AS SIGNED" in sql
    assert ") COLLATE utf8mb4_nopad_bin AS `_id`" in sql


def test_a_foreign_column_of_unknown_type_is_split_by_its_bytes() -> None:
    c = compiler_for(
        MYSQL,
        columns=list(KINDS),
        array_columns=["tags", "nums"],
        field_kinds=KINDS,
        foreign_columns={"orders": ["id", "ref", "label"]},
    )
    pipeline = [
        {"$lookup": {"from": "orders", "localField": "id", "foreignField": "ref", "as": "o"}},
        {"$unwind": "$o"},
        {"$group": {"_id": "$o.label", "n": {"$sum": 1}}},
    ]
    sql = c.pipeline("`t`", parse_pipeline(pipeline)).sql
    assert "GROUP BY 1, IF(CHARSET(`o.label`) <> 'binary', CAST(`o.label` AS BINARY), NULL)" in sql


def test_a_list_made_by_group_is_matched_by_its_elements() -> None:
    sql = compile_(
        [
            {"$unwind": "$tags"},
            {"$group": {"_id": "$nums", "n": {"$sum": 1}}},
            {"$match": {"_id": 0}},
        ]
    )
    assert "JSON_TABLE(`_id`, '$[*]'" in sql
