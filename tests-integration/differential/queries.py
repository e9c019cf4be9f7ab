"""Generated filters, sorts and pipelines, and their translation for the oracle (plain mongod).

A query is generated once, in xrepo's language (MongoDB documents and Django lookups mixed), and
translated to the raw MongoDB filter/pipeline a MongoDB user would write for the same meaning:

- Django lookups become anchored, escaped regexes (``__endswith`` anchors at ``\\z``: the true end,
  not "before a final newline" as ``$`` does);
- ``$exists`` and ``__isnull`` are read as docs/xrepo.md defines them (present-and-not-null;
  ``null`` == missing), because SQL cannot tell null from missing;
- values on typed top-level fields arrive in their JSON form (ISO strings for ``ts``/``day``,
  decimal strings for ``d``) and are typed as the model's field would type them (design rule 1);
  any other value is left as it is, and mongod then matches nothing with it, as the rule asks;
- values on nested paths are untyped and go to mongod unchanged;
- a ``$match`` after ``$group``/``$unwind``/``$project`` is typed by the kinds at its point, as
  every backend types it (design rule 1; ``xrepo.query.type_stages``): a decimal string
  against a Decimal ``_id`` or accumulator becomes a Decimal128 (:func:`_late_kind`);
- null == missing (docs/xrepo.md): compound ``$group`` keys read a missing part as null
  (``$ifNull``); a ``$match`` after ``$group`` never tests a ``$push``/``$addToSet`` array for
  null (whether a missing field was pushed as null is what that rule leaves open).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hypothesis import strategies as st

from differential.model import LISTS, SCALARS, to_bson

ADDR_PATHS = ["addr.city", "addr.zip", "addr.n", "addr.flag", "addr.sub.k"]
ORDERS = "orders"  # placeholder for the foreign source of $lookup; each backend has its own name

HOSTILE_VALUES: dict[str, list[Any]] = {
    "id": [1, 2, "1", 1.5, True, 0],
    "s": [0, 1, True, None, "", "abc", "ABC", "abc ", " abc", "é", "É", "ß", "SS", 1.5],
    "i": [True, False, 1.5, 2.5, -0.5, "1", "10", Decimal("2"), Decimal("2.5"), 1.0, 0, 1, 2,
          2**63, -(2**63) - 1, 2**64, 2**63 - 1, None],
    "f": [True, "1.5", 1, 2, Decimal("1.5"), Decimal("0.1"), 0, 1.5, None],
    "d": ["1.5", "2", "-1.50", "0.1", "abc", 1.5, 2, True, Decimal("1.50"), Decimal("2"), None],
    "b": [1, 0, "true", None, True, False],
    "ts": ["2024-01-01", "2024-01-01T00:00:00", "2024-01-01T12:00:00.123Z",
           "2023-12-31T23:00:00-08:00", dt.datetime(2024, 1, 1),
           dt.datetime(2024, 1, 1, tzinfo=dt.UTC), 0, "garbage", None],
    "day": ["2024-01-01", "2023-12-31", "1969-07-20", dt.date(2024, 1, 1), "not a date",
            20240101, None],
    "tags": ["a", "A", "a ", "é", "É", "ß", 10, "10", True, None, ""],
    "nums": [1, "1", True, 1.0, 1.5, 3, 2**40, None],
    "addr.city": ["Oslo", "oslo", "a_b", 0, None, ""],
    "addr.zip": ["10", 10, 10.0, True, "010", 1, None],
    "addr.n": [1, "1", True, 1.5, None],
    "addr.flag": [True, 1, False, 0, None],
    "addr.sub.k": ["10", 10, None],
}  # fmt: skip
REGEXES = ["a", "^a", "A", "é", "^É", "[ab]", "a.c", "^.$", "c$", "^$", "ab|É", "\\.", "x%",
           " $", "^ ", "\\d", "ß", "^abc$", "k", "\u03c3", "S"]  # fmt: skip
LOOKUPS = ["contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"]
LOOKUP_VALUES = ["", "a", "A", "c", "abc", "é", "É", "ß", "SS", " ", "%", "_", "\\", "x%", "中",
                 "\n", "b ", "oslo", "K", "\u017f", "\u03c2", "I"]  # fmt: skip


def paths_values(data: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Every value (list elements for list fields) seen at each path of ``data``."""
    seen: dict[str, list[Any]] = {p: [] for p in HOSTILE_VALUES}
    for rec in data:
        for name in ["id", *SCALARS]:
            if rec.get(name) is not None:
                seen[name].append(rec[name])
        for name in LISTS:
            seen[name].extend(rec.get(name) or [])
        for path in ADDR_PATHS:
            node: Any = rec
            for part in path.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None and not isinstance(node, dict):
                seen[path].append(node)
    return seen


