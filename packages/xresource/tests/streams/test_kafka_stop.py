"""Stopping an aiokafka client after a lost connection: bounded, and a stray cancellation from
the client's own tasks does not kill the task that reconnects (it did before: the reader died
silently). The clients here are tiny stand-ins for the one method called; the real broker
outage is in tests-integration/xresource/test_streams_kafka.py."""

from __future__ import annotations

import asyncio

import pytest

from xresource.streams.kafka import _quiet_stop


class _Client:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.stopped = False
        self.abandoned = False

    async def stop(self) -> None:
        if self.behaviour == "stray-cancel":
            raise asyncio.CancelledError  # what aiokafka's consumer lets escape
        if self.behaviour == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.abandoned = True
                raise
        if self.behaviour == "fail":
            raise ConnectionError("broker gone")
        self.stopped = True


@pytest.mark.parametrize("behaviour", ["stray-cancel", "fail", "ok"])
async def test_stop_never_raises_into_the_caller(behaviour: str) -> None:
    client = _Client(behaviour)
    await _quiet_stop(client, 1.0)
    assert client.stopped is (behaviour == "ok")


async def test_stop_is_bounded() -> None:
    client = _Client("hang")
    await _quiet_stop(client, 0.05)
    assert client.abandoned  # given up on at the limit, not waited for


async def test_a_real_cancellation_still_propagates() -> None:
    task = asyncio.create_task(_quiet_stop(_Client("hang"), 60))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
