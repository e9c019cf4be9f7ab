"""Masking of secrets in URLs, mappings and free text.

One implementation for the whole stack: resources, repositories and registries all route their
metadata, error details and log lines through :func:`redact` before anything leaves the process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from pydantic import SecretBytes, SecretStr

__all__ = ["MASK", "is_secret_key", "redact", "redact_text", "redact_url"]

MASK = "**********"

# Key names whose values are secrets wherever they appear (query strings, dicts, headers).
_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api[-_]?key|apikey|auth(orization)?|credential|private[-_]?key|"
    r"access[-_]?key|session[-_]?key|cookie|signature|sasl_plain_password)",
    re.IGNORECASE,
)
# user:password@ inside any URL-looking text.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
# key=value pairs in query strings or DSNs whose key looks secret.
_KV_SECRET = re.compile(
    r"(?P<key>\b[\w-]*(?:pass(?:word|wd)?|secret|token|api[-_]?key|apikey)[\w-]*)=(?P<val>[^&\s;]+)",
    re.IGNORECASE,
)
# "Bearer abc.def" in headers or messages.
_BEARER = re.compile(r"(?P<kind>\b(?:Bearer|Basic))\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (``password``, ``api_key``, ``Authorization``...)."""
    return bool(_SECRET_KEY.search(key))


def redact_url(url: str) -> str:
    """Mask the password and secret query parameters of a URL; other parts stay readable.

    >>> redact_url("postgresql://app:s3cret@db:5432/main?sslmode=require&token=abc")
    'postgresql://app:**********@db:5432/main?sslmode=require&token=**********'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostport}"
    query = _KV_SECRET.sub(lambda m: f"{m['key']}={MASK}", parts.query)
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Mask URL passwords, ``key=value`` secrets and bearer tokens inside free text."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _KV_SECRET.sub(lambda m: f"{m['key']}={MASK}", text)
    return _BEARER.sub(lambda m: f"{m['kind']} {MASK}", text)


def redact(value: Any, *, _depth: int = 0) -> Any:
    """Return a copy of ``value`` with every secret masked.

    Mapping values under secret-looking keys become :data:`MASK`; strings are scrubbed with
    :func:`redact_text`; ``SecretStr``/``SecretBytes`` are masked; sequences and nested mappings are
    walked (to a bounded depth, so a cyclic structure cannot hang a log call).
    """
    if _depth > 20:
        return "..."
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) and v not in (None, "") else
                redact(v, _depth=_depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return type(value)(redact(v, _depth=_depth + 1) for v in value) if isinstance(
            value, list | tuple) else [redact(v, _depth=_depth + 1) for v in value]
    return value
