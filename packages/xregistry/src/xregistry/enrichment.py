"""``EnrichedRegistry``: registered models enriched with live statistics from resources.

``enrich_from_resource`` inspects a table or collection with ``XInspector.inspect()`` and keeps
its statistics, samples (secrets masked), categorical values and quality scores; optional
background tasks refresh them and stop cleanly on :meth:`EnrichedRegistry.aclose`. On top of that:
creation validated against live categorical values, value suggestions, field statistics with
quality metrics, discovery of every table/collection of a resource, and schema-drift sync that
registers a new model version.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, overload

from pydantic import BaseModel, Field, ValidationError

from xobj_prototype import redact, redact_text, segment_for
from xregistry._inspection import generate_model, inspect_resource
from xregistry._shared import utc_now
from xregistry.audit import AuditAction
from xregistry.config import EnrichmentConfig
from xregistry.errors import RegistryNotFoundError, RegistryValidationError, XRegistryError
from xregistry.functions import FunctionRegistry
from xregistry.models._registry import ModelRegistry, RegisteredModel
from xregistry.models._versioning import diff_fields, next_version, schema_of
from xregistry.permissions import ModelPermission, Principal, as_principal
from xregistry.types import TypeRegistry

if TYPE_CHECKING:
    from xresource import XResource

__all__ = ["DiscoveryResult", "EnrichedRegistry", "ModelEnrichment", "SyncResult"]

logger = logging.getLogger("xregistry.enrichment")
_QUALITY_KEYS = ("completeness", "uniqueness", "validity", "consistency")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Read ``key`` from a mapping or an attribute (InspectionResult or its dict form)."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


class ModelEnrichment(BaseModel):
    """Live data about a model, from one inspection of its table or collection."""

    model_name: str
    resource_name: str
    collection: str | None = None
    last_updated: datetime = Field(default_factory=utc_now)
    statistics: dict[str, Any] = Field(default_factory=dict)
    sample_data: list[dict[str, Any]] = Field(default_factory=list)
    categorical_fields: dict[str, list[Any]] = Field(default_factory=dict)
    data_quality: dict[str, Any] = Field(default_factory=dict)
    is_live: bool = True
    refresh_count: int = 0
    last_error: str | None = None


class DiscoveryResult(BaseModel):
    """What :meth:`EnrichedRegistry.discover_and_register` did, table by table.

    It is also the specification's result, the list of registered model names: ``len()``,
    iteration, ``in`` and indexing (``result[0]``, ``result[-1]``, slices) read ``registered``;
    the tables that failed are in ``failed`` (``{table: error}``). As for a list, a result that
    registered nothing is false, even when it reports failures.

    Examples:
        >>> result = DiscoveryResult(registered=["albums", "artists"], failed={"bad": "Error"})
        >>> len(result), result[0], list(result), "artists" in result
        (2, 'albums', ['albums', 'artists'], True)
    """

    registered: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    #: Models discovered before whose table changed: each got a new version.
    updated: list[str] = Field(default_factory=list)
    #: Models discovered before whose table did not change: nothing was done to them.
    unchanged: list[str] = Field(default_factory=list)

    def __len__(self) -> int:
        return len(self.registered)

    @overload
    def __getitem__(self, index: SupportsIndex) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> str | list[str]:
        if isinstance(index, str):
            # A name looks like a lookup, but the specification's result is a list.
            raise TypeError(
                f"DiscoveryResult is indexed by position like the list of registered model "
                f"names, not by {index!r}; use 'name in result', .registered or .failed"
            )
        return self.registered[index]

    # The specification's result is a list of names: iterate over them, not over the fields
    # (pydantic's default, which model_dump() still gives).
    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.registered)

    def __contains__(self, name: object) -> bool:
        return name in self.registered


_SYNC_KEYS = ("synced", "changes", "new_version", "old_version", "model_name")


class SyncResult(BaseModel):
    """What :meth:`EnrichedRegistry.sync_with_resource` found.

    It reads like the specification's result dict as well: ``result["synced"]``,
    ``result["changes"]``, ``result["new_version"]`` (and ``"old_version"``, ``"model_name"``),
    ``len()`` (the number of keys), ``in``, ``keys()``, ``items()``, ``get()`` and ``dict(result)``.
    An unknown key raises ``KeyError`` naming the known ones.

    Examples:
        >>> result = SyncResult(model_name="Product", synced=False, old_version="1.0.0",
        ...                     new_version="1.0.0")
        >>> result["synced"], result["new_version"], len(result)
        (False, '1.0.0', 5)
    """

    model_name: str
    synced: bool
    changes: list[dict[str, Any]] = Field(default_factory=list)
    old_version: str
    new_version: str

    def __getitem__(self, key: str) -> Any:
        if key not in _SYNC_KEYS:
            raise KeyError(f"{key!r} is not a key of a sync result; keys: {', '.join(_SYNC_KEYS)}")
        return getattr(self, key)

    def __len__(self) -> int:
        return len(_SYNC_KEYS)

    # Iteration gives the keys, as a dict's does (pydantic's default gives (name, value) pairs).
    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(_SYNC_KEYS)

    def __contains__(self, key: object) -> bool:
        return key in _SYNC_KEYS

    def keys(self) -> tuple[str, ...]:
        """The specification's keys, then the two this result adds."""
        return _SYNC_KEYS

    def values(self) -> list[Any]:
        """The values in the order of :meth:`keys`."""
        return [getattr(self, key) for key in _SYNC_KEYS]

    def items(self) -> list[tuple[str, Any]]:
        """``(key, value)`` pairs in the order of :meth:`keys`."""
        return [(key, getattr(self, key)) for key in _SYNC_KEYS]

    def get(self, key: str, default: Any = None) -> Any:
        """``result[key]``, or ``default`` for an unknown key."""
        return getattr(self, key) if key in _SYNC_KEYS else default