def value_for(seen: dict[str, list[Any]], path: str) -> st.SearchStrategy[Any]:
    """A value from the data at ``path`` or a hostile one."""
    hostile = st.sampled_from(HOSTILE_VALUES[path])
    return st.one_of(st.sampled_from(seen[path]), hostile) if seen[path] else hostile


def leaf_filters(seen: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """One condition: every operator and lookup of docs/xrepo.md, Mongo or Django form."""
    paths = list(HOSTILE_VALUES)
    cmp_ops = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]

    @st.composite
    def comparison(draw: st.DrawFn) -> dict[str, Any]:
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(cmp_ops))
        value = draw(value_for(seen, path))
        form = draw(st.sampled_from(["mongo", "django", "bare"]))
        if form == "django" and value is not None:
            return {f"{path.replace('.', '__')}__{op[1:]}".replace("__eq", "__exact"): value}
        if form == "bare" and op == "$eq":
            return {path: value}
        return {path: {op: value}}

    @st.composite
    def membership(draw: st.DrawFn) -> dict[str, Any]:
        path = draw(st.sampled_from(paths))
        values = draw(st.lists(value_for(seen, path), max_size=4))
        return {path: {draw(st.sampled_from(["$in", "$nin"])): values}}

    @st.composite
    def exists(draw: st.DrawFn) -> dict[str, Any]:
        path = draw(st.sampled_from(paths))
        flag = draw(st.booleans())
        form = draw(st.sampled_from(["mongo", "isnull", "exists"]))
        key = path.replace(".", "__")
        if form == "isnull":
            return {f"{key}__isnull": flag}
        if form == "exists":
            return {f"{key}__exists": flag}
        return {path: {"$exists": flag}}

    @st.composite
    def regex(draw: st.DrawFn) -> dict[str, Any]:
        path = draw(st.sampled_from(["s", "s", "tags", "addr.city", "i"]))
        pattern = draw(st.sampled_from(REGEXES))
        cond: dict[str, Any] = {"$regex": pattern}
        if draw(st.booleans()):
            cond["$options"] = "i"
        if draw(st.integers(0, 4)) == 0:
            return {path: {"$not": cond}}
        return {path: cond}

    @st.composite
    def lookup(draw: st.DrawFn) -> dict[str, Any]:
        path = draw(st.sampled_from(["s", "s", "s", "addr__city"]))
        text = draw(st.sampled_from(LOOKUP_VALUES) | st.sampled_from(seen["s"] or [""]))
        return {f"{path}__{draw(st.sampled_from(LOOKUPS))}": text}

    @st.composite
    def negation(draw: st.DrawFn) -> dict[str, Any]:
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from([*cmp_ops, "$in"]))
        value = draw(value_for(seen, path))
        return {path: {"$not": {op: [value] if op == "$in" else value}}}

    return st.one_of(comparison(), comparison(), membership(), exists(), regex(), lookup(),
                     negation())  # fmt: skip


