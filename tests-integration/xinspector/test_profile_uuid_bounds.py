"""UUID columns of databases: their minimum and maximum as ``uuid.UUID``, in 128-bit order.

Each backend stores UUIDs its own way and orders them its own way: PostgreSQL's ``uuid`` (no
``min(uuid)``), DuckDB's ``UUID`` (a HUGEINT with the top bit flipped), MariaDB's ``UUID`` (which
orders version-1 UUIDs by their time fields swapped), SQLite's column declared ``UUID`` (text in
any case and spelling, or 16-byte blobs) and MongoDB's binary subtype 4 (BSON orders binary data
by length, then subtype, then bytes). The same hostile UUIDs go into each: all zeros, all ones,
the top bit set and unset, letters only, digits only, version-1 UUIDs whose time fields order
them the other way round, random ones, repeated ones and nulls. The oracle is Python's:
``min()``/``max()`` of the ``uuid.UUID`` values, and their counts ranked by ``Counter`` (count
descending, then the UUID).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson.binary import Binary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinspector import CollectionSchema, FieldSchema, FieldStatistics, ProfileOptions, XInspector
from xinspector.profiling._mongodb import (  # private on purpose: a schema discovery cannot give
    profile_mongodb_collection,
)
from xresource import ResourceFactory, SQLDatabaseResource

TOP = 2**128 - 1
EDGES = [
    uuid.UUID(int=0),
    uuid.UUID(int=TOP),
    uuid.UUID("7fffffff-ffff-ffff-ffff-ffffffffffff"),  # top bit unset, just below...
    uuid.UUID("80000000-0000-0000-0000-000000000000"),  # ...top bit set: a signed order flips them
    uuid.UUID("a" * 32),
    uuid.UUID("9" * 32),
    # Version 1, RFC variant: MariaDB orders these by node, then time (the second one first).
    uuid.UUID("00000001-0000-1000-8000-ffffffffffff"),
    uuid.UUID("ffffffff-0000-1000-8000-000000000001"),
]
V1_ONLY = EDGES[6:]  # a column of version-1 UUIDs only: its bounds are where MariaDB errs
# Spelled in turn (see spelled) as 'e0…', 'F0…', 'a0…', 'B0…': by text 'B0…' is the least and
# 'e0…' the greatest (capitals first), by value a0 and f0.
MIXED_CASE = [uuid.UUID(c + "0" * 7 + "-0000-4000-8000-000000000000") for c in "efab"]


def hostile(seed: int = 5) -> list[uuid.UUID | None]:
    """The edges, random UUIDs (some top bit set, some not), a few repeated (ties and counts),
    nulls; shuffled."""
    r = random.Random(seed)
    values: list[uuid.UUID | None] = [
        *EDGES,
        # The variant's top bit set: MariaDB refuses versions above 6 of the NCS variant.
        *(uuid.UUID(int=r.getrandbits(128) | 1 << 63) for _ in range(30)),
    ]
    values += [EDGES[3]] * 3 + [EDGES[0]] * 2 + [EDGES[7]] * 2 + [None] * 5
    r.shuffle(values)
    return values


def spelled(value: uuid.UUID, i: int) -> Any:
    """One of the spellings Python's ``UUID()`` reads, in turn: SQLite keeps what it is given."""
    text = str(value)
    return [
        text,
        text.upper(),
        "".join(c.upper() if k % 2 else c for k, c in enumerate(text)),
        value.hex.upper(),
        "{" + text.upper() + "}",
        "urn:uuid:" + text,
        value.bytes,  # a 16-byte blob
    ][i % 7]


def oracle(values: list[uuid.UUID | None]) -> tuple[uuid.UUID, uuid.UUID, int, list[Any]]:
    present = [v for v in values if v is not None]
    counts = Counter(present)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return min(present), max(present), len(counts), top


def check(fs: FieldStatistics, values: list[uuid.UUID | None]) -> None:
    lo, hi, unique, top = oracle(values)
    assert fs.type == "UUID"
    assert (fs.min, fs.max) == (lo, hi)
    assert type(fs.min) is uuid.UUID
    assert type(fs.max) is uuid.UUID
    assert fs.null_count == values.count(None)
    assert fs.unique_count == unique
    assert [(v.value, v.count) for v in fs.top_values] == top


