"""The in-memory engine: filters compiled to Python functions, and a pipeline executor.

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
import heapq
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from xrepo.compile.casefold import fold
from xrepo.compile.patterns import DEFAULT_REGEX_TIMEOUT, BoundedPattern
from xrepo.query import (
    Accumulator,
    And,
    Condition,
    Count,
    Group,
    Limit,
    Literal,
    Lookup,
    Match,
    Node,
    Nor,
    Not,
    Or,
    Project,
    Skip,
    Sort,
    SortKey,
    Stage,
    Unwind,
)

__all__ = [
    "compile_filter",
    "compile_predicate",
    "freeze",
    "get_path",
    "run_pipeline",
    "sort_key",
    "sort_rows",
    "thaw",
]

Row = dict[str, Any]
_MISSING: Any = object()
_UNSET: Any = object()
_NUM = frozenset({int, float, Decimal})


def get_path(doc: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``doc``, or ``None`` when any step is missing.

    Through a list of sub-documents the values are collected, as MongoDB does.
    """
    value = doc
    for seg in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(seg)
        elif isinstance(value, list):
            picked = [v.get(seg) for v in value if isinstance(v, Mapping) and seg in v]
            value = picked or None
        else:
            return None
        if value is None:
            return None
    return value


def _has_path(doc: Any, path: str) -> bool:
    value = doc
    for seg in path.split("."):
        if not isinstance(value, Mapping) or seg not in value:
            return False
        value = value[seg]
    return True


# -- ordering -----------------------------------------------------------------------------------
def _rank(value: Any) -> int:
    # MongoDB's BSON order: null < numbers < strings < objects < arrays < binary (UUID)
    # < booleans < dates; times (no BSON type) after them.
    if value is None:
        return 0
    cls = value.__class__
    if cls is bool:
        return 6
    if isinstance(value, int | float | Decimal):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, Mapping):
        return 3
    if isinstance(value, list | tuple):
        return 4
    if isinstance(value, uuid.UUID | bytes):
        return 5
    if isinstance(value, _dt.date):
        return 7
    if isinstance(value, _dt.time):
        return 8
    return 9


def _number_key(value: Any) -> tuple[int, Any]:
    # NaN sorts before every other number, as in MongoDB; Decimal NaN does not compare at all.
    if value != value:
        return 0, 0
    return 1, value


