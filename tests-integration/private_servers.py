"""Private server instances that a fault test starts, kills and restarts by itself.

The shared servers of CONVENTIONS.md serve every suite at once and must never be killed; a test
that needs a server to die gets its own instance here, in a temporary directory, on a free port.

:class:`PrivatePostgres` runs the installed PostgreSQL binaries (``initdb`` and ``postgres`` from
``$XTEST_PG_BINDIR``, default ``/usr/lib/postgresql/15/bin``). PostgreSQL refuses to run as root,
so when the tests run as root the cluster belongs to the ``postgres`` OS user. Every wait here has
a deadline: a server that does not come up (or down) in time is a failure naming the log.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PrivatePostgres", "ServerStartError", "free_port", "pg_bindir"]

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class ServerStartError(RuntimeError):
    """A private server could not be initialised, started or stopped within its deadline."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bindir() -> Path | None:
    """The directory of ``initdb`` and ``postgres``, or ``None`` when they are not installed."""
    bindir = Path(os.environ.get("XTEST_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
    if (bindir / "initdb").exists() and (bindir / "postgres").exists():
        return bindir
    return None


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


class PrivatePostgres:
    """One PostgreSQL cluster of its own: ``start()``, ``kill()`` (SIGKILL), ``start()`` again.

    The data survives a kill (crash recovery runs on the next start), which is what lets a test
    check that an interrupted write left nothing half-written.

    Example::

        server = PrivatePostgres()
        server.init()
        server.start()
        url = server.url  # postgresql://postgres@127.0.0.1:<port>/postgres
        server.kill()
        server.start()
        server.destroy()
    """

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise ServerStartError("PostgreSQL binaries not found; set XTEST_PG_BINDIR")
        self.bindir = bindir
        self.port = free_port()
        # Not pytest's tmp_path: that lives in a 0700 directory the `postgres` user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="xtest-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ServerStartError(
                    "running as root and there is no `postgres` OS user to own the cluster"
                ) from exc
            self._user = "postgres"
            shutil.chown(self.root, user="postgres")

    @property
    def url(self) -> str:
        """The server's URL (trust authentication, superuser ``postgres``)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        """Create the cluster (``initdb``, trust authentication, no fsync: it is throw-away)."""
        result = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            user=self._user,
            capture_output=True,
            timeout=START_TIMEOUT * 2,
            check=False,
        )
        if result.returncode != 0:
            raise ServerStartError(f"initdb failed: {result.stderr.decode(errors='replace')}")

    def start(self) -> None:
        """Start the postmaster and wait (with a deadline) until it accepts connections.

        After a kill, orphaned backends may hold the shared memory for a moment; the start is
        retried until the deadline.
        """
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._spawn()
            if self._wait_ready(deadline):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError(
                    f"private PostgreSQL on port {self.port} did not start within "
                    f"{START_TIMEOUT:g}s; log:\n{self._log_tail()}"
                )
            time.sleep(0.2)

    def _spawn(self) -> None:
        log = self.log.open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=40",
                ],
                user=self._user,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def _wait_ready(self, deadline: float) -> bool:
        """Whether the server accepts TCP connections before ``deadline`` (False if it exited)."""
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            # The port opens before recovery ends; a real query tells it is ready.
            if _port_open(self.port) and self._query_ok():
                return True
            time.sleep(0.1)
        return False

    def _query_ok(self) -> bool:
        psql = self.bindir / "psql"
        if not psql.exists():
            return True
        result = subprocess.run(
            [
                str(psql),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-Atc",
                "SELECT 1",
            ],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return result.returncode == 0

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (a crash); returns once the port is closed."""
        process, self.process = self.process, None
        if process is None:
            return
        # The postmaster and every backend, as a power loss would: backends are not in the
        # postmaster's process group (each calls setsid()), so they are found by parent pid.
        for pid in [process.pid, *_children(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise ServerStartError(f"postmaster {process.pid} survived SIGKILL") from exc
        deadline = time.monotonic() + STOP_TIMEOUT
        while _port_open(self.port):
            if time.monotonic() > deadline:
                raise ServerStartError(f"port {self.port} still open after the kill")
            time.sleep(0.05)

    def kill_postmaster_only(self) -> None:
        """SIGKILL only the postmaster; its backends notice when they next wait for the client
        (a backend busy with a statement or a COPY finishes it first)."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """A fast clean shutdown (SIGINT), with a deadline, then SIGKILL."""
        process = self.process
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
            self.process = None
        except subprocess.TimeoutExpired:
            self.kill()

    def destroy(self) -> None:
        """Stop the server and delete its directory."""
        try:
            self.stop()
        finally:
            if self.process is not None:
                self.kill()
            shutil.rmtree(self.root, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"
