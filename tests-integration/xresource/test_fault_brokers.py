"""Stream subscriptions across a real crash of a PRIVATE broker: SIGKILL, then a restart.

The shared brokers of CONVENTIONS.md are never touched. This module starts its own brokers:

- RabbitMQ: a private node of the installed ``rabbitmq-server`` (``xtest<port>@localhost``, its
  own AMQP and distribution ports, Mnesia and log directories in a temporary directory, no
  plugins), started once per module (start-up takes seconds). The test kills its whole process
  group (``beam.smp`` and its helpers) with SIGKILL and starts it again on the same ports and data
  directory, as a host crash and a service restart would.
- Mosquitto with persistence to a file (``autosave_on_changes``: saved after every change), killed
  with SIGKILL and restarted on the same port and file.

Redis pub/sub and Kafka restarts are covered in test_streams_redis.py (a redis-server killed
and restarted) and test_streams_kafka.py (librdkafka's mock broker taken down and up with its
state, commits included); see docs/xresource.md "Across a broker restart" for what each
stream promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stream_helpers import BrokerProcess, free_port, until

from xresource import MQTTResource, RabbitMQResource, StreamMessage, XResourceConnectionError

RABBITMQ_BIN = Path(os.environ.get("XTEST_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
START_TIMEOUT = 60.0


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateRabbitMQ:
    """A RabbitMQ node of its own: ``start()``, ``kill()`` (SIGKILL of the node), ``start()``.

    Durable queues and persistent messages live in its Mnesia directory and survive the kill.
    ``HOME`` is the node's directory, so the Erlang cookie of the node and of the CLI tools
    checking it is a throw-away one there (the system node's cookie is not read).
    """

    def __init__(self) -> None:
        if not (RABBITMQ_BIN / "rabbitmq-server").exists():
            raise RuntimeError(f"rabbitmq-server not found in {RABBITMQ_BIN} (XTEST_RABBITMQ_BIN)")
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"xtest{self.port}@localhost"
        self.root = Path(tempfile.mkdtemp(prefix="xtest-rabbit-"))
        (self.root / "enabled_plugins").write_text("[].\n")  # no management plugin
        (self.root / "rabbitmq.conf").write_text("loopback_users = none\n")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment of the node and of the CLI tools that talk to it."""
        return {
            **os.environ,
            "HOME": str(self.root),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"),
            "RABBITMQ_PID_FILE": str(self.root / "node.pid"),
        }

    def start(self) -> None:
        """Start the node and wait, at most ``START_TIMEOUT`` seconds, until it serves AMQP."""
        with (self.root / "stdout.log").open("ab") as out:
            self.process = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                env=self.env,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed as one
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the RabbitMQ node exited at start:\n{self._log_tail()}")
            if _port_open(self.port) and self._check_running():
                return
            time.sleep(0.5)
        self.kill()
        raise RuntimeError(
            f"the RabbitMQ node did not start in {START_TIMEOUT:g}s:\n{self._log_tail()}"
        )

    def _check_running(self) -> bool:
        result = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmq-diagnostics"), "-q", "-n", self.node, "check_running"],
            env=self.env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        return result.returncode == 0

    def kill(self) -> None:
        """SIGKILL the node's process group (a crash); returns once the AMQP port is closed."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _port_open(self.port) or _port_open(self.dist_port):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the RabbitMQ node's ports stay open after SIGKILL ({self.node})"
                )
            time.sleep(0.1)

    def destroy(self) -> None:
        """Kill the node and delete its directory."""
        try:
            self.kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return (self.root / "stdout.log").read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"


@pytest.fixture(scope="module")
def rabbit() -> Iterator[PrivateRabbitMQ]:
    """One private node per module (its start-up costs seconds)."""
    node = PrivateRabbitMQ()
    try:
        node.start()
        yield node
    finally:
        node.destroy()


def _rabbit_stream(node: PrivateRabbitMQ, **kwargs: Any) -> RabbitMQResource:
    return RabbitMQResource(
        port=node.port,
        connect_timeout=3,
        reconnect_initial_delay=0.2,
        reconnect_interval=1.0,
        # The node needs a few seconds to come back: enough attempts to outlast START_TIMEOUT.
        max_reconnect_attempts=120,
        **kwargs,
    )


async def test_rabbitmq_durable_subscription_survives_a_node_crash_nothing_acked_lost_or_repeated(
    rabbit: PrivateRabbitMQ, unique_name: str
) -> None:
    exchange, queue = f"ex.{unique_name}", f"q.{unique_name}"
    stream = _rabbit_stream(rabbit, exchange=exchange, queue=queue, prefetch=5)
    publisher = _rabbit_stream(rabbit, exchange=exchange)
    events: list[str] = []
    stream.on("close", lambda cause: events.append("close"))
    stream.on("reconnect", lambda attempt: events.append("reconnect"))
    handled: list[StreamMessage] = []
    gate = asyncio.Event()  # closed: messages >= 20 are held unacknowledged in the handler

    async def handler(message: StreamMessage) -> None:
        if message.value >= 20 and not gate.is_set():
            await gate.wait()
        handled.append(message)

    async with stream, publisher:
        await stream.subscribe("jobs.#", handler)
        # Persistent, with publisher confirms: each publish returns once the node has the message.
        for i in range(40):
            await publisher.publish("jobs.before", i)
        await until(lambda: len(handled) == 20, 20, "the first 20 messages handled and acked")
        # The acknowledgements reach the node (basic.ack has no answer) and its queue index.
        await asyncio.sleep(1.0)
        held = len(handled)
        assert held == 20  # 20 is held in the handler, 21-24 wait in the prefetch window

        await asyncio.to_thread(rabbit.kill)
        await until(lambda: "close" in events, 20, "the close event")
        with pytest.raises(XResourceConnectionError):
            await publisher.publish("jobs.during", -1)
        gate.set()  # the held message's ack fails: the node will deliver it again
        await asyncio.to_thread(rabbit.start)
        await until(lambda: "reconnect" in events, START_TIMEOUT, "the reconnection")
        assert stream.active_subscriptions == {"jobs.#"}

        for i in range(100, 110):
            await publisher.publish("jobs.after", i)
        await until(
            lambda: {m.value for m in handled} >= set(range(40)) | set(range(100, 110)),
            30,
            "every message published before the crash and after the restart",
        )
        await asyncio.sleep(0.5)
        assert await stream.purge() == 0  # everything was acknowledged in the end
    values = [m.value for m in handled]
    # Acknowledged before the crash: delivered exactly once, never again.
    assert sorted(v for v in values if v < 20) == list(range(20))
    # Published (persistent, confirmed) but not acknowledged before the crash: delivered after it.
    assert set(values) >= set(range(20, 40))
    # Published after the restart: delivered once each, in order.
    assert [v for v in values if v >= 100] == list(range(100, 110))
    assert -1 not in values
    # Only what was in flight (the held message and the prefetch window) may come twice.
    repeated = {v for v in values if values.count(v) > 1}
    assert repeated <= set(range(20, 26)), repeated
    await _delete(rabbit, exchange, queue)


async def test_rabbitmq_consume_loop_survives_a_node_crash(
    rabbit: PrivateRabbitMQ, unique_name: str
) -> None:
    exchange, queue = f"ex.{unique_name}", f"q.{unique_name}"
    stream = _rabbit_stream(rabbit, exchange=exchange, queue=queue, prefetch=10)
    got: list[Any] = []
    reconnects: list[int] = []
    stream.on("reconnect", reconnects.append)

    async def consume() -> None:
        async for message in stream.consume("work"):
            got.append(message.value)
            await message.ack()

    async with stream:
        reader = asyncio.create_task(consume())
        try:
            await until(lambda: "work" in stream.active_subscriptions, 10, "the subscription")
            for i in range(10):
                await stream.publish("work", i)
            await until(lambda: len(got) == 10, 20, "the messages before the crash")
            await asyncio.sleep(1.0)
            await asyncio.to_thread(rabbit.kill)
            await asyncio.to_thread(rabbit.start)
            await until(lambda: bool(reconnects), START_TIMEOUT, "the reconnection")
            assert not reader.done()  # the loop neither ended nor raised
            # The publish-side of the same resource works again too.
            for i in range(10, 20):
                await stream.publish("work", i)
            await until(lambda: set(got) >= set(range(20)), 30, "the messages after the restart")
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    assert got == list(range(20))  # each once: everything before the crash was acknowledged
    await _delete(rabbit, exchange, queue)


async def _delete(node: PrivateRabbitMQ, exchange: str, queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(host="127.0.0.1", port=node.port)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


# -- MQTT: a persistent session across a crash of a mosquitto that saves its state ---------------


def _mosquitto_argv(config: Path) -> Any:
    def argv(port: int) -> list[str]:
        config.write_text(
            f"listener {port} 127.0.0.1\n"
            "allow_anonymous true\n"
            # Started as root, mosquitto would switch to the `mosquitto` user, which cannot
            # write into pytest's private temporary directory.
            f"user {getpass.getuser()}\n"
            "persistence true\n"
            f"persistence_location {config.parent}/\n"
            # Saved after every change (a queued message, a subscription): a SIGKILL loses
            # nothing that was acknowledged. Mosquitto's default saves every 30 minutes.
            "autosave_on_changes true\n"
            "autosave_interval 1\n"
        )
        return [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(config)]

    return argv


@pytest.fixture
def saving_mosquitto(tmp_path: Path) -> Iterator[BrokerProcess]:
    broker = BrokerProcess("mosquitto", _mosquitto_argv(tmp_path / "mosquitto.conf"))
    broker.start()
    yield broker
    broker.stop()


async def test_mqtt_persistent_session_keeps_qos1_messages_across_a_broker_crash(
    saving_mosquitto: BrokerProcess, unique_name: str
) -> None:
    topic = f"xs/{unique_name}/jobs"

    def subscriber() -> MQTTResource:
        return MQTTResource(
            port=saving_mosquitto.port,
            client_id=f"sub-{unique_name}",
            clean_session=False,
            qos=1,
            reconnect_initial_delay=0.1,
            reconnect_interval=0.5,
            max_reconnect_attempts=40,
        )

    publisher = MQTTResource(port=saving_mosquitto.port, qos=1)
    got: list[Any] = []
    first = subscriber()
    async with first:
        await first.subscribe(topic, lambda m: got.append(m.value))
        async with publisher:
            await publisher.publish(topic, "before")
        await until(lambda: got == ["before"], 10, "the message before")
    # The subscriber is away; its session (and subscription) stays on the broker.
    async with MQTTResource(port=saving_mosquitto.port, qos=1) as away:
        for i in range(5):
            await away.publish(topic, i)  # QoS 1: returns once the broker acknowledged it
    await asyncio.sleep(0.5)
    saving_mosquitto.stop()  # SIGKILL
    saving_mosquitto.start()

    second = subscriber()
    events: list[str] = []
    second.on("close", lambda cause: events.append("close"))
    second.on("reconnect", lambda attempt: events.append("reconnect"))
    async with second:
        await second.subscribe(topic, lambda m: got.append(m.value))
        await until(lambda: got[1:] == [0, 1, 2, 3, 4], 10, "the messages kept for the session")
        # A second crash while connected: the subscription comes back, new messages arrive.
        saving_mosquitto.stop()
        await until(lambda: "close" in events, 10, "the close event")
        saving_mosquitto.start()
        await until(lambda: "reconnect" in events, 20, "the reconnection")
        async with MQTTResource(port=saving_mosquitto.port, qos=1) as after:
            await after.publish(topic, "after")
        await until(lambda: got[-1:] == ["after"], 10, "the message after the restart")
    assert got == ["before", 0, 1, 2, 3, 4, "after"]  # nothing lost, nothing twice
