"""The engine's cheap per-cell conditions give what their plain definitions give, cell by cell.

The CSV engine path checks every cell of a text column in DuckDB; some conditions take a cheap
path for most cells (a date DuckDB spells back as the cell, the length of a cell against the null
tokens, the digits after a point found by ``strpos``). Each is evaluated by DuckDB on hostile
cells (a fixed table keeps the ones that matter, hypothesis adds random ones) and compared with
its definition: Python's own pattern and null-token test, and DuckDB's ``TRY_CAST``.
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinspector._types import (  # private on purpose: the engine's SQL checks
    _DATE,
    _FIXED,
    DEFAULT_NULL_TOKENS,
)
from xinspector.discovery._engine import (  # private on purpose: the engine's SQL checks
    _checks,
    _no_null_token,
    _scale,
)

DATES = [
    "2024-01-31",
    "2024-02-30",  # the pattern holds, no such day
    "2024-13-01",
    "0001-01-01",
    "0000-01-01",  # year 0: DuckDB prints it as 1 BC
    "9999-12-31",
    "10000-01-01",  # a date, but five digits of year
    "-0001-01-01",
    " 2024-01-01",
    "2024-01-01 ",
    " 202-01-01",  # ten characters that DuckDB reads as the year 202
    "2024-1-01",
    "2024-01-1",
    "20240101",
    "2024/01/01",
    "2024-01-01T00:00",
    "2024-01-01 00:00:00",
    "infinity",
    "-infinity",
    "epoch",
    "\uff12\uff10\uff12\uff14-01-01",  # full-width digits
    "2024\u201001\u201001",  # Unicode hyphens
    "",
    "abcdefghij",
    "1999-12-31\x00",
]
NULLS = frozenset({"", "-", "NULL", "n/a", "néant", "—", " ", "NaN"})
CELLS = [
    "",
    " ",
    "-",
    "--",
    "NULL",
    "null",
    "NULL ",
    "néant",
    "néan",
    "néantx",
    "—",
    "\u2013",  # an en dash next to the em dash token
    "NaN",
    "nan",
    "n/a",
    "N/A",
    "a much longer cell than any token",
    "12345678",
]
DECIMALS = ["0", "0.", ".5", "+.5", "-1.25", "12.3400", "1.000000000000000001", "-0.0", "7"]


def _evaluate(expr: str, cells: list[str | None]) -> list[object]:
    """``expr`` (over a column named ``c``) on each cell, in DuckDB."""
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (i INTEGER, c VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(cells)))
        rows = con.execute(f"SELECT {expr} FROM t ORDER BY i").fetchall()
    return [r[0] for r in rows]


def _date_fails(cells: list[str | None]) -> list[bool]:
    """The definition: the cell fails unless it matches the pattern and DuckDB reads a date."""
    casts = _evaluate("TRY_CAST(c AS DATE) IS NOT NULL", cells)
    pairs = zip(cells, casts, strict=True)
    return [not (_DATE.fullmatch(v) is not None and bool(ok)) for v, ok in pairs]


def _counted(expr: str, cells: list[str | None]) -> list[bool]:
    # As the engine counts a failure: count_if of the condition, NULL counting as no failure.
    return [v is True for v in _evaluate(f"coalesce(({expr}), false)", cells)]


def test_date_check_fixed_cells() -> None:
    assert _counted(_checks("c")["date"], DATES) == _date_fails(DATES)


def test_date_check_keeps_failures_nulls_cannot_hide() -> None:
    # A cell of ten characters that is no date made the cheap path NULL: it must still fail.
    assert _counted(_checks("c")["date"], ["2024-02-30", "2024-13-01"]) == [True, True]
    assert _counted(_checks("c")["date"], ["2024-02-29", "2023-02-28"]) == [False, False]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789- T:/", min_size=8, max_size=12),
            st.dates().map(lambda d: d.isoformat()),
            st.text(max_size=12),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_date_check_random_cells(cells: list[str]) -> None:
    cells = [c.replace("\x00", "") for c in cells]
    assert _counted(_checks("c")["date"], cells) == _date_fails(cells)


@pytest.mark.parametrize("tokens", [NULLS, frozenset({"x"}), DEFAULT_NULL_TOKENS])
def test_null_token_condition(tokens: frozenset[str]) -> None:
    cells: list[str | None] = [*CELLS, None]
    got = _evaluate(_no_null_token("c", tokens), cells)
    assert got == [None if v is None else v not in tokens for v in cells]


def test_no_null_tokens_keeps_every_cell() -> None:
    assert _evaluate(_no_null_token("c", frozenset()), ["", "NULL"]) == [True, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=30), st.frozensets(st.text(max_size=6)))
def test_null_token_condition_random(cells: list[str], tokens: frozenset[str]) -> None:
    cells = [c.replace("\x00", "") for c in cells]
    tokens = frozenset(t.replace("\x00", "") for t in tokens)
    got = _evaluate(_no_null_token("c", tokens), list(cells))
    assert got == [v not in tokens for v in cells]


def test_scale_of_decimals() -> None:
    assert all(_FIXED.fullmatch(v) for v in DECIMALS)
    got = _evaluate(_scale("c"), [*DECIMALS, None])
    assert [g or 0 for g in got[:-1]] == [len(v.partition(".")[2]) for v in DECIMALS]
    assert got[-1] is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.from_regex(_FIXED, fullmatch=True), min_size=1, max_size=30))
def test_scale_of_random_decimals(cells: list[str]) -> None:
    got = _evaluate(_scale("c"), list(cells))
    assert [g or 0 for g in got] == [len(v.partition(".")[2]) for v in cells]
