"""The reconnection schedule (no network)."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xresource import ResourceFactory, XResourceConfigurationError
from xresource.streams import Backoff, EventStreamResource


def _stream(**params: Any) -> EventStreamResource:
    stream = ResourceFactory.create("mqtt", **params)
    assert isinstance(stream, EventStreamResource)
    return stream


def test_doubles_from_initial_and_is_capped() -> None:
    assert list(Backoff(initial=0.5, maximum=5, max_attempts=7).delays()) == [
        0.5,
        1.0,
        2.0,
        4.0,
        5.0,
        5.0,
        5.0,
    ]


def test_zero_attempts_means_no_reconnection() -> None:
    assert list(Backoff(max_attempts=0).delays()) == []


def test_initial_above_maximum_is_capped() -> None:
    assert Backoff(initial=10, maximum=2, max_attempts=1).delay(1) == 2


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert Backoff(initial=1, maximum=30).delay(10_000) == 30


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0}, {"maximum": -1}, {"max_attempts": -1}, {"multiplier": 0.5}, {"jitter": 1.5}],
)
def test_invalid_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        Backoff().delay(0)


@given(st.floats(0.001, 10), st.floats(0.001, 60), st.integers(1, 30), st.floats(0, 1))
def test_delays_bounded_and_monotonic_without_jitter(
    initial: float, maximum: float, attempts: int, jitter: float
) -> None:
    plain = list(Backoff(initial=initial, maximum=maximum, max_attempts=attempts).delays())
    assert len(plain) == attempts
    assert all(0 < d <= maximum for d in plain)
    assert plain == sorted(plain)
    jittered = Backoff(initial=initial, maximum=maximum, max_attempts=attempts, jitter=jitter)
    for attempt, base in enumerate(plain, 1):
        assert base * (1 - jitter) - 1e-9 <= jittered.delay(attempt) <= base + 1e-9


def test_resource_settings_give_the_schedule() -> None:
    # The example of docs/xresource/streams.md (Reconnection): jitter off gives exact delays.
    stream = _stream(
        reconnect_initial_delay=0.25,
        reconnect_interval=1,
        max_reconnect_attempts=4,
        reconnect_jitter="off",
    )
    assert list(stream.backoff.delays()) == [0.25, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("off", [0, 0.0, "off", "none", " OFF ", False, "0"])
def test_jitter_off_gives_exact_exponential_delays(off: object) -> None:
    stream = _stream(reconnect_initial_delay=0.1, reconnect_interval=3, reconnect_jitter=off)
    assert stream.reconnect_jitter == 0.0
    assert list(stream.backoff.delays()) == [0.1, 0.2, 0.4, 0.8, 1.6, 3.0, 3.0, 3.0, 3.0, 3.0]


def test_streams_reconnect_with_equal_jitter_by_default() -> None:
    stream = _stream()
    assert stream.reconnect_jitter == 0.5
    assert stream.backoff.jitter == 0.5
    assert stream.model_dump()["reconnect_jitter"] == 0.5


@given(
    seed=st.integers(0, 2**32 - 1),
    initial=st.floats(0.001, 5),
    interval=st.floats(0.01, 60),
    attempts=st.integers(1, 20),
)
def test_default_policy_delays_vary_within_bounds(
    seed: int, initial: float, interval: float, attempts: int
) -> None:
    stream = _stream(
        reconnect_initial_delay=initial,
        reconnect_interval=interval,
        max_reconnect_attempts=attempts,
    )
    exact = list(dataclasses.replace(stream.backoff, jitter=0.0).delays())
    jittered = list(dataclasses.replace(stream.backoff, rng=random.Random(seed)).delays())
    assert len(jittered) == attempts
    for delay, full in zip(jittered, exact, strict=True):
        assert full / 2 - 1e-12 <= delay <= full + 1e-12  # equal jitter: [d/2, d]
        assert delay <= interval + 1e-12
    # Each delay takes a fresh draw: a schedule of several equal caps does not stay equal.
    capped = list(
        dataclasses.replace(
            stream.backoff, initial=interval, max_attempts=8, rng=random.Random(seed)
        ).delays()
    )
    assert len(set(capped)) > 1
    # The same seed gives the same schedule (what makes a failing run reproducible).
    again = list(dataclasses.replace(stream.backoff, rng=random.Random(seed)).delays())
    assert again == jittered


def test_seeded_schedules_differ_between_clients() -> None:
    # Two clients dropped by the same server: their reconnects must not line up.
    backoff = _stream(max_reconnect_attempts=10).backoff
    first = list(dataclasses.replace(backoff, rng=random.Random(1)).delays())
    second = list(dataclasses.replace(backoff, rng=random.Random(2)).delays())
    assert all(a != b for a, b in zip(first, second, strict=True))


@given(seed=st.integers(0, 2**32 - 1), attempt=st.integers(1, 40))
def test_full_jitter_stays_positive_and_capped(seed: int, attempt: int) -> None:
    stream = _stream(reconnect_initial_delay=0.2, reconnect_interval=5, reconnect_jitter="full")
    assert stream.reconnect_jitter == 1.0
    backoff = dataclasses.replace(stream.backoff, rng=random.Random(seed))
    exact = dataclasses.replace(backoff, jitter=0.0).delay(attempt)
    assert 0 < backoff.delay(attempt) <= exact


@pytest.mark.parametrize(
    ("value", "expected"),
    [("full", 1.0), ("Equal", 0.5), (0.25, 0.25), ("0.75", 0.75), (1, 1.0), (True, 0.5)],
)
def test_jitter_setting_accepts_fractions_and_names(value: object, expected: float) -> None:
    assert _stream(reconnect_jitter=value).backoff.jitter == expected


@pytest.mark.parametrize(
    "value", ["lots", "", "   ", "égal", -0.1, 1.5, math.nan, math.inf, [0.5], None]
)
def test_bad_jitter_is_a_clear_error(value: object) -> None:
    with pytest.raises(XResourceConfigurationError, match="reconnect_jitter"):
        _stream(reconnect_jitter=value)


def test_sse_retry_field_keeps_the_jitter() -> None:
    pytest.importorskip("aiohttp", reason="the SSE resource needs aiohttp (xresource[sse])")
    stream = ResourceFactory.create(
        "sse", endpoint="http://127.0.0.1:9/events", reconnect_jitter="full"
    )
    stream._rt.retry_ms = 150  # type: ignore[attr-defined] - what a server's "retry: 150" sets
    backoff = stream.backoff  # type: ignore[attr-defined]
    assert (backoff.initial, backoff.jitter) == (0.15, 1.0)
