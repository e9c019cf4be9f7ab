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
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from xrepo.query.filters import And, Condition, Node, Nor, Not, Or
from xrepo.query.pipeline import (
    Accumulator,
    Count,
    Group,
    Limit,
    Literal,
    Lookup,
    Match,
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
    "get_path",
    "run_pipeline",
    "sort_key",
    "sort_rows",
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
    # MongoDB's BSON order: null < numbers < strings < objects < arrays < booleans < dates.
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float | Decimal):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, Mapping):
        return 3
    if isinstance(value, list | tuple):
        return 4
    if isinstance(value, _dt.date | _dt.datetime):
        return 6
    return 7


def sort_key(value: Any) -> tuple[int, Any]:
    """A total order over mixed values (MongoDB's cross-type order)."""
    rank = _rank(value)
    if rank in (3, 4, 7):
        return rank, repr(value)
    if rank == 0:
        return 0, 0
    return rank, value


def sort_rows(rows: list[Row], keys: Sequence[SortKey], *, limit: int | None = None) -> list[Row]:
    """Sort ``rows`` by ``keys`` (stable); with ``limit``, only the first ``limit`` are kept."""
    if not keys:
        return rows[:limit] if limit is not None else rows
    directions = {d for _, d in keys}
    if limit is not None and len(directions) == 1 and limit < len(rows) // 8:
        # One direction: a bounded heap beats a full sort (same result as sorted()[:limit]).
        getter = _tuple_getter([p for p, _ in keys])
        pick = heapq.nlargest if -1 in directions else heapq.nsmallest
        try:
            return pick(limit, rows, key=getter)
        except TypeError:
            safe = _tuple_getter([p for p, _ in keys], safe=True)
            return pick(limit, rows, key=safe)
    out = list(rows)
    for path, direction in reversed(keys):
        getter = _tuple_getter([path])
        try:
            out.sort(key=getter, reverse=direction < 0)
        except TypeError:
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
        if "." in p:
            return lambda r: _none_first(get_path(r, p))
        # None sorts first, as in MongoDB; a TypeError (None vs int) sends us to the safe key.
        return lambda r: r.get(p)
    return lambda r: tuple(get_path(r, p) for p in paths)


def _none_first(value: Any) -> Any:
    if value is None:
        raise TypeError("None in sort key")
    return value


# -- filter compilation -------------------------------------------------------------------------
class _Gen:
    """Generates the source of one filter expression; constants go to ``namespace``."""

    def __init__(self, safe: bool, array_fields: frozenset[str] | None) -> None:
        self.safe = safe
        self.array_fields = array_fields
        self.namespace: dict[str, Any] = {
            "_get_path": get_path,
            "_has_path": _has_path,
            "_lt": _safe_lt,
            "_in": _safe_in,
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
        if self.array_fields is None:
            return True
        return path.split(".", 1)[0] in self.array_fields

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
        get = self.getter(c.path)
        op, value = c.op, c.value
        if op in ("eq", "ne"):
            if value is None:
                test = f"({get} is None)"
            elif self.maybe_array(c.path) and not isinstance(value, list):
                x, v = self.var(), self.const(value)
                test = f"(({x} := {get}) == {v} or ({x}.__class__ is list and {v} in {x}))"
            else:
                test = f"({get} == {self.const(value)})"
            return test if op == "eq" else f"(not {test})"
        if op in ("gt", "gte", "lt", "lte"):
            if value is None:
                return "False" if op in ("gt", "lt") else f"({get} is None)"
            x, v = self.var(), self.const(value)
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            if self.safe:
                return f"(({x} := {get}) is not None and _lt({x}, {v}, {symbol!r}))"
            return f"(({x} := {get}) is not None and {x} {symbol} {v})"
        if op in ("in", "nin"):
            values = tuple(value)
            try:
                container: Any = frozenset(values)
            except TypeError:
                container = values
            x, v = self.var(), self.const(container)
            if self.safe:
                test = f"_in({get}, {v})"
            elif self.maybe_array(c.path):
                test = (
                    f"(({x} := {get}) in {v} or ({x}.__class__ is list and "
                    f"any(e in {v} for e in {x})))"
                )
            else:
                test = f"({get} in {v})"
            return test if op == "in" else f"(not {test})"
        if op == "exists":
            return f"({get} is not None)" if value else f"({get} is None)"
        x = self.var()
        if op == "regex":
            pattern, flags = value
            compiled = re.compile(pattern, _re_flags(flags))
            p = self.const(compiled)
            return f"(({x} := {get}).__class__ is str and {p}.search({x}) is not None)"
        method = {
            "contains": "in",
            "icontains": "in",
            "startswith": "startswith",
            "istartswith": "startswith",
            "endswith": "endswith",
            "iendswith": "endswith",
        }[op]
        insensitive = op.startswith("i")
        v = self.const(value.lower() if insensitive else value)
        subject = f"{x}.lower()" if insensitive else x
        check = f"{v} in {subject}" if method == "in" else f"{subject}.{method}({v})"
        return f"(({x} := {get}).__class__ is str and {check})"


def _re_flags(flags: str) -> int:
    out = 0
    for f in flags:
        out |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}[f]
    return out


