"""The SQL audit sink: entries in a table of any xresource SQL database.

The table (``xrepo_audit_log`` by default) is created on first use::

    id VARCHAR(64) PRIMARY KEY, ts_us BIGINT, user_id, action, repo, entity, entity_id,
    outcome, payload TEXT (the whole entry as JSON)

The filterable columns are indexed; the entry itself is read back from ``payload``, exactly as it
was written (microsecond timestamps included, whatever the database's own datetime precision).
Values are bound parameters, identifiers go through the dialect's quoting.

Join a caller's transaction with ``write(entries, executor=tx)``: the entries commit or roll back
with the caller's own statements.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from xrepo.audit._errors import XRepoAuditError
from xrepo.audit._models import AuditEntry, AuditFilter, timestamp_us
from xrepo.audit._sink import AuditSink

if TYPE_CHECKING:
    from xresource import SQLDatabaseResource, SQLExecutor

__all__ = ["SQLAuditSink"]

_COLUMNS = ("id", "ts_us", "user_id", "action", "repo", "entity", "entity_id", "outcome", "payload")
_INDEXED = (("ts", ("ts_us",)), ("user", ("user_id", "ts_us")), ("entity", ("entity", "entity_id")))


class SQLAuditSink(AuditSink):
    """Audit entries in a SQL table (PostgreSQL, MariaDB/MySQL, SQLite).

    Args:
        resource: any :class:`xresource.databases.base.SQLDatabaseResource`.
        table: the table name (validated and quoted; created if missing).
        schema: optional schema of the table.
        create: create the table and its indexes when missing (else it must exist).
    """

    def __init__(
        self,
        resource: SQLDatabaseResource,
        *,
        table: str = "xrepo_audit_log",
        schema: str | None = None,
        create: bool = True,
    ) -> None:
        dialect = getattr(resource, "dialect", None)
        if dialect is None or not callable(getattr(resource, "transaction", None)):
            raise XRepoAuditError(
                f"SQLAuditSink needs a SQL database resource, got {type(resource).__name__}",
                operation="configure audit",
            )
        self.resource = resource
        self.dialect = dialect
        try:
            self._table = dialect.qualified(schema, table)
        except Exception as exc:  # the dialect's own validation error, reworded for audit
            raise XRepoAuditError(
                f"bad audit table name: {exc}", operation="configure audit"
            ) from None
        self.table = table
        self.schema = schema
        self.create = create
        self._ready = False
        self._ready_lock = asyncio.Lock()

    # -- schema --------------------------------------------------------------------------------
    def _ddl(self) -> list[str]:
        d = self.dialect
        mysql = d.name == "mysql"
        text = "LONGTEXT" if mysql else "TEXT"
        cols = [
            f"{d.quote('id')} VARCHAR(64) NOT NULL PRIMARY KEY",
            f"{d.quote('ts_us')} BIGINT NOT NULL",
            f"{d.quote('user_id')} VARCHAR(255)",
            f"{d.quote('action')} VARCHAR(64) NOT NULL",
            f"{d.quote('repo')} VARCHAR(255)",
            f"{d.quote('entity')} VARCHAR(255)",
            f"{d.quote('entity_id')} VARCHAR(255)",
            f"{d.quote('outcome')} VARCHAR(16) NOT NULL",
            f"{d.quote('payload')} {text} NOT NULL",
        ]
        indexes = [(self._index_name(suffix), columns) for suffix, columns in _INDEXED]
        if mysql:  # MySQL has no CREATE INDEX IF NOT EXISTS: declare them with the table
            cols += [
                f"INDEX {d.quote(name)} ({', '.join(d.quote(c) for c in columns)})"
                for name, columns in indexes
            ]
        stmts = [f"CREATE TABLE IF NOT EXISTS {self._table} ({', '.join(cols)})"]
        if not mysql:
            for name, columns in indexes:
                on = ", ".join(d.quote(c) for c in columns)
                if d.name == "sqlite":  # SQLite puts the schema on the index name
                    stmts.append(
                        f"CREATE INDEX IF NOT EXISTS {d.qualified(self.schema, name)} "
                        f"ON {d.quote(self.table)} ({on})"
                    )
                else:
                    stmts.append(
                        f"CREATE INDEX IF NOT EXISTS {d.quote(name)} ON {self._table} ({on})"
                    )
        return stmts

    def _index_name(self, suffix: str) -> str:
        name = f"{self.table}_{suffix}_idx"
        limit = self.dialect.max_identifier_length
        if len(name) > limit:  # keep it unique: a hash of the table name instead of the name
            name = f"audit_{hashlib.sha256(self.table.encode()).hexdigest()[:16]}_{suffix}_idx"
        return name

    async def ensure_table(self, executor: SQLExecutor | None = None) -> None:
        """Create the table and indexes if missing (idempotent; run it at startup).

        With ``executor`` the statements run in the caller's transaction: if it rolls back, so
        does the table, so that is not remembered as done (the next call checks again; the
        statements are ``IF NOT EXISTS``).
        """
        if not self.create:
            return
        async with self._ready_lock:
            if self._ready:
                return
            target: Any = executor if executor is not None else self.resource
            for stmt in self._ddl():
                await target.execute(stmt)
            if executor is None:
                self._ready = True

    async def drop_table(self) -> None:
        """Drop the audit table (tests, teardown)."""
        await self.resource.execute(f"DROP TABLE IF EXISTS {self._table}")
        self._ready = False

    # -- AuditSink -----------------------------------------------------------------------------
    async def write(
        self, entries: Sequence[AuditEntry], *, executor: SQLExecutor | None = None
    ) -> None:
        """Insert ``entries`` in one batch; with ``executor`` inside the caller's transaction.

        Without ``executor`` the batch runs in its own transaction: all rows or none.
        """
        batch = list(entries)
        if not batch:
            return
        rows = [self._row(e) for e in batch]
        d = self.dialect
        marks = ", ".join(d.param(i + 1) for i in range(len(_COLUMNS)))
        cols = ", ".join(d.quote(c) for c in _COLUMNS)
        # Identifiers quoted by the dialect, values bound: nothing of the caller's is spliced.
        sql = f"INSERT INTO {self._table} ({cols}) VALUES ({marks})"  # noqa: S608
        if executor is not None:
            # DDL inside the caller's transaction is fine except on MySQL (implicit commit).
            await self.ensure_table(executor if d.name != "mysql" else None)
            await executor.execute_many(sql, rows)
            return
        await self.ensure_table()
        async with self.resource.transaction() as tx:
            await tx.execute_many(sql, rows)

    async def query(
        self, filters: AuditFilter, *, executor: SQLExecutor | None = None
    ) -> list[AuditEntry]:
        await self.ensure_table(executor if self.dialect.name != "mysql" else None)
        d = self.dialect
        where: list[str] = []
        params: list[Any] = []

        def cond(column: str, op: str, value: Any) -> None:
            params.append(value)
            where.append(f"{d.quote(column)} {op} {d.param(len(params))}")

        for column in ("user_id", "repo", "entity", "entity_id", "outcome"):
            value = getattr(filters, column)
            if value is not None:
                cond(column, "=", value)
        if filters.action is not None:
            marks = []
            for action in filters.action:
                params.append(action)
                marks.append(d.param(len(params)))
            where.append(f"{d.quote('action')} IN ({', '.join(marks)})")
        if filters.since is not None:
            cond("ts_us", ">=", timestamp_us(filters.since))
        if filters.until is not None:
            cond("ts_us", "<", timestamp_us(filters.until))
        params.append(filters.limit)
        sql = (  # quoted identifiers and placeholders only; every value is bound
            f"SELECT {d.quote('payload')} FROM {self._table}"  # noqa: S608
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {d.quote('ts_us')} DESC, {d.quote('id')} DESC"
            + f" LIMIT {d.param(len(params))}"
        )
        target: Any = executor if executor is not None else self.resource
        rows = await target.fetch_all(sql, params)
        out: list[AuditEntry] = []
        for row in rows:
            try:
                out.append(AuditEntry.model_validate(json.loads(row["payload"])))
            except (ValueError, ValidationError):
                raise XRepoAuditError(
                    f"audit table {self.table!r} holds a row that is not a valid entry",
                    operation="get_audit_log",
                ) from None
        return out

    @staticmethod
    def _row(entry: AuditEntry) -> tuple[Any, ...]:
        if not isinstance(entry, AuditEntry):
            raise XRepoAuditError(
                f"audit sinks take AuditEntry objects, got {type(entry).__name__}",
                operation="write audit",
            )
        # The indexed columns keep the repository's names (tables written before stay
        # queryable); the payload is the AuditRecord, and one of the old layout still reads.
        return (
            entry.id,
            timestamp_us(entry.timestamp),
            entry.user_id,
            entry.action,
            entry.repo,
            entry.entity,
            entry.entity_id,
            entry.outcome,
            entry.model_dump_json(),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(table={self.table!r}, dialect={self.dialect.name!r})"
