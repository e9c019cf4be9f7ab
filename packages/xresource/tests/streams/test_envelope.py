"""The StreamMessage envelope and its acknowledgement callbacks (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

from xresource import StreamMessage


async def test_fields_and_defaults() -> None:
    m = StreamMessage(
        topic="orders",
        value={"id": 1},
        raw=b'{"id":1}',
        key="k",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        partition=2,
        offset=7,
    )
    assert (m.topic, m.value, m.key, m.partition, m.offset) == ("orders", {"id": 1}, "k", 2, 7)
    assert m.headers == {}
    assert m.delivery_tag is None
    assert m.qos is None
    assert "raw" not in repr(m)  # payload bytes stay out of logs
    assert not m.needs_ack
    assert not m.settled
    await m.ack()  # without a broker acknowledgement: a no-op that settles it
    assert m.settled


async def test_ack_runs_once_and_blocks_a_later_nack() -> None:
    calls: list[str] = []

    async def ack() -> None:
        calls.append("ack")

    async def nack(requeue: bool) -> None:
        calls.append(f"nack:{requeue}")

    m = StreamMessage(topic="t")
    m.bind_ack(ack, nack)
    assert m.needs_ack
    await m.ack()
    await m.ack()
    await m.nack(requeue=True)
    assert calls == ["ack"]
    assert not m.needs_ack


async def test_nack_passes_requeue() -> None:
    calls: list[bool] = []

    async def ack() -> None:
        raise AssertionError("not expected")

    async def nack(requeue: bool) -> None:
        calls.append(requeue)

    m = StreamMessage(topic="t")
    m.bind_ack(ack, nack)
    await m.nack(requeue=False)
    assert calls == [False]


def test_serializes_to_json() -> None:
    m = StreamMessage(topic="t", value=[1, "a"], headers={"h": "v"}, qos=1, retained=True)
    data = m.model_dump(mode="json", exclude={"raw"})
    assert data["value"] == [1, "a"]
    assert data["qos"] == 1
    assert data["retained"] is True


def test_received_fast_path_equals_validated_model() -> None:
    fast = StreamMessage.received(topic="t", value={"a": 1}, raw=b'{"a":1}', partition=0)
    slow = StreamMessage(topic="t", value={"a": 1}, raw=b'{"a":1}', partition=0)
    assert fast == slow
    assert fast.model_dump() == slow.model_dump()
    assert list(fast.model_dump()) == list(slow.model_dump())  # same field order
    assert fast.model_fields_set == {"topic", "value", "raw", "partition"}
    other = StreamMessage.received(topic="u")
    other.headers["x"] = "y"
    assert fast.headers == {}  # no shared mutable default
    assert not fast.needs_ack
    assert not fast.settled


def test_from_storage_builds_the_same_message_as_received() -> None:
    values = {"topic": "t", "value": {"a": 1}, "raw": b'{"a":1}', "partition": 2, "offset": 9}
    data = StreamMessage.storage()
    data.update(values)
    built = StreamMessage.from_storage(data, frozenset(values))
    assert built == StreamMessage.received(**values)
    assert built.model_fields_set == set(values)
    assert built.model_dump() == StreamMessage.received(**values).model_dump()
    # Fresh storage each time: one message's headers are never another's.
    assert StreamMessage.storage()["headers"] is not StreamMessage.storage()["headers"]
    built.headers["x"] = "1"
    assert StreamMessage.storage()["headers"] == {}
    assert not built.needs_ack


def test_storage_setters_and_their_fallback_set_the_model_storage() -> None:
    from xresource.streams import envelope

    message = StreamMessage.received(topic="t", value=1)
    message.value = 2  # pydantic's own __setattr__ still works on a fast-built message
    assert message.value == 2
    assert "value" in message.model_fields_set
    # Should a pydantic release keep the storage elsewhere than in slot descriptors, the setter
    # falls back to object.__setattr__ (what model_construct does).
    fallback = envelope._slot_setter("__not_a_slot__")
    fallback(message, "stored")
    assert message.__dict__["__not_a_slot__"] == "stored"
