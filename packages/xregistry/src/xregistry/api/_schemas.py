"""Request and response bodies of the HTTP API (they make the OpenAPI document)."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from xregistry.enrichment import ModelEnrichment
from xregistry.functions import RegisteredFunction
from xregistry.models._registry import RegisteredModel
from xregistry.types import RegisteredType

__all__ = [
    "DiscoveryStarted",
    "DiscoveryStatus",
    "EnrichmentInfo",
    "ExecuteRequest",
    "ExecuteResult",
    "FieldSuggestions",
    "FunctionInfo",
    "Health",
    "Info",
    "ModelInfo",
    "ModelValidation",
    "NamespaceSearch",
    "PrincipalInfo",
    "RecordPage",
    "RefreshResult",
    "ResourceInfo",
    "TypeInfo",
    "TypeValidation",
    "TypeValidationRequest",
    "json_safe",
]


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON: dates as ISO text, decimals as numbers, non-finite floats as
    None, bytes as hex, unknown objects as their ``str``."""
    if depth > 50:
        return None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return json_safe(float(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value, depth + 1)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump(mode="json"), depth + 1)
    if isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(v, depth + 1) for v in value]
        if isinstance(value, set | frozenset):
            items.sort(key=repr)
        return items
    return str(value)


def _perms(permissions: dict[str, frozenset[Any]]) -> dict[str, list[str]]:
    return {role: sorted(p.value for p in perms) for role, perms in permissions.items()}


class PrincipalInfo(BaseModel):
    """Who the token belongs to."""

    id: str
    roles: list[str]


class Health(BaseModel):
    """Liveness (no authentication needed)."""

    status: str = "ok"


class ResourceInfo(BaseModel):
    """A connected source (its name and type only: a URL may hold a password)."""

    name: str
    type: str
    display_name: str
    models: list[str]


class Info(BaseModel):
    """What this server holds and who is asking."""

    version: str
    principal: PrincipalInfo
    functions: int
    models: int
    types: int
    data_api: bool = Field(description="Whether the record endpoints are available (xrepo).")
    resources: list[ResourceInfo]


class FunctionInfo(BaseModel):
    """A registered function."""

    name: str
    namespace: str = Field(description="Full namespace path.")
    module: str
    signature: str
    docstring: str | None = None
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    return_type: str | None = None
    is_async: bool = False
    tags: list[str]
    permissions: dict[str, list[str]]
    call_count: int

    @classmethod
    def of(cls, registered: RegisteredFunction) -> FunctionInfo:
        """Build from a registered function."""
        meta = registered.metadata
        return cls(
            name=meta.name,
            namespace=meta.ns_path,
            module=meta.module,
            signature=meta.signature,
            docstring=meta.docstring,
            parameters={k: json_safe(p.model_dump()) for k, p in meta.parameters.items()},
            return_type=meta.return_type,
            is_async=meta.is_async,
            tags=sorted(meta.tags),
            permissions=_perms(meta.permissions),
            call_count=registered.call_count,
        )


class ExecuteRequest(BaseModel):
    """Arguments of a function call; they are validated against its signature."""

    model_config = ConfigDict(extra="forbid")

    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class ExecuteResult(BaseModel):
    """What the function returned."""

    result: Any = None
    duration_ms: float


