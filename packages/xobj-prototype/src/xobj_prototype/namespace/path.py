"""Validation of namespace paths (``ns.models.user.User``) and glob patterns."""

from __future__ import annotations

import re

from xobj_prototype.errors import XValidationError

__all__ = ["GLOB_CHARS", "MAX_PATH_LENGTH", "is_glob", "validate_path", "validate_pattern"]

MAX_PATH_LENGTH = 512
GLOB_CHARS = frozenset("*?[")
# A segment is an identifier-like word; hyphens are allowed for names that come from outside
# Python (table names, package names), but never at the start.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")


def is_glob(text: str) -> bool:
    """Whether ``text`` contains an ``fnmatch`` wildcard."""
    return any(c in GLOB_CHARS for c in text)


def validate_path(path: object) -> str:
    """Return ``path`` when it is a well-formed dot path, else raise ``XValidationError``.

    >>> validate_path("ns.functions.math.add")
    'ns.functions.math.add'
    """
    if not isinstance(path, str):
        raise XValidationError(f"namespace path must be a string, got {type(path).__name__}")
    if not path:
        raise XValidationError("namespace path is empty")
    if len(path) > MAX_PATH_LENGTH:
        raise XValidationError(
            f"namespace path is {len(path)} characters long; the limit is {MAX_PATH_LENGTH}"
        )
    for i, segment in enumerate(path.split(".")):
        if not segment:
            raise XValidationError(
                f"namespace path {path!r} has an empty segment at position {i} "
                "(leading, trailing or doubled dot)"
            )
        if not _SEGMENT.fullmatch(segment):
            raise XValidationError(
                f"namespace path {path!r}: segment {segment!r} may hold only letters, digits, "
                "'_' and '-' (not first)"
            )
    return path


def validate_pattern(pattern: object) -> str:
    """Return ``pattern`` when it is a usable glob (``fnmatch`` syntax), else raise."""
    if not isinstance(pattern, str):
        raise XValidationError(f"namespace pattern must be a string, got {type(pattern).__name__}")
    if not pattern:
        raise XValidationError("namespace pattern is empty")
    if len(pattern) > MAX_PATH_LENGTH:
        raise XValidationError(
            f"namespace pattern is {len(pattern)} characters long; the limit is {MAX_PATH_LENGTH}"
        )
    if any(c.isspace() or not c.isprintable() for c in pattern):
        raise XValidationError(
            f"namespace pattern {pattern!r} contains whitespace or control characters"
        )
    return pattern
