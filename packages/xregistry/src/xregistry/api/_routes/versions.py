"""``/api/registry/models/{name}/versions``: a model's version history, one version, the diff
between two versions, and registration of model versions from a JSON schema.

Versions come from the registry store when the server has one (every version since the model
was first registered, across restarts and instances), else from the in-memory history.
Compatibility flags are computed when read, against the model's current mode, so changing the
mode re-evaluates every version.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from xregistry.api._errors import ERROR_RESPONSES, ApiError
from xregistry.api._routes._common import Name
from xregistry.api._schemas import json_safe
from xregistry.api._state import AdminDep, ApiState, PrincipalDep, StateDep
from xregistry.models._compatibility import (
    CompatibilityMode,
    annotate_required,
    breaking_changes,
    classify,
)
from xregistry.models._versioning import diff_fields
from xregistry.permissions import ModelPermission
from xregistry.store import StoredVersion

__all__ = ["router"]

router = APIRouter(prefix="/api/registry", tags=["versions"], responses=ERROR_RESPONSES)

Version = Annotated[str, Path(min_length=5, max_length=40, pattern=r"^\d+\.\d+\.\d+$")]


class Change(BaseModel):
    """One difference between two versions of a model."""

    kind: str = Field(description="added, removed, retyped, nullability, constraint or default")
    change: str = Field(description="The inspector's finer kind (field_added, type_widened...)")
    field: str
    before: Any = None
    after: Any = None
    description: str
    breaks: list[str] = Field(description="The modes this change breaks (backward/forward/full)")


class VersionSummary(BaseModel):
    """One version in a model's history."""

    version: str
    created_at: str
    source: str = Field(description="code, api, discovery or drift")
    fingerprint: str
    change_count: int
    compatible: bool
    breaking: list[Change]


class VersionHistory(BaseModel):
    """A model's versions, oldest first."""

    model: str
    compatibility: CompatibilityMode
    current: str
    versions: list[VersionSummary]


class VersionDetail(BaseModel):
    """One version with its JSON schema."""

    model: str
    version: str
    created_at: str
    source: str
    fingerprint: str
    json_schema: dict[str, Any] = Field(alias="schema")
    fields: dict[str, Any]
    changes: list[Change]
    compatible: bool
    breaking: list[Change]


class VersionDiff(BaseModel):
    """The changes from version ``from`` to version ``to``."""

    model_config = ConfigDict(populate_by_name=True)

    model: str
    from_: str = Field(alias="from")
    to: str
    compatibility: CompatibilityMode
    compatible: bool
    changes: list[Change]
    breaking: list[Change]


class CompatibilityUpdate(BaseModel):
    """A model's new compatibility mode (``null``: follow the configuration again)."""

    model_config = ConfigDict(extra="forbid")

    mode: CompatibilityMode | None


class CompatibilityState(BaseModel):
    """A model's compatibility mode."""

    model: str
    compatibility: CompatibilityMode


async def _history(state: ApiState, name: str, who: Any) -> tuple[str, list[StoredVersion]]:
    """The model's canonical name and versions (READ needed)."""
    registered = state.registry.models.get(name, principal=who)
    model = registered.metadata.name
    return model, await state.durable.history(model)


def _find(model: str, versions: list[StoredVersion], version: str) -> StoredVersion:
    for view in versions:
        if view.version == version:
            return view
    raise ApiError(
        404,
        "not_found",
        f"model {model} has no version {version}; versions: {[v.version for v in versions]}",
        details={"model": model, "version": version},
    )


def _summary(view: StoredVersion, mode: CompatibilityMode) -> dict[str, Any]:
    changes = classify(view.changes)
    breaking = breaking_changes(changes, mode)
    return {
        "version": view.version,
        "created_at": view.created_at_iso,
        "source": view.source,
        "fingerprint": view.fingerprint,
        "change_count": len(changes),
        "compatible": not breaking,
        "breaking": breaking,
    }


