"""Credentials of a MongoDB URI: the password, the user and the query options whose names look
secret are cut out of ``connection_string`` (into ``password``/``user``/``secret_options``) before
any field, and so any ``repr``, holds them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from pydantic import SecretStr

from xobj_prototype import is_secret_key

__all__: list[str] = []

# URI options whose names look secret to the generic redactor ("auth...") but hold no secret.
_PLAIN_OPTIONS = frozenset({"authsource", "authmechanism"})


def _split_credentials(uri: str) -> tuple[str, str | None, str | None, dict[str, str]]:
    """``uri`` without user, password and secret query options, plus those parts.

    MongoDB URIs may list several hosts (``h1:27017,h2:27017``), which ``urllib`` cannot parse, so
    the authority is cut out by hand: it ends at the first ``/`` or ``?`` after ``://``.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise ValueError("a MongoDB connection string starts with mongodb:// or mongodb+srv://")
    end = min((i for i in (rest.find("/"), rest.find("?")) if i != -1), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    user = password = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        raw_user, has_pw, raw_pw = userinfo.partition(":")
        user = unquote(raw_user) or None
        password = unquote(raw_pw) if has_pw else None
    path, _, query = tail.partition("?")
    secrets: dict[str, str] = {}
    kept: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if is_secret_key(key) and key.lower() not in _PLAIN_OPTIONS:
            secrets[key] = value
        else:
            kept.append((key, value))
    # PyMongo wants a '/' between the host list and the options.
    clean = f"{scheme}://{authority}{path or ('/' if kept else '')}"
    if kept:
        clean += "?" + urlencode(kept)
    return clean, user, password, secrets


def extract_credentials(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (constructor parameters, aliases and pool options already lifted into fields)
    with the secrets of ``connection_string`` and ``options`` moved into ``user``, ``password``
    and ``secret_options``, and ``database`` taken from the URI when not given."""
    options = data.get("options")
    if isinstance(options, dict):
        hidden = {
            k: v
            for k, v in options.items()
            if is_secret_key(str(k)) and str(k).lower() not in _PLAIN_OPTIONS
        }
        if hidden:
            data["options"] = {k: v for k, v in options.items() if k not in hidden}
            data["secret_options"] = {
                **{k: str(v) for k, v in hidden.items()},
                **dict(data.get("secret_options") or {}),
            }
    if "connection_string" not in data:
        return data
    raw = data["connection_string"]
    if isinstance(raw, SecretStr):
        raw = raw.get_secret_value()
    if not isinstance(raw, str):
        raise ValueError("connection_string must be a string")
    if not raw.startswith(("mongodb://", "mongodb+srv://")):
        raise ValueError("connection_string must start with mongodb:// or mongodb+srv://")
    if any(ord(c) < 32 for c in raw):
        raise ValueError("connection_string contains control characters")
    clean, user, password, secrets = _split_credentials(raw)
    db_option = None
    if "database=" in clean:
        head, _, query = clean.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        db_option = next((v for k, v in pairs if k == "database"), None)
        rest = [(k, v) for k, v in pairs if k != "database"]
        clean = head + ("?" + urlencode(rest) if rest else "")
    data["connection_string"] = clean
    if user and not data.get("user"):
        data["user"] = user
    if password is not None and not data.get("password"):
        data["password"] = password
    if secrets:
        data["secret_options"] = {**secrets, **dict(data.get("secret_options") or {})}
    if not data.get("database"):
        path = clean.split("://", 1)[1]
        path = path.split("?", 1)[0]
        from_path = unquote(path.split("/", 1)[1]) if "/" in path else ""
        data["database"] = db_option or from_path
    return data
