"""The parameters of a REST resource: fields, aliases, and the checks that keep secrets out of
plain-text fields (credentials and a query in ``base_url`` move to ``username``/``password``,
``api_key`` and ``default_params``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from xobj_prototype import is_secret_key
from xresource.__about__ import __version__
from xresource.base import ParameterAlias
from xresource.errors import (
    XResourceConfigurationError,
)
from xresource.network.auth import apply_auth_params
from xresource.network.base import NetworkResource
from xresource.network.retry import RETRY_STATUSES
from xresource.network.urls import join_url
from xresource.url import ParsedURL

__all__: list[str] = []


class _RESTSettings(NetworkResource):
    """The parameters of :class:`~xresource.network.RESTResource` (documented there)."""

    parameter_aliases: ClassVar[Mapping[str, str | ParameterAlias]] = {
        "retry_attempts": "max_retries",
        "connection_timeout": ParameterAlias("connect_timeout", 0.001),
    }

    headers: dict[str, str] = Field(default_factory=dict)
    secret_headers: dict[str, SecretStr] = Field(default_factory=dict)
    secret_params: dict[str, SecretStr] = Field(
        default_factory=dict, description="Secret query parameters sent with every request."
    )
    default_params: dict[str, str] = Field(
        default_factory=dict, description="Query parameters sent with every request."
    )
    bearer_token: SecretStr | None = None
    api_key: SecretStr | None = None
    api_key_name: str = Field(default="X-API-Key", min_length=1)
    api_key_in: Literal["header", "query"] = "header"
    username: str | None = None
    password: SecretStr | None = None
    read_timeout: float | None = Field(default=None, gt=0)
    pool_size: int = Field(default=10, ge=1, le=1000)
    max_retries: int = Field(default=3, ge=0, le=20)
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=10.0, gt=0)
    backoff_jitter: float = Field(default=0.5, ge=0, le=1)
    max_retry_after: float = Field(
        default=60.0, ge=0, description="Longest Retry-After honoured; a longer one fails at once."
    )
    retry_statuses: frozenset[int] = RETRY_STATUSES
    retry_non_idempotent: bool = False
    max_redirects: int = Field(default=5, ge=0, le=30)
    verify_ssl: bool = True
    health_path: str = ""
    health_method: Literal["HEAD", "GET"] = "HEAD"
    endpoints: dict[str, str] = Field(default_factory=dict)
    user_agent: str = f"xresource/{__version__}"

    @model_validator(mode="before")
    @classmethod
    def _normalize_input(cls, data: Any) -> Any:
        # Runs before any field is stored: secrets never sit in a plain-text field.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "endpoint" in data:
            endpoint = data.pop("endpoint")
            if data.setdefault("base_url", endpoint) != endpoint:
                raise ValueError("give base_url or endpoint, not both")
        apply_auth_params(data)
        base = data.get("base_url")
        if isinstance(base, str):
            parts = urlsplit(base.strip())
            netloc = parts.netloc
            if "@" in netloc:
                userinfo, _, netloc = netloc.rpartition("@")
                user, has_pw, pw = userinfo.partition(":")
                data.setdefault("username", unquote(user) or None)
                if has_pw:
                    data.setdefault("password", unquote(pw))
            params = dict(data.get("default_params") or {})
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                if is_secret_key(key) and "api_key" not in data:
                    data["api_key"], data["api_key_name"], data["api_key_in"] = value, key, "query"
                else:
                    params.setdefault(key, value)
            if params:
                data["default_params"] = params
            data["base_url"] = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        params = data.get("default_params")
        if isinstance(params, Mapping):
            secret_params = {k: v for k, v in params.items() if is_secret_key(str(k))}
            data["default_params"] = {k: v for k, v in params.items() if k not in secret_params}
            if secret_params:
                data["secret_params"] = {**secret_params, **dict(data.get("secret_params") or {})}
        headers = data.get("headers")
        if isinstance(headers, Mapping):
            plain = {k: v for k, v in headers.items() if not is_secret_key(str(k))}
            secret = {k: v for k, v in headers.items() if is_secret_key(str(k))}
            data["headers"] = plain
            if secret:
                data["secret_headers"] = {**secret, **dict(data.get("secret_headers") or {})}
        return data

    @field_validator("headers", "default_params", mode="after")
    @classmethod
    def _no_plain_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        # Construction moves secret-looking entries aside; a later assignment must not add one.
        for key in value:
            if is_secret_key(key):
                raise ValueError(
                    f"{key!r} looks secret: give it through secret_headers, "
                    "secret_params, bearer_token or api_key"
                )
        return value

    @field_validator("headers", "secret_headers", mode="after")
    @classmethod
    def _check_headers(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            text = item.get_secret_value() if isinstance(item, SecretStr) else item
            if not key or any(ord(c) < 33 or c in ':()<>@,;"/[]?={}\\' for c in key):
                raise ValueError(f"invalid header name {key!r}")
            if any(ord(c) < 32 and c != "\t" for c in text):
                raise ValueError(f"header {key!r} contains control characters")
        return value

    @field_validator("endpoints", mode="after")
    @classmethod
    def _check_endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            join_url("http://check.invalid/", path)  # refuses paths that leave the base
            if not name:
                raise ValueError("endpoint names must not be empty")
        return value

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if self.bearer_token is not None and self.username is not None:
            raise ValueError(
                "give bearer_token or username/password, not both (both would set "
                "the Authorization header)"
            )
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        join_url(self.base_url, self.health_path)
        return self

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``https://[user:pw@]host[:port]/prefix[?api_key=...&x=1]``."""
        if url.scheme not in cls.url_schemes:
            raise XResourceConfigurationError(
                f"{url.redacted!r} is not an http(s) URL", operation="from_url"
            )
        return {"base_url": url.raw.partition("#")[0]}
