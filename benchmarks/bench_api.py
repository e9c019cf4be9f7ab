"""The model-detail endpoint against a bare FastAPI endpoint returning the same JSON.

Both are served by uvicorn in their own subprocess with the same settings; this script is the
client process, on loopback, with ``--connections`` keep-alive connections. Ours is
``GET /api/registry/models/orders`` of ``xregistry serve`` on the embedded sample (bearer-token
authentication, permission check, audit record, serialization) with its registry store enabled
(the default SQLite file in the data directory, or ``--store URL``: the store's follower polls
it in the background while the load runs); the bare one is a FastAPI route
returning the same JSON document as a dict. Rounds alternate between the two; the median
requests per second of each is compared.

    python benchmarks/bench_api.py               # print the table
    python benchmarks/bench_api.py --write-docs  # and update docs/benchmarks.md
    python benchmarks/bench_api.py --store postgresql://postgres@127.0.0.1/test

The target of the issue: ours sustains at least 0.8x the requests per second of the bare endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from registry_serve import Served, ServeFailed, start_serve, stop_serve

try:
    from _report import write_docs_block
except ImportError:  # run as `python -m benchmarks.bench_api`
    from benchmarks._report import write_docs_block

NAME = "api"
TARGET_RATIO = 0.8

BARE_APP = textwrap.dedent(
    """
    import json, sys
    import uvicorn
    from fastapi import FastAPI

    with open(sys.argv[1], encoding="utf-8") as fh:
        DOCUMENT = json.load(fh)
    app = FastAPI()

    @app.get("/model")
    async def model():
        return DOCUMENT

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                access_log=False, server_header=False)
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_ours(data_dir: str, store: str | None) -> Served:
    args = ["--data-dir", data_dir, "--log-level", "warning"]
    if store:
        args += ["--store", store]
    try:
        served = start_serve(*args)
    except ServeFailed as exc:
        raise SystemExit(str(exc)) from None
    if served.token is None:
        stop_serve(served)
        raise SystemExit("xregistry serve printed no token:\n" + "\n".join(served.output))
    if not any(line.startswith("registry store: ") for line in served.output):
        stop_serve(served)
        raise SystemExit("xregistry serve runs without its store:\n" + "\n".join(served.output))
    return served


def start_bare(document: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(document), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}/model"
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the bare FastAPI app did not start")


def stop(process: subprocess.Popen[str]) -> None:
    """Stop the bare app like Ctrl+C does."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def load(url: str, headers: dict[str, str], requests: int, connections: int) -> float:
    """Requests per second of ``requests`` GETs over ``connections`` keep-alive connections."""
    remaining = iter(range(requests))
    errors = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for _ in remaining:
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                errors += resp.status != 200

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{errors} requests to {url} failed")
    return requests / elapsed


async def measure(args: argparse.Namespace) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        ours = start_ours(str(Path(tmp) / "sample"), args.store)
        bare = None
        try:
            ours_url = f"{ours.url}/api/registry/models/orders"
            auth = {"Authorization": f"Bearer {ours.token}"}
            async with aiohttp.ClientSession() as session, session.get(ours_url, headers=auth) as r:
                body = await r.read()
            document = Path(tmp) / "model.json"
            document.write_bytes(body)
            bare, bare_url = start_bare(document)
            async with aiohttp.ClientSession() as session, session.get(bare_url) as r:
                assert json.loads(await r.read()) == json.loads(body), "not the same JSON"
            for url, headers in ((ours_url, auth), (bare_url, {})):  # warm-up
                await load(url, headers, args.requests // 5, args.connections)
            ours_rps: list[float] = []
            bare_rps: list[float] = []
            for _ in range(args.rounds):
                bare_rps.append(await load(bare_url, {}, args.requests, args.connections))
                ours_rps.append(await load(ours_url, auth, args.requests, args.connections))
        finally:
            stop_serve(ours, timeout=20)
            if bare is not None:
                stop(bare)
    return statistics.median(ours_rps), statistics.median(bare_rps), len(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--store", help="the registry store URL (default: the SQLite file in the data directory)"
    )
    args = parser.parse_args(argv)
    ours, bare, size = asyncio.run(measure(args))
    ratio = ours / bare
    store = "PostgreSQL" if (args.store or "").startswith("postgres") else "SQLite file"
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    table = "\n".join(
        [
            f"`GET /api/registry/models/orders` of `xregistry serve` (sample, {size:,} bytes of "
            f"JSON, registry store enabled: {store}) vs. a bare FastAPI route returning the same "
            f"JSON; uvicorn subprocesses, "
            f"{args.connections} keep-alive connections from a client process on loopback, "
            f"median of {args.rounds} rounds of {args.requests:,} requests "
            f"({platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} CPUs).",
            "",
            "| endpoint | requests/s | ratio |",
            "| --- | ---: | ---: |",
            f"| bare FastAPI, same JSON | {bare:,.0f} | 1.00 |",
            f"| xregistry model detail (auth, permission, audit, store) | {ours:,.0f} | "
            f"{ratio:.2f} |",
            "",
            f"Target: at least {TARGET_RATIO}x: {verdict}.",
        ]
    )
    print(table)
    if args.write_docs:
        write_docs_block(NAME, table)
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
