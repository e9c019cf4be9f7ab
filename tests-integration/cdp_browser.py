"""Headless Chromium for browser tests, driven over the DevTools protocol (a small CDP client on
aiohttp websockets): :func:`open_page` starts a browser and yields a :class:`CDP` session on its
page; :func:`set_value` types into a form field. ``conftest.py`` turns them into the ``chromium``
and ``page`` fixtures.

Chromium is required: when it is missing and cannot be installed the tests FAIL with the command to
run (``scripts/test_servers.py``'s ``ensure_chromium`` apt-installs it when running as root).
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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["CDP", "CHROMIUM_FLAGS", "open_page", "set_value"]

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


@contextlib.asynccontextmanager
async def open_page(chromium: str, profile: Path) -> AsyncIterator[CDP]:
    """A fresh headless Chromium (its profile in ``profile``) and a CDP session on its page."""
    await asyncio.to_thread(profile.mkdir, parents=True, exist_ok=True)
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
