"""``_StreamTransport``: what each broker implements (open, close, subscribe, receive, publish)
and the helpers the brokers share (driver import, error wrapping, option checks).

:class:`~xresource.streams.EventStreamResource` builds publish, subscribe, ``consume()``,
backpressure and reconnection on these methods; a new broker subclasses it and implements them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

from xobj_prototype import redact_text
from xresource.base import XResource
from xresource.errors import (
    XResourceConfigurationError,
    XResourceConnectionError,
    XResourceValidationError,
)
from xresource.streams._buffer import MessageBatch
from xresource.streams.envelope import StreamMessage

__all__: list[str] = []


class _StreamTransport(XResource):
    """The transport methods of a stream resource (no parameters of its own) and the rules of its
    topics."""

    @classmethod
    def validate_topic(cls, topic: str, *, publish: bool = False) -> str:
        """Return ``topic`` when the broker accepts it, else raise ``XResourceValidationError``.

        ``publish`` selects the rules for publishing (e.g. no MQTT wildcards) rather than
        subscribing. Subclasses add their broker's rules.
        """
        if not isinstance(topic, str):
            raise XResourceValidationError(
                f"a topic must be a string, got {type(topic).__name__}",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        if not topic:
            raise XResourceValidationError(
                "the topic (channel) must not be empty",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        if any(ord(c) < 32 or c == "\x7f" for c in topic):
            raise XResourceValidationError(
                f"topic {topic!r} contains control characters",
                resource=cls.resource_type,
                operation="publish" if publish else "subscribe",
            )
        return topic

    def _check_topic(self, topic: str, *, publish: bool = False) -> None:
        """``validate_topic`` with this resource's name in the error."""
        try:
            type(self).validate_topic(topic, publish=publish)
        except XResourceValidationError as exc:
            operation = "publish" if publish else "subscribe"
            text = exc.message.split(f"{operation}: ", 1)[-1]
            raise XResourceValidationError(
                text, resource=self.display_name, operation=operation
            ) from None

    def _topic_matches(self, pattern: str, topic: str) -> bool:
        """Whether a message on ``topic`` belongs to subscription ``pattern`` (equality here;
        brokers with wildcards override this)."""
        return pattern == topic

    @staticmethod
    def _check_options(operation: str, options: dict[str, Any], allowed: Iterable[str]) -> None:
        if not options:
            return
        for name in options:  # the common case (every option known) builds no set
            if name not in allowed:
                break
        else:
            return
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise XResourceValidationError(
                f"unknown option(s) {', '.join(unknown)}; accepted: "
                f"{', '.join(sorted(allowed)) or 'none'}",
                operation=operation,
            )

    def _connection_error(
        self,
        operation: str,
        exc: BaseException,
        hint: str = "check that the server is running and reachable",
    ) -> XResourceConnectionError:
        text = redact_text(str(exc)) or type(exc).__name__
        return XResourceConnectionError(
            f"{type(exc).__name__}: {text}; {hint}", resource=self.display_name, operation=operation
        )

    # -- the transport: implemented by each broker ------------------------------------------------
    async def _open(self) -> None:
        """Open the connection(s); raise ``XResourceConnectionError`` on failure."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Close what :meth:`_open` opened; must not raise (it runs on broken connections)."""
        raise NotImplementedError

    async def _transport_subscribe(self, topics: list[str]) -> None:
        """Subscribe the open connection to ``topics`` (options in ``self._rt.topic_options``)."""
        raise NotImplementedError

    async def _transport_unsubscribe(self, topics: list[str]) -> None:
        """Stop receiving ``topics`` on the open connection."""
        raise NotImplementedError

    def _receive(self) -> AsyncGenerator[StreamMessage | MessageBatch, None]:
        """Yield messages (or batches of messages received together) from the open connection;
        end or raise when the connection is lost."""
        raise NotImplementedError

    async def _publish_bytes(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | bytes | None,
        headers: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        """Send one serialized message."""
        raise NotImplementedError

    def _processed_hook(self) -> Callable[[StreamMessage], None] | None:
        """:meth:`_processed`, or ``None`` where it does nothing (it is not then called per
        message; only Kafka with manual commits records offsets)."""
        if type(self)._processed is _StreamTransport._processed:
            return None
        return self._processed

    def _processed(self, message: StreamMessage) -> None:
        """Called when a message was handed to the application (Kafka records offsets)."""

    def _require(self, module: str, extra: str) -> Any:
        """Import the driver ``module`` or explain which extra installs it."""
        import importlib

        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise XResourceConfigurationError(
                f"the {self.resource_type} resource needs {module!r} ({exc}); install it with: "
                f"pip install 'xresource[{extra}]'",
                resource=self.display_name,
                operation="connect",
            ) from None
