"""Filters: Mongo-style documents and Django-style shorthand, normalized into one tree.

Both spellings end up as the same small tree of :class:`Condition`, :class:`And`, :class:`Or`,
:class:`Nor` and :class:`Not` nodes, which every backend compiler consumes::

    >>> parse_filter({"age__gte": 18, "$or": [{"city": "Oslo"}, {"tags": {"$in": ["a"]}}]})
    And(children=(Condition(path='age', op='gte', value=18), Or(...)))

Validation happens here, once, for every backend: an unknown operator or field, a server-side code
operator (``$where``, ``$function``, ``$accumulator``...), a value of the wrong type or a filter
beyond the size limits is an :class:`~xrepo.errors.XRepoValidationError` naming the culprit.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

from xrepo.errors import XRepoValidationError
from xrepo.query._limits import DEFAULT_LIMITS, FilterLimits

__all__ = [
    "COMPARISON_OPS",
    "FORBIDDEN_OPERATORS",
    "MATCH_ALL",
    "MATCH_NONE",
    "TEXT_OPS",
    "And",
    "Condition",
    "Node",
    "Nor",
    "Not",
    "Or",
    "check_path",
    "check_value",
    "conditions",
    "parse_filter",
]

#: Operators matching text (a pattern or a substring): the value is not of the field's type.
TEXT_OPS = frozenset(
    {"regex", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
)
#: Field-level operators of the tree (``Condition.op``).
COMPARISON_OPS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists"}) | TEXT_OPS

#: Operators that run code on the server or escape the query language: always rejected.
FORBIDDEN_OPERATORS = frozenset(
    {
        "$where",
        "$function",
        "$accumulator",
        "$expr",
        "$jsonSchema",
        "$text",
        "$eval",
        "$javascript",
        "$code",
    }
)

_MONGO_FIELD_OPS = {
    "$eq": "eq",
    "$ne": "ne",
    "$gt": "gt",
    "$gte": "gte",
    "$lt": "lt",
    "$lte": "lte",
    "$in": "in",
    "$nin": "nin",
    "$exists": "exists",
    "$regex": "regex",
}
_DJANGO_OPS = {
    "exact": "eq",
    "eq": "eq",
    "ne": "ne",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "in": "in",
    "nin": "nin",
    "contains": "contains",
    "icontains": "icontains",
    "startswith": "startswith",
    "istartswith": "istartswith",
    "endswith": "endswith",
    "iendswith": "iendswith",
    "isnull": "isnull",
    "exists": "exists",
    "regex": "regex",
    "iregex": "iregex",
}
_REGEX_FLAGS = frozenset("imsx")
_SCALARS = (str, int, float, bool, Decimal, _dt.datetime, _dt.date, _dt.time, uuid.UUID)


@dataclass(frozen=True, slots=True)
class Condition:
    """``path op value``: one field-level test.

    ``op`` is one of :data:`COMPARISON_OPS`. For ``regex`` the value is ``(pattern, flags)``;
    for ``in``/``nin`` a tuple; for ``exists`` a bool.
    """

    path: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class And:
    """All children hold; the empty ``And`` matches everything."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child holds; the empty ``Or`` matches nothing."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Nor:
    """No child holds."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The child does not hold (a missing field counts as not holding, as in MongoDB)."""

    child: Node


Node: TypeAlias = Condition | And | Or | Nor | Not
#: The filter that matches every record (the empty ``And``).
MATCH_ALL = And(())
#: The filter that matches no record (the empty ``Or``): what a condition becomes when its
#: value is of a type the field cannot hold, as in MongoDB.
MATCH_NONE = Or(())


