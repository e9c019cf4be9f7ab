"""``xregistry serve`` in a subprocess for the tests that drive it: start, read its URL and
token from what it prints, stop it like Ctrl+C does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest


@dataclass
class Served:
    url: str
    token: str | None
    process: subprocess.Popen[str]
    output: list[str]


def start_serve(*args: str, timeout: float = 60.0, env: dict[str, str] | None = None) -> Served:
    """Run ``xregistry serve --port 0 ...`` and wait for its URL line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "xregistry.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    url = token = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if m := re.match(r"URL: (http://\S+)/$", line.strip()):
            url = m.group(1)
        if m := re.match(r"Token \(local admin, this run only\): (\S+)$", line.strip()):
            token = m.group(1)
        if line.startswith("Press Ctrl+C"):
            break
    if url is None:
        process.kill()
        pytest.fail("xregistry serve did not start:\n" + "\n".join(lines), pytrace=False)
    return Served(url, token, process, lines)


def stop_serve(served: Served) -> str:
    """Stop the server like Ctrl+C does; return the rest of its output."""
    os.killpg(served.process.pid, signal.SIGINT)
    try:
        rest, _ = served.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(served.process.pid, signal.SIGKILL)
        rest, _ = served.process.communicate()
    return rest
