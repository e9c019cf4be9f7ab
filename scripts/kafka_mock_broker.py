"""Keep a librdkafka mock Kafka cluster alive and publish its address.

librdkafka (bundled with ``confluent-kafka``) can serve a mock cluster that speaks the Kafka wire
protocol over TCP. Creating a client with ``test.mock.num.brokers`` starts it inside this process;
``aiokafka`` producers and consumer groups use it like a real broker. The process writes the
bootstrap address to the file named by its first argument and serves until it is terminated.

    python scripts/kafka_mock_broker.py ADDRESS_FILE
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from confluent_kafka import Producer


def main() -> None:
    target = Path(sys.argv[1])
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


if __name__ == "__main__":
    main()
