"""When a REST request may be retried, and how long to wait before the next attempt.

Only idempotent methods are retried by default: repeating a ``POST`` or ``PATCH`` whose response
was lost could apply it twice. Delays grow exponentially with jitter (the stream resources'
:class:`~xresource.streams.Backoff`), and a ``Retry-After`` header wins when present.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from xresource._backoff import Backoff

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "Backoff",
    "backoff_schedule",
    "is_retryable_method",
    "parse_retry_after",
]

#: Methods that RFC 9110 defines as idempotent (TRACE left out: never useful to an API client).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Statuses that mean "try again later": rate limited, or the server side failed transiently.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_retryable_method(method: str, *, retry_non_idempotent: bool = False) -> bool:
    """Whether a request with ``method`` may be sent again after a failure."""
    return retry_non_idempotent or method.upper() in IDEMPOTENT_METHODS


def backoff_schedule(
    retries: int, *, initial: float, maximum: float, jitter: float = 0.0
) -> list[float]:
    """The delays (seconds) before each of ``retries`` retries.

    >>> backoff_schedule(5, initial=0.5, maximum=3)
    [0.5, 1.0, 2.0, 3.0, 3.0]
    """
    return list(
        Backoff(initial=initial, maximum=maximum, max_attempts=retries, jitter=jitter).delays()
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    ``None`` when absent or unreadable; a date in the past gives ``0.0``.

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=datetime(2015, 10, 21, 7, 27, 30,
    ...                   tzinfo=UTC))
    30.0
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)
