"""The SQL of UUID columns, run by the standard library's SQLite: one key per UUID, 128-bit order.

The oracle is Python's ``uuid.UUID``: a value SQLite holds in a column declared ``UUID`` is a
UUID exactly when ``UUID()`` reads it (text) or when it is 16 bytes (a blob), and its key is then
``UUID(...).hex``. Python's ``UUID()`` parses the digits with ``int(..., 16)``, which also takes
``0x``, ``_``, ``+`` and surrounding whitespace inside the 32 characters; no real UUID column
writes them, and they are left out of the generated text.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinspector.profiling._sql_uuid import uuid_bounds, uuid_key, uuid_order


def keys(cells: list[Any]) -> tuple[list[Any], list[Any], tuple[Any, Any]]:
    """``(what SQLite stored, uuid_key of each, (min, max) of uuid_bounds)``."""
    con = sqlite3.connect(":memory:")
    try:
        con.execute("CREATE TABLE t (i integer, u UUID)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(cells)))
        rows = con.execute(f"SELECT u, {uuid_key('sqlite', 'u')} FROM t ORDER BY i").fetchall()
        lo, hi = uuid_bounds("sqlite", "u", "t")
        bounds = con.execute(f"SELECT {lo}, {hi} FROM t").fetchone()
    finally:
        con.close()
    return [r[0] for r in rows], [r[1] for r in rows], bounds


def python_key(stored: Any) -> str | None:
    if isinstance(stored, bytes):
        return stored.hex() if len(stored) == 16 else None
    if not isinstance(stored, str):
        return None  # SQLite's NUMERIC affinity made a number of it: no UUID any more
    try:
        return uuid.UUID(stored).hex
    except ValueError:
        return None


U = uuid.UUID("0123abcd-ef45-4789-8abc-def012345678")
CASES = [
    str(U),
    str(U).upper(),
    U.hex,
    U.hex.upper(),
    "{" + str(U) + "}",
    "{" + str(U),  # strip('{}') takes one side alone too
    "urn:uuid:" + str(U),
    "uuid:" + str(U),
    "URN:UUID:" + str(U),  # the prefix counts in lowercase only
    "urn:uuid:{" + str(U) + "}",
    "-" + U.hex + "-",  # every hyphen goes, wherever it is
    str(U)[:-1],
    str(U) + "0",
    str(U).replace("a", "g"),
    "",
    U.bytes,
    U.bytes[:15],
    U.bytes + b"\x00",
    None,
    42,
]


@pytest.mark.parametrize("cell", CASES, ids=repr)
def test_key_of_each_spelling(cell: Any) -> None:
    stored, got, _ = keys([cell])
    expected = python_key(stored[0])
    # No UUID: the key is the value itself, counted apart from every UUID.
    assert got[0] == (expected if expected is not None else stored[0])


HEX = "0123456789abcdefABCDEF"
spellings = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: u.hex),
    st.uuids().map(lambda u: "{" + str(u) + "}"),
    st.uuids().map(lambda u: "urn:uuid:" + str(u)),
    st.uuids().map(lambda u: u.bytes),
    st.text(alphabet=HEX + "-{}:urnid", max_size=45),
    st.binary(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(spellings, min_size=1, max_size=12))
def test_keys_and_bounds_are_pythons(cells: list[Any]) -> None:
    stored, got, (lo, hi) = keys(cells)
    expected = [python_key(s) for s in stored]
    assert got == [e if e is not None else s for e, s in zip(expected, stored, strict=True)]
    present = [uuid.UUID(e) for e in expected if e is not None]
    assert (lo, hi) == ((min(present).hex, max(present).hex) if present else (None, None))


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite", "duckdb"])
def test_order_is_only_rewritten_where_the_native_order_is_wrong(dialect: str) -> None:
    order = uuid_order(dialect, "k")
    if dialect == "mysql":  # MariaDB's UUID order swaps the time fields of version 1
        assert order == "CAST(k AS CHAR CHARACTER SET ascii) COLLATE ascii_bin"
    elif dialect == "sqlite":  # a column's NOCASE would compare 'A' and 'a' as one
        assert order == "k COLLATE BINARY"
    else:
        assert order == "k"


def test_postgresql_bounds_skip_nulls() -> None:
    # ORDER BY ... DESC puts NULL first in PostgreSQL: the subquery must leave nulls out.
    lo, hi = uuid_bounds("postgresql", '"u"', '"public"."t"')
    assert lo == '(SELECT "u" FROM "public"."t" WHERE "u" IS NOT NULL ORDER BY "u" LIMIT 1)'
    assert hi == '(SELECT "u" FROM "public"."t" WHERE "u" IS NOT NULL ORDER BY "u" DESC LIMIT 1)'
