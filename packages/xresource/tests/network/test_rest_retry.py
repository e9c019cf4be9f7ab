"""The retry policy of REST requests: which methods, which delays, what Retry-After means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xresource.network.retry import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    Backoff,
    backoff_schedule,
    is_retryable_method,
    parse_retry_after,
)


@pytest.mark.parametrize("method", ["GET", "get", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_idempotent_methods_are_retried(method: str) -> None:
    assert is_retryable_method(method)


@pytest.mark.parametrize("method", ["POST", "PATCH", "post", "CONNECT"])
def test_non_idempotent_methods_are_not_retried_unless_allowed(method: str) -> None:
    assert not is_retryable_method(method)
    assert is_retryable_method(method, retry_non_idempotent=True)


def test_policy_constants() -> None:
    assert frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}) == IDEMPOTENT_METHODS
    assert {429, 500, 502, 503, 504} == set(RETRY_STATUSES)
    assert 501 not in RETRY_STATUSES


def test_backoff_schedule_doubles_up_to_the_cap() -> None:
    assert backoff_schedule(6, initial=0.5, maximum=5) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff_schedule(0, initial=0.5, maximum=5) == []
    assert backoff_schedule(3, initial=10, maximum=2) == [2, 2, 2]


def test_backoff_schedule_with_jitter_stays_within_bounds() -> None:
    plain = backoff_schedule(8, initial=0.1, maximum=3)
    for _ in range(50):
        jittered = backoff_schedule(8, initial=0.1, maximum=3, jitter=0.5)
        for low_high, value in zip(plain, jittered, strict=True):
            assert low_high * 0.5 <= value <= low_high


def test_jitter_spreads_delays() -> None:
    values = {backoff_schedule(1, initial=1, maximum=1, jitter=1.0)[0] for _ in range(30)}
    assert len(values) > 1


def test_large_attempt_numbers_do_not_overflow() -> None:
    assert Backoff(initial=1, maximum=30, max_attempts=1).delay(10_000) == 30


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"initial": 0, "maximum": 1}, "positive"),
        ({"initial": 1, "maximum": 1, "jitter": 1.5}, "jitter"),
        ({"initial": 1, "maximum": 1, "max_attempts": -1}, "max_attempts"),
    ],
)
def test_bad_backoff_parameters(kwargs: dict[str, float], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Backoff(**kwargs)  # type: ignore[arg-type]


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # a date in the past: no wait
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_parse_retry_after_uses_the_clock_by_default() -> None:
    when = (datetime.now(UTC) + timedelta(seconds=100)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    wait = parse_retry_after(when)
    assert wait is not None
    assert 90 <= wait <= 100
