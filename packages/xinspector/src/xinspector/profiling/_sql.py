"""Profiling SQL tables where the data lives: aggregates, ``GROUP BY`` and planner statistics.

One scan computes, for every column at once, the non-null count, min/max, mean and standard
deviation (numbers), string lengths and (for tables up to ``exact_rows``) exact distinct counts.
Larger PostgreSQL tables take their distinct counts and most common values from the planner's
statistics (``pg_stats``, refreshed with ``ANALYZE`` when missing): approximate, as the
``unique_exact``/``top_values_exact`` flags say. Low-cardinality columns always get an exact
``GROUP BY``. Quantiles, histograms and string-length histograms come from the database too
(:mod:`._sql_distribution`). Only aggregates cross the wire, never the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from xinspector._schema import CollectionSchema
from xinspector._types import PATTERNS, is_numeric_type
from xinspector.profiling._options import ProfileOptions, ProgressCallback
from xinspector.profiling._order import rank_counts, sorted_values
from xinspector.profiling._sql_distribution import sql_distributions
from xinspector.profiling._sql_uuid import uuid_bounds, uuid_key, uuid_order
from xinspector.profiling._stats import DataQuality, FieldStatistics, ValueCount
from xinspector.profiling._values import convert_text, safe
from xresource import SQLDatabaseResource, XResourceQueryError

__all__ = ["profile_sql_table"]

log = logging.getLogger("xinspector.profiling")

_NO_MINMAX = {"json", "bytes", "list", "object", "dict", "bool", "Any"}
_STR_LIKE = {"str"}


def _length_fn(dialect: str) -> str:
    return "CHAR_LENGTH" if dialect == "mysql" else "length"


def _exact(dialect: str, col: str, ftype: str, native: str | None = None) -> str:
    """``col`` as counted, grouped and compared: text by its code points, as Python compares it
    (``native``: the column's own type, as discovery reports it).

    MariaDB's default collation (``utf8mb4_general_ci``) makes ``'a' = 'A' = 'á' = 'a '``, so
    its ``count(DISTINCT)`` and ``GROUP BY`` would merge what every other backend counts apart:
    text is converted to ``utf8mb4_nopad_bin`` (UTF-8 bytes, no padding). SQLite and DuckDB
    compare bytes by default; ``BINARY``/``binary`` undo a column's declared ``NOCASE``.
    PostgreSQL's ``COLLATE "C"`` compares UTF-8 bytes whatever the column's or the database's
    locale (``en_US`` puts ``'a'`` before ``'B'``, ICU ``'á'`` before ``'Z'``: the minimum and
    maximum of a table differed from the same values in a file); an enumeration or ``citext``
    compares as its text (``::text``: they take no collation), ``char(n)`` as itself (the cast
    would drop its padding, which its values keep). Enumerations and sets count as their
    labels' text, as they do when streamed. UUIDs count once per UUID whatever their spelling
    (see :mod:`._sql_uuid`).
    """
    if ftype == "UUID":
        return uuid_key(dialect, col)
    if ftype != "str":
        return col
    if dialect == "postgresql":
        padded = (native or "").split("(")[0].strip() in {"character", "char", "bpchar"}
        return f'{col} COLLATE "C"' if padded else f'{col}::text COLLATE "C"'
    if dialect == "mysql":
        return f"CONVERT({col} USING utf8mb4) COLLATE utf8mb4_nopad_bin"
    if dialect == "sqlite":
        return f"{col} COLLATE BINARY"
    if dialect == "duckdb":
        # The cast (free on VARCHAR) lets an ENUM, which takes no collation, compare as text.
        return f'CAST({col} AS VARCHAR) COLLATE "binary"'
    return col


def _order_by(dialect: str, key: str, ftype: str) -> str:
    """``key`` (a column as :func:`_exact` gives it) ascending as
    :func:`~xinspector.profiling._order.value_key` orders values of one SQL type: numbers, dates
    and booleans natively (NaN last in PostgreSQL and DuckDB, as there), text in code-point
    order (the key's binary collation). It decides which of the values tied at a ``LIMIT`` come
    back; the rows are sorted again in Python."""
    if ftype == "UUID":
        return uuid_order(dialect, key)
    return key


async def profile_sql_table(
    db: SQLDatabaseResource,
    schema: CollectionSchema,
    *,
    options: ProfileOptions,
    exact_rows: int = 200_000,
    analyze: bool = True,
    progress: ProgressCallback | None = None,
) -> tuple[int, dict[str, FieldStatistics], list[dict[str, Any]]]:
    """``(total rows, statistics per column, sample rows)`` computed by the database."""
    d = db.dialect
    dialect = d.name
    table_sql = d.qualified(schema.schema_name if dialect == "postgresql" else None, schema.name)
    names = list(schema.fields)
    pg_stats: dict[str, dict[str, Any]] = {}
    estimate = schema.row_estimate
    if dialect == "postgresql" and (estimate is None or estimate > exact_rows):
        pg_stats = await _pg_stats(db, schema, analyze=analyze)
        estimate = await db.fetch_value(
            "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
            [schema.schema_name, schema.name],
        )
    use_stats = dialect == "postgresql" and bool(pg_stats) and (estimate or 0) > exact_rows
    # DuckDB has no planner statistics but fast sketches: large tables get approximate
    # distinct counts (HyperLogLog) and, for columns of many values, approximate top values.
    sketches = dialect == "duckdb" and (estimate or 0) > exact_rows
    select = ["count(*) AS n"]
    length = _length_fn(dialect)
    for i, name in enumerate(names):
        col = d.quote(name)
        ftype = schema.fields[name].type
        key = _exact(dialect, col, ftype, schema.fields[name].db_type)
        select.append(f"count({col}) AS nn_{i}")
        if dialect == "duckdb" and ftype not in {"json", "list", "object", "dict"}:
            # As the streaming pass: exact up to exact_distinct_limit values, HyperLogLog
            # beyond (the exact counts follow in a second query, for the columns below it).
            select.append(f"approx_count_distinct({key}) AS ad_{i}")
        elif not use_stats and ftype not in {"json", "list", "object", "dict"}:
            select.append(f"count(DISTINCT {key}) AS nd_{i}")
        if ftype == "UUID":
            lo, hi = uuid_bounds(dialect, col, table_sql)
            select += [f"{lo} AS mn_{i}", f"{hi} AS mx_{i}"]
        elif ftype not in _NO_MINMAX:
            select.append(f"min({key}) AS mn_{i}")
            select.append(f"max({key}) AS mx_{i}")
        if is_numeric_type(ftype):
            cast = "::float8" if dialect == "postgresql" else ""
            std = "stddev_samp" if dialect != "sqlite" else None
            select.append(f"avg({col}{cast}) AS av_{i}")
            if std:
                select.append(f"{std}({col}{cast}) AS sd_{i}")
            else:
                # SQLite has no stddev: the variance from two sums, over the same scan.
                select.append(f"avg(({col}) * ({col})) AS sq_{i}")
        if ftype in _STR_LIKE:
            # PostgreSQL has no length() of an enum type (nor of citext on old servers).
            text = f"{col}::text" if dialect == "postgresql" else col
            select.append(f"min({length}({text})) AS ln_{i}")
            select.append(f"max({length}({text})) AS lx_{i}")
            select.append(f"avg({length}({text})) AS la_{i}")
    log.info("profiling %s by pushdown (%d columns)", schema.name, len(names))
    row = await db.fetch_one(f"SELECT {', '.join(select)} FROM {table_sql}")  # noqa: S608
    assert row is not None
    picked: dict[str, list[Any]] = {}
    if dialect == "duckdb":
        exact_cols = [
            _exact(dialect, d.quote(n), schema.fields[n].type, schema.fields[n].db_type)
            for n in names
        ]
        row = await _exact_distinct(db, table_sql, exact_cols, dict(row), options)
        if sketches:
            picked = await _approx_top_values(db, table_sql, names, row, options)
    total = int(row["n"])
    if progress is not None:
        progress(total, total)
    sample_limit = int(max(options.sample_size, 200))
    sample_rows = await db.fetch_all(f"SELECT * FROM {table_sql} LIMIT {sample_limit}")  # noqa: S608
    fields: dict[str, FieldStatistics] = {}
    grouped: dict[str, tuple[list[tuple[Any, int]], int | None, list[Any] | None]] | None = None
    for i, name in enumerate(names):
        fschema = schema.fields[name]
        ftype, native = fschema.type, fschema.db_type
        nn = int(row[f"nn_{i}"])
        fs = FieldStatistics(
            name=name, type=ftype, format=fschema.format, count=total, null_count=total - nn
        )
        if f"nd_{i}" in row:
            fs.unique_count = int(row[f"nd_{i}"])
            fs.unique_exact = True
        elif f"ad_{i}" in row:
            fs.unique_count = min(int(row[f"ad_{i}"]), nn)
            fs.unique_exact = False
        else:
            fs.unique_count = _pg_distinct(pg_stats.get(name), total, nn)
            fs.unique_exact = False
        if f"mn_{i}" in row:
            fs.min, fs.max = _value(row[f"mn_{i}"], ftype), _value(row[f"mx_{i}"], ftype)
            if ftype in {"date", "datetime"}:
                fs.date_min, fs.date_max = fs.min, fs.max
        if f"av_{i}" in row and row[f"av_{i}"] is not None:
            fs.mean = float(row[f"av_{i}"])
            if f"sd_{i}" in row and row[f"sd_{i}"] is not None:
                fs.stddev = float(row[f"sd_{i}"])
            elif f"sq_{i}" in row and row[f"sq_{i}"] is not None and nn > 1:
                var = (float(row[f"sq_{i}"]) - fs.mean**2) * nn / (nn - 1)
                fs.stddev = max(var, 0.0) ** 0.5
            elif nn == 1:  # one value deviates by nothing (as the streaming pass says)
                fs.stddev = 0.0
        if f"ln_{i}" in row and row[f"ln_{i}"] is not None:
            fs.min_length, fs.max_length = int(row[f"ln_{i}"]), int(row[f"lx_{i}"])
            fs.avg_length = float(row[f"la_{i}"])
        if ftype not in {"json", "list", "object", "dict"}:
            if name in picked:
                fs.top_values = await _counted(db, table_sql, name, ftype, picked[name], native)
                fs.top_values_exact = False
            elif fs.unique_count <= options.categorical_threshold * 2 or not use_stats:
                if use_stats and grouped is None:
                    grouped = await _grouping_sets(db, table_sql, schema, pg_stats, total, options)
                top = (grouped or {}).get(name) or await _group_by(
                    db,
                    table_sql,
                    name,
                    ftype,
                    options,
                    exact_all=fs.unique_count <= options.categorical_threshold,
                    native=native,
                )
                fs.top_values = [ValueCount(value=_value(v, ftype), count=c) for v, c in top[0]]
                if top[1] is not None:
                    fs.unique_count, fs.unique_exact = top[1], True
                fs.top_values_exact = True
                if top[2] is not None:
                    fs.distinct_values = [_value(v, ftype) for v in top[2]]
            else:
                fs.top_values = _pg_top(pg_stats.get(name), total, ftype, options.top_k)
                fs.top_values_exact = False
        present = [r[name] for r in sample_rows if r.get(name) is not None]
        seen: list[Any] = []
        for v in present:
            if v not in seen:
                seen.append(v)
            if len(seen) >= options.sample_size:
                break
        fs.sample_values = seen
        categorical = (
            fs.unique_exact
            and 0 < fs.unique_count <= options.categorical_threshold
            and fs.unique_count < nn
        )
        fs.is_categorical = categorical
        if not categorical:
            fs.distinct_values = None
        if nn:
            fs.cardinality = "low" if categorical else "high"
        if ftype == "str" and present:
            strs = [v for v in present if isinstance(v, str)]
            best, share = None, 0.0
            for pname, pattern in PATTERNS.items():
                hits = sum(1 for v in strs if pattern.fullmatch(v))
                if strs and hits / len(strs) > share:
                    best, share = pname, hits / len(strs)
            if best and share >= options.pattern_threshold:
                fs.pattern, fs.pattern_share = best, share
        fs.type_counts = {ftype: nn}
        fs.quality = DataQuality(
            completeness=nn / total if total else 0.0,
            uniqueness=min(fs.unique_count / nn, 1.0) if nn else 0.0,
            validity=fs.pattern_share if fs.pattern and fs.pattern_share else 1.0,
            consistency=1.0,
        )  # the column's declared type holds every value
        fields[name] = fs
    if total:
        # Large PostgreSQL tables (planner statistics): a sample of about exact_rows rows.
        sample = 100 * exact_rows / total if use_stats and total > exact_rows else None
        await sql_distributions(
            db, table_sql, schema, fields, options=options, sample_percent=sample
        )
    return total, fields, [dict(r) for r in sample_rows[: options.sample_size]]


async def _grouping_sets(
    db: SQLDatabaseResource,
    table_sql: str,
    schema: CollectionSchema,
    pg_stats: dict[str, dict[str, Any]],
    total: int,
    options: ProfileOptions,
) -> dict[str, tuple[list[tuple[Any, int]], int | None, list[Any] | None]]:
    """Every value and count of all the low-cardinality columns in one scan (PostgreSQL's
    ``GROUPING SETS``), instead of one ``GROUP BY`` scan per column."""
    names = [
        n
        for n, f in schema.fields.items()
        if f.type not in {"json", "list", "object", "dict"}
        and _pg_distinct(pg_stats.get(n), total, total) <= options.categorical_threshold * 2
    ]
    if not names:
        return {}
    q = db.dialect.quote
    cols = ", ".join(q(n) for n in names)
    flags = ", ".join(f"GROUPING({q(n)}) AS g_{i}" for i, n in enumerate(names))
    sets = ", ".join(f"({q(n)})" for n in names)
    rows = await db.fetch_all(
        f"SELECT {cols}, {flags}, count(*) AS c FROM {table_sql} "  # noqa: S608
        f"GROUP BY GROUPING SETS ({sets})"
    )
    out: dict[str, tuple[list[tuple[Any, int]], int | None, list[Any] | None]] = {}
    for i, name in enumerate(names):
        # GROUPING(col) = 0: this row groups by col; its NULL group is the null count.
        pairs = [(r[name], int(r["c"])) for r in rows if r[f"g_{i}"] == 0 and r[name] is not None]
        # Every value came back: the order is set here (see _order), not by the database.
        values = sorted_values(v for v, _ in pairs)
        exact_all = len(pairs) <= options.categorical_threshold
        top = rank_counts(pairs, options.top_k)
        out[name] = (top, len(pairs), values if exact_all else None)
    return out


async def _exact_distinct(
    db: SQLDatabaseResource,
    table_sql: str,
    columns: list[str],
    row: dict[str, Any],
    options: ProfileOptions,
) -> dict[str, Any]:
    """Exact distinct counts (``nd_i``) of the columns (SQL expressions, see :func:`_exact`)
    whose estimate (``ad_i``) is within ``exact_distinct_limit`` (with the estimate's error as
    margin): cheap, few values each."""
    limit = options.exact_distinct_limit * 1.05
    wanted = [i for i in range(len(columns)) if f"ad_{i}" in row and row[f"ad_{i}"] <= limit]
    if wanted:
        exact = await db.fetch_one(
            "SELECT "  # noqa: S608
            + ", ".join(f"count(DISTINCT {columns[i]}) AS nd_{i}" for i in wanted)
            + f" FROM {table_sql}"
        )
        assert exact is not None
        for i in wanted:
            row[f"nd_{i}"] = exact[f"nd_{i}"]
            del row[f"ad_{i}"]
    return row


async def _approx_top_values(
    db: SQLDatabaseResource,
    table_sql: str,
    names: list[str],
    row: dict[str, Any],
    options: ProfileOptions,
) -> dict[str, list[Any]]:
    """The likely most frequent values of every many-valued column (more than twice
    ``categorical_threshold`` estimated distinct values), by DuckDB's ``approx_top_k``
    sketches, all in one scan."""
    wanted = [
        i
        for i, _ in enumerate(names)
        if (row.get(f"ad_{i}") or 0) > options.categorical_threshold * 2
    ]
    if not wanted:
        return {}
    q = db.dialect.quote
    k = int(options.top_k)
    try:
        tops = await db.fetch_one(
            "SELECT "  # noqa: S608
            + ", ".join(f"approx_top_k({q(names[i])}, {k}) AS t_{i}" for i in wanted)
            + f" FROM {table_sql}"
        )
    except XResourceQueryError:  # a DuckDB before approx_top_k: exact GROUP BY instead
        log.info("approx_top_k unavailable; top values by GROUP BY")
        return {}
    assert tops is not None
    return {names[i]: list(tops[f"t_{i}"] or []) for i in wanted}


async def _counted(
    db: SQLDatabaseResource,
    table_sql: str,
    name: str,
    ftype: str,
    values: list[Any],
    native: str | None = None,
) -> list[ValueCount]:
    """Exact counts of the values a sketch picked: a filtered scan instead of a ``GROUP BY``
    of every value."""
    if not values:
        return []
    col = _exact(db.dialect.name, db.dialect.quote(name), ftype, native)
    marks = ", ".join(db.dialect.param(i + 1) for i in range(len(values)))
    rows = await db.fetch_all(
        f"SELECT {col} AS v, count(*) AS c FROM {table_sql} WHERE {col} IN ({marks}) "  # noqa: S608
        "GROUP BY 1",
        values,
    )
    # Exact counts of the values the sketch picked; which values it picks among those of
    # equal approximate count is not guaranteed (see _order).
    pairs = rank_counts((_value(r["v"], ftype), int(r["c"])) for r in rows)
    return [ValueCount(value=v, count=c) for v, c in pairs]


async def _group_by(
    db: SQLDatabaseResource,
    table_sql: str,
    name: str,
    ftype: str,
    options: ProfileOptions,
    *,
    exact_all: bool,
    native: str | None = None,
) -> tuple[list[tuple[Any, int]], int | None, list[Any] | None]:
    """Top values by ``GROUP BY``; with ``exact_all`` also every distinct value and its count.

    Ties are broken by the value in the query, so that the ``LIMIT`` keeps the values that
    :func:`~xinspector.profiling._order.rank_counts` ranks first on every backend (a tie-break
    the database left open kept whichever rows its hash table or its threads gave first)."""
    dialect = db.dialect.name
    col = db.dialect.quote(name)
    key = _exact(dialect, col, ftype, native)
    limit = options.categorical_threshold + 1 if exact_all else options.top_k
    rows = await db.fetch_all(
        f"SELECT {key} AS v, count(*) AS c FROM {table_sql} WHERE {col} IS NOT NULL "  # noqa: S608
        f"GROUP BY {key} ORDER BY count(*) DESC, {_order_by(dialect, key, ftype)} "
        f"LIMIT {int(limit)}"
    )
    # Ranked again on the values as reported (SQLite hands dates back as text, and a SQLite
    # column may mix types): the database's order only chose the rows at the LIMIT.
    pairs = [(_value(r["v"], ftype), int(r["c"])) for r in rows]
    top = rank_counts(pairs, options.top_k)
    if exact_all and len(pairs) <= options.categorical_threshold:
        return top, len(pairs), sorted_values(v for v, _ in pairs)
    return top, None, None


async def _pg_stats(
    db: SQLDatabaseResource, schema: CollectionSchema, *, analyze: bool
) -> dict[str, dict[str, Any]]:
    sql = (
        "SELECT attname, null_frac, n_distinct, most_common_vals::text::text[] AS mcv, "
        "most_common_freqs AS mcf FROM pg_stats WHERE schemaname = $1 AND tablename = $2"
    )
    params = [schema.schema_name or "public", schema.name]
    rows = await db.fetch_all(sql, params)
    if not rows and analyze:
        table_sql = db.dialect.qualified(schema.schema_name, schema.name)
        log.info("ANALYZE %s: the planner has no statistics for it yet", schema.name)
        try:
            await db.execute(f"ANALYZE {table_sql}")
        except Exception as exc:
            log.warning(
                "cannot ANALYZE %s (%s); counting exactly instead", schema.name, type(exc).__name__
            )
            return {}
        rows = await db.fetch_all(sql, params)
    return {r["attname"]: dict(r) for r in rows}


def _pg_distinct(stats: dict[str, Any] | None, total: int, non_null: int) -> int:
    if not stats or stats.get("n_distinct") is None:
        return non_null
    nd = float(stats["n_distinct"])
    # Negative: a fraction of the rows (the planner expects it to grow with the table).
    estimate = -nd * total if nd < 0 else nd
    return int(min(round(estimate), non_null))


def _pg_top(stats: dict[str, Any] | None, total: int, ftype: str, k: int) -> list[ValueCount]:
    if not stats or not stats.get("mcv"):
        return []
    convert = _text_converter(ftype)
    pairs = [
        (convert(v), round(f * total))
        for v, f in list(zip(stats["mcv"], stats["mcf"] or [], strict=False))[:k]
    ]
    # Estimates from a random sample of the table: ties ordered, but not reproducible.
    return [ValueCount(value=v, count=c) for v, c in rank_counts(pairs)]


def _text_converter(ftype: str) -> Callable[[str], Any]:
    convert = convert_text(ftype)
    return lambda v: safe(convert, v)


def _value(value: Any, ftype: str) -> Any:
    # SQLite hands back text for dates; keep the driver's value otherwise.
    if isinstance(value, str) and ftype not in {"str", "json", "Any"}:
        return _text_converter(ftype)(value)
    if isinstance(value, UUID) and type(value) is not UUID:
        # asyncpg's own UUID class: a report holds the standard one, as every other backend's.
        return UUID(bytes=value.bytes)
    return value
