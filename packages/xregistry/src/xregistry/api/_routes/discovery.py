"""``/api/discovery``: connected resources, background discovery and namespace search."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from xobj_prototype import redact_text
from xregistry.api._errors import ERROR_RESPONSES, ApiError
from xregistry.api._routes._common import NamespacePattern
from xregistry.api._schemas import DiscoveryStarted, DiscoveryStatus, NamespaceSearch, ResourceInfo
from xregistry.api._state import AdminDep, ApiState, PrincipalDep, StateDep
from xregistry.functions import RegisteredFunction
from xregistry.models._registry import RegisteredModel
from xregistry.permissions import FunctionPermission, ModelPermission
from xregistry.types import RegisteredType

__all__ = ["resource_infos", "router"]

logger = logging.getLogger("xregistry.api")

router = APIRouter(prefix="/api/discovery", tags=["discovery"], responses=ERROR_RESPONSES)

ResourceName = Annotated[str, Path(min_length=1, max_length=200)]
Namespace = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\W\d][\w.\-]*$")]


def resource_infos(state: ApiState) -> list[ResourceInfo]:
    """The connected resources with the models that came from each."""
    enriched = state.registry.get_enriched()
    out = []
    for name, resource in sorted(enriched.connected_resources.items()):
        models = sorted(
            m.metadata.name
            for m in state.registry.models.models.values()
            if m.metadata.resource == name
        )
        out.append(
            ResourceInfo(
                name=name,
                type=resource.resource_type,
                display_name=resource.display_name,
                models=models,
            )
        )
    return out


@router.get("/resources", response_model=list[ResourceInfo])
async def list_resources(state: StateDep, who: PrincipalDep) -> list[ResourceInfo]:
    """Connected resources (names and types only: a URL may hold a password)."""
    return resource_infos(state)


async def _discover(state: ApiState, name: str, namespace: str | None) -> None:
    enriched = state.registry.get_enriched()
    status = state.discoveries[name]
    try:
        result = await state.durable.discover(
            enriched.connected_resources[name], namespace, auto_refresh=False
        )
        state.discoveries[name] = status.model_copy(
            update={
                "state": "done",
                "registered": result.registered,
                "failed": result.failed,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "finished_at": datetime.now(UTC),
            }
        )
    except Exception as exc:  # reported through the status endpoint
        message = redact_text(f"{type(exc).__name__}: {exc}")
        logger.warning("discovery of %s failed: %s", name, message)
        state.discoveries[name] = status.model_copy(
            update={"state": "failed", "message": message, "finished_at": datetime.now(UTC)}
        )


@router.post(
    "/resources/{resource_name}/discover", response_model=DiscoveryStarted, status_code=202
)
async def discover_models(
    resource_name: ResourceName, state: StateDep, who: AdminDep, namespace: Namespace = None
) -> DiscoveryStarted:
    """Register (and enrich) a model for every table or collection of a connected resource,
    in the background (admin roles only); poll the GET of the same path for the result."""
    enriched = state.registry.get_enriched()
    if resource_name not in enriched.connected_resources:
        raise ApiError(404, "not_found", f"resource {resource_name!r} is not connected")
    running = state.discoveries.get(resource_name)
    if running is not None and running.state == "running":
        raise ApiError(409, "conflict", f"discovery of {resource_name!r} is already running")
    state.discoveries[resource_name] = DiscoveryStatus(
        resource=resource_name, state="running", started_at=datetime.now(UTC)
    )
    task = asyncio.get_running_loop().create_task(_discover(state, resource_name, namespace))
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)
    return DiscoveryStarted(
        status="discovery_started",
        resource=resource_name,
        message="model discovery is running in the background",
    )


@router.get("/resources/{resource_name}/discover", response_model=DiscoveryStatus)
async def discovery_status(
    resource_name: ResourceName, state: StateDep, who: PrincipalDep
) -> DiscoveryStatus:
    """The last discovery run of a resource."""
    status = state.discoveries.get(resource_name)
    if status is None:
        raise ApiError(404, "not_found", f"no discovery of {resource_name!r} was started")
    return status


@router.get("/namespace/{pattern}", response_model=NamespaceSearch)
async def search_namespace(
    pattern: NamespacePattern,
    state: StateDep,
    who: PrincipalDep,
) -> JSONResponse:
    """Everything whose namespace path matches a glob (``ns.models.*``); a plain word matches
    anywhere in the path (``orders`` finds ``ns.models.shop.orders``)."""
    glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
    out = NamespaceSearch(pattern=pattern, functions=[], models=[], types=[], paths=[])
    lookup = state.registry.context.index.lookup
    for path in state.registry.find(glob):
        item = lookup(path)
        if isinstance(item, RegisteredFunction):
            if not item.can(who, FunctionPermission.VIEW):
                continue
            out.functions.append(item.metadata.name)
        elif isinstance(item, RegisteredModel):
            if not (item.can(who, ModelPermission.LIST) or item.can(who, ModelPermission.READ)):
                continue
            out.models.append(item.metadata.name)
        elif isinstance(item, RegisteredType):
            out.types.append(item.metadata.name)
        else:
            continue
        out.paths.append(path)
    return JSONResponse(out.model_dump())
