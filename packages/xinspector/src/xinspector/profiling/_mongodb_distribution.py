"""Quantiles and histograms computed by MongoDB, with the definitions of :mod:`._quantiles`.

Numbers are read as doubles (``$toDouble``) and dates as epoch seconds (``$toLong`` is epoch
milliseconds), values of any other BSON type are left out, so that the arithmetic is the
streaming profiler's. Per field:

- one ``$group`` counts the values and finds their minimum and maximum;
- quantiles: ``$percentile`` (approximate, ``quantiles_exact=False``) on servers that have it
  (7.0 and later, read from ``buildInfo`` at run time); otherwise exact, by numbering the sorted
  values with ``$setWindowFields``/``$documentNumber`` (5.0 and later) and keeping the ranks
  the interpolation needs, or with ``$sort``/``$skip``/``$limit`` per rank on older servers;
- the histogram: the bin ``$floor((x - lo) * bins / (hi - lo))`` grouped and counted, the
  arithmetic of every other backend (``$bucket`` compares with precomputed edges instead, and
  a value on an edge could land one bin over from them);
- string lengths: ``$strLenCP`` (code points, as Python's ``len``) grouped and counted.
"""

from __future__ import annotations

import math
from typing import Any

from xinspector._schema import CollectionSchema
from xinspector._types import MONGO_CODE_POINTS, is_numeric_type
from xinspector.profiling._distribution import (
    TEMPORAL_TYPES,
    apply_histogram,
    apply_length_histogram,
    apply_quantiles,
)
from xinspector.profiling._options import ProfileOptions
from xinspector.profiling._stats import QUANTILE_LEVELS, FieldStatistics

__all__ = ["mongodb_distributions", "server_version"]

_LEVELS = list(QUANTILE_LEVELS.values())
_NUMBER_TYPES = ["int", "long", "double", "decimal"]


def _get(name: str) -> dict[str, Any]:
    return {"$getField": {"field": {"$literal": name}, "input": "$$ROOT"}}


async def server_version(resource: Any) -> tuple[int, ...]:
    """The server's version as numbers (``(6, 0, 5)``); ``()`` when it does not say."""
    try:
        info = await resource.db.command("buildInfo")
    except Exception:  # a server or proxy that refuses buildInfo: assume the oldest features
        return ()
    return tuple(int(p) for p in info.get("versionArray", [])[:3])


def _value(name: str, ftype: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(match on the usable values, the value as a double)`` of a numeric or date field."""
    v = _get(name)
    if is_numeric_type(ftype):
        return {"$in": [{"$type": v}, _NUMBER_TYPES]}, {"$toDouble": v}
    if ftype in TEMPORAL_TYPES:
        return {"$eq": [{"$type": v}, "date"]}, {"$divide": [{"$toLong": v}, 1000]}
    return None


async def mongodb_distributions(
    resource: Any,
    schema: CollectionSchema,
    fields: dict[str, FieldStatistics],
    *,
    options: ProfileOptions,
) -> None:
    """Fill ``quantiles``, ``histogram`` and ``length_histogram`` of ``fields`` in place."""
    coll = schema.name
    version: tuple[int, ...] | None = None
    bins = options.histogram_bins
    for name, fs in fields.items():
        ftype = schema.fields[name].type
        if fs.min_length is not None:
            v = _get(name)
            rows = await resource.aggregate(
                coll,
                [
                    {"$match": {"$expr": {"$eq": [{"$type": v}, "string"]}}},
                    {"$group": {"_id": {"$strLenCP": v}, "c": {"$sum": 1}}},
                ],
                allow_disk_use=True,
                collation=MONGO_CODE_POINTS,
            )
            apply_length_histogram(fs, [(r["_id"], r["c"]) for r in rows], bins)
        spec = _value(name, ftype)
        if spec is None or fs.non_null_count == 0:
            continue
        match, x = spec
        base: list[dict[str, Any]] = [
            {"$match": {"$expr": match}},
            {"$project": {"_id": 0, "x": x}},
        ]
        agg = await resource.aggregate(
            coll,
            [
                *base,
                {
                    "$group": {
                        "_id": None,
                        "n": {"$sum": 1},
                        "lo": {"$min": "$x"},
                        "hi": {"$max": "$x"},
                    }
                },
            ],
            allow_disk_use=True,
            collation=MONGO_CODE_POINTS,
        )
        if not agg or not agg[0]["n"]:
            continue
        n, lo, hi = int(agg[0]["n"]), float(agg[0]["lo"]), float(agg[0]["hi"])
        if version is None:
            version = await server_version(resource)
        aware = ftype in TEMPORAL_TYPES and getattr(fs.min, "tzinfo", None) is not None
        values, exact = await _quantiles(resource, coll, base, n, version)
        apply_quantiles(fs, values, exact=exact, type_name=ftype, aware=aware)
        if not math.isfinite(hi - lo):
            continue
        counts: dict[int, int] = {0: n}
        if hi > lo:
            index = {
                "$floor": {"$divide": [{"$multiply": [{"$subtract": ["$x", lo]}, bins]}, hi - lo]}
            }
            rows = await resource.aggregate(
                coll,
                [*base, {"$group": {"_id": index, "c": {"$sum": 1}}}],
                allow_disk_use=True,
                collation=MONGO_CODE_POINTS,
            )
            counts = {int(r["_id"]): int(r["c"]) for r in rows}
        apply_histogram(fs, lo, hi, bins, counts, type_name=ftype, aware=aware)


async def _quantiles(
    resource: Any, coll: str, base: list[dict[str, Any]], n: int, version: tuple[int, ...]
) -> tuple[list[float], bool]:
    if version >= (7, 0):
        rows = await resource.aggregate(
            coll,
            [
                *base,
                {
                    "$group": {
                        "_id": None,
                        "q": {
                            "$percentile": {"input": "$x", "p": _LEVELS, "method": "approximate"}
                        },
                    }
                },
            ],
            allow_disk_use=True,
            collation=MONGO_CODE_POINTS,
        )
        return [float(v) for v in rows[0]["q"]], False
    positions = []
    wanted: set[int] = set()
    for level in _LEVELS:
        pos = level * (n - 1)
        below = math.floor(pos)
        above = min(below + 1, n - 1)
        positions.append((below, above, pos - below))
        wanted.update((below, above))
    at: dict[int, float] = {}
    if version >= (5, 0):
        rows = await resource.aggregate(
            coll,
            [
                *base,
                {
                    "$setWindowFields": {
                        "sortBy": {"x": 1},
                        "output": {"rn": {"$documentNumber": {}}},
                    }
                },
                {"$match": {"rn": {"$in": [r + 1 for r in sorted(wanted)]}}},
            ],
            allow_disk_use=True,
            collation=MONGO_CODE_POINTS,
        )
        at = {int(r["rn"]) - 1: float(r["x"]) for r in rows}
    else:
        for rank in sorted(wanted):
            rows = await resource.aggregate(
                coll,
                [*base, {"$sort": {"x": 1}}, {"$skip": rank}, {"$limit": 1}],
                allow_disk_use=True,
                collation=MONGO_CODE_POINTS,
            )
            at[rank] = float(rows[0]["x"])
    out = []
    for below, above, frac in positions:
        lo = at[below]
        out.append(lo if frac == 0 else lo + (at[above] - lo) * frac)
    return out, True
