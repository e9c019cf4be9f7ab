"""``NamespaceIndex``: dot paths to objects, with exact, glob, prefix, indirect and fuzzy lookup.

Glob lookup does not scan every entry. The index keeps the paths sorted forwards and reversed, and
the set of paths holding each segment. What a pattern spells out literally narrows the candidates:
its literal prefix (``ns.functions.math.`` of ``ns.functions.math.*``) or suffix (``.add`` of
``*.add``) is one contiguous range found by bisection, a whole literal segment (``users`` of
``ns.*.users.*``) is one set lookup. Only the smallest of those candidate sets is matched against
the compiled pattern, and a pattern that is just a prefix or a suffix and a star is not matched at
all.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from sortedcontainers import SortedList

from xobj_prototype.errors import XConflictError, XNotFoundError, XValidationError
from xobj_prototype.namespace.glob import compile_glob, literal_segments, tokenize
from xobj_prototype.namespace.path import is_glob, validate_path, validate_pattern

__all__ = ["FuzzyMatch", "NamespaceIndex"]

V = TypeVar("V")
_TOP = "\U0010ffff"  # sorts after every character a path may hold
_SUGGEST_POOL = 2000  # paths looked at per level when suggesting alternatives to a missing path


class FuzzyMatch(tuple[str, float]):
    """``(path, score)`` with score in ``[0, 1]``; 1.0 is a substring hit."""

    __slots__ = ()

    @property
    def path(self) -> str:
        """The namespace path of the entry."""
        return self[0]

    @property
    def score(self) -> float:
        """How close the entry is to the search term, from 0 to 1."""
        return self[1]


def fuzzy_text_of(path: str, value: Any) -> str:
    """What fuzzy search reads for an entry: its path's words and the value's fuzzy text.

    The fuzzy text is ``value.get_fuzzy_text()`` for an instance that has one (an
    ``XObjPrototype``), the value itself for a string, nothing otherwise.
    """
    getter = getattr(value, "get_fuzzy_text", None)
    text = ""
    if callable(getter) and not isinstance(value, type):
        try:
            text = str(getter())
        except TypeError:  # a class-level attribute on a type, not a bound method
            text = ""
    elif isinstance(value, str):
        text = value
    return f"{path.replace('.', ' ')} {text}".lower()


def fuzzy_score(term: str, text: str) -> float:
    """Similarity of a lower-cased ``term`` to a lower-cased ``text``: substring, else best word."""
    if term in text:
        return 1.0
    best = 0.0
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(term)
    for word in text.split():
        matcher.set_seq1(word)
        if matcher.real_quick_ratio() <= best or matcher.quick_ratio() <= best:
            continue
        best = max(best, matcher.ratio())
    return best


class NamespaceIndex(Generic[V]):
    """An in-memory namespace: ``register`` objects under dot paths, find them again quickly.

    Paths are validated (:func:`~xobj_prototype.namespace.path.validate_path`); globs follow
    ``fnmatch`` (``*`` crosses dots) unless ``segments=True`` (``*`` stays in one segment, ``**``
    spans segments).

    Examples:
        >>> idx: NamespaceIndex[str] = NamespaceIndex()
        >>> idx.register("ns.functions.math.basic.add", "add")
        >>> idx.register("ns.functions.math.advanced.power", "power")
        >>> idx.glob("ns.functions.math.*")
        ['ns.functions.math.advanced.power', 'ns.functions.math.basic.add']
        >>> idx.glob("ns.functions.math.*", segments=True)
        []
        >>> idx.glob("ns.functions.math.*.add", segments=True)
        ['ns.functions.math.basic.add']
    """

    def __init__(self) -> None:
        self._entries: dict[str, V] = {}
        self._forward: SortedList = SortedList()
        self._reverse: SortedList = SortedList()  # each path reversed: suffixes become prefixes
        self._segments: dict[str, set[str]] = {}  # segment -> the paths that hold it
        self._indirect: dict[str, str] = {}
        self._fuzzy: dict[str, str] = {}

    # -- registration -------------------------------------------------------------------------
    def register(self, path: str, value: V, *, override: bool = False) -> None:
        """Store ``value`` under ``path``.

        Raises:
            XValidationError: ``path`` is not a well-formed dot path.
            XConflictError: ``path`` is taken and ``override`` is false.
        """
        validate_path(path)
        if path in self._entries and not override:
            raise XConflictError(
                f"namespace path {path!r} is already registered; pass override=True to "
                "replace it, or unregister it first",
                details={"path": path},
            )
        # Read the value first: if its get_fuzzy_text() fails, the index must be left untouched.
        fuzzy = fuzzy_text_of(path, value)
        if path not in self._entries:
            self._forward.add(path)
            self._reverse.add(path[::-1])
            for segment in set(path.split(".")):
                self._segments.setdefault(segment, set()).add(path)
        self._entries[path] = value
        self._fuzzy[path] = fuzzy

    def unregister(self, path: str) -> V:
        """Remove ``path`` and every indirect key pointing at it; return the removed value.

        Raises:
            XNotFoundError: nothing is registered at ``path``.
        """
        value = self.get(path)
        del self._entries[path]
        del self._fuzzy[path]
        self._forward.remove(path)
        self._reverse.remove(path[::-1])
        for segment in set(path.split(".")):
            holders = self._segments[segment]
            holders.discard(path)
            if not holders:
                del self._segments[segment]
        for key in [k for k, p in self._indirect.items() if p == path]:
            del self._indirect[key]
        return value

    def register_indirect(self, key: str, path: str) -> None:
        """Make ``key`` (an id, an alias) resolve to ``path``, which must be registered.

        Registering a key again points it at the new path. Unregistering the path drops the key.
        """
        if not isinstance(key, str) or not key.strip():
            raise XValidationError(
                f"indirect key must be a non-empty string, got {type(key).__name__}"
            )
        validate_path(path)
        if path not in self._entries:
            raise self._not_found(path)
        self._indirect[key] = path

    # -- lookup -------------------------------------------------------------------------------
    def get(self, path: str) -> V:
        """The object at ``path``.

        Raises:
            XValidationError: ``path`` is not a well-formed dot path.
            XNotFoundError: nothing is registered there; the message suggests the closest paths.
        """
        try:
            return self._entries[path]
        except (KeyError, TypeError):
            validate_path(path)
            raise self._not_found(path) from None

    def lookup(self, path: str, default: V | None = None) -> V | None:
        """The object at ``path``, or ``default``: the lenient probe, which never raises.

        Anything that is not a registered path, a malformed one or a non-string included, gives
        ``default``; use :meth:`get` for an error that says what is wrong.
        """
        try:
            return self._entries.get(path, default)
        except TypeError:  # unhashable: certainly not a registered path
            return default

    def resolve(self, key: str) -> str:
        """The path an indirect ``key`` points at.

        Raises:
            XNotFoundError: no path is registered for ``key``.
        """
        if not isinstance(key, str):
            raise XValidationError(f"indirect key must be a string, got {type(key).__name__}")
        try:
            return self._indirect[key]
        except KeyError:
            raise XNotFoundError(
                f"no namespace entry is registered under the key {key!r}; register it with "
                "register_indirect(key, path)",
                details={"key": key},
            ) from None

    def get_by_key(self, key: str) -> V:
        """The object an indirect ``key`` points at."""
        return self._entries[self.resolve(key)]

    def glob(self, pattern: str, *, segments: bool = False) -> list[str]:
        """Sorted paths matching ``pattern``.

        ``fnmatch`` semantics by default: ``ns.functions.math.*`` finds
        ``ns.functions.math.basic.add``. With ``segments=True``, ``*``, ``?`` and ``[...]`` never
        match a dot and ``**`` matches across segments. A pattern without wildcards is an exact
        lookup.

        Raises:
            XValidationError: ``pattern`` is not a string, is empty, too long or holds whitespace.
        """
        validate_pattern(pattern)
        if not is_glob(pattern):
            return [pattern] if pattern in self._entries else []
        regex = compile_glob(pattern, segments)
        tokens = tokenize(pattern)

        def spans(token: tuple[bool, str]) -> bool:  # a star that may match any text at all
            return token[0] and token[1][0] == "*" and (not segments or len(token[1]) > 1)

        # Shapes that need no matching: "*", "<prefix>*", "*<suffix>".
        if len(tokens) == 1 and spans(tokens[0]):
            return list(self._forward)
        if len(tokens) == 2 and not tokens[0][0] and spans(tokens[1]):
            return list(self._prefixed(tokens[0][1]))
        if len(tokens) == 2 and spans(tokens[0]) and not tokens[1][0]:
            return sorted(self._suffixed(tokens[1][1]))

        candidates, ordered = self._candidates(pattern, tokens)
        match = regex.match
        hits = [p for p in candidates if match(p)]
        return hits if ordered else sorted(hits)

    def items(self, pattern: str = "*", *, segments: bool = False) -> list[tuple[str, V]]:
        """``(path, object)`` pairs matching ``pattern``, sorted by path."""
        return [(p, self._entries[p]) for p in self.glob(pattern, segments=segments)]

    def list_prefix(self, prefix: str) -> list[str]:
        """Every path below ``prefix``, sorted.

        Segment-aligned: ``ns.model`` does not list ``ns.models.x``, and ``prefix`` itself is not
        listed.
        """
        validate_path(prefix)
        return list(self._prefixed(prefix + "."))

    def children(self, prefix: str) -> list[str]:
        """The distinct next segments below ``prefix``, sorted: a namespace browser's folders."""
        depth = prefix.count(".") + 1 if isinstance(prefix, str) else 0
        return sorted({p.split(".")[depth] for p in self.list_prefix(prefix)})

    def fuzzy_search(
        self, term: str, pattern: str = "*", *, limit: int = 10, cutoff: float = 0.6
    ) -> list[FuzzyMatch]:
        """Entries whose path or fuzzy text resembles ``term``, best first (ties by path).

        A substring hit (case-insensitive) scores 1.0; otherwise the score is the best
        ``difflib`` ratio of ``term`` against one word of the entry, kept when at least ``cutoff``.
        ``pattern`` (a glob) restricts the entries searched.

        Raises:
            XValidationError: an empty term, a ``limit`` below 1, a ``cutoff`` outside ``[0, 1]``
                or a bad pattern.
        """
        if not isinstance(term, str) or not term.strip():
            raise XValidationError("fuzzy search term must be a non-empty string")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise XValidationError(f"fuzzy search limit must be an integer >= 1, got {limit!r}")
        if (
            isinstance(cutoff, bool)
            or not isinstance(cutoff, int | float)
            or not 0.0 <= cutoff <= 1.0
        ):
            raise XValidationError(
                f"fuzzy search cutoff must be a number between 0 and 1, got {cutoff!r}"
            )
        needle = term.strip().lower()
        paths: Iterable[str] = self._entries if pattern == "*" else self.glob(pattern)
        hits = []
        for path in paths:
            score = fuzzy_score(needle, self._fuzzy[path])
            if score >= cutoff:
                hits.append(FuzzyMatch((path, score)))
        hits.sort(key=lambda m: (-m.score, m.path))
        return hits[:limit]

    # -- container protocol -------------------------------------------------------------------
    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and path in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        """The registered paths, sorted."""
        return iter(self._forward)

    def __repr__(self) -> str:
        # Values may hold secrets: the repr shows how many entries there are, never what they are.
        return f"{type(self).__name__}({len(self)} entries)"

    # -- internals ----------------------------------------------------------------------------
    def _prefixed(self, prefix: str) -> Iterator[str]:
        """Paths starting with ``prefix``, in order."""
        fwd = self._forward
        return fwd.islice(fwd.bisect_left(prefix), fwd.bisect_left(prefix + _TOP))  # type: ignore[no-any-return]

    def _suffixed(self, suffix: str) -> Iterator[str]:
        """Paths ending with ``suffix``, in the order of their reversed text."""
        rev, rsuffix = self._reverse, suffix[::-1]
        lo, hi = rev.bisect_left(rsuffix), rev.bisect_left(rsuffix + _TOP)
        return (r[::-1] for r in rev.islice(lo, hi))

    def _candidates(
        self, pattern: str, tokens: tuple[tuple[bool, str], ...]
    ) -> tuple[Iterable[str], bool]:
        """The smallest set of paths that holds every match, and whether it is sorted.

        Three sources, each a necessary condition of a match: the paths starting with the literal
        prefix, those ending with the literal suffix, those holding a whole literal segment.
        """
        fwd = self._forward
        prefix = tokens[0][1] if not tokens[0][0] else ""
        lo, hi = fwd.bisect_left(prefix), fwd.bisect_left(prefix + _TOP)
        best: tuple[Iterable[str], bool] = (fwd.islice(lo, hi), True)
        size = hi - lo
        suffix = tokens[-1][1] if not tokens[-1][0] else ""
        if suffix:
            rev, rsuffix = self._reverse, suffix[::-1]
            rlo, rhi = rev.bisect_left(rsuffix), rev.bisect_left(rsuffix + _TOP)
            if rhi - rlo < size:
                size = rhi - rlo
                best = ((r[::-1] for r in rev.islice(rlo, rhi)), False)
        for segment in literal_segments(pattern):
            holders = self._segments.get(segment)
            if not holders:
                return (), True
            if len(holders) < size:
                size = len(holders)
                best = (holders, False)
        return best

    def _not_found(self, path: str) -> XNotFoundError:
        """``XNotFoundError`` for ``path``, suggesting the closest paths of the nearest level up."""
        close: list[str] = []
        parent = path
        while not close and "." in parent:
            parent = parent.rpartition(".")[0]
            pool = itertools.islice(self._prefixed(parent + "."), _SUGGEST_POOL)
            close = difflib.get_close_matches(path, pool, n=3)
        if not close:
            close = difflib.get_close_matches(path, itertools.islice(self, _SUGGEST_POOL), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; nothing similar is registered"
        return XNotFoundError(
            f"nothing is registered at namespace path {path!r}{hint}",
            details={"path": path, "suggestions": close},
        )
