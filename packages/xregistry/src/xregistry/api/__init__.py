"""The HTTP API of xregistry (install ``xregistry[api]``): FastAPI routes over the registries,
bearer-token authentication with roles from the configuration, a web page at ``/``.

    from xregistry.api import create_app
    app = create_app(registry, config=load_api_config(settings_files=["settings.toml"]))

``xregistry serve`` (:mod:`xregistry.cli`) builds the registry from sources and runs it; the same
steps in code are :func:`prepare` (connect, discover, register, enrich) and :func:`serve`.

This package imports without the extra: the configuration (:class:`ApiConfig`,
:func:`load_api_config`), the tokens (:func:`generate_token`, :func:`hash_token`,
:func:`verify_token_hash`) and :class:`TokenAuthenticator` need no web framework. The names that
do (the app, the server, the errors, the state) are imported on first use, and without FastAPI
they raise :class:`~xobj_prototype.MissingExtraError` naming ``xregistry[api]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xobj_prototype import lazy_exports
from xregistry._tokens import generate_token, hash_token, verify_token_hash
from xregistry.api._auth import TokenAuthenticator
from xregistry.api._config import ApiConfig, ResourceConfig, TokenConfig, load_api_config

if TYPE_CHECKING:
    from xregistry.api._app import create_app, web_dir
    from xregistry.api._errors import ApiError, ErrorResponse, status_of
    from xregistry.api._server import Prepared, default_registry_config, prepare, serve
    from xregistry.api._state import ApiState

_EXTRA = "xregistry[api]"

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "create_app": "xregistry.api._app",
        "web_dir": "xregistry.api._app",
        "ApiError": "xregistry.api._errors",
        "ErrorResponse": "xregistry.api._errors",
        "status_of": "xregistry.api._errors",
        "Prepared": "xregistry.api._server",
        "default_registry_config": "xregistry.api._server",
        "prepare": "xregistry.api._server",
        "serve": "xregistry.api._server",
        "ApiState": "xregistry.api._state",
    },
    # Each of these modules imports FastAPI (or Starlette) at its top.
    extras={
        "xregistry.api._app": _EXTRA,
        "xregistry.api._errors": _EXTRA,
        "xregistry.api._server": _EXTRA,
        "xregistry.api._state": _EXTRA,
    },
)

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
