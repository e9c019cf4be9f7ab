"""``RegistryStore``: the registry's versions, audit trail, enrichment and catalog in a SQL
database (SQLite or PostgreSQL) through ``xresource``.

Every write is one transaction that first bumps the single revision counter (``{p}state``):
that row lock serializes writers across processes (SQLite's ``BEGIN IMMEDIATE`` does the same),
and the new revision, logged in ``{p}changes`` with what changed, is how another instance
learns that it must reload (:meth:`RegistryStore.revision`, :meth:`RegistryStore.changes_since`).
A write that is interrupted leaves nothing behind: either its transaction committed (version,
model row, audit entry and change notice together) or none of it did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from xobj_prototype import redact_text
from xregistry._shared import utc_now
from xregistry.errors import RegistryValidationError, XRegistryError
from xregistry.store._migrations import MIGRATIONS
from xregistry.store._records import StoreChange, StoredModel, StoredVersion, iso

__all__ = ["Plan", "RegistryStore"]

_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,30}$")
_PARAM = re.compile(r"\$\d+")
_DIALECTS = ("sqlite", "postgresql")

#: Decides, inside the write transaction, the version to append given the latest stored one and
#: the model row (None when there is none); returns None to append nothing.
Plan = Callable[[StoredVersion | None, StoredModel | None], StoredVersion | None]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class RegistryStore:
    """The durable state of a registry (see the module docstring).

    Args:
        resource: a SQL resource (``SQLiteResource`` or ``PostgreSQLResource``), connected by
            :meth:`open` when it is not yet.
        prefix: the prefix of the store's tables (lowercase letters, digits, ``_``), so that
            several registries can share one database.

    Example:
        >>> store = RegistryStore.from_url("sqlite:///:memory:")
        >>> store.prefix
        'xregistry_'
    """

    def __init__(self, resource: Any, *, prefix: str = "xregistry_") -> None:
        from xresource import SQLDatabaseResource

        if not isinstance(resource, SQLDatabaseResource):
            raise RegistryValidationError(
                f"the registry store needs an SQL database resource, got {type(resource).__name__}"
            )
        dialect = resource.dialect.name
        if dialect not in _DIALECTS:
            raise RegistryValidationError(
                f"the registry store runs on SQLite or PostgreSQL, not {dialect}"
            )
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise RegistryValidationError(
                f"store table prefix {prefix!r} must be lowercase letters, digits and _ "
                "(at most 31 characters, not starting with a digit)"
            )
        self.resource = resource
        self.prefix = prefix
        self.dialect = dialect

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "xregistry_") -> RegistryStore:
        """A store over ``sqlite:///path.db`` or ``postgresql://...``.

        Raises:
            RegistryValidationError: a URL that is not SQLite or PostgreSQL (shown redacted).
        """
        from xresource import ResourceFactory

        try:
            resource = ResourceFactory.from_url(url, name="xregistry-store")
        except Exception as exc:
            raise RegistryValidationError(
                f"cannot use {redact_text(url)!r} as the registry store: {exc}"
            ) from None
        return cls(resource, prefix=prefix)

    @property
    def display_name(self) -> str:
        """The store's resource as errors show it (no password)."""
        return str(self.resource.display_name)

    # -- SQL text -----------------------------------------------------------------------------
    def _sql(self, text: str) -> str:
        """``text`` with the table prefix and the dialect's placeholders (``$n`` -> ``?``)."""
        text = text.replace("{p}", self.prefix)
        if self.dialect == "sqlite":
            text = _PARAM.sub("?", text)
        return text

    # -- lifecycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and bring the store's schema up to date (idempotent).

        Raises:
            XRegistryError: the store was written by a newer xregistry.
        """
        await self.resource.ensure_connected()
        if self.dialect == "sqlite":
            # WAL with synchronous=NORMAL (the resource's default) survives a killed process but
            # may lose the last commits to a power cut; an acknowledged version must not.
            await self.resource.execute("PRAGMA synchronous = FULL")
        await self.migrate()

    async def close(self) -> None:
        """Disconnect."""
        await self.resource.disconnect()

    async def migrate(self) -> list[int]:
        """Apply the migrations not applied yet, each in its own transaction; returns their
        numbers. Concurrent processes wait for each other (a lock is held while migrating)."""
        applied: list[int] = []
        for migration in MIGRATIONS:
            async with self.resource.transaction() as tx:
                await self._lock_migrations(tx)
                done = await self._applied(tx)
                newest = max(done, default=0)
                if newest > MIGRATIONS[-1].number:
                    raise XRegistryError(
                        f"the registry store {self.display_name} is at schema version {newest}, "
                        f"newer than this xregistry knows ({MIGRATIONS[-1].number}); upgrade "
                        "xregistry or use another store"
                    )
                if migration.number in done:
                    continue
                for statement in migration.for_dialect(self.dialect):
                    await tx.execute(self._sql(statement))
                await tx.execute(
                    self._sql(
                        "INSERT INTO {p}migrations (version, description, applied_at) "
                        "VALUES ($1, $2, $3)"
                    ),
                    (migration.number, migration.description, iso(utc_now())),
                )
                applied.append(migration.number)
        return applied

    async def _lock_migrations(self, tx: Any) -> None:
        if self.dialect == "postgresql":
            # Two processes starting at once must not both create the tables.
            await tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", (self.prefix + "migrations",)
            )
        await tx.execute(
            self._sql(
                "CREATE TABLE IF NOT EXISTS {p}migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        )

    async def _applied(self, tx: Any) -> set[int]:
        rows = await tx.fetch_all(self._sql("SELECT version FROM {p}migrations"))
        return {int(r["version"]) for r in rows}

    async def schema_version(self) -> int:
        """The number of the newest migration applied."""
        value = await self.resource.fetch_value(self._sql("SELECT MAX(version) FROM {p}migrations"))
        return int(value or 0)

    # -- revisions ----------------------------------------------------------------------------
    async def revision(self) -> int:
        """The revision of the last committed change (one cheap query: poll it)."""
        value = await self.resource.fetch_value(self._sql("SELECT revision FROM {p}state"))
        return int(value or 0)

    async def changes_since(self, revision: int) -> list[StoreChange]:
        """The change notices after ``revision``, oldest first."""
        rows = await self.resource.fetch_all(
            self._sql(
                "SELECT revision, kind, name FROM {p}changes WHERE revision > $1 ORDER BY revision"
            ),
            (int(revision),),
        )
        return [
            StoreChange(revision=int(r["revision"]), kind=r["kind"], name=r["name"]) for r in rows
        ]

    async def _bump(self, tx: Any, kind: str, name: str) -> int:
        """Take the writers' lock, advance the revision and log what changed."""
        await tx.execute(self._sql("UPDATE {p}state SET revision = revision + 1 WHERE id = 1"))
        revision = int(await tx.fetch_value(self._sql("SELECT revision FROM {p}state")))
        await tx.execute(
            self._sql("INSERT INTO {p}changes (revision, kind, name, at) VALUES ($1, $2, $3, $4)"),
            (revision, kind, name, iso(utc_now())),
        )
        return revision

    # -- versions -----------------------------------------------------------------------------
    @staticmethod
    def _version(row: Mapping[str, Any]) -> StoredVersion:
        return StoredVersion(
            model=row["model"],
            version=row["version"],
            created_at=_when(row["created_at"]),
            source=row["source"],
            fingerprint=row["fingerprint"],
            fields_schema=json.loads(row["fields_schema"]),
            json_schema=json.loads(row["json_schema"]),
            changes=json.loads(row["changes"]),
            revision=int(row["revision"]),
        )

    @staticmethod
    def _model(row: Mapping[str, Any]) -> StoredModel:
        return StoredModel(
            name=row["name"],
            current_version=row["current_version"],
            compatibility=row["compatibility"],
            metadata=json.loads(row["metadata"]),
            revision=int(row["revision"]),
        )

    async def history(self, model: str) -> list[StoredVersion]:
        """Every stored version of ``model``, oldest first (empty when unknown)."""
        rows = await self.resource.fetch_all(
            self._sql("SELECT * FROM {p}versions WHERE model = $1 ORDER BY seq"), (model,)
        )
        return [self._version(r) for r in rows]

    async def latest(self, model: str, executor: Any = None) -> StoredVersion | None:
        """The newest stored version of ``model``."""
        row = await (executor or self.resource).fetch_one(
            self._sql("SELECT * FROM {p}versions WHERE model = $1 ORDER BY seq DESC LIMIT 1"),
            (model,),
        )
        return self._version(row) if row else None

    async def model(self, name: str, executor: Any = None) -> StoredModel | None:
        """The model row of ``name``."""
        row = await (executor or self.resource).fetch_one(
            self._sql("SELECT * FROM {p}models WHERE name = $1"), (name,)
        )
        return self._model(row) if row else None

    async def models(self) -> list[StoredModel]:
        """Every model row, by name."""
        rows = await self.resource.fetch_all(self._sql("SELECT * FROM {p}models ORDER BY name"))
        return [self._model(r) for r in rows]

    async def append_version(
        self,
        model: str,
        plan: Plan,
        *,
        metadata: Mapping[str, Any] | None = None,
        audit: Callable[[StoredVersion], Mapping[str, Any]] | None = None,
    ) -> tuple[StoredVersion | None, bool]:
        """Append the version ``plan`` decides, in one transaction with the model row, the audit
        entry ``audit`` builds and the change notice.

        Returns:
            ``(version, appended)``: the new version and True, or the latest stored version
            (None for an unknown model) and False when ``plan`` appended nothing.

        Raises:
            Exception: whatever ``plan`` raises (nothing is written then).
        """
        try:
            return await self._append(model, plan, metadata, audit)
        except _NothingToWrite as nothing:
            return nothing.latest, False

    async def _append(
        self,
        model: str,
        plan: Plan,
        metadata: Mapping[str, Any] | None,
        audit: Callable[[StoredVersion], Mapping[str, Any]] | None,
    ) -> tuple[StoredVersion | None, bool]:
        async with self.resource.transaction() as tx:
            revision = await self._bump(tx, "version", model)
            latest = await self.latest(model, tx)
            row = await self.model(model, tx)
            planned = plan(latest, row)
            if planned is None:
                # Nothing to write: leaving by an exception rolls the revision bump back.
                raise _NothingToWrite(latest)
            seq = int(
                await tx.fetch_value(
                    self._sql("SELECT COALESCE(MAX(seq), 0) + 1 FROM {p}versions WHERE model = $1"),
                    (model,),
                )
            )
            version = planned.model_copy(update={"model": model, "revision": revision})
            await tx.execute(
                self._sql(
                    "INSERT INTO {p}versions (model, version, seq, created_at, source, "
                    "fingerprint, fields_schema, json_schema, changes, revision) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                (
                    model,
                    version.version,
                    seq,
                    iso(version.created_at),
                    version.source,
                    version.fingerprint,
                    _dumps(version.fields_schema),
                    _dumps(version.json_schema),
                    _dumps(version.changes),
                    revision,
                ),
            )
            meta = _dumps(dict(metadata) if metadata is not None else (row.metadata if row else {}))
            if row is None:
                await tx.execute(
                    self._sql(
                        "INSERT INTO {p}models (name, current_version, compatibility, metadata, "
                        "updated_at, revision) VALUES ($1, $2, NULL, $3, $4, $5)"
                    ),
                    (model, version.version, meta, iso(utc_now()), revision),
                )
            else:
                await tx.execute(
                    self._sql(
                        "UPDATE {p}models SET current_version = $1, metadata = $2, "
                        "updated_at = $3, revision = $4 WHERE name = $5"
                    ),
                    (version.version, meta, iso(utc_now()), revision, model),
                )
            if audit is not None:
                await self._insert_audit(tx, [audit(version)])
            return version, True

    async def set_compatibility(
        self, model: str, mode: str | None, *, audit: Mapping[str, Any] | None = None
    ) -> None:
        """Give a stored model its own compatibility mode (None: the configured default).

        Raises:
            RegistryValidationError: the model has no stored version.
        """
        async with self.resource.transaction() as tx:
            revision = await self._bump(tx, "compatibility", model)
            count = await tx.execute(
                self._sql(
                    "UPDATE {p}models SET compatibility = $1, updated_at = $2, revision = $3 "
                    "WHERE name = $4"
                ),
                (mode, iso(utc_now()), revision, model),
            )
            if not count:
                raise RegistryValidationError(
                    f"model {model!r} has no version in the registry store; register it first"
                )
            if audit is not None:
                await self._insert_audit(tx, [audit])

    # -- audit --------------------------------------------------------------------------------
    async def _insert_audit(self, tx: Any, events: Sequence[Mapping[str, Any]]) -> None:
        await tx.execute_many(
            self._sql(
                "INSERT INTO {p}audit (at, action, kind, name, event) VALUES ($1, $2, $3, $4, $5)"
            ),
            [
                (
                    str(e.get("timestamp") or iso(utc_now())),
                    str(e.get("action", "")),
                    str(e.get("target_kind") or ""),
                    str(e.get("target_name") or ""),
                    _dumps(e),
                )
                for e in events
            ],
        )

    async def append_audit(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Write audit events (JSON documents of ``AuditEvent``) in one transaction."""
        batch = list(events)
        if not batch:
            return 0
        async with self.resource.transaction() as tx:
            await self._insert_audit(tx, batch)
        return len(batch)

    async def audit(
        self, *, kind: str | None = None, name: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` audit events (of one item, when given), oldest first."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("kind", kind), ("name", name)):
            if value is not None:
                params.append(value)
                where.append(f"{column} = ${len(params)}")
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        params.append(int(limit))
        rows = await self.resource.fetch_all(
            self._sql(
                f"SELECT event FROM {{p}}audit {clause}ORDER BY id DESC LIMIT ${len(params)}"  # noqa: S608
            ),
            params,
        )
        return [json.loads(r["event"]) for r in reversed(rows)]

    # -- enrichment and catalog ---------------------------------------------------------------
    async def save_enrichment(self, model: str, document: Mapping[str, Any]) -> None:
        """Keep the last enrichment of ``model`` (replacing the one before)."""
        async with self.resource.transaction() as tx:
            await self._bump(tx, "enrichment", model)
            await self._upsert(
                tx, "enrichment", ("model",), {"model": model, "document": _dumps(document)}
            )

    async def enrichments(self) -> dict[str, dict[str, Any]]:
        """The last enrichment of every model."""
        rows = await self.resource.fetch_all(self._sql("SELECT model, document FROM {p}enrichment"))
        return {r["model"]: json.loads(r["document"]) for r in rows}

    async def save_catalog(
        self, kind: str, items: Mapping[str, tuple[str, Mapping[str, Any]]]
    ) -> int:
        """Keep the metadata of functions or types (``kind``): ``{name: (fingerprint,
        metadata)}``; only the ones whose fingerprint changed are written. Returns how many."""
        stored = {
            r["name"]: r["fingerprint"]
            for r in await self.resource.fetch_all(
                self._sql("SELECT name, fingerprint FROM {p}catalog WHERE kind = $1"), (kind,)
            )
        }
        changed = {n: v for n, v in items.items() if stored.get(n) != v[0]}
        if not changed:
            return 0
        async with self.resource.transaction() as tx:
            await self._bump(tx, "catalog", kind)
            for name, (fp, metadata) in sorted(changed.items()):
                await self._upsert(
                    tx,
                    "catalog",
                    ("kind", "name"),
                    {"kind": kind, "name": name, "fingerprint": fp, "metadata": _dumps(metadata)},
                )
        return len(changed)

    async def catalog(self, kind: str) -> dict[str, dict[str, Any]]:
        """The kept metadata of every function or type (``kind``)."""
        rows = await self.resource.fetch_all(
            self._sql("SELECT name, metadata FROM {p}catalog WHERE kind = $1"), (kind,)
        )
        return {r["name"]: json.loads(r["metadata"]) for r in rows}

    async def _upsert(
        self, tx: Any, table: str, keys: tuple[str, ...], values: Mapping[str, Any]
    ) -> None:
        columns = [*values, "updated_at"]
        params = [*values.values(), iso(utc_now())]
        marks = ", ".join(f"${i + 1}" for i in range(len(columns)))
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        await tx.execute(
            self._sql(
                f"INSERT INTO {{p}}{table} ({', '.join(columns)}) VALUES ({marks}) "  # noqa: S608
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
            ),
            params,
        )


class _NothingToWrite(Exception):
    """Raised inside :meth:`RegistryStore.append_version` to roll back the revision bump."""

    def __init__(self, latest: StoredVersion | None) -> None:
        super().__init__("nothing to write")
        self.latest = latest
