"""Serializers and payload decoding of the stream resources (no network)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xresource import ResourceFactory, XResourceConfigurationError, XResourceValidationError
from xresource.streams import JSONSerializer, RawSerializer, Serializer, decode_value
from xresource.streams.serializers import get_serializer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": 1}', {"a": 1}),
        (b"[1, 2]", [1, 2]),
        (b"42", 42),
        (b"-1.5", -1.5),
        (b"true", True),
        (b"null", None),
        (b'"quoted"', "quoted"),
        (b"plain text", "plain text"),
        (b"{not json", "{not json"),
        (b"12 apples", "12 apples"),
        (b"\xff\xfe\x00", b"\xff\xfe\x00"),
        (b"", b""),
        ("héllo".encode(), "héllo"),
    ],
)
def test_decode_value(raw: bytes, expected: Any) -> None:
    assert decode_value(raw) == expected
    assert type(decode_value(raw)) is type(expected)


def test_json_serializer_round_trip_and_bytes_passthrough() -> None:
    s = JSONSerializer()
    assert s.dumps({"type": "login", "n": [1, 2.5, None]}) == b'{"type":"login","n":[1,2.5,null]}'
    assert s.dumps("text") == b'"text"'
    assert s.dumps(b"\x00raw") == b"\x00raw"
    assert s.dumps(bytearray(b"ab")) == b"ab"
    assert s.loads(s.dumps({"k": "ü"})) == {"k": "ü"}


@pytest.mark.parametrize(
    "bad", [object(), {1, 2}, float("nan"), math.inf, {"k": object()}, {(1, 2): "tuple key"}]
)
def test_json_serializer_rejects_what_json_cannot_carry(bad: Any) -> None:
    with pytest.raises(XResourceValidationError, match="cannot be serialized as JSON"):
        JSONSerializer().dumps(bad)


def test_raw_serializer() -> None:
    s = RawSerializer()
    assert s.dumps("é") == "é".encode()
    assert s.dumps(b"\x01") == b"\x01"
    assert s.loads(b'{"a":1}') == b'{"a":1}'  # raw means raw: no decoding
    with pytest.raises(XResourceValidationError, match="raw serializer sends bytes or str"):
        s.dumps({"a": 1})


def test_get_serializer_by_name_and_instance() -> None:
    assert isinstance(get_serializer(None), JSONSerializer)
    assert isinstance(get_serializer("JSON"), JSONSerializer)
    assert isinstance(get_serializer("bytes"), RawSerializer)
    custom = RawSerializer()
    assert get_serializer(custom) is custom
    with pytest.raises(XResourceValidationError, match="unknown serializer"):
        get_serializer("xml")
    with pytest.raises(XResourceValidationError):
        get_serializer(3)  # type: ignore[arg-type]


def test_resource_serializer_field() -> None:
    stream = ResourceFactory.create("redis", serializer="raw")
    assert isinstance(stream.serializer, RawSerializer)  # type: ignore[attr-defined]
    assert stream.get_metadata()["serializer"] == "raw"
    with pytest.raises(XResourceConfigurationError, match="unknown serializer"):
        ResourceFactory.create("redis", serializer="xml")

    class Upper(Serializer):
        name = "upper"

        def dumps(self, value: Any) -> bytes:
            return str(value).upper().encode()

    stream = ResourceFactory.create("redis", serializer=Upper())
    assert stream.serializer.dumps("abc") == b"ABC"  # type: ignore[attr-defined]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=10,
)


@given(json_values)
def test_json_round_trip_property(value: Any) -> None:
    s = JSONSerializer()
    decoded = s.loads(s.dumps(value))
    if isinstance(value, str) and value == "":
        assert decoded == ""
    else:
        assert decoded == value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": 1}  \n', {"a": 1}),  # JSON whitespace may follow the document
        (b"[1, 2] and more", "[1, 2] and more"),  # text that only starts like JSON
        (b'{"a": 1}{"b": 2}', '{"a": 1}{"b": 2}'),
        (b"[\xff]", b"[\xff]"),  # not UTF-8
        ('{"é": "ü"}'.encode(), {"é": "ü"}),
    ],
)
def test_decode_value_documents_and_lookalikes(raw: bytes, expected: Any) -> None:
    assert decode_value(raw) == expected


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
)
def test_json_serializer_matches_json_dumps(value: Any) -> None:
    import json

    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert JSONSerializer().dumps(value) == expected.encode("utf-8")


def test_json_serializer_rejects_self_containing_values() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(XResourceValidationError, match="contains itself"):
        JSONSerializer().dumps(loop)
    with pytest.raises(XResourceValidationError, match="cannot be serialized"):
        JSONSerializer().dumps({"x": [float("inf")]})
