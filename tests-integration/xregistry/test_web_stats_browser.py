"""The statistics tab of the web page in headless Chromium (``page`` fixture): for a model
enriched from a CSV of hostile values, each field shows the histogram, quantiles, string-length
distribution and top values that the API sends, which are the inspector's own numbers; the
data's markup renders as text and the page requests nothing outside the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cdp_browser import CDP
from registry_server import start_serve, stop_serve

from xinspector import XInspector
from xresource import ResourceFactory

HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned = 2">',
    "</td></tr></table><h1 id=injected>x</h1>",
    "Zürich 東京 🚀 مرحبا",
]

READ_TAB = """(() => [...document.querySelectorAll("#stats-charts .field-chart")].map(s => ({
  field: s.dataset.field,
  bars: [...s.querySelectorAll('figure[data-chart=histogram] rect.stats-bar')].map(r => ({
    count: Number(r.dataset.count), lower: r.dataset.lower, upper: r.dataset.upper,
    title: r.querySelector("title").textContent, height: r.getBoundingClientRect().height})),
  lengths: [...s.querySelectorAll('figure[data-chart=length_histogram] rect.stats-bar')]
    .map(r => Number(r.dataset.count)),
  quantiles: Object.fromEntries([...s.querySelectorAll("td[data-quantile]")]
    .map(td => [td.dataset.quantile, td.textContent])),
  top: [...s.querySelectorAll("table.top-values tr[data-count]")]
    .map(tr => [tr.querySelector("td.value").textContent, Number(tr.dataset.count)]),
  missing: [...s.querySelectorAll(".not-computed")].map(p => p.textContent),
  masked: s.hasAttribute("data-masked"),
})))()"""


def assert_drawn_to_scale(bars: list[dict[str, Any]]) -> None:
    """The bars as the browser lays them out (CSS included): heights proportional to counts."""
    peak = max(b["count"] for b in bars)
    tallest = max(b["height"] for b in bars)
    assert tallest > 10
    for bar in bars:
        expected = bar["count"] / peak * tallest if peak else 0
        assert abs(bar["height"] - expected) <= 0.02 * tallest + 0.5, (bar, peak, tallest)


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web-stats") / "hostile_items.csv"
    rows = ["id,label,price,listed_at,api_token"]
    for i in range(240):
        label = HOSTILE[i % len(HOSTILE)] if i % 6 else ""
        price = "" if i % 11 == 0 else (f"{i / 8:.3f}" if i % 2 else str(i * 4))
        label_cell = '"' + label.replace('"', '""') + '"'
        listed = f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}"
        rows.append(f"{i},{label_cell},{price},{listed},tok-{i * 7919 % 1000:03d}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def served(hostile_csv: Path) -> Iterator[tuple[str, str]]:
    server = start_serve(
        "--resource",
        str(hostile_csv),
        "--data-dir",
        str(hostile_csv.parent / "data"),
        "--log-level",
        "warning",
    )
    if not server.token:
        stop_serve(server)
        pytest.fail("xregistry serve printed no token:\n" + "\n".join(server.output))
    yield server.url, server.token
    stop_serve(server)


async def api_statistics(url: str, token: str, model: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        answer = await c.get(f"/api/enrichment/models/{model}/enrichment")
    assert answer.status_code == 200, answer.text
    statistics: dict[str, Any] = answer.json()["statistics"]
    return statistics


async def open_statistics_tab(page: CDP, url: str, token: str, model: str) -> dict[str, Any]:
    """Sign in, open ``model``'s statistics tab and read its charts, by field."""
    await page.send("Page.navigate", url=f"{url}/#token={token}")
    await page.wait_for(f"document.querySelector('[data-model={model}]') !== null")
    await page.eval(f"document.querySelector('[data-model={model}]').click()")
    await page.wait_for("document.querySelector('[data-tab=Statistics]') !== null")
    await page.eval("document.querySelector('[data-tab=Statistics]').click()")
    await page.wait_for("document.getElementById('stats-charts') !== null")
    return {c["field"]: c for c in await page.eval(READ_TAB)}


