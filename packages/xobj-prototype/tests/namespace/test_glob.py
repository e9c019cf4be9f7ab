"""Glob semantics: ``fnmatch`` by default, a segment-bounded spelling with ``segments=True``."""

from __future__ import annotations

import fnmatch

import pytest

from xobj_prototype import NamespaceIndex, XValidationError, compile_glob
from xobj_prototype.namespace.glob import (
    MAX_SPANS_BEFORE_STAR,
    literal_prefix,
    literal_segments,
    literal_suffix,
    tokenize,
)


def linear(paths: tuple[str, ...], pattern: str) -> list[str]:
    return sorted(p for p in paths if fnmatch.fnmatchcase(p, pattern))


# -- NamespaceIndex.glob, fnmatch semantics ---------------------------------------------------
def test_star_crosses_dots_as_the_registry_tests_expect(index: NamespaceIndex[str]) -> None:
    found = index.glob("ns.functions.math.*")
    assert "ns.functions.math.basic.add" in found
    assert "ns.functions.math.advanced.power" in found
    # "math." is literal: the sibling namespace "mathematics" is not below "math".
    assert "ns.functions.mathematics.add" not in found
    assert found == [
        "ns.functions.math.advanced.power",
        "ns.functions.math.basic.add",
        "ns.functions.math.basic.subtract",
    ]


def test_perf_prefix_glob_does_not_leak_into_a_longer_sibling(index: NamespaceIndex[str]) -> None:
    assert index.glob("ns.functions.perf.test5.*") == [
        "ns.functions.perf.test5.func_1",
        "ns.functions.perf.test5.func_2",
    ]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "*.add",
            [
                "ns.functions.math.basic.add",
                "ns.functions.mathematics.add",
                "ns.functions.text.format.add",
            ],
        ),
        ("*User", ["ns.models.user.User", "ns.models.users.User"]),
        ("*", None),
        ("**", None),
        ("*.*.*.*.*", None),
        ("ns.models.user?.User", ["ns.models.users.User"]),
        ("ns.models.user.Use?", ["ns.models.user.User"]),
        ("ns.functions.perf.test?.func_1", ["ns.functions.perf.test5.func_1"]),
        ("ns.functions.perf.test??.func_1", ["ns.functions.perf.test50.func_1"]),
        ("ns.types.geo.[CZ]*", ["ns.types.geo.Coord", "ns.types.geo.Zip"]),
        ("ns.types.geo.[!C]*", ["ns.types.geo.Zip"]),
        ("ns.types.geo.[A-D]oord", ["ns.types.geo.Coord"]),
        # fnmatch reads "^" literally: the class is {"^", "C"}, not a negation.
        ("ns.types.geo.[^C]*", ["ns.types.geo.Coord"]),
        ("ns.*.geo.*", ["ns.types.geo.Coord", "ns.types.geo.Zip"]),
        (
            "ns.functions.*.add",
            [
                "ns.functions.math.basic.add",
                "ns.functions.mathematics.add",
                "ns.functions.text.format.add",
            ],
        ),
        ("ns.models.*.Order", ["ns.models.shop.orders.Order"]),
        (
            "*.math.*",
            [
                "ns.functions.math.advanced.power",
                "ns.functions.math.basic.add",
                "ns.functions.math.basic.subtract",
            ],
        ),
        ("*math*", None),
        ("ns.functions.math.basic.add", ["ns.functions.math.basic.add"]),
        ("ns.functions.math.basic.nope", []),
        ("ns.functions.math", []),  # no wildcard: exact, and "math" itself is not registered
        ("ns.[", []),  # an unclosed "[" is a literal, as in fnmatch
        ("nope.*", []),
        ("*.nope", []),
        ("ns.*.nope.*", []),
        ("NS.*", []),  # case-sensitive
    ],
)
def test_glob_equals_a_linear_fnmatchcase_scan(
    index: NamespaceIndex[str],
    registry_paths: tuple[str, ...],
    pattern: str,
    expected: list[str] | None,
) -> None:
    reference = linear(registry_paths, pattern)
    if expected is not None:
        assert reference == sorted(expected)
    assert index.glob(pattern) == reference


def test_star_alone_lists_every_path_sorted(
    index: NamespaceIndex[str], registry_paths: tuple[str, ...]
) -> None:
    assert index.glob("*") == sorted(registry_paths)
    assert list(index) == sorted(registry_paths)


def test_glob_without_wildcard_is_an_exact_lookup(index: NamespaceIndex[str]) -> None:
    assert index.glob("ns.models.user.User") == ["ns.models.user.User"]
    assert index.glob("ns.models.user") == []


def test_glob_on_an_empty_index_finds_nothing() -> None:
    empty: NamespaceIndex[int] = NamespaceIndex()
    assert empty.glob("*") == []
    assert empty.glob("ns.*.x") == []
    assert empty.glob("*.x") == []


