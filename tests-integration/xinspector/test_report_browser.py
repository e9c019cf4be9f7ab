"""``xinspector report`` pages in headless Chromium (``page`` fixture, ``cdp_browser``): opened
from file://, each column's histogram has one bar per bin with the count of the statistics, the
top values are the statistics' own, the page requests nothing from the network, hostile text
shows as text (no script of the data runs), and the page's own script (allowed by its hash in
the Content-Security-Policy) filters the columns. Sources: a CSV of hostile values, three public
datasets, and tables computed in place by SQLite, PostgreSQL, MariaDB and MongoDB."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cdp_browser import CDP, set_value

from xinspector import InspectionResult, XInspector, quality_alerts, render_report
from xinspector.cli import to_jsonable
from xresource import MongoDBResource, ResourceFactory, SQLDatabaseResource

HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned = 2">',
    "</section></div><h1 id=injected>x</h1>",
    "Zürich 東京 🚀 مرحبا",
]

# What the page says about each column: its bars, quantiles, top values, alerts, markers.
READ_PAGE = """(() => [...document.querySelectorAll("section.field")].map(s => ({
  field: s.dataset.field,
  bars: [...s.querySelectorAll('figure[data-chart=histogram] rect.bar')].map(r => ({
    count: Number(r.dataset.count), lower: r.dataset.lower, upper: r.dataset.upper,
    title: r.querySelector("title").textContent, height: r.getBoundingClientRect().height})),
  lengths: [...s.querySelectorAll('figure[data-chart=length_histogram] rect.bar')]
    .map(r => Number(r.dataset.count)),
  quantiles: Object.fromEntries([...s.querySelectorAll("td[data-quantile]")]
    .map(td => [td.dataset.quantile, td.innerText])),
  top: [...s.querySelectorAll("table.top-values tr[data-count]")]
    .map(tr => [tr.querySelector("td.value").innerText, Number(tr.dataset.count)]),
  alerts: [...s.querySelectorAll("li[data-kind]")].map(li => li.dataset.kind),
  missing: [...s.querySelectorAll("[data-missing]")].map(p => p.dataset.missing),
})))()"""


def assert_drawn_to_scale(bars: list[dict[str, Any]]) -> None:
    """The bars as the browser lays them out (CSS included): heights proportional to counts."""
    peak = max(b["count"] for b in bars)
    tallest = max(b["height"] for b in bars)
    assert tallest > 10
    for bar in bars:
        expected = bar["count"] / peak * tallest if peak else 0
        assert abs(bar["height"] - expected) <= 0.02 * tallest + 0.5, (bar, peak, tallest)


def report(source: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``xinspector report SOURCE -o OUT ...`` in a subprocess, as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "xinspector.cli", "report", source, "-o", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    return done


async def inspect(source: str, collection: str | None = None) -> InspectionResult:
    resource = ResourceFactory.from_url(source)
    async with resource:
        return await XInspector(resource).inspect(collection)


async def open_report(page: CDP, path: Path) -> list[dict[str, Any]]:
    await page.send("Page.navigate", url=path.as_uri())
    await page.wait_for(
        "document.readyState === 'complete' && document.querySelector('main') !== null"
    )
    return list(await page.eval(READ_PAGE))


def shown(value: Any) -> str:
    """How the page prints a top value (to compare with innerText)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not value.strip():
        return "(empty string)" if not value else f"({len(value)} blank character(s))"
    return str(to_jsonable(value))


def check_against_statistics(columns: list[dict[str, Any]], result: InspectionResult) -> int:
    """Every column of the page says what the statistics say; returns the bars checked."""
    assert [c["field"] for c in columns] == list(result.field_statistics)
    alerts = quality_alerts(result)
    checked = 0
    for column in columns:
        fs = result.field_statistics[column["field"]]
        if fs.histogram:
            assert [b["count"] for b in column["bars"]] == [b.count for b in fs.histogram]
            assert [b["lower"] for b in column["bars"]] == [
                str(to_jsonable(b.lower)) for b in fs.histogram
            ]
            assert_drawn_to_scale(column["bars"])
            for bar in column["bars"]:
                assert bar["title"].endswith(f": {bar['count']:,}")
            checked += len(column["bars"])
        else:
            assert column["bars"] == []
        if fs.length_histogram:
            assert column["lengths"] == [b.count for b in fs.length_histogram]
        if fs.quantiles:
            assert set(column["quantiles"]) == {"p5", "p25", "p50", "p75", "p95"}
        elif fs.type in {"int", "float", "Decimal", "date", "datetime"}:
            assert "Quantiles" in column["missing"]
            assert "Histogram" in column["missing"]
        assert_same_top(column["top"], [(shown(v.value), v.count) for v in fs.top_values])
        assert column["alerts"] == [a.kind for a in alerts if a.field == fs.name]
    return checked


