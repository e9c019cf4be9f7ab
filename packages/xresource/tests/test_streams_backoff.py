"""The reconnection schedule (no network)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xresource import ResourceFactory
from xresource.streams import Backoff


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
    stream = ResourceFactory.create(
        "mqtt", reconnect_initial_delay=0.25, reconnect_interval=1, max_reconnect_attempts=4
    )
    assert list(stream.backoff.delays()) == [0.25, 0.5, 1.0, 1.0]  # type: ignore[attr-defined]
