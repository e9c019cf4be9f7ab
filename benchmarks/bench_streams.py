"""Event streams: our resources against the raw clients, same broker, same messages, same run.

For Redis (redis.asyncio), Kafka (aiokafka), RabbitMQ (aio-pika) and MQTT (aiomqtt), publishes N
JSON messages (``{"i": n, "payload": "..."}``) and consumes all N on a subscriber that runs at the
same time, once through the xresource stream resource (``publish()`` + ``consume()``) and once
through the raw client doing the same work (``json.dumps`` before sending, ``json.loads`` after
receiving, the same acknowledgement mode). Each side is timed from the first publish to the last
message received; the table reports messages per second and the ratio ours/raw (target >= 0.9).

Settings, the same on both sides: Redis ``PUBLISH`` awaited one by one; Kafka batched sends
(``wait=False`` / ``send()``) then ``flush()``; RabbitMQ persistent messages with publisher
confirms, manual acks, prefetch 100; MQTT QoS 0.

    python benchmarks/bench_streams.py                # print the table
    python benchmarks/bench_streams.py --write-docs   # and update docs/benchmarks.md
    python benchmarks/bench_streams.py -n 10000       # fewer messages per broker (quick look)

Addresses come from XTEST_REDIS_URL, XTEST_AMQP_URL, XTEST_MQTT_URL and XTEST_KAFKA_BOOTSTRAP
(or .xstack/servers/kafka.json) with the loopback defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_docs_block

from xresource import EventStreamResource, ResourceFactory, parse_url

NAME = "streams"
TARGET = 0.9
ROOT = Path(__file__).resolve().parent.parent
# Messages per broker in the default run: the 100,000, five runs per side (about a quarter
# of an hour in all on a 2-core machine; RabbitMQ with publisher confirms is the slowest broker).
# Five, not three: on a shared virtual machine the same CPU work can take a third longer from one
# run to the next, and a median of three moves with one slow run.
DEFAULT_N = {"redis": 100_000, "kafka": 100_000, "rabbitmq": 100_000, "mqtt": 100_000}
PAYLOAD = "x" * 64
# Both Kafka consumers: a send loop that rarely yields must not get the member evicted from its
# group (a rebalance in the middle of a run measures the broker, not the client).
KAFKA_CONSUMER = {"session_timeout_ms": 30000, "heartbeat_interval_ms": 3000}
# Kafka messages have no key (both sides), so the producer spreads them over the topic's
# partitions: the mock broker keeps about 5 MB per partition and drops the oldest records beyond
# that, so 100,000 messages in one partition would be lost to a consumer that is behind. There is
# then no order across the messages, only within each partition.


def _kafka_bootstrap() -> str:
    if os.environ.get("XTEST_KAFKA_BOOTSTRAP"):
        return os.environ["XTEST_KAFKA_BOOTSTRAP"]
    state = ROOT / ".xstack" / "servers" / "kafka.json"
    if state.exists():
        return str(json.loads(state.read_text())["bootstrap"])
    return "127.0.0.1:9092"


REDIS_URL = os.environ.get("XTEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("XTEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
MQTT_URL = os.environ.get("XTEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _topic(separator: str = ".") -> str:
    """A fresh topic per run: nothing left over from an earlier run is consumed."""
    return f"bench{separator}{uuid.uuid4().hex[:8]}"


def _message(i: int) -> dict[str, Any]:
    return {"i": i, "payload": PAYLOAD}


async def _warm_up(publish_warmup: Callable[[], Awaitable[Any]], seen: asyncio.Event) -> None:
    """Publish the warm-up message (i = -1) until the consumer saw one: subscriptions are live,
    consumer groups joined and topics created before the clock starts."""
    for _ in range(120):
        await publish_warmup()
        try:
            await asyncio.wait_for(seen.wait(), 0.5)
            return
        except TimeoutError:
            continue
    raise RuntimeError("the consumer never received the warm-up message")


async def _timed(
    consume: Coroutine[Any, Any, None],
    warm: asyncio.Event,
    done: asyncio.Event,
    publish_warmup: Callable[[], Awaitable[Any]],
    publish_all: Callable[[], Awaitable[None]],
) -> float:
    """Seconds from the first publish to the consumer's ``done``: ``consume`` runs in a task that
    sets ``warm`` on the warm-up message and ``done`` after the last of the N messages."""
    task = asyncio.create_task(consume)
    await _warm_up(publish_warmup, warm)
    start = time.perf_counter()
    await publish_all()
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - start
    await task
    return elapsed


async def _ours(
    stream: EventStreamResource,
    topic: str,
    n: int,
    wait: bool = True,
    after_publish: Callable[[], Awaitable[None]] | None = None,
    ordered: bool = True,
) -> float:
    """Seconds for N messages: ``consume()`` in a task while ``publish()`` runs (``wait``:
    ``False`` passes ``wait=False``; ``ordered``: the last message to arrive must be the last
    one sent)."""
    warm = asyncio.Event()
    done = asyncio.Event()
    last = -1

    async def consume() -> None:
        nonlocal last
        count = 0
        async for message in stream.consume(topic):
            i = message.value["i"]
            if i < 0:
                warm.set()
                continue
            count += 1
            last = i
            if count == n:
                done.set()
                return

    async def publish_all() -> None:
        # The call written out, as the raw clients' loops do: no helper call per message.
        if wait:
            for i in range(n):
                await stream.publish(topic, _message(i))
        else:
            for i in range(n):
                await stream.publish(topic, _message(i), wait=False)
        if after_publish is not None:
            await after_publish()

    elapsed = await _timed(
        consume(),
        warm,
        done,
        lambda: (
            stream.publish(topic, {"i": -1}, key="k")
            if stream.resource_type == "kafka"
            else stream.publish(topic, {"i": -1})
        ),
        publish_all,
    )
    if ordered and last != n - 1:
        raise RuntimeError(f"messages out of order or lost: last={last}")
    return elapsed


async def _ours_from_url(url: str, topic: str, n: int, **params: Any) -> float:
    """:func:`_ours` on the resource that ``url`` names, publishing one message at a time."""
    stream = ResourceFactory.from_url(url, **params)
    assert isinstance(stream, EventStreamResource)
    async with stream:
        return await _ours(stream, topic, n)


# -- Redis ----------------------------------------------------------------------------------------
async def redis_ours(n: int) -> float:
    return await _ours_from_url(REDIS_URL, _topic(), n, buffer_size=1000)


async def redis_raw(n: int) -> float:
    import redis.asyncio as redis

    topic = _topic()
    pub = redis.from_url(REDIS_URL)
    sub = redis.from_url(REDIS_URL)
    pubsub = sub.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(topic)
    done, warm = asyncio.Event(), asyncio.Event()

    async def consume() -> None:
        count = 0
        async for item in pubsub.listen():
            if item["type"] == "message":
                if json.loads(item["data"])["i"] < 0:
                    warm.set()
                    continue
                count += 1
                if count == n:
                    done.set()
                    return

    async def publish_all() -> None:
        for i in range(n):
            await pub.publish(topic, json.dumps(_message(i)).encode())

    elapsed = await _timed(
        consume(), warm, done, lambda: pub.publish(topic, b'{"i": -1}'), publish_all
    )
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    await pub.aclose()
    await sub.aclose()
    return elapsed


# -- Kafka ----------------------------------------------------------------------------------------
async def kafka_ours(n: int) -> float:
    from xresource import KafkaResource

    topic = _topic()
    stream = KafkaResource(
        bootstrap_servers=_kafka_bootstrap(),
        auto_offset_reset="earliest",
        group_id=f"bench-ours-{topic}",
        consumer_config=KAFKA_CONSUMER,
    )
    async with stream:
        return await _ours(
            stream,
            topic,
            n,
            wait=False,
            after_publish=stream.flush,
            ordered=False,
        )


async def kafka_raw(n: int) -> float:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = _topic()
    bootstrap = _kafka_bootstrap()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1)
    await producer.start()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{topic}",
        auto_offset_reset="earliest",
        **KAFKA_CONSUMER,
    )
    await consumer.start()
    done, warm = asyncio.Event(), asyncio.Event()

    async def consume() -> None:
        count = 0
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    if json.loads(record.value)["i"] >= 0:
                        count += 1
                    else:
                        warm.set()
            if count == n:
                done.set()
                return

    async def publish_all() -> None:
        for i in range(n):
            await producer.send(topic, json.dumps(_message(i)).encode())
        await producer.flush()

    elapsed = await _timed(
        consume(),
        warm,
        done,
        lambda: producer.send_and_wait(topic, b'{"i": -1}', key=b"k"),
        publish_all,
    )
    await consumer.stop()
    await producer.stop()
    return elapsed


# -- RabbitMQ -------------------------------------------------------------------------------------
async def rabbitmq_ours(n: int) -> float:
    return await _ours_from_url(AMQP_URL, _topic(), n, prefetch=100)


async def rabbitmq_raw(n: int) -> float:
    import aio_pika

    topic = _topic()
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=100)
    exchange = await channel.declare_exchange(
        "amq.topic", aio_pika.ExchangeType.TOPIC, durable=True, passive=True
    )
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key=topic)
    done, warm = asyncio.Event(), asyncio.Event()

    async def consume() -> None:
        count = 0
        async with queue.iterator() as iterator:
            async for message in iterator:
                value = json.loads(message.body)
                await message.ack()
                if value["i"] < 0:
                    warm.set()
                    continue
                count += 1
                if count == n:
                    done.set()
                    return

    async def publish_all() -> None:
        for i in range(n):
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(_message(i)).encode(),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    content_type="application/json",
                ),
                routing_key=topic,
            )

    elapsed = await _timed(
        consume(),
        warm,
        done,
        lambda: exchange.publish(aio_pika.Message(b'{"i": -1}'), routing_key=topic),
        publish_all,
    )
    await connection.close()
    return elapsed


# -- MQTT -----------------------------------------------------------------------------------------
async def mqtt_ours(n: int) -> float:
    return await _ours_from_url(MQTT_URL, _topic("/"), n)


async def mqtt_raw(n: int) -> float:
    import aiomqtt

    topic = _topic("/")
    url = parse_url(MQTT_URL)
    async with aiomqtt.Client(url.host or "127.0.0.1", url.port or 1883) as client:
        await client.subscribe(topic)
        done, warm = asyncio.Event(), asyncio.Event()

        async def consume() -> None:
            count = 0
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                if json.loads(message.payload)["i"] < 0:
                    warm.set()
                    continue
                count += 1
                if count == n:
                    done.set()
                    return

        async def publish_all() -> None:
            for i in range(n):
                await client.publish(topic, json.dumps(_message(i)).encode(), qos=0)

        return await _timed(
            consume(), warm, done, lambda: client.publish(topic, b'{"i": -1}'), publish_all
        )


CASES: dict[
    str, tuple[Callable[[int], Awaitable[float]], Callable[[int], Awaitable[float]], str]
] = {
    "redis": (redis_ours, redis_raw, "redis.asyncio"),
    "kafka": (kafka_ours, kafka_raw, "aiokafka"),
    "rabbitmq": (rabbitmq_ours, rabbitmq_raw, "aio-pika"),
    "mqtt": (mqtt_ours, mqtt_raw, "aiomqtt"),
}


@dataclass
class Row:
    broker: str
    raw_client: str
    n: int
    ours: float
    raw: float
    runs: list[float]  # each run's ratio (its raw and ours back to back)

    @property
    def runs_text(self) -> str:
        return " ".join(f"{r:.2f}" for r in self.runs)

    @property
    def ratio(self) -> float:
        return self.raw / self.ours  # throughput ratio ours/raw = time raw / time ours


async def run(brokers: list[str], n: int | None, repeat: int) -> list[Row]:
    rows = []
    for broker in brokers:
        ours_fn, raw_fn, raw_name = CASES[broker]
        count = n or DEFAULT_N[broker]
        ours_times, raw_times = [], []
        for r in range(repeat):
            # alternate the order so that neither side always runs on a warmer broker
            if r % 2 == 0:
                raw_times.append(await raw_fn(count))
                ours_times.append(await ours_fn(count))
            else:
                ours_times.append(await ours_fn(count))
                raw_times.append(await raw_fn(count))
        row = Row(
            broker,
            raw_name,
            count,
            statistics.median(ours_times),
            statistics.median(raw_times),
            # Each run's own ratio shows how noisy the machine was.
            [r / o for r, o in zip(raw_times, ours_times, strict=True)],
        )
        print(
            f"  {broker}: ours {count / row.ours:,.0f} msg/s, raw {count / row.raw:,.0f} "
            f"msg/s, ratio {row.ratio:.2f} (runs: {row.runs_text})",
            file=sys.stderr,
        )
        rows.append(row)
    return rows


def table(rows: list[Row], repeat: int) -> str:
    lines = [
        f"Publish + consume N JSON messages per broker, median of {repeat} run(s), "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s). Throughput from the first publish to the last message "
        f"received; target ours/raw >= {TARGET}. Ours/raw is the ratio of the medians; "
        "each run's own ratio (raw and ours back to back, alternating which goes first) "
        "shows the machine's noise.",
        "",
        "| broker | raw client | messages | xresource msg/s | raw msg/s | ours/raw "
        "| ratio of each run |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        mark = "" if row.ratio >= TARGET else " (below target)"
        lines.append(
            f"| {row.broker} | {row.raw_client} | {row.n:,} | {row.n / row.ours:,.0f} "
            f"| {row.n / row.raw:,.0f} | {row.ratio:.2f}{mark} | {row.runs_text} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=None, help="messages per broker")
    parser.add_argument("--repeat", type=int, default=5, help="runs per side (median)")
    parser.add_argument(
        "--brokers", default=",".join(CASES), help=f"comma-separated subset of {', '.join(CASES)}"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="write the table into docs/benchmarks.md"
    )
    args = parser.parse_args()
    brokers = [b.strip() for b in args.brokers.split(",") if b.strip()]
    unknown = set(brokers) - set(CASES)
    if unknown:
        parser.error(f"unknown broker(s): {', '.join(sorted(unknown))}")
    rows = asyncio.run(run(brokers, args.n, args.repeat))
    markdown = table(rows, args.repeat)
    print(markdown)
    if args.write_docs:
        print(f"written to {write_docs_block(NAME, markdown)}", file=sys.stderr)


if __name__ == "__main__":
    main()