def _moment(value: _dt.date) -> _dt.datetime:
    """Dates and naive/aware datetimes on one naive-UTC time line (naive means UTC)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(_dt.UTC).replace(tzinfo=None)
    return _dt.datetime.combine(value, _dt.time())


def sort_key(value: Any) -> tuple[int, Any]:
    """A total order over mixed values (MongoDB's cross-type order)."""
    rank = _rank(value)
    if rank == 0:
        return 0, 0
    if rank == 1:
        return 1, _number_key(value)
    if rank == 7:
        return 7, _moment(value)
    if rank == 8:
        return 8, value.replace(tzinfo=None).isoformat()
    if rank in (2, 6):
        return rank, value
    if rank == 5:
        return rank, value.bytes if isinstance(value, uuid.UUID) else value
    if rank == 4:
        # arrays element by element (a prefix first), as MongoDB compares whole arrays
        return 4, tuple(sort_key(e) for e in value)
    if rank == 3:
        # documents field by field: the value's type, the name, then the value
        return 3, tuple((_rank(v), k, sort_key(v)) for k, v in value.items())
    return rank, repr(value)


def sort_rows(
    rows: list[Row],
    keys: Sequence[SortKey],
    *,
    limit: int | None = None,
    typed_fields: frozenset[str] | None = None,
) -> list[Row]:
    """Sort ``rows`` by ``keys`` (stable); with ``limit``, only the first ``limit`` are kept.

    ``typed_fields`` are top-level fields whose values all have one scalar type (a validated
    model's field): they are compared with Python's operators; any other path is compared in
    MongoDB's cross-type order (:func:`sort_key`), where a bool is not a number.
    """
    if not keys:
        return rows[:limit] if limit is not None else rows
    fast = typed_fields is not None and all(p in typed_fields for p, _ in keys)
    directions = {d for _, d in keys}
    if limit is not None and len(directions) == 1 and limit < len(rows) // 8:
        # One direction: a bounded heap beats a full sort (same result as sorted()[:limit]).
        pick = heapq.nlargest if -1 in directions else heapq.nsmallest
        if fast:
            try:
                return pick(limit, rows, key=_tuple_getter([p for p, _ in keys]))
            except TypeError:
                pass
        return pick(limit, rows, key=_tuple_getter([p for p, _ in keys], safe=True))
    out = list(rows)
    for path, direction in reversed(keys):
        if fast:
            try:
                out.sort(key=_tuple_getter([path]), reverse=direction < 0)
                continue
            except TypeError:  # a null among the values: the safe key orders it first
                pass
        out.sort(key=_tuple_getter([path], safe=True), reverse=direction < 0)
    return out[:limit] if limit is not None else out


def _tuple_getter(paths: Sequence[str], *, safe: bool = False) -> Callable[[Row], Any]:
    if safe:
        if len(paths) == 1:
            (p,) = paths
            if "." in p:
                return lambda r: sort_key(get_path(r, p))
            return lambda r: sort_key(r.get(p))
        return lambda r: tuple(sort_key(get_path(r, p)) for p in paths)
    if len(paths) == 1:
        (p,) = paths
        # None sorts first, as in MongoDB; a TypeError (None vs int) sends us to the safe key.
        return lambda r: r.get(p)
    return lambda r: tuple(r.get(p) for p in paths)


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
            # expansion, no Turkish rules: xrepo.compile.casefold).
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


# -- pipeline -----------------------------------------------------------------------------------
_BOOL_TAG = "__bool__"
_NAN_TAG = "__nan__"


def freeze(value: Any) -> Any:
    """A hashable stand-in for ``value`` under MongoDB's equality: ``True`` is not ``1``, every
    NaN is the same, documents and arrays compare element by element."""
    if value.__class__ is bool:
        return (_BOOL_TAG, value)
    if isinstance(value, Mapping):
        return ("__dict__", tuple((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("__list__", tuple(freeze(v) for v in value))
    if isinstance(value, float | Decimal) and value != value:
        return (_NAN_TAG, value)
    return value


def thaw(value: Any) -> Any:
    """The value :func:`freeze` stands for."""
    if value.__class__ is tuple and len(value) == 2:
        tag = value[0]
        if tag == "__dict__":
            return {k: thaw(v) for k, v in value[1]}
        if tag == "__list__":
            return [thaw(v) for v in value[1]]
        if tag in (_BOOL_TAG, _NAN_TAG):
            return value[1]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _add(total: Any, x: Any) -> Any:
    """``total + x`` where a Decimal meets a float (MongoDB sums them as a decimal)."""
    try:
        return total + x
    except TypeError:
        if isinstance(total, float):
            total = Decimal(repr(total))
        if isinstance(x, float):
            x = Decimal(repr(x))
        return total + x


def _bson_less(x: Any, m: Any) -> bool:
    return sort_key(x) < sort_key(m)


def _group_code(
    group: Group,
    exact: bool,
    numeric: frozenset[str] = frozenset(),
    typed: frozenset[str] = frozenset(),
) -> tuple[str, dict[str, Any]]:
    """The source of one ``$group`` pass. ``exact``: sums go through :func:`_add` (the first
    pass adds with ``+`` and is rerun this way when a Decimal meets a float)."""
    ns: dict[str, Any] = {
        "_get_path": get_path,
        "_has_path": _has_path,
        "_U": _UNSET,
        "_NUM": _NUM,
        "freeze": freeze,
        "_add": _add,
        "_less": _bson_less,
    }
    n = 0

    def const(value: Any) -> str:
        nonlocal n
        name = f"K{n}"
        n += 1
        ns[name] = value
        return name

    def get(path: str) -> str:
        if "." in path:
            return f"_get_path(r, {const(path)})"
        return f"r.get({const(path)})"

    def has(path: str) -> str:
        if "." in path:
            return f"_has_path(r, {const(path)})"
        return f"{const(path)} in r"

    def key_part(path: str) -> str:
        # Values of a typed field are of one hashable type; others may mix True and 1.
        return get(path) if path in typed else f"freeze({get(path)})"

    if group.key is None:
        key = "None"
    elif isinstance(group.key, str):
        key = key_part(group.key)
    else:
        key = "(" + ", ".join(key_part(p) for p in group.key.values()) + ",)"
    init: list[str] = []
    lines: list[str] = []
    slot = 0

    def add(i: int, x: str) -> str:
        return f"g[{i}] = _add(g[{i}], {x})" if exact else f"g[{i}] += {x}"

    for acc in group.accumulators.values():
        i = slot
        path = acc.path or ""
        if acc.op in ("sum", "count"):
            init.append("0")
            if acc.op == "count":
                lines.append(f"g[{i}] += 1")
            elif acc.path is None:
                lines.append(f"g[{i}] += {const(acc.constant)}")
            elif acc.path in numeric:
                # Declared int/float and validated on the way in: no type test per row.
                lines.append(add(i, f"r[{const(acc.path)}]"))
            else:
                # Only numbers count (a bool's class is not in _NUM), as in MongoDB.
                lines.append(f"x = {get(acc.path)}")
                lines.append(f"if x.__class__ in _NUM: {add(i, 'x')}")
            slot += 1
        elif acc.op == "avg":
            init += ["0", "0"]
            lines.append(f"x = {get(path)}")
            lines.append(
                f"if x.__class__ in _NUM:\n            {add(i, 'x')}\n            g[{i + 1}] += 1"
            )
            slot += 2
        elif acc.op in ("min", "max"):
            init.append("_U")
            if path in typed:
                better = "x < m" if acc.op == "min" else "x > m"
            else:
                # MongoDB's order across types (a string is above every number).
                better = "_less(x, m)" if acc.op == "min" else "_less(m, x)"
            lines.append(f"x = {get(path)}")
            lines.append(
                f"if x is not None:\n            m = g[{i}]\n"
                f"            if m is _U or {better}: g[{i}] = x"
            )
            slot += 1
        elif acc.op == "first":
            init.append("_U")
            lines.append(f"if g[{i}] is _U: g[{i}] = {get(path)}")
            slot += 1
        elif acc.op == "last":
            init.append("_U")
            lines.append(f"g[{i}] = {get(path)}")
            slot += 1
        elif acc.op == "push":
            init.append("[]")
            lines.append(f"if {has(path)}: g[{i}].append({get(path)})")
            slot += 1
        else:  # addToSet: an insertion-ordered dict of frozen values
            init.append("{}")
            lines.append(f"if {has(path)}: g[{i}][freeze({get(path)})] = None")
            slot += 1
    body = "\n        ".join(lines) if lines else "pass"
    source = (
        "def _f(rows):\n"
        "    groups = {}\n"
        "    get = groups.get\n"
        "    for r in rows:\n"
        f"        k = {key}\n"
        "        g = get(k)\n"
        "        if g is None:\n"
        f"            g = groups[k] = [{', '.join(init)}]\n"
        f"        {body}\n"
        "    return groups\n"
    )
    return source, ns


def _run_group(
    group: Group,
    rows: list[Row],
    numeric: frozenset[str] = frozenset(),
    typed: frozenset[str] = frozenset(),
) -> list[Row]:
    groups: dict[Any, list[Any]] | None = None
    for exact in (False, True):
        source, ns = _group_code(group, exact, numeric, typed)
        exec(compile(source, "<xrepo group>", "exec"), ns)  # noqa: S102 - generated, no values
        try:
            groups = ns["_f"](rows)
        except TypeError:
            # a Decimal added to a float: rerun with exact sums
            if exact:
                raise
            continue
        break
    assert groups is not None
    out: list[Row] = []
    key_names = list(group.key) if isinstance(group.key, dict) else None
    for k, state in groups.items():
        if key_names is not None:
            key: Any = {name: thaw(part) for name, part in zip(key_names, k, strict=True)}
        else:
            key = thaw(k)
        doc: Row = {"_id": _copy(key)}
        slot = 0
        for name, acc in group.accumulators.items():
            doc[name], slot = _finish(acc, state, slot)
        out.append(doc)
    return out


def _finish(acc: Accumulator, state: list[Any], slot: int) -> tuple[Any, int]:
    if acc.op == "avg":
        total, count = state[slot], state[slot + 1]
        return (total / count if count else None), slot + 2
    value = state[slot]
    if value is _UNSET:
        return None, slot + 1
    if acc.op == "addToSet":
        return [_copy(thaw(v)) for v in value], slot + 1
    if acc.op == "push":
        return [_copy(v) for v in value], slot + 1
    return _copy(value), slot + 1


def _set_path(doc: Row, path: str, value: Any) -> None:
    parts = path.split(".")
    for seg in parts[:-1]:
        nxt = doc.get(seg)
        if not isinstance(nxt, dict):
            nxt = doc[seg] = {}
        doc = nxt
    doc[parts[-1]] = value


def _del_path(doc: Row, path: str) -> None:
    parts = path.split(".")
    for seg in parts[:-1]:
        nxt = doc.get(seg)
        if not isinstance(nxt, dict):
            return
        doc = nxt
    doc.pop(parts[-1], None)


def _project(stage: Project, rows: list[Row]) -> list[Row]:
    out: list[Row] = []
    if stage.include is None:
        for r in rows:
            kept: Row = _copy(r)
            for path in stage.exclude:
                _del_path(kept, path)
            out.append(kept)
        return out
    items = list(stage.include.items())
    for r in rows:
        doc: Row = {}
        if "_id" in r and not stage.drop_id and "_id" not in stage.include:
            doc["_id"] = _copy(r["_id"])
        for name, source in items:
            if isinstance(source, Literal):
                doc[name] = source.value
            elif "." in source:
                if _has_path(r, source):
                    _set_path(doc, name, _copy(get_path(r, source)))
            elif source in r:
                _set_path(doc, name, _copy(r[source]))
        out.append(doc)
    return out


def _unwind(stage: Unwind, rows: list[Row]) -> list[Row]:
    out: list[Row] = []
    for r in rows:
        value = get_path(r, stage.path)
        if isinstance(value, list) and value:
            for element in value:
                doc = _copy(r)
                _set_path(doc, stage.path, _copy(element))
                out.append(doc)
        elif value is None or value == []:
            if stage.preserve_null_and_empty:
                doc = _copy(r)
                if value == []:
                    _del_path(doc, stage.path)
                out.append(doc)
        else:
            out.append(r)
    return out


def _lookup(stage: Lookup, rows: list[Row], related: Mapping[str, Sequence[Row]]) -> list[Row]:
    foreign = related.get(stage.source)
    if foreign is None:
        from xrepo.errors import XRepoValidationError

        raise XRepoValidationError(
            f"$lookup: unknown source {stage.source!r}; known: {', '.join(sorted(related))}",
            operation="aggregate",
        )
    if stage.where is not None:
        foreign = compile_filter(stage.where)(foreign)
    index: dict[Any, list[Row]] = {}
    for f in foreign:
        value = get_path(f, stage.foreign)
        keys = value if isinstance(value, list) else [value]
        for k in keys:
            index.setdefault(freeze(k), []).append(f)
    out: list[Row] = []
    for r in rows:
        value = get_path(r, stage.local)
        keys = value if isinstance(value, list) else [value]
        matches: list[Row] = []
        for k in keys:
            matches.extend(index.get(freeze(k), ()))
        doc = dict(r)
        doc[stage.as_] = [_copy(m) for m in matches]
        out.append(doc)
    return out


def run_pipeline(
    stages: Sequence[Stage],
    rows: Iterable[Row],
    *,
    related: Mapping[str, Sequence[Row]] | None = None,
    array_fields: frozenset[str] | None = None,
    numeric_fields: frozenset[str] = frozenset(),
    typed_fields: frozenset[str] = frozenset(),
    regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
) -> list[Row]:
    """Run validated ``stages`` over ``rows`` and return fresh documents (inputs are not shared).

    Args:
        related: the documents ``$lookup`` may read, by source name.
        array_fields: top-level fields that may hold lists (``None``: any may).
        numeric_fields: fields every input row holds as an int or float (validated models);
            they skip the per-row type test until a stage reshapes the documents.
        typed_fields: fields every input row holds with one scalar type, and that the
            ``$match`` stages before the first reshaping stage were typed for
            (:func:`xrepo.query.type_stages`); compared with Python's operators until a
            stage reshapes the documents, type-strictly after.
        regex_timeout: seconds one ``$regex`` evaluation of a ``$match`` may take.
    """
    numeric, typed = numeric_fields, typed_fields
    current: list[Row] = rows if isinstance(rows, list) else list(rows)
    shared = True  # whether `current` still holds the caller's dicts
    i = 0
    while i < len(stages):
        stage = stages[i]
        if isinstance(stage, Match):
            current = compile_filter(
                stage.node,
                array_fields=array_fields,
                typed_fields=typed,
                regex_timeout=regex_timeout,
            )(current)
        elif isinstance(stage, Sort):
            limit = None
            # $sort then $limit: keep only what the limit needs (heap), as MongoDB does.
            if i + 1 < len(stages) and isinstance(stages[i + 1], Limit):
                nxt = stages[i + 1]
                assert isinstance(nxt, Limit)
                limit = nxt.n
                i += 1
            current = sort_rows(current, stage.keys, limit=limit, typed_fields=typed)
        elif isinstance(stage, Skip):
            current = current[stage.n :]
        elif isinstance(stage, Limit):
            current = current[: stage.n]
        elif isinstance(stage, Project):
            current, shared = _project(stage, current), False
            numeric = typed = frozenset()
        elif isinstance(stage, Group):
            current, shared = _run_group(stage, current, numeric, typed), False
            array_fields, numeric, typed = None, frozenset(), frozenset()
        elif isinstance(stage, Count):
            current, shared = ([{stage.name: len(current)}] if current else []), False
            numeric = typed = frozenset()
        elif isinstance(stage, Unwind):
            current, numeric, typed = _unwind(stage, current), frozenset(), frozenset()
        elif isinstance(stage, Lookup):
            current, numeric = _lookup(stage, current, related or {}), frozenset()
            typed = frozenset()
            array_fields = None if array_fields is None else array_fields | {stage.as_}
        i += 1
    return [_copy(r) for r in current] if shared else current
