"""Following the store: other instances' changes in, this instance's audit trail and
enrichment out.

One background task wakes every ``poll_interval`` seconds. It reads the store's revision (one
single-row query); when it moved, it reads the change notices since the last one seen and
applies each: a new model version (registered, or replaced by the stored version: from the
live table when this instance sees the same schema, else from the stored JSON schema), a
compatibility mode. Polling a counter was chosen over a notification channel because it needs
nothing beyond the store itself, works the same on SQLite and PostgreSQL, and cannot miss a
change: a notice lost in transit is still in ``{p}changes``.

The same task writes what this instance recorded meanwhile: audit events (reads only when asked,
as they are the hot path), enrichments that changed, and function and type metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from xobj_prototype import redact_text
from xregistry._inspection import generate_model
from xregistry.audit import AuditAction, AuditEvent
from xregistry.enrichment import ModelEnrichment
from xregistry.models._external import model_from_json_schema
from xregistry.models._registered import ModelSource, RegisteredModel
from xregistry.models._registry import ModelRegistry
from xregistry.models._versioning import fingerprint, parse_version, schema_of
from xregistry.store import StoreChange, StoredVersion

__all__ = ["Follower"]

logger = logging.getLogger("xregistry.store")

_READS = frozenset({AuditAction.ACCESS, AuditAction.FIND, AuditAction.VALIDATE})


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Follower:
    """The background half of a :class:`~xregistry.durable.DurableRegistry` (module docs)."""

    def __init__(self, owner: Any, *, poll_interval: float, audit_reads: bool) -> None:
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        self.owner = owner
        self.poll_interval = poll_interval
        self.audit_reads = audit_reads
        self.seen = 0
        #: Set once :meth:`open` reached the store; before that there is nothing to write.
        self.opened = False
        self._audit: list[dict[str, Any]] = []
        self._saved_enrichment: dict[str, int] = {}
        self._catalog_keys: dict[str, tuple[int, ...]] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        #: Held while the store and the memory are brought in line: by a poll (a request's
        #: catch-up and the background step share the cursor), and by this instance's own
        #: writes, so that a poll never applies a version between its commit and its apply.
        self.lock = asyncio.Lock()

    @property
    def registry(self) -> Any:
        return self.owner.registry

    @property
    def store(self) -> Any:
        return self.owner.store

    async def open(self) -> None:
        """Start from the store's current revision, take the stored modes, listen to audit."""
        self.seen = await self.store.revision()
        self.opened = True
        models = self.registry.models
        for row in await self.store.models():
            if row.compatibility and row.name in models.models:
                models.set_compatibility(row.name, row.compatibility)
        if self._unsubscribe is None:
            self._unsubscribe = self.registry.audit.subscribe(self._on_event)

    def _on_event(self, event: AuditEvent) -> None:
        if not self.audit_reads and event.action in _READS and event.allowed:
            return
        self._audit.append(event.model_dump(mode="json"))

    def start(self) -> None:
        """Run :meth:`step` every ``poll_interval`` seconds until :meth:`aclose`."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="xregistry-store-follower"
            )

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store that is down now may be back at the next step
                logger.warning(
                    "registry store %s: %s",
                    self.store.display_name,
                    redact_text(f"{type(exc).__name__}: {exc}"),
                )

    async def step(self) -> list[str]:
        """Apply other instances' changes, then write what is buffered; the models changed."""
        changed = await self.poll()
        await self.flush()
        return changed

    async def aclose(self) -> None:
        """Stop the task, write what is buffered, stop listening (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self.opened:
            return
        try:
            await self.flush()
        except Exception as exc:  # closing must go on; the events are logged as lost
            logger.warning(
                "registry store %s: %d audit events not written: %s",
                self.store.display_name,
                len(self._audit),
                redact_text(f"{type(exc).__name__}: {exc}"),
            )
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- changes in ---------------------------------------------------------------------------
    async def poll(self) -> list[str]:
        """Apply the change notices committed since the last poll; the models they changed."""
        async with self.lock:
            return await self._poll()

    async def _poll(self) -> list[str]:
        revision = await self.store.revision()
        if revision <= self.seen:
            return []
        changed: list[str] = []
        for change in await self.store.changes_since(self.seen):
            try:
                if await self.apply(change):
                    changed.append(change.name)
            except Exception as exc:  # one bad notice must not block the ones after it
                logger.warning(
                    "applying store change %d (%s %s) failed: %s",
                    change.revision,
                    change.kind,
                    change.name,
                    redact_text(f"{type(exc).__name__}: {exc}"),
                )
            self.seen = max(self.seen, change.revision)
        self.seen = max(self.seen, revision)
        return changed

    async def apply(self, change: StoreChange) -> bool:
        """Bring this instance in line with one change notice; True when something changed."""
        models: ModelRegistry = self.registry.models
        if change.kind == "compatibility":
            row = await self.store.model(change.name)
            if row is None or change.name not in models.models:
                return False
            before = models.compatibility.get(change.name)
            models.set_compatibility(change.name, row.compatibility)
            return models.compatibility.get(change.name) != before
        if change.kind != "version":
            return False
        stored: StoredVersion | None = await self.store.latest(change.name)
        if stored is None:
            return False
        local = models.models.get(change.name)
        if local is not None and fingerprint(local.metadata.fields_schema) == stored.fingerprint:
            previous = local.metadata.version
            models.adopt_version(change.name, stored.version)
            return previous != stored.version
        if local is not None and parse_version(stored.version) <= parse_version(
            local.metadata.version
        ):
            return False  # this instance is ahead; its own reconcile stores it
        row = await self.store.model(change.name)
        model_class = await self._class_for(stored, local)
        if local is None:
            doc = row.metadata if row is not None else {}
            try:
                source = ModelSource(doc.get("source") or "external")
            except ValueError:
                source = ModelSource.EXTERNAL
            models.register(
                model_class,
                name=change.name,
                source=source,
                namespace=doc.get("namespace") or source.value,
                tags=doc.get("tags") or (),
                description=doc.get("description"),
                collection=doc.get("collection"),
                resource=doc.get("resource"),
                version=stored.version,
                origin=stored.source,
                fields_schema=stored.fields_schema,
            )
            if row is not None and row.compatibility:
                models.set_compatibility(change.name, row.compatibility)
        else:
            models.update_model(
                change.name,
                model_class,
                version=stored.version,
                origin=stored.source,
                fields_schema=stored.fields_schema,
            )
        return True

    async def _class_for(self, stored: StoredVersion, local: RegisteredModel | None) -> Any:
        """The class of a stored version: regenerated from the live table when this instance
        reaches it and sees the same schema, else built from the stored JSON schema."""
        if local is not None and local.metadata.collection:
            enriched = self.registry.get_enriched()
            resource = enriched.connected_resources.get(local.metadata.resource or "")
            if resource is not None:
                try:
                    live = await generate_model(resource, local.metadata.collection)
                except Exception:  # the source may be down; the stored schema still serves
                    live = None
                if live is not None and fingerprint(schema_of(live)) == stored.fingerprint:
                    return live
        try:
            return model_from_json_schema(stored.json_schema, stored.model)
        except Exception:
            if local is not None:  # keep serving the class at hand under the stored number
                return local.model_class
            raise

    # -- state out ----------------------------------------------------------------------------
    async def flush(self) -> None:
        """Write the buffered audit events, changed enrichments and catalog metadata."""
        batch, self._audit = self._audit, []
        try:
            await self.store.append_audit(batch)
        except BaseException:
            self._audit[:0] = batch  # kept for the next try
            raise
        enriched = self.registry.enriched
        if enriched is not None:
            for name, enrichment in list(enriched.enrichments.items()):
                if self._saved_enrichment.get(name) == id(enrichment):
                    continue
                await self.store.save_enrichment(name, enrichment.model_dump(mode="json"))
                self._saved_enrichment[name] = id(enrichment)
        for kind, entries in (
            ("functions", self.registry.functions.functions),
            ("types", self.registry.types.types),
        ):
            key = tuple(id(e.metadata) for e in entries.values())
            if self._catalog_keys.get(kind) == key:
                continue
            items = {}
            for name, entry in entries.items():
                try:
                    doc = entry.metadata.model_dump(mode="json")
                except Exception:  # metadata holding a value JSON cannot carry: keep the name
                    doc = {"name": name}
                items[name] = (_digest(doc), doc)
            await self.store.save_catalog(kind, items)
            self._catalog_keys[kind] = key

    async def restore_models(self) -> list[str]:
        """Register the stored models registered through the API (``external``) that this
        instance does not have, at their stored version. (Discovered models come back from
        their sources, models in code from the code.)"""
        restored = []
        for row in await self.store.models():
            if row.name in self.registry.models.models:
                continue
            if (row.metadata.get("source") or "external") != ModelSource.EXTERNAL.value:
                continue
            try:
                if await self.apply(
                    StoreChange(revision=row.revision, kind="version", name=row.name)
                ):
                    restored.append(row.name)
            except Exception as exc:  # one unreadable model must not keep the server down
                logger.warning(
                    "model %s from the store cannot be registered: %s",
                    row.name,
                    redact_text(f"{type(exc).__name__}: {exc}"),
                )
        return restored

    async def restore_enrichment(self) -> int:
        """Give models without an enrichment their last stored one (marked not live)."""
        enriched = self.registry.get_enriched()
        restored = 0
        for name, doc in (await self.store.enrichments()).items():
            if name in enriched.enrichments or name not in self.registry.models.models:
                continue
            try:
                enrichment = ModelEnrichment.model_validate({**doc, "is_live": False})
            except Exception as exc:  # a document of another layout: skip it rather than fail
                logger.warning("stored enrichment of %s is unreadable: %s", name, exc)
                continue
            enriched.enrichments[name] = enrichment
            self._saved_enrichment[name] = id(enrichment)
            restored += 1
        return restored
