"""Property tests: the index answers exactly what a linear scan answers.

``NamespaceIndex.glob(pattern)`` must equal ``sorted(p for p in paths if fnmatchcase(p, pattern))``
whatever the paths and the pattern, however the candidates were narrowed; ``segments=True`` must
equal an independent segment-aware matcher, in which ``*``, ``?`` and classes never cross a dot.
"""

from __future__ import annotations

import fnmatch
import itertools
from functools import cache

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xobj_prototype import NamespaceIndex
from xobj_prototype.namespace.glob import MAX_SPANS_BEFORE_STAR

# A tiny alphabet, so that random paths share prefixes, suffixes and segments with the patterns.
segment = st.from_regex(r"[ab_][ab\-]{0,2}", fullmatch=True)
path = st.lists(segment, min_size=1, max_size=5).map(".".join)
paths = st.lists(path, max_size=40, unique=True)

# fnmatch mode: anything fnmatch accepts, including unclosed "[" and stray "]" or "!".
FN_PIECES = [
    "a",
    "b",
    "-",
    "_",
    ".",
    "*",
    "**",
    "?",
    "[ab]",
    "[!a]",
    "[a-b]",
    "[.]",
    "[!.]",
    "[",
    "]",
    "!",
    "[]a]",
    "[z-a]",
    "ab",
    ".a",
    "b.",
]
fn_pattern = st.lists(st.sampled_from(FN_PIECES), min_size=1, max_size=8).map("".join)

# No deadline: a loaded CI machine must not turn a slow example into a failure.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(entries: list[str]) -> NamespaceIndex[int]:
    idx: NamespaceIndex[int] = NamespaceIndex()
    for i, p in enumerate(entries):
        idx.register(p, i)
    return idx


@PROPERTY
@given(paths, fn_pattern)
def test_glob_equals_linear_fnmatchcase(entries: list[str], pattern: str) -> None:
    idx = build(entries)
    assert idx.glob(pattern) == sorted(p for p in entries if fnmatch.fnmatchcase(p, pattern))


@PROPERTY
@given(paths, st.data())
def test_glob_of_a_registered_path_or_its_pieces(entries: list[str], data: st.DataObject) -> None:
    # Patterns derived from real paths hit the literal prefix/suffix/segment narrowing hardest.
    assume(entries)
    target = data.draw(st.sampled_from(entries))
    cut = data.draw(st.integers(0, len(target)))
    pattern = data.draw(
        st.sampled_from(
            [
                target,
                target[:cut] + "*",
                "*" + target[cut:],
                target[:cut] + "?" + target[cut + 1 :],
                "*." + target.rsplit(".", 1)[-1],
                target.split(".", 1)[0] + ".*." + target[cut:],
            ]
        )
    )
    assume(pattern)
    idx = build(entries)
    expected = sorted(p for p in entries if fnmatch.fnmatchcase(p, pattern))
    assert idx.glob(pattern) == expected


@PROPERTY
@given(st.lists(st.tuples(st.booleans(), path), max_size=60), fn_pattern)
def test_glob_stays_exact_across_registrations_and_removals(
    ops: list[tuple[bool, str]], pattern: str
) -> None:
    idx: NamespaceIndex[int] = NamespaceIndex()
    live: set[str] = set()
    for add, p in ops:
        if add:
            idx.register(p, 0, override=True)
            live.add(p)
        elif p in live:
            idx.unregister(p)
            live.discard(p)
    assert len(idx) == len(live)
    assert idx.glob(pattern) == sorted(p for p in live if fnmatch.fnmatchcase(p, pattern))


# -- segments=True ------------------------------------------------------------------------------
# Pieces as (text, token) pairs; the reference matcher reads the tokens, never the pattern text.
SEG_PIECES: list[tuple[str, tuple[object, ...]]] = [
    ("a", ("lit", "a")),
    ("b", ("lit", "b")),
    ("-", ("lit", "-")),
    (".", ("lit", ".")),
    ("*", ("star",)),
    ("**", ("span",)),
    ("?", ("any",)),
    ("[ab]", ("class", False, "ab")),
    ("[!a]", ("class", True, "a")),
    ("[a-b]", ("class", False, "ab")),
    ("[.]", ("class", False, ".")),
    ("[!.]", ("class", True, ".")),
]


def _normalize(
    pieces: list[tuple[str, tuple[object, ...]]],
) -> tuple[str, list[tuple[object, ...]]]:
    """Join the pieces; adjacent stars merge into one run, as they do in the pattern text."""
    tokens: list[tuple[object, ...]] = []
    for _, token in pieces:
        if token[0] in ("star", "span") and tokens and tokens[-1][0] in ("star", "span"):
            tokens[-1] = ("span",)  # "*" + "*" is "**"
        else:
            tokens.append(token)
    return "".join(text for text, _ in pieces), tokens


seg_pattern = st.lists(st.sampled_from(SEG_PIECES), min_size=1, max_size=8).map(_normalize)


def reference_segments_match(tokens: list[tuple[object, ...]], text: str) -> bool:
    @cache
    def m(i: int, j: int) -> bool:
        if i == len(tokens):
            return j == len(text)
        kind = tokens[i][0]
        here = text[j] if j < len(text) else None
        if kind == "star":  # any run of characters other than the dot
            return m(i + 1, j) or (here is not None and here != "." and m(i, j + 1))
        if kind == "span":  # any run of characters at all
            return m(i + 1, j) or (here is not None and m(i, j + 1))
        if here is None:
            return False
        if kind == "lit":
            return here == tokens[i][1] and m(i + 1, j + 1)
        if here == ".":  # "?" and classes stay inside a segment
            return False
        if kind == "any":
            return m(i + 1, j + 1)
        negate, chars = tokens[i][1], tokens[i][2]
        assert isinstance(chars, str)
        return ((here in chars) != negate) and m(i + 1, j + 1)

    return m(0, 0)


def _spans_before_star(tokens: list[tuple[object, ...]]) -> int:
    stars = [t[0] for t in tokens if t[0] in ("star", "span")]
    return sum(1 for a, b in itertools.pairwise(stars) if a == "span" and b == "star")


@PROPERTY
@given(paths, seg_pattern)
def test_segments_glob_equals_a_segment_aware_reference(
    entries: list[str], spelled: tuple[str, list[tuple[object, ...]]]
) -> None:
    pattern, tokens = spelled
    assume(_spans_before_star(tokens) <= MAX_SPANS_BEFORE_STAR)
    idx = build(entries)
    expected = sorted(p for p in entries if reference_segments_match(tokens, p))
    assert idx.glob(pattern, segments=True) == expected


@PROPERTY
@given(paths, seg_pattern)
def test_segments_single_star_never_crosses_a_dot(
    entries: list[str], spelled: tuple[str, list[tuple[object, ...]]]
) -> None:
    pattern, tokens = spelled
    assume(not any(t[0] == "span" for t in tokens))
    literal_dots = sum(1 for t in tokens if t == ("lit", "."))
    idx = build(entries)
    found = idx.glob(pattern, segments=True)
    # Without "**", only the pattern's literal dots can match dots: same depth, always.
    assert all(p.count(".") == literal_dots for p in found)
    # And segments=True only ever narrows the fnmatch answer.
    assert set(found) <= set(idx.glob(pattern))