def test_glob_sees_registrations_and_removals(index: NamespaceIndex[str]) -> None:
    index.register("ns.functions.math.basic.multiply", "multiply")
    assert "ns.functions.math.basic.multiply" in index.glob("ns.functions.*.basic.*")
    assert "ns.functions.math.basic.multiply" in index.glob("*.multiply")
    index.unregister("ns.functions.math.basic.multiply")
    assert index.glob("*.multiply") == []
    assert index.glob("ns.*.basic.multiply") == []


@pytest.mark.parametrize("pattern", ["", " ", "ns.* ", "ns.\n*", None, 3, ["*"]])
def test_glob_rejects_bad_patterns(index: NamespaceIndex[str], pattern: object) -> None:
    with pytest.raises(XValidationError):
        index.glob(pattern)  # type: ignore[arg-type]


# -- segments=True ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ns.functions.math.*", []),
        (
            "ns.functions.math.*.*",
            [
                "ns.functions.math.advanced.power",
                "ns.functions.math.basic.add",
                "ns.functions.math.basic.subtract",
            ],
        ),
        (
            "ns.functions.math.**",
            [
                "ns.functions.math.advanced.power",
                "ns.functions.math.basic.add",
                "ns.functions.math.basic.subtract",
            ],
        ),
        ("ns.functions.*.add", ["ns.functions.mathematics.add"]),
        # "**" spans one or more segments here: the literal dots around it stay required.
        (
            "ns.functions.**.add",
            [
                "ns.functions.math.basic.add",
                "ns.functions.mathematics.add",
                "ns.functions.text.format.add",
            ],
        ),
        (
            "**.add",
            [
                "ns.functions.math.basic.add",
                "ns.functions.mathematics.add",
                "ns.functions.text.format.add",
            ],
        ),
        ("*.add", []),
        ("ns.models.*.User", ["ns.models.user.User", "ns.models.users.User"]),
        ("ns.models.user?User", []),  # "?" does not match the dot
        ("ns.models.user[.]User", []),  # nor does a class
        ("ns.models.user[!a]User", []),
        ("ns.types.geo.[CZ]*", ["ns.types.geo.Coord", "ns.types.geo.Zip"]),
        ("*", []),
        ("**", None),
    ],
)
def test_segments_mode_keeps_single_wildcards_inside_a_segment(
    index: NamespaceIndex[str],
    registry_paths: tuple[str, ...],
    pattern: str,
    expected: list[str] | None,
) -> None:
    found = index.glob(pattern, segments=True)
    assert found == (sorted(registry_paths) if expected is None else expected)


def test_registry_document_example_in_both_spellings(index: NamespaceIndex[str]) -> None:
    everything = index.glob("ns.functions.math.*")
    one_level = index.glob("ns.functions.math.*", segments=True)
    two_levels = index.glob("ns.functions.math.*.*", segments=True)
    assert one_level == []
    assert two_levels == everything


# -- compile_glob -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "path", "fn", "seg"),
    [
        ("a.*", "a.b.c", True, False),
        ("a.*", "a.b", True, True),
        ("a.**", "a.b.c", True, True),
        ("a?c", "a.c", True, False),
        ("a[.]c", "a.c", True, False),
        ("a[!x]c", "a.c", True, False),
        ("a[!x]c", "abc", True, True),
        ("a*b*c", "a.b.c", True, False),
        ("a*b*c", "axbyc", True, True),
        ("**.c", "c", False, False),  # "**" spans characters, the literal dot stays required
        ("a.**.c", "a.c", False, False),
        ("a.**.c", "a.b.x.c", True, True),
        ("[a-c]x", "bx", True, True),
        ("[z-a]x", "bx", False, False),  # an empty range matches nothing, as in fnmatch
        ("[]]x", "]x", True, True),
        ("[!]]x", "ax", True, True),
        ("a\\b", "a\\b", True, True),
        ("a+b", "a+b", True, True),
        ("a(b", "a(b", True, True),
    ],
)
def test_compile_glob_in_both_modes(pattern: str, path: str, fn: bool, seg: bool) -> None:
    assert bool(compile_glob(pattern).match(path)) is fn
    assert fnmatch.fnmatchcase(path, pattern) is fn
    assert bool(compile_glob(pattern, segments=True).match(path)) is seg


def test_compile_glob_matches_the_whole_path_not_a_prefix() -> None:
    assert compile_glob("ns.a").match("ns.ab") is None
    assert compile_glob("ns.a", segments=True).match("ns.ab") is None
    assert compile_glob("ns.a*", segments=True).match("ns.ab.c") is None


