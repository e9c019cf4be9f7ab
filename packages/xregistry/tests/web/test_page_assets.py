"""The shipped web page over an in-process app: every script and stylesheet the page names is
served from the package, and no script writes server values into the page as HTML."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from xregistry import XRegistry
from xregistry.api import create_app, web_dir

# The DOM sinks that parse a string as HTML or code: server values must never reach them.
HTML_SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|\beval\(|new Function\("
)


async def test_every_asset_the_page_names_is_served() -> None:
    transport = httpx.ASGITransport(app=create_app(XRegistry()))
    async with httpx.AsyncClient(transport=transport, base_url="http://page.test") as client:
        page = await client.get("/")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        assert "/static/app.js" in assets
        assert "/static/versions.js" in assets
        assert "/static/versions.css" in assets
        for asset in assets:
            answer = await client.get(asset)
            assert answer.status_code == 200, asset
            kind = "javascript" if asset.endswith(".js") else "css"
            assert kind in answer.headers["content-type"], asset
            assert answer.text.strip(), asset
        # The app's scripts run in order: versions.js after app.js, whose helpers it uses.
        assert assets.index("/static/versions.js") > assets.index("/static/app.js")
        assert (await client.get("/static/absent.js")).status_code == 404


@pytest.mark.parametrize("script", sorted(p.name for p in Path(web_dir()).glob("*.js")))
def test_no_script_writes_html(script: str) -> None:
    text = (Path(web_dir()) / script).read_text(encoding="utf-8")
    assert HTML_SINKS.search(text) is None, HTML_SINKS.search(text)


def test_the_sink_pattern_catches_what_it_guards_against() -> None:
    for bad in [
        "node.innerHTML = x",
        "a.outerHTML += b",
        "el.insertAdjacentHTML('x', y)",
        "document.write(s)",
        "eval(code)",
        "new Function(body)",
    ]:
        assert HTML_SINKS.search(bad), bad
    for fine in ["node.textContent = x", "el.setAttribute('href', h)", "page.evaluate"]:
        assert HTML_SINKS.search(fine) is None, fine
