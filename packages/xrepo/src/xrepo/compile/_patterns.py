"""User regular expressions (``$regex``) evaluated under a time bound.

A pattern such as ``(a+)+$`` backtracks exponentially on ``"aaaa...!"``: with Python's ``re``
one evaluation never ends and, on the event loop, freezes every other caller. Wherever xrepo
evaluates a user's pattern itself (memory, file repositories, SQLite's ``REGEXP`` function) it
uses the `regex <https://pypi.org/project/regex/>`_ module instead, in its ``re``-compatible
``VERSION0`` mode, with a ``timeout`` on every evaluation (one pattern against one value), and
with ``concurrent=True`` so the GIL is released while it matches: an evaluation in a worker
thread does not hold the event loop. An evaluation that exceeds the bound stops the query with
an :class:`~xrepo.errors.XRepoQueryError` naming ``$regex``, the field, the pattern and the
bound.

The bound is :attr:`xrepo.query.FilterLimits.regex_timeout` (seconds; default
:data:`DEFAULT_REGEX_TIMEOUT`), set per repository with ``limits=FilterLimits(...)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import regex as _regex

from xrepo.errors import XRepoValidationError
from xrepo.query import DEFAULT_LIMITS, And, Condition, Node, Nor, Not, Or, RegexBoundExceeded

__all__ = [
    "DEFAULT_REGEX_TIMEOUT",
    "BoundedPattern",
    "compile_pattern",
    "regex_conditions",
]

#: Seconds one ``$regex`` evaluation (one pattern against one value) may take by default.
DEFAULT_REGEX_TIMEOUT: float = DEFAULT_LIMITS.regex_timeout

_FLAGS = {"i": _regex.IGNORECASE, "m": _regex.MULTILINE, "s": _regex.DOTALL, "x": _regex.VERBOSE}


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, flags: int) -> Any:
    # VERSION0 is the re-compatible mode (simple case folding, re's inline-flag scoping).
    return _regex.compile(pattern, flags | _regex.VERSION0)


def compile_pattern(pattern: str, flags: str = "") -> Any:
    """``pattern`` with MongoDB-style option letters (``imsx``) as a ``regex`` pattern object.

    Raises:
        regex.error: the pattern is not valid.
    """
    out = 0
    for f in flags:
        out |= _FLAGS[f]
    return _compile(pattern, out)


class BoundedPattern:
    """A user's pattern whose :meth:`search` gives up after ``bound`` seconds per value.

    Example:
        >>> BoundedPattern("name", "^Al", "i", 1.0).search("alice") is not None
        True
    """

    __slots__ = ("_compiled", "bound", "field", "pattern")

    def __init__(self, field: str | None, pattern: str, flags: str, bound: float) -> None:
        self.field = field
        self.pattern = pattern
        self.bound = bound
        try:
            self._compiled = compile_pattern(pattern, flags)
        except _regex.error as exc:
            where = f"field {field!r}: " if field is not None else ""
            raise XRepoValidationError(f"{where}invalid regex: {exc}") from None

    def search(self, value: str) -> Any:
        """The first match in ``value`` or ``None``.

        Raises:
            RegexBoundExceeded: the evaluation took longer than the bound.
        """
        try:
            return self._compiled.search(value, timeout=self.bound, concurrent=True)
        except TimeoutError:
            raise RegexBoundExceeded(self.field, self.pattern, self.bound) from None


def regex_conditions(node: Node) -> Iterator[Condition]:
    """Every ``$regex`` condition in a filter tree."""
    if isinstance(node, Condition):
        if node.op == "regex":
            yield node
    elif isinstance(node, And | Or | Nor):
        for child in node.children:
            yield from regex_conditions(child)
    elif isinstance(node, Not):
        yield from regex_conditions(node.child)
