"""Pagination walkers against a scripted page source (pure logic: no HTTP involved)."""

from __future__ import annotations

from typing import Any

import pytest

from xresource import XResourceQueryError
from xresource.network.pagination import (
    RESTResponse,
    get_path,
    iter_cursor,
    iter_links,
    iter_pages,
    parse_link_header,
)


class Pages:
    """Answers ``fetch(path, params)`` from a function of the call; records every call."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, path: str, params: dict[str, Any]) -> RESTResponse:
        self.calls.append((path, dict(params)))
        data, links = self.answer(path, params)
        return RESTResponse(status=200, headers={}, data=data, url=path, links=links)


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def test_pages_until_empty() -> None:
    items = list(range(7))

    def answer(path: str, params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        start = (params["page"] - 1) * params["per_page"]
        return items[start : start + params["per_page"]], {}

    fetch = Pages(answer)
    assert await collect(iter_pages(fetch, "/n", per_page=3, params={"q": "x"})) == items
    assert [c[1]["page"] for c in fetch.calls] == [1, 2, 3, 4]
    assert all(c[1]["q"] == "x" for c in fetch.calls)


async def test_pages_stop_at_total_without_an_extra_request() -> None:
    def answer(path: str, params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        page = params["page"]
        return {"data": {"rows": [page * 10, page * 10 + 1]}, "total": 4}, {}

    fetch = Pages(answer)
    got = await collect(
        iter_pages(
            fetch, "/n", per_page=2, items_path="data.rows", total_path="total", start_page=0
        )
    )
    assert got == [0, 1, 10, 11]
    assert len(fetch.calls) == 2


async def test_pages_refuse_a_server_that_ignores_the_page_parameter() -> None:
    fetch = Pages(lambda path, params: ([1, 2], {}))
    with pytest.raises(XResourceQueryError, match="ignores 'page'"):
        await collect(iter_pages(fetch, "/n", per_page=2))


async def test_pages_need_a_list() -> None:
    fetch = Pages(lambda path, params: ({"items": [1]}, {}))
    with pytest.raises(XResourceQueryError, match="items_path"):
        await collect(iter_pages(fetch, "/n"))


async def test_max_pages_bounds_the_walk() -> None:
    fetch = Pages(lambda path, params: ([params["page"]], {}))
    assert await collect(iter_pages(fetch, "/n", max_pages=3)) == [1, 2, 3]


async def test_cursor_walk() -> None:
    pages = {None: ([1, 2], "c2"), "c2": ([3], "c3"), "c3": ([4], None)}

    def answer(path: str, params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        items, nxt = pages[params.get("after")]
        return {"result": items, "meta": {"next": nxt}}, {}

    fetch = Pages(answer)
    got = await collect(
        iter_cursor(
            fetch, "/c", cursor_param="after", next_cursor_path="meta.next", items_path="result"
        )
    )
    assert got == [1, 2, 3, 4]
    assert [c[1].get("after") for c in fetch.calls] == [None, "c2", "c3"]


async def test_cursor_repeat_is_an_error_not_a_loop() -> None:
    fetch = Pages(lambda path, params: ({"items": [1], "next_cursor": "same"}, {}))
    with pytest.raises(XResourceQueryError, match="twice"):
        await collect(iter_cursor(fetch, "/c"))


async def test_link_walk_sends_params_only_first() -> None:
    links = {"/l": "https://h/v1/l?page=2", "https://h/v1/l?page=2": "https://h/v1/l?page=3"}

    def answer(path: str, params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        nxt = links.get(path)
        return [path], ({"next": nxt} if nxt else {})

    fetch = Pages(answer)
    got = await collect(iter_links(fetch, "/l", params={"per_page": 2}))
    assert got == ["/l", "https://h/v1/l?page=2", "https://h/v1/l?page=3"]
    assert [c[1] for c in fetch.calls] == [{"per_page": 2}, {}, {}]


async def test_link_loop_is_an_error() -> None:
    fetch = Pages(lambda path, params: ([1], {"next": "https://h/v1/l?page=2"}))
    with pytest.raises(XResourceQueryError, match="repeats"):
        await collect(iter_links(fetch, "/l"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"',
            {"next": "https://a/x?page=2", "last": "https://a/x?page=9"},
        ),
        ("<https://a/x?p=2>; rel=next", {"next": "https://a/x?p=2"}),
        ('<https://a/1>; rel="prev first"', {"prev": "https://a/1", "first": "https://a/1"}),
        ('<https://a/1>; title="x"', {}),
        ("", {}),
        (None, {}),
        ("garbage", {}),
    ],
)
def test_parse_link_header(header: str | None, expected: dict[str, str]) -> None:
    assert parse_link_header(header) == expected


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"a": {"b": [1, 2]}}, "a.b", [1, 2]),
        ({"a": {"b": [1, 2]}}, "a.b.1", 2),
        ({"a": {"b": [1, 2]}}, "a.b.-1", 2),
        ({"a": {"b": [1, 2]}}, "a.b.5", None),
        ({"a": None}, "a.b", None),
        ({"a": "text"}, "a.b", None),
        ([1], None, [1]),
    ],
)
def test_get_path(data: Any, path: str | None, expected: Any) -> None:
    assert get_path(data, path) == expected