def test_compile_glob_is_cached() -> None:
    assert compile_glob("ns.cached.*") is compile_glob("ns.cached.*")
    assert compile_glob("ns.cached.*") is not compile_glob("ns.cached.*", segments=True)


@pytest.mark.parametrize("pattern", [None, 1, b"*"])
def test_compile_glob_rejects_non_strings(pattern: object) -> None:
    with pytest.raises(XValidationError, match="must be a string"):
        compile_glob(pattern)  # type: ignore[arg-type]


def test_segments_pattern_with_too_many_spans_before_stars_is_rejected() -> None:
    allowed = "**.a*.b" * MAX_SPANS_BEFORE_STAR
    assert compile_glob(allowed, segments=True).match("x.a.b" * MAX_SPANS_BEFORE_STAR)
    with pytest.raises(XValidationError, match=r"has 3 '\*\*' wildcards followed by"):
        compile_glob("**.a*.b" * (MAX_SPANS_BEFORE_STAR + 1), segments=True)
    # A "**" followed by another "**" costs nothing: no limit on those.
    assert compile_glob("**.a**.b" * 10, segments=True).match("x.a.y.b" * 10)
    # The fnmatch spelling has no such limit: its regex never backtracks badly.
    assert compile_glob("**.a*.b" * (MAX_SPANS_BEFORE_STAR + 1)).match("x.a.b" * 3)


@pytest.mark.parametrize("segments", [False, True])
@pytest.mark.parametrize(
    ("pattern", "miss", "hit"),
    [
        ("*a" * 6 + "*b", "a" * 60, "a" * 60 + "b"),
        ("*a*a*a*a*a*a.b", "a" * 30 + "." + "a" * 30, "a" * 30 + ".b"),
        ("**a*a**a*a*b", ".".join(["aaa"] * 20), ".".join(["aaa"] * 20) + "b"),
        ("?" * 10 + "*a*a*a*b", "a" * 60, "a" * 60 + "b"),
    ],
)
def test_hostile_patterns_give_the_right_answer(
    segments: bool, pattern: str, miss: str, hit: str
) -> None:
    regex = compile_glob(pattern, segments=segments)
    assert regex.match(miss) is None
    assert regex.match(hit) is not None
    assert fnmatch.fnmatchcase(hit, pattern)


@pytest.mark.parametrize(
    ("pattern", "atomic"),
    [
        ("*a*a*a*a*b", 4),  # every star but the last commits to its first fit
        ("**a**a**b", 2),
        ("**a*b", 1),  # "**" before "*": whole segments, then an atomic segment star
        ("ns.*", 0),
        ("ns.?", 0),
    ],
)
def test_segments_regex_has_no_backtracking_star_chains(pattern: str, atomic: int) -> None:
    # Structure, not timing: a chain of plain stars backtracks polynomially (minutes on a
    # 500-character path); each star but the last must sit in an atomic group.
    source = compile_glob(pattern, segments=True).pattern
    assert source.count("(?>") == atomic
    assert source.count("*") - source.count("*?") <= 1 + source.count("(?:.*\\.)?")


# -- what every match must contain ------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "tokens"),
    [
        ("ns.*", ((False, "ns."), (True, "*"))),
        ("**.a", ((True, "**"), (False, ".a"))),
        ("a?[bc]", ((False, "a"), (True, "?"), (True, "[bc]"))),
        ("a[!]]b", ((False, "a"), (True, "[!]]"), (False, "b"))),
        ("a[b", ((False, "a[b"),)),
        ("a[!]", ((False, "a[!]"),)),
        ("", ()),
    ],
)
def test_tokenize_reads_brackets_like_fnmatch(
    pattern: str, tokens: tuple[tuple[bool, str], ...]
) -> None:
    assert tokenize(pattern) == tokens


@pytest.mark.parametrize(
    ("pattern", "prefix", "suffix", "segments"),
    [
        ("ns.functions.math.*", "ns.functions.math.", "", ["ns", "functions", "math"]),
        ("*.add", "", ".add", ["add"]),
        ("ns.*.users.*", "ns.", "", ["ns", "users"]),
        (
            "ns.functions.text.*.format_?ate",
            "ns.functions.text.",
            "ate",
            ["ns", "functions", "text"],
        ),
        ("ns.x[ab]y.*", "ns.x", "", ["ns"]),
        ("a[]]b", "a", "b", []),
        (
            "ns.models.user.User",
            "ns.models.user.User",
            "ns.models.user.User",
            ["ns", "models", "user", "User"],
        ),
        ("*", "", "", []),
    ],
)
def test_literal_parts_of_a_pattern(
    pattern: str, prefix: str, suffix: str, segments: list[str]
) -> None:
    assert literal_prefix(pattern) == prefix
    assert literal_suffix(pattern) == suffix
    assert literal_segments(pattern) == segments
