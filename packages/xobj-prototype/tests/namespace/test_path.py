"""Validation of namespace paths and glob patterns."""

from __future__ import annotations

import pytest

from xobj_prototype import XValidationError, validate_path, validate_pattern
from xobj_prototype.namespace.path import MAX_PATH_LENGTH, is_glob


@pytest.mark.parametrize(
    "path",
    [
        "ns",
        "ns.functions.math.add",
        "ns.models.user_profile.UserProfile",
        "ns.tables.order-items",
        "ns.v2.x1",
        "ns.1st",
        "ns.models.mödels.模型",
        "_private.x",
        "a" * MAX_PATH_LENGTH,
    ],
)
def test_valid_paths_are_returned_unchanged(path: str) -> None:
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "empty"),
        (".ns.models", "empty segment at position 0"),
        ("ns.models.", "empty segment at position 2"),
        ("ns..models", "empty segment at position 1"),
        (".", "empty segment"),
        ("ns.my models", "segment 'my models'"),
        (" ns.models", "segment ' ns'"),
        ("ns.models\n", "segment 'models\\n'"),
        ("ns.-models", "segment '-models'"),
        ("ns.models.*", "segment '*'"),
        ("ns.mö·dels", "segment 'mö·dels'"),
        ("ns.模\u200b型", "segment"),
        ("ns.models/user", "segment 'models/user'"),
        ("ns.a\x00b", "segment"),
        ("ns.a'; DROP TABLE users; --", "segment"),
    ],
)
def test_malformed_paths_are_rejected_with_a_message_naming_the_problem(
    path: str, fragment: str
) -> None:
    with pytest.raises(XValidationError) as info:
        validate_path(path)
    assert fragment in str(info.value)


def test_a_path_one_character_too_long_is_rejected_with_the_limit() -> None:
    with pytest.raises(XValidationError, match=f"limit is {MAX_PATH_LENGTH}"):
        validate_path("a" * (MAX_PATH_LENGTH + 1))


@pytest.mark.parametrize("path", [None, 42, 4.2, b"ns.models", ["ns"], ("ns",), {"ns": 1}])
def test_non_string_paths_are_rejected_naming_the_type(path: object) -> None:
    with pytest.raises(XValidationError, match=f"got {type(path).__name__}"):
        validate_path(path)


def test_validation_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        validate_path("")


@pytest.mark.parametrize(
    "pattern", ["*", "ns.*", "*.add", "ns.functions.?dd", "ns.[abc]*", "ns.[!a]", "ns.[", "**"]
)
def test_valid_patterns_are_returned_unchanged(pattern: str) -> None:
    assert validate_pattern(pattern) == pattern


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("", "empty"),
        ("ns.* ", "whitespace"),
        ("ns.\t*", "whitespace"),
        ("ns.*\n", "whitespace"),
        ("ns.\x1b[31m*", "control"),
        ("*" * (MAX_PATH_LENGTH + 1), "limit is"),
    ],
)
def test_malformed_patterns_are_rejected(pattern: str, fragment: str) -> None:
    with pytest.raises(XValidationError, match=fragment):
        validate_pattern(pattern)


@pytest.mark.parametrize("pattern", [None, 1, b"ns.*", ["ns.*"]])
def test_non_string_patterns_are_rejected(pattern: object) -> None:
    with pytest.raises(XValidationError, match="must be a string"):
        validate_pattern(pattern)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ns.a", False), ("ns.*", True), ("ns.a?", True), ("ns.[ab]", True), ("ns.a]", False)],
)
def test_is_glob_detects_fnmatch_wildcards(text: str, expected: bool) -> None:
    assert is_glob(text) is expected