class ModelInfo(BaseModel):
    """A registered model with its JSON schema and UI schema."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    source: str
    namespace: str = Field(description="Full namespace path.")
    version: str
    json_schema: dict[str, Any] = Field(alias="schema")
    fields: dict[str, Any] = Field(description="Field summary (type, required, constraints).")
    ui_schema: dict[str, Any] | None = None
    permissions: dict[str, list[str]]
    tags: list[str]
    description: str | None = None
    collection: str | None = None
    resource: str | None = None
    enriched: bool = False
    created_at: datetime
    updated_at: datetime

    @classmethod
    def payload(cls, registered: RegisteredModel, *, enriched: bool) -> dict[str, Any]:
        """The JSON body (with the ``schema`` key) of a registered model."""
        meta = registered.metadata
        document: dict[str, Any] = json_safe(
            {
                "name": meta.name,
                "source": meta.source.value,
                "namespace": meta.ns_path,
                "version": meta.version,
                "schema": meta.json_schema,
                "fields": meta.fields_schema.get("fields", {}),
                "ui_schema": meta.ui_schema,
                "permissions": _perms(meta.permissions),
                "tags": sorted(meta.tags),
                "description": meta.description,
                "collection": meta.collection,
                "resource": meta.resource,
                "enriched": enriched,
                "created_at": meta.created_at,
                "updated_at": meta.updated_at,
            }
        )
        return document


class TypeInfo(BaseModel):
    """A registered type."""

    name: str
    namespace: str
    category: str
    base_type: str
    constraints: dict[str, Any]
    description: str | None = None
    examples: list[Any]
    tags: list[str]
    validators: list[str]
    usage_count: int

    @classmethod
    def of(cls, registered: RegisteredType) -> TypeInfo:
        """Build from a registered type."""
        meta = registered.metadata
        return cls(
            name=meta.name,
            namespace=meta.ns_path,
            category=meta.category.value,
            base_type=meta.base_type,
            constraints=json_safe(meta.constraints),
            description=meta.description,
            examples=json_safe(meta.examples),
            tags=sorted(meta.tags),
            validators=list(meta.validators),
            usage_count=registered.usage_count,
        )


class TypeValidationRequest(BaseModel):
    """A value to check against a type."""

    model_config = ConfigDict(extra="forbid")

    value: Any


class TypeValidation(BaseModel):
    """Whether the value fits; the coerced value when it does, the problems when not."""

    valid: bool
    value: Any = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    message: str | None = None


class ModelValidation(BaseModel):
    """Whether data makes a valid instance (live categorical values included)."""

    valid: bool
    instance: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    message: str | None = None


class EnrichmentInfo(BaseModel):
    """Live statistics, samples, categorical values and quality scores of a model."""

    model_name: str
    resource_name: str
    collection: str | None = None
    last_updated: datetime
    statistics: dict[str, Any]
    sample_data: list[dict[str, Any]]
    categorical_fields: dict[str, list[Any]]
    data_quality: dict[str, Any]
    is_live: bool
    refresh_count: int

    @classmethod
    def payload(cls, enrichment: ModelEnrichment, samples: int = 10) -> dict[str, Any]:
        """The JSON body of an enrichment (at most ``samples`` sample rows)."""
        document: dict[str, Any] = json_safe(
            {
                "model_name": enrichment.model_name,
                "resource_name": enrichment.resource_name,
                "collection": enrichment.collection,
                "last_updated": enrichment.last_updated,
                "statistics": enrichment.statistics,
                "sample_data": enrichment.sample_data[:samples],
                "categorical_fields": enrichment.categorical_fields,
                "data_quality": enrichment.data_quality,
                "is_live": enrichment.is_live,
                "refresh_count": enrichment.refresh_count,
            }
        )
        return document


class FieldSuggestions(BaseModel):
    """Values seen in the live data for one field."""

    field: str
    suggestions: list[Any]


class RefreshResult(BaseModel):
    """A manual refresh of an enrichment."""

    refreshed: bool
    last_updated: datetime


class DiscoveryStarted(BaseModel):
    """Discovery was started in the background."""

    status: str
    resource: str
    message: str


class DiscoveryStatus(BaseModel):
    """The last discovery run of a resource."""

    resource: str
    state: str = Field(description="running, done or failed")
    registered: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    updated: list[str] = Field(
        default_factory=list, description="Models discovered before that got a new version."
    )
    unchanged: list[str] = Field(
        default_factory=list, description="Models discovered before whose source did not change."
    )
    started_at: datetime
    finished_at: datetime | None = None
    message: str | None = None


class NamespaceSearch(BaseModel):
    """Names (and namespace paths) of what matches a pattern, by kind."""

    pattern: str
    functions: list[str]
    models: list[str]
    types: list[str]
    paths: list[str]


class RecordPage(BaseModel):
    """One page of a model's records."""

    items: list[dict[str, Any]]
    total: int
    skip: int
    limit: int
