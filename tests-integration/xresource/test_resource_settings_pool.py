"""The XResource specification's ``settings.toml`` and MongoDB pooling options, on real servers.

- MongoDB: the real ``mongod`` (replica set ``rs0``); the options are read back from the driver's
  own ``client.options.pool_options`` and the pool's behaviour (minimum kept open, idle
  connections closed, maximum never exceeded) is observed through ``get_pool_stats()``.
- REST: a real aiohttp server on 127.0.0.1 that fails a scripted number of times, or answers
  slowly, so ``retry_attempts`` and ``default_timeout`` are observed from the server's side.

The settings file is the specification's, written into ``tmp_path`` and loaded as a user does
(from the working directory, or ``ResourceFactory.settings.configure(settings_files=[...])``);
only the MongoDB address is the test server's instead of ``mongodb://localhost:27017``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import xresource.network.rest as rest_module  # private on purpose: its _sleep hook is patched
from xresource import (
    MongoDBResource,
    ResourceFactory,
    RESTResource,
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceTimeoutError,
)

SPEC_SETTINGS = """\
# settings.toml
[resources.mongodb]
default_connection_string = "{mongodb_url}"
default_pool_size = 10
connection_timeout = 5000

[resources.csv]
default_encoding = "utf-8"
default_delimiter = ","

[resources.api]
default_timeout = 30
retry_attempts = 3
"""

HITS = web.AppKey("hits", Counter)
FAILURES = web.AppKey("failures", dict)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test loads its own settings; the factory reads the working directory's afterwards."""
    ResourceFactory.settings.configure({})
    yield
    ResourceFactory.settings.reset()


def write_settings(tmp_path: Path, text: str) -> None:
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    ResourceFactory.settings.configure(root=tmp_path, settings_files=["settings.toml"])


async def until(check: Callable[[], bool], *, within: float = 15.0) -> None:
    """Wait until ``check()`` holds; fail after ``within`` seconds (the driver's pool
    maintenance runs about once a second)."""

    async def poll() -> None:
        # The driver's pool offers no event to wait on: its counters are polled.
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout=within)


# -- MongoDB ---------------------------------------------------------------------------------
@pytest.fixture
async def database(mongodb_url: str) -> AsyncIterator[str]:
    name = f"xres_pool_{uuid.uuid4().hex[:10]}"
    yield name
    cleanup = ResourceFactory.create("mongodb", connection_string=mongodb_url, database=name)
    async with cleanup:
        assert isinstance(cleanup, MongoDBResource)
        await cleanup.client.drop_database(name)


async def test_spec_settings_reach_the_mongodb_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mongodb_url: str, database: str
) -> None:
    (tmp_path / "settings.toml").write_text(
        SPEC_SETTINGS.format(mongodb_url=mongodb_url), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    ResourceFactory.settings.reset()  # as in a fresh process: read ./settings.toml on first use
    mongo = ResourceFactory.create("mongodb", name="user_db", database=database)
    assert isinstance(mongo, MongoDBResource)
    async with mongo:
        options = mongo.client.options.pool_options
        assert options.max_pool_size == 10
        assert options.connect_timeout == 5.0
        assert mongo.client.options.server_selection_timeout == 5.0
        await mongo.insert_many("users", [{"name": "Zoë"}])
        assert await mongo.get_collections() == ["users"]
        stats = mongo.get_pool_stats()
        assert stats["status"] == "connected"
        assert stats["max_pool_size"] == 10
        assert 1 <= stats["active_connections"] <= 10
        assert stats["active_connections"] == stats.size


async def test_pool_options_are_the_drivers_and_the_stats_are_true(
    mongodb_url: str, database: str
) -> None:
    mongo = ResourceFactory.create(
        "mongodb",
        connection_string=mongodb_url,
        database=database,
        max_pool_size=3,
        min_pool_size=2,
        max_idle_time_ms=60000,
    )
    assert isinstance(mongo, MongoDBResource)
    assert mongo.get_pool_stats()["status"] == "not_connected"
    async with mongo:
        options = mongo.client.options.pool_options
        assert (options.max_pool_size, options.min_pool_size) == (3, 2)
        assert options.max_idle_time_seconds == 60.0
        # The driver opens min_pool_size connections on its own, with no request waiting.
        await until(lambda: mongo.get_pool_stats()["active_connections"] >= 2)

        # Twelve concurrent requests never get more than max_pool_size connections.
        peak = 0

        async def watched(coro: Awaitable[Any]) -> Any:
            nonlocal peak
            result = await coro
            peak = max(peak, mongo.get_pool_stats()["active_connections"])
            return result

        await mongo.insert_many("items", [{"i": i} for i in range(50)])
        counts = await asyncio.wait_for(
            asyncio.gather(*(watched(mongo.count("items", {"i": {"$gte": i}})) for i in range(12))),
            timeout=30,
        )
        assert counts == [50 - i for i in range(12)]
        assert 2 <= peak <= 3
        stats = mongo.get_pool_stats()
        assert stats["in_use"] == 0
        assert stats["active_connections"] == stats["idle"] == stats.size
        assert stats["idle_time_ms"] == 60000
    assert mongo.get_pool_stats()["active_connections"] == 0


async def test_max_idle_time_closes_idle_connections(mongodb_url: str, database: str) -> None:
    mongo = ResourceFactory.create(
        "mongodb",
        connection_string=mongodb_url,
        database=database,
        min_pool_size=0,
        max_idle_time_ms=300,
    )
    assert isinstance(mongo, MongoDBResource)
    async with mongo:
        assert mongo.client.options.pool_options.max_idle_time_seconds == 0.3
        await asyncio.gather(*(mongo.count("things") for _ in range(4)))
        assert mongo.get_pool_stats()["active_connections"] >= 1
        # Idle longer than 300 ms: the driver's maintenance closes them all (no minimum).
        await until(lambda: mongo.get_pool_stats()["active_connections"] == 0)


async def test_pool_options_in_the_uri_are_the_drivers(mongodb_url: str, database: str) -> None:
    sep = "&" if "?" in mongodb_url else "?"
    mongo = ResourceFactory.from_url(
        f"{mongodb_url}{sep}maxPoolSize=4&minPoolSize=1&maxIdleTimeMS=45000", database=database
    )
    assert isinstance(mongo, MongoDBResource)
    async with mongo:
        options = mongo.client.options.pool_options
        assert (options.max_pool_size, options.min_pool_size) == (4, 1)
        assert options.max_idle_time_seconds == 45.0
        stats = mongo.get_pool_stats()
        assert (stats["max_pool_size"], stats["min_pool_size"], stats["idle_time_ms"]) == (
            4,
            1,
            45000,
        )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"max_pool_size": 0}, "given as max_pool_size"),
        ({"min_pool_size": -1}, "given as min_pool_size"),
        ({"min_pool_size": 5, "max_pool_size": 2}, "exceeds pool_max_size"),
        ({"max_idle_time_ms": 0}, "given as max_idle_time_ms"),
    ],
)
async def test_bad_pool_values_never_reach_the_server(
    mongodb_url: str, params: dict[str, Any], expected: str
) -> None:
    with pytest.raises(XResourceConfigurationError, match=expected):
        ResourceFactory.create("mongodb", connection_string=mongodb_url, database="x", **params)


