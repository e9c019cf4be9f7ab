"""``NamespaceIndex``: dot paths to objects, with exact, glob, prefix, indirect and fuzzy lookup.

Glob lookup does not scan every entry: the index keeps the paths sorted forwards and reversed, so
the literal prefix (``ns.functions.math.`` of ``ns.functions.math.*``) or the literal suffix
(``.add`` of ``*.add``) of a pattern narrows the candidates to one contiguous range found by
bisection; only that range is matched against the compiled pattern.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from sortedcontainers import SortedList

from xobj_prototype.errors import XConflictError, XNotFoundError, XValidationError
from xobj_prototype.namespace.glob import compile_glob, literal_prefix, literal_suffix
from xobj_prototype.namespace.path import is_glob, validate_path, validate_pattern

__all__ = ["FuzzyMatch", "NamespaceIndex"]

V = TypeVar("V")
_TOP = "\U0010ffff"  # sorts after every character a path may hold


class FuzzyMatch(tuple[str, float]):
    """``(path, score)`` with score in ``[0, 1]``; 1.0 is a substring hit."""

    __slots__ = ()

    @property
    def path(self) -> str:
        return self[0]

    @property
    def score(self) -> float:
        return self[1]


def fuzzy_text_of(path: str, value: Any) -> str:
    """What fuzzy search reads for an entry: the value's fuzzy text (or the string it is) and path."""
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

    Example:
        >>> idx: NamespaceIndex[str] = NamespaceIndex()
        >>> idx.register("ns.functions.math.basic.add", "add")
        >>> idx.register("ns.functions.math.advanced.power", "power")
        >>> idx.glob("ns.functions.math.*")
        ['ns.functions.math.advanced.power', 'ns.functions.math.basic.add']
        >>> idx.glob("ns.functions.math.*", segments=True)
        []
    """

    def __init__(self) -> None:
        self._entries: dict[str, V] = {}
        self._forward: SortedList = SortedList()
        self._reverse: SortedList = SortedList()
        self._indirect: dict[str, str] = {}
        self._fuzzy: dict[str, str] = {}

    # -- registration -------------------------------------------------------------------------
    def register(self, path: str, value: V, *, override: bool = False) -> None:
        """Store ``value`` under ``path``; an existing path is an ``XConflictError`` unless
        ``override=True``."""
        validate_path(path)
        if path in self._entries:
            if not override:
                raise XConflictError(
                    f"namespace path {path!r} is already registered; pass override=True to "
                    "replace it", details={"path": path})
        else:
            self._forward.add(path)
            self._reverse.add(path[::-1])
        self._entries[path] = value
        self._fuzzy[path] = fuzzy_text_of(path, value)

    def unregister(self, path: str) -> V:
        """Remove ``path`` and every indirect key pointing at it; return the removed value."""
        value = self.get(path)
        del self._entries[path]
        del self._fuzzy[path]
        self._forward.remove(path)
        self._reverse.remove(path[::-1])
        for key in [k for k, p in self._indirect.items() if p == path]:
            del self._indirect[key]
        return value

    def register_indirect(self, key: str, path: str) -> None:
        """Make ``key`` (an id, an alias) resolve to ``path``, which must be registered."""
        if not isinstance(key, str) or not key:
            raise XValidationError("indirect key must be a non-empty string")
        if path not in self._entries:
            raise self._not_found(validate_path(path))
        self._indirect[key] = path

    # -- lookup -------------------------------------------------------------------------------
    def get(self, path: str) -> V:
        """The object at ``path``; ``XNotFoundError`` (with the closest paths) when absent."""
        try:
            return self._entries[path]
        except (KeyError, TypeError):
            validate_path(path)
            raise self._not_found(path) from None

    def lookup(self, path: str, default: V | None = None) -> V | None:
        """The object at ``path``, or ``default``."""
        return self._entries.get(path, default)

    def resolve(self, key: str) -> str:
        """The path an indirect ``key`` points at."""
        try:
            return self._indirect[key]
        except (KeyError, TypeError):
            raise XNotFoundError(f"no namespace entry is registered under the key {key!r}",
                                 details={"key": str(key)}) from None

    def get_by_key(self, key: str) -> V:
        """The object an indirect ``key`` points at."""
        return self._entries[self.resolve(key)]

    def glob(self, pattern: str, *, segments: bool = False) -> list[str]:
        """Sorted paths matching ``pattern`` (``fnmatch`` semantics; see :mod:`.glob`)."""
        validate_pattern(pattern)
        if not is_glob(pattern):
            return [pattern] if pattern in self._entries else []
        regex = compile_glob(pattern, segments)
        candidates = self._candidates(literal_prefix(pattern), literal_suffix(pattern))
        return sorted(p for p in candidates if regex.match(p))

    def items(self, pattern: str = "*", *, segments: bool = False) -> list[tuple[str, V]]:
        """``(path, object)`` pairs matching ``pattern``, sorted by path."""
        return [(p, self._entries[p]) for p in self.glob(pattern, segments=segments)]

    def list_prefix(self, prefix: str) -> list[str]:
        """Every path below ``prefix`` (segment-aligned: ``ns.model`` does not list ``ns.models.x``)."""
        validate_path(prefix)
        head = prefix + "."
        return list(self._forward.irange(head, head + _TOP, inclusive=(True, False)))

    def children(self, prefix: str) -> list[str]:
        """The distinct next segments below ``prefix``: the folders of a namespace browser."""
        depth = prefix.count(".") + 1
        seen = dict.fromkeys(p.split(".")[depth] for p in self.list_prefix(prefix))
        return list(seen)

    def fuzzy_search(self, term: str, pattern: str = "*", *, limit: int = 10,
                     cutoff: float = 0.6) -> list[FuzzyMatch]:
        """Entries whose path or fuzzy text resembles ``term``, best first.

        A substring hit scores 1.0; otherwise the best ``difflib`` ratio of ``term`` against a word
        of the entry, kept when at least ``cutoff``.
        """
        if not isinstance(term, str) or not term.strip():
            raise XValidationError("fuzzy search term must be a non-empty string")
        if limit < 1:
            raise XValidationError(f"fuzzy search limit must be at least 1, got {limit}")
        needle = term.strip().lower()
        paths = self._entries.keys() if pattern == "*" else self.glob(pattern)
        hits = []
        for path in paths:
            score = fuzzy_score(needle, self._fuzzy[path])
            if score >= cutoff:
                hits.append(FuzzyMatch((path, score)))
        hits.sort(key=lambda m: (-m.score, m.path))
        return hits[:limit]

    # -- container protocol -------------------------------------------------------------------
    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._forward)

    # -- internals ----------------------------------------------------------------------------
    def _candidates(self, prefix: str, suffix: str) -> Any:
        """The smaller of the paths starting with ``prefix`` and those ending with ``suffix``."""
        fwd = self._forward
        lo, hi = fwd.bisect_left(prefix), fwd.bisect_left(prefix + _TOP)
        if suffix:
            rsuffix = suffix[::-1]
            rev = self._reverse
            rlo, rhi = rev.bisect_left(rsuffix), rev.bisect_left(rsuffix + _TOP)
            if rhi - rlo < hi - lo:
                return (r[::-1] for r in rev.islice(rlo, rhi))
        return fwd.islice(lo, hi)

    def _not_found(self, path: str) -> XNotFoundError:
        parent = path.rpartition(".")[0]
        siblings = self.list_prefix(parent) if parent else list(self._forward.islice(0, 1000))
        close = difflib.get_close_matches(path, siblings, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return XNotFoundError(f"nothing is registered at namespace path {path!r}{hint}",
                              details={"path": path, "suggestions": close})
