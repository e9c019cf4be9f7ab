"""The web page end to end in headless Chromium, driven over the DevTools protocol (a small CDP
client on aiohttp websockets): the page loads the sample models, a search finds a model, and the
model form validates input against the live categorical values.

Chromium is required: when it is missing and cannot be installed the test FAILS with the command
to run (``scripts/test_servers.py``'s ``ensure_chromium`` apt-installs it when running as root).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import test_servers
from registry_server import start_serve, stop_serve

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class CDP:
    """Just enough of the Chrome DevTools protocol: commands with ids, events collected."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            future = self.pending.pop(data.get("id", -1), None)
            if future is not None:
                future.set_result(data)
            elif "method" in data:
                self.events.append(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = future
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise AssertionError(f"{method} failed: {answer['error']}")
        return dict(answer["result"])

    async def eval(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, limit: float = 20.0) -> Any:
        deadline = time.monotonic() + limit
        last = None
        while time.monotonic() < deadline:
            try:
                last = await self.eval(expression)
            except AssertionError as exc:  # e.g. the page is still loading: not there yet
                last = str(exc)
            else:
                if last:
                    return last
            await asyncio.sleep(0.1)
        text = await self.eval("document.body.innerText")
        raise AssertionError(f"timed out waiting for {expression!r} (last {last!r}); page:\n{text}")

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
        await self.ws.close()


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return str(test_servers.ensure_chromium())
    except test_servers.ServerError as exc:
        pytest.fail(f"the browser test needs Chromium: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("xregistry-web")
    server = start_serve("--data-dir", str(data_dir), "--log-level", "warning")
    if not server.token:
        stop_serve(server)
        pytest.fail("xregistry serve printed no token:\n" + "\n".join(server.output))
    yield server.url, server.token
    stop_serve(server)


@pytest.fixture
async def page(chromium: str, tmp_path: Path) -> AsyncIterator[CDP]:
    profile = tmp_path / "profile"
    profile.mkdir()
    browser = await asyncio.to_thread(
        subprocess.Popen,
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert browser.stderr is not None
        endpoint = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = await asyncio.to_thread(browser.stderr.readline)
            if not line:
                break
            if m := re.search(r"DevTools listening on (ws://\S+)", line):
                endpoint = m.group(1)
                break
        assert endpoint, "Chromium did not open its DevTools endpoint"
        http = endpoint.replace("ws://", "http://").split("/devtools/")[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{http}/json/list") as resp:
                targets = await resp.json()
            ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            ws = await session.ws_connect(ws_url, max_msg_size=0)
            cdp = CDP(ws)
            await cdp.send("Runtime.enable")
            await cdp.send("Page.enable")
            await cdp.send("Network.enable")
            try:
                yield cdp
            finally:
                await cdp.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(browser.wait, 10)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            await asyncio.to_thread(browser.wait)


async def set_value(page: CDP, selector: str, value: str) -> None:
    await page.eval(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
        f"e.value = {json.dumps(value)}; e.dispatchEvent(new Event('input', {{bubbles: true}})); "
        "return true; })()"
    )


async def test_page_search_and_live_validated_form(page: CDP, served: tuple[str, str]) -> None:
    url, token = served
    await page.send("Page.navigate", url=f"{url}/#token={token}")
    # The sample models are listed.
    names = await page.wait_for(
        "(() => { const c = [...document.querySelectorAll('[data-testid=model-card]')];"
        " return c.length === 5 && c.map(e => e.dataset.model).sort(); })()"
    )
    assert names == ["customers", "order_lines", "orders", "products", "reviews"]
    assert await page.eval("location.hash") == ""  # the token left the address bar
    assert "local-admin" in await page.eval("document.getElementById('whoami').textContent")

    # A search finds a model.
    await set_value(page, "#search", "order")
    found = await page.wait_for(
        "(() => { const c = [...document.querySelectorAll('#search-models [data-model]')];"
        " return c.length && c.map(e => e.dataset.model).sort(); })()"
    )
    assert found == ["order_lines", "orders"]
    await page.eval("document.querySelector('#search-models [data-model=orders]').click()")
    assert (
        await page.wait_for("document.querySelector('[data-testid=model-title]')?.textContent")
        == "orders"
    )

    # Statistics, categorical values and data quality come from the live data.
    await page.eval("document.querySelector('[data-tab=\"Categorical values\"]').click()")
    categories = await page.wait_for("document.getElementById('categoricals')?.innerText")
    assert "delivered" in categories
    assert "mobile" in categories
    await page.eval("document.querySelector('[data-tab=\"Data quality\"]').click()")
    assert "completeness" in await page.wait_for("document.getElementById('model-body').innerText")

    # The form validates against the live categorical values.
    await page.eval("document.querySelector('[data-tab=\"Form\"]').click()")
    await page.wait_for("document.getElementById('model-form')")
    options = await page.eval(
        "[...document.querySelectorAll('#field-status-values option')].map(o => o.value).sort()"
    )
    assert options == ["cancelled", "delivered", "paid", "pending", "returned", "shipped"]
    await set_value(page, "#field-customer_id", "12")
    await set_value(page, "#field-channel", "web")
    await set_value(page, "#field-ordered_at", "2024-05-01T10:00:00")
    await set_value(page, "#field-status", "lost")
    await page.eval("document.getElementById('form-submit').click()")
    refused = await page.wait_for(
        "document.querySelector('#form-result [data-valid=false]') && "
        "document.getElementById('form-result').innerText"
    )
    assert "status" in refused
    assert "'paid'" in refused
    await set_value(page, "#field-status", "paid")
    await page.eval("document.getElementById('form-submit').click()")
    accepted = await page.wait_for(
        "document.querySelector('#form-result [data-valid=true]') && "
        "document.getElementById('form-result').innerText"
    )
    assert '"status": "paid"' in accepted

    # Query the model's data.
    await page.eval("document.querySelector('[data-tab=\"Query data\"]').click()")
    await set_value(page, "#query-filter", '{"status": "cancelled"}')
    await page.eval("document.getElementById('query-run').click()")
    total = await page.wait_for("document.querySelector('[data-testid=query-total]')?.textContent")
    assert re.match(r"\d+ records", total)
    assert not total.startswith("0 ")
    rows = await page.eval("[...document.querySelectorAll('#query-result tbody tr')].length")
    assert rows == 20

    # Functions and types pages.
    await page.eval("document.querySelector('nav [data-view=functions]').click()")
    assert await page.wait_for("document.querySelector('[data-function=line_total]') !== null")
    await page.eval("document.querySelector('nav [data-view=types]').click()")
    assert await page.wait_for("document.querySelector('[data-type=CountryCode]') !== null")

    # Everything came from the server itself (no CDN) and nothing threw.
    requested = {
        e["params"]["request"]["url"]
        for e in page.events
        if e["method"] == "Network.requestWillBeSent"
    }
    assert requested
    assert all(u.startswith((url, "data:")) for u in requested), requested
    thrown = [e for e in page.events if e["method"] == "Runtime.exceptionThrown"]
    assert thrown == []


async def test_a_wrong_token_shows_the_sign_in_form(page: CDP, served: tuple[str, str]) -> None:
    url, _ = served
    await page.send("Page.navigate", url=f"{url}/#token=wrong-token")
    message = await page.wait_for(
        "!document.getElementById('login').hidden && "
        "document.getElementById('login-error').textContent"
    )
    assert "not accepted" in message
    assert await page.eval("document.getElementById('app').hidden") is True
