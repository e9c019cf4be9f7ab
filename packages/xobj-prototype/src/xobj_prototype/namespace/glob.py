"""Glob patterns over dot paths: ``fnmatch`` semantics, plus a segment-bounded spelling.

``compile_glob("ns.functions.math.*")`` follows ``fnmatch.fnmatchcase``: ``*`` also crosses dots,
so the pattern finds ``ns.functions.math.basic.add``. ``compile_glob(pattern, segments=True)`` is
the stricter spelling: ``*``, ``?`` and ``[...]`` stay inside one segment (they never match a dot)
and ``**`` matches any run of characters, dots included.

Both spellings share the tokenizer below, which reads ``[...]`` exactly as ``fnmatch`` does (an
unclosed ``[`` is a literal). :func:`literal_prefix`, :func:`literal_suffix` and
:func:`literal_segments` tell the index what every match must contain, so that it can narrow the
candidates before running the regex.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from functools import lru_cache

from xobj_prototype.errors import XValidationError

__all__ = ["compile_glob", "literal_prefix", "literal_segments", "literal_suffix", "tokenize"]

# A token is (is_wildcard, text): a literal run, a run of stars, a "?" or a closed "[...]" class.
Token = tuple[bool, str]


@lru_cache(maxsize=1024)
def tokenize(pattern: str) -> tuple[Token, ...]:
    """Split ``pattern`` into literal runs and wildcards, reading ``[...]`` as ``fnmatch`` does.

    >>> tokenize("ns.*.a?[bc]")
    ((False, 'ns.'), (True, '*'), (False, '.a'), (True, '?'), (True, '[bc]'))
    """
    tokens: list[Token] = []
    literal: list[str] = []
    i, n = 0, len(pattern)

    def flush() -> None:
        if literal:
            tokens.append((False, "".join(literal)))
            literal.clear()

    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            flush()
            tokens.append((True, pattern[i:j]))
            i = j
            continue
        if c == "?":
            flush()
            tokens.append((True, "?"))
        elif c == "[":
            # The scan of fnmatch.translate: a "!", then a "]", right after "[" are in the set.
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                literal.append(c)
            else:
                flush()
                tokens.append((True, pattern[i : j + 1]))
                i = j
        else:
            literal.append(c)
        i += 1
    flush()
    return tuple(tokens)


def _class_regex(bracket: str) -> str:
    """The regex of one ``[...]`` class, as ``fnmatch`` translates it (ranges, ``!``, escapes)."""
    translated = fnmatch.translate(bracket)
    head, tail = "(?s:", ")\\Z"
    if not (translated.startswith(head) and translated.endswith(tail)):  # pragma: no cover
        raise RuntimeError(f"unexpected fnmatch.translate output {translated!r}")
    return translated[len(head) : -len(tail)]


# In ``segments`` mode, how many ``**`` may come before a ``*``: each one is a point where the regex
# has to try every dot of the path, and a chain of them would backtrack polynomially.
MAX_SPANS_BEFORE_STAR = 2


def _fixed_regex(tokens: tuple[Token, ...]) -> str:
    """Regex of a run of literal text, ``?`` and classes (each matches a fixed number of chars)."""
    out: list[str] = []
    for wild, text in tokens:
        if not wild:
            out.append(re.escape(text))
        elif text == "?":
            out.append("[^.]")
        else:
            # The class as fnmatch reads it, but never matching the dot between two segments.
            out.append(r"(?!\.)" + _class_regex(text))
    return "".join(out)


def _segments_regex(pattern: str) -> str:
    r"""Regex of ``pattern`` in ``segments`` mode, free of catastrophic backtracking.

    Like ``fnmatch.translate``, each star that is followed by another star matches lazily inside an
    atomic group, up to the first occurrence of the fixed text after it. That is exact for a
    segment ``*`` (whatever a later end could reach, the earliest end reaches too: the text in
    between holds no dot) and for a ``**`` followed by another ``**``. A ``**`` followed by a ``*``
    is split into "whole segments" (``(?:.*\.)?``, the one place that backtracks, over the dots
    of the path) and a segment star.
    """
    tokens = tokenize(pattern)
    stars = [k for k, (wild, text) in enumerate(tokens) if wild and text[0] == "*"]
    if not stars:
        return _fixed_regex(tokens)
    spans_before_star = sum(
        1 for a, b in itertools.pairwise(stars) if len(tokens[a][1]) > 1 and len(tokens[b][1]) == 1
    )
    if spans_before_star > MAX_SPANS_BEFORE_STAR:
        raise XValidationError(
            f"namespace pattern {pattern!r} has {spans_before_star} '**' wildcards followed by a "
            f"single-segment '*'; segments=True allows at most {MAX_SPANS_BEFORE_STAR} (each makes "
            "matching try every dot of the path): use fewer '**'"
        )
    out = [_fixed_regex(tokens[: stars[0]])]
    for a, b in itertools.pairwise([*stars, len(tokens)]):
        span = len(tokens[a][1]) > 1
        fixed = _fixed_regex(tokens[a + 1 : b])
        if b == len(tokens):  # the last star: plain, the end anchor settles it
            out.append((".*" if span else "[^.]*") + fixed)
        elif not span:
            out.append(f"(?>[^.]*?{fixed})")
        elif len(tokens[b][1]) > 1:
            out.append(f"(?>.*?{fixed})")
        else:
            out.append(f"(?:.*\\.)?(?>[^.]*?{fixed})")
    return "".join(out)


@lru_cache(maxsize=1024)
def _compile(pattern: str, segments: bool) -> re.Pattern[str]:
    if not segments:
        return re.compile(fnmatch.translate(pattern))
    return re.compile("(?s:" + _segments_regex(pattern) + r")\Z")


def compile_glob(pattern: str, segments: bool = False) -> re.Pattern[str]:
    """Compile a glob into a regex; use its ``match`` method (the regex is anchored at the end).

    Compiled patterns are cached: registries match the same patterns again and again.

    >>> path = "ns.functions.math.basic.add"
    >>> bool(compile_glob("ns.functions.math.*").match(path))
    True
    >>> bool(compile_glob("ns.functions.math.*", segments=True).match(path))
    False
    >>> bool(compile_glob("ns.functions.**.add", segments=True).match(path))
    True
    """
    if not isinstance(pattern, str):
        raise XValidationError(f"glob pattern must be a string, got {type(pattern).__name__}")
    return _compile(pattern, bool(segments))


def literal_prefix(pattern: str) -> str:
    """The literal text before the first wildcard: every match starts with it."""
    tokens = tokenize(pattern)
    return tokens[0][1] if tokens and not tokens[0][0] else ""


def literal_suffix(pattern: str) -> str:
    """The literal text after the last wildcard: every match ends with it."""
    tokens = tokenize(pattern)
    return tokens[-1][1] if tokens and not tokens[-1][0] else ""


def literal_segments(pattern: str) -> list[str]:
    """Whole segments spelled out literally in ``pattern``: every match has each as a segment.

    ``ns.*.users.*`` gives ``["ns", "users"]``: ``users`` sits between two literal dots, so any
    path that matches holds ``.users.``. A partial run such as ``format_`` in ``*.format_?ate``
    gives nothing.

    >>> literal_segments("ns.*.users.*")
    ['ns', 'users']
    """
    tokens = tokenize(pattern)
    last = len(tokens) - 1
    found: list[str] = []
    for k, (wild, text) in enumerate(tokens):
        if wild:
            continue
        pieces = text.split(".")
        for j, piece in enumerate(pieces):
            starts_clean = j > 0 or k == 0
            ends_clean = j < len(pieces) - 1 or k == last
            if piece and starts_clean and ends_clean:
                found.append(piece)
    return found
