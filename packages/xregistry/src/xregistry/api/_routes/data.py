"""``/api/data``: the records of registered models, through ``xrepo`` (an optional extra).

This module imports ``xrepo`` only when a repository is first needed; the app includes these
routes only when ``xrepo`` is installed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from xregistry.api._errors import ERROR_RESPONSES, ApiError
from xregistry.api._routes._common import Name
from xregistry.api._schemas import RecordPage, json_safe
from xregistry.api._state import ApiState, PrincipalDep, StateDep
from xregistry.models._registry import RegisteredModel
from xregistry.permissions import ModelPermission

__all__ = ["RepoCache", "router"]

router = APIRouter(prefix="/api/data", tags=["data"], responses=ERROR_RESPONSES)

RecordId = Annotated[str, Path(min_length=1, max_length=200)]
Record = Annotated[dict[str, Any], Body(description="Field values.")]


class RepoCache:
    """One repository per model (and model version), created on first use."""

    def __init__(self) -> None:
        self._repos: dict[str, tuple[str, Any]] = {}
        self._lock = asyncio.Lock()

    async def get(self, state: ApiState, registered: RegisteredModel) -> Any:
        """The repository of ``registered`` over the resource it was discovered in."""
        meta = registered.metadata
        key = f"{meta.version}@{meta.updated_at.isoformat()}"
        cached = self._repos.get(meta.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        resource = (
            state.registry.get_enriched().connected_resources.get(meta.resource)
            if meta.resource
            else None
        )
        if resource is None:
            raise ApiError(
                404,
                "not_found",
                f"model {meta.name} is not backed by a connected resource; records are served "
                "for models discovered from one",
            )
        async with self._lock:
            cached = self._repos.get(meta.name)
            if cached is not None and cached[0] == key:
                return cached[1]
            from xrepo import XRepoFactory

            repo = await XRepoFactory.create_from_resource(
                resource, registered.model_class, collection=meta.collection
            )
            self._repos[meta.name] = (key, repo)
            return repo


def _cache(state: ApiState) -> RepoCache:
    if not isinstance(state.repos, RepoCache):
        state.repos = RepoCache()
    return state.repos


def _dump(record: Any) -> dict[str, Any]:
    data = record.model_dump(mode="json") if hasattr(record, "model_dump") else dict(record)
    return dict(json_safe(data))


def _filters(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ApiError(
            422, "invalid", 'filter must be a JSON object, e.g. {"status": "paid"}'
        ) from None
    if not isinstance(value, dict):
        raise ApiError(422, "invalid", "filter must be a JSON object, not a list or a value")
    return value


def _sort(text: str | None) -> list[tuple[str, int]] | None:
    if not text:
        return None
    keys = []
    for part in text.split(","):
        part = part.strip()
        if not part or part in ("-", "+"):
            raise ApiError(
                422, "invalid", "sort is a comma-separated list of fields ('-' first: descending)"
            )
        keys.append((part[1:], -1) if part[0] == "-" else (part.lstrip("+"), 1))
    return keys


@router.get("/models/{name}/records", response_model=RecordPage)
async def list_records(
    name: Name,
    state: StateDep,
    who: PrincipalDep,
    filter: Annotated[
        str | None,
        Query(max_length=4000, description='Mongo-style JSON filter: {"status": "paid"}'),
    ] = None,
    sort: Annotated[str | None, Query(max_length=400, description="name,-created_at")] = None,
    skip: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = 50,
) -> RecordPage:
    """A page of records matching the filter (LIST needed), with the total count."""
    registered = state.registry.models.require_access(name, ModelPermission.LIST, who)
    repo = await _cache(state).get(state, registered)
    filters = _filters(filter)
    limit = min(limit, state.config.max_page_size)
    items = await repo.list(filters, skip=skip, limit=limit, sort=_sort(sort), user_id=who.id)
    total = await repo.count(filters, user_id=who.id)
    return RecordPage(items=[_dump(r) for r in items], total=total, skip=skip, limit=limit)


@router.get("/models/{name}/records/{record_id}", response_model=dict[str, Any])
async def read_record(
    name: Name, record_id: RecordId, state: StateDep, who: PrincipalDep
) -> dict[str, Any]:
    """One record by id (READ needed)."""
    registered = state.registry.models.require_access(name, ModelPermission.READ, who)
    repo = await _cache(state).get(state, registered)
    record = await repo.read(record_id, user_id=who.id)
    if record is None:
        raise ApiError(404, "not_found", f"no {registered.metadata.name} record with that id")
    return _dump(record)


@router.post("/models/{name}/records", response_model=dict[str, Any], status_code=201)
async def create_record(
    name: Name, data: Record, state: StateDep, who: PrincipalDep
) -> dict[str, Any]:
    """Store a record (CREATE needed); categorical fields must hold a value seen in the live
    data."""
    registered = state.registry.models.require_access(name, ModelPermission.CREATE, who)
    # Checks the live categories and the model's own validation before anything is written.
    await state.registry.get_enriched().create_with_validation(registered.metadata.name, data)
    repo = await _cache(state).get(state, registered)
    return _dump(await repo.create(data, user_id=who.id))


@router.patch("/models/{name}/records/{record_id}", response_model=dict[str, Any])
async def update_record(
    name: Name, record_id: RecordId, data: Record, state: StateDep, who: PrincipalDep
) -> dict[str, Any]:
    """Change fields of a record (UPDATE needed)."""
    registered = state.registry.models.require_access(name, ModelPermission.UPDATE, who)
    enrichment = state.registry.get_enriched().enrichments.get(registered.metadata.name)
    if enrichment is not None:
        for field, value in data.items():
            allowed = enrichment.categorical_fields.get(field)
            if allowed and value not in allowed:
                raise ApiError(
                    422,
                    "invalid",
                    f"invalid value for {field}; must be one of the live values "
                    f"({len(allowed)} known; see the suggestions endpoint)",
                )
    repo = await _cache(state).get(state, registered)
    record = await repo.update(record_id, data, user_id=who.id)
    if record is None:
        raise ApiError(404, "not_found", f"no {registered.metadata.name} record with that id")
    return _dump(record)


@router.delete("/models/{name}/records/{record_id}", status_code=204)
async def delete_record(
    name: Name, record_id: RecordId, state: StateDep, who: PrincipalDep
) -> Response:
    """Delete a record (DELETE needed)."""
    registered = state.registry.models.require_access(name, ModelPermission.DELETE, who)
    repo = await _cache(state).get(state, registered)
    if not await repo.delete(record_id, user_id=who.id):
        raise ApiError(404, "not_found", f"no {registered.metadata.name} record with that id")
    return Response(status_code=204)
