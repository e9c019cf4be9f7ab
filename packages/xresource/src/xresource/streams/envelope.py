"""``StreamMessage``: the typed envelope of every message a stream resource delivers.

Every broker's message becomes the same Pydantic model: ``topic``, ``key``, ``value`` (JSON decoded
when it is JSON, else text, else bytes), ``headers``, ``timestamp`` and the broker's own coordinates
where it has them (Kafka ``partition``/``offset``, AMQP ``delivery_tag``, MQTT ``qos``/``retained``,
SSE ``message_id``). Brokers with acknowledgements attach ``ack()``/``nack()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StreamMessage"]

AckCallback = Callable[[], Awaitable[None]]
NackCallback = Callable[[bool], Awaitable[None]]


class _Settlement:
    """The acknowledgement state of one message: the broker's callbacks and whether ``ack()`` or
    ``nack()`` was called."""

    __slots__ = ("ack", "nack", "settled")

    def __init__(
        self, ack: AckCallback | None, nack: NackCallback | None, settled: bool = False
    ) -> None:
        self.ack = ack
        self.nack = nack
        self.settled = settled

    def copy(self) -> _Settlement:
        return _Settlement(self.ack, self.nack, self.settled)


class StreamMessage(BaseModel):
    """One received message.

    Examples:
        >>> m = StreamMessage(topic="user_events", value={"type": "login"}, raw=b"...")
        >>> m.topic, m.value["type"]
        ('user_events', 'login')
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=False)

    topic: str = Field(description="Topic, channel, routing key, SSE event type or endpoint.")
    value: Any = Field(default=None, description="Decoded payload (JSON, text or bytes).")
    raw: bytes = Field(default=b"", repr=False, description="The payload bytes as received.")
    key: str | bytes | None = Field(default=None, description="Message key (Kafka).")
    headers: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime | None = None
    partition: int | None = Field(default=None, description="Kafka partition.")
    offset: int | None = Field(default=None, description="Kafka offset.")
    delivery_tag: int | None = Field(default=None, description="AMQP delivery tag.")
    redelivered: bool | None = Field(default=None, description="AMQP: delivered before.")
    message_id: str | None = Field(default=None, description="SSE event id / AMQP message id.")
    qos: int | None = Field(default=None, description="MQTT quality of service.")
    retained: bool | None = Field(default=None, description="MQTT retained message.")
    subscription: str | None = Field(
        default=None, description="The subscription (pattern) that matched."
    )
    source: str = Field(default="", description="Display name of the resource that received it.")

    # The acknowledgement state is not a field: it lives in a slot, read for every message
    # (pydantic's private attributes cost a __getattr__ per read). ``None``: no callbacks bound
    # and not settled, the common case, which costs no object per message.
    __slots__ = ("_settlement",)
    if TYPE_CHECKING:  # declared for the type checker only: pydantic takes annotations as fields
        _settlement: _Settlement | None

    def model_post_init(self, context: Any, /) -> None:
        _set_settlement(self, None)

    # pydantic copies and pickles fields and private attributes, not slots.
    def __copy__(self) -> Self:
        copied = super().__copy__()
        _set_settlement(copied, _copied(self._settlement))
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied = super().__deepcopy__(memo)
        _set_settlement(copied, _copied(self._settlement))
        return copied

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state["_settlement"] = self._settlement
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        state = dict(state)
        settlement = state.pop("_settlement", None)
        super().__setstate__(state)
        _set_settlement(self, settlement)

    @classmethod
    def received(cls, **values: Any) -> StreamMessage:
        """Build a message from already-typed broker data without validation (the hot path).

        ``model_construct`` walks every field's default for each message; this fills the
        defaults from a table computed once. Values must have the declared types.
        """
        message = _new(cls)
        data = _TEMPLATE.copy()  # every field, in the declared order, with its default
        data["headers"] = {}
        data.update(values)
        _set_dict(message, data)
        _set_fields_set(message, set(values))
        _set_extra(message, None)
        _set_private(message, None)
        _set_settlement(message, None)
        return message

    @classmethod
    def storage(cls) -> dict[str, Any]:
        """A fresh field dict with every default, for :meth:`from_storage` (the hottest path)."""
        data = _TEMPLATE.copy()
        data["headers"] = {}
        return data

    @classmethod
    def from_storage(cls, data: dict[str, Any], fields_set: frozenset[str]) -> StreamMessage:
        """:meth:`received` for a reader that fills a :meth:`storage` dict itself: no keyword
        arguments to pack and merge per message. ``fields_set`` names the fields it set."""
        message = _new(cls)
        _set_dict(message, data)
        _set_fields_set(message, set(fields_set))
        _set_extra(message, None)
        _set_private(message, None)
        _set_settlement(message, None)
        return message

    def bind_ack(self, ack: AckCallback | None, nack: NackCallback | None = None) -> None:
        """Attach the broker's acknowledgement callbacks (used by the resources)."""
        current = self._settlement
        settled = current is not None and current.settled
        _set_settlement(self, _Settlement(ack, nack, settled))

    @property
    def needs_ack(self) -> bool:
        """Whether this message waits for ``ack()``/``nack()`` (manual acknowledgement)."""
        settlement = self._settlement
        return settlement is not None and settlement.ack is not None and not settlement.settled

    @property
    def settled(self) -> bool:
        """Whether ``ack()`` or ``nack()`` was called."""
        settlement = self._settlement
        return settlement is not None and settlement.settled

    async def ack(self) -> None:
        """Acknowledge: AMQP ``basic.ack``, Kafka commit of this offset; a no-op elsewhere.

        Calling it twice does nothing the second time.
        """
        settlement = self._settlement
        if settlement is None:
            _set_settlement(self, _Settlement(None, None, True))
            return
        if settlement.settled:
            return
        settlement.settled = True
        if settlement.ack is not None:
            await settlement.ack()

    async def nack(self, *, requeue: bool = True) -> None:
        """Reject: AMQP ``basic.nack`` (back to the queue when ``requeue``); a no-op elsewhere."""
        settlement = self._settlement
        if settlement is None:
            _set_settlement(self, _Settlement(None, None, True))
            return
        if settlement.settled:
            return
        settlement.settled = True
        if settlement.nack is not None:
            await settlement.nack(requeue)


_DEFAULTS: dict[str, Any] = {
    name: field.get_default(call_default_factory=True)
    for name, field in StreamMessage.model_fields.items()
    if not field.is_required()
}
_TEMPLATE: dict[str, Any] = {"topic": "", **_DEFAULTS}
_new = object.__new__


def _slot_setter(name: str) -> Callable[[Any, Any], None]:
    """Set the instance storage ``name`` (``__dict__`` and pydantic's slots) of a model.

    pydantic's ``BaseModel`` overrides ``__setattr__``, so model_construct sets its storage with
    ``object.__setattr__``. Calling the slot's own descriptor does the same with less work per
    call (no attribute lookup by name on the type), which counts for every message received.
    """
    for klass in StreamMessage.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor.__set__  # type: ignore[no-any-return]
    setattr_ = object.__setattr__  # a pydantic whose BaseModel keeps them elsewhere

    def set_storage(obj: Any, value: Any) -> None:
        setattr_(obj, name, value)

    return set_storage


_set_dict = _slot_setter("__dict__")
_set_fields_set = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")
_set_settlement = _slot_setter("_settlement")


def _copied(settlement: _Settlement | None) -> _Settlement | None:
    return None if settlement is None else settlement.copy()