class _Parser:
    def __init__(
        self, fields: Collection[str] | None, limits: FilterLimits, operation: str, repo: str | None
    ) -> None:
        self.fields = fields
        self.limits = limits
        self.operation = operation
        self.repo = repo
        self.count = 0

    def error(self, message: str) -> XRepoValidationError:
        return XRepoValidationError(message, repo=self.repo, operation=self.operation)

    def document(self, doc: Any, depth: int) -> Node:
        if depth > self.limits.max_depth:
            raise self.error(
                f"filter is nested deeper than {self.limits.max_depth} levels; flatten it"
            )
        if not isinstance(doc, Mapping):
            raise self.error(f"a filter must be a dict, got {type(doc).__name__}")
        children: list[Node] = []
        for key, value in doc.items():
            if not isinstance(key, str):
                raise self.error(f"filter keys must be strings, got {type(key).__name__}")
            if key.startswith("$"):
                children.append(self.logical(key, value, depth))
            else:
                children.append(self.field(key, value, depth))
        return _flatten_and(children)

    def logical(self, key: str, value: Any, depth: int) -> Node:
        if key in FORBIDDEN_OPERATORS:
            raise self.error(f"operator {key} runs code on the server and is not allowed")
        if key == "$not":
            return Not(self.document(value, depth + 1))
        if key not in ("$and", "$or", "$nor"):
            raise self.error(
                f"unknown top-level operator {key!r}; use $and, $or, $nor, $not or a field name"
            )
        if not isinstance(value, list | tuple) or not value:
            raise self.error(f"{key} needs a non-empty list of filters")
        children = tuple(self.document(v, depth + 1) for v in value)
        if key == "$and":
            return _flatten_and(children)
        if key == "$or":
            return Or(children)
        return Nor(children)

    def field(self, key: str, value: Any, depth: int) -> Node:
        path, django_op = self.split_django(key)
        self.check_field(path)
        if django_op is not None:
            return self.django(path, django_op, value)
        if (
            isinstance(value, Mapping)
            and value
            and all(isinstance(k, str) and k.startswith("$") for k in value)
        ):
            return self.operators(path, value, depth)
        if isinstance(value, Mapping) and any(
            isinstance(k, str) and k.startswith("$") for k in value
        ):
            raise self.error(
                f"field {path!r}: cannot mix operators and plain keys in {sorted(map(str, value))}"
            )
        if isinstance(value, re.Pattern):
            return self.condition(path, "regex", self.regex(path, value.pattern, _flags_of(value)))
        return self.condition(path, "eq", self.value(path, value))

    def split_django(self, key: str) -> tuple[str, str | None]:
        if "__" not in key or (self.fields is not None and key in self.fields):
            return key, None
        path, _, suffix = key.rpartition("__")
        if suffix not in _DJANGO_OPS:
            raise self.error(
                f"unknown filter suffix '__{suffix}' in {key!r}; known: "
                + ", ".join(sorted(_DJANGO_OPS))
            )
        # Django spells nested paths with "__" too: user__address__city__icontains.
        return path.replace("__", "."), _DJANGO_OPS[suffix]

    def check_field(self, path: str) -> None:
        check_path(path, self.limits, error=self.error)
        if self.fields is not None and path.split(".", 1)[0] not in self.fields:
            raise self.error(
                f"unknown field {path!r}; known fields: " + ", ".join(sorted(self.fields))
            )

    def django(self, path: str, op: str, value: Any) -> Node:
        if op == "isnull":
            if not isinstance(value, bool):
                raise self.error(f"field {path!r}: __isnull needs True or False")
            return self.condition(path, "eq" if value else "ne", None)
        if op in ("regex", "iregex"):
            if not isinstance(value, str):
                raise self.error(f"field {path!r}: __{op} needs a string pattern")
            return self.condition(
                path, "regex", self.regex(path, value, "i" if op == "iregex" else "")
            )
        return self.operator_value(path, op, value)

    def operators(self, path: str, ops: Mapping[str, Any], depth: int) -> Node:
        children: list[Node] = []
        options = ops.get("$options")
        if options is not None and "$regex" not in ops:
            raise self.error(f"field {path!r}: $options without $regex")
        for op, value in ops.items():
            if op == "$options":
                continue
            if op in FORBIDDEN_OPERATORS:
                raise self.error(f"operator {op} runs code on the server and is not allowed")
            if op == "$not":
                if isinstance(value, re.Pattern):
                    inner: Node = self.condition(
                        path, "regex", self.regex(path, value.pattern, _flags_of(value))
                    )
                elif (
                    isinstance(value, Mapping)
                    and value
                    and all(isinstance(k, str) and k.startswith("$") for k in value)
                ):
                    inner = self.operators(path, value, depth + 1)
                else:
                    raise self.error(
                        f"field {path!r}: $not needs an operator document or a "
                        "regex, e.g. {'$not': {'$gt': 5}}"
                    )
                children.append(Not(inner))
                continue
            mapped = _MONGO_FIELD_OPS.get(op)
            if mapped is None:
                raise self.error(
                    f"unknown operator {op!r} on field {path!r}; known: "
                    + ", ".join(sorted([*_MONGO_FIELD_OPS, "$not", "$options"]))
                )
            if mapped == "regex":
                if isinstance(value, re.Pattern):
                    flags = _flags_of(value) + (options or "")
                    children.append(
                        self.condition(path, "regex", self.regex(path, value.pattern, flags))
                    )
                    continue
                if not isinstance(value, str):
                    raise self.error(f"field {path!r}: $regex needs a string pattern")
                if options is not None and not isinstance(options, str):
                    raise self.error(f"field {path!r}: $options must be a string like 'i'")
                children.append(
                    self.condition(path, "regex", self.regex(path, value, options or ""))
                )
                continue
            children.append(self.operator_value(path, mapped, value))
        return _flatten_and(children)

    def operator_value(self, path: str, op: str, value: Any) -> Node:
        if op in ("in", "nin"):
            if not isinstance(value, list | tuple | set | frozenset):
                raise self.error(f"field {path!r}: ${op} needs a list, got {type(value).__name__}")
            if len(value) > self.limits.max_in_values:
                raise self.error(
                    f"field {path!r}: ${op} holds {len(value)} values, more than "
                    f"the limit of {self.limits.max_in_values}"
                )
            return self.condition(path, op, tuple(self.value(path, v) for v in value))
        if op == "exists":
            if not isinstance(value, bool | int):
                raise self.error(f"field {path!r}: $exists needs true or false")
            return self.condition(path, op, bool(value))
        if op in ("contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"):
            if not isinstance(value, str):
                raise self.error(
                    f"field {path!r}: __{op} needs a string, got {type(value).__name__}"
                )
            return self.condition(path, op, self.value(path, value))
        return self.condition(path, op, self.value(path, value))

    def regex(self, path: str, pattern: str, flags: str) -> tuple[str, str]:
        if len(pattern) > self.limits.max_regex_length:
            raise self.error(
                f"field {path!r}: regex longer than {self.limits.max_regex_length} characters"
            )
        bad = set(flags) - _REGEX_FLAGS
        if bad:
            raise self.error(
                f"field {path!r}: unknown regex option(s) {''.join(sorted(bad))!r};"
                " use i, m, s or x"
            )
        try:
            re.compile(pattern)
        except re.error as exc:
            raise self.error(f"field {path!r}: invalid regex: {exc}") from None
        return pattern, "".join(sorted(set(flags)))

    def value(self, path: str, value: Any) -> Any:
        return check_value(value, self.limits, error=self.error, where=f"field {path!r}")

    def condition(self, path: str, op: str, value: Any) -> Condition:
        self.count += 1
        if self.count > self.limits.max_conditions:
            raise self.error(
                f"filter has more than {self.limits.max_conditions} conditions; split the query"
            )
        return Condition(path, op, value)


