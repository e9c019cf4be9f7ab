"""Keep a librdkafka mock Kafka cluster alive and publish its address.

librdkafka (bundled with ``confluent-kafka``) can serve a mock cluster that speaks the Kafka wire
protocol over TCP. Creating a client with ``test.mock.num.brokers`` starts it inside this process;
``aiokafka`` producers and consumer groups use it like a real broker. The process writes the
bootstrap address to the file named by its first argument and serves until it is terminated.

    python scripts/kafka_mock_broker.py ADDRESS_FILE

With ``--controlled`` it serves a private cluster that a test can take down and bring back up:
the bootstrap address is the first line on stdout, then each command read from stdin is answered
with one line (``ok`` or ``error: ...``):

- ``down``: the broker closes its connections and stops listening, keeping its port and every
  piece of state (topics, messages, committed offsets), as a broker restarting on a kept disk;
- ``up``: it listens again on the same port;
- ``stop`` (or end of stdin, e.g. when the test process dies): the cluster is destroyed and the
  process exits.

    python scripts/kafka_mock_broker.py --controlled

``confluent-kafka`` has no Python API for this; the controlled cluster is created through
librdkafka's public mock API (``rdkafka_mock.h``) with ``ctypes``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import signal
import sys
import time
from pathlib import Path

_RD_KAFKA_PRODUCER = 0
_BROKER_ID = 1  # the mock cluster numbers its brokers from 1


def serve(target: Path) -> None:
    """The shared broker of the test run: address to ``target``, serve until SIGTERM/SIGINT."""
    from confluent_kafka import Producer

    producer = Producer({"test.mock.num.brokers": 1, "bootstrap.servers": "x"})
    brokers = producer.list_topics(timeout=10).brokers
    address = ",".join(f"{b.host}:{b.port}" for b in brokers.values())
    tmp = target.with_suffix(".tmp")
    tmp.write_text(address)
    tmp.replace(target)  # the reader never sees a half-written address
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while not stop:
        producer.poll(0.5)
        time.sleep(0.5)


def librdkafka_path() -> Path:
    """The librdkafka shared library bundled in the installed ``confluent_kafka`` wheel."""
    spec = importlib.util.find_spec("confluent_kafka")
    if spec is None or spec.origin is None:
        raise SystemExit("confluent-kafka is not installed in this interpreter")
    site = Path(spec.origin).parent.parent
    # The wheel (auditwheel) names it librdkafka-<hash>.so.1 next to the package.
    found = sorted((site / "confluent_kafka.libs").glob("librdkafka*.so*"))
    if not found:
        raise SystemExit(f"no librdkafka shared library in {site / 'confluent_kafka.libs'}")
    return found[0]


class MockCluster:
    """A one-broker librdkafka mock cluster whose broker can be taken down and brought up."""

    def __init__(self, library: Path) -> None:
        lib = ctypes.CDLL(str(library))
        c_void_p, c_char_p, c_int, c_size_t = (
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_size_t,
        )
        lib.rd_kafka_conf_new.restype = c_void_p
        lib.rd_kafka_conf_new.argtypes = []
        lib.rd_kafka_conf_set.restype = c_int
        lib.rd_kafka_conf_set.argtypes = [c_void_p, c_char_p, c_char_p, c_char_p, c_size_t]
        lib.rd_kafka_new.restype = c_void_p
        lib.rd_kafka_new.argtypes = [c_int, c_void_p, c_char_p, c_size_t]
        lib.rd_kafka_destroy.restype = None
        lib.rd_kafka_destroy.argtypes = [c_void_p]
        lib.rd_kafka_mock_cluster_new.restype = c_void_p
        lib.rd_kafka_mock_cluster_new.argtypes = [c_void_p, c_int]
        lib.rd_kafka_mock_cluster_bootstraps.restype = c_char_p
        lib.rd_kafka_mock_cluster_bootstraps.argtypes = [c_void_p]
        lib.rd_kafka_mock_cluster_destroy.restype = None
        lib.rd_kafka_mock_cluster_destroy.argtypes = [c_void_p]
        for name in ("rd_kafka_mock_broker_set_down", "rd_kafka_mock_broker_set_up"):
            getattr(lib, name).restype = c_int
            getattr(lib, name).argtypes = [c_void_p, ctypes.c_int32]
        lib.rd_kafka_err2str.restype = c_char_p
        lib.rd_kafka_err2str.argtypes = [c_int]
        self._lib = lib

        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        # The client only hosts the cluster; it connects nowhere and should not log about it.
        if lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, len(errstr)) != 0:
            raise SystemExit(f"librdkafka configuration failed: {errstr.value.decode()}")
        self._rk = lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
        if not self._rk:
            raise SystemExit(f"librdkafka client creation failed: {errstr.value.decode()}")
        self._cluster = lib.rd_kafka_mock_cluster_new(self._rk, 1)
        if not self._cluster:
            lib.rd_kafka_destroy(self._rk)
            raise SystemExit("librdkafka could not create a mock cluster")
        self.bootstrap: str = lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode()

    def set_broker(self, *, up: bool) -> str | None:
        """Bring the broker up or take it down; the librdkafka error text, if any."""
        lib = self._lib
        err = (lib.rd_kafka_mock_broker_set_up if up else lib.rd_kafka_mock_broker_set_down)(
            self._cluster, _BROKER_ID
        )
        return None if err == 0 else self._lib.rd_kafka_err2str(err).decode()

    def destroy(self) -> None:
        """Stop serving and free the cluster and its client."""
        self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
        self._lib.rd_kafka_destroy(self._rk)


def serve_controlled() -> None:
    """The private broker of one test, driven by commands on stdin (see the module docstring)."""
    cluster = MockCluster(librdkafka_path())
    # SIGTERM/SIGINT end the process at once; the OS frees the listening sockets.
    print(cluster.bootstrap, flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stop":
                break
            if command in ("down", "up"):
                error = cluster.set_broker(up=command == "up")
                print("ok" if error is None else f"error: {error}", flush=True)
            else:
                print(f"error: unknown command {command!r} (down, up, stop)", flush=True)
    finally:
        cluster.destroy()


def main() -> None:
    """``ADDRESS_FILE`` (shared broker) or ``--controlled`` (private broker)."""
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    if sys.argv[1] == "--controlled":
        serve_controlled()
    else:
        serve(Path(sys.argv[1]))


if __name__ == "__main__":
    main()
