"""Limits of the query language: the bounds of a filter, and the error of a bounded ``$regex``.

:class:`FilterLimits` bounds what a hostile or runaway filter may ask (depth, conditions,
``$in`` values, pattern length, path segments, string length, the time of one ``$regex``
evaluation); a repository holds one (``limits=FilterLimits(...)``). A ``$regex`` evaluation
that runs past its bound stops the query with :class:`RegexBoundExceeded`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xrepo.errors import XRepoQueryError, XRepoValidationError

__all__ = ["DEFAULT_LIMITS", "FilterLimits", "RegexBoundExceeded"]


@dataclass(frozen=True, slots=True)
class FilterLimits:
    """Bounds that keep a hostile or runaway filter from exhausting the server or the process."""

    max_depth: int = 20
    max_conditions: int = 500
    max_in_values: int = 10_000
    max_regex_length: int = 500
    max_path_segments: int = 10
    max_string_length: int = 1_000_000
    #: Seconds one ``$regex`` evaluation (one pattern against one value) may take where xrepo
    #: evaluates patterns itself (memory, files, SQLite): :mod:`xrepo.compile`.
    regex_timeout: float = 1.0

    def __post_init__(self) -> None:
        timeout = self.regex_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise XRepoValidationError(
                f"FilterLimits.regex_timeout must be a positive number of seconds, got {timeout!r}"
            )


DEFAULT_LIMITS = FilterLimits()


class RegexBoundExceeded(XRepoQueryError):
    """A ``$regex`` evaluation ran past its time bound (an :class:`XRepoQueryError`).

    Attributes:
        field: the filtered field (``None`` where the evaluator does not know it).
        pattern: the pattern as the caller wrote it.
        bound: the time bound in seconds (``None`` for a database's own limit).
        limit: the database's own limit that stopped the pattern, described (MariaDB's PCRE2
            match limit), or ``None`` for xrepo's time bound.
    """

    def __init__(
        self,
        field: str | None,
        pattern: str,
        bound: float | None,
        *,
        limit: str | None = None,
        repo: str | None = None,
        operation: str | None = None,
    ) -> None:
        shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
        where = f" on field {field!r}" if field is not None else ""
        if limit is not None:
            what = f"exceeded {limit}"
            fix = "simplify the pattern (avoid nested quantifiers such as (a+)+)"
        else:
            what = f"took longer than its bound of {bound:g} s for one value"
            fix = (
                "simplify the pattern (avoid nested quantifiers such as (a+)+) or raise "
                "FilterLimits.regex_timeout"
            )
        super().__init__(
            f"$regex {shown!r}{where} {what} (catastrophic backtracking?); {fix}",
            repo=repo,
            operation=operation,
            details={"field": field, "bound": bound, "limit": limit},
        )
        self.field = field
        self.pattern = pattern
        self.bound = bound
        self.limit = limit

    def for_repo(self, repo: str, operation: str) -> RegexBoundExceeded:
        """The same error, naming the repository and the operation."""
        return RegexBoundExceeded(
            self.field,
            self.pattern,
            self.bound,
            limit=self.limit,
            repo=repo,
            operation=operation,
        )
