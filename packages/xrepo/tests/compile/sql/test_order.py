"""SQL compilation of order through ``$unwind`` and of whole lists, on every dialect.

The semantics are checked against a real mongod in
``tests-integration/xrepo/test_repo_sql_order.py``; these tests pin the shapes: the unwound block
carries the documents' sort and each element's position as sort keys (not an ``ORDER BY`` in a
derived table), a list field sorts by an element, and whole-array orders are refused naming the
operator, the field and the backend.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from xrepo import XRepoValidationError, parse_pipeline
from xrepo.compile.sql import CompiledPipeline, compiler_for
from xresource import MYSQL, POSTGRESQL, SQLITE

COLS = ["id", "s", "i", "f", "tags", "nums"]
KINDS: dict[str, Any] = {
    "id": int,
    "s": str | None,
    "i": int | None,
    "f": float | None,
    "tags": list[str] | None,
    "nums": list[int] | None,
}
DIALECTS = [POSTGRESQL, MYSQL, SQLITE]


def compile_pipeline(dialect: Any, pipeline: list[dict[str, Any]]) -> CompiledPipeline:
    c = compiler_for(
        dialect,
        columns=COLS,
        array_columns={"tags", "nums"},
        element_types={"tags": str, "nums": int},
        field_kinds=KINDS,
    )
    return c.pipeline('"t"', parse_pipeline(pipeline, fields=set(COLS)))


def _position_alias(sql: str) -> str:
    """The hidden column holding each unwound element's position (``__xr_u<n>``)."""
    at = sql.index('"__xr_u' if '"__xr_u' in sql else "`__xr_u")
    return sql[at + 1 : sql.index(sql[at], at + 1)]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_unwound_rows_keep_the_sort_then_the_position(dialect: Any) -> None:
    sql = compile_pipeline(
        dialect,
        [
            {"$sort": {"f": -1, "id": 1}},
            {"$unwind": "$nums"},
            {"$group": {"_id": None, "a": {"$last": "$i"}}},
        ],
    ).sql
    position = _position_alias(sql)
    windows = [w.split(") AS ")[0] for w in sql.split("ROW_NUMBER() OVER (")[1:]]
    assert len(windows) == 2  # $first's and $last's
    for window in windows:
        # Ordered by f, then id, then the element's position.
        assert window.index("f") < window.index("id") < window.index(position)
    # The unwind's derived table orders nothing itself (no database would keep it).
    unwound = re.search(r"(json_each|JSON_TABLE|jsonb_array_elements\w*)\(.*?\) AS [\"`]s\d+", sql)
    assert unwound is not None
    assert "ORDER BY" not in unwound.group(0)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_the_natural_order_is_the_id_then_the_position(dialect: Any) -> None:
    sql = compile_pipeline(
        dialect, [{"$unwind": "$tags"}, {"$group": {"_id": None, "p": {"$push": "$tags"}}}]
    ).sql
    position = _position_alias(sql)
    tail = sql[sql.rindex("ORDER BY") :]
    assert position in tail


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_a_sort_past_a_limit_reaches_the_group(dialect: Any) -> None:
    sql = compile_pipeline(
        dialect,
        [
            {"$sort": {"s": 1, "id": 1}},
            {"$limit": 3},
            {"$group": {"_id": None, "p": {"$push": "$i"}}},
        ],
    ).sql
    # Ordered inside (to limit) and again where the array is built.
    assert sql.count("ORDER BY") >= 2


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("field", ["tags", "nums"])
def test_a_list_sorts_by_an_element(dialect: Any, field: str) -> None:
    for direction in (1, -1):
        sql = compile_pipeline(dialect, [{"$sort": {field: direction}}]).sql
        order = sql[sql.index("ORDER BY") :]
        # A subquery over the elements picks the smallest (largest) one.
        assert "SELECT" in order
        assert "LIMIT 1" in order


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_a_sort_by_the_unwound_array_keeps_the_array(dialect: Any) -> None:
    sql = compile_pipeline(
        dialect,
        [
            {"$sort": {"nums": 1, "id": 1}},
            {"$unwind": "$nums"},
            {"$group": {"_id": None, "p": {"$push": "$id"}}},
        ],
    ).sql
    # The array itself rides along under a hidden name, sorted by an element.
    assert re.search(r"__xr_u\d+_0", sql)
    assert "LIMIT 1" in sql


REFUSED: list[tuple[str, str, list[dict[str, Any]]]] = [
    ("$max", "tags", [{"$group": {"_id": None, "m": {"$max": "$tags"}}}]),
    ("$min", "nums", [{"$group": {"_id": "$s", "m": {"$min": "$nums"}}}]),
    (
        "$max",
        "p",
        [
            {"$group": {"_id": "$s", "p": {"$addToSet": "$i"}}},
            {"$group": {"_id": None, "m": {"$max": "$p"}}},
        ],
    ),
    (
        "$min",
        "_id",
        [{"$group": {"_id": "$tags"}}, {"$group": {"_id": None, "m": {"$min": "$_id"}}}],
    ),
    ("$sort", "_id", [{"$group": {"_id": "$tags"}}, {"$sort": {"_id": 1}}]),
    (
        "$sort",
        "_id",
        [{"$group": {"_id": "$nums"}}, {"$match": {"_id": 1}}, {"$sort": {"_id": -1}}],
    ),
]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize(
    ("op", "field", "pipeline"), REFUSED, ids=[f"{o}-{f}" for o, f, _ in REFUSED]
)
def test_whole_array_orders_are_refused_naming_operator_field_backend(
    dialect: Any, op: str, field: str, pipeline: list[dict[str, Any]]
) -> None:
    with pytest.raises(XRepoValidationError) as err:
        compile_pipeline(dialect, pipeline)
    message = str(err.value)
    assert op in message
    assert repr(field) in message
    assert dialect.name in message


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_scalars_still_sort_and_aggregate(dialect: Any) -> None:
    """The list rules leave scalar fields and scalar group keys alone."""
    compile_pipeline(
        dialect,
        [
            {"$group": {"_id": "$s", "m": {"$max": "$i"}, "t": {"$first": "$tags"}}},
            {"$sort": {"_id": 1}},
        ],
    )
    sql = compile_pipeline(dialect, [{"$sort": {"s": 1}}]).sql
    assert "LIMIT 1" not in sql
