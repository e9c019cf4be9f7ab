"""The reader task of a stream resource and its reconnection: read from the transport, route
every message, and when the connection is lost reopen it with exponential backoff and restore every
subscription (see :mod:`xresource.streams.base` for what the resource promises)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any, ClassVar, Protocol

from xobj_prototype import redact_text
from xresource._backoff import Backoff
from xresource.errors import XResourceConnectionError
from xresource.streams._buffer import MessageBatch
from xresource.streams._runtime import _Runtime
from xresource.streams.envelope import StreamMessage

__all__: list[str] = []

logger = logging.getLogger("xresource.streams")


class _Stream(Protocol):
    """What the reader needs of the resource: its settings, its transport and its runtime."""

    reader_always: ClassVar[bool]
    max_reconnect_attempts: int
    _rt: _Runtime

    @property
    def display_name(self) -> str: ...

    @property
    def backoff(self) -> Backoff: ...

    def _receive(self) -> AsyncGenerator[StreamMessage | MessageBatch, None]: ...

    async def _open(self) -> None: ...

    async def _close(self) -> None: ...

    async def _transport_subscribe(self, topics: list[str]) -> None: ...

    async def _emit(self, event: str, arg: Any) -> None: ...

    async def _route(self, message: StreamMessage) -> None: ...


async def read_loop(self: _Stream) -> None:
    """The reader task: route what the transport receives; reconnect when it is lost."""
    rt = self._rt
    # The resource's _route: a broker may hold messages before they are routed (MQTT).
    route, route_nowait = self._route, rt.route_nowait
    while True:
        try:
            async with contextlib.aclosing(self._receive()) as messages:
                # _receive() yields messages, or batches of them (one generator step for
                # many messages; envelopes built when taken, see MessageBatch).
                async for item in messages:
                    if isinstance(item, MessageBatch):
                        await rt.route_batch(item, route)
                    elif not route_nowait(item):
                        await route(item)
            if rt.closing or (not rt.topic_refs and not self.reader_always):
                # Nothing left to read (every topic unsubscribed): the next subscribe
                # starts a new reader.
                return
            cause: BaseException = ConnectionError("the server closed the stream")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if rt.closing or (not rt.topic_refs and not self.reader_always):
                return
            cause = exc
        logger.warning(
            "%s: connection lost (%s: %s); reconnecting",
            self.display_name,
            type(cause).__name__,
            redact_text(str(cause)),
        )
        await self._emit("close", cause)
        if not await reconnect(self, cause):
            return


async def reconnect(self: _Stream, cause: BaseException) -> bool:
    """Reopen the transport with backoff and restore every subscription; whether it came back
    (else the final error is kept, given to every ``consume()`` and the ``error`` handlers)."""
    rt = self._rt
    last: BaseException = cause
    attempt = 0
    async with rt.transport_lock:
        rt.reconnecting = True
        try:
            with contextlib.suppress(Exception):
                await self._close()
            for attempt, delay in enumerate(self.backoff.delays(), 1):
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    if rt.topic_refs:
                        await self._transport_subscribe(list(rt.topic_refs))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    last = exc
                    logger.info(
                        "%s: reconnection attempt %d/%d failed: %s",
                        self.display_name,
                        attempt,
                        self.max_reconnect_attempts,
                        redact_text(str(exc)),
                    )
                    with contextlib.suppress(Exception):
                        await self._close()
                    continue
                rt.reconnect_count += 1
                break
            else:
                attempt = 0
        finally:
            rt.reconnecting = False
    if attempt:
        logger.info(
            "%s: reconnected after %d attempt(s); %d subscription(s) restored",
            self.display_name,
            attempt,
            len(rt.topic_refs),
        )
        await self._emit("reconnect", attempt)
        return True
    fatal = XResourceConnectionError(
        f"connection lost and {self.max_reconnect_attempts} reconnection attempt(s) failed "
        f"(last error: {type(last).__name__}: {redact_text(str(last))}); check that the "
        "server is up, then disconnect() and connect() again",
        resource=self.display_name,
        operation="reconnect",
    )
    fatal.__cause__ = last
    rt.fatal = fatal
    rt.end_consumers(fatal)
    await self._emit("error", fatal)
    return False
