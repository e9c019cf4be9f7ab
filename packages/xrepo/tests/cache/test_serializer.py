"""The cache's safe serializer: tagged JSON round trips, hostile input, no pickle anywhere."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from xrepo.cache import XRepoCacheError, XRepoSerializationError
from xrepo.cache.serializer import MAX_DEPTH, canonical_json, dumps, loads


class Color(enum.Enum):
    RED = "red"


class Address(BaseModel):
    city: str
    since: dt.date


class User(BaseModel):
    name: str
    address: Address
    balance: Decimal


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        1.5,
        "",
        "héllo \u0000 \ud7ff",
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5),
        dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.date(1999, 12, 31),
        dt.time(23, 59, 59, 1),
        dt.timedelta(days=2, microseconds=5),
        Decimal("1.10"),
        Decimal("-1E+30"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        b"\x00\xffbinary",
        (1, "a", (2, 3)),
        {1, 2, 3},
        frozenset({"a", "b"}),
        {1: "int key", (1, 2): "tuple key"},
        [{"nested": [1, {"deep": dt.date(2020, 1, 1)}]}],
    ],
)
def test_round_trip_keeps_type_and_value(value: Any) -> None:
    back = loads(dumps(value))
    assert back == value
    assert type(back) is type(value)


def test_decimal_keeps_its_exact_digits() -> None:
    assert str(loads(dumps(Decimal("1.10")))) == "1.10"


def test_non_finite_floats() -> None:
    assert math.isnan(loads(dumps(float("nan"))))
    assert loads(dumps([float("inf"), float("-inf")])) == [math.inf, -math.inf]


def test_output_is_plain_json_without_pickle() -> None:
    data = dumps({"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "raw": b"x"})
    parsed = json.loads(data)
    assert parsed == {
        "when": {"$t": "dt", "v": "2026-01-01T00:00:00+00:00"},
        "raw": {"$t": "b", "v": "eA=="},
    }
    assert b"\x80" not in data[:1]  # not a pickle stream


def test_a_user_dict_that_looks_like_a_tag_stays_a_dict() -> None:
    hostile = {"$t": "dt", "v": "2026-01-01"}
    assert loads(dumps(hostile)) == hostile
    spoof = [{"$t": "pickle", "v": "gASV"}, {"$t": "ref", "v": "os:system"}]
    assert loads(dumps(spoof)) == spoof


def test_bytearray_comes_back_as_bytes() -> None:
    assert loads(dumps(bytearray(b"ab"))) == b"ab"


def test_pydantic_models_are_dumped_as_dicts_and_enums_as_values() -> None:
    user = User(name="Ada", address=Address(city="London", since=dt.date(1840, 1, 1)), balance=1)
    assert loads(dumps(user)) == {
        "name": "Ada",
        "address": {"city": "London", "since": dt.date(1840, 1, 1)},
        "balance": Decimal(1),
    }
    assert loads(dumps(Color.RED)) == "red"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (lambda: 1, "function"),
        (object(), "object"),
        (SecretStr("hunter2"), "secret"),
        ({"password": SecretStr("hunter2")}, "secret"),
        (open, "builtin"),
        (User, "ModelMetaclass"),
    ],
)
def test_unsupported_values_are_refused_clearly(value: Any, words: str) -> None:
    with pytest.raises(XRepoSerializationError) as info:
        dumps(value)
    assert words in str(info.value)
    assert "hunter2" not in str(info.value)
    assert isinstance(info.value, XRepoCacheError)
    assert isinstance(info.value, TypeError)


def test_a_cycle_or_extreme_nesting_is_refused_not_a_crash() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(XRepoSerializationError, match="deeper"):
        dumps(cyclic)
    deep: Any = "x"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(XRepoSerializationError):
        dumps(deep)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b'{"$t": "pickle", "v": "gASV"}',
        b'{"$t": "dec", "v": 5}',
        b'{"$t": "dec", "v": "abc"}',
        b'{"$t": "b", "v": "***"}',
        b'{"$t": "dt", "v": "yesterday"}',
        b'{"$t": "uuid", "v": "zz"}',
        b'{"$t": "f", "v": "1e309x"}',
        b'{"$t": "map", "v": [[1]]}',
        b'{"$t": "tuple", "v": "abc"}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_malformed_entries_raise_a_cache_error(raw: bytes) -> None:
    with pytest.raises(XRepoSerializationError):
        loads(raw)


def test_canonical_json_normalizes_key_order_but_not_types() -> None:
    assert canonical_json({"a": 1, "b": [1, 2]}) == canonical_json({"b": [1, 2], "a": 1})
    assert canonical_json({"a": 1}) != canonical_json({"a": "1"})
    assert canonical_json({"a": 1}) != canonical_json({"a": True})
    assert canonical_json({3, 1, 2}) == canonical_json({2, 3, 1})


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.dates()
    | st.uuids()
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_any_supported_value_round_trips(value: Any) -> None:
    assert loads(dumps(value)) == value