def assert_charts(columns: list[dict[str, Any]], bars: set[str], lengths: set[str]) -> None:
    """The backend computed the charts in place: numeric and temporal columns have bars, text
    columns a length distribution, and nothing reads "not computed"."""
    by_name = {c["field"]: c for c in columns}
    for name in bars:
        assert by_name[name]["bars"], name
        assert set(by_name[name]["quantiles"]) == {"p5", "p25", "p50", "p75", "p95"}, name
    for name in lengths:
        assert by_name[name]["lengths"], name
    assert [c["missing"] for c in columns if c["field"] in bars | lengths] == [
        [] for c in columns if c["field"] in bars | lengths
    ]


def assert_same_top(page: list[list[Any]], stats: list[tuple[str, int]]) -> None:
    """The same top values, up to ties: a parallel engine may list equal counts in another
    order from one run to the next, and pick other values among those tied at the cut."""
    assert [c for _, c in page] == [c for _, c in stats]
    if not stats:
        return
    cut = stats[-1][1]
    for count in {c for _, c in stats}:
        on_page = sorted(v for v, c in page if c == count)
        expected = sorted(v for v, c in stats if c == count)
        if count > cut:
            assert on_page == expected, count
        else:
            assert len(on_page) == len(expected)


def requested(page: CDP) -> set[str]:
    return {
        e["params"]["request"]["url"]
        for e in page.events
        if e["method"] == "Network.requestWillBeSent"
    }


async def test_hostile_csv_report(page: CDP, tmp_path: Path) -> None:
    rows = ["id,label,amount,seen_at"]
    for i in range(400):
        label = HOSTILE[i % len(HOSTILE)] if i % 5 else ""
        amount = "" if i % 17 == 0 else (f"{i * 1.25:.2f}" if i % 2 else str(i * 3))
        rows.append(
            f'{i},"{label.replace(chr(34), chr(34) * 2)}",{amount},2024-0{1 + i % 9}-1{i % 10}'
            f"T0{i % 10}:30:00"
        )
    csv = tmp_path / "hostile <orders>.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "report.html"
    report(str(csv), out)
    result = await inspect(str(csv))
    columns = await open_report(page, out)
    # The streaming profiler draws every numeric and temporal column and the text lengths.
    assert check_against_statistics(columns, result) > 0
    for column in columns:
        if column["field"] == "label":
            assert column["lengths"]
        else:
            assert column["bars"], column["field"]
            assert column["missing"] == []

    # The data's markup is text: none of it ran or became an element.
    assert await page.eval("window.__pwned === undefined") is True
    assert await page.eval("document.getElementById('injected') === null") is True
    assert await page.eval("document.querySelectorAll('script').length") == 1
    assert await page.eval("document.querySelectorAll('img').length") == 0
    text = await page.eval("document.body.innerText")
    for value in HOSTILE:
        assert value in text
    label = next(c for c in columns if c["field"] == "label")
    assert sorted(v for v, _ in label["top"]) == sorted(HOSTILE)  # empty cells are nulls

    # Nothing but the file itself was requested, and nothing threw.
    assert requested(page) == {out.as_uri()}
    assert [e for e in page.events if e["method"] == "Runtime.exceptionThrown"] == []

    # The page's own script runs (its hash is the one the CSP allows): the filter hides columns.
    await set_value(page, "#filter", "AMO")
    visible = await page.wait_for(
        "(() => { const v = [...document.querySelectorAll('section.field')]"
        ".filter(s => !s.hidden).map(s => s.dataset.field); return v.length === 1 && v; })()"
    )
    assert visible == ["amount"]
    assert await page.eval("document.getElementById('filter-count').textContent") == "1 shown"


@pytest.mark.parametrize("name", ["titanic.csv", "taxis.csv", "penguins.csv"])
async def test_dataset_reports_match_their_statistics(
    page: CDP, tmp_path: Path, datasets: Path, name: str
) -> None:
    source = datasets / "seaborn_csv" / name
    # One inspection, rendered in process: the page is compared with the very statistics it
    # shows (the command line's own run is covered by the tests above and below).
    result = await inspect(str(source))
    out = tmp_path / f"{name}.html"
    out.write_text(render_report(result), encoding="utf-8")
    columns = await open_report(page, out)
    check_against_statistics(columns, result)
    total = await page.eval("document.querySelector('[data-total]').dataset.total")
    assert int(total) == result.total_count
    assert requested(page) == {out.as_uri()}


