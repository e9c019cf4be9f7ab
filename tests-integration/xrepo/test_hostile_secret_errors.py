"""A secret field's value never leaves through an error or the audit log (issue 16).

A model declares ``api_token = SecretField()`` and the table (collection) has a unique index on
it. Writing a duplicate token makes PostgreSQL (``Key (api_token)=(...) already exists``), MariaDB
(``Duplicate entry '...'``) and MongoDB (``dup key: { api_token: "..." }``) quote the value; SQLite
names only the column. On every backend the repository error, its resource-level cause, every
exception chained to them, the log records and the audit entry keep the constraint and column
names and never the value. Values that do not fit their column (``Incorrect integer value:
'...'``, ``invalid input syntax for type integer: "..."``) are hidden the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from repo_backends import mongo_collections, mongo_db_url, sql_tables

from xobj_prototype import SecretField, XObjPrototype
from xrepo import RepoContext, XRepo, XRepoConflictError, XRepoFactory
from xrepo.audit import AuditLogger, MemoryAuditSink
from xrepo.secure import SecureRepo
from xresource import ResourceFactory, XResourceIntegrityError

SECRET = "tok-SECRET-ÄÖ-123"
ADMIN = RepoContext(user_id="root", roles=("admin",))
DEADLINE = 20.0
BACKENDS = ["postgresql", "mysql", "sqlite", "mongodb"]

DDL = {
    "postgresql": "CREATE TABLE {t} (id SERIAL PRIMARY KEY, name TEXT, api_token TEXT UNIQUE)",
    "mysql": (
        "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), "
        "api_token VARCHAR(255) UNIQUE) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ),
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT, api_token TEXT UNIQUE)",
}
#: The constraint or column each backend names in its message (kept: it says what to fix).
NAMED = {
    "postgresql": "api_token",
    "mysql": "api_token",
    "sqlite": "api_token",
    "mongodb": "api_token",
}


class Account(XObjPrototype):
    id: int | None = None
    name: str
    api_token: str = SecretField()


def texts_of(error: BaseException) -> list[str]:
    """Every text an error exposes: str, repr, args, attributes, and the same for each exception
    chained to it (``__cause__`` and ``__context__``)."""
    out: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        out += [str(current), repr(current), *map(repr, current.args)]
        out += [repr(v) for v in vars(current).values()]
        stack += [current.__cause__, current.__context__]  # type: ignore[list-item]
    return out


@pytest.fixture(params=BACKENDS)
async def accounts(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[tuple[str, XRepo[Account], Any]]:
    """``(backend, repository of Account with a unique api_token, resource)``."""
    kind: str = request.param
    if kind == "mongodb":
        url = mongo_db_url(request.getfixturevalue("mongodb_url"), "xrepo_hostile")
        async with mongo_collections(url, [unique_name]) as resource:
            await resource.db[unique_name].create_index("api_token", unique=True)
            repo = await XRepoFactory.create(
                resource=resource, model_class=Account, collection=unique_name
            )
            yield kind, repo, resource
        return
    url = (
        f"sqlite:///{tmp_path / 'accounts.db'}"
        if kind == "sqlite"
        else request.getfixturevalue({"postgresql": "postgres_url", "mysql": "mysql_url"}[kind])
    )
    async with sql_tables(url, {unique_name: DDL[kind]}) as resource:
        repo = await XRepoFactory.create(
            resource=resource, model_class=Account, collection=unique_name
        )
        yield kind, repo, resource


async def test_a_duplicate_secret_is_named_by_column_never_by_value(
    accounts: tuple[str, XRepo[Account], Any], caplog: pytest.LogCaptureFixture
) -> None:
    kind, inner, _ = accounts
    sink = MemoryAuditSink()
    repo = SecureRepo(inner, audit=AuditLogger(sink, policy="fail"))  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG)
    await asyncio.wait_for(
        repo.create({"id": 1, "name": "a", "api_token": SECRET}, context=ADMIN), DEADLINE
    )
    failures: list[XRepoConflictError] = []
    for attempt in (
        repo.create({"id": 2, "name": "b", "api_token": SECRET}, context=ADMIN),
        repo.bulk_create(
            [
                {"id": 3, "name": "c", "api_token": "other"},
                {"id": 4, "name": "d", "api_token": SECRET},
            ],
            context=ADMIN,
        ),
        inner.create({"id": 5, "name": "e", "api_token": SECRET}),
    ):
        with pytest.raises(XRepoConflictError) as caught:
            await asyncio.wait_for(attempt, DEADLINE)
        failures.append(caught.value)
    for error in failures:
        assert NAMED[kind] in str(error), str(error)  # still says what to fix
        for text in texts_of(error):
            assert SECRET not in text, (kind, text)
    assert failures[1].item == 1
    assert SECRET not in caplog.text
    log = await repo.get_audit_log(limit=10, context=ADMIN)
    outcomes = sorted((e.action, e.outcome) for e in log)
    assert outcomes == [
        ("bulk_create", "failure"),
        ("create", "failure"),
        ("create", "success"),
    ]
    dumped = "".join(e.model_dump_json() for e in log)
    assert SECRET not in dumped
    assert all(e.error and NAMED[kind] in e.error for e in log if e.outcome == "failure")


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
async def test_values_that_do_not_fit_their_column_are_not_repeated(
    kind: str, request: pytest.FixtureRequest, unique_name: str
) -> None:
    """``Incorrect integer value: '...'`` (MariaDB), ``invalid input syntax for type integer:
    "..."`` (PostgreSQL, server side) and asyncpg's ``invalid input for query argument``."""
    url = request.getfixturevalue({"postgresql": "postgres_url", "mysql": "mysql_url"}[kind])
    ddl = "CREATE TABLE {t} (id INT PRIMARY KEY, n INT)"
    async with sql_tables(url, {unique_name: ddl}) as resource:
        q, p = resource.dialect.quote(unique_name), resource.dialect.param
        statements = [(f"INSERT INTO {q} (id, n) VALUES (1, {p(1)})", [SECRET])]
        if kind == "postgresql":
            statements.append((f"SELECT {p(1)}::text::int", [SECRET]))
            statements.append((f"SELECT {p(1)}::text::jsonb", ['{"a": "' + SECRET]))
        for sql, params in statements:
            with pytest.raises(Exception) as caught:
                await resource.fetch_all(sql, params)
            for text in texts_of(caught.value):
                assert SECRET not in text, text
            assert "…" in str(caught.value)


