"""Parsing of resource URLs (``postgresql://user:pw@host/db``, ``file:///data/x.csv``...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from xobj_prototype import redact, redact_url
from xresource.errors import XResourceConfigurationError

__all__ = ["ParsedURL", "parse_url"]


@dataclass(frozen=True, repr=False)
class ParsedURL:
    """The parts of a resource URL; the password is a ``SecretStr`` and never printed."""

    scheme: str
    username: str | None = None
    password: SecretStr | None = None
    host: str | None = None
    port: int | None = None
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    fragment: str = ""
    raw: str = field(default="", repr=False)

    @property
    def database(self) -> str | None:
        """The first path segment (``/test`` -> ``test``), for database URLs."""
        db = self.path.lstrip("/").split("/", 1)[0]
        return db or None

    @property
    def redacted(self) -> str:
        """The URL with its password and secret parameters masked, for messages."""
        return redact_url(self.raw)

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        # The dataclass repr would print query values such as ``?api_key=...`` as they are.
        fields = ", ".join(
            f"{name}={value!r}"
            for name, value in (
                ("scheme", self.scheme),
                ("username", self.username),
                ("password", self.password),
                ("host", self.host),
                ("port", self.port),
                ("path", self.path),
                ("query", redact(self.query)),
                ("fragment", self.fragment),
            )
        )
        return f"ParsedURL({fields})"


def parse_url(url: str) -> ParsedURL:
    """Split ``url`` into its parts; ``XResourceConfigurationError`` when it is malformed.

    A bare path (``data/orders.csv``) is read as ``file:`` URL.

    >>> parse_url("postgresql://app:pw@db.internal:5433/sales?sslmode=require").database
    'sales'
    """
    if not isinstance(url, str) or not url.strip():
        raise XResourceConfigurationError(
            "a resource URL must be a non-empty string", operation="parse url"
        )
    if any(ord(c) < 32 for c in url):
        raise XResourceConfigurationError(
            "resource URL contains control characters", operation="parse url"
        )
    text = url.strip()
    if "://" not in text:
        if (
            ":" in text.split("/", 1)[0]
            and not text.startswith(("/", "."))
            and len(text.split(":", 1)[0]) > 1
        ):
            raise XResourceConfigurationError(
                f"malformed resource URL {redact_url(text)!r}: expected scheme://...",
                operation="parse url",
            )
        # A bare path takes options like a file: URL does (data.csv?delimiter=;).
        path, _, query = text.partition("?")
        return ParsedURL(
            scheme="file",
            path=path,
            query=dict(parse_qsl(query, keep_blank_values=True)),
            raw=text,
        )
    try:
        parts = urlsplit(text)
        hostport = parts.netloc.rpartition("@")[2]
        # MongoDB and Kafka list several hosts (h1:27017,h2:27017): no single port, keep them all.
        multi_host = "," in hostport
        port = None if multi_host else parts.port
    except ValueError as exc:
        raise XResourceConfigurationError(
            f"malformed resource URL {redact_url(text)!r}: {exc}", operation="parse url"
        ) from None
    if not parts.scheme:
        raise XResourceConfigurationError(
            f"resource URL {redact_url(text)!r} has no scheme", operation="parse url"
        )
    password = SecretStr(unquote(parts.password)) if parts.password is not None else None
    path = unquote(parts.path)
    if parts.scheme == "file" and parts.netloc and parts.netloc != "localhost":
        # file://relative/x.csv is a common slip for file:///relative/x.csv
        path = str(PurePosixPath(parts.netloc) / path.lstrip("/"))
    return ParsedURL(
        scheme=parts.scheme.lower(),
        username=unquote(parts.username) if parts.username else None,
        password=password,
        host=hostport.lower() if multi_host else parts.hostname,
        port=port,
        path=path,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        fragment=parts.fragment,
        raw=text,
    )
