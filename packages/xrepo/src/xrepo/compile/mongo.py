"""Compile filters and pipelines to native MongoDB queries.

The tree is turned back into a MongoDB filter document built only from operators this module
chooses (never from the caller's keys), so no server-side code operator can slip through. The
repository's id field is stored as ``_id``: filters on it are rewritten, and pipelines start by
renaming ``_id`` back so that every later stage sees the same fields as on every other backend.

Two deliberate normalizations keep MongoDB in line with SQL: ``$exists`` means "present and not
null" (SQL has no "missing"), and Django-style text operators become anchored, escaped regexes.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from xrepo.errors import XRepoValidationError
from xrepo.query.filters import And, Condition, Node, Nor, Not, Or
from xrepo.query.pipeline import (
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

__all__ = ["check_collection_name", "to_bson", "to_mongo_filter", "to_mongo_pipeline"]

_OPS = {"ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


def to_bson(value: Any) -> Any:
    """A Python value as PyMongo can encode it (Decimal, UUID, date, enum, tuple handled)."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dict):
        return {k: to_bson(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_bson(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, _dt.time):
        return value.isoformat()
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


def _condition(c: Condition, id_field: str | None) -> dict[str, Any]:
    p = _path(c.path, id_field)
    op, value = c.op, to_bson(c.value)
    if op == "eq":
        return {p: None} if value is None else {p: {"$eq": value}}
    if op == "ne":
        return {p: {"$ne": value}}
    if op in ("gt", "lt") and value is None:
        return {p: {"$in": []}}
    if op in ("gte", "lte") and value is None:
        return {p: None}
    if op in _OPS:
        return {p: {_OPS[op]: value}}
    if op == "in":
        return {p: {"$in": list(value)}}
    if op == "nin":
        return {p: {"$nin": list(value)}}
    if op == "exists":
        return {p: {"$ne": None}} if value else {p: None}
    if op == "regex":
        pattern, flags = c.value
        return {p: {"$regex": pattern, "$options": flags}} if flags else {p: {"$regex": pattern}}
    insensitive = op.startswith("i")
    kind = op[1:] if insensitive else op
    escaped = re.escape(c.value)
    pattern = {"contains": escaped, "startswith": "^" + escaped, "endswith": escaped + "$"}[kind]
    # \A/\Z would be exact, but ^/$ without the m option mean the same for MongoDB's PCRE.
    out: dict[str, Any] = {"$regex": pattern}
    if insensitive:
        out["$options"] = "i"
    return {p: out}


def _ref(path: str) -> str:
    return "$" + path


def to_mongo_pipeline(
    stages: list[Stage], *, id_field: str, collection_of: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The MongoDB pipeline for validated ``stages``.

    Leading ``$match`` stages run on the stored documents (and can use indexes); then ``_id`` is
    renamed to ``id_field`` for the rest of the pipeline.
    """
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(stages) and isinstance(stages[i], Match):
        stage = stages[i]
        assert isinstance(stage, Match)
        out.append({"$match": to_mongo_filter(stage.node, id_field)})
        i += 1
    out += [{"$set": {id_field: "$_id"}}, {"$unset": "_id"}]
    rename = [{"$set": {id_field: "$_id"}}, {"$unset": "_id"}]
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
            key: Any
            if stage.key is None:
                key = None
            elif isinstance(stage.key, str):
                key = _ref(stage.key)
            else:
                key = {k: _ref(v) for k, v in stage.key.items()}
            group: dict[str, Any] = {"_id": key}
            for name, acc in stage.accumulators.items():
                if acc.op == "count":
                    group[name] = {"$sum": 1}
                elif acc.path is None:
                    group[name] = {"$sum": acc.constant}
                else:
                    group[name] = {"$" + acc.op: _ref(acc.path)}
            out.append({"$group": group})
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
            source = check_collection_name((collection_of or {}).get(stage.source, stage.source))
            out.append(
                {
                    "$lookup": {
                        "from": source,
                        "localField": stage.local,
                        "foreignField": _path(stage.foreign, id_field),
                        "as": stage.as_,
                        "pipeline": (
                            [{"$match": to_mongo_filter(stage.where, id_field)}, *rename]
                            if stage.where is not None
                            else rename
                        ),
                    }
                }
            )
    return out
