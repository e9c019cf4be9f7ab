"""``/api/enrichment``: live statistics, suggestions, validation and refresh of models."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from xregistry.api._errors import ERROR_RESPONSES, ApiError
from xregistry.api._limits import truncate_inputs
from xregistry.api._routes._common import Name
from xregistry.api._schemas import (
    EnrichmentInfo,
    FieldSuggestions,
    ModelValidation,
    RefreshResult,
    json_safe,
)
from xregistry.api._state import PrincipalDep, StateDep
from xregistry.errors import RegistryValidationError
from xregistry.permissions import ModelPermission

__all__ = ["router"]

router = APIRouter(prefix="/api/enrichment", tags=["enrichment"], responses=ERROR_RESPONSES)

FieldName = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/models/{name}/enrichment", response_model=EnrichmentInfo)
async def get_model_enrichment(name: Name, state: StateDep, who: PrincipalDep) -> JSONResponse:
    """Statistics, up to 10 sample rows (secrets masked), categorical values and quality."""
    registered = state.registry.models.get(name, principal=who)
    enrichment = state.registry.get_enriched().get_enrichment(registered.metadata.name)
    return JSONResponse(EnrichmentInfo.payload(enrichment))


@router.get("/models/{name}/suggestions/{field}", response_model=FieldSuggestions)
async def get_field_suggestions(
    name: Name, field: FieldName, state: StateDep, who: PrincipalDep
) -> FieldSuggestions:
    """Values seen in the live data for a field (its categories, else distinct sample values)."""
    registered = state.registry.models.get(name, principal=who)
    suggestions = await state.registry.get_enriched().suggest_values(
        registered.metadata.name, field
    )
    if suggestions is None:
        raise ApiError(
            404,
            "not_found",
            f"no suggestions for {registered.metadata.name}.{field}: the model is not enriched "
            "or the field holds no values",
        )
    return FieldSuggestions(field=field, suggestions=json_safe(suggestions))


@router.get("/models/{name}/statistics/{field}", response_model=dict[str, Any])
async def get_field_statistics(
    name: Name, field: FieldName, state: StateDep, who: PrincipalDep
) -> JSONResponse:
    """A field's statistics with its quality metrics."""
    registered = state.registry.models.get(name, principal=who)
    stats = state.registry.get_enriched().get_field_statistics(registered.metadata.name, field)
    if stats is None:
        raise ApiError(
            404,
            "not_found",
            f"no statistics for {registered.metadata.name}.{field}: the model is not enriched "
            "or has no such field",
        )
    return JSONResponse(json_safe(stats))


@router.post("/models/{name}/validate", response_model=ModelValidation)
async def validate_with_enrichment(
    name: Name,
    data: Annotated[dict[str, Any], Body(description="The field values to check.")],
    state: StateDep,
    who: PrincipalDep,
) -> ModelValidation:
    """Whether ``data`` makes a valid instance, categorical fields checked against the values
    seen in the live data (READ needed; nothing is stored)."""
    registered = state.registry.models.get(name, principal=who)
    try:
        instance = await state.registry.get_enriched().create_with_validation(
            registered.metadata.name, data, validate_against_resource=True
        )
    except RegistryValidationError as exc:
        # The submitted values are not echoed whole (inputs shortened to a prefix).
        errors = json_safe(truncate_inputs(exc.errors))
        return ModelValidation(valid=False, errors=errors, message=exc.message)
    return ModelValidation(valid=True, instance=json_safe(instance.model_dump(mode="json")))


@router.post("/refresh/{name}", response_model=RefreshResult)
async def refresh_enrichment(name: Name, state: StateDep, who: PrincipalDep) -> RefreshResult:
    """Inspect the model's source again now (UPDATE needed on the model); a schema that
    changed since the model's last version becomes a new version (drift)."""
    models = state.registry.models
    registered = models.require_access(name, ModelPermission.UPDATE, who)
    enriched = state.registry.get_enriched()
    current = enriched.get_enrichment(registered.metadata.name)
    resource = enriched.connected_resources.get(current.resource_name)
    if resource is None:
        raise ApiError(
            409,
            "conflict",
            f"resource {current.resource_name!r} of {registered.metadata.name} is not connected",
        )
    # The schema first: a drifted table becomes a new version before it is inspected again.
    await state.durable.refresh_model(registered.metadata.name)
    fresh = await enriched.enrich_from_resource(
        resource, registered.metadata.name, collection=current.collection, auto_refresh=False
    )
    return RefreshResult(refreshed=True, last_updated=fresh.last_updated)
