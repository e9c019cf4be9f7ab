"""Joining request paths onto a REST resource's base URL, refusing every way out of it.

A path given to a request is always relative to the base URL (``/current`` under
``https://api.example.com/v1`` is ``https://api.example.com/v1/current``). Absolute URLs are
accepted only when they point inside the base (pagination ``Link`` headers carry those); anything
that would leave it (another host or port, ``//evil.com``, another scheme, ``..`` segments, encoded
dots, backslashes, control characters) raises ``ValueError`` with the reason.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["join_url", "normalize_base_url", "same_origin"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid port in {url!r}") from None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def same_origin(a: str, b: str) -> bool:
    """Whether two absolute URLs share scheme, host and port (default ports filled in)."""
    return _origin(a) == _origin(b)


def _check_text(value: str, what: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} contains control characters")
    if "\\" in value:
        raise ValueError(f"{what} contains a backslash")


def normalize_base_url(url: str) -> str:
    """``url`` checked (http/https, a host, no credentials, query or fragment), ending in ``/``.

    >>> normalize_base_url("https://api.example.com/v1")
    'https://api.example.com/v1/'
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("base_url must be a non-empty http(s) URL")
    _check_text(url, "base_url")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise ValueError("base_url must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("base_url has no host")
    if "@" in parts.netloc:
        raise ValueError(
            "base_url must not hold credentials; use username/password, bearer_token or api_key"
        )
    if parts.query or parts.fragment:
        raise ValueError("base_url must not hold a query or fragment; use default_params")
    _origin(url)  # validates the port
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    _check_segments(path, "base_url")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def _check_segments(path: str, what: str) -> None:
    for segment in path.split("/"):
        if unquote(segment).strip() in (".", ".."):
            raise ValueError(
                f"{what} contains a '.' or '..' segment, which could leave the base URL"
            )


def join_url(base: str, path: str) -> str:
    """The URL of ``path`` under ``base`` (a :func:`normalize_base_url` result).

    >>> join_url("https://api.example.com/v1/", "/users/7?full=1")
    'https://api.example.com/v1/users/7?full=1'
    >>> join_url("https://api.example.com/v1/", "//evil.com/x")
    Traceback (most recent call last):
    ValueError: path '//evil.com/x' is scheme-relative (//host): it would leave the base URL
    """
    if not isinstance(path, str):
        raise ValueError(f"path must be a string, got {type(path).__name__}")
    _check_text(path, f"path {path[:80]!r}")
    if path.startswith("//"):
        raise ValueError(
            f"path {path[:80]!r} is scheme-relative (//host): it would leave the base URL"
        )
    if _SCHEME.match(path):
        parts = urlsplit(path)
        if parts.scheme.lower() not in _DEFAULT_PORTS or not same_origin(path, base):
            raise ValueError(
                f"URL {_shown(path)!r} is outside the base URL {base!r}; only "
                "paths under it may be requested"
            )
        if "@" in parts.netloc:
            raise ValueError("a request URL must not hold credentials")
        base_path = urlsplit(base).path
        if not (parts.path + "/").startswith(base_path):
            raise ValueError(f"URL {_shown(path)!r} is outside the base URL {base!r}")
        _check_segments(parts.path, "URL")
        return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))
    rel, _, query = path.partition("#")[0].partition("?")
    while rel.startswith(("./", "/")):
        rel = rel[2:] if rel.startswith("./") else rel[1:]
    _check_segments(rel, f"path {path[:80]!r}")
    url = base + rel
    return f"{url}?{query}" if query else url


def _shown(url: str) -> str:
    from xobj_prototype import redact_url

    return redact_url(url)[:200]
