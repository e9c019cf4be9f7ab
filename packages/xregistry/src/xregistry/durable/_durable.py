"""``DurableRegistry``: an :class:`~xregistry.XRegistry` whose model versions, audit trail,
enrichment and catalog outlive the process, in a :class:`~xregistry.store.RegistryStore`.

The in-memory registry stays what requests read (the hot path never waits for the database);
the store is the authority on version numbers and history:

- :meth:`DurableRegistry.reconcile` compares a model's schema with its last stored version:
  the same fingerprint adopts the stored number (a restart keeps ``1.1.0``), a different one
  appends the next version with its diff and an audit entry (drift), in one transaction.
- :meth:`DurableRegistry.register_schema` is registration through the API: the new version is
  checked against the model's compatibility mode inside the write transaction and refused with
  the breaking changes when it breaks it.
- Other instances on the same store see each change through the store's revision counter
  (:mod:`xregistry.durable._follow`).

Without a store (``store=None``) the same calls work on the in-memory history alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xobj_prototype import redact_text
from xregistry._registry import XRegistry
from xregistry.audit import AuditAction, AuditEvent
from xregistry.durable._follow import Follower
from xregistry.enrichment import DiscoveryResult
from xregistry.errors import RegistryConflictError
from xregistry.models._compatibility import (
    CompatibilityMode,
    annotate_required,
    breaking_changes,
    classify,
    parse_mode,
)
from xregistry.models._external import model_from_json_schema
from xregistry.models._registered import ModelSource, RegisteredModel
from xregistry.models._versioning import (
    diff_fields,
    fingerprint,
    next_version,
    parse_version,
    schema_of,
)
from xregistry.permissions import ModelPermission, Principal
from xregistry.store import RegistryStore, StoredModel, StoredVersion

if TYPE_CHECKING:
    from xresource import XResource

__all__ = ["DurableRegistry", "memory_history"]

logger = logging.getLogger("xregistry.store")


def memory_history(registry: XRegistry, model: str) -> list[StoredVersion]:
    """The kept in-memory versions of ``model`` in the store's shape."""
    return [
        StoredVersion(
            model=model,
            version=v.version,
            created_at=v.recorded_at,
            source=v.source,
            fingerprint=v.fingerprint,
            fields_schema=v.fields_schema,
            json_schema=v.json_schema,
            changes=v.changes,
        )
        for v in registry.models.versions(model)
    ]


def model_document(registered: RegisteredModel) -> dict[str, Any]:
    """What another instance needs to register the model too (no class, no permissions: those
    come from each instance's own configuration)."""
    meta = registered.metadata
    return {
        "source": meta.source.value,
        "namespace": meta.namespace,
        "ns_path": meta.ns_path,
        "tags": sorted(meta.tags),
        "description": meta.description,
        "collection": meta.collection,
        "resource": meta.resource,
    }


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    return annotate_required(diff_fields(old, new), old, new)


