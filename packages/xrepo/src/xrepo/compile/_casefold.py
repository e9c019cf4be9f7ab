# ruff: noqa: RUF001, RUF002, RUF003 - this module is about look-alike letters.
"""Case-insensitive text as MongoDB compares it: Unicode *simple* case folding, one character
to one character.

MongoDB's ``$regex`` with ``i`` (PCRE, Unicode mode) treats two characters as equal when they
fold to the same character: ``É``/``é``, ``Σ``/``σ``/``ς``, ``S``/``s``/``ſ``, ``K``/``k``/``K``
(Kelvin), ``ẞ``/``ß``. It never expands a character (``ß`` does not match ``ss``, ``İ`` matches
only itself) and ignores Turkish rules (``ı`` matches only itself). :func:`fold` gives each
character the representative of its class, so ``fold(a) in fold(b)`` is MongoDB's
case-insensitive "contains" (and ``str.lower()`` is not: it leaves ``ς`` and ``ſ`` alone and
turns ``İ`` into two characters)::

    >>> fold("ΟΔΟΣ") == fold("οδοσ") == fold("οδος")
    True
"""

from __future__ import annotations

import functools

__all__ = ["fold"]

#: Code points below this hold every cased script Unicode has (the supplementary ones included).
_CASED_LIMIT = 0x20000


def _fold_char(c: str) -> str:
    low = c.lower()
    if len(low) != 1:  # an expansion (İ -> i̇): no simple folding, the character stays itself
        low = c
    if low == "ı":  # dotless i folds to nothing; its uppercase I belongs to i
        return low
    up = low.upper()
    if len(up) == 1:
        again = up.lower()
        if len(again) == 1:  # ς -> Σ -> σ, ſ -> S -> s: the class's representative
            return again
    return low


@functools.cache
def _table() -> dict[int, str]:
    # Built once, on first use (about 0.1 s): only characters that change are kept.
    table: dict[int, str] = {}
    for cp in range(_CASED_LIMIT):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        f = _fold_char(c)
        if f != c:
            table[cp] = f
    return table


def fold(text: str) -> str:
    """``text`` with every character replaced by its simple case folding (same length)."""
    return text.translate(_table())
