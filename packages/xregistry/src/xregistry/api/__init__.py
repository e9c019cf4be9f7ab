"""The HTTP API of xregistry (install ``xregistry[api]``): FastAPI routes over the registries,
bearer-token authentication with roles from the configuration, a web page at ``/``.

    from xregistry.api import create_app
    app = create_app(registry, config=load_api_config(settings_files=["settings.toml"]))

``xregistry serve`` (:mod:`xregistry.cli`) builds the registry from sources and runs it; the same
steps in code are :func:`prepare` (connect, discover, register, enrich) and :func:`serve`.
"""

from xregistry.api._app import create_app, web_dir
from xregistry.api._auth import TokenAuthenticator, generate_token, hash_token, verify_token_hash
from xregistry.api._config import ApiConfig, ResourceConfig, TokenConfig, load_api_config
from xregistry.api._errors import ApiError, ErrorResponse, status_of
from xregistry.api._server import Prepared, default_registry_config, prepare, serve
from xregistry.api._state import ApiState

__all__ = [
    "ApiConfig",
    "ApiError",
    "ApiState",
    "ErrorResponse",
    "Prepared",
    "ResourceConfig",
    "TokenAuthenticator",
    "TokenConfig",
    "create_app",
    "default_registry_config",
    "generate_token",
    "hash_token",
    "load_api_config",
    "prepare",
    "serve",
    "status_of",
    "verify_token_hash",
    "web_dir",
]
