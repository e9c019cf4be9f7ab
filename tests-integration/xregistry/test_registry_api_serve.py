"""``xregistry serve`` as a user runs it: a real uvicorn process on loopback, the embedded sample
or a settings file over PostgreSQL; schemathesis against the served OpenAPI document; a bounded
load test from this (second) process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from registry_server import Served, start_serve, stop_serve

from xregistry.api import hash_token
from xresource import ResourceFactory, SQLDatabaseResource


def get(served: Served, path: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(served.url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            kind = response.headers.get("content-type", "")
            return response.status, json.loads(body) if "json" in kind else body.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("xregistry-data")
    server = start_serve("--data-dir", str(data_dir), "--log-level", "warning")
    yield server
    rest = stop_serve(server)
    assert server.process.returncode == 0, rest
    assert "Traceback" not in rest, rest


def test_serve_prints_url_and_token_once_and_serves_the_sample(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    assert not served.url.endswith(":0")
    assert served.token
    assert len(served.token) >= 40
    assert sum(served.token in line for line in served.output) == 2  # the token and the link
    status, info = get(served, "/api/info", served.token)
    assert status == 200
    assert info["principal"] == {"id": "local-admin", "roles": ["admin"]}
    assert info["models"] == 5
    assert info["functions"] == 2
    assert info["types"] == 3
    status, page = get(served, "/")
    assert status == 200
    assert "xregistry" in page
    status, body = get(served, "/api/registry/models")
    assert status == 401
    assert body["error"]["type"] == "unauthenticated"


def test_sample_function_runs_for_the_admin(served: Served) -> None:
    request = urllib.request.Request(
        served.url + "/api/registry/functions/line_total/execute",
        data=json.dumps({"kwargs": {"quantity": 3, "unit_price": 10, "discount": 0.1}}).encode(),
        headers={"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["result"] == 27.0


def test_schemathesis_finds_no_server_error_and_no_schema_violation(served: Served) -> None:
    """Every operation of the served OpenAPI document, a few generated cases each (bounded)."""
    from schemathesis.checks import (
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {served.token}"}
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=12,
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
        except Exception as exc:
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    assert operations >= 25
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


async def test_load_from_a_second_process_has_no_errors(served: Served) -> None:
    """2,000 requests over 4 connections (this process is the client, the server is uvicorn in
    its own process), bounded to two minutes."""
    paths = [
        "/api/registry/models/orders",
        "/api/registry/models",
        "/api/enrichment/models/customers/suggestions/country",
        "/api/data/models/orders/records?limit=5",
    ]
    headers = {"Authorization": f"Bearer {served.token}"}
    statuses: dict[int, int] = {}
    total = 2000
    counter = iter(range(total))

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in counter:
            async with session.get(served.url + paths[i % len(paths)], headers=headers) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1

    connector = aiohttp.TCPConnector(limit=4)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.wait_for(asyncio.gather(*(worker(session) for _ in range(4))), 120)
    assert statuses == {200: total}


def test_serve_port_in_use_is_a_clear_error(served: Served) -> None:
    port = served.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "xregistry.cli",
            "serve",
            "--port",
            port,
            "--data-dir",
            str(Path(os.environ.get("TMPDIR", "/tmp")) / "xregistry-port-test"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "cannot listen" in done.stderr
    assert "--port 0" in done.stderr
    assert "Traceback" not in done.stderr


async def test_serve_from_a_settings_file_over_postgresql(
    postgres_url: str, unique_name: str, tmp_path: Path
) -> None:
    pg = ResourceFactory.from_url(postgres_url)
    assert isinstance(pg, SQLDatabaseResource)
    table = unique_name
    async with pg:
        await pg.execute(
            f'CREATE TABLE "{table}" (id serial PRIMARY KEY, kind text NOT NULL, amount numeric)'
        )
        try:
            await pg.execute_many(
                f'INSERT INTO "{table}" (kind, amount) VALUES ($1, $2)',
                [("a" if i % 3 else "b", i) for i in range(120)],
            )
            token = "ops-token-" + unique_name
            settings = tmp_path / "settings.toml"
            settings.write_text(
                "[api]\nlocal_admin = false\nadmin_roles = ['ops']\n"
                f"[[api.tokens]]\nid = 'ops'\nroles = ['ops']\ntoken_hash = '{hash_token(token)}'\n"
                f"[[api.resources]]\nurl = '{postgres_url}'\nname = 'pg'\nnamespace = 'pg'\n"
            )
            server = await asyncio.to_thread(start_serve, "--config", str(settings))
            try:
                assert server.token is None  # no local admin: only the configured token
                status, model = await asyncio.to_thread(
                    get, server, f"/api/registry/models/{table}", token
                )
                assert status == 200, model
                assert model["namespace"] == f"ns.models.pg.{table}"
                status, page = await asyncio.to_thread(
                    get,
                    server,
                    f"/api/data/models/{table}/records?filter=%7B%22kind%22%3A%22b%22%7D",
                    token,
                )
                assert status == 200
                assert page["total"] == 40
                status, sugg = await asyncio.to_thread(
                    get, server, f"/api/enrichment/models/{table}/suggestions/kind", token
                )
                assert sorted(sugg["suggestions"]) == ["a", "b"]
                assert "password" not in json.dumps(model)
            finally:
                rest = await asyncio.to_thread(stop_serve, server)
            assert "Traceback" not in rest
        finally:
            await pg.execute(f'DROP TABLE IF EXISTS "{table}"')
