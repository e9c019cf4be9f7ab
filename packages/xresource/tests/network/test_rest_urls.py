"""Joining request paths onto a base URL, and refusing every path that would leave it."""

from __future__ import annotations

import pytest

from xresource.network.urls import join_url, normalize_base_url, same_origin

BASE = "https://api.example.com/v1/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://api.example.com/v1", BASE),
        ("https://API.Example.com/v1/", BASE),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("  https://api.example.com  ", "https://api.example.com/"),
    ],
)
def test_normalize_base_url(raw: str, expected: str) -> None:
    assert normalize_base_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "non-empty"),
        ("ftp://files.example.com", "http:// or https://"),
        ("api.example.com/v1", "http:// or https://"),
        ("https:///v1", "no host"),
        ("https://u:pw@api.example.com", "credentials"),
        ("https://api.example.com/v1?key=1", "query"),
        ("https://api.example.com/v1#frag", "query or fragment"),
        ("https://api.example.com:99999/", "port"),
        ("https://api.example.com/v1/../admin", "'..'"),
        ("https://api.example.com/v1\n", "control"),
    ],
)
def test_bad_base_urls(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_base_url(raw)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", BASE),
        ("/", BASE),
        ("users", BASE + "users"),
        ("/users/7", BASE + "users/7"),
        ("users/7?full=1&x=a%20b", BASE + "users/7?full=1&x=a%20b"),
        ("./things:batchGet", BASE + "things:batchGet"),
        ("users#section", BASE + "users"),
        ("a%2Fb", BASE + "a%2Fb"),
        ("https://api.example.com/v1/users?page=2", BASE + "users?page=2"),
        ("https://api.example.com:443/v1/users", "https://api.example.com:443/v1/users"),
        ("https://API.example.com/v1", "https://api.example.com/v1"),
    ],
)
def test_join_inside_the_base(path: str, expected: str) -> None:
    assert join_url(BASE, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "//evil.com/steal",
        "//evil.com",
        "https://evil.com/v1/users",
        "http://api.example.com/v1/users",  # scheme change (downgrade)
        "https://api.example.com:8443/v1/users",  # other port
        "https://api.example.com/v2/users",  # other prefix on the same host
        "https://api.example.com/v1evil",
        "https://u:pw@api.example.com/v1/x",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "mailto:x@example.com",
        "things:batchGet",  # reads as a scheme: './things:batchGet' is the way
        "../admin",
        "users/../../admin",
        "%2e%2e/admin",
        "users/%2E%2E/%2e%2e/admin",
        "./../admin",
        "\\\\evil.com\\x",
        "/users\r\nX-Injected: 1",
        "users\x00",
    ],
)
def test_join_refuses_escapes(path: str) -> None:
    with pytest.raises(ValueError):
        join_url(BASE, path)


def test_join_refuses_non_strings() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        join_url(BASE, 42)  # type: ignore[arg-type]


def test_refusal_message_hides_credentials() -> None:
    with pytest.raises(ValueError) as info:
        join_url(BASE, "https://u:hunter2@evil.com/")
    assert "hunter2" not in str(info.value)


def test_same_origin_fills_default_ports() -> None:
    assert same_origin("https://a.com/x", "https://a.com:443/y")
    assert same_origin("http://A.com/x", "http://a.com:80/")
    assert not same_origin("https://a.com/", "http://a.com/")
    assert not same_origin("https://a.com/", "https://b.com/")
