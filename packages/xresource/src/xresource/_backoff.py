"""Exponential backoff bounded by an interval and a number of attempts: stream reconnection and
REST retries share it (public as ``xresource.streams.Backoff``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Delays before reconnection attempts: ``initial * multiplier**(n-1)``, capped at ``maximum``.

    ``max_attempts`` attempts are made (0 disables reconnection). ``jitter`` (a fraction, 0..1)
    spreads the delays so that many clients do not reconnect in lockstep.

    >>> list(Backoff(initial=0.5, maximum=5.0, max_attempts=6).delays())
    [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    """

    initial: float = 0.5
    maximum: float = 5.0
    max_attempts: int = 10
    multiplier: float = 2.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum <= 0:
            raise ValueError("backoff delays must be positive")
        if self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0")
        if self.multiplier < 1:
            raise ValueError("multiplier must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, attempt: int) -> float:
        """The delay in seconds before attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        # min() before the power would overflow for large attempt numbers
        exponent = min(attempt - 1, 64)
        base = min(self.maximum, min(self.initial, self.maximum) * self.multiplier**exponent)
        if self.jitter:
            # Jitter only shortens a delay, so the cap holds.
            base *= 1 - self.jitter * random.random()  # noqa: S311 - not cryptographic
        return base

    def delays(self) -> Iterator[float]:
        """The delay before each of the ``max_attempts`` attempts, in order."""
        for attempt in range(1, self.max_attempts + 1):
            yield self.delay(attempt)
