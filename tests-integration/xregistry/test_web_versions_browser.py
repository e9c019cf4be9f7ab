"""The Versions tab of the web page in headless Chromium (``cdp_browser``; the ``page`` fixture),
over ``xregistry serve`` on a SQLite table that is altered between discoveries, so the model has
three real versions: the page lists the history the API answers, opens the diff between two
non-adjacent versions with the API's changes and breaking marks, draws hostile field names as
text, and its shared links open the same view in a fresh browser after the sign-in (from the form,
and from a ``&token=`` in the link)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cdp_browser import CDP, open_page, set_value
from registry_server import Served, start_serve, stop_serve

TABLE = "commandes_été"
# A column name that is HTML (and a quote and non-ASCII letters): the page must show it as text.
HOSTILE = '<img src=x onerror="window.pwned=1">prix « net »'
COL = '"' + HOSTILE.replace('"', '""') + '"'  # quoted for SQLite


@dataclass
class Site:
    url: str
    token: str
    model: str


def _sqlite(path: Path, *statements: str, rows: list[tuple[Any, ...]] | None = None) -> None:
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
        if rows:
            db.executemany(f'INSERT INTO "{TABLE}" (name, status) VALUES (?, ?)', rows)


def _call(site: Site, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        site.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{method} {path}: {exc.code} {exc.read()!r}") from None


def _rediscover(site: Site, resource: str) -> None:
    path = f"/api/discovery/resources/{quote(resource, safe='')}/discover"
    _call(site, "POST", path)
    for _ in range(300):
        status = _call(site, "GET", path)
        if status["state"] != "running":
            assert status["state"] == "done", status
            assert not status["failed"], status
            return
        time.sleep(0.1)
    raise AssertionError(f"discovery of {resource} did not finish: {status}")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xregistry-versions") / "shop.db"
    _sqlite(
        path,
        f'CREATE TABLE "{TABLE}" (id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT)',
        rows=[("Zoë ", "payée"), ("  ", None), ("日本語", "")],
    )
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, database: Path) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("xregistry-versions-data")
    server = start_serve(
        "--resource",
        f"sqlite:///{database}",
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    )
    if not server.token:
        stop_serve(server)
        pytest.fail("xregistry serve printed no token:\n" + "\n".join(server.output))
    yield server
    rest = stop_serve(server)
    assert "Traceback" not in rest, rest


@pytest.fixture(scope="module")
def site(served: Served, database: Path) -> Site:
    """The served model with three versions: as discovered, with a hostile column added, and
    rebuilt with ``status`` required and ``name`` dropped (breaking under ``backward``)."""
    assert served.token
    probe = Site(served.url, served.token, TABLE)
    models = _call(probe, "GET", "/api/registry/models")
    model = next(m["name"] for m in models if m.get("collection") == TABLE)
    site = Site(served.url, served.token, model)
    (resource,) = [r["name"] for r in _call(site, "GET", "/api/discovery/resources")]
    _call(site, "PUT", f"{_model_path(site)}/compatibility", {"mode": "backward"})

    _sqlite(database, f'ALTER TABLE "{TABLE}" ADD COLUMN {COL} REAL')
    _rediscover(site, resource)
    _sqlite(
        database,
        f'CREATE TABLE "{TABLE}_new" (id INTEGER PRIMARY KEY, status TEXT NOT NULL, {COL} REAL)',
        f'INSERT INTO "{TABLE}_new" (id, status, {COL}) '
        f"SELECT id, coalesce(status, ''), {COL} FROM \"{TABLE}\"",
        f'DROP TABLE "{TABLE}"',
        f'ALTER TABLE "{TABLE}_new" RENAME TO "{TABLE}"',
    )
    _rediscover(site, resource)
    history = _call(site, "GET", f"{_model_path(site)}/versions")
    assert len(history["versions"]) == 3, history
    return site


async def _api(site: Site, path: str) -> Any:
    return await asyncio.to_thread(_call, site, "GET", path)


def _model_path(site: Site) -> str:
    return f"/api/registry/models/{quote(site.model, safe='')}"


def _route(site: Site, *parts: str) -> str:
    return "#/" + "/".join(quote(p, safe="") for p in ("models", site.model, *parts))


# What the page shows, read back from the DOM.
HISTORY_JS = """[...document.querySelectorAll('#versions [data-testid=version-row]')].map(r => ({
  version: r.dataset.version,
  source: r.children[2].textContent,
  changes: Number(r.children[3].textContent),
  compatible: r.querySelector('[data-compatible]')?.dataset.compatible === 'true',
}))"""
CHANGES_JS = """[...document.querySelectorAll('[data-testid={testid}]')].map(r => ({{
  kind: r.dataset.kind, field: r.children[1].textContent,
  breaking: r.dataset.breaking === 'true' && r.innerText.includes('breaks backward'),
}}))"""
DIFF_JS = "document.querySelector('[data-testid=diff-view]') && " + CHANGES_JS.format(
    testid="diff-change"
)
DIFF_HEAD_JS = """(() => { const d = document.querySelector('[data-testid=diff-view]');
  return d && [d.dataset.from, d.dataset.to]; })()"""


def _expected_diff(diff: dict[str, Any]) -> list[dict[str, Any]]:
    breaking = {(c["kind"], c["field"]) for c in diff["breaking"]}
    return [
        {"kind": c["kind"], "field": c["field"], "breaking": (c["kind"], c["field"]) in breaking}
        for c in diff["changes"]
    ]


async def test_version_history_and_a_diff_between_non_adjacent_versions(
    page: CDP, site: Site
) -> None:
    history = await _api(site, f"{_model_path(site)}/versions")
    numbers = [v["version"] for v in history["versions"]]
    first, last = numbers[0], numbers[-1]
    await page.send("Page.navigate", url=f"{site.url}/#token={site.token}")
    await page.wait_for(
        f"document.querySelector('[data-testid=model-card][data-model={json.dumps(site.model)}]')"
        " !== null"
    )
    await page.eval(
        f"document.querySelector('[data-testid=model-card][data-model={json.dumps(site.model)}]')"
        ".click()"
    )
    await page.wait_for("document.querySelector('[data-tab=Versions]') !== null")
    assert await page.eval("decodeURIComponent(location.hash)") == f"#/models/{site.model}"
    await page.eval("document.querySelector('[data-tab=Versions]').click()")

    # The history is the API's, oldest first, with each version's flags.
    shown = await page.wait_for(f"(() => {{ const h = {HISTORY_JS}; return h.length && h; }})()")
    assert shown == [
        {
            "version": v["version"],
            "source": v["source"],
            "changes": v["change_count"],
            "compatible": v["compatible"],
        }
        for v in history["versions"]
    ]
    assert [v["compatible"] for v in history["versions"]] == [True, True, False]
    assert await page.eval("location.hash") == _route(site, "versions")
    summary = await page.eval("document.querySelector('[data-testid=versions-summary]').innerText")
    assert f"current {history['current']}" in summary
    assert "backward" in summary

    # One version: its fields, the hostile one as text.
    middle = numbers[1]
    await page.eval(f"document.querySelector('[data-version=\"{middle}\"] a').click()")
    fields = await page.wait_for(
        "document.querySelector('[data-testid=version-view]') && [...document.querySelectorAll("
        "'[data-testid=version-fields] tbody tr')].map(r => r.children[0].textContent)"
    )
    detail = await _api(site, f"{_model_path(site)}/versions/{middle}")
    assert sorted(fields) == sorted(detail["fields"] or detail["schema"]["properties"])
    assert HOSTILE in fields
    assert await page.eval("location.hash") == _route(site, "versions", middle)
    # ... and what it changed from the version before, as the API says.
    assert await page.eval(CHANGES_JS.format(testid="version-change")) == _expected_diff(detail)
    assert [c["field"] for c in detail["changes"]] == [HOSTILE]

    # The last version: its breaking change is marked with the mode it breaks.
    await page.eval(f"document.querySelector('[data-version=\"{last}\"] a').click()")
    await page.wait_for(
        f"document.querySelector('[data-testid=version-view]')?.dataset.version === '{last}'"
    )
    latest = await _api(site, f"{_model_path(site)}/versions/{last}")
    shown_changes = await page.eval(CHANGES_JS.format(testid="version-change"))
    assert shown_changes == _expected_diff(latest)
    assert {(c["field"], c["breaking"]) for c in shown_changes} == {
        ("name", False),
        ("status", True),
    }

    # The diff between the first and the last version (not adjacent) lists the API's changes,
    # the breaking ones marked with the mode they break.
    await page.eval(
        f"document.getElementById('diff-from').value = {json.dumps(first)};"
        f"document.getElementById('diff-to').value = {json.dumps(last)};"
        "document.getElementById('diff-open').click()"
    )
    assert await page.wait_for(DIFF_HEAD_JS) == [first, last]
    diff = await _api(site, f"{_model_path(site)}/versions/{first}/diff/{last}")
    expected = _expected_diff(diff)
    assert await page.eval(DIFF_JS) == expected
    assert {(c["kind"], c["field"]) for c in diff["changes"]} >= {
        ("added", HOSTILE),
        ("removed", "name"),
    }
    assert any(c["breaking"] for c in expected)
    marks = await page.eval(
        "[...document.querySelectorAll('[data-testid=diff-change][data-breaking=true]')]"
        ".map(r => r.innerText.includes('breaks backward'))"
    )
    assert marks
    assert all(marks)
    assert await page.eval("location.hash") == _route(site, "diff", first, last)

    # Hostile names stayed text: no element came from them, no script ran.
    assert await page.eval("document.querySelectorAll('#main img').length") == 0
    assert await page.eval("window.pwned === undefined") is True

    # A search shows no view a link names: the address bar drops the route.
    await set_value(page, "#search", site.model[:5])
    await page.wait_for("document.getElementById('search-models') !== null")
    assert await page.eval("location.hash") == ""
    await page.eval("history.back()")
    assert await page.wait_for(DIFF_HEAD_JS) == [first, last]

    # Back returns to the version view (each view is a history entry).
    await page.eval("history.back()")
    assert (
        await page.wait_for("document.querySelector('[data-testid=version-view]')?.dataset.version")
        == last
    )
    thrown = [e for e in page.events if e["method"] == "Runtime.exceptionThrown"]
    assert thrown == []


async def test_a_shared_diff_link_opens_after_the_sign_in_form(
    chromium: str, tmp_path: Path, site: Site
) -> None:
    history = await _api(site, f"{_model_path(site)}/versions")
    first, last = history["versions"][0]["version"], history["versions"][-1]["version"]
    link = f"{site.url}/{_route(site, 'diff', first, last)}"
    diff = await _api(site, f"{_model_path(site)}/versions/{first}/diff/{last}")
    # A fresh browser: no token in its session.
    async with open_page(chromium, tmp_path / "fresh-profile") as fresh:
        await fresh.send("Page.navigate", url=link)
        await fresh.wait_for("!document.getElementById('login').hidden")
        assert await fresh.eval("document.getElementById('app').hidden") is True
        await set_value(fresh, "#token", site.token)
        await fresh.eval("document.querySelector('#login-form button').click()")
        assert await fresh.wait_for(DIFF_HEAD_JS) == [first, last]
        assert await fresh.eval(DIFF_JS) == _expected_diff(diff)
        assert await fresh.eval("location.href") == link
        assert await fresh.eval("document.querySelector('[data-testid=share-link]').href") == link
        thrown = [e for e in fresh.events if e["method"] == "Runtime.exceptionThrown"]
        assert thrown == []


async def test_a_shared_version_link_with_a_token_opens_and_drops_the_token(
    page: CDP, site: Site
) -> None:
    version = (await _api(site, f"{_model_path(site)}/versions"))["versions"][1]["version"]
    route = _route(site, "versions", version)
    await page.send("Page.navigate", url=f"{site.url}/{route}&token={site.token}")
    assert (
        await page.wait_for("document.querySelector('[data-testid=version-view]')?.dataset.version")
        == version
    )
    assert await page.eval("location.hash") == route  # the token left the address bar
    assert (
        await page.eval("document.querySelector('[data-testid=model-title]').textContent")
        == site.model
    )
    assert (
        await page.eval(
            "document.querySelector('[data-tab=Versions]').classList.contains('active')"
        )
        is True
    )
    # The same link pasted into the open page: the view opens, the token leaves at once.
    diff_route = _route(site, "diff", version, version)
    await page.eval(f"location.hash = {json.dumps(diff_route + '&token=' + site.token)}")
    assert await page.wait_for(DIFF_HEAD_JS) == [version, version]
    assert await page.eval("location.hash") == diff_route
    assert await page.eval("document.querySelector('[data-testid=diff-change-none]') !== null")


async def test_links_to_unknown_versions_and_views_say_what_is_wrong(page: CDP, site: Site) -> None:
    await page.send("Page.navigate", url=f"{site.url}/#token={site.token}")
    await page.wait_for("document.querySelector('[data-testid=model-card]') !== null")
    # A version the model does not have: the server's 404 message, on the Versions tab.
    await page.eval(f"location.hash = {json.dumps(_route(site, 'versions', '9.9.9'))}")
    error = await page.wait_for(
        "document.querySelector('[data-testid=version-error]')?.textContent"
    )
    assert "9.9.9" in error
    # A model that does not exist, a route the page does not know, a broken escape.
    await page.eval("location.hash = '#/models/' + encodeURIComponent('nö <such> model')")
    assert "nö <such> model" in await page.wait_for(
        "document.getElementById('status').className === 'error' && "
        "document.getElementById('status').textContent"
    )
    await page.eval("location.hash = '#/nothing/here'")
    assert "names no view" in await page.wait_for(
        "document.getElementById('status').textContent.includes('#/nothing') && "
        "document.getElementById('status').textContent"
    )
    await page.eval("location.hash = '#/models/%E0%A4%A'")
    assert "malformed" in await page.wait_for(
        "document.getElementById('status').textContent.includes('%E0') && "
        "document.getElementById('status').textContent"
    )
    # The models are listed under the message (the page stays usable).
    assert await page.eval("document.getElementById('model-list') !== null") is True


# Names a link must carry through intact: separators of the route and of the fragment, escapes,
# HTML, spaces at the ends, non-ASCII and astral characters.
ROUND_TRIP_NAMES = [
    "orders",
    "a/b",
    "a#b&token=x",
    "100%",
    "%E0%A4%A",
    "<script>alert(1)</script>",
    ' "quoted" ',
    "Käufer (alt)",
    "注文",
    "emoji 🧾",
    "..",
]


async def test_routes_carry_any_name_and_drop_only_the_token(page: CDP, site: Site) -> None:
    await page.send("Page.navigate", url=f"{site.url}/#token={site.token}")
    await page.wait_for("document.querySelector('[data-testid=model-card]') !== null")
    for name in ROUND_TRIP_NAMES:
        views = [
            {"name": name, "kind": "model"},
            {"name": name, "kind": "history"},
            {"name": name, "kind": "version", "version": name},
            {"name": name, "kind": "diff", "from": name, "to": "1.0.0"},
        ]
        for view in views:
            parsed = await page.eval(
                f"(() => {{ const r = routeFor({json.dumps(view)});"
                " return [parseRoute('#' + r.slice(1)), parseRoute(r + '&token=abc'),"
                " routeWithoutToken(r + '&token=abc') === r]; })()"
            )
            assert parsed == [view, view, True], (name, view, parsed)
    assert await page.eval("routeWithoutToken('#token=abc')") == ""
    assert await page.eval("routeWithoutToken('#token=abc&/models/x')") == "#/models/x"
    assert await page.eval("parseRoute('')") is None
    for bad in ["#/models", "#/models/x/versions/", "#/models/x/diff/1.0.0", "#/elsewhere/x"]:
        answer = await page.eval(f"parseRoute({json.dumps(bad)})")
        assert "names no view" in answer["error"], (bad, answer)
