"""The web page end to end in headless Chromium (``cdp_browser``; the ``page`` fixture): the page
loads the sample models, a search finds a model, and the model form validates input against the
live categorical values."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from cdp_browser import CDP, set_value
from registry_server import start_serve, stop_serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("xregistry-web")
    server = start_serve("--data-dir", str(data_dir), "--log-level", "warning")
    if not server.token:
        stop_serve(server)
        pytest.fail("xregistry serve printed no token:\n" + "\n".join(server.output))
    yield server.url, server.token
    stop_serve(server)


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