def filters(seen: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A leaf, or ``$and``/``$or``/``$nor`` of filters, a few levels deep."""
    return st.recursive(
        st.just({}) | leaf_filters(seen),
        lambda c: st.one_of(
            st.builds(lambda cs: {"$and": cs}, st.lists(c, min_size=1, max_size=3)),
            st.builds(lambda cs: {"$or": cs}, st.lists(c, min_size=1, max_size=3)),
            st.builds(lambda cs: {"$nor": cs}, st.lists(c, min_size=1, max_size=3)),
        ),
        max_leaves=5,
    )


sorts = st.lists(
    st.tuples(st.sampled_from(["id", *SCALARS]), st.sampled_from([1, -1])),
    max_size=2,
    unique_by=lambda kv: kv[0],
)


# --- the oracle's filter -------------------------------------------------------------------------


def _typed(path: str, value: Any) -> Any:
    """``value`` typed by the field at ``path`` (design rule 1), in BSON form."""
    if isinstance(value, list):
        return [_typed(path, v) for v in value]
    if isinstance(value, str):
        try:
            if path == "ts":
                parsed = dt.datetime.fromisoformat(value)
                return to_bson(parsed)
            if path == "day":
                return to_bson(dt.date.fromisoformat(value))
            if path == "d":
                number = Decimal(value)
                if number.is_finite():
                    return to_bson(number)
        except (ValueError, InvalidOperation):
            pass
    return to_bson(value)


def _escape(text: str) -> str:
    return "".join("\\" + c if c.isascii() and not c.isalnum() and c != "\n" else c for c in text)


def _untyped(value: Any) -> Any:
    return to_bson(value)


def oracle_filter(flt: Any, typed: bool = True) -> Any:
    """The raw MongoDB filter with the meaning of the xrepo filter ``flt``."""
    if not isinstance(flt, dict):
        return flt
    out: list[dict[str, Any]] = []
    for key, cond in flt.items():
        if key in ("$and", "$or", "$nor"):
            out.append({key: [oracle_filter(c, typed) for c in cond]})
            continue
        path, _, lookup = key.partition("__")
        if lookup:
            parts = key.split("__")
            path, lookup = ".".join(parts[:-1]), parts[-1]
            if lookup in ("contains", "icontains", "startswith", "istartswith", "endswith",
                          "iendswith"):  # fmt: skip
                pattern = _escape(cond)
                if lookup.lstrip("i").startswith("starts"):
                    pattern = "^" + pattern
                elif lookup.lstrip("i").startswith("ends"):
                    pattern = pattern + "\\z"
                regex: dict[str, Any] = {"$regex": pattern}
                if lookup.startswith("i"):
                    regex["$options"] = "i"
                out.append({path: regex})
                continue
            if lookup == "isnull":
                out.append({path: {"$eq" if cond else "$ne": None}})
                continue
            if lookup == "exists":
                out.append({path: {"$ne" if cond else "$eq": None}})
                continue
            op = "$eq" if lookup == "exact" else f"${lookup}"
            out.append({path: _condition(path, {op: cond}, typed)})
            continue
        out.append({key: _condition(key, cond, typed)})
    return out[0] if len(out) == 1 else {"$and": out} if out else {}


def _condition(path: str, cond: Any, typed: bool) -> Any:
    conv = _typed if typed and "." not in path else lambda _p, v: _untyped(v)
    if not (isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond)):
        return {"$eq": conv(path, cond)}
    out: dict[str, Any] = {}
    for op, value in cond.items():
        if op == "$exists":
            out["$ne" if value else "$eq"] = None
        elif op == "$not":
            out["$not"] = _condition(path, value, typed)
        elif op in ("$regex", "$options"):
            out[op] = value
        else:
            out[op] = conv(path, value)
    return out


# --- pipelines -----------------------------------------------------------------------------------


@dataclass
class Pipeline:
    """A generated pipeline and what its comparison must know."""

    stages: list[dict[str, Any]]
    ordered: bool = False  # the output's order is defined (a total sort, nothing after it reorders)
    sets: set[str] = field(default_factory=set)  # accumulators whose arrays are compared as sets
    bags: set[str] = field(default_factory=set)  # arrays compared as multisets
    exact: bool = False  # $avg/$sum results must equal mongod's exactly (no tolerance)

    @property
    def approx(self) -> set[str]:
        """The outputs of the last ``$group``'s ``$avg``/``$sum``: mongod's inexact numbers there
        compare within a tolerance (:mod:`differential.compare`)."""
        out: set[str] = set()
        if self.exact:
            return out
        for stage in self.stages:
            if "$group" in stage:
                out = {name for name, acc in stage["$group"].items()
                       if isinstance(acc, dict) and {"$avg", "$sum"} & acc.keys()}  # fmt: skip
        return out


ACCUMULATORS: list[tuple[str, Any]] = [
    ("$sum", 1), ("$sum", "$i"), ("$sum", "$f"), ("$sum", "$d"), ("$sum", "$s"),
    ("$sum", "$b"), ("$sum", "$addr.n"), ("$sum", "$nums"),
    ("$avg", "$i"), ("$avg", "$f"), ("$avg", "$d"), ("$avg", "$s"), ("$avg", "$b"),
    ("$avg", "$addr.n"),
    ("$min", "$s"), ("$max", "$s"), ("$min", "$i"), ("$max", "$f"), ("$min", "$d"),
    ("$max", "$b"), ("$min", "$ts"), ("$max", "$day"), ("$max", "$tags"), ("$min", "$addr.n"),
    ("$count", {}),
    ("$first", "$s"), ("$last", "$i"), ("$first", "$ts"), ("$last", "$tags"), ("$first", "$day"),
    ("$push", "$s"), ("$push", "$i"), ("$push", "$tags"), ("$push", "$day"),
    ("$push", "$addr.city"),
    ("$addToSet", "$s"), ("$addToSet", "$i"), ("$addToSet", "$b"), ("$addToSet", "$tags"),
]  # fmt: skip
GROUP_KEYS: list[Any] = [None, "$s", "$b", "$i", "$day", "$ts", "$d", "$addr.city", "$addr.zip",
                         "$tags", {"k": "$b", "t": "$s"}]  # fmt: skip
ORDERED_ACC = {"$first", "$last", "$push"}


def _total_sort(field_: str, direction: int) -> dict[str, Any]:
    return {"$sort": {field_: direction, "id": 1}} if field_ != "id" else {"$sort": {"id": 1}}


@st.composite
def pipelines(draw: st.DrawFn, seen: dict[str, list[Any]]) -> Pipeline:
    """A pipeline of every stage and accumulator, with a leading $match now and then."""
    stages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        stages.append({"$match": draw(leaf_filters(seen))})
    shape = draw(st.sampled_from(["group", "group", "unwind_group", "unwind", "project", "count",
                                  "lookup"]))  # fmt: skip
    p = Pipeline(stages)
    if shape in ("group", "unwind_group"):
        accs = draw(st.lists(st.sampled_from(ACCUMULATORS), min_size=1, max_size=3))
        sorted_before = any(a in ORDERED_ACC for a, _ in accs) or draw(st.booleans())
        if sorted_before:
            # Before any $unwind: a sort after it would not be total (one id, many elements).
            sort_field = draw(st.sampled_from(["id", *SCALARS]))
            stages.append(_total_sort(sort_field, draw(st.sampled_from([1, -1]))))
        if shape == "unwind_group":
            stages.append({"$unwind": draw(st.sampled_from(["$tags", "$nums"]))})
            key = draw(st.sampled_from(["$tags", "$nums", None, "$s"]))
        else:
            key = draw(st.sampled_from(GROUP_KEYS))
        group: dict[str, Any] = {"_id": key}
        for n, (acc, expr) in enumerate(accs):
            group[f"a{n}"] = {acc: expr}
            if acc == "$addToSet":
                p.sets.add(f"a{n}")
        stages.append({"$group": group})
        if draw(st.integers(0, 3)) == 0:
            arrays = accs[0][0] in ("$push", "$addToSet")
            stages.append({"$match": draw(_post_group_match(arrays))})
        if draw(st.booleans()):
            stages.append({"$sort": {"_id": draw(st.sampled_from([1, -1]))}})
            p.ordered = True
            if draw(st.booleans()):
                stages.append({"$skip": draw(st.integers(0, 3))})
            if draw(st.booleans()):
                stages.append({"$limit": draw(st.integers(1, 5))})
    elif shape == "unwind":
        path = draw(st.sampled_from(["tags", "nums"]))
        unwind: Any = f"${path}"
        if draw(st.booleans()):
            unwind = {"path": f"${path}", "preserveNullAndEmptyArrays": True}
        stages.append({"$unwind": unwind})
        stages.append({"$project": {"id": 1, path: 1}})
        if draw(st.booleans()):
            stages.append({"$match": {path: draw(value_for(seen, path))}})
    elif shape == "project":
        keep = draw(
            st.lists(
                st.sampled_from(["s", "i", "f", "d", "b", "ts", "day", "tags", "nums", "addr"]),
                min_size=1,
                unique=True,
            )
        )
        stages.append({"$project": {"id": 1, **dict.fromkeys(keep, 1)}})
        sort_field = draw(st.sampled_from(["id", *keep] if set(keep) - set(LISTS) - {"addr"}
                                          else ["id"]))  # fmt: skip
        if sort_field in (*LISTS, "addr"):
            sort_field = "id"
        stages.append(_total_sort(sort_field, draw(st.sampled_from([1, -1]))))
        p.ordered = True
        if draw(st.booleans()):
            stages.append({"$skip": draw(st.integers(0, 5))})
        if draw(st.booleans()):
            stages.append({"$limit": draw(st.integers(1, 8))})
    elif shape == "count":
        stages.append({"$count": "n"})
    else:
        local = draw(st.sampled_from(["id", "i"]))
        stages.append({"$lookup": {"from": ORDERS, "localField": local, "foreignField": "ref",
                                   "as": "o"}})  # fmt: skip
        after = draw(st.sampled_from(["project", "unwind_group", "unwind_project"]))
        if after == "project":
            stages.append({"$project": {"id": 1, "o": 1}})
            p.bags.add("o")
        elif after == "unwind_project":
            stages.append({"$unwind": "$o"})
            stages.append({"$project": {"id": 1, "o": 1}})
        else:
            stages.append({"$unwind": "$o"})
            key = draw(st.sampled_from(["$o.label", "$id", None]))
            stages.append({"$group": {"_id": key, "n": {"$sum": "$o.amt"}, "c": {"$count": {}}}})
    return p


@st.composite
def _post_group_match(draw: st.DrawFn, arrays: bool) -> dict[str, Any]:
    """A $match after $group, on the key or the first accumulator (``arrays``: a $push or
    $addToSet, never tested for null: see the module docstring)."""
    target = draw(st.sampled_from(["_id", "a0"]))
    values: list[Any] = [0, 1, 2, "1", "a", "A", "abc", "abc ", True, None, 1.5]
    if target == "a0" and arrays:
        values.remove(None)
    value = draw(st.sampled_from(values))
    op = draw(st.sampled_from(["$eq", "$ne", "$gt", "$lte"]))
    return {target: {op: value}}


def oracle_pipeline(p: Pipeline) -> list[dict[str, Any]]:
    """The raw pipeline for mongod: every $match typed as the backends type it (the leading one
    by the model, later ones by the kinds at their point), null for missing in compound keys,
    the server's ``_id`` dropped from documents (not from ``$group`` keys)."""
    out: list[dict[str, Any]] = []
    typed = True
    grouped = False
    kinds: dict[str, str] = {}  # field after a $group -> the top-level field whose kind it has
    for stage in p.stages:
        ((name, body),) = stage.items()
        if name == "$match":
            if typed:
                out.append({"$match": oracle_filter(body, True)})
            else:
                out.append({"$match": _late_match(body, kinds)})
            continue
        if name in ("$group", "$project", "$unwind", "$lookup", "$count"):
            typed = False
            kinds = {}
        if name in ("$group", "$count"):
            grouped = True
        if name == "$project":
            body = {**body, "_id": 0}
        if name == "$group":
            kinds = _group_kinds(body)
        if name == "$group" and isinstance(body["_id"], dict):
            # null == missing: mongod leaves a missing part out of a compound key (a group of its
            # own); $ifNull makes it the null that SQL sees.
            key = {k: {"$ifNull": [v, None]} for k, v in body["_id"].items()}
            body = {**body, "_id": key}
        out.append({name: body})
    if not grouped:
        out.append(
            {"$project": {"_id": 0, "o._id": 0}} if _has_lookup(p) else {"$project": {"_id": 0}}
        )
    return out


# Accumulators whose result has the kind of their input (the query layer's _accumulated):
# $sum/$avg of a Decimal field are Decimals, $min/$max/$first/$last one of the values.
_KIND_KEEPING = {"$sum": {"d"}, "$avg": {"d"}, "$min": None, "$max": None, "$first": None,
                 "$last": None}  # fmt: skip


def _group_kinds(group: dict[str, Any]) -> dict[str, str]:
    """The outputs of a $group whose kind is a typed top-level field's (``_id: "$d"`` -> d)."""
    out: dict[str, str] = {}
    key = group.get("_id")
    if isinstance(key, str) and key.startswith("$") and key[1:] in SCALARS:
        out["_id"] = key[1:]
    for name, acc in group.items():
        if name == "_id" or not isinstance(acc, dict):
            continue
        ((op, expr),) = acc.items()
        source = expr[1:] if isinstance(expr, str) and expr.startswith("$") else None
        allowed = _KIND_KEEPING.get(op, set())
        if source in SCALARS and (allowed is None or source in allowed):
            out[name] = source
    return out


def _late_match(body: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """A $match after $group typed by the kinds at its point: the fields whose kind is a typed
    field's take its JSON forms (a decimal string against a Decimal becomes a Decimal128); the
    rest go unchanged (a value of another kind then matches nothing on mongod, as required)."""
    if any(k.startswith("$") or "__" in k for k in body):
        return oracle_filter(body, False)  # not generated after a $group; untyped as before
    out: dict[str, Any] = {}
    for path, cond in body.items():
        source = kinds.get(path)
        if source is None:
            out[path] = _condition(path, cond, False)
            continue
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            out[path] = {op: _typed(source, v) for op, v in cond.items()}
        else:
            out[path] = {"$eq": _typed(source, cond)}
    return out


def _has_lookup(p: Pipeline) -> bool:
    return any("$lookup" in s for s in p.stages)


def with_source(p: Pipeline, name: str) -> list[dict[str, Any]]:
    """``p``'s stages with the $lookup placeholder replaced by the backend's foreign source."""
    out: list[dict[str, Any]] = []
    for stage in p.stages:
        if "$lookup" in stage:
            stage = {"$lookup": {**stage["$lookup"], "from": name}}
        out.append(stage)
    return out


def regex_ok(pattern: str) -> bool:
    """Whether Python compiles ``pattern`` (every pattern of :data:`REGEXES` does)."""
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
