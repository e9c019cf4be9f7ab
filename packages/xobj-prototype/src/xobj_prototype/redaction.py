"""Masking of secrets in URLs, mappings and free text.

One implementation for the whole stack: resources, repositories and registries all route their
metadata, error details and log lines through :func:`redact` before anything leaves the process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import Secret, SecretBytes, SecretStr

__all__ = ["MASK", "is_secret_key", "redact", "redact_text", "redact_url"]

MASK = "**********"

# Key names whose values are secrets wherever they appear (query strings, dicts, headers). "pass",
# "pwd" and "auth" count only as a whole word ("db_pass", "basic-auth"), so that "author",
# "passenger" or "bypass" stay readable.
_SECRET_KEY = re.compile(
    r"passw(?:or)?d|passphrase|secret|token|api[-_]?key|credential|private[-_]?key|"
    r"access[-_]?key|session[-_]?key|cookie|signature|authorization|"
    r"(?:^|[^a-z])(?:pass|pwd|auth)(?:[^a-z]|$)",
    re.IGNORECASE,
)
# scheme://user:password@ inside any text; the password runs to the last "@" of the authority.
_URL_USERINFO = re.compile(
    r"(?<![a-zA-Z0-9+.\-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)"
    r"(?P<user>[^:/?#@\s]*):(?P<pw>[^/?#\s]+)@"
)
# key=value (query strings, DSNs, log lines), and 'key': 'value' with a quoted value (reprs, JSON).
# Keys and schemes start only where a word starts: linear time even on a megabyte of base64.
_KV = re.compile(
    r"""(?P<q>["']?)(?<![\w.\-])(?P<key>[\w.\-]+)(?P=q)"""
    r"""(?:(?P<eq>\s*=\s*)(?P<val>"[^"]*"|'[^']*'|[^&\s;,)}\]]+)"""
    r"""|(?P<colon>\s*:\s*)(?P<qval>"[^"]*"|'[^']*'))"""
)
# Credentials of an Authorization header: any "Bearer x"; "Basic x" only when x looks like base64,
# so that prose ("Basic auth failed") is left alone.
_BEARER = re.compile(r"\b(?P<kind>Bearer)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
_BASIC = re.compile(r"\b(?P<kind>Basic)\s+[A-Za-z0-9+/]{8,}={0,2}")

_MAX_DEPTH = 20


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (``password``, ``api_key``, ``Authorization``...).

    >>> is_secret_key("db_password"), is_secret_key("X-Api-Key"), is_secret_key("author")
    (True, True, False)
    """
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


def _mask_kv(m: re.Match[str]) -> str:
    if not is_secret_key(m["key"]):
        return m[0]
    q = m["q"]
    if m["eq"] is not None:
        val = m["val"]
        quote = val[0] if val[:1] in ("'", '"') else ""
        return f"{q}{m['key']}{q}{m['eq']}{quote}{MASK}{quote}"
    quote = m["qval"][0]
    return f"{q}{m['key']}{q}{m['colon']}{quote}{MASK}{quote}"


def redact_url(url: str) -> str:
    """Mask the password and secret query parameters of a URL; other parts stay readable.

    >>> redact_url("postgresql://app:s3cret@db:5432/main?sslmode=require&token=abc")
    'postgresql://app:**********@db:5432/main?sslmode=require&token=**********'
    """
    if not isinstance(url, str):
        raise TypeError(f"redact_url expects a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host: scrub it as text
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostport}"
    query = _KV.sub(_mask_kv, parts.query)
    fragment = _KV.sub(_mask_kv, parts.fragment)
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing secret: keep the caller's spelling exactly
    # Rebuilt by hand: urlunsplit drops the empty authority of sqlite:///path and file:///path.
    head = f"{parts.scheme}:" if parts.scheme else ""
    if netloc or url[len(head) :].startswith("//"):
        head += "//" + netloc
    return head + parts.path + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


def redact_text(text: str) -> str:
    """Mask URL passwords, ``key=value`` secrets and bearer tokens inside free text.

    >>> redact_text("connect to redis://:hunter2@cache:6379 failed, api_key=abc123")
    'connect to redis://:**********@cache:6379 failed, api_key=**********'
    """
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _KV.sub(_mask_kv, text)
    text = _BEARER.sub(lambda m: f"{m['kind']} {MASK}", text)
    return _BASIC.sub(lambda m: f"{m['kind']} {MASK}", text)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _redact(value: Any, depth: int, active: set[int]) -> Any:
    if isinstance(value, SecretStr | SecretBytes | Secret):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if not isinstance(value, Mapping | Sequence | set | frozenset) or isinstance(
        value, bytes | bytearray | memoryview
    ):
        return value
    if depth >= _MAX_DEPTH or id(value) in active:
        return "..."  # too deep, or a container that holds itself
    active.add(id(value))
    try:
        if isinstance(value, Mapping):
            return {
                k: MASK if is_secret_key(k) and not _is_blank(v) else _redact(v, depth + 1, active)
                for k, v in value.items()
            }
        items = [_redact(v, depth + 1, active) for v in value]
        if isinstance(value, tuple):
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
        if isinstance(value, set | frozenset):
            return type(value)(items)
        return items
    finally:
        active.discard(id(value))


def redact(value: Any) -> Any:
    """Return a copy of ``value`` with every secret masked.

    Mapping values under secret-looking keys become :data:`MASK`; strings are scrubbed with
    :func:`redact_text`; ``SecretStr``/``SecretBytes``/``Secret`` are masked; lists, tuples
    (named ones too), sets and nested mappings are walked, to a bounded depth and without
    following a container into itself, so that a cyclic structure cannot hang a log call.

    >>> redact({"user": "app", "password": "hunter2", "dsn": "mysql://app:hunter2@db/main"})
    {'user': 'app', 'password': '**********', 'dsn': 'mysql://app:**********@db/main'}
    """
    return _redact(value, 0, set())
