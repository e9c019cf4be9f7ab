"""``broker_params``: the constructor parameters that the broker stream URLs have in common."""

from __future__ import annotations

from typing import Any

from xresource.url import ParsedURL

__all__ = ["broker_params"]


def broker_params(
    url: ParsedURL,
    *,
    port: int,
    tls: bool,
    tls_field: str,
    query: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Host (default loopback), ``port`` when the URL has none, the TLS flag under ``tls_field``,
    username/password when present and the ``query`` options the URL carries.

    Examples:
        >>> from xresource.url import parse_url
        >>> broker_params(parse_url("mqtt://h?qos=1"), port=1883, tls=False, tls_field="tls",
        ...               query=("qos",))
        {'host': 'h', 'port': 1883, 'tls': False, 'qos': '1'}
    """
    params: dict[str, Any] = {"host": url.host or "127.0.0.1", "port": url.port or port}
    params[tls_field] = tls
    if url.username:
        params["username"] = url.username
    if url.password is not None:
        params["password"] = url.password
    for name in query:
        if name in url.query:
            params[name] = url.query[name]
    return params
