"""``RESTResource`` parameters: aliases, credentials kept secret, bad input refused (no I/O)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

pytest.importorskip("aiohttp", reason="the rest extra (aiohttp) is not installed")

from xresource import (
    ResourceFactory,
    XResourceConfigurationError,
    XResourceValidationError,
)
from xresource.network import RESTResource

SECRET = "hunter2-very-secret"


pytestmark = pytest.mark.usefixtures("isolated_factory")


def _assert_hidden(resource: RESTResource) -> None:
    for text in (
        repr(resource),
        str(resource),
        repr(resource.get_metadata()),
        resource.model_dump_json(),
    ):
        assert SECRET not in text


def test_spec_example_parameters() -> None:
    api = ResourceFactory.create(
        "rest_api",
        name="weather_api",
        endpoint="https://api.weather.com/v1",
        auth_params={"api_key": SECRET},
        timeout=30,
    )
    assert isinstance(api, RESTResource)
    assert api.base_url == "https://api.weather.com/v1/"
    assert api.api_key is not None
    assert api.api_key.get_secret_value() == SECRET
    assert api.url_for("/current") == "https://api.weather.com/v1/current"
    _assert_hidden(api)
    assert api.get_metadata()["auth"] == "api_key (header)"


def test_from_url_moves_credentials_and_query() -> None:
    api = ResourceFactory.from_url(f"https://bob:{SECRET}@api.example.com/v2?lang=en&format=json")
    assert isinstance(api, RESTResource)
    assert api.base_url == "https://api.example.com/v2/"
    assert api.username == "bob"
    assert api.password is not None
    assert api.password.get_secret_value() == SECRET
    assert api.default_params == {"lang": "en", "format": "json"}
    _assert_hidden(api)
    headers, params = api._auth()
    assert (
        headers["Authorization"] == "Basic " + base64.b64encode(f"bob:{SECRET}".encode()).decode()
    )
    assert params == {}


def test_from_url_api_key_in_query() -> None:
    api = ResourceFactory.from_url(f"http://127.0.0.1:8080/api?apikey={SECRET}")
    assert isinstance(api, RESTResource)
    assert (api.api_key_name, api.api_key_in) == ("apikey", "query")
    assert api._auth() == ({}, {"apikey": SECRET})
    assert SECRET not in api._shown_url(api.url_for("x"), {"apikey": SECRET})
    _assert_hidden(api)


def test_bearer_token_header() -> None:
    api = RESTResource(base_url="https://h/", bearer_token=SECRET)
    assert api._auth() == ({"Authorization": f"Bearer {SECRET}"}, {})
    assert api.get_metadata()["auth"] == "bearer"
    _assert_hidden(api)


def test_custom_api_key_name_is_masked_in_shown_urls() -> None:
    api = RESTResource(
        base_url="https://h/", api_key=SECRET, api_key_name="appid", api_key_in="query"
    )
    shown = api._shown_url("https://h/x?appid=" + SECRET, {"q": "1"})
    assert SECRET not in shown
    assert "q=1" in shown


def test_secret_looking_headers_are_kept_masked() -> None:
    api = RESTResource(
        base_url="https://h/", headers={"Authorization": f"Token {SECRET}", "X-Trace": "on"}
    )
    assert api.headers == {"X-Trace": "on"}
    assert api.secret_headers["Authorization"].get_secret_value() == f"Token {SECRET}"
    _assert_hidden(api)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({}, "base_url"),
        ({"base_url": "ftp://h/"}, "http"),
        ({"base_url": "https://h/", "bearer_token": "t", "username": "u"}, "not both"),
        ({"base_url": "https://h/", "password": "p"}, "without username"),
        ({"base_url": "https://h/", "auth_params": {"cookie": "x"}}, "unknown auth_params"),
        ({"base_url": "https://h/", "endpoint": "https://other/"}, "not both"),
        ({"base_url": "https://h/", "headers": {"Bad Name": "x"}}, "header name"),
        ({"base_url": "https://h/", "headers": {"X": "a\r\nInjected: 1"}}, "control"),
        ({"base_url": "https://h/", "endpoints": {"evil": "//evil.com/"}}, "scheme-relative"),
        ({"base_url": "https://h/", "health_path": "../admin"}, "'..'"),
        ({"base_url": "https://h/", "pool_size": 0}, "pool_size"),
        ({"base_url": "https://h/", "api_key_in": "cookie"}, "api_key_in"),
        ({"base_url": "https://h/", "max_retries": -1}, "max_retries"),
        ({"base_url": "https://h/", "timeout": 0}, "timeout"),
    ],
)
def test_bad_parameters_are_configuration_errors(kwargs: dict[str, Any], reason: str) -> None:
    with pytest.raises(XResourceConfigurationError, match=reason):
        ResourceFactory.create("rest", **kwargs)


def test_parameter_errors_do_not_echo_secrets() -> None:
    with pytest.raises(XResourceConfigurationError) as info:
        ResourceFactory.create(
            "rest", base_url="https://h/", bearer_token=SECRET, username="u", password=SECRET
        )
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("path", ["//evil.com/x", "https://evil.com/", "../up", "a\nb"])
def test_url_for_refuses_escapes(path: str) -> None:
    api = RESTResource(base_url="https://api.example.com/v1")
    with pytest.raises(XResourceValidationError, match="build url"):
        api.url_for(path)


async def test_bad_request_arguments_fail_before_any_io() -> None:
    api = RESTResource(base_url="https://api.example.com/v1")
    with pytest.raises(XResourceValidationError, match="unsupported HTTP method"):
        await api.request("TRACE", "/x")
    with pytest.raises(XResourceValidationError, match="json or data"):
        await api.request("POST", "/x", json={"a": 1}, data=b"x")
    with pytest.raises(XResourceValidationError, match="not JSON-serializable"):
        await api.post("/x", json={"when": object()})
    with pytest.raises(XResourceValidationError, match="query parameter 'q'"):
        await api.get("/x", params={"q": [1, 2]})
    with pytest.raises(XResourceValidationError, match="control characters"):
        await api.get("/x", headers={"X-A": "1\r\nX-B: 2"})
    with pytest.raises(XResourceValidationError, match="outside the base"):
        await api.get("https://evil.com/v1/x")
    assert not api.is_connected


async def test_endpoints_listing() -> None:
    api = RESTResource(base_url="https://h/", endpoints={"users": "/users", "orders": "orders"})
    assert await api.list_collections_or_tables() == ["users", "orders"]
    assert api.endpoint_path("users") == "/users"
    assert await RESTResource(base_url="https://h/").list_collections_or_tables() == []
    from xresource import XResourceNotFoundError

    with pytest.raises(XResourceNotFoundError, match="no endpoint named 'nope'"):
        api.endpoint_path("nope")


def test_secret_query_parameters_are_kept_masked() -> None:
    api = RESTResource(
        base_url=f"https://h/v1?api_key={SECRET}&token={SECRET}t&lang=en",
        default_params={"session_key": SECRET + "s", "page_size": "50"},
    )
    assert api.api_key is not None
    assert api.api_key.get_secret_value() == SECRET
    assert api.default_params == {"lang": "en", "page_size": "50"}
    assert set(api.secret_params) == {"token", "session_key"}
    _assert_hidden(api)
    query = api._query(api.url_for("x"), None, "GET")
    assert query == {
        "lang": "en",
        "page_size": "50",
        "token": SECRET + "t",
        "session_key": SECRET + "s",
        "api_key": SECRET,
    }
    shown = api._shown_url(api.url_for("x"), query)
    assert SECRET not in shown
    assert "lang=en" in shown


def test_assignments_cannot_bring_secrets_into_plain_fields() -> None:
    from pydantic import ValidationError

    api = RESTResource(base_url="https://h/")
    with pytest.raises(ValidationError, match="looks secret"):
        api.headers = {"Authorization": f"Bearer {SECRET}"}
    with pytest.raises(ValidationError, match="looks secret"):
        api.default_params = {"access_token": SECRET}
    with pytest.raises(ValidationError, match="credentials"):
        api.base_url = f"https://u:{SECRET}@h/"
    assert api.headers == {}
    _assert_hidden(api)
