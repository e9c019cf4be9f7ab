"""Validation of namespace paths (``ns.models.user.User``) and glob patterns."""

from __future__ import annotations

import re

from xobj_prototype.errors import XValidationError

__all__ = [
    "GLOB_CHARS",
    "MAX_PATH_LENGTH",
    "is_glob",
    "segment_for",
    "validate_path",
    "validate_pattern",
]

MAX_PATH_LENGTH = 512
GLOB_CHARS = frozenset("*?[")
# A segment is an identifier-like word of any script (``Käufer``, ``заказы``: table and collection
# names are not ASCII everywhere); hyphens are allowed for names that come from outside Python
# (table names, package names), but never at the start.
_SEGMENT = re.compile(r"\w[\w\-]*")
# What segment_for replaces: anything a segment may not hold.
_NOT_SEGMENT = re.compile(r"[^\w\-]+")


def is_glob(text: str) -> bool:
    """Whether ``text`` contains an ``fnmatch`` wildcard."""
    return any(c in GLOB_CHARS for c in text)


def segment_for(text: str) -> str:
    """A namespace segment for an outside name: a table ``order items``, a collection
    ``logs.2024``, a file ``Käufer (alt).csv``. Letters of any script are kept; each run of other
    characters becomes ``_``.

    >>> segment_for("order items"), segment_for("logs.2024"), segment_for(" Käufer ")
    ('order_items', 'logs_2024', 'Käufer')
    """
    cleaned = _NOT_SEGMENT.sub("_", text.strip()).strip("_") or "unnamed"
    return cleaned if cleaned[0] != "-" else "_" + cleaned


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
