"""Odd but legal table and output names work on MariaDB, PostgreSQL and SQLite (issue 16).

aiomysql %-formats the whole statement when parameters are passed, quoted identifiers included:
a table or output name holding ``%`` failed on MariaDB with "unsupported format character". Names
holding quotes, backticks, placeholders of other drivers (``?``, ``:name``, ``$1``, ``%s``),
braces, non-ASCII letters or spaces go through every repository operation on the three
databases. A name a database cannot take is refused with an error naming it: before the server
is called where the rule is known (PostgreSQL's 63 bytes, MariaDB's characters beyond U+FFFF and
output names starting with a space), by the server otherwise (MariaDB's trailing space).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xobj_prototype import XObjPrototype
from xrepo import XRepo, XRepoFactory, XRepoValidationError
from xresource import ResourceFactory, XResourceValidationError

KINDS = ["mysql", "postgresql", "sqlite"]
DEADLINE = 30.0
DDL = {
    "mysql": (
        "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, g VARCHAR(20), v INT) "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ),
    "postgresql": "CREATE TABLE {t} (id SERIAL PRIMARY KEY, g TEXT, v INT)",
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, g TEXT, v INT)",
}
ODD_NAMES = [
    "growth %",
    "100%",
    "%s",
    "%(name)s",
    "%%",
    "a b",
    "back`tick",
    "single'quote",
    'double"quote',
    "?",
    ":name",
    "$1",
    "{}",
    "ÄÖü 名前",
    " leading space",
    "semi;colon -- comment",
    "/* not a comment */",
]
#: Output names of the aggregate: ``%`` and the placeholders of every driver; ``__`` and
#: ``__rn_f``, which the SQL compilers' own helper columns were once named like (and dropped).
OUTPUTS = ["growth %", "a%sb ", "?:n $1 {} %(x)s", "quote ' \" `", "__", "__rn_f"]


class Row(XObjPrototype):
    id: int | None = None
    g: str
    v: int = 0


def url_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'odd.db'}"
    return str(request.getfixturevalue({"mysql": "mysql_url", "postgresql": "postgres_url"}[kind]))


async def exercise(resource: Any, name: str, outputs: list[str]) -> None:
    """Create table ``name``, then every repository operation on it; the table is dropped."""
    q = resource.dialect.quote(name)
    await resource.execute(f"DROP TABLE IF EXISTS {q}")
    await resource.execute(DDL[resource.dialect.name].format(t=q))
    try:
        repo: XRepo[Row] = await XRepoFactory.create(
            resource=resource, model_class=Row, collection=name, soft_delete=False
        )
        await repo.bulk_create([{"g": "a", "v": 1}, {"g": "a", "v": 2}, {"g": "b", "v": 5}])
        made = await repo.create({"g": "c", "v": 7})
        assert await repo.count() == 4
        assert await repo.count({"v__gte": 2}) == 3
        assert [r.v for r in await repo.list({"g": "a"}, sort=[("v", 1)])] == [1, 2]
        group: dict[str, Any] = {"_id": "$g"}
        for i, out in enumerate(outputs):
            group[out] = {"$sum": "$v"} if i % 2 == 0 else {"$max": "$v"}
        got = await repo.aggregate([{"$group": group}, {"$sort": {"_id": 1}}])
        assert [d["_id"] for d in got] == ["a", "b", "c"]
        for i, out in enumerate(outputs):
            assert [d[out] for d in got] == ([3, 5, 7] if i % 2 == 0 else [2, 5, 7])
        await repo.update(made.id, {"v": 10})
        assert (await repo.read(made.id)).v == 10  # type: ignore[union-attr]
        assert await repo.delete(made.id)
        assert await repo.count() == 3
    finally:
        await resource.execute(f"DROP TABLE IF EXISTS {q}")


@pytest.fixture(params=KINDS)
async def sql(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    resource = ResourceFactory.from_url(url_for(request.param, request, tmp_path))
    await resource.connect()
    try:
        yield resource
    finally:
        await resource.disconnect()


@pytest.mark.parametrize("name", ODD_NAMES)
async def test_odd_table_names_work_through_every_operation(sql: Any, name: str) -> None:
    await asyncio.wait_for(exercise(sql, name, OUTPUTS), DEADLINE)


async def test_percent_names_with_raw_parameters_on_mariadb(
    mysql_url: str, unique_name: str
) -> None:
    """The resource API itself: ``%`` in a quoted name, with and without parameters."""
    resource = ResourceFactory.from_url(mysql_url)
    await resource.connect()
    q = resource.dialect.quote
    table = q(f"{unique_name} 100%")
    try:
        await resource.execute(f"CREATE TABLE {table} ({q('rate %')} INT, {q('%s')} INT)")
        await resource.execute(f"INSERT INTO {table} VALUES (%s, %s)", [1, 2])
        await resource.execute_many(f"INSERT INTO {table} VALUES (%s, %s)", [[3, 4], [5, 6]])
        sql = f"SELECT {q('rate %')} AS {q('r %')} FROM {table} WHERE {q('%s')} > %s ORDER BY 1"
        assert await resource.fetch_all(sql, [2]) == [{"r %": 3}, {"r %": 5}]
        batches = [b async for b in resource.stream(sql, [0], batch_size=2)]
        assert [r["r %"] for b in batches for r in b] == [1, 3, 5]
        # Without parameters nothing is formatted: the same text works as written.
        assert await resource.fetch_value(f"SELECT COUNT(*) FROM {table}") == 3
        # A literal % in a string still follows the driver's rule (%% with parameters).
        assert await resource.fetch_value("SELECT CONCAT(%s, '%%')", ["5"]) == "5%"
    finally:
        await resource.execute(f"DROP TABLE IF EXISTS {table}")
        await resource.disconnect()


async def test_names_a_database_cannot_take_are_refused_by_name(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    mysql = ResourceFactory.from_url(url_for("mysql", request, tmp_path))
    postgres = ResourceFactory.from_url(url_for("postgresql", request, tmp_path))
    await mysql.connect()
    await postgres.connect()
    try:
        # MariaDB: a table name ending with a space (the server's rule, named by the server).
        with pytest.raises(XResourceValidationError, match=r"'trailing ' .*end with a space"):
            await mysql.execute(f"CREATE TABLE {mysql.dialect.quote('trailing ')} (a INT)")
        # Refused before any statement: an emoji (MariaDB), over 63 bytes (PostgreSQL).
        with pytest.raises(XResourceValidationError, match=r"'emoji 😀'.*U\+FFFF"):
            mysql.dialect.quote("emoji 😀")
        with pytest.raises(XResourceValidationError, match=r"63 bytes"):
            postgres.dialect.quote("ü" * 32)
        # Through a repository: an output name MariaDB would silently strip.
        table = "odd_output_names"
        q = mysql.dialect.quote(table)
        await mysql.execute(f"DROP TABLE IF EXISTS {q}")
        await mysql.execute(DDL["mysql"].format(t=q))
        try:
            repo = await XRepoFactory.create(resource=mysql, model_class=Row, collection=table)
            with pytest.raises(XRepoValidationError, match=r"' total' starts with a space"):
                await repo.aggregate([{"$group": {"_id": "$g", " total": {"$sum": "$v"}}}])
        finally:
            await mysql.execute(f"DROP TABLE IF EXISTS {q}")
    finally:
        await mysql.disconnect()
        await postgres.disconnect()


async def test_sqlite_refuses_output_names_it_would_read_as_booleans(tmp_path: Path) -> None:
    """SQLite names a column ``AS "FALSE"`` ``column1``, so a query around it read the text
    'FALSE' instead of the sums: refused by name, in any case; other keywords work."""
    resource = ResourceFactory.from_url(f"sqlite:///{tmp_path / 'bool.db'}")
    async with resource:
        await resource.execute(DDL["sqlite"].format(t='"t"'))
        repo = await XRepoFactory.create(resource=resource, model_class=Row, collection="t")
        await repo.bulk_create([{"g": "a", "v": 1}, {"g": "a", "v": 2}])
        for name in ("FALSE", "true", "False"):
            with pytest.raises(XRepoValidationError, match=rf"'{name}' is read as a boolean"):
                await repo.aggregate([{"$group": {"_id": "$g", name: {"$sum": "$v"}}}])
        for name in ("NULL", "select", " FALSE", "FALSE "):
            got = await repo.aggregate([{"$group": {"_id": "$g", name: {"$sum": "$v"}}}])
            assert got == [{"_id": "a", name: 3}], name


# -- generated names ------------------------------------------------------------------------------
_printable = st.characters(
    blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"), blacklist_characters="\x00"
)


def names_for(kind: str) -> st.SearchStrategy[str]:
    """Names each database takes: MariaDB no character beyond U+FFFF, no space at either end
    (a trailing one is illegal, a leading one stripped from output names); PostgreSQL at most
    63 UTF-8 bytes."""
    if kind == "mysql":
        chars = st.characters(
            blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"), max_codepoint=0xFFFF
        )
        return st.text(chars, min_size=1, max_size=40).filter(lambda s: s.strip(" ") == s)
    limit = 63 if kind == "postgresql" else 120
    return st.text(_printable, min_size=1, max_size=40).filter(
        lambda s: len(s.encode("utf-8")) <= limit
    )


def output_name(name: str, kind: str) -> str:
    """``name`` as an aggregate output when the pipeline syntax allows it (no ``.``, no leading
    ``$``) and the database can carry it (SQLite: not ``TRUE``/``FALSE``), else a fixed odd one."""
    refused = kind == "sqlite" and name.upper() in ("TRUE", "FALSE")
    return name if "." not in name and not name.startswith("$") and not refused else "growth %"


@pytest.fixture(params=KINDS)
def sql_loop(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Any, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    resource = ResourceFactory.from_url(url_for(request.param, request, tmp_path))
    loop.run_until_complete(resource.connect())
    try:
        yield request.param, resource, loop
    finally:
        loop.run_until_complete(resource.disconnect())
        loop.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_names_work_on_each_database(
    sql_loop: tuple[str, Any, asyncio.AbstractEventLoop], data: st.DataObject
) -> None:
    kind, resource, loop = sql_loop
    name = data.draw(names_for(kind), label="table")
    out = output_name(data.draw(names_for(kind), label="output"), kind)
    outputs = [o for o in dict.fromkeys([out, "growth %"]) if o != "_id"]
    loop.run_until_complete(asyncio.wait_for(exercise(resource, name, outputs), DEADLINE))
