"""The store's own schema, as numbered migrations applied once each, in order.

Each migration is a list of statements per dialect (``sqlite``, ``postgresql``); ``{p}`` is the
table prefix. The ``{p}migrations`` table says which ones ran. Only ever append a migration:
a store written by a newer xregistry (a migration number this one does not know) is refused
rather than misread.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIGRATIONS", "Migration"]


@dataclass(frozen=True)
class Migration:
    """One step of the store schema."""

    number: int
    description: str
    statements: tuple[str, ...]
    #: Statements that differ per dialect, run after ``statements``.
    per_dialect: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def for_dialect(self, dialect: str) -> tuple[str, ...]:
        """The statements of this migration on ``dialect``."""
        extra = dict(self.per_dialect).get(dialect, ())
        return self.statements + extra


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "registry state, models, versions, change log, audit, enrichment, catalog",
        (
            "CREATE TABLE {p}state (id INTEGER PRIMARY KEY, revision BIGINT NOT NULL)",
            "INSERT INTO {p}state (id, revision) VALUES (1, 0)",
            "CREATE TABLE {p}models (name TEXT PRIMARY KEY, current_version TEXT NOT NULL, "
            "compatibility TEXT, metadata TEXT NOT NULL, updated_at TEXT NOT NULL, "
            "revision BIGINT NOT NULL)",
            "CREATE TABLE {p}versions (model TEXT NOT NULL, version TEXT NOT NULL, "
            "seq INTEGER NOT NULL, created_at TEXT NOT NULL, source TEXT NOT NULL, "
            "fingerprint TEXT NOT NULL, fields_schema TEXT NOT NULL, json_schema TEXT NOT NULL, "
            "changes TEXT NOT NULL, revision BIGINT NOT NULL, PRIMARY KEY (model, version), "
            "UNIQUE (model, seq))",
            "CREATE TABLE {p}changes (revision BIGINT PRIMARY KEY, kind TEXT NOT NULL, "
            "name TEXT NOT NULL, at TEXT NOT NULL)",
            "CREATE TABLE {p}enrichment (model TEXT PRIMARY KEY, document TEXT NOT NULL, "
            "updated_at TEXT NOT NULL)",
            "CREATE TABLE {p}catalog (kind TEXT NOT NULL, name TEXT NOT NULL, "
            "fingerprint TEXT NOT NULL, metadata TEXT NOT NULL, updated_at TEXT NOT NULL, "
            "PRIMARY KEY (kind, name))",
        ),
        (
            (
                "sqlite",
                (
                    "CREATE TABLE {p}audit (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                    "at TEXT NOT NULL, action TEXT NOT NULL, kind TEXT NOT NULL, "
                    "name TEXT NOT NULL, event TEXT NOT NULL)",
                ),
            ),
            (
                "postgresql",
                (
                    "CREATE TABLE {p}audit (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, "
                    "action TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, "
                    "event TEXT NOT NULL)",
                ),
            ),
        ),
    ),
    Migration(
        2,
        "indexes for the audit trail by item and the change log by revision",
        (
            "CREATE INDEX {p}audit_item ON {p}audit (kind, name, id)",
            "CREATE INDEX {p}versions_revision ON {p}versions (revision)",
        ),
    ),
)
