"""One HTTP exchange of a REST resource: authentication headers and query, the request's
headers and URL (shown redacted), one attempt with its redirects, reading the body (large JSON
parsed in a thread) and the ``XResourceError`` an HTTP error status becomes."""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import PrivateAttr

from xobj_prototype import redact_text, redact_url
from xresource.errors import (
    XResourceAuthenticationError,
    XResourceConnectionError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.network._rest_settings import _RESTSettings
from xresource.network.auth import auth_headers_and_params
from xresource.network.pagination import RESTResponse
from xresource.network.urls import same_origin

__all__: list[str] = []

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Bodies larger than this are parsed in a thread so that the event loop keeps running.
_THREAD_PARSE_BYTES = 1 << 20


def _decode(raw: bytes, charset: str | None) -> str:
    """Text of a body; an unknown charset falls back to UTF-8 instead of failing."""
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _message_of(data: Any, text: str) -> str:
    """The human-readable reason in an error body (``message``, ``error``, ``detail``...)."""
    if isinstance(data, Mapping):
        for key in ("message", "error_description", "error", "detail", "title", "errors"):
            value = data.get(key)
            if isinstance(value, Mapping):
                value = value.get("message") or value.get("detail") or value
            if isinstance(value, list) and value:
                value = "; ".join(
                    str(v.get("msg") or v.get("message") or v) if isinstance(v, Mapping) else str(v)
                    for v in value[:5]
                )
            if value:
                return str(value)
    return text.strip()


class _RESTExchange(_RESTSettings):
    """Request building and response reading of :class:`~xresource.network.RESTResource`."""

    _session: aiohttp.ClientSession | None = PrivateAttr(default=None)

    def _auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return auth_headers_and_params(
            bearer_token=self.bearer_token,
            api_key=self.api_key,
            api_key_name=self.api_key_name,
            api_key_in=self.api_key_in,
            username=self.username,
            password=self.password,
        )

    def _query(self, url: str, params: Mapping[str, Any] | None, op: str) -> dict[str, str]:
        in_url = {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        query = {k: v for k, v in self.default_params.items() if k not in in_url}
        query.update(
            {k: v.get_secret_value() for k, v in self.secret_params.items() if k not in in_url}
        )
        if params is not None:
            if not isinstance(params, Mapping):
                raise XResourceValidationError(
                    f"params must be a mapping, got {type(params).__name__}",
                    resource=self.display_name,
                    operation=op,
                )
            for key, value in params.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif not isinstance(value, str | int | float):
                    raise XResourceValidationError(
                        f"query parameter {key!r} must be a string or number, got "
                        f"{type(value).__name__}",
                        resource=self.display_name,
                        operation=op,
                    )
                query[str(key)] = str(value)
        _, auth_params = self._auth()
        # A next link may echo the key already: sending it twice would confuse servers.
        query.update({k: v for k, v in auth_params.items() if k not in in_url})
        return query

    def _request_headers(self, headers: Mapping[str, str] | None, op: str) -> dict[str, str]:
        if headers is None:
            return {}
        if not isinstance(headers, Mapping):
            raise XResourceValidationError(
                "headers must be a mapping", resource=self.display_name, operation=op
            )
        out = {}
        for key, value in headers.items():
            if (
                not isinstance(key, str)
                or not isinstance(value, str)
                or any(ord(c) < 32 and c != "\t" for c in key + value)
            ):
                raise XResourceValidationError(
                    f"header {str(key)[:40]!r} must be a string without control characters",
                    resource=self.display_name,
                    operation=op,
                )
            out[key] = value
        return out

    def _shown_url(self, url: str, params: Mapping[str, str] | None = None) -> str:
        """``url`` (plus ``params``) for messages: API key and secret parameters masked."""
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True) + list((params or {}).items())
        hidden = {self.api_key_name, *self.secret_params}
        shown = [(k, "**********" if k in hidden else v) for k, v in pairs]
        query = "&".join(f"{k}={v}" for k, v in shown)
        return redact_url(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))

    async def _once(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        query: dict[str, str],
        body: bytes | str | None,
        headers: dict[str, str],
        client_timeout: aiohttp.ClientTimeout | None,
    ) -> RESTResponse:
        """One request, following redirects only within the base URL's origin."""
        kwargs: dict[str, Any] = {"timeout": client_timeout} if client_timeout else {}
        for _ in range(self.max_redirects + 1):
            async with session.request(
                method,
                url,
                params=query or None,
                data=body,
                headers=headers,
                allow_redirects=False,
                **kwargs,
            ) as resp:
                location = resp.headers.get("Location")
                if resp.status in _REDIRECTS and location:
                    target = urljoin(str(resp.url), location)
                    if not same_origin(target, self.base_url):
                        raise XResourceQueryError(
                            f"{method} {self._shown_url(url, query)} redirected to another "
                            f"origin ({redact_url(target)[:200]}); refused, credentials stay "
                            "with the base URL's host",
                            resource=self.display_name,
                            operation=method,
                        )
                    if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    url, query = target, {}
                    continue
                return await self._read(resp)
        raise XResourceQueryError(
            f"{method} {self._shown_url(url)}: more than {self.max_redirects} redirects",
            resource=self.display_name,
            operation=method,
        )

    async def _read(self, resp: aiohttp.ClientResponse) -> RESTResponse:
        raw = await resp.read()
        headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict(resp.headers))
        data: Any = None
        if raw:
            ctype = resp.content_type or ""
            if ctype == "application/json" or ctype.endswith("+json"):
                try:
                    if len(raw) > _THREAD_PARSE_BYTES:
                        data = await asyncio.to_thread(jsonlib.loads, raw)
                    else:
                        data = jsonlib.loads(raw)
                except ValueError:
                    if resp.status < 400:
                        raise XResourceQueryError(
                            f"{resp.method} {self._shown_url(str(resp.url))} answered invalid JSON",
                            resource=self.display_name,
                            operation=resp.method,
                        ) from None
                    data = _decode(raw, resp.charset)
            else:
                data = _decode(raw, resp.charset)
        links = {
            rel: str(link.get("url")) for rel, link in resp.links.items() if isinstance(rel, str)
        }
        return RESTResponse(
            status=resp.status,
            headers=headers,
            data=data,
            url=self._shown_url(str(resp.url)),
            links=links,
        )

    def _raise_for_status(self, method: str, response: RESTResponse) -> NoReturn:
        status, url = response.status, response.url
        text = response.data if isinstance(response.data, str) else ""
        reason = redact_text(_message_of(response.data, text))[:500]
        said = f": {reason}" if reason else ""
        kw: dict[str, Any] = {
            "resource": self.display_name,
            "operation": method,
            "details": {"status": status},
        }
        if status in (401, 403):
            raise XResourceAuthenticationError(
                f"{method} {url} was refused with HTTP {status}{said}; check the credentials "
                "and their permissions",
                **kw,
            )
        if status in (404, 410):
            raise XResourceNotFoundError(
                f"{method} {url} does not exist (HTTP {status}){said}", **kw
            )
        if status in (408, 504):
            raise XResourceTimeoutError(
                f"{method} {url} timed out on the server side (HTTP {status}){said}", **kw
            )
        if status == 429:
            raise XResourceConnectionError(
                f"{method} {url} is rate limited (HTTP 429, Retry-After "
                f"{response.headers.get('Retry-After', 'not given')}){said}",
                **kw,
            )
        if status == 409:
            raise XResourceIntegrityError(
                f"{method} {url} conflicts with the server's state (HTTP 409){said}", **kw
            )
        if status in (400, 422):
            raise XResourceValidationError(
                f"{method} {url} rejected the request (HTTP {status}){said}", **kw
            )
        if status >= 500:
            raise XResourceConnectionError(
                f"{method} {url} failed on the server (HTTP {status}){said}", **kw
            )
        raise XResourceQueryError(f"{method} {url} failed with HTTP {status}{said}", **kw)
