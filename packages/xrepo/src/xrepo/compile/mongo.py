"""Compile filters and pipelines to native MongoDB queries.

The tree is turned back into a MongoDB filter document built only from operators this module
chooses (never from the caller's keys), so no server-side code operator can slip through. The
repository's id field is stored as ``_id``: filters on it are rewritten, and pipelines start by
renaming ``_id`` back so that every later stage sees the same fields as on every other backend.

Deliberate normalizations keep MongoDB in line with the other backends:

- ``$exists`` means "present and not null" (SQL has no "missing");
- Django-style text operators become anchored, escaped regexes (``\\z``, not ``$``, which
  also matches before a final newline);
- an ``ObjectId`` is its 24-character lowercase hex string: a filter value that is such a string
  also matches the ``ObjectId`` (``{"id": "65f0..."}`` finds ``ObjectId("65f0...")`` and the
  string), and with ``object_ids=True`` a pipeline turns ``ObjectId`` ids and group keys into
  their hex strings on the server and joins ``$lookup`` keys across the two forms;
- values are written as :func:`to_bson` gives them: ``Decimal`` as ``Decimal128`` (exact),
  datetimes as aware UTC with milliseconds (BSON's precision; naive means UTC).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from bson.objectid import ObjectId

from xrepo.errors import XRepoValidationError
from xrepo.query import (
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
    Stage,
    Unwind,
)

__all__ = [
    "check_collection_name",
    "is_object_id_hex",
    "stored_datetime",
    "stored_value",
    "to_bson",
    "to_mongo_filter",
    "to_mongo_pipeline",
]

_OPS = {"ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
_UTC = _dt.UTC
_HEX24 = re.compile(r"[0-9a-f]{24}")
#: The temporary field holding a ``$lookup``'s local key in both id forms.
_LOOKUP_KEY = "__xrepo_lookup_key"


def is_object_id_hex(value: Any) -> bool:
    """Whether ``value`` is the form an ``ObjectId`` reads back as: 24 lowercase hex digits."""
    return isinstance(value, str) and len(value) == 24 and _HEX24.fullmatch(value) is not None


def stored_datetime(value: _dt.datetime) -> _dt.datetime:
    """``value`` as MongoDB stores and returns it: aware UTC, milliseconds (naive means UTC)."""
    value = value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
    micro = value.microsecond
    return value.replace(microsecond=micro - micro % 1000) if micro % 1000 else value


def to_bson(value: Any) -> Any:
    """A Python value as it is stored in MongoDB.

    ``Decimal`` becomes ``Decimal128`` (exact; more than 34 significant digits is an
    :class:`XRepoValidationError`), a datetime aware UTC truncated to milliseconds, a date the
    UTC midnight, a UUID its string, an enum its value, a tuple or set a list.
    """
    cls = value.__class__
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return value
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dict):
        return {k: to_bson(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_bson(v) for v in value]
    if isinstance(value, Decimal):
        try:
            return Decimal128(value)
        except decimal.DecimalException:
            raise XRepoValidationError(
                f"the Decimal {value} does not fit MongoDB's Decimal128 (34 significant digits, "
                "exponents -6176..6111); round it first"
            ) from None
    if isinstance(value, _dt.datetime):
        return stored_datetime(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_UTC)
    if isinstance(value, _dt.time):
        return value.isoformat()
    return value


def stored_value(value: Any) -> Any:
    """The Python value a read returns for ``value`` once stored (datetimes aware UTC with
    milliseconds); ``value`` itself, the same object, when storing does not change it."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is _UTC and not value.microsecond % 1000:
            return value
        return stored_datetime(value)
    if isinstance(value, dict):
        items = {k: stored_value(v) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if isinstance(value, list):
        elements = [stored_value(v) for v in value]
        return value if all(a is b for a, b in zip(elements, value, strict=True)) else elements
    return value


def check_collection_name(name: Any) -> str:
    """Reject names MongoDB would misread (``$``, NUL, ``system.``)."""
    if (
        not isinstance(name, str)
        or not name
        or "$" in name
        or "\x00" in name
        or name.startswith("system.")
    ):
        raise XRepoValidationError(f"invalid collection name {name!r}")
    return name


def _path(path: str, id_field: str | None) -> str:
    if id_field is not None and path == id_field:
        return "_id"
    if id_field is not None and path.startswith(id_field + "."):
        return "_id" + path[len(id_field) :]
    return path


def to_mongo_filter(node: Node, id_field: str | None = None) -> dict[str, Any]:
    """The MongoDB filter for ``node``; ``id_field`` is rewritten to ``_id`` when given."""
    if isinstance(node, And):
        if not node.children:
            return {}
        return {"$and": [to_mongo_filter(c, id_field) for c in node.children]}
    if isinstance(node, Or):
        if not node.children:  # MATCH_NONE: no document lacks a value in an empty $in
            return {"_id": {"$in": []}}
        return {"$or": [to_mongo_filter(c, id_field) for c in node.children]}
    if isinstance(node, Nor):
        if not node.children:
            return {}
        return {"$nor": [to_mongo_filter(c, id_field) for c in node.children]}
    if isinstance(node, Not):
        return {"$nor": [to_mongo_filter(node.child, id_field)]}
    return _condition(node, id_field)


def _both_forms(values: list[Any]) -> list[Any]:
    """``values`` plus the ``ObjectId`` of each 24-hex string among them."""
    return values + [ObjectId(v) for v in values if is_object_id_hex(v)]


def _condition(c: Condition, id_field: str | None) -> dict[str, Any]:
    p = _path(c.path, id_field)
    op, value = c.op, to_bson(c.value)
    if op == "eq":
        if value is None:
            return {p: None}
        if is_object_id_hex(value):
            return {p: {"$in": _both_forms([value])}}
        return {p: {"$eq": value}}
    if op == "ne":
        if is_object_id_hex(value):
            return {p: {"$nin": _both_forms([value])}}
        return {p: {"$ne": value}}
    if op in ("gt", "lt") and value is None:
        return {p: {"$in": []}}
    if op in ("gte", "lte") and value is None:
        return {p: None}
    if op in _OPS:
        if is_object_id_hex(value):
            # Comparisons are type-bracketed in MongoDB: compare each form with its own kind.
            return {"$or": [{p: {_OPS[op]: value}}, {p: {_OPS[op]: ObjectId(value)}}]}
        return {p: {_OPS[op]: value}}
    if op == "in":
        return {p: {"$in": _both_forms(list(value))}}
    if op == "nin":
        return {p: {"$nin": _both_forms(list(value))}}
    if op == "exists":
        return {p: {"$ne": None}} if value else {p: None}
    if op == "regex":
        pattern, flags = c.value
        return {p: {"$regex": pattern, "$options": flags}} if flags else {p: {"$regex": pattern}}
    insensitive = op.startswith("i")
    kind = op[1:] if insensitive else op
    escaped = regex_literal(c.value)
    # \A and \z anchor at the very ends; $ would also match before a final newline, so
    # endswith("c") would find "abc\n".
    pattern = {"contains": escaped, "startswith": r"\A" + escaped, "endswith": escaped + r"\z"}[
        kind
    ]
    out: dict[str, Any] = {"$regex": pattern}
    if insensitive:
        out["$options"] = "i"
    return {p: out}


def regex_literal(text: str) -> str:
    """``text`` as a PCRE pattern matching exactly it: punctuation escaped with a backslash,
    control characters (NUL included, which MongoDB refuses inside a pattern) as ``\\x{..}``."""
    out: list[str] = []
    for ch in text:
        if ch.isalnum() or ord(ch) > 0x7F:
            out.append(ch)
        elif ch.isprintable() and ch != " ":
            out.append("\\" + ch)
        else:
            out.append(f"\\x{{{ord(ch):x}}}")
    return "".join(out)


def _ref(path: str) -> str:
    return "$" + path


def _hex_if_object_id(expr: Any) -> dict[str, Any]:
    """An expression: ``expr`` as its hex string when it is an ``ObjectId``, else as it is."""
    return {"$cond": [{"$eq": [{"$type": expr}, "objectId"]}, {"$toString": expr}, expr]}


def _both_forms_expr(path: str) -> dict[str, Any]:
    """An expression: the array of the values at ``path`` (one, or the elements of an array)
    with each ``ObjectId`` also as its hex string and each 24-hex string also as an ObjectId.

    Used as a ``$lookup``'s ``localField``, which matches when any element equals the foreign
    field: an ``ObjectId`` key then joins a key stored as its hex string, and the other way.
    """
    each = {
        "$cond": [
            {"$eq": [{"$type": "$$e"}, "objectId"]},
            {"$toString": "$$e"},
            {
                "$cond": [
                    {
                        "$and": [
                            {"$eq": [{"$type": "$$e"}, "string"]},
                            {"$regexMatch": {"input": "$$e", "regex": r"^[0-9a-f]{24}\z"}},
                        ]
                    },
                    {"$toObjectId": "$$e"},
                    "$$e",
                ]
            },
        ]
    }
    return {
        "$let": {
            "vars": {"a": {"$cond": [{"$isArray": _ref(path)}, _ref(path), [_ref(path)]]}},
            "in": {"$concatArrays": ["$$a", {"$map": {"input": "$$a", "as": "e", "in": each}}]},
        }
    }


def to_mongo_pipeline(
    stages: list[Stage],
    *,
    id_field: str,
    collection_of: Mapping[str, str] | None = None,
    object_ids: bool = False,
) -> list[dict[str, Any]]:
    """The MongoDB pipeline for validated ``stages``.

    Leading ``$match`` stages run on the stored documents (and can use indexes); then ``_id`` is
    renamed to ``id_field`` for the rest of the pipeline. With ``object_ids`` (the repository
    reads ObjectIds as hex strings), that rename, the foreign ids of a ``$lookup`` and the
    ``$group`` keys turn ObjectIds into their hex strings on the server, so that later stages
    see what ``list()`` returns, and ``$lookup`` joins an ObjectId key with its hex string.
    """
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(stages) and isinstance(stages[i], Match):
        stage = stages[i]
        assert isinstance(stage, Match)
        out.append({"$match": to_mongo_filter(stage.node, id_field)})
        i += 1
    stored_id: Any = _hex_if_object_id("$_id") if object_ids else "$_id"
    rename: list[dict[str, Any]] = [{"$set": {id_field: stored_id}}, {"$unset": "_id"}]
    out += rename
    for stage in stages[i:]:
        if isinstance(stage, Match):
            out.append({"$match": to_mongo_filter(stage.node)})
        elif isinstance(stage, Project):
            spec: dict[str, Any] = {}
            if stage.include is None:
                spec = dict.fromkeys(stage.exclude, 0)
            else:
                if stage.drop_id:
                    spec["_id"] = 0
                for name, source in stage.include.items():
                    if isinstance(source, Literal):
                        spec[name] = {"$literal": to_bson(source.value)}
                    elif source == name:
                        spec[name] = 1
                    else:
                        spec[name] = _ref(source)
            out.append({"$project": spec})
        elif isinstance(stage, Group):
            out.append({"$group": _group(stage, object_ids)})
        elif isinstance(stage, Sort):
            out.append({"$sort": dict(stage.keys)})
        elif isinstance(stage, Skip):
            out.append({"$skip": stage.n})
        elif isinstance(stage, Limit):
            out.append({"$limit": stage.n})
        elif isinstance(stage, Count):
            out.append({"$count": stage.name})
        elif isinstance(stage, Unwind):
            out.append(
                {
                    "$unwind": {
                        "path": _ref(stage.path),
                        "preserveNullAndEmptyArrays": stage.preserve_null_and_empty,
                    }
                }
            )
        elif isinstance(stage, Lookup):
            out += _lookup(stage, id_field, collection_of, rename, object_ids)
    return out


def _group(stage: Group, object_ids: bool) -> dict[str, Any]:
    def key_of(path: str) -> Any:
        return _hex_if_object_id(_ref(path)) if object_ids else _ref(path)

    key: Any
    if stage.key is None:
        key = None
    elif isinstance(stage.key, str):
        key = key_of(stage.key)
    else:
        key = {k: key_of(v) for k, v in stage.key.items()}
    group: dict[str, Any] = {"_id": key}
    for name, acc in stage.accumulators.items():
        if acc.op == "count":
            group[name] = {"$sum": 1}
        elif acc.path is None:
            group[name] = {"$sum": acc.constant}
        else:
            group[name] = {"$" + acc.op: _ref(acc.path)}
    return group


def _lookup(
    stage: Lookup,
    id_field: str,
    collection_of: Mapping[str, str] | None,
    rename: list[dict[str, Any]],
    object_ids: bool,
) -> list[dict[str, Any]]:
    source = check_collection_name((collection_of or {}).get(stage.source, stage.source))
    spec: dict[str, Any] = {
        "from": source,
        "localField": _LOOKUP_KEY if object_ids else stage.local,
        "foreignField": _path(stage.foreign, id_field),
        "as": stage.as_,
        "pipeline": (
            [{"$match": to_mongo_filter(stage.where, id_field)}, *rename]
            if stage.where is not None
            else rename
        ),
    }
    if not object_ids:
        return [{"$lookup": spec}]
    return [
        {"$set": {_LOOKUP_KEY: _both_forms_expr(stage.local)}},
        {"$lookup": spec},
        {"$unset": _LOOKUP_KEY},
    ]