def _safe_lt(x: Any, v: Any, symbol: str) -> bool:
    try:
        if symbol == ">":
            return bool(x > v)
        if symbol == ">=":
            return bool(x >= v)
        if symbol == "<":
            return bool(x < v)
        return bool(x <= v)
    except TypeError:
        return False


def _safe_in(x: Any, container: Any) -> bool:
    try:
        if x in container:
            return True
    except TypeError:
        if any(x == e for e in container):
            return True
    if isinstance(x, list):
        return any(_safe_in(e, container) for e in x if not isinstance(e, list))
    return False


def _build(
    node: Node, safe: bool, array_fields: frozenset[str] | None, template: str
) -> Callable[..., Any]:
    gen = _Gen(safe, array_fields)
    source = template.format(expr=gen.expr(node))
    namespace = dict(gen.namespace)
    # Only generated names and operators reach the source; every value is a namespace constant.
    exec(compile(source, "<xrepo filter>", "exec"), namespace)  # noqa: S102
    fn: Callable[..., Any] = namespace["_f"]
    return fn


def compile_predicate(
    node: Node, *, array_fields: frozenset[str] | None = None
) -> Callable[[Row], bool]:
    """``node`` as a function ``row -> bool`` (guarded against cross-type comparisons)."""
    fast = _build(node, False, array_fields, "def _f(r):\n    return bool({expr})\n")
    safe = _build(node, True, array_fields, "def _f(r):\n    return bool({expr})\n")

    def predicate(row: Row) -> bool:
        try:
            return bool(fast(row))
        except TypeError:
            return bool(safe(row))

    return predicate


def compile_filter(
    node: Node, *, array_fields: frozenset[str] | None = None
) -> Callable[[Iterable[Row]], list[Row]]:
    """``node`` as a function ``rows -> matching rows`` (one list comprehension)."""
    if isinstance(node, And) and not node.children:
        return list
    template = "def _f(rows):\n    return [r for r in rows if {expr}]\n"
    fast = _build(node, False, array_fields, template)
    safe = _build(node, True, array_fields, template)

    def run(rows: Iterable[Row]) -> list[Row]:
        if not isinstance(rows, list):
            rows = list(rows)
        try:
            out: list[Row] = fast(rows)
        except TypeError:
            out = safe(rows)
        return out

    return run


