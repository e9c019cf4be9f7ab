"""An enum is a set: the same allowed values in another order are no drift.

A schema's ``enum`` comes from a CHECK constraint, a MariaDB ``ENUM`` type or the values a
profile saw; its order is the order someone wrote the constraint in (or the order a backend
listed the values). The registry's diff used to compare enums as lists, so that rewriting
``CHECK (status IN ('open', 'closed'))`` as ``IN ('closed', 'open')`` made a new model version.
A real change of the set still does: added values widen (minor), removed ones narrow (major).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from xregistry import XRegistry
from xresource import MYSQL, POSTGRESQL, ResourceFactory, SQLDatabaseResource


@pytest.fixture
async def registry() -> AsyncIterator[XRegistry]:
    reg = XRegistry()
    yield reg
    await reg.aclose()


async def _sync(
    registry: XRegistry, db: SQLDatabaseResource, name: str
) -> tuple[bool, str, list[tuple[str, str, bool]]]:
    result = await registry.get_enriched().sync_with_resource(name, db)
    changes = [(c["change"], c["field"], c["breaking"]) for c in result.changes]
    return result.synced, result.new_version, changes


async def test_postgres_check_rewritten_in_another_order_is_no_new_version(
    postgres_url: str, registry: XRegistry, unique_name: str
) -> None:
    db = ResourceFactory.from_url(postgres_url)
    assert isinstance(db, SQLDatabaseResource)
    name = f"tie_{unique_name}"
    table = POSTGRESQL.quote(name)

    async def check(values: str) -> None:
        await db.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS status_ok")
        await db.execute(f"ALTER TABLE {table} ADD CONSTRAINT status_ok CHECK (status IN {values})")

    async with db:
        await db.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, status text)")
        try:
            await check("('open', 'Open', 'ouvert ', 'clôturé')")
            registered = await registry.models.register_from_inspector(db, name)
            assert registered.metadata.version == "1.0.0"
            fields = registered.metadata.fields_schema["fields"]
            assert sorted(fields["status"]["enum"]) == ["Open", "clôturé", "open", "ouvert "]

            await check("('clôturé', 'ouvert ', 'Open', 'open')")
            assert await _sync(registry, db, name) == (False, "1.0.0", [])

            await check("('clôturé', 'ouvert ', 'Open', 'open', 'held')")
            assert await _sync(registry, db, name) == (
                True,
                "1.1.0",
                [("constraint_widened", "status", False)],
            )
            await check("('held', 'open')")  # 'Open' is another value than 'open'
            assert await _sync(registry, db, name) == (
                True,
                "2.0.0",
                [("constraint_narrowed", "status", True)],
            )
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")


async def test_mariadb_enum_type_reordered_is_no_new_version(
    mysql_url: str, registry: XRegistry, unique_name: str
) -> None:
    db = ResourceFactory.from_url(mysql_url)
    assert isinstance(db, SQLDatabaseResource)
    name = f"tie_{unique_name}"
    table = MYSQL.quote(name)
    async with db:
        await db.execute(
            f"CREATE TABLE {table} (id int PRIMARY KEY, "
            "mood ENUM('sad', 'ok', 'Ünknown') CHARACTER SET utf8mb4)"
        )
        try:
            await registry.models.register_from_inspector(db, name)
            await db.execute(
                f"ALTER TABLE {table} MODIFY mood ENUM('Ünknown', 'ok', 'sad') "
                "CHARACTER SET utf8mb4"
            )
            assert await _sync(registry, db, name) == (False, "1.0.0", [])
            await db.execute(
                f"ALTER TABLE {table} MODIFY mood ENUM('ok', 'sad', 'Ünknown', 'happy') "
                "CHARACTER SET utf8mb4"
            )
            assert await _sync(registry, db, name) == (
                True,
                "1.1.0",
                [("constraint_widened", "mood", False)],
            )
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")
