"""``RESTResource``: an HTTP JSON API on one pooled ``aiohttp.ClientSession``.

One session per resource (its ``TCPConnector`` limit is ``pool_size``) keeps connections alive
between requests. Paths are relative to ``base_url`` and may never leave it. Idempotent requests
(GET, HEAD, OPTIONS, PUT, DELETE) are retried on connection errors, 5xx and 429 with exponential
backoff and jitter, honouring ``Retry-After``; POST and PATCH are sent once unless
``retry_non_idempotent=True``. HTTP errors become ``XResourceError`` subclasses with the server's
message, and credentials (bearer token, API key, basic auth) are ``SecretStr`` that no repr,
metadata or error shows.

Example::

    api = ResourceFactory.create("rest", base_url="https://api.example.com/v1",
                                 bearer_token=settings.API_TOKEN)
    async with api:
        user = await api.get("/users/7")
        async for repo in api.paginate_links("/repos", params={"per_page": 100}):
            ...
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar, Literal, NoReturn
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator

from xobj_prototype import is_secret_key, redact_text, redact_url
from xresource.__about__ import __version__
from xresource.base import ParameterAlias
from xresource.errors import (
    XResourceAuthenticationError,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceError,
    XResourceIntegrityError,
    XResourceNotFoundError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.network.auth import apply_auth_params, auth_headers_and_params
from xresource.network.base import NetworkResource
from xresource.network.pagination import RESTResponse, iter_cursor, iter_links, iter_pages
from xresource.network.retry import RETRY_STATUSES, Backoff, is_retryable_method, parse_retry_after
from xresource.network.urls import join_url, same_origin
from xresource.url import ParsedURL

__all__ = ["RESTResource", "RESTResponse"]

_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Bodies larger than this are parsed in a thread so that the event loop keeps running.
_THREAD_PARSE_BYTES = 1 << 20


async def _sleep(seconds: float) -> None:
    """The pause between attempts (a module function, so tests can record the delays)."""
    await asyncio.sleep(seconds)


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


class RESTResource(NetworkResource):
    """An HTTP JSON API.

    Parameters (fields):
        base_url: ``https://host[:port]/prefix``; every request path is relative to it
            (``endpoint`` is accepted too). Credentials and a query in the URL are moved to
            ``username``/``password`` and ``default_params`` (an API key to ``api_key``).
        headers: default headers of every request (secret-looking ones are kept masked).
        bearer_token / api_key (+ ``api_key_name``, ``api_key_in``) / username + password:
            the credentials (``auth_params={"api_key": ...}`` from the spec maps onto them).
        timeout / connect_timeout / read_timeout: seconds (``aiohttp.ClientTimeout``).
        pool_size: connections kept by the session's connector.
        max_retries, backoff_initial, backoff_max, backoff_jitter, max_retry_after,
        retry_statuses, retry_non_idempotent: the retry policy (see the module docstring).
            ``max_retries`` counts retries after the first attempt (3: up to 4 requests); the
            specification's ``retry_attempts`` is accepted for it.
        connection_timeout: ``connect_timeout`` in milliseconds (the settings files' spelling).
        health_path / health_method: what :meth:`validate_connection` requests.
        endpoints: named paths, listed by :meth:`list_collections_or_tables`.
    """

    resource_type: ClassVar[str] = "rest"
    url_schemes: ClassVar[tuple[str, ...]] = ("http", "https")
    parameter_aliases: ClassVar[Mapping[str, str | ParameterAlias]] = {
        "retry_attempts": "max_retries",
        "connection_timeout": ParameterAlias("connect_timeout", 0.001),
    }

    headers: dict[str, str] = Field(default_factory=dict)
    secret_headers: dict[str, SecretStr] = Field(default_factory=dict)
    secret_params: dict[str, SecretStr] = Field(
        default_factory=dict, description="Secret query parameters sent with every request."
    )
    default_params: dict[str, str] = Field(
        default_factory=dict, description="Query parameters sent with every request."
    )
    bearer_token: SecretStr | None = None
    api_key: SecretStr | None = None
    api_key_name: str = Field(default="X-API-Key", min_length=1)
    api_key_in: Literal["header", "query"] = "header"
    username: str | None = None
    password: SecretStr | None = None
    read_timeout: float | None = Field(default=None, gt=0)
    pool_size: int = Field(default=10, ge=1, le=1000)
    max_retries: int = Field(default=3, ge=0, le=20)
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=10.0, gt=0)
    backoff_jitter: float = Field(default=0.5, ge=0, le=1)
    max_retry_after: float = Field(
        default=60.0, ge=0, description="Longest Retry-After honoured; a longer one fails at once."
    )
    retry_statuses: frozenset[int] = RETRY_STATUSES
    retry_non_idempotent: bool = False
    max_redirects: int = Field(default=5, ge=0, le=30)
    verify_ssl: bool = True
    health_path: str = ""
    health_method: Literal["HEAD", "GET"] = "HEAD"
    endpoints: dict[str, str] = Field(default_factory=dict)
    user_agent: str = f"xresource/{__version__}"

    _session: aiohttp.ClientSession | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _normalize_input(cls, data: Any) -> Any:
        # Runs before any field is stored: secrets never sit in a plain-text field.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "endpoint" in data:
            endpoint = data.pop("endpoint")
            if data.setdefault("base_url", endpoint) != endpoint:
                raise ValueError("give base_url or endpoint, not both")
        apply_auth_params(data)
        base = data.get("base_url")
        if isinstance(base, str):
            parts = urlsplit(base.strip())
            netloc = parts.netloc
            if "@" in netloc:
                userinfo, _, netloc = netloc.rpartition("@")
                user, has_pw, pw = userinfo.partition(":")
                data.setdefault("username", unquote(user) or None)
                if has_pw:
                    data.setdefault("password", unquote(pw))
            params = dict(data.get("default_params") or {})
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                if is_secret_key(key) and "api_key" not in data:
                    data["api_key"], data["api_key_name"], data["api_key_in"] = value, key, "query"
                else:
                    params.setdefault(key, value)
            if params:
                data["default_params"] = params
            data["base_url"] = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        params = data.get("default_params")
        if isinstance(params, Mapping):
            secret_params = {k: v for k, v in params.items() if is_secret_key(str(k))}
            data["default_params"] = {k: v for k, v in params.items() if k not in secret_params}
            if secret_params:
                data["secret_params"] = {**secret_params, **dict(data.get("secret_params") or {})}
        headers = data.get("headers")
        if isinstance(headers, Mapping):
            plain = {k: v for k, v in headers.items() if not is_secret_key(str(k))}
            secret = {k: v for k, v in headers.items() if is_secret_key(str(k))}
            data["headers"] = plain
            if secret:
                data["secret_headers"] = {**secret, **dict(data.get("secret_headers") or {})}
        return data

    @field_validator("headers", "default_params", mode="after")
    @classmethod
    def _no_plain_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        # Construction moves secret-looking entries aside; a later assignment must not add one.
        for key in value:
            if is_secret_key(key):
                raise ValueError(
                    f"{key!r} looks secret: give it through secret_headers, "
                    "secret_params, bearer_token or api_key"
                )
        return value

    @field_validator("headers", "secret_headers", mode="after")
    @classmethod
    def _check_headers(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            text = item.get_secret_value() if isinstance(item, SecretStr) else item
            if not key or any(ord(c) < 33 or c in ':()<>@,;"/[]?={}\\' for c in key):
                raise ValueError(f"invalid header name {key!r}")
            if any(ord(c) < 32 and c != "\t" for c in text):
                raise ValueError(f"header {key!r} contains control characters")
        return value

    @field_validator("endpoints", mode="after")
    @classmethod
    def _check_endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            join_url("http://check.invalid/", path)  # refuses paths that leave the base
            if not name:
                raise ValueError("endpoint names must not be empty")
        return value

    @model_validator(mode="after")
    def _check_auth(self) -> RESTResource:
        if self.bearer_token is not None and self.username is not None:
            raise ValueError(
                "give bearer_token or username/password, not both (both would set "
                "the Authorization header)"
            )
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        join_url(self.base_url, self.health_path)
        return self

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def params_from_url(cls, url: ParsedURL) -> dict[str, Any]:
        """``https://[user:pw@]host[:port]/prefix[?api_key=...&x=1]``."""
        if url.scheme not in cls.url_schemes:
            raise XResourceConfigurationError(
                f"{url.redacted!r} is not an http(s) URL", operation="from_url"
            )
        return {"base_url": url.raw.partition("#")[0]}

    # -- lifecycle -----------------------------------------------------------------------------
    async def _connect(self) -> None:
        auth_headers, _ = self._auth()
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "application/json",
            **self.headers,
            **{k: v.get_secret_value() for k, v in self.secret_headers.items()},
            **auth_headers,
        }
        connector = aiohttp.TCPConnector(
            limit=self.pool_size,
            limit_per_host=self.pool_size,
            ssl=self.verify_ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=headers,
            raise_for_status=False,
            timeout=aiohttp.ClientTimeout(
                total=self.timeout, connect=self.connect_timeout, sock_read=self.read_timeout
            ),
        )

    async def _disconnect(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def validate_connection(self) -> bool:
        """``True`` when ``health_method`` of ``health_path`` answers below 400 (HEAD falls back
        to GET on 405); never raises."""
        try:
            response = await self.request(
                self.health_method,
                self.health_path,
                envelope=True,
                retries=0,
                raise_for_status=False,
            )
            if response.status == 405 and self.health_method == "HEAD":
                response = await self.request(
                    "GET", self.health_path, envelope=True, retries=0, raise_for_status=False
                )
        except XResourceError:
            return False
        status: int = response.status
        return status < 400

    async def list_collections_or_tables(self) -> list[str]:
        """The names of the configured ``endpoints`` (none configured: ``[]``)."""
        return list(self.endpoints)

    def endpoint_path(self, name: str) -> str:
        """The path configured for endpoint ``name``."""
        try:
            return self.endpoints[name]
        except KeyError:
            raise XResourceNotFoundError(
                f"no endpoint named {name!r}; configured: {', '.join(self.endpoints) or 'none'}",
                resource=self.display_name,
                operation="endpoint",
            ) from None

    def get_metadata(self) -> dict[str, Any]:
        """Type, name, base URL, auth kind (never its value), timeouts, retry policy."""
        meta = super().get_metadata()
        meta["auth"] = (
            "bearer"
            if self.bearer_token
            else "basic"
            if self.username
            else f"api_key ({self.api_key_in})"
            if self.api_key
            else None
        )
        meta["retry_statuses"] = sorted(self.retry_statuses)
        return meta

    # -- requests ----------------------------------------------------------------------------------
    def url_for(self, path: str = "") -> str:
        """The absolute URL of ``path``; ``XResourceValidationError`` when it leaves the base."""
        try:
            return join_url(self.base_url, path)
        except ValueError as exc:
            raise XResourceValidationError(
                str(exc), resource=self.display_name, operation="build url"
            ) from None

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        envelope: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 - handed to aiohttp's ClientTimeout
        retries: int | None = None,
        raise_for_status: bool = True,
    ) -> Any:
        """Send one request (with retries where allowed) and return the parsed body.

        The body is JSON-decoded when the response says it is JSON, text otherwise, ``None``
        when empty. ``envelope=True`` returns a :class:`RESTResponse` with status and headers.
        """
        verb = method.upper() if isinstance(method, str) else ""
        if verb not in _METHODS:
            raise XResourceValidationError(
                f"unsupported HTTP method {method!r}; use one of {', '.join(sorted(_METHODS))}",
                resource=self.display_name,
                operation="request",
            )
        if json is not None and data is not None:
            raise XResourceValidationError(
                "give json or data, not both", resource=self.display_name, operation=verb
            )
        url = self.url_for(path)
        query = self._query(url, params, verb)
        extra = self._request_headers(headers, verb)
        body: bytes | str | None = data
        if json is not None:
            try:
                body = jsonlib.dumps(json, ensure_ascii=False, allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise XResourceValidationError(
                    f"request body is not JSON-serializable: {exc}",
                    resource=self.display_name,
                    operation=verb,
                ) from None
            extra.setdefault("Content-Type", "application/json")
        response = await self._send(verb, url, query, body, extra, timeout, retries)
        if raise_for_status and response.status >= 400:
            self._raise_for_status(verb, response)
        return response if envelope else response.data

    async def get(
        self, path: str = "", *, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """``GET path`` (see :meth:`request`)."""
        return await self.request("GET", path, params=params, **kwargs)

    async def post(self, path: str = "", *, json: Any = None, **kwargs: Any) -> Any:
        """``POST path`` with a JSON body (sent once unless ``retry_non_idempotent``)."""
        return await self.request("POST", path, json=json, **kwargs)

    async def put(self, path: str = "", *, json: Any = None, **kwargs: Any) -> Any:
        """``PUT path`` with a JSON body."""
        return await self.request("PUT", path, json=json, **kwargs)

    async def patch(self, path: str = "", *, json: Any = None, **kwargs: Any) -> Any:
        """``PATCH path`` with a JSON body (sent once unless ``retry_non_idempotent``)."""
        return await self.request("PATCH", path, json=json, **kwargs)

    async def delete(self, path: str = "", **kwargs: Any) -> Any:
        """``DELETE path``."""
        return await self.request("DELETE", path, **kwargs)

    # -- pagination ------------------------------------------------------------------------------
    async def _fetch_page(self, path: str, params: dict[str, Any]) -> RESTResponse:
        response: RESTResponse = await self.request("GET", path, params=params, envelope=True)
        return response

    def paginate_pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        page_param: str = "page",
        per_page_param: str | None = "per_page",
        per_page: int | None = 100,
        start_page: int = 1,
        items_path: str | None = None,
        total_path: str | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[Any]:
        """Items of a page-numbered collection (``?page=N&per_page=M``), page after page.

        Stops at an empty page or when ``total_path`` (total item count) is reached.
        ``items_path`` is the dotted path of the item list in each page (``None``: the page is
        the list).
        """
        return iter_pages(
            self._fetch_page,
            path,
            params=params,
            page_param=page_param,
            per_page_param=per_page_param,
            per_page=per_page,
            start_page=start_page,
            items_path=items_path,
            total_path=total_path,
            max_pages=max_pages,
        )

    def paginate_cursor(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        cursor_param: str = "cursor",
        next_cursor_path: str = "next_cursor",
        items_path: str | None = "items",
        initial_cursor: str | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[Any]:
        """Items of a cursor-paginated collection: ``?cursor=<value at next_cursor_path>``
        until the next cursor is missing or empty."""
        return iter_cursor(
            self._fetch_page,
            path,
            params=params,
            cursor_param=cursor_param,
            next_cursor_path=next_cursor_path,
            items_path=items_path,
            initial_cursor=initial_cursor,
            max_pages=max_pages,
        )

    def paginate_links(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        items_path: str | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[Any]:
        """Items of a collection paginated by ``Link: <url>; rel="next"`` headers (GitHub
        style); next links must stay under ``base_url``."""
        return iter_links(
            self._fetch_page, path, params=params, items_path=items_path, max_pages=max_pages
        )

    # -- internals -------------------------------------------------------------------------------
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

    async def _send(
        self,
        method: str,
        url: str,
        query: dict[str, str],
        body: bytes | str | None,
        headers: dict[str, str],
        seconds: float | None,
        retries: int | None,
    ) -> RESTResponse:
        await self.ensure_connected()
        session = self._session
        assert session is not None
        retryable = is_retryable_method(method, retry_non_idempotent=self.retry_non_idempotent)
        budget = (self.max_retries if retries is None else retries) if retryable else 0
        backoff = Backoff(
            initial=self.backoff_initial,
            maximum=self.backoff_max,
            max_attempts=max(budget, 1),
            jitter=self.backoff_jitter,
        )
        client_timeout = (
            aiohttp.ClientTimeout(
                total=seconds, connect=self.connect_timeout, sock_read=self.read_timeout
            )
            if seconds is not None
            else None
        )
        shown = self._shown_url(url, query)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._once(
                    session, method, url, query, body, headers, client_timeout
                )
            except TimeoutError:
                raise XResourceTimeoutError(
                    f"{method} {shown} did not answer within "
                    f"{seconds if seconds is not None else self.timeout}s (attempt {attempt}); "
                    "raise timeout or check the server",
                    resource=self.display_name,
                    operation=method,
                ) from None
            except aiohttp.ClientConnectionError as exc:
                if attempt <= budget:
                    await _sleep(backoff.delay(attempt))
                    continue
                raise XResourceConnectionError(
                    f"{method} {shown} failed after {attempt} attempt(s): "
                    f"{redact_text(str(exc) or type(exc).__name__)[:300]}",
                    resource=self.display_name,
                    operation=method,
                ) from None
            except aiohttp.ClientError as exc:
                raise XResourceQueryError(
                    f"{method} {shown} failed: {redact_text(str(exc))[:300]}",
                    resource=self.display_name,
                    operation=method,
                ) from None
            if response.status in self.retry_statuses and attempt <= budget:
                delay = backoff.delay(attempt)
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait is not None:
                    if wait > self.max_retry_after:
                        return response  # the caller maps the status; waiting is not an option
                    delay = wait
                await _sleep(delay)
                continue
            return response

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
