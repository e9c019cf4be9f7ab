"""The MariaDB/MySQL compiler: exact strings, typed JSON paths, numbers-only aggregates.

Shapes only; ``tests-integration/xrepo/test_repo_sql_mysql.py`` checks the answers against mongod.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xrepo import parse_filter, parse_pipeline
from xrepo.compile.sql import MySQLCompiler, compiler_for
from xresource import MYSQL

KINDS: dict[str, Any] = {
    "id": int,
    "s": str,
    "i": int,
    "d": Any,
    "tags": list[str],
    "doc": dict,
    "at": dt.datetime,
}
COLS = list(KINDS)


def compiler() -> MySQLCompiler:
    c = compiler_for(
        MYSQL,
        columns=COLS,
        array_columns=["tags"],
        field_kinds={k: (v if v is not Any else None) for k, v in KINDS.items()},
        element_types={"tags": str},
    )
    assert isinstance(c, MySQLCompiler)
    return c


def where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    c = compiler()
    return c.finish(c.where(parse_filter(filters), c.columns))


def test_string_equality_is_exact_and_keeps_the_plain_column_for_the_index() -> None:
    sql, params = where({"s": "abc"})
    assert sql == "(`s` = %s AND `s` = %s COLLATE utf8mb4_nopad_bin)"
    assert params == ["abc", "abc"]


def test_string_ranges_and_in_lists_use_code_point_order() -> None:
    sql, _ = where({"s": {"$gt": "a"}})
    assert sql == "`s` > %s COLLATE utf8mb4_nopad_bin"
    sql, params = where({"s": {"$in": ["a", "B"]}})
    assert "`s` IN (%s, %s) AND `s` IN (%s COLLATE utf8mb4_nopad_bin" in sql
    assert params == ["a", "B", "a", "B"]


def test_a_value_of_another_type_never_matches_a_typed_column() -> None:
    assert where({"s": 0})[0] == "0"
    assert where({"i": "1"})[0] == "0"
    assert where({"s": {"$ne": 0}})[0] == "(NOT COALESCE(0, 0))"


def test_columns_of_unknown_type_are_checked_at_run_time() -> None:
    assert "CHARSET(`d`) = 'binary'" in where({"d": 1})[0]
    assert "CHARSET(`d`) <> 'binary'" in where({"d": "1"})[0]
    assert "COLLATE utf8mb4_nopad_bin" in where({"d": "1"})[0]


@pytest.mark.parametrize(
    ("value", "json_type"),
    [("10", "= 'STRING'"), (10, "IN ('INTEGER','DOUBLE')"), (True, "= 'BOOLEAN'")],
)
def test_json_paths_compare_by_json_type(value: Any, json_type: str) -> None:
    sql, _ = where({"doc.zip": value})
    assert f"IF(JSON_TYPE(JSON_EXTRACT(`doc`, %s)) {json_type}" in sql


def test_in_on_a_json_path_types_each_value() -> None:
    sql, _ = where({"doc.zip": {"$in": [10, "x"]}})
    assert "IN ('INTEGER','DOUBLE')" in sql
    assert "= 'STRING'" in sql


def test_exists_on_a_json_path_counts_documents_and_arrays() -> None:
    sql, _ = where({"doc.zip": {"$exists": True}})
    assert sql == "COALESCE(JSON_TYPE(JSON_EXTRACT(`doc`, %s)) <> 'NULL', 0)"


def test_list_membership_reads_elements_not_json_text() -> None:
    sql, params = where({"tags": "é"})
    assert "JSON_CONTAINS" not in sql
    assert "JSON_TABLE(`tags`" in sql
    assert "COLLATE utf8mb4_nopad_bin" in sql
    assert params == ["é"]


def test_text_operators_never_match_other_types() -> None:
    assert where({"i": {"$regex": "1"}})[0] == "0"
    assert where({"at__contains": "2024"})[0] == "0"


def test_case_insensitive_operators_fold_with_unicode_lower() -> None:
    sql, params = where({"s__icontains": "É"})
    assert "LOWER(CONVERT(`s` USING utf8mb4) COLLATE utf8mb4_uca1400_ai_ci)" in sql
    assert params == ["%É%"]


def test_python_unicode_escapes_become_pcre_escapes() -> None:
    _, params = where({"s": {"$regex": "\\u00e9\\\\u"}})
    assert params == ["(?-i)\\x{00e9}\\\\u"]


def test_output_places_sort_and_group_exactly() -> None:
    c = compiler()
    sql, _ = c.select("`t`", parse_filter({}), sort=[("s", 1), ("id", -1)])
    assert "ORDER BY `s` COLLATE utf8mb4_nopad_bin ASC, `id` DESC" in sql
    compiled = c.pipeline("`t`", parse_pipeline([{"$group": {"_id": "$s", "n": {"$sum": 1}}}]))
    assert "`s` COLLATE utf8mb4_nopad_bin AS `_id`" in compiled.sql


def test_sum_and_avg_only_count_numbers() -> None:
    c = compiler()
    stages = parse_pipeline(
        [
            {
                "$group": {
                    "_id": None,
                    "a": {"$avg": "$i"},
                    "t": {"$sum": "$s"},
                    "z": {"$sum": "$doc.zip"},
                    "u": {"$sum": "$d"},
                }
            }
        ]
    )
    sql = c.pipeline("`t`", stages).sql
    assert "AVG(CAST(`i` AS DOUBLE))" in sql
    assert "0 AS `t`" in sql
    assert "IN ('INTEGER','DOUBLE'), CAST(JSON_VALUE(" in sql
    assert "SUM(IF(CHARSET(`d`) = 'binary', `d`, NULL))" in sql


def test_unwound_strings_keep_every_byte() -> None:
    c = compiler()
    sql = c.pipeline("`t`", parse_pipeline([{"$unwind": "$tags"}])).sql
    assert "elem LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$'" in sql
