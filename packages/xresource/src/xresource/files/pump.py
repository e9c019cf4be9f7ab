"""Run a synchronous chunk generator in its own thread, one chunk ahead of an async consumer.

Parsing a file is CPU work that must not run on the event loop. :class:`ChunkPump` runs the
generator in a dedicated daemon thread (not the shared default executor: a stream that waits for a
slow consumer must never hold a pool thread that the consumer itself needs) and hands chunks to
the loop through an ``asyncio.Queue``. The thread parses the next chunk while the consumer works
on the current one, but never more than ``ahead`` chunks beyond what the consumer took: memory
stays bounded by ``ahead + 1`` chunks.

The generator runs, raises and is closed in that one thread, so no lock is needed around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["ChunkPump"]

T = TypeVar("T")

_POLL = 0.1  # seconds between checks of the stop flag while waiting for the consumer


class ChunkPump(Generic[T]):
    """Feed ``chunks`` (a generator) from a worker thread into the running event loop.

    Examples:
        >>> import asyncio
        >>> async def main():
        ...     pump = ChunkPump(iter([[1, 2], [3]]))
        ...     try:
        ...         return [chunk async for chunk in pump]
        ...     finally:
        ...         pump.stop()
        >>> asyncio.run(main())
        [[1, 2], [3]]
    """

    def __init__(
        self, chunks: Iterator[T], *, ahead: int = 1, name: str = "xresource-file"
    ) -> None:
        self._chunks = chunks
        self._slots = threading.Semaphore(ahead)
        self._stopped = threading.Event()
        self._queue: asyncio.Queue[tuple[T | None, BaseException | None, bool]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        self._closed = asyncio.Event()
        self._taken = False

    def _post(self, item: tuple[T | None, BaseException | None, bool]) -> None:
        # The loop may be gone if the consumer was abandoned and the loop closed.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _run(self) -> None:
        try:
            for chunk in self._chunks:
                while not self._slots.acquire(timeout=_POLL):
                    if self._stopped.is_set():
                        return
                if self._stopped.is_set():
                    return
                self._post((chunk, None, False))
            self._post((None, None, True))
        except BaseException as exc:  # handed to the consumer, raised there
            self._post((None, exc, True))
        finally:
            close = getattr(self._chunks, "close", None)
            try:
                if close is not None:
                    close()
            finally:
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._closed.set)

    def __aiter__(self) -> ChunkPump[T]:
        return self

    async def __anext__(self) -> T:
        if not self._started:
            self._started = True
            self._thread.start()
        if self._taken:
            # The consumer is back for more: it is done with the previous chunk.
            self._taken = False
            self._slots.release()
        chunk, error, done = await self._queue.get()
        if error is not None:
            raise error
        if done:
            raise StopAsyncIteration
        self._taken = True
        return chunk  # type: ignore[return-value]

    def stop(self) -> None:
        """Tell the thread to stop after its current chunk and close the generator; idempotent."""
        self._stopped.set()
        self._slots.release()  # wake it if it waits for a slot

    async def aclose(self) -> None:
        """:meth:`stop`, then wait (without blocking the loop) until the generator is closed."""
        self.stop()
        if self._started:
            await self._closed.wait()