class DurableRegistry:
    """A registry bound to a store (see the module docstring).

    Args:
        registry: the in-memory registry that requests read.
        store: where versions live; None keeps everything in memory.
        poll_interval: seconds between two looks at the store's revision (other instances'
            changes appear within about that long).
        audit_reads: also persist successful reads from the audit log (off: they are the
            hottest path and the least telling entries).
    """

    def __init__(
        self,
        registry: XRegistry,
        store: RegistryStore | None = None,
        *,
        poll_interval: float = 0.5,
        audit_reads: bool = False,
    ) -> None:
        self.registry = registry
        self.store = store
        self.follower = Follower(self, poll_interval=poll_interval, audit_reads=audit_reads)

    # -- lifecycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        """Open the store (migrating it); then register the models and call :meth:`load`."""
        if self.store is not None:
            await self.store.open()

    async def load(self, *, change_source: str = "drift") -> dict[str, str]:
        """Once the models are registered: store each (a changed schema is drift), register
        again the models registered through the API (from their stored schema), take the
        stored compatibility modes and last enrichments, write the catalog. Returns the models
        that could not be stored, with the error."""
        if self.store is None:
            return {}
        failed = await self.reconcile_all(change_source=change_source)
        await self.follower.open()
        await self.follower.restore_models()
        await self.follower.restore_enrichment()
        await self.follower.flush()
        return failed

    async def refresh_model(self, model: str) -> StoredVersion | None:
        """Compare one discovered model with its live table (a change is a new version)."""
        registered = self.registry.models.get(model)
        enriched = self.registry.get_enriched()
        resource = enriched.connected_resources.get(registered.metadata.resource or "")
        if resource is not None and registered.metadata.source is ModelSource.DYNAMIC:
            await enriched.sync_with_resource(registered.metadata.name, resource)
        return await self.reconcile(registered.metadata.name)

    async def start(self) -> None:
        """Start following other instances' changes in the background."""
        if self.store is not None:
            self.follower.start()

    async def aclose(self) -> None:
        """Stop following, write what is buffered, close the store (idempotent)."""
        if self.store is None:
            return
        await self.follower.aclose()
        await self.store.close()

    # -- versions -----------------------------------------------------------------------------
    async def history(self, model: str) -> list[StoredVersion]:
        """Every version of ``model``, oldest first: from the store, else from memory."""
        if self.store is None:
            return memory_history(self.registry, model)
        # Catch up first, so that the model served with the history is the stored one.
        await self.follower.poll()
        stored = await self.store.history(model)
        return stored or memory_history(self.registry, model)

    def mode_of(self, model: str, row: StoredModel | None = None) -> CompatibilityMode:
        """The compatibility mode of ``model``: its stored mode, its own in memory, else the
        configured default."""
        if row is not None and row.compatibility:
            return parse_mode(row.compatibility)
        if model in self.registry.models.models:
            return self.registry.models.compatibility_of(model)
        return parse_mode(self.registry.models.config.compatibility)

    async def reconcile(
        self, model: str, *, origin: str | None = None, change_source: str = "drift"
    ) -> StoredVersion | None:
        """Store the model's current schema unless its last stored version has it: the same
        fingerprint adopts the stored version number; another schema appends the next version
        (source ``change_source``) with its changes and an audit entry. A model new to the
        store is stored as it is (source ``origin``, default: how it was registered)."""
        stored, _ = await self.reconcile_appended(model, origin=origin, change_source=change_source)
        return stored

    async def reconcile_appended(
        self, model: str, *, origin: str | None = None, change_source: str = "drift"
    ) -> tuple[StoredVersion | None, bool]:
        """:meth:`reconcile`, also saying whether it appended a version."""
        registered = self.registry.models.get(model)
        if self.store is None:
            return None, False
        meta = registered.metadata
        live = meta.fields_schema
        live_fp = fingerprint(live)
        kept = self.registry.models.versions(model)
        first_source = origin or (kept[-1].source if kept else "code")

        def plan(latest: StoredVersion | None, row: StoredModel | None) -> StoredVersion | None:
            if latest is None:
                return StoredVersion(
                    model=model,
                    version=meta.version,
                    source=first_source,
                    fingerprint=live_fp,
                    fields_schema=live,
                    json_schema=meta.json_schema,
                )
            if latest.fingerprint == live_fp:
                return None
            changes = _changes(latest.fields_schema, live)
            version = next_version(latest.version, changes)
            if parse_version(meta.version) > parse_version(version):
                version = meta.version  # a number chosen in code goes further: keep it
            return StoredVersion(
                model=model,
                version=version,
                source=change_source,
                fingerprint=live_fp,
                fields_schema=live,
                json_schema=meta.json_schema,
                changes=changes,
            )

        async with self.follower.lock:
            stored, appended = await self.store.append_version(
                model,
                plan,
                metadata=model_document(registered),
                audit=lambda v: self._version_event(v, None),
            )
            if stored is not None:
                self.registry.models.adopt_version(model, stored.version)
        if appended and stored is not None and stored.changes:
            logger.info("model %s: version %s (%s)", model, stored.version, stored.source)
        return stored, appended

    async def reconcile_all(self, *, change_source: str = "drift") -> dict[str, str]:
        """:meth:`reconcile` every registered model; ``{name: error}`` of those that failed."""
        failed: dict[str, str] = {}
        for name in sorted(self.registry.models.models):
            try:
                await self.reconcile(name, change_source=change_source)
            except Exception as exc:  # one model must not keep the others from the store
                failed[name] = redact_text(f"{type(exc).__name__}: {exc}")
                logger.warning("storing model %s failed: %s", name, failed[name])
        return failed

    def _version_event(self, version: StoredVersion, who: Principal | None) -> dict[str, Any]:
        """The audit entry written with a version, in the same transaction."""
        breaking = breaking_changes(classify(version.changes), self.mode_of(version.model))
        event = AuditEvent(
            action=AuditAction.UPDATE if version.changes else AuditAction.REGISTER,
            target_kind="model",
            target_name=version.model,
            principal_id=who.id if who is not None else "system",
            roles=tuple(sorted(who.roles)) if who is not None else (),
            details={
                "version": version.version,
                "source": version.source,
                "fingerprint": version.fingerprint,
                "changes": [
                    {"change": c.get("change"), "field": c.get("field")} for c in version.changes
                ],
                "breaking": [c["field"] for c in breaking],
            },
        )
        return event.model_dump(mode="json")

    # -- discovery and drift ------------------------------------------------------------------
    async def discover(
        self,
        resource: XResource,
        namespace: str | None = None,
        *,
        change_source: str = "discovery",
        **kwargs: Any,
    ) -> DiscoveryResult:
        """Discover (or discover again) the tables of ``resource`` and store every model: a
        changed table gets a new version (source ``change_source``), an unchanged one keeps
        its stored version."""
        enriched = self.registry.get_enriched()
        result = await enriched.discover_and_register(resource, namespace, **kwargs)
        for name in [*result.registered, *result.updated, *result.unchanged]:
            try:
                stored, appended = await self.reconcile_appended(
                    name, origin="discovery", change_source=change_source
                )
            except Exception as exc:  # reported like a table that failed
                result.failed[name] = redact_text(f"{type(exc).__name__}: {exc}")
                continue
            if appended and stored is not None and stored.changes and name in result.unchanged:
                # Unchanged here, but the store held an older schema: drift after all.
                result.unchanged.remove(name)
                result.updated.append(name)
        return result

    async def refresh(self) -> list[str]:
        """Compare every discovered model with its live table or collection; a change becomes a
        new version with its diff. Returns the models that got one."""
        enriched = self.registry.get_enriched()
        changed = []
        for name, registered in sorted(self.registry.models.models.items()):
            resource = enriched.connected_resources.get(registered.metadata.resource or "")
            if resource is None or registered.metadata.source is not ModelSource.DYNAMIC:
                continue
            before = registered.metadata.version
            try:
                await enriched.sync_with_resource(name, resource)
                stored = await self.reconcile(name)
            except Exception as exc:  # a source that is down must not stop the others
                error = redact_text(f"{type(exc).__name__}: {exc}")
                logger.warning("drift check of %s failed: %s", name, error)
                continue
            after = stored.version if stored else self.registry.models.get(name).metadata.version
            if after != before:
                changed.append(name)
        return changed

    # -- registration through the API ---------------------------------------------------------
    async def register_schema(
        self,
        name: str,
        schema: Mapping[str, Any],
        *,
        namespace: str | None = None,
        description: str | None = None,
        principal: Principal | None = None,
    ) -> tuple[RegisteredModel, bool]:
        """Register a model, or a new version of it, from a JSON schema. Returns the model and
        whether a version was added (False: the schema is the current one).

        Raises:
            RegistryValidationError: the schema cannot become a model.
            RegistryConflictError: the new version breaks the model's compatibility mode (the
                breaking changes are in ``details["breaking"]``).
            RegistryPermissionError: the principal may not update the existing model.
        """
        models = self.registry.models
        existing = models.models.get(name)
        if existing is not None and principal is not None:
            models.require_access(name, ModelPermission.UPDATE, principal)
        model_class = model_from_json_schema(schema, name)
        fields = schema_of(model_class)
        fp = fingerprint(fields)

        def plan(latest: StoredVersion | None, row: StoredModel | None) -> StoredVersion | None:
            if latest is None:
                version = existing.metadata.version if existing is not None else "1.0.0"
                base = existing.metadata.fields_schema if existing is not None else None
                if base is None or fingerprint(base) == fp:
                    return StoredVersion(
                        model=name, version=version, source="api", fingerprint=fp,
                        fields_schema=fields, json_schema=dict(schema),
                    )  # fmt: skip
                latest = StoredVersion(
                    model=name, version=version, fingerprint=fingerprint(base), fields_schema=base
                )
            if latest.fingerprint == fp:
                return None
            changes = _changes(latest.fields_schema, fields)
            breaking = breaking_changes(classify(changes), self.mode_of(name, row))
            if breaking:
                raise RegistryConflictError(
                    f"the new version of model {name} breaks its {self.mode_of(name, row).value} "
                    "compatibility: " + "; ".join(c["description"] for c in breaking),
                    details={"model": name, "breaking": breaking},
                )
            return StoredVersion(
                model=name,
                version=next_version(latest.version, changes),
                source="api",
                fingerprint=fp,
                fields_schema=fields,
                json_schema=dict(schema),
                changes=changes,
            )

        if self.store is None:
            memory = memory_history(self.registry, name) if existing is not None else []
            stored = plan(memory[-1] if memory else None, None)
            appended = stored is not None
        else:
            doc = {"source": "external", "namespace": namespace, "description": description}
            if existing is not None:
                doc = model_document(existing)
            async with self.follower.lock:
                stored, appended = await self.store.append_version(
                    name, plan, metadata=doc, audit=lambda v: self._version_event(v, principal)
                )
                if appended and stored is not None:
                    # Under the lock: a poll must not register this version first.
                    applied = self._apply(
                        name, model_class, stored, namespace, description, principal
                    )
                    return applied, True
        if not appended or stored is None:
            return models.get(name), False
        return self._apply(name, model_class, stored, namespace, description, principal), True

    def _apply(
        self,
        name: str,
        model_class: Any,
        stored: StoredVersion,
        namespace: str | None,
        description: str | None,
        principal: Principal | None,
    ) -> RegisteredModel:
        models = self.registry.models
        current = models.models.get(name)
        if current is None:
            return models.register(
                model_class,
                name=name,
                source=ModelSource.EXTERNAL,
                namespace=namespace,
                description=description,
                version=stored.version,
                principal=principal,
                origin=stored.source,
                fields_schema=stored.fields_schema,
            )
        if parse_version(stored.version) <= parse_version(current.metadata.version):
            raise RegistryConflictError(
                f"model {name} is already at version {current.metadata.version} here, "
                f"newer than {stored.version}; retry",
                details={"model": name},
            )
        return models.update_model(
            name,
            model_class,
            version=stored.version,
            principal=principal,
            origin=stored.source,
            fields_schema=stored.fields_schema,
        )

    async def set_compatibility(
        self, model: str, mode: CompatibilityMode | str | None, *, principal: Principal | None
    ) -> CompatibilityMode:
        """Give a model its own compatibility mode (None: follow the configuration), in the
        store too so that every instance uses it."""
        models = self.registry.models
        name = models.get(model).metadata.name
        parsed = parse_mode(mode) if mode is not None else None
        if self.store is not None:
            if await self.store.model(name) is None:
                await self.reconcile(name)
            event = AuditEvent(
                action=AuditAction.UPDATE,
                target_kind="model",
                target_name=name,
                principal_id=principal.id if principal is not None else "system",
                details={"compatibility": parsed.value if parsed else None},
            )
            await self.store.set_compatibility(
                name, parsed.value if parsed else None, audit=event.model_dump(mode="json")
            )
        return models.set_compatibility(name, parsed)
