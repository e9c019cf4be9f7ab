"""``/api/health``, ``/api/info`` and ``/api/audit``."""

from __future__ import annotations

import importlib.util
from typing import Annotated, Any

from fastapi import APIRouter, Query

from xregistry.__about__ import __version__
from xregistry.api._errors import ERROR_RESPONSES
from xregistry.api._routes.discovery import resource_infos
from xregistry.api._schemas import Health, Info, PrincipalInfo, json_safe
from xregistry.api._state import AdminDep, PrincipalDep, StateDep

__all__ = ["data_api_available", "router"]

router = APIRouter(prefix="/api", tags=["system"], responses=ERROR_RESPONSES)


def data_api_available() -> bool:
    """Whether ``xrepo`` is installed (then the record endpoints exist)."""
    return importlib.util.find_spec("xrepo") is not None


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness; needs no token."""
    return Health()


@router.get("/info", response_model=Info)
async def info(state: StateDep, who: PrincipalDep) -> Info:
    """Version, counts, the caller's principal and the connected resources."""
    counts = state.registry.summary()
    return Info(
        version=__version__,
        principal=PrincipalInfo(id=who.display_id, roles=sorted(who.roles)),
        functions=counts["functions"],
        models=counts["models"],
        types=counts["types"],
        data_api=data_api_available(),
        resources=resource_infos(state),
    )


@router.get("/audit", response_model=list[dict[str, Any]])
async def audit(
    state: StateDep,
    who: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    stored: bool = False,
) -> list[dict[str, Any]]:
    """The newest audit events, newest last (admin roles only). ``stored=true`` reads the
    registry store's trail instead (every instance, across restarts; successful reads only
    when the store keeps them); without a store it is the same as the in-memory log."""
    durable = state.durable
    if stored and durable.store is not None:
        await durable.follower.flush()
        return [json_safe(e) for e in await durable.store.audit(limit=limit)]
    events = state.registry.audit.events(limit=limit)
    return [json_safe(e.model_dump(mode="json")) for e in events]
