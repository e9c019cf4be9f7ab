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
from typing import Any, ClassVar

import aiohttp

from xobj_prototype import redact_text
from xresource.errors import (
    XResourceConnectionError,
    XResourceError,
    XResourceNotFoundError,
    XResourceQueryError,
    XResourceTimeoutError,
    XResourceValidationError,
)
from xresource.network._rest_exchange import _RESTExchange
from xresource.network.pagination import RESTResponse, iter_cursor, iter_links, iter_pages
from xresource.network.retry import Backoff, is_retryable_method, parse_retry_after
from xresource.network.urls import join_url

__all__ = ["RESTResource", "RESTResponse"]

_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})


async def _sleep(seconds: float) -> None:
    """The pause between attempts (a module function, so tests can record the delays)."""
    await asyncio.sleep(seconds)


class RESTResource(_RESTExchange):
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