def test_the_oracle_is_hostile() -> None:
    """The orders the backends could use instead of the 128-bit one must disagree with it here,
    or the tests below prove nothing."""
    values = [v for v in hostile() if v is not None]
    signed = min(values, key=lambda u: u.int - 2**128 if u.int >> 127 else u.int)
    assert signed != min(values)  # a signed 128-bit compare (DuckDB's HUGEINT, unflipped)
    text = [spelled(v, i) for i, v in enumerate(MIXED_CASE)]
    assert uuid.UUID(min(text)) != min(MIXED_CASE)  # text order of mixed-case text
    assert uuid.UUID(max(text)) != max(MIXED_CASE)
    canonical = [spelled(v, i % 3) for i, v in enumerate(MIXED_CASE)]  # MongoDB's text
    assert uuid.UUID(min(canonical)) != min(MIXED_CASE)
    assert uuid.UUID(max(canonical)) != max(MIXED_CASE)
    # MariaDB's order of version-1 UUIDs (node, then time fields), reversed from Python's.
    swapped = min(V1_ONLY, key=lambda u: (u.hex[20:], u.hex[16:20], u.hex[12:16], u.hex[:12]))
    assert swapped != min(V1_ONLY)


SQL = ["postgresql", "mysql", "sqlite", "duckdb"]
DDL = {"postgresql": "uuid", "mysql": "uuid", "sqlite": "UUID", "duckdb": "UUID"}


def stored(dialect: str, values: list[uuid.UUID | None]) -> list[Any]:
    """The values as written: SQLite in every spelling, MariaDB as mixed-case text."""
    if dialect == "sqlite":
        return [None if v is None else spelled(v, i) for i, v in enumerate(values)]
    if dialect == "mysql":
        return [None if v is None else spelled(v, i % 3) for i, v in enumerate(values)]
    return values


Profile = Callable[[list[uuid.UUID | None]], Awaitable[FieldStatistics]]


@pytest.fixture(params=SQL)
async def sql_profile(
    request: pytest.FixtureRequest,
    postgres_url: str,
    mysql_url: str,
    tmp_path: Path,
    unique_name: str,
) -> AsyncIterator[Profile]:
    dialect: str = request.param
    url = {
        "postgresql": postgres_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{tmp_path / 'ub.db'}",
        "duckdb": f"duckdb:///{tmp_path / 'ub.duckdb'}",
    }[dialect]
    db = ResourceFactory.from_url(url)
    assert isinstance(db, SQLDatabaseResource)
    q = db.dialect.quote
    tables: list[str] = []

    async def profile(values: list[uuid.UUID | None]) -> FieldStatistics:
        table = f"ub_{unique_name}_{len(tables)}"
        tables.append(table)
        await db.execute(f"CREATE TABLE {q(table)} (id integer, u {DDL[dialect]})")
        rows = [[i, v] for i, v in enumerate(stored(dialect, values))]
        marks = f"{db.dialect.param(1)}, {db.dialect.param(2)}"
        await db.execute_many(f"INSERT INTO {q(table)} (id, u) VALUES ({marks})", rows)
        result = await XInspector(db).inspect(table)
        assert result.pushdown
        return result.field_statistics["u"]

    async with db:
        try:
            yield profile
        finally:
            for table in tables:
                await db.execute(f"DROP TABLE {q(table)}")


async def test_sql_uuid_bounds_are_uuids_in_128_bit_order(sql_profile: Profile) -> None:
    values = hostile()
    check(await sql_profile(values), values)


async def test_sql_bounds_of_version_1_uuids(sql_profile: Profile) -> None:
    values: list[uuid.UUID | None] = [*V1_ONLY, None]
    check(await sql_profile(values), values)


async def test_sql_bounds_of_mixed_case_text(sql_profile: Profile) -> None:
    values: list[uuid.UUID | None] = [*MIXED_CASE, None]
    check(await sql_profile(values), values)


async def test_sql_top_values_cut_among_ties(sql_profile: Profile) -> None:
    """150 UUIDs once each (past categorical_threshold, so the query's LIMIT keeps top_k of
    them): the tie-break must be the 128-bit order. Version-1 UUIDs whose time falls as their
    node rises: MariaDB's own order (node first) would keep the other end."""
    values: list[uuid.UUID | None] = [
        uuid.UUID(fields=(0xFFFFFFFF - 7919 * k, 0, 0x1000, 0x80, 0, k)) for k in range(150)
    ]
    values += [None, values[-1]]  # one count of 2 above the ties
    check(await sql_profile(values), values)


async def test_sql_bounds_of_one_uuid_and_only_nulls(sql_profile: Profile) -> None:
    one: list[uuid.UUID | None] = [None, EDGES[3], None]
    check(await sql_profile(one), one)
    nothing = await sql_profile([None, None])
    assert (nothing.min, nothing.max, nothing.unique_count) == (None, None, 0)