def _flags_of(pattern: re.Pattern[str]) -> str:
    flags = ""
    if pattern.flags & re.IGNORECASE:
        flags += "i"
    if pattern.flags & re.MULTILINE:
        flags += "m"
    if pattern.flags & re.DOTALL:
        flags += "s"
    if pattern.flags & re.VERBOSE:
        flags += "x"
    return flags


def _flatten_and(children: Collection[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        if isinstance(child, And):
            flat.extend(child.children)
        else:
            flat.append(child)
    if len(flat) == 1:
        return flat[0]
    return And(tuple(flat))


def check_path(path: str, limits: FilterLimits = DEFAULT_LIMITS, *, error: Any = None) -> str:
    """Validate a (dotted) field path: non-empty segments, no ``$`` prefix, no control chars."""
    make = error or (lambda m: XRepoValidationError(m))
    if not isinstance(path, str) or not path:
        raise make(f"field names must be non-empty strings, got {path!r}")
    segments = path.split(".")
    if len(segments) > limits.max_path_segments:
        raise make(f"field path {path[:80]!r} has more than {limits.max_path_segments} segments")
    for seg in segments:
        if not seg or seg.startswith("$") or any(ord(c) < 32 or ord(c) == 127 for c in seg):
            raise make(
                f"invalid field name {path[:80]!r}: segments must be non-empty, must not "
                "start with '$' and must not contain control characters"
            )
    return path


def check_value(
    value: Any,
    limits: FilterLimits = DEFAULT_LIMITS,
    *,
    error: Any = None,
    where: str = "value",
    depth: int = 0,
) -> Any:
    """Accept JSON-like values (scalars, dates, lists, dicts of them); reject everything else."""
    make = error or (lambda m: XRepoValidationError(m))
    if value is None or isinstance(value, _SCALARS):
        if isinstance(value, str) and len(value) > limits.max_string_length:
            raise make(f"{where}: string longer than {limits.max_string_length} characters")
        return value
    if depth > limits.max_depth:
        raise make(f"{where}: value nested deeper than {limits.max_depth} levels")
    if isinstance(value, list | tuple):
        return [check_value(v, limits, error=error, where=where, depth=depth + 1) for v in value]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or k.startswith("$"):
                raise make(f"{where}: operator {k!r} is not allowed inside a value")
            out[k] = check_value(v, limits, error=error, where=where, depth=depth + 1)
        return out
    raise make(f"{where}: values of type {type(value).__name__} cannot be used in a filter")


def parse_filter(
    filters: Mapping[str, Any] | None,
    *,
    fields: Collection[str] | None = None,
    limits: FilterLimits = DEFAULT_LIMITS,
    operation: str = "filter",
    repo: str | None = None,
) -> Node:
    """Parse and validate a filter document into a tree.

    Args:
        filters: ``{"age": {"$gte": 18}}``, ``{"age__gte": 18}``, ``None`` or ``{}`` (match all).
        fields: the known top-level field names; ``None`` skips the check.
        limits: size bounds (depth, number of conditions, ``$in`` length, regex length).
        operation: named in errors (``list``, ``count``...).
        repo: the repository name, for errors.

    Raises:
        XRepoValidationError: naming the unknown field or operator, or the exceeded limit.
    """
    if filters is None:
        return MATCH_ALL
    parser = _Parser(fields, limits, operation, repo)
    return parser.document(filters, 0)


def conditions(node: Node) -> list[Condition]:
    """Every :class:`Condition` of a tree, depth first."""
    if isinstance(node, Condition):
        return [node]
    if isinstance(node, Not):
        return conditions(node.child)
    out: list[Condition] = []
    for child in node.children:
        out.extend(conditions(child))
    return out
