"""``xregistry serve`` in a subprocess, for the integration tests and the API benchmark: start it
on a free port, read its URL and token from what it prints, stop it like Ctrl+C does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

_URL = re.compile(r"URL: (http://\S+)/$")
_TOKEN = re.compile(r"Token \(local admin, this run only\): (\S+)$")


@dataclass
class Served:
    url: str  # without the trailing slash
    token: str | None  # None when the server runs without its local admin token
    process: subprocess.Popen[str]
    output: list[str]  # what it printed up to "Press Ctrl+C"


class ServeFailed(RuntimeError):
    """``xregistry serve`` exited or said nothing usable before the timeout; the message holds
    what it printed."""


def start_serve(*args: str, timeout: float = 60.0, env: dict[str, str] | None = None) -> Served:
    """Run ``xregistry serve --port 0 ...`` with this Python and wait for its URL line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "xregistry.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # its own process group: stop_serve signals the whole group
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
        if m := _URL.match(line.strip()):
            url = m.group(1)
        if m := _TOKEN.match(line.strip()):
            token = m.group(1)
        if line.startswith("Press Ctrl+C"):
            break
    if url is None:
        process.kill()
        process.wait()
        raise ServeFailed("xregistry serve did not start:\n" + "\n".join(lines))
    return Served(url, token, process, lines)


def stop_serve(served: Served, timeout: float = 30.0) -> str:
    """Stop the server like Ctrl+C does (SIGKILL after ``timeout``); return the rest of its
    output."""
    os.killpg(served.process.pid, signal.SIGINT)
    try:
        rest, _ = served.process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(served.process.pid, signal.SIGKILL)
        rest, _ = served.process.communicate()
    return rest
