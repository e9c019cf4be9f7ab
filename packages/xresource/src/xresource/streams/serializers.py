"""Pluggable serialization of stream messages: JSON by default, raw bytes/text on request.

A serializer turns the value given to ``publish()`` into the bytes sent on the wire and decodes the
bytes received back into a value. It raises ``XResourceValidationError`` for a value it cannot
encode, so that nothing is sent for a bad message.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from xresource.errors import XResourceValidationError

__all__ = ["JSONSerializer", "RawSerializer", "Serializer", "decode_value", "get_serializer"]


def decode_value(raw: bytes) -> Any:
    """Decode a payload: JSON when it is JSON, else UTF-8 text, else the bytes themselves.

    >>> decode_value(b'{"a": 1}'), decode_value(b"plain text"), decode_value(b"\\xff\\x00")
    ({'a': 1}, 'plain text', b'\\xff\\x00')
    """
    if not raw:
        return raw
    lead = raw[0]
    if lead == 123 or lead == 91:  # b"{" or b"[": the common case
        # An ASCII first byte: the document is UTF-8 (not UTF-16/32), so the decoder gets the
        # text directly (json.loads would detect the encoding and check its arguments first).
        try:
            text = raw.decode("utf-8")
            value, end = _RAW_DECODE(text)
        except ValueError:  # includes UnicodeDecodeError
            pass
        else:
            # The whole payload must be the document (JSON whitespace may follow).
            if end == len(text) or not text[end:].strip(" \t\n\r"):
                return value
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    # Only texts that start like a JSON document are tried: parsing every plain text costs time.
    first = text.lstrip()[:1]
    if first and (first in '{["-' or first.isdigit() or text.strip() in ("true", "false", "null")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


class Serializer(ABC):
    """Encodes published values to bytes and decodes received bytes to values."""

    #: A short name shown in metadata (``"json"``, ``"raw"``).
    name: str = "custom"

    @abstractmethod
    def dumps(self, value: Any) -> bytes:
        """The bytes to send for ``value``; ``XResourceValidationError`` when it cannot be sent."""

    def loads(self, raw: bytes) -> Any:
        """The value of a received payload (JSON when it is JSON, else text, else bytes)."""
        return decode_value(raw)

    def decoder(self) -> Callable[[bytes], Any]:
        """The function the resources call for every payload received: :meth:`loads`, or
        :func:`decode_value` itself when ``loads`` is not overridden (one call less each time)."""
        return decode_value if type(self).loads is Serializer.loads else self.loads

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class JSONSerializer(Serializer):
    """JSON (strict: no NaN/Infinity) for every value; ``bytes`` are sent unchanged.

    >>> JSONSerializer().dumps({"type": "login"})
    b'{"type":"login"}'
    """

    name = "json"

    def dumps(self, value: Any) -> bytes:
        if isinstance(value, _BINARY):
            return bytes(value)
        try:
            return "".join(_encode_chunks(value, 0)).encode("utf-8")
        except RecursionError:
            raise XResourceValidationError(
                f"message of type {type(value).__name__} cannot be serialized as JSON (it "
                "contains itself or is nested too deeply); send JSON-compatible values",
                operation="publish",
            ) from None
        except (TypeError, ValueError) as exc:
            raise XResourceValidationError(
                f"message of type {type(value).__name__} cannot be serialized as JSON ({exc}); "
                "send JSON-compatible values or bytes, or pass another serializer",
                operation="publish",
            ) from None


class RawSerializer(Serializer):
    """Bytes as they are and text as UTF-8; anything else is rejected. Payloads decode to bytes."""

    name = "raw"

    def dumps(self, value: Any) -> bytes:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
        raise XResourceValidationError(
            f"the raw serializer sends bytes or str, got {type(value).__name__}; encode the value "
            "first or use serializer='json'",
            operation="publish",
        )

    def loads(self, raw: bytes) -> Any:
        return raw


_RAW_DECODE = json.JSONDecoder().raw_decode
# One encoder for every message: json.dumps() with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)
_BINARY = (bytes, bytearray, memoryview)  # a tuple: isinstance() is faster than with a union


def _make_encoder() -> Callable[[Any, int], Iterable[str]]:
    # JSONEncoder.encode() builds json's C encoder anew for every call; build it once (same
    # options, same output) and call it directly: it returns the chunks of the document. No
    # circular-reference bookkeeping: a value that contains itself ends in RecursionError,
    # reported like any other unserializable value.
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # no C accelerator (e.g. PyPy): the plain encoder

        def encode(value: Any, _indent: int) -> Iterable[str]:
            return (_ENCODER.encode(value),)

        return encode
    return c_make_encoder(  # type: ignore[no-any-return]
        None,
        _ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )


_encode_chunks = _make_encoder()

_BY_NAME: dict[str, type[Serializer]] = {
    "json": JSONSerializer,
    "raw": RawSerializer,
    "bytes": RawSerializer,
}


def get_serializer(value: Serializer | str | None) -> Serializer:
    """A serializer instance from an instance or a name (``"json"``, ``"raw"``/``"bytes"``)."""
    if value is None:
        return JSONSerializer()
    if isinstance(value, Serializer):
        return value
    if isinstance(value, str) and value.lower() in _BY_NAME:
        return _BY_NAME[value.lower()]()
    raise XResourceValidationError(
        f"unknown serializer {value!r}; use 'json', 'raw' or a Serializer instance",
        operation="configure",
    )
