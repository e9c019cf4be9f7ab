"""The MongoDB audit sink: entries in a collection of an xresource ``MongoDBResource``.

Documents hold the filterable fields at the top level (indexed) and the whole entry as a JSON
string in ``payload``: keys of audited records may start with ``$`` or hold dots, which MongoDB
field names must not, and the entry reads back exactly as written (microsecond timestamps).
Pass ``session=`` to :meth:`MongoAuditSink.write` to join a caller's transaction.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from xrepo.audit._errors import XRepoAuditError
from xrepo.audit._models import AuditEntry, AuditFilter, timestamp_us
from xrepo.audit._sink import AuditSink

if TYPE_CHECKING:
    from xresource import MongoDBResource

__all__ = ["MongoAuditSink"]

_INDEXES: tuple[list[tuple[str, int]], ...] = (
    [("ts_us", -1)],
    [("user_id", 1), ("ts_us", -1)],
    [("entity", 1), ("entity_id", 1)],
)


class MongoAuditSink(AuditSink):
    """Audit entries in a MongoDB collection (``xrepo_audit_log`` by default).

    Args:
        resource: an :class:`xresource.databases.mongodb.MongoDBResource`.
        collection: the collection name.
        create_indexes: create the query indexes on first use.
    """

    def __init__(
        self,
        resource: MongoDBResource,
        *,
        collection: str = "xrepo_audit_log",
        create_indexes: bool = True,
    ) -> None:
        if not callable(getattr(resource, "insert_many", None)) or not callable(
            getattr(resource, "fetch_all", None)
        ):
            raise XRepoAuditError(
                f"MongoAuditSink needs a MongoDBResource, got {type(resource).__name__}",
                operation="configure audit",
            )
        if not isinstance(collection, str) or not collection or "$" in collection:
            raise XRepoAuditError(
                f"bad audit collection name {collection!r}", operation="configure audit"
            )
        self.resource = resource
        self.collection = collection
        self.create_indexes = create_indexes
        self._ready = not create_indexes
        self._ready_lock = asyncio.Lock()

    async def ensure_indexes(self) -> None:
        """Create the query indexes if missing (idempotent)."""
        async with self._ready_lock:
            if self._ready:
                return
            coll = await self.resource.get_collection(self.collection)
            for keys in _INDEXES:
                await coll.create_index(keys)
            self._ready = True

    async def write(self, entries: Sequence[AuditEntry], *, session: Any = None) -> None:
        """Insert ``entries``, all or none (own transaction unless ``session`` is given)."""
        batch = list(entries)
        if not batch:
            return
        docs = [self._doc(e) for e in batch]
        await self.ensure_indexes()
        if session is not None:
            await self.resource.insert_many(self.collection, docs, session=session)
        else:
            await self.resource.insert_many(self.collection, docs, atomic=len(docs) > 1)

    async def query(self, filters: AuditFilter, *, session: Any = None) -> list[AuditEntry]:
        flt: dict[str, Any] = {}
        for field in ("user_id", "repo", "entity", "entity_id", "outcome"):
            value = getattr(filters, field)
            if value is not None:
                flt[field] = {"$eq": value}  # $eq: a value can never be read as an operator
        if filters.action is not None:
            flt["action"] = {"$in": list(filters.action)}
        span: dict[str, int] = {}
        if filters.since is not None:
            span["$gte"] = timestamp_us(filters.since)
        if filters.until is not None:
            span["$lt"] = timestamp_us(filters.until)
        if span:
            flt["ts_us"] = span
        docs = await self.resource.fetch_all(
            self.collection,
            flt,
            projection=["payload"],
            sort=[("ts_us", -1), ("_id", -1)],
            limit=filters.limit,
            session=session,
        )
        out: list[AuditEntry] = []
        for doc in docs:
            try:
                out.append(AuditEntry.model_validate(json.loads(doc["payload"])))
            except (KeyError, TypeError, ValueError, ValidationError):
                raise XRepoAuditError(
                    f"audit collection {self.collection!r} holds a document that is not a "
                    "valid entry",
                    operation="get_audit_log",
                ) from None
        return out

    async def drop(self) -> None:
        """Drop the audit collection (tests, teardown)."""
        await self.resource.db.drop_collection(self.collection)
        self._ready = not self.create_indexes

    @staticmethod
    def _doc(entry: AuditEntry) -> dict[str, Any]:
        if not isinstance(entry, AuditEntry):
            raise XRepoAuditError(
                f"audit sinks take AuditEntry objects, got {type(entry).__name__}",
                operation="write audit",
            )
        # The indexed columns keep the repository's names (tables written before stay
        # queryable); the payload is the AuditRecord, and one of the old layout still reads.
        return {
            "_id": entry.id,
            "ts_us": timestamp_us(entry.timestamp),
            "timestamp": entry.timestamp,
            "user_id": entry.user_id,
            "action": entry.action,
            "repo": entry.repo,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "outcome": entry.outcome,
            "payload": entry.model_dump_json(),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(collection={self.collection!r})"
