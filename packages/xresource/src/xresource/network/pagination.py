"""Walking paginated REST collections: page numbers, cursors and ``Link: rel="next"`` headers.

Each walker is an async generator of items that fetches the next page only when the caller has
consumed the current one, so a long collection streams in constant memory. Loops are guarded: a
repeated cursor or ``next`` link, or a server that ignores the page parameter (the same page twice),
raises instead of spinning forever.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xresource.errors import XResourceQueryError

__all__ = [
    "RESTResponse",
    "get_path",
    "iter_cursor",
    "iter_links",
    "iter_pages",
    "parse_link_header",
]


@dataclass(frozen=True)
class RESTResponse:
    """A response as ``request(..., envelope=True)`` returns it.

    ``data`` is the parsed JSON (or text, or ``None`` for an empty body); ``url`` has secrets
    masked; ``links`` maps each ``Link`` header relation (``next``, ``prev``...) to its URL.
    """

    status: int
    headers: Mapping[str, str]
    data: Any
    url: str
    links: dict[str, str] = field(default_factory=dict)


#: ``send(path, params) -> RESTResponse``: how walkers fetch a page (a bound resource method).
Fetch = Callable[[str, dict[str, Any]], Awaitable[RESTResponse]]

_LINK = re.compile(r"<(?P<url>[^>]*)>(?P<params>[^,<]*)")
_REL = re.compile(r"""\brel\s*=\s*(?:"(?P<q>[^"]*)"|(?P<t>[^\s;,]+))""", re.IGNORECASE)


def parse_link_header(value: str | None) -> dict[str, str]:
    """Relations of an RFC 8288 ``Link`` header (first URL per relation).

    >>> parse_link_header('<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"')
    {'next': 'https://a/x?page=2', 'last': 'https://a/x?page=9'}
    """
    links: dict[str, str] = {}
    if not value:
        return links
    for match in _LINK.finditer(value):
        rel = _REL.search(match["params"])
        if rel is None:
            continue
        for name in (rel["q"] if rel["q"] is not None else rel["t"]).split():
            links.setdefault(name.lower(), match["url"].strip())
    return links


def get_path(data: Any, path: str | None) -> Any:
    """The value at a dotted ``path`` (``"data.items"``; list indexes allowed); ``None`` if absent.

    >>> get_path({"meta": {"next": "c2"}}, "meta.next")
    'c2'
    """
    if path is None or path == "":
        return data
    current = data
    for key in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(key)
        elif isinstance(current, list) and key.lstrip("-").isdigit():
            index = int(key)
            current = current[index] if -len(current) <= index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def _items(data: Any, items_path: str | None, where: str) -> list[Any]:
    items = get_path(data, items_path)
    if items is None and items_path is not None:
        return []
    if not isinstance(items, list):
        hint = f" at {items_path!r}" if items_path else "; pass items_path='<key>'"
        raise XResourceQueryError(
            f"{where}: expected a JSON list of items{hint}, got {type(items).__name__}",
            operation="paginate",
        )
    return items


async def iter_pages(
    fetch: Fetch,
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
    """Items of ``path?page=N&per_page=M`` for N = start_page, start_page+1, ...

    Stops at an empty page, or once ``total_path`` (the total number of items) is reached.
    """
    page = start_page
    seen = 0
    previous: list[Any] | None = None
    fetched = 0
    while max_pages is None or fetched < max_pages:
        query = dict(params or {})
        query[page_param] = page
        if per_page_param and per_page is not None:
            query[per_page_param] = per_page
        response = await fetch(path, query)
        fetched += 1
        items = _items(response.data, items_path, f"page {page} of {path!r}")
        if not items:
            return
        if items == previous:
            raise XResourceQueryError(
                f"page {page} of {path!r} repeats page {page - 1}: the server ignores "
                f"{page_param!r}; set page_param to the parameter it reads",
                operation="paginate",
            )
        previous = items
        for item in items:
            yield item
        seen += len(items)
        total = get_path(response.data, total_path) if total_path else None
        if isinstance(total, int) and seen >= total:
            return
        page += 1


async def iter_cursor(
    fetch: Fetch,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    cursor_param: str = "cursor",
    next_cursor_path: str = "next_cursor",
    items_path: str | None = "items",
    initial_cursor: str | None = None,
    max_pages: int | None = None,
) -> AsyncIterator[Any]:
    """Items of ``path``, following the cursor found at ``next_cursor_path`` until it is empty."""
    cursor = initial_cursor
    seen: set[str] = set()
    fetched = 0
    while max_pages is None or fetched < max_pages:
        query = dict(params or {})
        if cursor is not None:
            query[cursor_param] = cursor
        response = await fetch(path, query)
        fetched += 1
        for item in _items(response.data, items_path, f"{path!r} (cursor {cursor!r})"):
            yield item
        nxt = get_path(response.data, next_cursor_path)
        if nxt is None or nxt == "" or nxt is False:
            return
        cursor = str(nxt)
        if cursor in seen:
            raise XResourceQueryError(
                f"{path!r}: the server returned cursor {cursor!r} twice; "
                "stopping instead of looping",
                operation="paginate",
            )
        seen.add(cursor)


async def iter_links(
    fetch: Fetch,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    items_path: str | None = None,
    max_pages: int | None = None,
) -> AsyncIterator[Any]:
    """Items of ``path`` and of every page its ``Link: <...>; rel="next"`` headers lead to.

    The next URL already holds the query, so ``params`` apply to the first request only. Next
    links must stay under the resource's base URL (``fetch`` refuses others).
    """
    target: str | None = path
    query: dict[str, Any] = dict(params or {})
    seen: set[str] = set()
    fetched = 0
    while target is not None and (max_pages is None or fetched < max_pages):
        response = await fetch(target, query)
        fetched += 1
        for item in _items(response.data, items_path, f"page {fetched} of {path!r}"):
            yield item
        target = response.links.get("next")
        query = {}
        if target is not None:
            if target in seen:
                # The link is not shown: servers echo the query, which may hold an API key.
                raise XResourceQueryError(
                    f"{path!r}: a next link repeats after {fetched} pages; "
                    "stopping instead of looping",
                    operation="paginate",
                )
            seen.add(target)
