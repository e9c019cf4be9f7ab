"""Profiling MongoDB collections on the server: ``$group`` and ``$facet`` pipelines.

One ``$group`` over the collection computes, for every top-level field, how many documents hold
a non-null value, min/max, mean and standard deviation (``$avg``/``$stdDevSamp`` ignore
non-numbers) and string lengths; one pipeline per field counts its distinct values and its most
frequent values, and one its BSON types; quantiles and histograms come from the server too
(:mod:`._mongodb_distribution`). Documents never leave the server.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from xinspector._schema import CollectionSchema
from xinspector._types import BSON_TYPES, MONGO_CODE_POINTS, PATTERNS
from xinspector.profiling._mongodb_distribution import mongodb_distributions
from xinspector.profiling._options import ProfileOptions, ProgressCallback
from xinspector.profiling._order import rank_counts, sorted_values
from xinspector.profiling._stats import DataQuality, FieldStatistics, ValueCount

__all__ = ["profile_mongodb_collection"]


def _get(name: str) -> dict[str, Any]:
    # $getField reads any key, even one holding '.' or starting with '$'.
    return {"$getField": {"field": {"$literal": name}, "input": "$$ROOT"}}


# A UUID written as text (which discovery types UUID): canonical, any case, nothing after.
_UUID_TEXT = "^" + PATTERNS["uuid"].pattern + r"\z"


def _uuid_accumulators(value: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The bounds of a UUID field, as ``$group`` accumulators: of its binary UUIDs and, apart,
    of its UUIDs written as text; :func:`_uuid_bound` takes the least or greatest of the two.

    BSON orders binary data by length, then subtype, then bytes: the UUIDs (16 bytes of subtype
    4, as ``uuidRepresentation='standard'`` writes them) are exactly the values between the
    smallest and the largest UUID, in the order of their bytes, which is their 128-bit order.
    Shorter data, other subtypes (3, the legacy UUIDs, whose byte order depends on the driver
    that wrote them) and other types fall outside, and are no bound. Text compares by its UTF-8
    bytes, which orders UUIDs by value only in one case: lowercase.
    """
    from bson.binary import Binary  # the MongoDB extra's: only MongoDB resources get here

    lo, hi = Binary(bytes(16), 4), Binary(b"\xff" * 16, 4)
    binary = {"$cond": [{"$and": [{"$gte": [value, lo]}, {"$lte": [value, hi]}]}, value, None]}
    is_text = {"$eq": [{"$type": value}, "string"]}
    # Nested, not $and: $regexMatch fails on a value that is no string.
    matches = {"$regexMatch": {"input": value, "regex": _UUID_TEXT}}
    text = {"$cond": [is_text, {"$cond": [matches, {"$toLower": value}, None]}, None]}
    return {
        "mn": {"$min": binary},
        "mx": {"$max": binary},
        "tn": {"$min": text},
        "tx": {"$max": text},
    }


def _uuid_bound(agg: dict[str, Any], i: int, *, least: bool) -> UUID | None:
    """The least (or greatest) of the binary and the text bound of UUID field ``i``."""
    found = []
    for key in ("mn", "tn") if least else ("mx", "tx"):
        value = agg.get(f"{key}_{i}")
        if isinstance(value, str):
            value = UUID(value)
        elif not isinstance(value, UUID) and value is not None:
            value = value.as_uuid()  # Binary subtype 4, from a client without a representation
        if value is not None:
            found.append(value)
    if not found:
        return None
    return min(found) if least else max(found)


def _float(value: Any) -> float:
    # $avg over Decimal128 values answers a Decimal128, which float() does not take.
    to_decimal = getattr(value, "to_decimal", None)
    return float(to_decimal() if to_decimal is not None else value)