# -- property: whatever the secret holds, it stays hidden (PostgreSQL quotes values unescaped) ---
@pytest.fixture
def pg_accounts(postgres_url: str, unique_name: str) -> Iterator[tuple[Any, XRepo[Account]]]:
    loop = asyncio.new_event_loop()
    resource = ResourceFactory.from_url(postgres_url)
    loop.run_until_complete(resource.connect())
    q = resource.dialect.quote(unique_name)
    loop.run_until_complete(resource.execute(DDL["postgresql"].format(t=q)))
    repo = loop.run_until_complete(
        XRepoFactory.create(resource=resource, model_class=Account, collection=unique_name)
    )
    try:
        yield loop, repo
    finally:
        loop.run_until_complete(resource.execute(f"DROP TABLE IF EXISTS {q}"))
        loop.run_until_complete(resource.disconnect())
        loop.close()


# Text PostgreSQL stores (no NUL), with the characters that end a quoted value in its messages.
_token_chars = st.one_of(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    st.sampled_from([")", "(", "=", "'", '"', " already exists", "\n", "…"]),
)
tokens = st.lists(_token_chars, min_size=1, max_size=40).map("".join)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(token=tokens)
def test_any_duplicate_secret_stays_hidden_on_postgresql(
    pg_accounts: tuple[Any, XRepo[Account]], token: str
) -> None:
    loop, repo = pg_accounts
    marked = f"MARK{token}MARK"

    async def run() -> XRepoConflictError:
        made = await repo.create({"name": "a", "api_token": marked})
        try:
            with pytest.raises(XRepoConflictError) as caught:
                await repo.create({"name": "b", "api_token": marked})
            return caught.value
        finally:
            await repo.delete(made.id, soft=False)

    error = loop.run_until_complete(asyncio.wait_for(run(), DEADLINE))
    assert "api_token" in str(error)
    for text in texts_of(error):
        assert "MARK" not in text, text


async def test_resource_level_duplicate_on_mongodb_names_the_key_only(
    mongodb_url: str, unique_name: str
) -> None:
    """``MongoDBResource.insert_many`` (plain, atomic and unordered): the key name stays."""
    url = mongo_db_url(mongodb_url, "xrepo_hostile")
    async with mongo_collections(url, [unique_name]) as resource:
        await resource.db[unique_name].create_index("api_token", unique=True)
        await resource.insert_many(unique_name, [{"_id": 1, "api_token": SECRET}])
        for kwargs in ({}, {"atomic": True}, {"ordered": False}):
            with pytest.raises(XResourceIntegrityError) as caught:
                await resource.insert_many(unique_name, [{"_id": 2, "api_token": SECRET}], **kwargs)
            assert "dup key: { api_token: … }" in str(caught.value)
            for text in texts_of(caught.value):
                assert SECRET not in text, text