@router.get("/models/{name}/versions", response_model=VersionHistory)
async def list_versions(name: Name, state: StateDep, who: PrincipalDep) -> JSONResponse:
    """Every version of a model, oldest first, each flagged against the model's compatibility
    mode (``compatible``, and the ``breaking`` changes from the version before it)."""
    model, versions = await _history(state, name, who)
    mode = state.registry.models.compatibility_of(model)
    current = state.registry.models.get(model).metadata.version
    return JSONResponse(
        json_safe(
            {
                "model": model,
                "compatibility": mode.value,
                "current": current,
                "versions": [_summary(v, mode) for v in versions],
            }
        )
    )


@router.get("/models/{name}/versions/{version}", response_model=VersionDetail)
async def get_version(
    name: Name, version: Version, state: StateDep, who: PrincipalDep
) -> JSONResponse:
    """One version of a model: its JSON schema, schema snapshot and changes."""
    model, versions = await _history(state, name, who)
    view = _find(model, versions, version)
    mode = state.registry.models.compatibility_of(model)
    summary = _summary(view, mode)
    return JSONResponse(
        json_safe(
            {
                "model": model,
                "version": view.version,
                "created_at": summary["created_at"],
                "source": view.source,
                "fingerprint": view.fingerprint,
                "schema": view.json_schema,
                "fields": view.fields_schema.get("fields", {}),
                "changes": classify(view.changes),
                "compatible": summary["compatible"],
                "breaking": summary["breaking"],
            }
        )
    )


@router.get("/models/{name}/versions/{a}/diff/{b}", response_model=VersionDiff)
async def diff_versions(
    name: Name, a: Version, b: Version, state: StateDep, who: PrincipalDep
) -> JSONResponse:
    """The changes from version ``a`` to version ``b`` (either order), flagged against the
    model's compatibility mode as if ``b`` followed ``a``."""
    model, versions = await _history(state, name, who)
    old, new = _find(model, versions, a), _find(model, versions, b)
    raw = annotate_required(
        diff_fields(old.fields_schema, new.fields_schema), old.fields_schema, new.fields_schema
    )
    changes = classify(raw)
    mode = state.registry.models.compatibility_of(model)
    breaking = breaking_changes(changes, mode)
    return JSONResponse(
        json_safe(
            {
                "model": model,
                "from": a,
                "to": b,
                "compatibility": mode.value,
                "compatible": not breaking,
                "changes": changes,
                "breaking": breaking,
            }
        )
    )


@router.put("/models/{name}/compatibility", response_model=CompatibilityState)
async def set_compatibility(
    name: Name, body: CompatibilityUpdate, state: StateDep, who: AdminDep
) -> CompatibilityState:
    """Set a model's compatibility mode (admin roles and UPDATE on the model)."""
    registered = state.registry.models.require_access(name, ModelPermission.UPDATE, who)
    model = registered.metadata.name
    mode = await state.durable.set_compatibility(model, body.mode, principal=who)
    return CompatibilityState(model=model, compatibility=mode)


class ModelRegistration(BaseModel):
    """A model (or a new version of it) as a JSON object schema."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\W\d]\w*$")
    json_schema: dict[str, Any] = Field(alias="schema", description="A JSON object schema.")
    namespace: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[^\W\d][\w.\-]*$"
    )
    description: str | None = Field(default=None, max_length=2000)


class RegistrationResult(BaseModel):
    """The model's version after a registration."""

    model: str
    version: str
    created: bool = Field(description="False: the schema was the current version already")
    compatibility: CompatibilityMode


@router.post(
    "/models",
    response_model=RegistrationResult,
    status_code=201,
    responses={200: {"description": "The schema is the current version: nothing added"}},
)
async def register_model(
    body: ModelRegistration, state: StateDep, who: AdminDep, response: Response
) -> RegistrationResult:
    """Register a model from a JSON schema, or a new version of a registered one (admin roles;
    UPDATE on an existing model). A version that breaks the model's compatibility mode is
    refused with 409, the breaking changes in ``error.details.breaking``; the same schema again
    adds nothing (``created: false``)."""
    registered, created = await state.durable.register_schema(
        body.name,
        body.json_schema,
        namespace=body.namespace,
        description=body.description,
        principal=who,
    )
    model = registered.metadata.name
    if not created:
        response.status_code = 200
    return RegistrationResult(
        model=model,
        version=registered.metadata.version,
        created=created,
        compatibility=state.registry.models.compatibility_of(model),
    )
