"""``/api/registry``: functions, models and types (the document's registry API)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from xregistry.api._errors import ERROR_RESPONSES, ApiError
from xregistry.api._routes._common import Name, NamespaceFilter, glob_for
from xregistry.api._schemas import (
    ExecuteRequest,
    ExecuteResult,
    FunctionInfo,
    ModelInfo,
    TypeInfo,
    TypeValidation,
    TypeValidationRequest,
    json_safe,
)
from xregistry.api._state import PrincipalDep, StateDep
from xregistry.errors import RegistryValidationError
from xregistry.models._registry import ModelSource
from xregistry.permissions import ModelPermission
from xregistry.types import TypeCategory

__all__ = ["router"]

router = APIRouter(prefix="/api/registry", tags=["registry"], responses=ERROR_RESPONSES)

Filter = Annotated[str | None, Query(min_length=1, max_length=200)]


# -- functions --------------------------------------------------------------------------------
@router.get("/functions", response_model=list[FunctionInfo])
async def list_functions(
    state: StateDep, who: PrincipalDep, namespace: NamespaceFilter = None, tag: Filter = None
) -> list[FunctionInfo]:
    """Functions the caller may view, optionally under a namespace (glob) and with a tag."""
    functions = state.registry.functions
    if namespace:
        found = functions.find_by_namespace(glob_for(state, "functions", namespace), principal=who)
    else:
        found = functions.list_all(principal=who)
    if tag:
        found = [f for f in found if tag in f.metadata.tags]
    return [FunctionInfo.of(f) for f in found]


@router.get("/functions/{name}", response_model=FunctionInfo)
async def get_function(name: Name, state: StateDep, who: PrincipalDep) -> FunctionInfo:
    """One function by name or namespace path (VIEW needed)."""
    return FunctionInfo.of(state.registry.functions.get(name, principal=who))


@router.post("/functions/{name}/execute", response_model=ExecuteResult)
async def execute_function(
    name: Name, body: ExecuteRequest, state: StateDep, who: PrincipalDep
) -> ExecuteResult:
    """Run a function (EXECUTE needed) with arguments validated against its signature, within
    the configured execution timeout."""
    started = time.perf_counter()
    result = await state.registry.functions.execute(name, body.args, body.kwargs, principal=who)
    return ExecuteResult(
        result=json_safe(result), duration_ms=(time.perf_counter() - started) * 1000
    )


# -- models -----------------------------------------------------------------------------------
@router.get("/models", response_model=list[ModelInfo])
async def list_models(
    state: StateDep,
    who: PrincipalDep,
    source: ModelSource | None = None,
    tag: Filter = None,
    namespace: NamespaceFilter = None,
) -> JSONResponse:
    """Models the caller may list, optionally of one source, with a tag, under a namespace."""
    models = state.registry.models
    if namespace:
        found = [
            m
            for m in models.find_by_namespace(glob_for(state, "models", namespace))
            if m.can(who, ModelPermission.LIST)
        ]
        if source is not None:
            found = [m for m in found if m.metadata.source is source]
    else:
        found = models.list_models(source, principal=who)
    if tag:
        found = [m for m in found if tag in m.metadata.tags]
    enriched = state.registry.get_enriched().enrichments
    return JSONResponse([ModelInfo.payload(m, enriched=m.metadata.name in enriched) for m in found])


@router.get("/models/{name}", response_model=ModelInfo)
async def get_model(name: Name, state: StateDep, who: PrincipalDep) -> Response:
    """One model by name or namespace path (READ needed)."""
    registered = state.registry.models.get(name, principal=who)
    meta = registered.metadata
    enriched = meta.name in state.registry.get_enriched().enrichments
    # The document changes only when the model is replaced, updated or enriched: serialize it
    # once per such state instead of once per request (this is the hottest read).
    key = (id(registered), id(meta), meta.version, meta.updated_at, enriched)
    cached = state.model_documents.get(meta.name)
    if cached is None or cached[0] != key:
        body = json.dumps(
            ModelInfo.payload(registered, enriched=enriched), separators=(",", ":")
        ).encode()
        cached = (key, body)
        state.model_documents[meta.name] = cached
    return Response(cached[1], media_type="application/json")


@router.get("/models/{name}/schema", response_model=dict[str, Any])
async def get_model_schema(name: Name, state: StateDep, who: PrincipalDep) -> JSONResponse:
    """The model's JSON schema."""
    registered = state.registry.models.get(name, principal=who)
    return JSONResponse(json_safe(registered.metadata.json_schema))


@router.get("/models/{name}/ui-schema", response_model=dict[str, Any])
async def get_model_ui_schema(name: Name, state: StateDep, who: PrincipalDep) -> JSONResponse:
    """The model's UI schema (widgets, labels, options, constraints per field)."""
    registered = state.registry.models.get(name, principal=who)
    if registered.metadata.ui_schema is None:
        raise ApiError(
            404,
            "not_found",
            f"model {registered.metadata.name} has no UI schema (auto_generate_ui is off)",
        )
    return JSONResponse(json_safe(registered.metadata.ui_schema))


# -- types ------------------------------------------------------------------------------------
@router.get("/types", response_model=list[TypeInfo])
async def list_types(
    state: StateDep, who: PrincipalDep, category: TypeCategory | None = None
) -> list[TypeInfo]:
    """Registered types, optionally of one category."""
    return [TypeInfo.of(t) for t in state.registry.types.list_types(category)]


@router.get("/types/{name}", response_model=TypeInfo)
async def get_type(name: Name, state: StateDep, who: PrincipalDep) -> TypeInfo:
    """One type by name or namespace path."""
    return TypeInfo.of(state.registry.types.get(name))


@router.post("/types/{name}/validate", response_model=TypeValidation)
async def validate_type(
    name: Name, body: TypeValidationRequest, state: StateDep, who: PrincipalDep
) -> TypeValidation:
    """Check a value against a type: ``valid`` with the coerced value, or the problems (the
    value itself is not echoed back in them)."""
    try:
        value = state.registry.types.validate(name, body.value, principal=who)
    except RegistryValidationError as exc:
        return TypeValidation(valid=False, errors=json_safe(exc.errors), message=exc.message)
    return TypeValidation(valid=True, value=json_safe(value))
