"""``ApiConfig``: the ``[api]`` settings of the HTTP server (address, tokens, sources).

Tokens are stored hashed; a principal's roles come from here, never from a request::

    [default.api]
    host = "127.0.0.1"
    port = 8000
    admin_roles = ["admin"]

    [[default.api.tokens]]
    id = "ada"
    roles = ["admin"]
    token_hash = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

    [[default.api.resources]]
    url = "sqlite:///shop.db"
    namespace = "shop"

``xregistry token`` prints a fresh token and the hash to paste here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xobj_prototype import load_settings

__all__ = ["ApiConfig", "ResourceConfig", "TokenConfig", "load_api_config"]

_Section = ConfigDict(extra="forbid")


class TokenConfig(BaseModel):
    """One bearer token: the hash of the token and the principal it authenticates."""

    model_config = _Section

    id: str = Field(min_length=1, max_length=200, description="Principal id (for the audit log).")
    roles: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    token_hash: str = Field(
        description="'sha256:<hex>' or 'scrypt:<n>:<r>:<p>:<salt hex>:<hash hex>' of the token."
    )

    @field_validator("token_hash")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme not in ("sha256", "scrypt") or ":" not in value:
            raise ValueError("token_hash must start with 'sha256:' or 'scrypt:'")
        return value


class ResourceConfig(BaseModel):
    """A source to serve: its URL, and where its models go in the namespace."""

    model_config = _Section

    url: str = Field(min_length=1)
    name: str | None = None
    namespace: str | None = None
    enrich: bool = True
    auto_refresh: bool = False


class ApiConfig(BaseModel):
    """Everything the HTTP server reads from ``[api]``."""

    model_config = ConfigDict(extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    title: str = "xregistry"
    tokens: list[TokenConfig] = Field(default_factory=list)
    #: Roles that may run discovery and read the audit log.
    admin_roles: list[str] = Field(default_factory=lambda: ["admin"])
    #: Print a fresh token for a local admin at each start (only its hash is kept).
    local_admin: bool = True
    resources: list[ResourceConfig] = Field(default_factory=list)
    #: Serve the embedded sample when no resource is configured.
    sample: bool = True
    data_dir: str | None = None
    max_page_size: int = Field(default=1000, gt=0)
    #: Bytes a request body may hold; a larger one is answered 413 before it is parsed.
    max_body_size: int = Field(default=1024 * 1024, gt=0)
    log_level: str = "info"

    @field_validator("resources", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        # A bare list of URLs is the short form.
        if isinstance(value, list | tuple):
            return [{"url": v} if isinstance(v, str) else v for v in value]
        return value


def load_api_config(
    *,
    settings_files: Sequence[str | os.PathLike[str]] | None = None,
    environment: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ApiConfig:
    """Read :class:`ApiConfig` from the ``[api]`` table of the settings files and
    ``XREGISTRY_API__*`` variables.

    Raises:
        xobj_prototype.XConfigurationError: unreadable files or values that do not fit.
    """
    return load_settings(
        ApiConfig,
        "XREGISTRY",
        section="api",
        settings_files=settings_files,
        environment=environment,
        overrides=overrides,
    )