LARGE = {  # past exact_rows (200,000): planner statistics and sketches, bounds all the same
    "postgresql": (
        "CREATE TABLE {t} AS SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE gen_random_uuid() END"
        " AS u FROM generate_series(1, 250000) i",
        "CREATE INDEX ON {t} (u)",  # the bounds' ORDER BY ... LIMIT 1 walks it
    ),
    "duckdb": (
        "CREATE TABLE {t} AS SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE uuid() END AS u"
        " FROM range(250000) r(i)",
    ),
}


@pytest.mark.parametrize("dialect", list(LARGE))
async def test_bounds_of_a_table_past_exact_rows(
    dialect: str, postgres_url: str, tmp_path: Path, unique_name: str
) -> None:
    url = postgres_url if dialect == "postgresql" else f"duckdb:///{tmp_path / 'ub.duckdb'}"
    db = ResourceFactory.from_url(url)
    assert isinstance(db, SQLDatabaseResource)
    table = db.dialect.quote(f"ub_large_{unique_name}")
    async with db:
        for sql in LARGE[dialect]:
            await db.execute(sql.format(t=table))
        try:
            values = [r["u"] for r in await db.fetch_all(f"SELECT u FROM {table}")]
            fs = (await XInspector(db).inspect(f"ub_large_{unique_name}")).field_statistics["u"]
        finally:
            await db.execute(f"DROP TABLE {table}")
    present = [uuid.UUID(bytes=v.bytes) for v in values if v is not None]
    assert fs.unique_exact is False  # the path past exact_rows
    assert (fs.min, fs.max) == (min(present), max(present))
    assert type(fs.min) is uuid.UUID
    assert fs.null_count == len(values) - len(present)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[SQLDatabaseResource]:
    db = ResourceFactory.from_url(f"sqlite:///{tmp_path / 'ub_text.db'}")
    assert isinstance(db, SQLDatabaseResource)
    async with db:
        yield db


async def test_sqlite_text_that_is_no_uuid_is_counted_but_never_a_bound(
    sqlite_db: SQLDatabaseResource,
) -> None:
    # Each would be the minimum or the maximum by text or blob order: '' and ' ' and a short
    # blob sort first, 'zz…' and 'URN:UUID:…' (UUID() takes the prefix in lowercase only) last.
    junk = ["", " ", "zz" * 16, "not a uuid", "URN:UUID:" + str(EDGES[4]), b"\x00\x01"]
    await sqlite_db.execute("CREATE TABLE ub_junk (u UUID)")
    good = [EDGES[2], EDGES[4], EDGES[5]]
    cells = [spelled(v, i) for i, v in enumerate(good)] + junk
    await sqlite_db.execute_many("INSERT INTO ub_junk (u) VALUES (?)", [[c] for c in cells])
    fs = (await XInspector(sqlite_db).inspect("ub_junk")).field_statistics["u"]
    assert (fs.min, fs.max) == (min(good), max(good))
    assert fs.unique_count == len(good) + len(junk)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.uuids(), st.integers(0, 6)) | st.none(), min_size=1, max_size=30).filter(
        lambda cells: any(c is not None for c in cells)
    )
)
def test_sqlite_bounds_of_any_spellings(
    tmp_path: Path, cells: list[tuple[uuid.UUID, int] | None]
) -> None:
    """Any UUIDs in any spellings: the bounds and the count are the UUIDs', not the text's."""

    async def profile() -> FieldStatistics:
        db = ResourceFactory.from_url(f"sqlite:///{tmp_path / 'ub_any.db'}")
        assert isinstance(db, SQLDatabaseResource)
        async with db:
            await db.execute("DROP TABLE IF EXISTS ub_any")
            await db.execute("CREATE TABLE ub_any (u UUID)")
            rows = [[None if c is None else spelled(*c)] for c in cells]
            await db.execute_many("INSERT INTO ub_any (u) VALUES (?)", rows)
            return (await XInspector(db).inspect("ub_any")).field_statistics["u"]

    fs = asyncio.run(profile())
    values = [None if c is None else c[0] for c in cells]
    lo, hi, unique, _ = oracle(values)
    assert (fs.min, fs.max, fs.unique_count) == (lo, hi, unique)


# -- MongoDB -------------------------------------------------------------------------------------


def documents(values: list[uuid.UUID | None]) -> list[dict[str, Any]]:
    # A missing key next to an explicit null: both are no value.
    return [{"i": i} if v is None and i % 2 else {"i": i, "u": v} for i, v in enumerate(values)]


@pytest.fixture
async def mongo(mongodb_url: str, unique_name: str) -> AsyncIterator[tuple[Any, str]]:
    """A collection name and the database, whose client reads and writes binary subtype 4 as
    ``uuid.UUID`` (``uuidRepresentation='standard'``, the resource's default)."""
    db = ResourceFactory.from_url(mongodb_url, database="xinspector_uuid")
    name = f"ub_{unique_name}"
    async with db:
        try:
            yield db, name
        finally:
            await db.db.drop_collection(name)


