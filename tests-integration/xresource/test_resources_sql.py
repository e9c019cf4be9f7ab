"""The SQL resources against real PostgreSQL and MariaDB (and SQLite where behaviour is shared).

Every table has a unique name and is dropped afterwards; roles and users made to test
authentication are dropped too. Chinook goes to its fixed places (see ``chinook.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import decimal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from chinook import CHINOOK_TABLES, TOTAL_ROWS, chinook_counts, load_chinook, split_statements

from xobj_prototype import XValidationError
from xresource import (
    MySQLResource,
    PostgreSQLResource,
    ResourceFactory,
    SQLDatabaseResource,
    SQLiteResource,
    XResourceAuthenticationError,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourcePoolExhaustedError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.databases import PooledSQLResource

ALL = ["postgresql", "mysql", "sqlite"]
SERVERS = ["postgresql", "mysql"]

_TYPES = {
    "postgresql": "id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty BIGINT, "
    "price NUMERIC(10, 2), note TEXT",
    "mysql": "id INT PRIMARY KEY, name VARCHAR(191) NOT NULL UNIQUE, qty BIGINT, "
    "price DECIMAL(10, 2), note TEXT",
    "sqlite": "id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INTEGER, price NUMERIC, "
    "note TEXT",
}


def _url(kind: str, postgres_url: str, mysql_url: str, tmp_path: Path) -> str:
    return {
        "postgresql": postgres_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{tmp_path / 'it.db'}",
    }[kind]


@pytest.fixture
def urls(postgres_url: str, mysql_url: str, tmp_path: Path) -> dict[str, str]:
    return {kind: _url(kind, postgres_url, mysql_url, tmp_path) for kind in ALL}


@contextlib.asynccontextmanager
async def _open(url: str, **kwargs: object) -> AsyncIterator[SQLDatabaseResource]:
    resource = ResourceFactory.from_url(url, **kwargs)
    assert isinstance(resource, SQLDatabaseResource)
    async with resource:
        yield resource


@contextlib.asynccontextmanager
async def _table(db: SQLDatabaseResource, name: str, columns: str) -> AsyncIterator[str]:
    quoted = db.dialect.quote(name)
    await db.execute(f"CREATE TABLE {quoted} ({columns})")
    try:
        yield quoted
    finally:
        await db.execute(f"DROP TABLE IF EXISTS {quoted}")


def _marks(db: SQLDatabaseResource, n: int) -> str:
    return ", ".join(db.dialect.param(i + 1) for i in range(n))


@pytest.fixture(params=ALL)
async def db(request: pytest.FixtureRequest, urls: dict[str, str]):
    async with _open(urls[request.param], name=f"it-{request.param}") as resource:
        yield resource


@pytest.fixture
async def items(db: SQLDatabaseResource, unique_name: str):
    async with _table(db, unique_name, _TYPES[db.dialect.name]) as quoted:
        yield quoted


# -- round trips ------------------------------------------------------------------------------
async def test_round_trip(db: SQLDatabaseResource, items: str) -> None:
    sql = f"INSERT INTO {items} (id, name, qty, price, note) VALUES ({_marks(db, 5)})"
    assert await db.execute(sql, [1, "Antônio Carlos Jobim", 2**40, decimal.Decimal("9.99"), None])
    assert (
        await db.execute_many(
            sql,
            [(2, "b", 1, decimal.Decimal("1.50"), "x"), (3, "c", 2, decimal.Decimal("0.25"), "y")],
        )
        == 2
    )
    rows = await db.fetch_all(f"SELECT id, name, qty, note FROM {items} ORDER BY id")
    assert rows == [
        {"id": 1, "name": "Antônio Carlos Jobim", "qty": 2**40, "note": None},
        {"id": 2, "name": "b", "qty": 1, "note": "x"},
        {"id": 3, "name": "c", "qty": 2, "note": "y"},
    ]
    price = await db.fetch_value(f"SELECT price FROM {items} WHERE id = {db.dialect.param(1)}", [1])
    assert decimal.Decimal(str(price)) == decimal.Decimal("9.99")
    one = await db.fetch_one(f"SELECT name FROM {items} WHERE id = {db.dialect.param(1)}", [2])
    assert one == {"name": "b"}
    assert (
        await db.fetch_one(f"SELECT name FROM {items} WHERE id = {db.dialect.param(1)}", [99])
        is None
    )
    updated = await db.execute(f"UPDATE {items} SET qty = qty + 1 WHERE id > {_marks(db, 1)}", [1])
    assert updated == 2
    assert await db.execute(f"DELETE FROM {items} WHERE id = {_marks(db, 1)}", [3]) == 1
    assert await db.fetch_value(f"SELECT count(*) FROM {items}") == 2


async def test_lists_tables_and_views(
    db: SQLDatabaseResource, items: str, unique_name: str
) -> None:
    view = db.dialect.quote(f"{unique_name}_v")
    await db.execute(f"CREATE VIEW {view} AS SELECT id FROM {items}")
    try:
        names = await db.list_collections_or_tables()
        assert unique_name in names
        assert f"{unique_name}_v" in names
    finally:
        await db.execute(f"DROP VIEW {view}")
    assert f"{unique_name}_v" not in await db.list_collections_or_tables()


async def test_stream_50k_rows_in_batches(
    db: SQLDatabaseResource, items: str, unique_name: str
) -> None:
    rows = ((i, f"name-{i}", i * 3, None, None) for i in range(50_000))
    inserted = await db.copy_records(unique_name, ["id", "name", "qty", "price", "note"], rows)
    assert inserted == 50_000
    sizes: list[int] = []
    total = 0
    async for batch in db.stream(f"SELECT id, qty FROM {items} ORDER BY id", batch_size=7000):
        sizes.append(len(batch))
        assert batch[0]["qty"] == batch[0]["id"] * 3
        total += sum(row["id"] for row in batch)
    assert sizes == [7000] * 7 + [1000]
    assert total == sum(range(50_000))
    assert db.get_pool_stats().in_use == 0


async def test_stream_closed_early_frees_its_connection(
    db: SQLDatabaseResource, items: str, unique_name: str
) -> None:
    await db.copy_records(unique_name, ["id", "name"], ((i, str(i)) for i in range(5000)))
    async with contextlib.aclosing(db.stream(f"SELECT id FROM {items}", batch_size=100)) as it:
        async for batch in it:
            assert len(batch) == 100
            break
    assert db.get_pool_stats().in_use == 0
    assert await db.fetch_value(f"SELECT count(*) FROM {items}") == 5000


async def test_stream_inside_a_transaction(
    db: SQLDatabaseResource, items: str, unique_name: str
) -> None:
    await db.copy_records(unique_name, ["id", "name"], ((i, str(i)) for i in range(300)))
    async with db.transaction() as tx:
        async with contextlib.aclosing(
            tx.stream(f"SELECT id FROM {items} ORDER BY id", batch_size=50)
        ) as it:
            async for batch in it:
                assert batch[0] == {"id": 0}
                break
        # The connection is still usable inside the transaction after an early stop.
        assert await tx.fetch_value(f"SELECT count(*) FROM {items}") == 300


# -- transactions and atomicity -------------------------------------------------------------------
async def test_transaction_commits_and_rolls_back(db: SQLDatabaseResource, items: str) -> None:
    insert = f"INSERT INTO {items} (id, name) VALUES ({_marks(db, 2)})"
    async with db.transaction() as tx:
        await tx.execute(insert, [1, "kept"])
        assert await tx.fetch_value(f"SELECT count(*) FROM {items}") == 1

    async def fail_late() -> None:
        async with db.transaction() as tx:
            await tx.execute(insert, [2, "gone"])
            await tx.execute_many(insert, [(3, "gone too"), (4, "and this")])
            await tx.execute(insert, [5, "kept"])  # duplicate name: fails

    with pytest.raises(XResourceIntegrityError):
        await fail_late()
    assert await db.fetch_all(f"SELECT id, name FROM {items}") == [{"id": 1, "name": "kept"}]
    assert db.get_pool_stats().in_use == 0


async def test_execute_many_and_copy_records_are_atomic(
    db: SQLDatabaseResource, items: str, unique_name: str
) -> None:
    insert = f"INSERT INTO {items} (id, name) VALUES ({_marks(db, 2)})"
    with pytest.raises(XResourceIntegrityError):
        await db.execute_many(insert, [(1, "a"), (2, "b"), (3, "a")])
    with pytest.raises(XResourceIntegrityError):
        await db.copy_records(unique_name, ["id", "name"], [(1, "a"), (2, None)])
    with pytest.raises((XResourceValidationError, XResourceQueryError)):
        await db.copy_records(unique_name, ["id", "name"], [(1, "a"), ("not a number", "b")])
    assert await db.fetch_value(f"SELECT count(*) FROM {items}") == 0


async def test_copy_records_generator_that_fails_writes_nothing(
    db: SQLDatabaseResource, items: str, unique_name: str
) -> None:
    """A record generator that raises mid-stream (after rows were sent) aborts the COPY, and
    its exception (the caller's, not the database's) propagates unchanged."""

    def records(fail: Exception) -> Iterator[tuple[int, str]]:
        for i in range(30_000):  # several of asyncpg's send buffers before the failure
            yield (i, f"n{i}")
        raise fail

    with pytest.raises(XValidationError, match="item 30000 is wrong"):
        await db.copy_records(
            unique_name, ["id", "name"], records(XValidationError("item 30000 is wrong"))
        )
    with pytest.raises(ValueError, match="broken source"):
        await db.copy_records(unique_name, ["id", "name"], records(ValueError("broken source")))
    assert await db.fetch_value(f"SELECT count(*) FROM {items}") == 0
    assert await db.copy_records(unique_name, ["id", "name"], [(1, "a")]) == 1  # connection fine
    assert db.get_pool_stats().in_use == 0


async def test_constraint_violations_are_integrity_errors(
    db: SQLDatabaseResource, unique_name: str
) -> None:
    d = db.dialect
    parent, child = d.quote(f"{unique_name}_p"), d.quote(f"{unique_name}_c")
    child_columns = f"id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES {parent} (id)"
    async with (
        _table(db, f"{unique_name}_p", "id INTEGER PRIMARY KEY"),
        _table(db, f"{unique_name}_c", child_columns),
    ):
        await db.execute(f"INSERT INTO {parent} (id) VALUES (1)")
        with pytest.raises(XResourceIntegrityError, match="nothing was written"):
            await db.execute(f"INSERT INTO {parent} (id) VALUES (1)")
        with pytest.raises(XResourceIntegrityError):
            await db.execute(f"INSERT INTO {child} (id, p) VALUES (1, 42)")
        with pytest.raises(XResourceIntegrityError):
            await db.execute(f"INSERT INTO {child} (id, p) VALUES (1, NULL)")
        assert await db.fetch_value(f"SELECT count(*) FROM {child}") == 0


# -- errors -----------------------------------------------------------------------------------
async def test_missing_table_is_not_found_naming_it(
    db: SQLDatabaseResource, unique_name: str
) -> None:
    missing = f"{unique_name}_missing"
    with pytest.raises(XResourceNotFoundError, match=missing) as info:
        await db.fetch_all(f"SELECT * FROM {db.dialect.quote(missing)}")
    assert info.value.resource == f"{db.resource_type} 'it-{db.dialect.name}'"
    assert info.value.operation == "fetch"
    with pytest.raises(XResourceNotFoundError, match=missing):
        await db.copy_records(missing, ["a"], [(1,)])


async def test_syntax_errors_are_query_errors_and_the_pool_recovers(
    db: SQLDatabaseResource,
) -> None:
    with pytest.raises(XResourceQueryError, match=r"(?i)syntax"):
        await db.execute("SELEKT 1")
    for _ in range(db.get_pool_stats().max_size + 1):
        assert await db.fetch_value("SELECT 1") == 1


async def test_hostile_values_and_identifiers(db: SQLDatabaseResource, unique_name: str) -> None:
    d = db.dialect
    table = f"{unique_name}\"`'; DROP TABLE x; --"[: d.max_identifier_length]
    column = "c`\"'); DELETE FROM x; --"
    quoted = d.quote(table)
    await db.execute(f"CREATE TABLE {quoted} ({d.quote(column)} VARCHAR(200))")
    try:
        hostile = ["' OR '1'='1", "x'); DROP TABLE y; --", "\\'; --", "%s %% $1 ?", "😀 \x01"]
        assert await db.copy_records(table, [column], [(v,) for v in hostile]) == len(hostile)
        rows = await db.fetch_all(f"SELECT {d.quote(column)} FROM {quoted}")
        assert sorted(r[column] for r in rows) == sorted(hostile)
        where = f"SELECT count(*) FROM {quoted} WHERE {d.quote(column)} = {d.param(1)}"
        assert await db.fetch_value(where, ["' OR '1'='1"]) == 1
        assert await db.fetch_value(where, ["nothing' OR 'a'='a"]) == 0
        assert table in await db.list_collections_or_tables()
    finally:
        await db.execute(f"DROP TABLE {quoted}")
    with pytest.raises(XResourceValidationError, match="control characters"):
        d.quote("bad\nname")


async def test_bad_parameters_are_validation_errors(db: SQLDatabaseResource) -> None:
    with pytest.raises(XResourceValidationError, match="list or tuple"):
        await db.fetch_all("SELECT 1", "abc")  # type: ignore[arg-type]
    with pytest.raises(XResourceValidationError, match="batch_size"):
        async for _ in db.stream("SELECT 1", batch_size=0):
            pass


async def test_validate_connection(db: SQLDatabaseResource) -> None:
    assert await db.validate_connection() is True


# -- pools ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ALL)
async def test_pool_limit_raises_pool_exhausted(kind: str, urls: dict[str, str]) -> None:
    async with _open(urls[kind], pool_max_size=2, acquire_timeout=1.0) as db:
        assert isinstance(db, PooledSQLResource)
        # SQLite allows one writer at a time: there, plain leases hold the two connections.
        hold = db.lease if kind == "sqlite" else db.transaction
        async with hold() as one, hold() as two:
            assert await one.fetch_value("SELECT 1") == 1
            assert await two.fetch_value("SELECT 2") == 2
            stats = db.get_pool_stats()
            assert (stats.size, stats.in_use, stats.idle, stats.max_size) == (2, 2, 0, 2)
            third = asyncio.create_task(db.fetch_value("SELECT 3"))
            await asyncio.sleep(0.1)
            assert db.get_pool_stats().waiting == 1
            with pytest.raises(XResourcePoolExhaustedError, match="acquire_timeout") as info:
                await third
            assert info.value.resource == db.display_name
        assert await db.fetch_value("SELECT 3") == 3
        stats = db.get_pool_stats()
        assert (stats.in_use, stats.waiting) == (0, 0)


@pytest.mark.parametrize("kind", SERVERS)
async def test_pool_serves_many_concurrent_callers(kind: str, urls: dict[str, str]) -> None:
    async with _open(urls[kind], pool_min_size=1, pool_max_size=3) as db:
        sql = f"SELECT {db.dialect.param(1)} + 1 AS v"
        results = await asyncio.gather(*(db.fetch_value(sql, [i]) for i in range(60)))
        assert [int(r) for r in results] == [i + 1 for i in range(60)]
        stats = db.get_pool_stats()
        assert 1 <= stats.size <= 3
        assert stats.in_use == 0
        assert stats.idle == stats.size


@pytest.mark.parametrize(
    ("kind", "slow"), [("postgresql", "SELECT pg_sleep(5)"), ("mysql", "SELECT SLEEP(5)")]
)
async def test_command_timeout(kind: str, slow: str, urls: dict[str, str]) -> None:
    async with _open(urls[kind], command_timeout=0.3, pool_max_size=1) as db:
        with pytest.raises(XResourceTimeoutError, match="command_timeout"):
            await db.fetch_value(slow)
        # The timed-out connection was replaced, not reused mid-query.
        assert await db.fetch_value("SELECT 7") == 7


# -- connecting -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", SERVERS)
async def test_dead_server_is_a_connection_error(kind: str) -> None:
    url = f"{kind}://someone:hunter2-secret@127.0.0.1:1/test"
    db = ResourceFactory.from_url(url, connect_timeout=2)
    assert isinstance(db, SQLDatabaseResource)
    async with asyncio.timeout(10):  # a bound on a hang, not a benchmark
        with pytest.raises(XResourceConnectionError, match=r"127\.0\.0\.1:1") as info:
            await db.fetch_all("SELECT 1")
        assert await db.validate_connection() is False
    assert "hunter2" not in str(info.value)
    assert info.value.operation == "connect"
    assert not db.is_connected


@pytest.mark.parametrize("kind", SERVERS)
async def test_unknown_host_is_a_connection_error(kind: str) -> None:
    db = ResourceFactory.from_url(f"{kind}://u@no-such-host.invalid/test", connect_timeout=2)
    async with asyncio.timeout(10):
        with pytest.raises(XResourceConnectionError, match=r"no-such-host\.invalid"):
            await db.connect()


@pytest.mark.parametrize("kind", SERVERS)
async def test_missing_database_is_not_found(kind: str, urls: dict[str, str]) -> None:
    url = urls[kind].rsplit("/", 1)[0] + f"/db_{uuid.uuid4().hex[:10]}"
    with pytest.raises(XResourceNotFoundError, match="database"):
        await ResourceFactory.from_url(url).connect()


async def test_postgres_unknown_role_and_nologin_role(postgres_url: str) -> None:
    role = f"r_{uuid.uuid4().hex[:10]}"
    secret = f"pw-{uuid.uuid4().hex}"
    base = postgres_url.split("://", 1)[1].split("@", 1)[1]  # host:port/db
    async with _open(postgres_url) as admin:
        with pytest.raises(XResourceAuthenticationError, match=role):
            await ResourceFactory.from_url(f"postgresql://{role}:{secret}@{base}").connect()
        # The server trusts loopback, so a wrong password is accepted there: a role that may not
        # log in is how the server refuses credentials here.
        await admin.execute(f"CREATE ROLE {admin.dialect.quote(role)} NOLOGIN PASSWORD '{secret}'")
        try:
            db = ResourceFactory.from_url(f"postgresql://{role}:{secret}@{base}")
            with pytest.raises(XResourceAuthenticationError) as info:
                await db.connect()
            for text in (
                str(info.value),
                repr(info.value),
                repr(db),
                str(db.get_metadata()),
                str(info.value.details),
            ):
                assert secret not in text
            assert info.value.__cause__ is None
        finally:
            await admin.execute(f"DROP ROLE {admin.dialect.quote(role)}")


async def test_mysql_wrong_password_and_user(mysql_url: str) -> None:
    user = f"u_{uuid.uuid4().hex[:10]}"
    secret = f"pw-{uuid.uuid4().hex}"
    async with _open(mysql_url) as admin:
        for host in ("127.0.0.1", "localhost"):
            await admin.execute("CREATE USER %s@%s IDENTIFIED BY %s", [user, host, secret])
            await admin.execute("GRANT SELECT ON test.* TO %s@%s", [user, host])
        try:
            good = ResourceFactory.from_url(f"mysql://{user}:{secret}@127.0.0.1:3306/test")
            async with good:
                assert await good.fetch_value("SELECT CURRENT_USER()") in (
                    f"{user}@127.0.0.1",
                    f"{user}@localhost",
                )
                for text in (repr(good), str(good.get_metadata())):
                    assert secret not in text
                with pytest.raises(XResourceQueryError) as denied:
                    await good.execute("CREATE TABLE t_denied (a INT)")
                assert secret not in str(denied.value)
            bad = ResourceFactory.from_url(f"mysql://{user}:wrong-{secret}@127.0.0.1:3306/test")
            with pytest.raises(XResourceAuthenticationError, match="Access denied") as info:
                await bad.connect()
            assert secret not in str(info.value)
            assert info.value.__cause__ is None
            nobody = ResourceFactory.from_url(f"mysql://{user}x:{secret}@127.0.0.1:3306/test")
            with pytest.raises(XResourceAuthenticationError):
                await nobody.connect()
        finally:
            for host in ("127.0.0.1", "localhost"):
                await admin.execute("DROP USER IF EXISTS %s@%s", [user, host])


@pytest.mark.parametrize("kind", SERVERS)
def test_password_never_in_repr_or_metadata(kind: str) -> None:
    db = ResourceFactory.from_url(
        f"{kind}://app:s3cr3t-value@127.0.0.1/test?sslmode=disable"
        if kind == "postgresql"
        else f"{kind}://app:s3cr3t-value@127.0.0.1/test"
    )
    assert "s3cr3t" not in repr(db)
    assert "s3cr3t" not in str(db.get_metadata())
    assert db.password is not None
    assert db.password.get_secret_value() == "s3cr3t-value"


# -- URLs and the factory -------------------------------------------------------------------------
async def test_from_url_builds_each_type(urls: dict[str, str]) -> None:
    expected = {"postgresql": PostgreSQLResource, "mysql": MySQLResource, "sqlite": SQLiteResource}
    for kind, url in urls.items():
        async with _open(url) as db:
            assert type(db) is expected[kind]
            assert await db.validate_connection() is True
    pg = ResourceFactory.from_url(
        "postgres://u:p@db.example:6543/sales?sslmode=require&application_name=etl"
        "&schema=reporting&pool_size=7&command_timeout=5"
    )
    assert isinstance(pg, PostgreSQLResource)
    assert (pg.host, pg.port, pg.database, pg.user) == ("db.example", 6543, "sales", "u")
    assert (pg.schema_name, pg.pool_max_size, pg.command_timeout) == ("reporting", 7, 5.0)
    assert pg.options == {"sslmode": "require", "application_name": "etl"}
    my = ResourceFactory.from_url("mariadb://root@127.0.0.1:3307/shop?charset=utf8")
    assert isinstance(my, MySQLResource)
    assert (my.port, my.database, my.options) == (3307, "shop", {"charset": "utf8"})


async def test_bad_options_are_configuration_errors(postgres_url: str, mysql_url: str) -> None:
    with pytest.raises(XResourceConfigurationError, match="sslmode"):
        await ResourceFactory.from_url(postgres_url + "?sslmode=sometimes").connect()
    with pytest.raises(XResourceConfigurationError, match="unknown MySQL option"):
        await ResourceFactory.from_url(mysql_url + "?compress=yes").connect()
    with pytest.raises(XResourceConfigurationError, match="pool_max_size"):
        ResourceFactory.from_url(postgres_url + "?pool_max_size=0")


async def test_postgres_schema_name_lists_and_searches_that_schema(
    postgres_url: str, unique_name: str
) -> None:
    schema = f"s_{unique_name}"
    async with _open(postgres_url) as admin:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            await admin.execute(f'CREATE TABLE "{schema}".things (v INTEGER)')
            await admin.execute(f'INSERT INTO "{schema}".things VALUES (1), (2)')
            async with _open(f"{postgres_url}?schema={schema}") as db:
                assert isinstance(db, PostgreSQLResource)
                assert await db.list_collections_or_tables() == ["things"]
                assert await db.fetch_value("SELECT sum(v) FROM things") == 3
                assert await db.copy_records("things", ["v"], [(3,)]) == 1
                assert await db.fetch_value("SELECT count(*) FROM things") == 3
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


# -- Chinook ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ALL)
async def test_load_chinook(kind: str, urls: dict[str, str], datasets: Path) -> None:
    assert (datasets / "chinook" / "SOURCE.md").is_file()
    async with _open(urls[kind]) as db:
        chinook = await load_chinook(db, kind)
        again = await load_chinook(db, db.dialect)  # idempotent: already loaded, nothing changes
        assert again.get_metadata()["name"] == chinook.get_metadata()["name"]
        async with contextlib.AsyncExitStack() as stack:
            if chinook is not db:
                await stack.enter_async_context(chinook)
            counts = await chinook_counts(chinook, kind)
            assert counts == CHINOOK_TABLES[kind]
            assert sum(counts.values()) == TOTAL_ROWS
            names = {n.lower() for n in await chinook.list_collections_or_tables()}
            assert {t.lower() for t in CHINOOK_TABLES[kind]} <= names
            invoice, track = ("invoice", "track") if kind == "postgresql" else ("Invoice", "Track")
            tid = "track_id" if kind == "postgresql" else "TrackId"
            q = chinook.dialect.quote
            total = await chinook.fetch_value(f"SELECT sum(total) FROM {q(invoice)}")
            assert decimal.Decimal(str(total)).quantize(decimal.Decimal("0.01")) == decimal.Decimal(
                "2328.60"
            )
            name = await chinook.fetch_value(
                f"SELECT name FROM {q(track)} WHERE {q(tid)} = {chinook.dialect.param(1)}", [3435]
            )
            assert name == "Cavalleria Rusticana \\ Act \\ Intermezzo Sinfonico"
            artist = await chinook.fetch_value(
                f"SELECT count(*) FROM {q('artist' if kind == 'postgresql' else 'Artist')} "
                f"WHERE name = {chinook.dialect.param(1)}",
                ["Antônio Carlos Jobim"],
            )
            assert artist == 1


async def test_concurrent_chinook_loads_into_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chinook.db'}"
    async with _open(url, busy_timeout=60) as one, _open(url, busy_timeout=60) as two:
        await asyncio.gather(load_chinook(one, "sqlite"), load_chinook(two, "sqlite"))
        assert await chinook_counts(one, "sqlite") == CHINOOK_TABLES["sqlite"]


def test_split_statements_respects_quotes_and_comments() -> None:
    script = (
        "DROP DATABASE IF EXISTS x;\nCREATE DATABASE x;\n\\c x;\nUSE `x`;\n"
        "INSERT INTO t VALUES ('a;b', 'it''s; fine', \"q;\"); -- trailing; comment\n"
        "/* block; comment */ CREATE TABLE [we;ird] (`c;` INT);\n"
        "INSERT INTO t VALUES ('back\\ slash');"
    )
    assert split_statements(script) == [
        "INSERT INTO t VALUES ('a;b', 'it''s; fine', \"q;\")",
        "CREATE TABLE [we;ird] (`c;` INT)",
        "INSERT INTO t VALUES ('back\\ slash')",
    ]


async def test_url_options_reach_the_server(postgres_url: str, mysql_url: str) -> None:
    async with _open(f"{postgres_url}?sslmode=disable&application_name=xr_it&timezone=UTC") as pg:
        assert await pg.fetch_value("SHOW application_name") == "xr_it"
        assert await pg.fetch_value("SHOW timezone") == "UTC"
        assert await pg.fetch_value("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") in (
            False,
            None,
        )
    async with _open(f"{mysql_url}?sql_mode=ANSI_QUOTES") as my:
        assert "ANSI_QUOTES" in await my.fetch_value("SELECT @@SESSION.sql_mode")
        assert await my.fetch_value("SELECT @@character_set_connection") == "utf8mb4"


@pytest.mark.parametrize("kind", SERVERS)
async def test_concurrent_transactions_serialise_on_row_locks(
    kind: str, urls: dict[str, str], unique_name: str
) -> None:
    db = ResourceFactory.from_url(urls[kind], pool_max_size=4)
    assert isinstance(db, SQLDatabaseResource)
    async with db, _table(db, unique_name, "id INTEGER PRIMARY KEY, v INTEGER NOT NULL") as t:
        await db.execute(f"INSERT INTO {t} (id, v) VALUES (1, 0)")

        async def increment() -> None:
            async with db.transaction() as tx:
                v = await tx.fetch_value(f"SELECT v FROM {t} WHERE id = 1 FOR UPDATE")
                await asyncio.sleep(0)
                await tx.execute(f"UPDATE {t} SET v = {db.dialect.param(1)} WHERE id = 1", [v + 1])

        await asyncio.gather(*(increment() for _ in range(25)))
        assert await db.fetch_value(f"SELECT v FROM {t} WHERE id = 1") == 25
        assert db.get_pool_stats().in_use == 0
