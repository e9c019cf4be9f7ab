"""What ``xregistry serve`` does: build the registry from sources, then run uvicorn.

:func:`prepare` connects every configured resource (or the embedded sample), discovers, registers
and enriches its tables, registers the sample catalog, and creates the local admin's token;
:func:`serve` binds the socket (port 0: any free port), prints the URL and token once, and serves
until interrupted, disconnecting the resources on the way out.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from xobj_prototype import MissingExtraError, redact_text, segment_for
from xregistry._registry import XRegistry
from xregistry.api._app import create_app
from xregistry.api._auth import TokenAuthenticator, generate_token, hash_token
from xregistry.api._config import ApiConfig, ResourceConfig
from xregistry.config import RegistryConfig
from xregistry.durable import DurableRegistry
from xregistry.enrichment import DiscoveryResult
from xregistry.permissions import Principal
from xregistry.store import RegistryStore

if TYPE_CHECKING:
    from fastapi import FastAPI

    from xresource import XResource

__all__ = ["Prepared", "default_registry_config", "prepare", "serve", "store_for"]

logger = logging.getLogger("xregistry.serve")

_ALL_MODEL = ["create", "read", "update", "delete", "list"]


def default_registry_config(admin_roles: list[str]) -> RegistryConfig:
    """Registry settings for serving: everyone may read and list models, admin roles may also
    write; functions are viewable by all and run by admin roles."""
    models = {"*": ["read", "list"], **dict.fromkeys(admin_roles, _ALL_MODEL)}
    functions = {"*": ["view"], **{role: ["execute", "view", "modify"] for role in admin_roles}}
    return RegistryConfig.model_validate(
        {
            "models": {"default_permissions": models},
            "functions": {"default_permissions": functions},
            "enrichment": {"auto_refresh": False},
        }
    )


@dataclass
class Prepared:
    """A registry ready to serve, the resources it holds open, and the local admin token."""

    registry: XRegistry
    config: ApiConfig
    auth: TokenAuthenticator
    resources: list[XResource] = field(default_factory=list)
    discoveries: dict[str, DiscoveryResult] = field(default_factory=dict)
    admin_token: str | None = None
    sample_dir: str | None = None
    durable: DurableRegistry | None = None

    def app(self) -> FastAPI:
        """The FastAPI app over the registry; it disconnects the resources when it stops."""
        return create_app(
            self.registry,
            auth=self.auth,
            config=self.config,
            on_shutdown=self.aclose,
            durable=self.durable,
        )

    async def aclose(self) -> None:
        """Stop refresh tasks, write and close the store, disconnect every resource
        (idempotent)."""
        await self.registry.aclose()
        durable, self.durable = self.durable, None
        if durable is not None:
            try:
                await durable.aclose()
            except Exception as exc:  # the resources must still be closed
                logger.warning(
                    "closing the registry store failed: %s",
                    redact_text(f"{type(exc).__name__}: {exc}"),
                )
        resources, self.resources = self.resources, []
        for resource in resources:
            try:
                await resource.disconnect()
            except Exception as exc:  # closing the others matters more
                logger.warning(
                    "disconnecting %s failed: %s",
                    resource.display_name,
                    redact_text(f"{type(exc).__name__}: {exc}"),
                )


async def _open(spec: ResourceConfig) -> XResource:
    from xresource import ResourceFactory

    kwargs: dict[str, Any] = {}
    if spec.name:
        kwargs["name"] = spec.name
    resource = ResourceFactory.from_url(spec.url, **kwargs)
    await resource.connect()
    return resource


async def prepare(
    config: ApiConfig,
    registry_config: RegistryConfig | None = None,
    *,
    log: Callable[[str], None] | None = None,
    default_store: bool = False,
) -> Prepared:
    """Connect, discover, register and enrich every source of ``config`` (the embedded sample
    when it lists none and ``config.sample`` is on), bound to the registry store of
    ``[registry.store] url`` (with no URL: the SQLite file in the data directory when
    ``default_store``, as ``xregistry serve`` does, else none).

    Raises:
        xobj_prototype.XError: a resource cannot be opened (its URL is shown redacted).
    """
    say = log or (lambda _msg: None)
    registry = XRegistry(registry_config or default_registry_config(config.admin_roles))
    prepared = Prepared(registry=registry, config=config, auth=TokenAuthenticator(config.tokens))
    store = store_for(registry.config, config, default=default_store)
    durable = DurableRegistry(
        registry,
        store,
        poll_interval=registry.config.store.poll_interval,
        audit_reads=registry.config.store.audit_reads,
    )
    prepared.durable = durable
    if store is not None:
        try:
            await durable.open()
        except BaseException:
            await prepared.aclose()
            raise
        say(f"registry store: {store.display_name}")
    specs = list(config.resources)
    if not specs and config.sample:
        from xregistry.sample import ensure_sample
        from xregistry.sample.catalog import register_sample_catalog

        files = await ensure_sample(config.data_dir)
        prepared.sample_dir = str(files.directory)
        say(f"sample data in {files.directory}")
        specs = [
            ResourceConfig(url=f"sqlite:///{files.database}", name="shop", namespace="shop"),
            ResourceConfig(url=str(files.csv), name="reviews", namespace="shop"),
        ]
        register_sample_catalog(registry)
    enriched = registry.get_enriched()
    try:
        for spec in specs:
            resource = await _open(spec)
            prepared.resources.append(resource)
            namespace = spec.namespace or segment_for(resource.name)
            # Only registered here: load() below stores every model at once (drift at start).
            result = await enriched.discover_and_register(
                resource, namespace, enrich=spec.enrich, auto_refresh=spec.auto_refresh
            )
            prepared.discoveries[resource.name] = result
            say(
                f"{resource.resource_type} {resource.name!r}: {len(result.registered)} models"
                + (f", {len(result.failed)} failed" if result.failed else "")
            )
            for table, error in result.failed.items():
                say(f"  {table}: {error}")
        for name, error in (await durable.load()).items():
            say(f"  store: {name}: {error}")
    except BaseException:
        await prepared.aclose()
        raise
    if config.local_admin:
        token = generate_token()
        prepared.auth.add(
            hash_token(token),
            Principal(id="local-admin", roles=frozenset(config.admin_roles or ["admin"])),
        )
        prepared.admin_token = token
    return prepared


def store_for(
    registry_config: RegistryConfig, config: ApiConfig, *, default: bool = True
) -> RegistryStore | None:
    """The store ``[registry.store] url`` names: ``memory`` for none; empty for the SQLite file
    ``registry.db`` in the data directory (created when missing) when ``default``, else none."""
    settings = registry_config.store
    url = (settings.url or "").strip()
    if url.lower() == "memory" or (not url and not default):
        return None
    if not url:
        from pathlib import Path

        from xregistry.sample import default_data_dir

        directory = Path(config.data_dir).expanduser() if config.data_dir else default_data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        # One connection: writes are serialized anyway, and the store's synchronous=FULL
        # (set on open) stays in force on it.
        url = f"sqlite:///{directory / 'registry.db'}?pool_max_size=1"
    return RegistryStore.from_url(url, prefix=settings.table_prefix)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it keep-alive clients wait ~40 ms per response (Nagle against delayed ACKs).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):  # noqa: S104 - only to print a reachable address
        shown = "127.0.0.1"
    return f"http://{shown}:{port}"


async def serve(
    config: ApiConfig,
    registry_config: RegistryConfig | None = None,
    *,
    out: TextIO | None = None,
) -> None:
    """Prepare, bind, print the URL and the local admin token once, and serve until stopped."""
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        # FastAPI alone builds the app; serving it needs uvicorn, from the same extra.
        raise MissingExtraError(
            f"serve needs the extra xregistry[api]: pip install 'xregistry[api]' ({exc})",
            name=exc.name,
        ) from exc

    stream = out or sys.stdout

    def say(msg: str) -> None:
        print(msg, file=stream, flush=True)

    prepared = await prepare(config, registry_config, log=say, default_store=True)
    try:
        sock = bind(config.host, config.port)
    except OSError as exc:
        await prepared.aclose()
        raise SystemExit(
            f"xregistry serve: cannot listen on {config.host}:{config.port} ({exc.strerror}); "
            "pass --port 0 for any free port"
        ) from None
    port = sock.getsockname()[1]
    url = _url(config.host, port)
    app = prepared.app()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=config.log_level,
            access_log=False,
            lifespan="on",
            server_header=False,
        )
    )
    counts = prepared.registry.summary()
    say(
        f"xregistry serving {counts['models']} models, {counts['functions']} functions and "
        f"{counts['types']} types"
    )
    say(f"URL: {url}/")
    if prepared.admin_token:
        say(f"Token (local admin, this run only): {prepared.admin_token}")
        say(f"Open: {url}/#token={prepared.admin_token}")
    say("Press Ctrl+C to stop.")
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
        await prepared.aclose()


def run(config: ApiConfig, registry_config: RegistryConfig | None = None) -> None:
    """:func:`serve` in a fresh event loop (the console script's entry)."""
    asyncio.run(serve(config, registry_config))
