"""The in-memory pipeline executor: ``$match $project $group $sort $skip $limit $count $unwind
$lookup`` over lists of dicts, with MongoDB's semantics (the engine of ``MaterializedRepo`` and of
views). A ``$group`` pass is compiled once into the source of a Python function, as filters are
(:mod:`._predicates`): constants live in its namespace, never in its text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from xrepo.compile._documents import (
    _NUM,
    Row,
    _copy,
    _has_path,
    freeze,
    get_path,
    sort_key,
    sort_rows,
    thaw,
)
from xrepo.compile._patterns import DEFAULT_REGEX_TIMEOUT
from xrepo.compile._predicates import compile_filter
from xrepo.query import (
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
    Stage,
    Unwind,
)

__all__ = ["run_pipeline"]

_UNSET: Any = object()


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
            # A projection renames and computes fields (``{"t": "$tags"}``): which of them hold
            # lists is known only from the values now.
            array_fields, numeric, typed = None, frozenset(), frozenset()
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
