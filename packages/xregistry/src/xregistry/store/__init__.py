"""The registry store: versions of every model with their schema snapshots, the audit trail,
the last enrichment and the metadata of functions and types, in SQLite or PostgreSQL.

Example:
    >>> from xregistry.store import RegistryStore
    >>> store = RegistryStore.from_url("sqlite:///:memory:", prefix="reg_")
    >>> store.dialect
    'sqlite'
"""

from xregistry.store._migrations import MIGRATIONS, Migration
from xregistry.store._records import StoreChange, StoredModel, StoredVersion
from xregistry.store._store import Plan, RegistryStore

__all__ = [
    "MIGRATIONS",
    "Migration",
    "Plan",
    "RegistryStore",
    "StoreChange",
    "StoredModel",
    "StoredVersion",
]