async def test_sqlite_table_report_computed_by_the_database(page: CDP, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    resource = ResourceFactory.from_url(f"sqlite:///{db}")
    async with resource:
        await resource.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT, total REAL, at TEXT)"
        )
        await resource.execute_many(
            "INSERT INTO orders (note, total, at) VALUES (?, ?, ?)",
            [
                (
                    HOSTILE[i % 4] if i % 3 else None,
                    i * 0.5 if i % 7 else None,
                    f"2024-01-{1 + i % 28:02d}",
                )
                for i in range(300)
            ],
        )
    out = tmp_path / "orders.html"
    report(f"sqlite:///{db}", out, "--collection", "orders")
    result = await inspect(f"sqlite:///{db}", "orders")
    assert result.pushdown
    columns = await open_report(page, out)
    check_against_statistics(columns, result)
    assert_charts(columns, bars={"id", "total"}, lengths={"note"})
    assert await page.eval("window.__pwned === undefined") is True
    meta = await page.eval("document.querySelector('.meta').innerText")
    assert "computed by the database" in meta
    assert requested(page) == {out.as_uri()}


def hostile_rows(n: int) -> list[tuple[Any, ...]]:
    """Text with markup, nulls, ints next to fractions, naive timestamps."""
    return [
        (
            HOSTILE[i % len(HOSTILE)] if i % 5 else None,
            None if i % 13 == 0 else (i * 2 if i % 2 else i / 7),
            datetime(2024, 1 + i % 12, 1 + i % 28, i % 24, 30),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("backend", ["postgres", "mysql"])
async def test_sql_server_table_report(
    page: CDP, tmp_path: Path, backend: str, request: pytest.FixtureRequest, unique_name: str
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    table = f"report_{unique_name}"
    types = {
        "postgres": ("text", "double precision", "timestamp"),
        "mysql": ("text", "double", "datetime"),
    }[backend]
    async with ResourceFactory.from_url(url) as db:
        assert isinstance(db, SQLDatabaseResource)
        name = db.dialect.quote(table)
        await db.execute(f"CREATE TABLE {name} (note {types[0]}, amount {types[1]}, at {types[2]})")
        try:
            marks = ", ".join(db.dialect.param(i) for i in range(1, 4))
            await db.execute_many(
                f"INSERT INTO {name} (note, amount, at) VALUES ({marks})", hostile_rows(500)
            )
            out = tmp_path / f"{backend}.html"
            done = report(url, out, "-c", table, "--progress")
            # Forced progress on a pipe: plain lines, the last one with every record.
            assert "\x1b" not in done.stderr
            assert "500 / 500 records (100.0%)" in done.stderr.splitlines()[-1]
            result = await inspect(url, table)
        finally:
            await db.execute(f"DROP TABLE {name}")
    assert result.pushdown
    columns = await open_report(page, out)
    check_against_statistics(columns, result)
    assert_charts(columns, bars={"amount", "at"}, lengths={"note"})
    assert await page.eval("window.__pwned === undefined") is True
    assert await page.eval("document.getElementById('injected') === null") is True
    assert requested(page) == {out.as_uri()}


async def test_mongodb_collection_report(
    page: CDP, tmp_path: Path, mongodb_url: str, unique_name: str
) -> None:
    source = ResourceFactory.from_url(mongodb_url, database="xinspector_report")
    assert isinstance(source, MongoDBResource)
    collection = f"report_{unique_name}"
    async with source:
        docs: list[dict[str, Any]] = []
        for note, amount, at in hostile_rows(300):
            doc: dict[str, Any] = {"at": at}
            if note is not None:
                doc["note"] = note  # a missing key next to explicit nulls below
            doc["amount"] = amount
            docs.append(doc)
        await source.insert_many(collection, docs)
        try:
            # Rendered in process: ties among the top values (every _id once) may come back in
            # another order from a second inspection.
            result = await XInspector(source).inspect(collection)
            out = tmp_path / "mongo.html"
            out.write_text(render_report(result), encoding="utf-8")
        finally:
            await (await source.get_collection(collection)).drop()
    assert result.pushdown
    columns = await open_report(page, out)
    check_against_statistics(columns, result)
    assert_charts(columns, bars={"amount", "at"}, lengths={"note"})
    assert await page.eval("window.__pwned === undefined") is True
    assert requested(page) == {out.as_uri()}
