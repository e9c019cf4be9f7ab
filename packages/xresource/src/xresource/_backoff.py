"""Exponential backoff bounded by an interval and a number of attempts, with jitter: stream
reconnection and REST retries share it (public as ``xresource.streams.Backoff``)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["JITTER_NAMES", "Backoff", "parse_jitter"]

#: Named jitter fractions: ``full`` draws each delay from ``[0, d]``, ``equal`` from ``[d/2, d]``
#: (the schemes of the AWS Architecture Blog's "Exponential Backoff and Jitter"), ``off`` gives the
#: exact exponential delays.
JITTER_NAMES: dict[str, float] = {"full": 1.0, "equal": 0.5, "off": 0.0, "none": 0.0}


def parse_jitter(value: object) -> float:
    """A jitter fraction from a number in ``[0, 1]``, a name of :data:`JITTER_NAMES` or a bool
    (``False``: off, ``True``: equal); anything else raises ``ValueError`` naming what was wrong.

    >>> parse_jitter("full"), parse_jitter(" Equal "), parse_jitter(0.25), parse_jitter(False)
    (1.0, 0.5, 0.25, 0.0)
    """
    if isinstance(value, bool):
        return 0.5 if value else 0.0
    if isinstance(value, str):
        key = value.strip().lower()
        if key in JITTER_NAMES:
            return JITTER_NAMES[key]
        try:
            value = float(key)
        except ValueError:
            names = ", ".join(repr(n) for n in JITTER_NAMES)
            raise ValueError(
                f"jitter must be a fraction between 0 and 1 or one of {names}, not {value!r}"
            ) from None
    if not isinstance(value, int | float):
        raise ValueError(
            f"jitter must be a fraction between 0 and 1 or a name, not {type(value).__name__}"
        )
    number = float(value)
    # NaN fails every comparison, so it is rejected here rather than slipping through.
    if not (math.isfinite(number) and 0 <= number <= 1):
        raise ValueError(f"jitter must be between 0 and 1, not {value!r}")
    return number


@dataclass(frozen=True)
class Backoff:
    """Delays before reconnection attempts: ``initial * multiplier**(n-1)``, capped at ``maximum``.

    ``max_attempts`` attempts are made (0 disables reconnection). ``jitter`` (a fraction, 0..1)
    spreads the delays so that many clients do not reconnect in lockstep: each delay ``d`` is
    drawn uniformly from ``[d * (1 - jitter), d]`` (1 is "full jitter", 0.5 "equal jitter", 0
    the exact exponential delays). Jitter only shortens a delay, so ``maximum`` still holds.
    ``rng`` is the random source of the jitter (the ``random`` module when ``None``; a seeded
    ``random.Random`` makes the delays reproducible).

    >>> list(Backoff(initial=0.5, maximum=5.0, max_attempts=6).delays())
    [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    >>> [round(d, 3) for d in Backoff(max_attempts=3, jitter=1.0, rng=random.Random(7)).delays()]
    [0.338, 0.849, 0.698]
    """

    initial: float = 0.5
    maximum: float = 5.0
    max_attempts: int = 10
    multiplier: float = 2.0
    jitter: float = 0.0
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not (self.initial > 0 and self.maximum > 0):  # also rejects NaN
            raise ValueError("backoff delays must be positive")
        if self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0")
        if not self.multiplier >= 1:
            raise ValueError("multiplier must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, attempt: int) -> float:
        """The delay in seconds before attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        # min() before the power would overflow for large attempt numbers
        exponent = min(attempt - 1, 64)
        # float(): an int maximum would otherwise come back as an int once the cap is reached
        base = float(min(self.maximum, min(self.initial, self.maximum) * self.multiplier**exponent))
        if self.jitter:
            # not cryptographic: jitter only has to decorrelate clients
            draw = self.rng.random() if self.rng is not None else random.random()  # noqa: S311
            base *= 1 - self.jitter * draw
        return base

    def delays(self) -> Iterator[float]:
        """The delay before each of the ``max_attempts`` attempts, in order."""
        for attempt in range(1, self.max_attempts + 1):
            yield self.delay(attempt)
