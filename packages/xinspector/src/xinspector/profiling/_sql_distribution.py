"""Quantiles and histograms computed by SQL databases, with the definitions of :mod:`._quantiles`.

Numeric columns are read as binary64 (``CAST(... AS DOUBLE)``) and temporal columns as epoch
seconds, so that every backend does the same arithmetic as the streaming profiler:

- one scan gives, for every such column, how many values it has and their minimum and maximum;
- quantiles: PostgreSQL ``percentile_cont`` and DuckDB ``quantile_cont`` (all columns in one
  scan); SQLite and MariaDB, which have no ordered-set aggregate, number the sorted values with
  ``ROW_NUMBER()`` and return only the rows at the ranks that the interpolation needs;
- histograms: ``floor((x - lo) * bins / (hi - lo))`` grouped and counted, the bounds bound as
  parameters (never as text, which a server might round differently), the maximum's bin folded
  into the last one here; PostgreSQL's ``width_bucket`` is not used because it computes the bin
  its own way, and a value on an edge could land one bin over from the other backends;
- string lengths: counted per length by the database, binned here;
- PostgreSQL and DuckDB count every histogram and every length distribution of a table in one
  scan (``GROUP BY GROUPING SETS``); SQLite and MariaDB, which have no grouping sets, one scan
  each.

Every one of these quantiles is exact (``quantiles_exact``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from xinspector._schema import CollectionSchema
from xinspector._types import is_numeric_type
from xinspector.profiling._distribution import (
    TEMPORAL_TYPES,
    apply_histogram,
    apply_length_histogram,
    apply_quantiles,
    epoch_of,
)
from xinspector.profiling._options import ProfileOptions
from xinspector.profiling._stats import QUANTILE_LEVELS, FieldStatistics
from xresource import SQLDatabaseResource

__all__ = ["sql_distributions"]

_LEVELS = list(QUANTILE_LEVELS.values())


def _double(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        return f"CAST({expr} AS DOUBLE PRECISION)"
    if dialect == "sqlite":
        return f"CAST({expr} AS REAL)"
    return f"CAST({expr} AS DOUBLE)"


def _epoch(dialect: str, col: str) -> str:
    """Epoch seconds of a date/datetime column (wall-clock for naive values, UTC for aware)."""
    if dialect == "postgresql":
        return f"CAST(extract(epoch FROM {col}) AS DOUBLE PRECISION)"
    if dialect == "mysql":
        return f"(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {col}) / 1e6)"
    if dialect == "duckdb":
        return f"(CAST(epoch_us({col}) AS DOUBLE) / 1e6)"  # exact microseconds, then one rounding
    # SQLite keeps dates as text: whole seconds from strftime('%s'), milliseconds from '%f'.
    return (
        f"(CAST(strftime('%s', {col}) AS REAL) + CAST(strftime('%f', {col}) AS REAL)"
        f" - CAST(strftime('%S', {col}) AS REAL))"
    )


def _length(dialect: str, col: str) -> str:
    if dialect == "mysql":
        return f"CHAR_LENGTH({col})"
    if dialect == "postgresql":
        return f"length({col}::text)"
    return f"length({col})"


def _param(db: SQLDatabaseResource, index: int) -> str:
    p = db.dialect.param(index)
    if db.dialect.name == "postgresql":
        return f"{p}::float8"
    if db.dialect.name == "duckdb":
        return f"CAST({p} AS DOUBLE)"
    return p


def _floor(dialect: str, expr: str) -> str:
    # SQLite has floor() only when built with the math functions; the value is never negative
    # here, where truncation is the floor.
    return f"CAST({expr} AS INTEGER)" if dialect == "sqlite" else f"floor({expr})"


def _aware(fs: FieldStatistics) -> bool:
    value = fs.min
    return getattr(value, "tzinfo", None) is not None and value.utcoffset() is not None


async def sql_distributions(
    db: SQLDatabaseResource,
    table_sql: str,
    schema: CollectionSchema,
    fields: dict[str, FieldStatistics],
    *,
    options: ProfileOptions,
    sample_percent: float | None = None,
) -> None:
    """Fill ``quantiles``, ``histogram`` and ``length_histogram`` of ``fields`` in place.

    ``sample_percent`` (PostgreSQL): compute them over that share of the rows (``TABLESAMPLE
    BERNOULLI``, repeatable), as the planner's statistics of a large table are; quantiles are
    then estimates (``quantiles_exact=False``) and the counts are scaled to the whole table, over
    the true minimum and maximum.
    """
    dialect = db.dialect.name
    if sample_percent is not None and dialect == "postgresql":
        table_sql = f"{table_sql} TABLESAMPLE BERNOULLI ({sample_percent:.6f}) REPEATABLE (19)"
    else:
        sample_percent = None
    q = db.dialect.quote
    exprs: dict[str, str] = {}
    for name, fs in fields.items():
        ftype = schema.fields[name].type
        if fs.non_null_count == 0:
            continue
        if is_numeric_type(ftype):
            exprs[name] = _double(dialect, q(name))
        elif ftype in TEMPORAL_TYPES:
            exprs[name] = _epoch(dialect, q(name))
    # What to group and count: (field, SQL of the group key, its parameters, what to do).
    groups: list[_Group] = []
    if exprs:
        groups += await _numeric(
            db, table_sql, schema, fields, exprs, options, sampled=sample_percent is not None
        )
    for name, fs in fields.items():
        if fs.min_length is not None:
            groups.append(_Group(name, _length(dialect, q(name)), [], "lengths", 0.0, 0.0))
    counted = await _count_groups(db, table_sql, groups)
    bins = options.histogram_bins
    for group, counts in zip(groups, counted, strict=True):
        fs = fields[group.name]
        if sample_percent is not None:
            counts = _scaled(counts, fs.non_null_count)
        if group.kind == "lengths":
            bounds = (fs.min_length, fs.max_length) if sample_percent is not None else None
            apply_length_histogram(fs, counts.items(), bins, bounds=bounds)
            continue
        ftype = schema.fields[group.name].type
        aware = ftype in TEMPORAL_TYPES and _aware(fs)
        apply_histogram(fs, group.lo, group.hi, bins, counts, type_name=ftype, aware=aware)


class _Group(NamedTuple):
    """One grouped count: a histogram's bins or a text field's lengths."""

    name: str
    key: str
    params: list[float]
    kind: str  # "bins" or "lengths"
    lo: float
    hi: float


async def _count_groups(
    db: SQLDatabaseResource, table_sql: str, groups: list[_Group]
) -> list[dict[int, int]]:
    """``{key: count}`` of each group (nulls left out). PostgreSQL and DuckDB count every
    group in one scan (``GROUPING SETS``); SQLite and MariaDB, which have none, one scan each."""
    if not groups:
        return []
    dialect = db.dialect.name
    if dialect not in {"postgresql", "duckdb"} or len(groups) == 1:
        out = []
        for g in groups:
            key = _numbered(db, g.key, 0)
            rows = await db.fetch_all(
                f"SELECT {key} AS k, count(*) AS c FROM {table_sql} GROUP BY 1",  # noqa: S608
                g.params,
            )
            out.append({int(r["k"]): int(r["c"]) for r in rows if r["k"] is not None})
        return out
    keys: list[str] = []
    params: list[float] = []
    for i, g in enumerate(groups):
        keys.append(f"{_numbered(db, g.key, len(params))} AS k_{i}")
        params += g.params
    flags = ", ".join(f"GROUPING(k_{i}) AS g_{i}" for i in range(len(groups)))
    names = ", ".join(f"k_{i}" for i in range(len(groups)))
    sets = ", ".join(f"(k_{i})" for i in range(len(groups)))
    rows = await db.fetch_all(
        f"SELECT {names}, {flags}, count(*) AS c FROM (SELECT {', '.join(keys)} "  # noqa: S608
        f"FROM {table_sql}) keyed GROUP BY GROUPING SETS ({sets})",
        params,
    )
    out = [{} for _ in groups]
    for r in rows:
        for i in range(len(groups)):
            # GROUPING(k_i) = 0: this row groups by k_i; its NULL group is the nulls.
            if r[f"g_{i}"] == 0 and r[f"k_{i}"] is not None:
                out[i][int(r[f"k_{i}"])] = int(r["c"])
                break
    return out


def _slot(k: int) -> str:
    # NUL never occurs in a quoted identifier (the dialect refuses it): a safe marker.
    return f"\x00p{k}\x00"


def _numbered(db: SQLDatabaseResource, key: str, offset: int) -> str:
    """``key`` with its parameter slots numbered from ``offset + 1``."""
    for k in range(1, 4):
        key = key.replace(_slot(k), _param(db, offset + k))
    return key


async def _numeric(
    db: SQLDatabaseResource,
    table_sql: str,
    schema: CollectionSchema,
    fields: dict[str, FieldStatistics],
    exprs: dict[str, str],
    options: ProfileOptions,
    *,
    sampled: bool,
) -> list[_Group]:
    """Quantiles of the numeric and temporal fields (set on them), and their histograms' bins
    to count."""
    dialect = db.dialect.name
    names = list(exprs)
    select = []
    for i, name in enumerate(names):
        e = exprs[name]
        select += [f"count({e}) AS n_{i}", f"min({e}) AS lo_{i}", f"max({e}) AS hi_{i}"]
        if dialect == "postgresql":
            levels = ", ".join(map(repr, _LEVELS))
            select.append(
                f"percentile_cont(ARRAY[{levels}]::float8[]) WITHIN GROUP (ORDER BY {e}) AS q_{i}"
            )
        elif dialect == "duckdb":
            select.append(f"quantile_cont({e}, [{', '.join(map(repr, _LEVELS))}]) AS q_{i}")
    row = await db.fetch_one(f"SELECT {', '.join(select)} FROM {table_sql}")  # noqa: S608
    assert row is not None
    groups: list[_Group] = []
    for i, name in enumerate(names):
        fs = fields[name]
        ftype = schema.fields[name].type
        n = int(row[f"n_{i}"] or 0)
        if not n:
            continue
        lo, hi = float(row[f"lo_{i}"]), float(row[f"hi_{i}"])
        if sampled:  # the bins span the whole table: its minimum and maximum, as doubles
            bounds = _as_double(fs.min, ftype), _as_double(fs.max, ftype)
            if bounds[0] is None or bounds[1] is None:
                continue
            lo, hi = bounds[0], bounds[1]
        aware = ftype in TEMPORAL_TYPES and _aware(fs)
        if f"q_{i}" in row:
            values = [float(v) for v in row[f"q_{i}"]]
        else:
            values = await _ranked_quantiles(db, table_sql, exprs[name], n)
        apply_quantiles(fs, values, exact=not sampled, type_name=ftype, aware=aware)
        if not math.isfinite(hi - lo):
            continue
        if hi > lo:
            # The placeholders are numbered when the query is put together.
            key = _floor(
                dialect,
                f"({exprs[name]} - {_slot(1)}) * {options.histogram_bins} "
                f"/ ({_slot(2)} - {_slot(3)})",
            )
            groups.append(_Group(name, key, [lo, hi, lo], "bins", lo, hi))
        else:
            count = fs.non_null_count if sampled else n
            apply_histogram(
                fs, lo, hi, options.histogram_bins, {0: count}, type_name=ftype, aware=aware
            )
    return groups


def _as_double(value: Any, ftype: str) -> float | None:
    """A bound as the SQL expressions read it: binary64, temporal values as epoch seconds
    (Python's conversions round as PostgreSQL's do: both are correctly rounded)."""
    try:
        if ftype in TEMPORAL_TYPES:
            return epoch_of(value)[0]
        return float(value)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None


def _scaled(counts: dict[int, int], total: int) -> dict[int, int]:
    """Sampled counts scaled to ``total`` (largest remainders, so that they add up to it)."""
    seen = sum(counts.values())
    if not seen:
        return {}
    shares = {k: c * total / seen for k, c in counts.items()}
    out = {k: int(v) for k, v in shares.items()}
    left = total - sum(out.values())
    for k in sorted(shares, key=lambda k: shares[k] - out[k], reverse=True)[:left]:
        out[k] += 1
    return out


async def _ranked_quantiles(
    db: SQLDatabaseResource, table_sql: str, expr: str, n: int
) -> list[float]:
    """Exact quantiles where there is no ordered-set aggregate: the values at the ranks that
    the linear interpolation needs, numbered by ``ROW_NUMBER()`` over one sort."""
    wanted: set[int] = set()
    positions = []
    for level in _LEVELS:
        pos = level * (n - 1)
        below = math.floor(pos)
        positions.append((below, min(below + 1, n - 1), pos - below))
        wanted.update((below, min(below + 1, n - 1)))
    ranks = ", ".join(str(r) for r in sorted(wanted))
    rows = await db.fetch_all(
        f"SELECT v, rn FROM (SELECT {expr} AS v, ROW_NUMBER() OVER (ORDER BY {expr}) - 1 AS rn "  # noqa: S608
        f"FROM {table_sql} WHERE {expr} IS NOT NULL) ranked WHERE rn IN ({ranks})"
    )
    at: dict[int, float] = {int(r["rn"]): float(r["v"]) for r in rows}
    out = []
    for below, above, frac in positions:
        lo = at[below]
        out.append(lo if frac == 0 else lo + (at[above] - lo) * frac)
    return out
