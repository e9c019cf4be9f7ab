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
- string lengths: counted per length by the database, binned here.

Large tables on an engine that offers it (DuckDB) use its approximate quantiles instead
(``approx_quantile``): ``quantiles_exact`` is then false.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xinspector._schema import CollectionSchema
from xinspector._types import is_numeric_type
from xinspector.profiling._distribution import (
    TEMPORAL_TYPES,
    apply_histogram,
    apply_length_histogram,
    apply_quantiles,
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
        return f"epoch({col})"
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
    approximate: bool = False,
) -> None:
    """Fill ``quantiles``, ``histogram`` and ``length_histogram`` of ``fields`` in place."""
    dialect = db.dialect.name
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
    if exprs:
        await _numeric(db, table_sql, schema, fields, exprs, options, approximate=approximate)
    for name, fs in fields.items():
        if fs.min_length is None:
            continue
        col = q(name)
        rows = await db.fetch_all(
            f"SELECT {_length(dialect, col)} AS n, count(*) AS c FROM {table_sql} "  # noqa: S608
            f"WHERE {col} IS NOT NULL GROUP BY 1"
        )
        apply_length_histogram(
            fs, [(r["n"], r["c"]) for r in rows if r["n"] is not None], options.histogram_bins
        )


async def _numeric(
    db: SQLDatabaseResource,
    table_sql: str,
    schema: CollectionSchema,
    fields: dict[str, FieldStatistics],
    exprs: dict[str, str],
    options: ProfileOptions,
    *,
    approximate: bool,
) -> None:
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
            fn = "approx_quantile" if approximate else "quantile_cont"
            select.append(f"{fn}({e}, [{', '.join(map(repr, _LEVELS))}]) AS q_{i}")
    row = await db.fetch_one(f"SELECT {', '.join(select)} FROM {table_sql}")  # noqa: S608
    assert row is not None
    for i, name in enumerate(names):
        fs = fields[name]
        ftype = schema.fields[name].type
        n = int(row[f"n_{i}"] or 0)
        if not n:
            continue
        lo, hi = float(row[f"lo_{i}"]), float(row[f"hi_{i}"])
        aware = ftype in TEMPORAL_TYPES and _aware(fs)
        if f"q_{i}" in row:
            values = [float(v) for v in row[f"q_{i}"]]
            exact = not approximate
        else:
            values = await _ranked_quantiles(db, table_sql, exprs[name], n)
            exact = True
        apply_quantiles(fs, values, exact=exact, type_name=ftype, aware=aware)
        if not math.isfinite(hi - lo):
            continue
        counts: dict[int, int] = {}
        if hi > lo:
            e = exprs[name]
            p: Callable[[int], str] = lambda k: _param(db, k)  # noqa: E731
            bin_sql = _floor(
                dialect, f"({e} - {p(1)}) * {options.histogram_bins} / ({p(2)} - {p(3)})"
            )
            rows = await db.fetch_all(
                f"SELECT {bin_sql} AS b, count(*) AS c FROM {table_sql} "  # noqa: S608
                f"WHERE {e} IS NOT NULL GROUP BY 1",
                [lo, hi, lo],
            )
            counts = {int(r["b"]): int(r["c"]) for r in rows}
        else:
            counts = {0: n}
        apply_histogram(fs, lo, hi, options.histogram_bins, counts, type_name=ftype, aware=aware)


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