def check_tab(columns: dict[str, Any], fields: dict[str, Any]) -> None:
    """Each field's charts are what the API sent for it."""
    for name, column in columns.items():
        sent = fields[name]
        histogram = sent["histogram"] or []
        assert [b["count"] for b in column["bars"]] == [b["count"] for b in histogram]
        for bar, b in zip(column["bars"], histogram, strict=True):
            if isinstance(b["lower"], str):  # a temporal bound: ISO text
                assert bar["lower"] == b["lower"]
            else:
                assert float(bar["lower"]) == b["lower"]
            assert bar["title"].endswith(f": {b['count']:,}")
        if histogram:
            assert_drawn_to_scale(column["bars"])
        assert column["lengths"] == [b["count"] for b in sent["length_histogram"] or []]
        if sent["quantiles"]:
            assert set(column["quantiles"]) == {"p5", "p25", "p50", "p75", "p95"}
        assert [c for _, c in column["top"]] == [t["count"] for t in sent["top_values"]]
        assert column["missing"] == []


async def test_statistics_tab_draws_what_the_api_sends(
    page: CDP, served: tuple[str, str], hostile_csv: Path
) -> None:
    url, token = served
    columns = await open_statistics_tab(page, url, token, "hostile_items")
    statistics = await api_statistics(url, token, "hostile_items")
    fields = statistics["field_statistics"]
    assert list(columns) == list(fields)

    # The API passes the inspector's numbers through unchanged (the oracle: a run of our own).
    resource = ResourceFactory.from_url(str(hostile_csv))
    async with resource:
        own = (await XInspector(resource).inspect()).field_statistics
    # A secret-like field's statistics are masked whole by the server, and the tab says so.
    assert fields["api_token"] == "**********"
    assert columns.pop("api_token")["masked"] is True
    secret_values = [str(v.value) for v in own["api_token"].top_values]
    for name, fs in own.items():
        sent = fields[name]
        if name == "api_token":
            continue
        assert [b["count"] for b in sent["histogram"] or []] == [
            b.count for b in fs.histogram or []
        ]
        assert [b["count"] for b in sent["length_histogram"] or []] == [
            b.count for b in fs.length_histogram or []
        ]

    check_tab(columns, fields)

    # Every numeric and temporal field is drawn, and the label's lengths.
    assert columns["price"]["bars"]
    assert columns["listed_at"]["bars"]
    assert columns["id"]["bars"]
    assert columns["label"]["lengths"]
    assert sorted(v for v, _ in columns["label"]["top"]) == sorted(HOSTILE)

    # Hostile values are text; nothing of the data ran or became an element.
    assert await page.eval("window.__pwned === undefined") is True
    assert await page.eval("document.getElementById('injected') === null") is True
    assert await page.eval("document.querySelectorAll('#stats-charts img').length") == 0
    text = await page.eval("document.getElementById('stats-charts').innerText")
    for value in HOSTILE:
        assert value in text
    assert not any(v in text for v in secret_values)

    requested = {
        e["params"]["request"]["url"]
        for e in page.events
        if e["method"] == "Network.requestWillBeSent"
    }
    assert f"{url}/static/stats.js" in requested
    assert all(u.startswith((url, "data:")) for u in requested), json.dumps(sorted(requested))
    thrown = [e for e in page.events if e["method"] == "Runtime.exceptionThrown"]
    assert thrown == []


async def test_statistics_tab_of_a_table_profiled_in_place(
    page: CDP, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The embedded sample: SQLite tables whose statistics SQLite computes (pushdown).
    server = start_serve(
        "--data-dir", str(tmp_path_factory.mktemp("web-stats-sample")), "--log-level", "warning"
    )
    try:
        assert server.token
        columns = await open_statistics_tab(page, server.url, server.token, "orders")
        fields = (await api_statistics(server.url, server.token, "orders"))["field_statistics"]
    finally:
        stop_serve(server)
    assert list(columns) == list(fields)
    check_tab(columns, fields)
    for name in ("id", "customer_id", "ordered_at", "shipped_at"):
        assert columns[name]["bars"], name
        assert len(columns[name]["quantiles"]) == 5, name
    for name in ("status", "channel"):
        assert columns[name]["lengths"], name
        assert columns[name]["top"], name
