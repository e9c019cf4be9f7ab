"""The record model of the differential suite, its tables on every SQL backend, its BSON form.

One fixed schema that every backend stores: typed SQL columns (``numeric`` for Decimal,
``timestamptz``/``DATETIME(6)``, ``boolean``, ``date``, JSON/jsonb for lists and dicts). The
MariaDB table is created the way users create tables, with the database's default character set
and collation (``utf8mb4_general_ci`` on the test server, case- and pad-insensitive): the issue
asks that query semantics do not depend on how the user created the table.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128

from xobj_prototype import XObjPrototype

UTC = dt.UTC


class Rec(XObjPrototype):
    """A record with one field of every kind the query language compares."""

    id: int
    s: str | None = None
    i: int | None = None
    f: float | None = None
    d: Decimal | None = None
    b: bool | None = None
    ts: dt.datetime | None = None
    day: dt.date | None = None
    tags: list[str] | None = None
    nums: list[int] | None = None
    addr: dict[str, Any] | None = None


class Order(XObjPrototype):
    """The foreign side of ``$lookup``: ``ref`` points at ``Rec.id`` (or at ``Rec.i``)."""

    id: int
    ref: int | None = None
    amt: int | None = None
    label: str | None = None


FIELDS = ["id", "s", "i", "f", "d", "b", "ts", "day", "tags", "nums", "addr"]
SCALARS = ["s", "i", "f", "d", "b", "ts", "day"]
LISTS = ["tags", "nums"]

REC_DDL = {
    "sqlite": (
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, f REAL, d NUMERIC, "
        "b BOOLEAN, ts TIMESTAMP, day DATE, tags JSON, nums JSON, addr JSON)"
    ),
    "postgresql": (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, s TEXT, i BIGINT, f DOUBLE PRECISION, "
        "d NUMERIC, b BOOLEAN, ts TIMESTAMPTZ, day DATE, tags JSONB, nums JSONB, addr JSONB)"
    ),
    # No CHARACTER SET / COLLATE: the database default, as a user's CREATE TABLE gets it.
    "mysql": (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, s VARCHAR(200), i BIGINT, f DOUBLE, "
        "d DECIMAL(30,10), b BOOLEAN, ts DATETIME(6), day DATE, tags JSON, nums JSON, "
        "addr JSON)"
    ),
    "duckdb": (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, s VARCHAR, i BIGINT, f DOUBLE, "
        "d DECIMAL(30,10), b BOOLEAN, ts TIMESTAMPTZ, day DATE, tags JSON, nums JSON, addr JSON)"
    ),
}
ORDER_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, ref INTEGER, amt INTEGER, label TEXT)",
    "postgresql": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, ref BIGINT, amt BIGINT, label TEXT)",
    "mysql": (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, ref BIGINT, amt BIGINT, label VARCHAR(200))"
    ),
    "duckdb": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, ref BIGINT, amt BIGINT, label VARCHAR)",
}


def to_bson(value: Any) -> Any:
    """``value`` in its natural BSON form: aware UTC datetimes (naive means UTC), dates as
    midnight UTC, Decimals as Decimal128, ints beyond int64 as Decimal128 (BSON has no bigger
    integer), lists and subdocuments converted element by element."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else Decimal128(str(value))
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, Decimal):
        return Decimal128(value)
    if isinstance(value, list | tuple):
        return [to_bson(v) for v in value]
    if isinstance(value, dict):
        return {k: to_bson(v) for k, v in value.items()}
    return value


def oracle_doc(record: dict[str, Any]) -> dict[str, Any]:
    """The oracle's document of ``record``: absent keys stay absent, ``None`` is stored null;
    the server assigns the ObjectId ``_id`` as in every real collection."""
    return {k: to_bson(v) for k, v in record.items()}