async def profile_mongodb_collection(
    resource: Any,
    schema: CollectionSchema,
    *,
    options: ProfileOptions,
    progress: ProgressCallback | None = None,
) -> tuple[int, dict[str, FieldStatistics], list[dict[str, Any]]]:
    """``(total documents, statistics per top-level field, sample documents)``."""
    coll_name = schema.name
    names = list(schema.fields)
    group: dict[str, Any] = {"_id": None, "n": {"$sum": 1}}
    for i, name in enumerate(names):
        value = _get(name)
        group[f"nn_{i}"] = {"$sum": {"$cond": [{"$eq": [{"$ifNull": [value, None]}, None]}, 0, 1]}}
        if schema.fields[name].type == "UUID":
            for key, acc in _uuid_accumulators(value).items():
                group[f"{key}_{i}"] = acc
        else:
            group[f"mn_{i}"] = {"$min": value}
            group[f"mx_{i}"] = {"$max": value}
        group[f"av_{i}"] = {"$avg": value}
        group[f"sd_{i}"] = {"$stdDevSamp": value}
        strlen = {"$cond": [{"$eq": [{"$type": value}, "string"]}, {"$strLenCP": value}, None]}
        group[f"ln_{i}"] = {"$min": strlen}
        group[f"lx_{i}"] = {"$max": strlen}
        group[f"la_{i}"] = {"$avg": strlen}
    rows = await resource.aggregate(
        coll_name, [{"$group": group}], allow_disk_use=True, collation=MONGO_CODE_POINTS
    )
    agg = rows[0] if rows else {"n": 0}
    total = int(agg.get("n", 0))
    if progress is not None:
        progress(total, total)
    samples = await resource.aggregate(
        coll_name, [{"$limit": max(options.sample_size, 200)}], collation=MONGO_CODE_POINTS
    )
    fields: dict[str, FieldStatistics] = {}
    for i, name in enumerate(names):
        ftype = schema.fields[name].type
        nn = int(agg.get(f"nn_{i}", 0))
        value = _get(name)
        facet = await resource.aggregate(
            coll_name,
            [
                {"$project": {"v": value, "_id": 0}},
                {"$match": {"v": {"$ne": None}}},
                {"$group": {"_id": "$v", "c": {"$sum": 1}}},
                {
                    "$facet": {
                        # Ties by value (BSON order: numbers, then strings byte by byte, ...),
                        # as _order ranks them, so that the $limit keeps the same values.
                        "top": [
                            {"$sort": {"c": -1, "_id": 1}},
                            {"$limit": max(options.top_k, options.categorical_threshold + 1)},
                        ],
                        "n": [{"$count": "n"}],
                    }
                },
            ],
            allow_disk_use=True,
            collation=MONGO_CODE_POINTS,
        )
        top_docs = facet[0]["top"] if facet else []
        unique = int(facet[0]["n"][0]["n"]) if facet and facet[0]["n"] else 0
        types = await resource.aggregate(
            coll_name,
            [{"$group": {"_id": {"$type": value}, "c": {"$sum": 1}}}],
            collation=MONGO_CODE_POINTS,
        )
        type_counts = {
            BSON_TYPES.get(t["_id"], t["_id"]): int(t["c"])
            for t in types
            if t["_id"] not in ("missing", "null")
        }
        fs = FieldStatistics(
            name=name,
            type=ftype,
            format=schema.fields[name].format,
            count=total,
            null_count=total - nn,
            unique_count=unique,
            type_counts=type_counts,
        )
        if agg.get(f"av_{i}") is not None:
            fs.mean = _float(agg[f"av_{i}"])
            fs.stddev = _float(agg[f"sd_{i}"]) if agg.get(f"sd_{i}") is not None else None
        if ftype == "UUID":
            fs.min, fs.max = _uuid_bound(agg, i, least=True), _uuid_bound(agg, i, least=False)
        elif ftype not in {"object", "list"} and " | " not in ftype:
            fs.min, fs.max = agg.get(f"mn_{i}"), agg.get(f"mx_{i}")
            if ftype in {"date", "datetime"}:
                fs.date_min, fs.date_max = fs.min, fs.max
        if agg.get(f"ln_{i}") is not None:
            fs.min_length, fs.max_length = int(agg[f"ln_{i}"]), int(agg[f"lx_{i}"])
            fs.avg_length = float(agg[f"la_{i}"])
        pairs = rank_counts(((d["_id"], int(d["c"])) for d in top_docs), options.top_k)
        fs.top_values = [ValueCount(value=v, count=c) for v, c in pairs]
        categorical = (
            0 < unique <= options.categorical_threshold
            and unique < nn
            and ftype not in {"object", "list"}
        )
        fs.is_categorical = categorical
        if categorical:
            fs.distinct_values = sorted_values(d["_id"] for d in top_docs)
        if nn:
            fs.cardinality = "low" if categorical else "high"
        seen: list[Any] = []
        for doc in samples:
            v = doc.get(name)
            if v is not None and v not in seen:
                seen.append(v)
            if len(seen) >= options.sample_size:
                break
        fs.sample_values = seen
        strs = [d.get(name) for d in samples if isinstance(d.get(name), str)]
        if strs:
            for pname, pattern in PATTERNS.items():
                share = sum(1 for v in strs if pattern.fullmatch(v)) / len(strs)
                if share >= options.pattern_threshold:
                    fs.pattern, fs.pattern_share = pname, share
                    break
        present = sum(type_counts.values())
        fs.quality = DataQuality(
            completeness=nn / total if total else 0.0,
            uniqueness=min(unique / nn, 1.0) if nn else 0.0,
            validity=fs.pattern_share if fs.pattern and fs.pattern_share else 1.0,
            consistency=max(type_counts.values()) / present if present else 1.0,
        )
        fields[name] = fs
    if total:
        await mongodb_distributions(resource, schema, fields, options=options)
    return total, fields, samples[: options.sample_size]
