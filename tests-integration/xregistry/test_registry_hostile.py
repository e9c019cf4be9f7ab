"""``xregistry serve`` under a hostile caller: while this (second) process sends pathological
filters (a catastrophic ``$regex``, ``$in`` lists at and past the limit, nesting past the limit)
and oversized bodies, another caller's cheap request keeps answering within a stated bound
(docs/xregistry-api.md: 2 s; a deadline, not a benchmark); then a bounded schemathesis run with
every check finds no server error."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, given, settings
from registry_server import Served, start_serve, stop_serve

#: The stated bound on a cheap request's latency while the attack runs (seconds).
CHEAP_BOUND = 2.0
CUSTOMERS = "/api/data/models/customers/records"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("xregistry-hostile")
    server = start_serve("--data-dir", str(data_dir), "--log-level", "warning")
    yield server
    rest = stop_serve(server)
    assert server.process.returncode == 0, rest
    assert "Traceback" not in rest, rest


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "x"}
    for _ in range(depth):
        node = {"$and": [node]}
    return node


async def _plant_victim(
    session: aiohttp.ClientSession, served: Served, auth: dict[str, str]
) -> int:
    """A customer whose name makes (a+)+$ backtrack exponentially; its id."""
    async with session.get(CUSTOMERS, params={"limit": "1"}, headers=auth) as resp:
        assert resp.status == 200, await resp.text()
        row = dict((await resp.json())["items"][0])
    row.pop("id", None)
    row["name"] = "a" * 3000 + "!"
    row["email"] = f"victim-{time.time_ns()}@example.org"
    async with session.post(CUSTOMERS, json=row, headers=auth) as resp:
        assert resp.status == 201, await resp.text()
        return int((await resp.json())["id"])


async def test_pathological_requests_do_not_stall_other_callers(served: Served) -> None:
    auth = {"Authorization": f"Bearer {served.token}"}
    attacks: list[tuple[str, dict[str, Any]]] = [
        ("regex", {"name": {"$regex": "(a+)+$"}}),
        ("regex_i", {"name": {"$regex": "(a|aa)+$", "$options": "i"}}),
        # The filter parameter holds at most 4,000 characters: a long $in fits below that,
        # a huge one is refused before it is parsed.
        ("in_long", {"id": {"$in": list(range(700))}}),
        ("in_huge", {"id": {"$in": list(range(10_001))}}),
        ("deep", _nested(25)),
    ]
    statuses: dict[str, set[int]] = {}
    latencies: list[float] = []
    stop = asyncio.Event()

    async with aiohttp.ClientSession(base_url=served.url) as session:
        await _plant_victim(session, served, auth)

        async def attacker(worker: int) -> None:
            i = worker
            while not stop.is_set():
                name, flt = attacks[i % len(attacks)]
                i += 1
                async with session.get(
                    CUSTOMERS, params={"filter": json.dumps(flt), "limit": "5"}, headers=auth
                ) as resp:
                    body = await resp.read()
                    statuses.setdefault(name, set()).add(resp.status)
                    assert b"Traceback" not in body
                    if name.startswith("regex"):
                        assert b"$regex" in body, body[:300]

        async def big_bodies() -> None:
            big = b'{"status": "' + b"x" * (3 * 1024 * 1024) + b'"}'
            while not stop.is_set():
                async with session.post(
                    "/api/enrichment/models/orders/validate",
                    data=big,
                    headers={**auth, "Content-Type": "application/json"},
                ) as resp:
                    statuses.setdefault("big_body", set()).add(resp.status)
                    assert len(await resp.read()) < 1000

        async def cheap_caller() -> None:
            # A separate connection pool: the attack's connections never queue this one.
            async with aiohttp.ClientSession(base_url=served.url) as own:
                for _ in range(30):
                    started = time.monotonic()
                    async with own.get("/api/health") as resp:
                        assert resp.status == 200
                        await resp.read()
                    latencies.append(time.monotonic() - started)
                    await asyncio.sleep(0.1)

        tasks = [asyncio.create_task(attacker(w)) for w in range(3)]
        tasks.append(asyncio.create_task(big_bodies()))
        try:
            await asyncio.sleep(0.5)  # the attack is under way
            await asyncio.wait_for(cheap_caller(), 120)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 60)

    assert statuses["regex"] == {422}, statuses
    assert statuses["regex_i"] == {422}, statuses
    assert statuses["in_long"] == {200}, statuses
    assert statuses["in_huge"] == {422}, statuses
    assert statuses["deep"] == {422}, statuses
    assert statuses["big_body"] == {413}, statuses
    assert len(latencies) == 30
    assert max(latencies) < CHEAP_BOUND, sorted(latencies)[-5:]


def _codes(exc: BaseException) -> list[str]:
    """The schemathesis failure codes (ST101 is a server error) inside ``exc``."""
    if isinstance(exc, BaseExceptionGroup):
        return [code for inner in exc.exceptions for code in _codes(inner)]
    return [str(getattr(exc, "code", type(exc).__name__))]


def test_schemathesis_all_checks_find_no_server_error(served: Served) -> None:
    """Every operation of the served OpenAPI document with every schemathesis check, a few
    generated cases each (bounded: well under a minute): no server error (5xx) at all, and no
    other finding either."""
    from schemathesis.checks import CHECKS

    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {served.token}"}
    # Every registered check (schemathesis.specs.openapi.checks, imported above, adds the
    # OpenAPI ones to the generic not_a_server_error).
    checks = CHECKS.get_all()
    assert len(checks) > 10
    failures: dict[str, str] = {}
    server_errors: dict[str, str] = {}
    operations = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(base_url=served.url, headers=headers, checks=checks, timeout=30)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            text = f"{type(exc).__name__}: {str(exc)[:1500]}"
            codes = set(_codes(exc))
            if "ST101" in codes:
                server_errors[operation.label] = text
            else:
                failures[operation.label] = text
    assert operations >= 25
    assert time.monotonic() - started < 300
    assert not server_errors, "\n\n".join(f"{k}\n{v}" for k, v in server_errors.items())
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