class EnrichedRegistry:
    """The registries plus live enrichment from connected resources."""

    def __init__(
        self,
        model_registry: ModelRegistry,
        type_registry: TypeRegistry,
        function_registry: FunctionRegistry,
        *,
        config: EnrichmentConfig | None = None,
    ) -> None:
        self.model_registry = model_registry
        self.type_registry = type_registry
        self.function_registry = function_registry
        self.config = config or EnrichmentConfig()
        self.enrichments: dict[str, ModelEnrichment] = {}
        self.connected_resources: dict[str, XResource] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    # -- enrichment ---------------------------------------------------------------------------
    async def enrich_from_resource(
        self,
        resource: XResource,
        model_name: str | None = None,
        *,
        collection: str | None = None,
        auto_refresh: bool | None = None,
        refresh_interval: float | None = None,
    ) -> ModelEnrichment:
        """Inspect the model's table or collection and store the result as its enrichment.

        Args:
            model_name: the registered model; when None, the registered model whose fields best
                match the inspected schema (at least 80 % of its fields), else the inspection's
                model name.
            collection: what to inspect; default: the model's ``collection`` metadata, else the
                model name.
            auto_refresh: keep refreshing in the background (default ``config.auto_refresh``)
                every ``refresh_interval`` seconds (default ``config.refresh_interval``).

        Raises:
            XRegistryError: the registry is closed; the inspector's errors pass through.
        """
        if self._closed:
            raise XRegistryError("the enriched registry is closed; create a new one")
        await resource.ensure_connected()
        self.connected_resources[resource.name] = resource
        registered = self.model_registry.models.get(model_name) if model_name else None
        target = (
            collection or (registered.metadata.collection if registered else None) or model_name
        )
        inspection = await inspect_resource(
            resource, target, categorical_threshold=self.config.categorical_threshold
        )
        name = (
            model_name
            or self._find_matching_model(inspection)
            or str(_get(inspection, "model_name"))
        )
        enrichment = self._build(name, resource, target, inspection)
        previous = self.enrichments.get(name)
        if previous is not None:
            enrichment.refresh_count = previous.refresh_count
        self.enrichments[name] = enrichment
        self.model_registry.context.audit.record(
            AuditAction.ENRICH,
            "model",
            name,
            details={"resource": resource.display_name, "collection": target},
        )
        if auto_refresh if auto_refresh is not None else self.config.auto_refresh:
            self._start_refresh(
                resource, name, target, refresh_interval or self.config.refresh_interval
            )
        return enrichment

    def _build(
        self, name: str, resource: XResource, collection: str | None, inspection: Any
    ) -> ModelEnrichment:
        statistics = dict(_get(inspection, "statistics", {}) or {})
        statistics.setdefault("total_count", _get(inspection, "total_count", 0))
        categorical: dict[str, list[Any]] = {}
        if self.config.enable_categorical_detection:
            for field, info in (_get(inspection, "categorical_fields", {}) or {}).items():
                values = list(_get(info, "distinct_values", []) or [])
                if len(values) <= self.config.categorical_threshold:
                    categorical[field] = values
        samples = [
            redact(dict(r))
            for r in (_get(inspection, "sample_data", []) or [])[: self.config.sample_size]
        ]
        return ModelEnrichment(
            model_name=name,
            resource_name=resource.name,
            collection=collection,
            statistics=redact(statistics),
            sample_data=samples,
            categorical_fields=categorical,
            data_quality=self._assess_data_quality(inspection),
        )

    def _find_matching_model(self, inspection: Any) -> str | None:
        """The registered model whose fields best cover the inspected fields (>= 80 %)."""
        schema = _get(inspection, "schema", {}) or {}
        found = set((schema.get("fields") or schema.get("properties") or {}).keys())
        best: tuple[float, str] | None = None
        for name, registered in self.model_registry.models.items():
            own = set(registered.metadata.fields_schema.get("fields", {}))
            if not own:
                continue
            score = len(own & found) / len(own)
            if score >= 0.8 and (best is None or score > best[0]):
                best = (score, name)
        return best[1] if best else None

    @staticmethod
    def _assess_data_quality(inspection: Any) -> dict[str, Any]:
        """``{"completeness": {field: score}, "uniqueness": ..., "validity": ...,
        "consistency": ..., "overall": {...}}`` from the inspection's per-field scores, or from
        its null and unique counts when it has none."""
        quality: dict[str, Any] = {key: {} for key in _QUALITY_KEYS}
        per_field = dict(_get(inspection, "data_quality", {}) or {})
        overall = per_field.pop("overall", None)
        if per_field:
            for field, scores in per_field.items():
                for key in _QUALITY_KEYS:
                    if key in scores:
                        quality[key][field] = scores[key]
        else:
            stats = _get(inspection, "statistics", {}) or {}
            total = stats.get("total_count", 0) or 0
            for field, fs in (stats.get("field_statistics") or {}).items():
                nulls, uniques = fs.get("null_count", 0), fs.get("unique_count", 0)
                quality["completeness"][field] = 1 - nulls / total if total else 0.0
                quality["uniqueness"][field] = uniques / total if total else 0.0
        quality["overall"] = overall or {
            key: (sum(quality[key].values()) / len(quality[key]) if quality[key] else 0.0)
            for key in _QUALITY_KEYS
        }
        return quality

    # -- background refresh -------------------------------------------------------------------
    def _start_refresh(
        self, resource: XResource, name: str, collection: str | None, interval: float
    ) -> None:
        old = self._tasks.pop(name, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(
            self._refresh_loop(resource, name, collection, interval),
            name=f"xregistry-refresh-{name}",
        )
        self._tasks[name] = task
        task.add_done_callback(functools.partial(self._forget, name))

    def _forget(self, name: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(name) is task:
            del self._tasks[name]

    async def _refresh_loop(
        self, resource: XResource, name: str, collection: str | None, interval: float
    ) -> None:
        while name in self.enrichments:
            await asyncio.sleep(interval)
            current = self.enrichments.get(name)
            if current is None:
                return
            try:
                inspection = await inspect_resource(
                    resource, collection, categorical_threshold=self.config.categorical_threshold
                )
                fresh = self._build(name, resource, collection, inspection)
                fresh.refresh_count = current.refresh_count + 1
                self.enrichments[name] = fresh
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed refresh keeps the last data, marked stale
                message = redact_text(f"{type(exc).__name__}: {exc}")
                logger.warning(
                    "refresh of enrichment %s from %s failed: %s",
                    name,
                    resource.display_name,
                    message,
                )
                self.enrichments[name] = current.model_copy(
                    update={"is_live": False, "last_error": message}
                )

    @property
    def refresh_tasks(self) -> dict[str, asyncio.Task[None]]:
        """The running refresh tasks by model name."""
        return dict(self._tasks)

    async def stop_refresh(self, model_name: str) -> bool:
        """Stop one model's refresh task; True when one was running."""
        task = self._tasks.pop(model_name, None)
        if task is None:
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    async def aclose(self) -> None:
        """Stop every refresh task and wait for them to end (idempotent)."""
        self._closed = True
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def remove_enrichment(self, model_name: str) -> None:
        """Forget a model's enrichment (its refresh loop ends at its next wake-up)."""
        self.enrichments.pop(model_name, None)
        task = self._tasks.pop(model_name, None)
        if task is not None:
            task.cancel()

    # -- resource-aware operations ------------------------------------------------------------
    async def create_with_validation(
        self,
        model_name: str,
        data: Mapping[str, Any],
        validate_against_resource: bool = True,
        *,
        principal: Principal | str | None = None,
    ) -> BaseModel:
        """Build an instance; categorical fields must hold a value seen in the live data.

        Raises:
            RegistryNotFoundError: unknown model.
            RegistryPermissionError: ``principal`` given without CREATE.
            RegistryValidationError: a value outside the live categories (the allowed values are
                listed) or the model's own validation failed.
        """
        if principal is not None:
            registered = self.model_registry.require_access(
                model_name, ModelPermission.CREATE, as_principal(principal)
            )
        else:
            registered = self.model_registry.get(model_name)
        if not isinstance(data, Mapping):
            raise RegistryValidationError(
                f"data for {model_name} must be an object, got {type(data).__name__}"
            )
        enrichment = self.enrichments.get(registered.metadata.name)
        if validate_against_resource and enrichment is not None:
            errors = []
            for field, value in data.items():
                allowed = enrichment.categorical_fields.get(field)
                if allowed and value not in allowed:
                    shown = ", ".join(repr(v) for v in allowed[:10])
                    more = f" (and {len(allowed) - 10} more)" if len(allowed) > 10 else ""
                    errors.append(
                        {
                            "loc": field,
                            "msg": f"Invalid value for {field}; must be one of: {shown}{more}",
                        }
                    )
            if errors:
                raise RegistryValidationError(
                    f"invalid {model_name}: " + "; ".join(e["msg"] for e in errors), errors=errors
                )
        try:
            return registered.model_class.model_validate(dict(data))
        except ValidationError as exc:
            raise RegistryValidationError.from_pydantic(exc, subject=model_name) from None

    async def suggest_values(self, model_name: str, field_name: str) -> list[Any] | None:
        """The live categorical values of a field, else distinct values from the samples."""
        enrichment = self.enrichments.get(model_name)
        if enrichment is None:
            return None
        if field_name in enrichment.categorical_fields:
            return list(enrichment.categorical_fields[field_name])
        seen: list[Any] = []
        for record in enrichment.sample_data:
            value = record.get(field_name)
            if field_name in record and value is not None and value not in seen:
                seen.append(value)
            if len(seen) >= 10:
                break
        return seen or None

    def get_field_statistics(self, model_name: str, field_name: str) -> dict[str, Any] | None:
        """A field's statistics with its quality metrics (completeness, uniqueness, validity,
        consistency) under ``quality``; None when not enriched or no such field."""
        enrichment = self.enrichments.get(model_name)
        if enrichment is None:
            return None
        stats = (enrichment.statistics.get("field_statistics") or {}).get(field_name)
        if stats is None:
            return None
        result = dict(stats)
        result["quality"] = {
            key: enrichment.data_quality.get(key, {}).get(field_name) for key in _QUALITY_KEYS
        }
        return result

    # -- discovery and drift ------------------------------------------------------------------
    async def discover_and_register(
        self,
        resource: XResource,
        namespace: str | None = None,
        *,
        enrich: bool = True,
        override: bool = False,
        auto_refresh: bool = False,
    ) -> DiscoveryResult:
        """Register (and enrich) a model for every table or collection of ``resource``.

        A table that fails is reported in ``failed`` with its error; the others still register.
        A table discovered before (same resource and collection) is not registered again: its
        model gets a new version when the table changed (listed in ``updated``), else stays as
        it is (``unchanged``); either way its enrichment is refreshed when ``enrich``.
        """
        await resource.ensure_connected()
        result = DiscoveryResult()
        for collection in await resource.list_collections_or_tables():
            try:
                existing = self._discovered(resource, collection)
                if existing is not None and not override:
                    # Discovered before: a new version when the table changed, else nothing.
                    synced = await self.sync_with_resource(existing.metadata.name, resource)
                    (result.updated if synced.synced else result.unchanged).append(
                        synced.model_name
                    )
                    if enrich:
                        await self.enrich_from_resource(
                            resource,
                            synced.model_name,
                            collection=collection,
                            auto_refresh=auto_refresh,
                        )
                    continue
                registered = await self.model_registry.register_from_inspector(
                    resource,
                    collection,
                    namespace=namespace or f"discovered.{segment_for(resource.name)}",
                    override=override,
                )
                if enrich:
                    await self.enrich_from_resource(
                        resource,
                        registered.metadata.name,
                        collection=collection,
                        auto_refresh=auto_refresh,
                    )
                result.registered.append(registered.metadata.name)
            except Exception as exc:  # one bad table must not stop the others; it is reported
                result.failed[collection] = redact_text(f"{type(exc).__name__}: {exc}")
                logger.warning(
                    "discovery of %s in %s failed: %s",
                    collection,
                    resource.display_name,
                    result.failed[collection],
                )
        return result

    def _discovered(self, resource: XResource, collection: str) -> RegisteredModel | None:
        """The model an earlier discovery registered for this table of this resource."""
        found = self.model_registry.models.get(segment_for(collection))
        if found is None:
            return None
        meta = found.metadata
        return found if (meta.resource, meta.collection) == (resource.name, collection) else None

    async def sync_with_resource(
        self, model_name: str, resource: XResource, *, principal: Principal | str | None = None
    ) -> SyncResult:
        """Regenerate the model from its table or collection; when the schema drifted, register
        the new class as the next version (major for breaking changes, else minor/patch).

        Raises:
            RegistryNotFoundError: unknown model.
        """
        registered: RegisteredModel = self.model_registry.get(model_name)
        collection = registered.metadata.collection or model_name
        await resource.ensure_connected()
        new_model = await generate_model(resource, collection)
        changes = diff_fields(registered.metadata.fields_schema, schema_of(new_model))
        old_version = registered.metadata.version
        if changes:
            self.model_registry.update_model(
                registered.metadata.name,
                new_model,
                version=next_version(old_version, changes),
                principal=principal,
                origin="drift",
            )
            if registered.metadata.name in self.enrichments:
                await self.enrich_from_resource(
                    resource, registered.metadata.name, collection=collection, auto_refresh=False
                )
        return SyncResult(
            model_name=registered.metadata.name,
            synced=bool(changes),
            changes=changes,
            old_version=old_version,
            new_version=registered.metadata.version,
        )

    def get_enrichment(self, model_name: str) -> ModelEnrichment:
        """The enrichment of a model, or :class:`RegistryNotFoundError`."""
        try:
            return self.enrichments[model_name]
        except KeyError:
            raise RegistryNotFoundError(
                f"model {model_name!r} has no enrichment; call enrich_from_resource first",
                details={"model": model_name},
            ) from None
