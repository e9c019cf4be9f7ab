"""WebSocket ``auth_params`` (as on REST) and ``subscribe(channel)`` without a handler, without a
network: what the fields hold, which headers and parameters the REST code derives from them, and
the errors for bad input. The handshake and the iterator against a real server are in
tests-integration/xresource/test_streams_websocket_auth.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from pydantic import SecretStr, ValidationError

from xresource import (
    ResourceFactory,
    XResourceConfigurationError,
    XResourceValidationError,
)
from xresource.network.auth import apply_auth_params, auth_headers_and_params
from xresource.streams import WebSocketResource

ENDPOINT = "wss://stream.example.com/trades"


def _ws(**kwargs: Any) -> WebSocketResource:
    resource = ResourceFactory.create("websocket", endpoint=ENDPOINT, **kwargs)
    assert isinstance(resource, WebSocketResource)
    return resource


def _sent(ws: WebSocketResource) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and query parameters the handshake carries (the resource's own call)."""
    return auth_headers_and_params(
        bearer_token=ws.token,
        api_key=ws.api_key,
        api_key_name=ws.api_key_name,
        api_key_in=ws.api_key_in,
        username=ws.username,
        password=ws.password,
    )


def test_spec_token_becomes_a_bearer_secret() -> None:
    # The specification: ResourceFactory.create("websocket", name="trading_stream",
    # endpoint="wss://stream.example.com/trades", auth_params={"token": settings.WS_TOKEN})
    ws = _ws(name="trading_stream", auth_params={"token": "tok-Ünïcode-123"})
    assert isinstance(ws.token, SecretStr)
    assert ws.token.get_secret_value() == "tok-Ünïcode-123"
    assert _sent(ws) == ({"Authorization": "Bearer tok-Ünïcode-123"}, {})
    for shown in (repr(ws), str(ws), str(ws.get_metadata()), ws.model_dump_json()):
        assert "tok-Ünïcode-123" not in shown


@pytest.mark.parametrize(
    ("auth", "headers", "params"),
    [
        ({"api_key": "k-1"}, {"X-API-Key": "k-1"}, {}),
        (
            {"api_key": "k-1", "api_key_name": "X-Token", "api_key_in": "header"},
            {"X-Token": "k-1"},
            {},
        ),
        ({"api_key": "k-1", "api_key_name": "key", "api_key_in": "query"}, {}, {"key": "k-1"}),
        ({"username": "ann", "password": "pw"}, {"Authorization": "Basic YW5uOnB3"}, {}),
        ({"user": "ann"}, {"Authorization": "Basic YW5uOg=="}, {}),
        ({"access_token": "t"}, {"Authorization": "Bearer t"}, {}),
    ],
)
def test_auth_params_shapes_as_on_rest(
    auth: dict[str, str], headers: dict[str, str], params: dict[str, str]
) -> None:
    ws = _ws(auth_params=auth)
    assert _sent(ws) == (headers, params)
    # The REST resource maps the same auth_params onto the same credentials.
    rest = ResourceFactory.create("rest", base_url="https://api.example.com", auth_params=auth)
    assert rest._auth() == (headers, params)  # type: ignore[attr-defined]


def test_fields_work_without_auth_params() -> None:
    ws = _ws(token="t", api_key="k")
    assert _sent(ws) == ({"Authorization": "Bearer t", "X-API-Key": "k"}, {})
    assert _ws(auth_params={"token": "t"}, token="t").token == SecretStr("t")  # same value: fine


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"auth_params": {"token": "a"}, "token": "b"}, "auth_params sets token"),
        ({"auth_params": {"api_key": "a"}, "api_key": "b"}, "auth_params sets api_key"),
        ({"auth_params": {"tokn": "a"}}, "unknown auth_params key 'tokn'"),
        ({"auth_params": "token=abc"}, "auth_params must be a mapping"),
        ({"auth_params": {"token": 123}}, "token"),
        ({"auth_params": {"token": "t", "username": "u"}}, "not both"),
        ({"auth_params": {"password": "p"}}, "password given without username"),
        ({"api_key": "k", "api_key_name": "X Key"}, "not a valid header"),
        ({"api_key": "k", "api_key_name": ""}, "api_key_name"),
        ({"api_key": "k", "api_key_in": "cookie"}, "api_key_in"),
    ],
)
def test_bad_credentials_are_named(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=needle) as info:
        _ws(**kwargs)
    for secret in ("'a'", "'b'", "abc"):
        assert secret not in str(info.value)
    with pytest.raises(ValidationError):
        WebSocketResource(endpoint=ENDPOINT, **kwargs)


def test_apply_auth_params_keeps_other_keys_and_renames() -> None:
    data = {"endpoint": ENDPOINT, "auth_params": {"token": "t", "api_key": "k"}}
    assert apply_auth_params(data, {"bearer_token": "token"}) == {
        "endpoint": ENDPOINT,
        "token": "t",
        "api_key": "k",
    }
    assert apply_auth_params({"x": 1}) == {"x": 1}


async def test_iterating_without_a_handlerless_subscription_is_an_error() -> None:
    ws = _ws()
    with pytest.raises(XResourceValidationError, match="subscribe\\(channel\\) without a handler"):
        async for _ in ws:
            pass


async def test_subscribe_without_handler_checks_the_channel_first() -> None:
    ws = _ws()
    with pytest.raises(XResourceValidationError, match="must not be empty"):
        await ws.subscribe("")
    with pytest.raises(XResourceValidationError, match="control characters"):
        await ws.subscribe("BTC/\x00USD")
    with pytest.raises(XResourceValidationError, match="not callable"):
        await ws.subscribe("BTC/USD", "print")  # type: ignore[arg-type]
    assert not ws.is_connected


def test_connection_errors_mask_credentials_quoted_in_urls() -> None:
    secret = "k€y with/slash"
    ws = _ws(auth_params={"api_key": secret, "api_key_name": "key", "api_key_in": "query"})
    for shown in (secret, quote(secret, safe=""), quote_plus(secret)):
        error = ws._connection_error("connect", OSError(f"cannot open ws://h/ws?key={shown}"))
        assert secret not in str(error)
        assert quote(secret, safe="") not in str(error)
        assert "key=**********" in str(error)
        assert str(error).startswith("[websocket 'websocket'] connect: OSError")
    plain = ws._connection_error("connect", OSError("refused"))
    assert "OSError: refused" in str(plain)
