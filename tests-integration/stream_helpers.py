"""Helpers shared by the stream integration tests: free ports, polling, private broker processes."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable, Sequence


def free_port() -> int:
    """A loopback TCP port that nothing listens on (for private servers and dead endpoints)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(cond: Callable[[], bool], limit: float = 10.0, what: str = "condition") -> None:
    """Poll ``cond`` until it holds; fail the test after ``limit`` seconds naming ``what``."""
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class BrokerProcess:
    """A throw-away server process on a free loopback port that tests may kill and restart.

    ``argv(port)`` gives the command line; ``start()`` waits until the port accepts connections.
    """

    def __init__(self, name: str, argv: Callable[[int], Sequence[str]]) -> None:
        self.name = name
        self.argv = argv
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (again, on the same port) and wait until it listens."""
        self.proc = subprocess.Popen(
            list(self.argv(self.port)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not start")

    def stop(self) -> None:
        """Kill the process (as a crash would) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