async def test_mongodb_uuid_bounds_are_uuids_in_128_bit_order(mongo: tuple[Any, str]) -> None:
    db, name = mongo
    values = hostile()
    await db.insert_many(name, documents(values))
    fs = (await XInspector(db).inspect(name)).field_statistics["u"]
    check(fs, values)


async def test_mongodb_uuid_bounds_skip_other_binary_data(mongo: tuple[Any, str]) -> None:
    """BSON puts shorter binary data and other subtypes of 16 bytes before or after UUIDs: in a
    field typed UUID they are no bound (a schema that says UUID where binary data hides)."""
    db, name = mongo
    good = [EDGES[2], EDGES[3], EDGES[5]]
    # Before the UUIDs: shorter data, lower subtypes (3 is the legacy UUIDs'), text; after
    # them: higher subtypes, longer data, dates.
    strays = [
        Binary(b"\xff"),
        Binary(b"\x00" * 16, 0),
        Binary(b"\xff" * 16, 3),
        Binary(b"\x00" * 16, 5),
        Binary(b"\x00" * 17),
        "a text",
        datetime(2024, 1, 1, tzinfo=UTC),
    ]
    await db.insert_many(name, [{"u": v} for v in [*good, *strays]])
    schema = CollectionSchema(name=name, fields={"u": FieldSchema(type="UUID")})
    _, fields, _ = await profile_mongodb_collection(db, schema, options=ProfileOptions())
    assert (fields["u"].min, fields["u"].max) == (min(good), max(good))


async def test_mongodb_uuids_written_as_text_in_mixed_case(
    mongodb_url: str, unique_name: str
) -> None:
    """UUIDs stored as strings (discovery types them UUID): bounded by value, not by text,
    where capitals sort before lowercase letters."""
    db = ResourceFactory.from_url(mongodb_url, database="xinspector_uuid")
    name = f"ub_text_{unique_name}"
    values: list[uuid.UUID | None] = [*MIXED_CASE, EDGES[2], None]
    # Canonical text in three cases (discovery types no other spelling UUID).
    docs = [{"u": None if v is None else spelled(v, i % 3)} for i, v in enumerate(values)]
    async with db:
        try:
            await db.insert_many(name, docs)
            fs = (await XInspector(db).inspect(name)).field_statistics["u"]
        finally:
            await db.db.drop_collection(name)
    lo, hi, _, _ = oracle(values)
    assert fs.type == "UUID"
    assert (fs.min, fs.max) == (lo, hi)
    assert type(fs.min) is uuid.UUID


async def test_mongodb_binary_subtype_4_without_a_uuid_representation(
    mongodb_url: str, unique_name: str
) -> None:
    """With PyMongo's own default (no ``uuidRepresentation``, chosen here) UUIDs come back as
    ``Binary`` subtype 4 and the field is ``bytes``: its bounds are still the UUIDs' (BSON
    compares 16-byte subtype-4 values by their bytes), which ``as_uuid()`` reads; past the
    sample the field stays ``bytes``."""
    db = ResourceFactory.from_url(
        mongodb_url, database="xinspector_uuid", options={"uuidRepresentation": "unspecified"}
    )
    name = f"ub_raw_{unique_name}"
    values = hostile(7)
    async with db:
        try:
            docs = [{"u": None if v is None else Binary.from_uuid(v)} for v in values]
            await db.insert_many(name, docs)
            fs = (await XInspector(db).inspect(name)).field_statistics["u"]
            sampled = await XInspector(db, sample_size=2).discover(name)
        finally:
            await db.db.drop_collection(name)
    lo, hi, _, _ = oracle(values)
    assert fs.type == "bytes"
    assert sampled.fields["u"].type == "bytes"
    assert isinstance(fs.min, Binary)
    assert isinstance(fs.max, Binary)
    assert (fs.min.as_uuid(), fs.max.as_uuid()) == (lo, hi)


async def test_mongodb_uuid_bounds_of_a_collection_larger_than_the_sample(
    mongo: tuple[Any, str],
) -> None:
    db, name = mongo
    r = random.Random(3)
    values: list[uuid.UUID | None] = [
        *EDGES,
        *(uuid.UUID(int=r.getrandbits(128)) for _ in range(60)),
    ]
    await db.insert_many(name, documents(values))
    fs = (await XInspector(db, sample_size=20).inspect(name)).field_statistics["u"]
    check(fs, values)
