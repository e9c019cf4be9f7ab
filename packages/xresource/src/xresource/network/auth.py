"""Credentials of a REST (or WebSocket) resource turned into request headers or query parameters.

Every credential is a ``SecretStr`` until this module reads it, right before a request is sent;
nothing here is logged or kept in plain text on the resource.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import SecretStr

__all__ = ["AUTH_PARAM_KEYS", "apply_auth_params", "auth_headers_and_params", "from_auth_params"]

#: Keys the spec's ``auth_params`` mapping may hold, and the resource field each one sets.
AUTH_PARAM_KEYS = {
    "token": "bearer_token",
    "bearer_token": "bearer_token",
    "access_token": "bearer_token",
    "api_key": "api_key",
    "apikey": "api_key",
    "api_key_name": "api_key_name",
    "api_key_in": "api_key_in",
    "username": "username",
    "user": "username",
    "password": "password",
}


def from_auth_params(auth_params: Mapping[str, Any]) -> dict[str, Any]:
    """Map the spec's ``auth_params={"api_key": ...}`` onto the resource's fields.

    >>> from_auth_params({"token": "t"})
    {'bearer_token': 't'}
    """
    if not isinstance(auth_params, Mapping):
        raise ValueError("auth_params must be a mapping such as {'api_key': ...}")
    out: dict[str, Any] = {}
    for key, value in auth_params.items():
        field = AUTH_PARAM_KEYS.get(str(key).lower())
        if field is None:
            raise ValueError(
                f"unknown auth_params key {key!r}; known keys: {', '.join(sorted(AUTH_PARAM_KEYS))}"
            )
        out[field] = value
    return out


def apply_auth_params(
    data: dict[str, Any], renames: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Model-validator step: move ``data["auth_params"]`` onto the resource's credential fields.

    ``renames`` maps a field name of :data:`AUTH_PARAM_KEYS` onto the resource's own (the
    WebSocket resource keeps its bearer token in ``token``). A credential given both ways with
    different values is an error; the same value twice is accepted. ``data`` is changed in place
    and returned.

    >>> apply_auth_params({"auth_params": {"token": "t"}}, {"bearer_token": "token"})
    {'token': 't'}
    """
    auth = data.pop("auth_params", None)
    if auth is None:
        return data
    for key, value in from_auth_params(auth).items():
        field = (renames or {}).get(key, key)
        given = data.get(field)
        if isinstance(given, SecretStr):
            given = given.get_secret_value()
        if given not in (None, value):
            raise ValueError(f"auth_params sets {field}, which is also given directly")
        data[field] = value
    return data


def auth_headers_and_params(
    *,
    bearer_token: SecretStr | None,
    api_key: SecretStr | None,
    api_key_name: str,
    api_key_in: Literal["header", "query"],
    username: str | None,
    password: SecretStr | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The ``(headers, query parameters)`` that carry the configured credentials."""
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if bearer_token is not None:
        headers["Authorization"] = f"Bearer {bearer_token.get_secret_value()}"
    elif username is not None:
        secret = password.get_secret_value() if password is not None else ""
        token = base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    if api_key is not None:
        target = headers if api_key_in == "header" else params
        target[api_key_name] = api_key.get_secret_value()
    return headers, params
