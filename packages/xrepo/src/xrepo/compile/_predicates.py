"""The in-memory engine's filters: compiled to Python functions (the pipeline executor, which
runs them for ``$match``, is :mod:`._pipeline`).

A filter tree is compiled *once* into the source of a Python function (a list comprehension whose
condition is the whole tree), not walked per row: filtering a million dicts costs about what the
hand-written comprehension costs. Values never become source text: every constant lives in the
function's namespace under a generated name (``V0``, ``K0``...), so no input can inject code.

Comparisons follow MongoDB where it matters for the conformance of backends: a missing field reads
as ``None``; ``None`` never compares greater or smaller than a value; ``$ne``/``$nin`` match
missing fields; a value compared with a value of another type does not match (the fast path raises
``TypeError`` there and the filter reruns in a per-value guarded version).
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from xrepo.compile._casefold import fold
from xrepo.compile._documents import _NUM, Row, _has_path, get_path
from xrepo.compile._patterns import DEFAULT_REGEX_TIMEOUT, BoundedPattern
from xrepo.query import (
    And,
    Condition,
    Node,
    Nor,
    Not,
    Or,
)

__all__ = ["compile_filter", "compile_predicate", "strict_eq"]


# -- type-strict comparisons (MongoDB's) ---------------------------------------------------------
def strict_eq(x: Any, v: Any) -> bool:
    """Equality as MongoDB sees it: numbers across int/float/Decimal, never a bool and a number,
    documents and arrays element by element."""
    if x.__class__ is bool or v.__class__ is bool:
        return x is v
    if isinstance(x, list | tuple):
        return (
            isinstance(v, list | tuple)
            and len(x) == len(v)
            and all(strict_eq(a, b) for a, b in zip(x, v, strict=True))
        )
    if isinstance(x, Mapping):
        return (
            isinstance(v, Mapping)
            and x.keys() == v.keys()
            and all(strict_eq(x[k], v[k]) for k in x)
        )
    if isinstance(v, list | tuple | Mapping):
        return False
    try:
        return bool(x == v)
    except ArithmeticError:  # a signalling Decimal NaN
        return False


def _has(x: Any, v: Any) -> bool:
    """``x`` equals ``v`` or, being an array, holds an element equal to ``v``."""
    if strict_eq(x, v):
        return True
    return x.__class__ is list and any(strict_eq(e, v) for e in x)


def _compare(x: Any, v: Any, symbol: str) -> bool:
    if x is None or (x.__class__ is bool) is not (v.__class__ is bool):
        return False
    try:
        if symbol == ">":
            return bool(x > v)
        if symbol == ">=":
            return bool(x >= v)
        if symbol == "<":
            return bool(x < v)
        return bool(x <= v)
    except (TypeError, ArithmeticError):
        return False


def _safe_lt(x: Any, v: Any, symbol: str) -> bool:
    if x.__class__ is list and v.__class__ is not list:
        # An array matches when one of its elements does (MongoDB's array semantics).
        return any(_compare(e, v, symbol) for e in x)
    return _compare(x, v, symbol)


class _Members:
    """The values of an ``$in``: hashable non-bools, bools, and unhashable ones apart, so that
    a hash lookup never confuses ``True`` with ``1``."""

    __slots__ = ("bools", "hashed", "other")

    def __init__(self, values: Iterable[Any]) -> None:
        hashed: list[Any] = []
        self.bools: frozenset[bool] = frozenset()
        self.other: tuple[Any, ...] = ()
        for v in values:
            if v.__class__ is bool:
                self.bools |= {v}
            elif isinstance(v, list | tuple | Mapping) or (v != v):
                self.other += (v,)
            else:
                hashed.append(v)
        self.hashed = frozenset(hashed)

    def holds(self, x: Any, arrays: bool) -> bool:
        if x.__class__ is bool:
            return x in self.bools
        try:
            if x in self.hashed:
                return True
        except TypeError:  # x is a list or dict
            pass
        if self.other and any(strict_eq(x, v) for v in self.other):
            return True
        if arrays and x.__class__ is list:
            return any(self.holds(e, False) for e in x if e.__class__ is not list)
        return False


def _safe_in(x: Any, members: _Members) -> bool:
    return members.holds(x, True)


# -- filter compilation -------------------------------------------------------------------------
_TEXT_METHODS = {
    "contains": "in",
    "icontains": "in",
    "startswith": "startswith",
    "istartswith": "startswith",
    "endswith": "endswith",
    "iendswith": "endswith",
}


class _Gen:
    """Generates the source of one filter expression; constants go to ``namespace``.

    ``typed_fields`` hold one scalar type each (validated) and the tree's values were typed for
    them (:func:`xrepo.query.type_filter`): those compare with Python's operators. Every
    other path compares type-strictly, as MongoDB does.
    """

    def __init__(
        self,
        safe: bool,
        array_fields: frozenset[str] | None,
        typed_fields: frozenset[str],
        regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
    ) -> None:
        self.safe = safe
        self.array_fields = array_fields
        self.typed_fields = typed_fields
        self.regex_timeout = regex_timeout
        self.namespace: dict[str, Any] = {
            "_get_path": get_path,
            "_has_path": _has_path,
            "_lt": _safe_lt,
            "_in": _safe_in,
            "_fold": fold,
            "_has": _has,
            "_eq": strict_eq,
            "_bool": bool,
        }
        self.n = 0

    def const(self, value: Any) -> str:
        name = f"V{self.n}"
        self.n += 1
        self.namespace[name] = value
        return name

    def var(self) -> str:
        name = f"x{self.n}"
        self.n += 1
        return name

    def getter(self, path: str) -> str:
        if "." in path:
            return f"_get_path(r, {self.const(path)})"
        return f"r.get({self.const(path)})"

    def maybe_array(self, path: str) -> bool:
        # A path inside a document may reach an array whatever the top-level field's type.
        if self.array_fields is None or "." in path:
            return True
        return path in self.array_fields

    def null_test(self, path: str) -> str:
        get = self.getter(path)
        if not self.maybe_array(path):
            return f"({get} is None)"
        # null matches null, missing, and an array holding null (MongoDB)
        x = self.var()
        return f"(({x} := {get}) is None or ({x}.__class__ is list and None in {x}))"

    def typed(self, path: str) -> bool:
        return path in self.typed_fields

    def expr(self, node: Node) -> str:
        if isinstance(node, And):
            if not node.children:
                return "True"
            return "(" + " and ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, Or):
            if not node.children:
                return "False"
            return "(" + " or ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, Nor):
            if not node.children:
                return "True"
            return "(not (" + " or ".join(self.expr(c) for c in node.children) + "))"
        if isinstance(node, Not):
            return f"(not {self.expr(node.child)})"
        return self.condition(node)

    def condition(self, c: Condition) -> str:
        op = c.op
        if op in ("eq", "ne"):
            test = self.equality(c)
            return test if op == "eq" else f"(not {test})"
        if op in ("gt", "gte", "lt", "lte"):
            return self.range(c)
        if op in ("in", "nin"):
            test = self.membership(c)
            return test if op == "in" else f"(not {test})"
        get = self.getter(c.path)
        if op == "exists":
            return f"({get} is not None)" if c.value else f"({get} is None)"
        return self.text(c, get)

    def equality(self, c: Condition) -> str:
        value = c.value
        if value is None:
            return self.null_test(c.path)
        get = self.getter(c.path)
        array = self.maybe_array(c.path)
        v = self.const(value)
        if self.typed(c.path) and not array:
            return f"({get} == {v})"
        x = self.var()
        cls = value.__class__
        if cls is bool:
            test = f"(({x} := {get}) is {v}"
        elif cls is str or isinstance(value, _dt.date | _dt.time | uuid.UUID):
            # Only a value of the same type can be equal (a datetime never equals a date).
            test = f"(({x} := {get}) == {v}"
        elif cls in _NUM:
            test = f"(({x} := {get}) == {v} and {x}.__class__ is not bool"
        else:
            test = f"(_eq(({x} := {get}), {v})"
        if array and not isinstance(value, list):
            test += f" or ({x}.__class__ is list and _has({x}, {v}))"
        return test + ")"

    def range(self, c: Condition) -> str:
        value, op = c.value, c.op
        if value is None:
            return "False" if op in ("gt", "lt") else self.null_test(c.path)
        get = self.getter(c.path)
        x, v = self.var(), self.const(value)
        symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        if self.typed(c.path) and not self.maybe_array(c.path) and not self.safe:
            return f"(({x} := {get}) is not None and {x} {symbol} {v})"
        if self.safe or self.maybe_array(c.path):
            # per value: arrays by their elements, other types never match
            return f"(({x} := {get}) is not None and _lt({x}, {v}, {symbol!r}))"
        # A value of another type raises TypeError here and the guarded version reruns; a bool
        # compares with a bool only, a number with a number only.
        guard = ""
        if value.__class__ is bool:
            guard = f" and {x}.__class__ is bool"
        elif value.__class__ in _NUM:
            guard = f" and {x}.__class__ is not bool"
        return f"(({x} := {get}) is not None{guard} and {x} {symbol} {v})"

    def membership(self, c: Condition) -> str:
        get = self.getter(c.path)
        values = tuple(c.value)
        if self.typed(c.path) and not self.maybe_array(c.path):
            try:
                return f"({get} in {self.const(frozenset(values))})"
            except TypeError:
                pass
        members = _Members(values)
        if self.maybe_array(c.path):
            return f"_in({get}, {self.const(members)})"
        return f"{self.const(members)}.holds({get}, False)"

    def text(self, c: Condition, get: str) -> str:
        x = self.var()
        if c.op == "regex":
            pattern, flags = c.value
            # A user's pattern: the `regex` module (re-compatible VERSION0) under a time bound
            # per value, so (a+)+$ on "aaa...!" ends in an error instead of never.
            p = self.const(BoundedPattern(c.path, pattern, flags, self.regex_timeout))
            check = f"{p}.search({{s}}) is not None"
        else:
            insensitive = c.op.startswith("i")
            # Case-insensitive means Unicode simple case folding of both sides, as MongoDB's
            # caseless regex compares (final and medial sigma, long s, the Kelvin sign alike; no
            # expansion, no Turkish rules: xrepo.compile.fold).
            v = self.const(fold(c.value) if insensitive else c.value)
            subject = "_fold({s})" if insensitive else "{s}"
            method = _TEXT_METHODS[c.op]
            check = f"{v} in {subject}" if method == "in" else f"{subject}.{method}({v})"
        test = f"(({x} := {get}).__class__ is str and {check.format(s=x)}"
        if self.maybe_array(c.path):
            e = self.var()
            test += (
                f" or ({x}.__class__ is list and "
                f"any({e}.__class__ is str and {check.format(s=e)} for {e} in {x}))"
            )
        return test + ")"


def _build(
    node: Node,
    safe: bool,
    array_fields: frozenset[str] | None,
    typed_fields: frozenset[str],
    template: str,
    regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
) -> Callable[..., Any]:
    gen = _Gen(safe, array_fields, typed_fields, regex_timeout)
    source = template.format(expr=gen.expr(node))
    namespace = dict(gen.namespace)
    # Only generated names and operators reach the source; every value is a namespace constant.
    exec(compile(source, "<xrepo filter>", "exec"), namespace)  # noqa: S102
    fn: Callable[..., Any] = namespace["_f"]
    return fn


def compile_predicate(
    node: Node,
    *,
    array_fields: frozenset[str] | None = None,
    typed_fields: frozenset[str] = frozenset(),
    regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
) -> Callable[[Row], bool]:
    """``node`` as a function ``row -> bool`` (guarded against cross-type comparisons).

    ``typed_fields``: top-level fields whose values all have one scalar type and whose filter
    values were typed for it (:func:`xrepo.query.type_filter`); compared without the
    per-value type tests. ``regex_timeout``: seconds one ``$regex`` evaluation may take
    (:class:`~xrepo.query.RegexBoundExceeded` past it).
    """
    template = "def _f(r):\n    return bool({expr})\n"
    fast = _build(node, False, array_fields, typed_fields, template, regex_timeout)
    safe = _build(node, True, array_fields, typed_fields, template, regex_timeout)

    def predicate(row: Row) -> bool:
        try:
            return bool(fast(row))
        except (TypeError, ArithmeticError):
            return bool(safe(row))

    return predicate


def compile_filter(
    node: Node,
    *,
    array_fields: frozenset[str] | None = None,
    typed_fields: frozenset[str] = frozenset(),
    regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
) -> Callable[[Iterable[Row]], list[Row]]:
    """``node`` as a function ``rows -> matching rows`` (one list comprehension).

    ``typed_fields`` and ``regex_timeout`` as for :func:`compile_predicate`.
    """
    if isinstance(node, And) and not node.children:
        return list
    template = "def _f(rows):\n    return [r for r in rows if {expr}]\n"
    fast = _build(node, False, array_fields, typed_fields, template, regex_timeout)
    safe = _build(node, True, array_fields, typed_fields, template, regex_timeout)

    def run(rows: Iterable[Row]) -> list[Row]:
        if not isinstance(rows, list):
            rows = list(rows)
        try:
            out: list[Row] = fast(rows)
        except (TypeError, ArithmeticError):
            out = safe(rows)
        return out

    return run