# -- REST ------------------------------------------------------------------------------------
async def flaky(request: web.Request) -> web.Response:
    """Answers 503 as many times as ``?fail=`` says (per ``?key=``), then 200."""
    key = request.query["key"]
    request.app[HITS][key] += 1
    if request.app[HITS][key] <= int(request.query["fail"]):
        return web.json_response({"error": "try later"}, status=503)
    return web.json_response({"attempts": request.app[HITS][key]})


async def slow(request: web.Request) -> web.Response:
    request.app[HITS]["slow"] += 1
    await asyncio.sleep(float(request.query.get("seconds", "5")))
    return web.json_response({"late": True})


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    app = web.Application()
    app[HITS] = Counter()
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", app
    finally:
        await runner.cleanup()


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off pauses between attempts, recorded and shortened (the test is about how many
    attempts, not how long they wait)."""
    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(rest_module, "_sleep", record)
    return recorded


async def test_spec_retry_attempts_three(
    tmp_path: Path, server: tuple[str, web.Application], pauses: list[float], mongodb_url: str
) -> None:
    base, app = server
    write_settings(tmp_path, SPEC_SETTINGS.format(mongodb_url=mongodb_url))
    api = ResourceFactory.create("rest_api", name="weather_api", endpoint=base)
    assert isinstance(api, RESTResource)
    assert (api.timeout, api.max_retries) == (30.0, 3)
    async with api:
        # Fails twice, then three times: both succeed (3 retries after the first attempt).
        assert await api.get("/flaky", params={"key": "a", "fail": 2}) == {"attempts": 3}
        assert await api.get("/flaky", params={"key": "b", "fail": 3}) == {"attempts": 4}
        with pytest.raises(XResourceConnectionError, match="HTTP 503"):
            await api.get("/flaky", params={"key": "c", "fail": 4})
    assert (app[HITS]["a"], app[HITS]["b"], app[HITS]["c"]) == (3, 4, 4)
    assert len(pauses) == 2 + 3 + 3


async def test_settings_retry_attempts_other_than_the_default(
    tmp_path: Path, server: tuple[str, web.Application], pauses: list[float]
) -> None:
    base, app = server
    write_settings(tmp_path, "[resources.api]\nretry_attempts = 1\n")
    async with ResourceFactory.create("api", endpoint=base) as api:
        assert await api.get("/flaky", params={"key": "a", "fail": 1}) == {"attempts": 2}  # type: ignore[attr-defined]
        with pytest.raises(XResourceConnectionError, match="HTTP 503"):
            await api.get("/flaky", params={"key": "b", "fail": 2})  # type: ignore[attr-defined]
    assert (app[HITS]["a"], app[HITS]["b"]) == (2, 2)
    # The caller's own value wins over the settings'.
    async with ResourceFactory.create("api", endpoint=base, max_retries=2) as api:
        assert await api.get("/flaky", params={"key": "c", "fail": 2}) == {"attempts": 3}  # type: ignore[attr-defined]


async def test_settings_timeout_ends_a_slow_request(
    tmp_path: Path, server: tuple[str, web.Application]
) -> None:
    base, app = server
    write_settings(tmp_path, "[resources.api]\ndefault_timeout = 0.5\nretry_attempts = 0\n")
    api = ResourceFactory.create("api", endpoint=base)
    assert isinstance(api, RESTResource)
    async with api:
        started = time.monotonic()
        with pytest.raises(XResourceTimeoutError, match=r"within 0.5s"):
            await asyncio.wait_for(api.get("/slow", params={"seconds": 5}), timeout=10)
        # Ended by the resource's own timeout, long before the server would have answered.
        assert time.monotonic() - started < 4
        assert await api.get("/slow", params={"seconds": 0}) == {"late": True}
    assert app[HITS]["slow"] == 2