# -- pipeline -----------------------------------------------------------------------------------
def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return ("__dict__", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("__list__", tuple(_freeze(v) for v in value))
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "__dict__":
        return {k: _thaw(v) for k, v in value[1]}
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "__list__":
        return [_thaw(v) for v in value[1]]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _group_code(
    group: Group, hashable: bool, numeric: frozenset[str] = frozenset()
) -> tuple[str, dict[str, Any]]:
    ns: dict[str, Any] = {
        "_get_path": get_path,
        "_has_path": _has_path,
        "_U": _UNSET,
        "_NUM": _NUM,
        "_freeze": _freeze,
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

    if group.key is None:
        key = "None"
    elif isinstance(group.key, str):
        key = get(group.key)
    else:
        key = "(" + ", ".join(get(p) for p in group.key.values()) + ",)"
    if not hashable:
        key = f"_freeze({key})"
    init: list[str] = []
    lines: list[str] = []
    slot = 0
    for acc in group.accumulators.values():
        i = slot
        if acc.op in ("sum", "count"):
            init.append("0")
            if acc.op == "count":
                lines.append(f"g[{i}] += 1")
            elif acc.path is None:
                lines.append(f"g[{i}] += {const(acc.constant)}")
            else:
                if acc.path in numeric:
                    # Declared int/float and validated on the way in: no type test per row.
                    lines.append(f"g[{i}] += r[{const(acc.path)}]")
                else:
                    lines.append(f"x = {get(acc.path)}")
                    lines.append(f"if x.__class__ in _NUM: g[{i}] += x")
            slot += 1
        elif acc.op == "avg":
            init += ["0", "0"]
            lines.append(f"x = {get(acc.path or '')}")
            lines.append(
                f"if x.__class__ in _NUM:\n            g[{i}] += x\n            g[{i + 1}] += 1"
            )
            slot += 2
        elif acc.op in ("min", "max"):
            init.append("_U")
            symbol = "<" if acc.op == "min" else ">"
            lines.append(f"x = {get(acc.path or '')}")
            lines.append(
                f"if x is not None:\n            m = g[{i}]\n"
                f"            if m is _U or x {symbol} m: g[{i}] = x"
            )
            slot += 1
        elif acc.op == "first":
            init.append("_U")
            lines.append(f"if g[{i}] is _U: g[{i}] = {get(acc.path or '')}")
            slot += 1
        elif acc.op == "last":
            init.append("_U")
            lines.append(f"g[{i}] = {get(acc.path or '')}")
            slot += 1
        elif acc.op == "push":
            init.append("[]")
            lines.append(f"if {has(acc.path or '')}: g[{i}].append({get(acc.path or '')})")
            slot += 1
        else:  # addToSet: an insertion-ordered dict of (frozen) values
            init.append("{}")
            value = get(acc.path or "")
            if not hashable:
                value = f"_freeze({value})"
            lines.append(f"if {has(acc.path or '')}: g[{i}][{value}] = None")
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


def _run_group(group: Group, rows: list[Row], numeric: frozenset[str] = frozenset()) -> list[Row]:
    groups: dict[Any, list[Any]] | None = None
    hashable = True
    for attempt in (True, False):
        source, ns = _group_code(group, attempt, numeric)
        exec(compile(source, "<xrepo group>", "exec"), ns)  # noqa: S102 - generated, no values
        try:
            groups = ns["_f"](rows)
        except TypeError:
            # an unhashable key or set member (a dict or list value), or a cross-type min/max
            if not attempt:
                raise
            continue
        hashable = attempt
        break
    assert groups is not None
    out: list[Row] = []
    key_names = list(group.key) if isinstance(group.key, dict) else None
    for k, state in groups.items():
        key = k if hashable else _thaw(k)
        if key_names is not None:
            key = dict(zip(key_names, key, strict=True))
        doc: Row = {"_id": _copy(key)}
        slot = 0
        for name, acc in group.accumulators.items():
            doc[name], slot = _finish(acc, state, slot, hashable)
        out.append(doc)
    return out


def _finish(acc: Accumulator, state: list[Any], slot: int, hashable: bool) -> tuple[Any, int]:
    if acc.op == "avg":
        total, count = state[slot], state[slot + 1]
        return (total / count if count else None), slot + 2
    value = state[slot]
    if value is _UNSET:
        return None, slot + 1
    if acc.op == "addToSet":
        values = list(value) if hashable else [_thaw(v) for v in value]
        return [_copy(v) for v in values], slot + 1
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
            index.setdefault(_freeze(k), []).append(f)
    out: list[Row] = []
    for r in rows:
        value = get_path(r, stage.local)
        keys = value if isinstance(value, list) else [value]
        matches: list[Row] = []
        for k in keys:
            matches.extend(index.get(_freeze(k), ()))
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
) -> list[Row]:
    """Run validated ``stages`` over ``rows`` and return fresh documents (inputs are not shared).

    Args:
        related: the documents ``$lookup`` may read, by source name.
        array_fields: top-level fields that may hold lists (``None``: any may).
        numeric_fields: fields every input row holds as an int or float (validated models);
            they skip the per-row type test until a stage reshapes the documents.
    """
    numeric = numeric_fields
    current: list[Row] = rows if isinstance(rows, list) else list(rows)
    shared = True  # whether `current` still holds the caller's dicts
    i = 0
    while i < len(stages):
        stage = stages[i]
        if isinstance(stage, Match):
            current = compile_filter(stage.node, array_fields=array_fields)(current)
        elif isinstance(stage, Sort):
            limit = None
            # $sort then $limit: keep only what the limit needs (heap), as MongoDB does.
            if i + 1 < len(stages) and isinstance(stages[i + 1], Limit):
                nxt = stages[i + 1]
                assert isinstance(nxt, Limit)
                limit = nxt.n
                i += 1
            current = sort_rows(current, stage.keys, limit=limit)
        elif isinstance(stage, Skip):
            current = current[stage.n :]
        elif isinstance(stage, Limit):
            current = current[: stage.n]
        elif isinstance(stage, Project):
            current, shared = _project(stage, current), False
            numeric = frozenset()
        elif isinstance(stage, Group):
            current, shared = _run_group(stage, current, numeric), False
            array_fields, numeric = None, frozenset()
        elif isinstance(stage, Count):
            current, shared = ([{stage.name: len(current)}] if current else []), False
        elif isinstance(stage, Unwind):
            current, numeric = _unwind(stage, current), frozenset()
        elif isinstance(stage, Lookup):
            current, numeric = _lookup(stage, current, related or {}), frozenset()
            array_fields = None if array_fields is None else array_fields | {stage.as_}
        i += 1
    return [_copy(r) for r in current] if shared else current
