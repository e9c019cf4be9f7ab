"""What the routes share: the registry, the authenticator, the settings and running tasks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from xregistry._registry import XRegistry
from xregistry.api._auth import TokenAuthenticator
from xregistry.api._config import ApiConfig
from xregistry.api._errors import ApiError
from xregistry.api._schemas import DiscoveryStatus
from xregistry.durable import DurableRegistry
from xregistry.permissions import Principal

__all__ = [
    "AdminDep",
    "ApiState",
    "PrincipalDep",
    "StateDep",
    "current_principal",
    "get_state",
    "require_admin",
]


@dataclass
class ApiState:
    """The state of one app (``app.state.xregistry``)."""

    registry: XRegistry
    auth: TokenAuthenticator
    config: ApiConfig
    #: The registry store binding (versions, drift, compatibility); in memory when storeless.
    durable: DurableRegistry
    discoveries: dict[str, DiscoveryStatus] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    #: ``RepoCache`` when xrepo is installed (typed loosely: xrepo is optional).
    repos: object | None = None
    #: Serialized model documents with the state they were built from (see ``get_model``).
    model_documents: dict[str, tuple[tuple[object, ...], bytes]] = field(default_factory=dict)


def get_state(request: Request) -> ApiState:
    """The app's :class:`ApiState`."""
    state: ApiState = request.app.state.xregistry
    return state


_bearer = HTTPBearer(
    auto_error=False,
    description="A token from the server's configuration (or the one `xregistry serve` printed).",
)

StateDep = Annotated[ApiState, Depends(get_state)]


async def current_principal(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal of the request's bearer token; 401 without a known one."""
    if credentials is None:
        raise ApiError(
            401,
            "unauthenticated",
            "authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = state.auth.authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(
            401,
            "unauthenticated",
            "unknown or revoked token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def require_admin(state: StateDep, who: PrincipalDep) -> Principal:
    """The principal, when one of its roles is an admin role of the configuration; else 403."""
    if who.roles.isdisjoint(state.config.admin_roles):
        raise ApiError(
            403,
            "forbidden",
            f"{who.display_id!r} may not do this: it needs one of the roles "
            f"{sorted(state.config.admin_roles)}",
        )
    return who


AdminDep = Annotated[Principal, Depends(require_admin)]
