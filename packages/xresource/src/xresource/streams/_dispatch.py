"""What feeds the application: one ``_Dispatcher`` (bounded queue and worker task) per
subscription or ``on()`` event, one ``_Consumer`` per running ``consume()``, and the helpers that
put into their queues with backpressure and give unwanted messages back to the broker."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xresource.streams._buffer import _Buffer, _End
from xresource.streams.envelope import StreamMessage

__all__ = ["EventHandler", "MessageHandler"]

#: ``handler(message)``; sync or async.
MessageHandler = Callable[[StreamMessage], Any]
#: ``handler(argument)`` for lifecycle events; sync or async.
EventHandler = Callable[[Any], Any]


@dataclass(eq=False)
class _Dispatcher:
    """A bounded queue and the worker task that feeds its handlers."""

    kind: str  # "topic" (subscribe), "message" (on("message")) or "event" (on("<type>"))
    key: str
    handlers: list[MessageHandler]
    queue: _Buffer
    task: asyncio.Task[None] | None = None
    gone: bool = False


@dataclass(eq=False)
class _Consumer:
    """One running ``consume()``: its topics and its bounded queue."""

    topics: tuple[str, ...]
    queue: _Buffer
    end: _End | None = field(default=None)
    gone: bool = False


async def _put(target: _Dispatcher | _Consumer, message: StreamMessage) -> bool:
    """Put ``message`` into the target's full queue, waiting for room (backpressure); whether
    it was delivered (not when the target went away meanwhile)."""
    if target.gone:
        return False
    await target.queue.put(message)
    if _is_gone(target):  # a function call: the await above may have changed it
        # Released while we waited (its queue drained to wake us): take the message back.
        await _drain(target)
        return False
    return True


def _is_gone(target: _Dispatcher | _Consumer) -> bool:
    return target.gone


async def _release(target: _Dispatcher | _Consumer) -> None:
    """The target is gone: wake a reader waiting for room in its queue and give the messages
    still queued that wait for an acknowledgement back to the broker."""
    target.gone = True
    await _drain(target)


async def _drain(target: _Dispatcher | _Consumer) -> None:
    queue = target.queue
    while not queue.empty():
        item = queue.get_nowait()
        if isinstance(item, StreamMessage) and item.needs_ack:
            with contextlib.suppress(Exception):
                await item.nack(requeue=True)


async def _call(handler: Callable[[Any], Any], arg: Any) -> None:
    result = handler(arg)
    if inspect.isawaitable(result):
        await result
