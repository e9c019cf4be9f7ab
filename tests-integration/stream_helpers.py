"""Helpers shared by the stream integration tests: free ports, polling, private broker processes."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path


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


class KafkaMockBroker:
    """A private one-broker Kafka (librdkafka's mock cluster) that tests take down and bring up.

    It runs ``scripts/kafka_mock_broker.py --controlled`` in a subprocess. ``down()`` closes the
    broker's connections and stops its listener, ``up()`` listens again on the same port; topics,
    messages and committed offsets survive, as on a real broker restarted on its kept disk.
    ``stop()`` ends the process (it also ends by itself when our end of its stdin closes).
    """

    script = Path(__file__).resolve().parent.parent / "scripts" / "kafka_mock_broker.py"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.bootstrap = ""

    def start(self) -> None:
        """Start the process and read the bootstrap address it serves."""
        self.proc = subprocess.Popen(
            [sys.executable, str(self.script), "--controlled"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.bootstrap = self._answer("start")

    def down(self) -> None:
        """Take the broker down (its state is kept)."""
        self._command("down")

    def up(self) -> None:
        """Bring the broker back up on the same port."""
        self._command("up")

    def stop(self) -> None:
        """Destroy the cluster and reap the process (killed when it does not exit)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                with contextlib.suppress(OSError):  # it died meanwhile: the pipe is broken
                    assert proc.stdin is not None
                    proc.stdin.write("stop\n")
                    proc.stdin.flush()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        finally:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()

    def _command(self, command: str) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise AssertionError(f"the Kafka mock broker is not running ({command})")
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self._answer(command)
        if answer != "ok":
            raise AssertionError(f"the Kafka mock broker refused {command!r}: {answer}")

    def _answer(self, command: str, limit: float = 30.0) -> str:
        # One line answers each command, so nothing waits in the pipe's read buffer that
        # select() could miss.
        assert self.proc is not None
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise AssertionError(
                f"the Kafka mock broker did not answer {command!r} (exit code {self.proc.poll()})"
            )
        return line.strip()
