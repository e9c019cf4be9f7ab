"""The HTTP API of xregistry (install ``xregistry[api]``): FastAPI routes over the registries,
bearer-token authentication with roles from the configuration, a web page at ``/``.

    from xregistry.api import create_app
    app = create_app(registry, config=load_api_config(settings_files=["settings.toml"]))

``xregistry serve`` (:mod:`xregistry.cli`) builds the registry from sources and runs it.
"""

from xregistry.api.app import create_app, web_dir
from xregistry.api.auth import TokenAuthenticator, generate_token, hash_token, verify_token_hash
from xregistry.api.config import ApiConfig, ResourceConfig, TokenConfig, load_api_config
from xregistry.api.errors import ApiError, ErrorResponse, status_of
from xregistry.api.state import ApiState

__all__ = [
    "ApiConfig",
    "ApiError",
    "ApiState",
    "ErrorResponse",
    "ResourceConfig",
    "TokenAuthenticator",
    "TokenConfig",
    "create_app",
    "generate_token",
    "hash_token",
    "load_api_config",
    "status_of",
    "verify_token_hash",
    "web_dir",
]
