"""A HyperLogLog sketch: distinct counts in constant memory.

Used by the streaming profiler once a column holds more distinct values than it counts exactly.
Standard error is about ``1.04 / sqrt(2 ** precision)`` (0.8 % at the default precision 14, with
16 KiB of registers).

Values are hashed with Python's ``hash`` of a salted tuple, which mixes integers and strings well
and runs at C speed; it is randomized per process, so a sketch is only comparable (mergeable) with
sketches built in the same process.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import repeat
from typing import Any

__all__ = ["HyperLogLog"]

_MASK64 = (1 << 64) - 1
_SALT = 0x5BD1E995
_GOLDEN = 0x9E3779B97F4A7C15


class HyperLogLog:
    """Estimate the number of distinct values added.

    Examples:
        >>> h = HyperLogLog()
        >>> h.update(range(100_000))
        >>> abs(h.count() - 100_000) < 3_000
        True
    """

    def __init__(self, precision: int = 14) -> None:
        if not 4 <= precision <= 18:
            raise ValueError(f"HyperLogLog precision must be 4..18, got {precision}")
        self.precision = precision
        self.m = 1 << precision
        self.registers = bytearray(self.m)

    def add(self, value: Any) -> None:
        """Add one (hashable) value."""
        self.update((value,))

    def update(self, values: Iterable[Any]) -> None:
        """Add many hashable values; the hot loop of the sketch."""
        regs = self.registers
        shift = 64 - self.precision
        low = (1 << shift) - 1
        top = shift + 1
        # hash() of small ints is nearly the identity and even the tuple hash keeps structure:
        # an xor-shift, a Fibonacci multiply and another xor-shift spread it over all 64 bits.
        for h in map(hash, zip(values, repeat(_SALT))):
            h = ((h ^ (h >> 31)) * _GOLDEN) & _MASK64
            h ^= h >> 29
            r = top - (h & low).bit_length()
            i = h >> shift
            if r > regs[i]:
                regs[i] = r

    def update_str(self, values: Iterable[str]) -> None:
        """Add many strings: their ``hash`` (SipHash) is already uniform, so no mixing."""
        regs = self.registers
        shift = 64 - self.precision
        mask = self.m - 1
        top = shift + 1
        p = self.precision
        hashes: Iterable[int] = map(hash, values)
        floor = min(regs)
        if floor:
            # A hash can only raise a register if its rank beats the lowest register, i.e. if it
            # is below 2**(64 - floor) as an unsigned number: C-level filters drop the rest
            # (most of them, once the sketch has warmed up) before the Python loop sees them.
            hashes = filter((1 << (64 - floor)).__gt__, filter((0).__le__, hashes))
        for h in hashes:
            i = h & mask
            r = top - ((h & _MASK64) >> p).bit_length()
            if r > regs[i]:
                regs[i] = r

    def merge(self, other: HyperLogLog) -> None:
        """Fold ``other`` (same precision, same process) into this sketch."""
        if other.precision != self.precision:
            raise ValueError("cannot merge HyperLogLog sketches of different precision")
        self.registers = bytearray(map(max, self.registers, other.registers))

    def count(self) -> int:
        """The estimated number of distinct values added."""
        m = self.m
        alpha = 0.7213 / (1 + 1.079 / m)
        total = math.fsum(2.0**-r for r in self.registers)
        estimate = alpha * m * m / total
        zeros = self.registers.count(0)
        if estimate <= 2.5 * m and zeros:
            # Small range: linear counting is far more accurate.
            estimate = m * math.log(m / zeros)
        return round(estimate)

    def __len__(self) -> int:
        return self.count()
