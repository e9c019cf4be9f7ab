"""``create_app``: the FastAPI application over an :class:`~xregistry.XRegistry`.

Example:
    >>> from xregistry import XRegistry
    >>> from xregistry.api import TokenAuthenticator, create_app, hash_token
    >>> from xregistry.permissions import Principal
    >>> auth = TokenAuthenticator()
    >>> auth.add(hash_token("t0ken"), Principal(id="ada", roles=frozenset({"admin"})))
    >>> app = create_app(XRegistry(), auth=auth)
    >>> app.title
    'xregistry'
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from xregistry.__about__ import __version__
from xregistry._registry import XRegistry
from xregistry.api._auth import TokenAuthenticator
from xregistry.api._config import ApiConfig
from xregistry.api._errors import install_error_handlers
from xregistry.api._limits import BodySizeLimitMiddleware
from xregistry.api._routes import discovery, enrichment, system, versions
from xregistry.api._routes import registry as registry_routes
from xregistry.api._routes.system import data_api_available
from xregistry.api._state import ApiState
from xregistry.durable import DurableRegistry

__all__ = ["create_app", "web_dir"]

_DESCRIPTION = """Registries of functions, models and types, enriched with live statistics.

Every endpoint but `/api/health` needs `Authorization: Bearer <token>`; roles come from the
server's configuration, never from the request."""


def web_dir() -> str:
    """The directory of the shipped web page."""
    return str(resources.files("xregistry") / "web")


def create_app(
    registry: XRegistry | None = None,
    *,
    auth: TokenAuthenticator | None = None,
    config: ApiConfig | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
    durable: DurableRegistry | None = None,
) -> FastAPI:
    """The HTTP API and web page over ``registry``.

    Args:
        registry: what to serve (default: an empty :class:`XRegistry`).
        auth: the accepted tokens (default: those of ``config.tokens``).
        config: the ``[api]`` settings.
        on_shutdown: awaited when the app stops (after its own tasks end), e.g. to disconnect
            the resources the caller connected.
        durable: the registry bound to its store (opened and loaded by the caller); the app
            starts following the store when it starts. Default: versions in memory only.
    """
    cfg = config or ApiConfig()
    reg = registry or (durable.registry if durable is not None else XRegistry())
    state = ApiState(
        registry=reg,
        auth=auth if auth is not None else TokenAuthenticator(cfg.tokens),
        config=cfg,
        durable=durable if durable is not None else DurableRegistry(reg),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.durable.start()
        try:
            yield
        finally:
            tasks = list(state.tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if on_shutdown is not None:
                await on_shutdown()

    app = FastAPI(
        title=cfg.title,
        version=__version__,
        description=_DESCRIPTION,
        # The bundled Swagger/ReDoc pages load scripts from a CDN; the page at / is local.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.xregistry = state
    install_error_handlers(app)
    # Outermost: a body over the limit is refused before any route or parser sees it.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=cfg.max_body_size)
    app.include_router(system.router)
    app.include_router(registry_routes.router)
    app.include_router(versions.router)
    app.include_router(enrichment.router)
    app.include_router(discovery.router)
    if data_api_available():
        from xregistry.api._routes import data

        app.include_router(data.router)

    static = web_dir()
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return FileResponse(f"{static}/index.html", headers={"Cache-Control": "no-cache"})

    return app
