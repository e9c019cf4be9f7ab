"""``StreamMessage``: the typed envelope of every message a stream resource delivers.

Every broker's message becomes the same Pydantic model: ``topic``, ``key``, ``value`` (JSON decoded
when it is JSON, else text, else bytes), ``headers``, ``timestamp`` and the broker's own coordinates
where it has them (Kafka ``partition``/``offset``, AMQP ``delivery_tag``, MQTT ``qos``/``retained``,
SSE ``message_id``). Brokers with acknowledgements attach ``ack()``/``nack()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["StreamMessage"]

AckCallback = Callable[[], Awaitable[None]]
NackCallback = Callable[[bool], Awaitable[None]]


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

    _ack: AckCallback | None = PrivateAttr(default=None)
    _nack: NackCallback | None = PrivateAttr(default=None)
    _settled: bool = PrivateAttr(default=False)

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
        _set_private(message, {"_ack": None, "_nack": None, "_settled": False})
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
        _set_private(message, {"_ack": None, "_nack": None, "_settled": False})
        return message

    def bind_ack(self, ack: AckCallback | None, nack: NackCallback | None = None) -> None:
        """Attach the broker's acknowledgement callbacks (used by the resources)."""
        private = self.__pydantic_private__
        assert private is not None
        private["_ack"] = ack
        private["_nack"] = nack

    @property
    def needs_ack(self) -> bool:
        """Whether this message waits for ``ack()``/``nack()`` (manual acknowledgement)."""
        # Read the private storage directly: this runs for every message, and pydantic resolves
        # private attributes through __getattr__.
        private = self.__pydantic_private__
        assert private is not None
        return private["_ack"] is not None and not private["_settled"]

    @property
    def settled(self) -> bool:
        """Whether ``ack()`` or ``nack()`` was called."""
        return self._settled

    # ack()/nack() read and write the private storage directly: they run for every message with
    # manual acknowledgement, and pydantic routes private attributes through __getattr__ and
    # __setattr__.
    async def ack(self) -> None:
        """Acknowledge: AMQP ``basic.ack``, Kafka commit of this offset; a no-op elsewhere.

        Calling it twice does nothing the second time.
        """
        private = self.__pydantic_private__
        assert private is not None
        if private["_settled"]:
            return
        private["_settled"] = True
        ack = private["_ack"]
        if ack is not None:
            await ack()

    async def nack(self, *, requeue: bool = True) -> None:
        """Reject: AMQP ``basic.nack`` (back to the queue when ``requeue``); a no-op elsewhere."""
        private = self.__pydantic_private__
        assert private is not None
        if private["_settled"]:
            return
        private["_settled"] = True
        nack = private["_nack"]
        if nack is not None:
            await nack(requeue)


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
