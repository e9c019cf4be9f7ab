"""Files profiled where they lie by the columnar engine (DuckDB, ``xresource[duckdb]``).

``ColumnarFileResource.engine()`` gives the file as a DuckDB view; this module profiles that view
with the SQL pushdown profiler, so that a file gets the statistics of a database table computed
in parallel without its rows entering Python.

JSON, JSON Lines and Parquet views are typed by DuckDB (Parquet by the file's own schema). A CSV
view is text, as ``read()`` gives it: its columns are typed here with the rules of the streaming
profiler (:class:`~xinspector._types.TextColumnTyper`): the typer narrows the candidates on the
first rows, and DuckDB then counts, over every row, the present values (not null, not a null
token) that do not match the best candidate's pattern; the first candidate without a mismatch
is the type, as in the streaming pass. Each column is then cast to it (null tokens become
``NULL``) and the pushdown profiler runs over the typed rows: for files up to
``ProfileOptions.engine_materialize_bytes`` a temporary DuckDB table, so that the file is parsed
and cast once instead of once per query; for larger files a view, read again by every query in
bounded memory.

What the SQL profile cannot say as the streaming pass does is added by :mod:`._engine_values`:
the bounds of UUID columns, datetime columns that mix naive and aware values (profiled from
their text by the streaming pass's own column profiler), aware datetimes in ``datetime.UTC``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from typing import Any, NamedTuple

from xinspector._errors import XInspectorNotFoundError
from xinspector._schema import CollectionSchema, FieldSchema
from xinspector._types import _BOOL_TOKENS as _TEXT_BOOL_TOKENS
from xinspector._types import (
    _DATE,
    _DATETIME,
    _FIXED,
    _FLOAT,
    _INT,
    _TIME,
    PATTERNS,
    TextColumnTyper,
)
from xinspector.discovery._duckdb import discover_duckdb
from xinspector.discovery._engine_values import profile_as_streamed, set_uuid_bounds, to_utc
from xinspector.discovery._files import FileProfile, schema_from_statistics
from xinspector.profiling._column_state import _BOOL_TRUE as _TEXT_BOOL_TRUE
from xinspector.profiling._column_text import _shape
from xinspector.profiling._options import ProfileOptions, ProgressCallback
from xinspector.profiling._sql import profile_sql_table
from xinspector.profiling._stats import ValueCount
from xresource import XResourceConfigurationError

__all__ = ["profile_file_engine"]

_BOOL_TOKENS = tuple(sorted(_TEXT_BOOL_TOKENS))  # what the streaming typer takes for booleans
_BOOL_TRUE = tuple(sorted(_TEXT_BOOL_TRUE))
_OFFSET = r"(Z|[+-][0-9]{2}:?[0-9]{2})$"
_SAMPLE_ROWS = 20_000  # rows the streaming typer looks at before the engine verifies
_REFINED = frozenset({"date", "datetime", "time", "UUID"})  # what JSON strings may become


class _Typed(NamedTuple):
    """How one text column is typed: its type and format, constraints (``decimal_places``),
    the SQL that casts it, the consistency score of its first values, and whether it is a
    datetime column mixing naive and aware values (profiled from its text: see
    :mod:`._engine_values`)."""

    type: str
    format: str | None
    constraints: dict[str, Any]
    sql: str
    consistency: float
    naive_and_aware: bool = False


def _consistency(seen: Counter[str], options: ProfileOptions) -> float:
    """Share of the dominant shape (int, float, date, text...) among the first distinct
    values, as the streaming pass scores a column's consistency."""
    shapes: Counter[str] = Counter()
    for value, c in list(seen.items())[: options.check_total]:
        shapes[_shape(value)] += c
    total = sum(shapes.values())
    return round(max(shapes.values()) / total, 6) if total else 1.0


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _no_null_token(c: str, null_tokens: frozenset[str]) -> str:
    """The condition that the value of column ``c`` is no null token (NULL when it is NULL)."""
    if not null_tokens:
        return "true"
    tokens = ", ".join(_lit(t) for t in sorted(null_tokens))
    # Cells longer than every token skip the list, which DuckDB plans as a hash join.
    longest = max(len(t.encode()) for t in null_tokens)
    return f"(strlen({c}) > {longest} OR {c} NOT IN ({tokens}))"


def _scale(c: str) -> str:
    """The digits after the point of a value of column ``c`` that matches the decimal pattern
    (which holds one point at most); NULL without a point. (``strpos``: ``split_part`` cost
    three times as much.)"""
    return f"CASE WHEN strpos({c}, '.') > 0 THEN length({c}) - strpos({c}, '.') END"


def _checks(c: str) -> dict[str, str]:
    """Per candidate, the condition a present value of column ``c`` fails it by."""

    def rx(pattern: str) -> str:
        return f"regexp_full_match({c}, {_lit(pattern)})"

    return {
        "bool": f"lower({c}) NOT IN ({', '.join(map(_lit, _BOOL_TOKENS))})",
        "int": f"NOT {rx(_INT.pattern)}",
        "Decimal": f"NOT {rx(_FIXED.pattern)}",
        "float": f"NOT {rx(_FLOAT.pattern)}",
        # A date DuckDB spells back as the cell's 10 characters matches the pattern (years
        # 1-9999 print as 4 digits, others longer): the pattern runs only on the other cells.
        # (coalesce: a cell that is no date makes the comparison NULL, which must not count.)
        "date": f"NOT coalesce(strlen({c}) = 10 AND CAST(TRY_CAST({c} AS DATE) AS VARCHAR) = {c}"
        f", false) AND NOT ({rx(_DATE.pattern)} AND TRY_CAST({c} AS DATE) IS NOT NULL)",
        "datetime": f"NOT ({rx(_DATETIME.pattern)} AND TRY_CAST({c} AS TIMESTAMPTZ) IS NOT NULL)",
        "time": f"NOT ({rx(_TIME.pattern)} AND TRY_CAST({c} AS TIME) IS NOT NULL)",
        "UUID": f"NOT {rx(PATTERNS['uuid'].pattern)}",
        "json": f"NOT (left({c}, 1) IN ('{{', '[') AND json_valid({c}))",
        "email": f"NOT {rx(PATTERNS['email'].pattern)}",
        "url": f"NOT {rx('(?i)' + PATTERNS['url'].pattern)}",
    }


async def _text_types(
    db: Any,
    view: str,
    names: list[str],
    options: ProfileOptions,
    *,
    head: list[dict[str, Any]],
    null_tokens: frozenset[str],
    allowed: frozenset[str] | None = None,
    into: str | None = None,
    target: str = "",
) -> tuple[dict[str, _Typed], bool]:
    """How each column is typed; ``allowed`` limits the types text may turn into (JSON strings
    become dates, times or UUIDs, never numbers).

    A pattern test of every cell costs as much as parsing the file again, per candidate. So the
    streaming typer itself runs over the first rows, which leaves one or two candidates per
    column (text columns usually none), and only the best surviving candidate is verified over
    every row; should a later value contradict it, the next candidate is verified, and so on.

    With ``into``, the first verification also writes the rows, cast to the types the first
    rows suggest, into that temporary table: one parse of the file for both. The second value
    returned says whether that table holds the final types; when it does not (a later value
    contradicted the first rows) it is dropped and the caller casts the rows again.
    """
    q = db.dialect.quote

    def kept(c: str) -> str:
        return _no_null_token(c, null_tokens)

    norm = ", ".join(f"CASE WHEN {kept(q(n))} THEN {q(n)} END AS {q(n)}" for n in names)
    source = f"(SELECT {norm} FROM {q(view)}) normalized"  # noqa: S608 (null tokens are NULL)
    pending: dict[str, list[str]] = {}
    formats: dict[str, list[str]] = {}
    consistency: dict[str, float] = {}
    for name in names:
        typer = TextColumnTyper(decimal_scale_limit=options.decimal_scale_limit)
        seen = Counter(v for v in (r[name] for r in head) if v is not None and v not in null_tokens)
        typer.update(sorted(seen))
        consistency[name] = _consistency(seen, options)
        cands = [c for c in typer.candidates if allowed is None or c in allowed]
        pending[name] = [*cands, "str"]
        formats[name] = list(typer.formats)
    guessed = {n: _guess(pending[n][0], head, n, null_tokens) for n in names} if into else {}
    present: dict[str, int] = {}
    scale: dict[str, int] = {}
    facts: dict[str, dict[str, int]] = {}
    chosen: dict[str, str] = {}
    first = True
    while pending:
        # (alias, aggregate, per-row expression): count_if of a condition, or max of a number.
        items: list[tuple[str, str, str]] = []
        for i, name in enumerate(names):
            if name not in pending:
                continue
            c = q(name)
            cand = pending[name][0]

            def counted(alias: str, cond: str, c: str = c) -> tuple[str, str, str]:
                return alias, "count_if", f"({c} IS NOT NULL AND ({cond}))"

            if first:
                items.append(counted(f"p_{i}", "true"))
            if cand == "str":
                items += [counted(f"{f}_{i}", _checks(c)[f]) for f in formats[name]]
                continue
            items.append(counted(f"fail_{i}", _checks(c)[cand]))
            if cand == "Decimal":
                items.append((f"scale_{i}", "max", _scale(c)))
                items.append((f"chars_{i}", "max", f"strlen({c})"))
            elif cand == "datetime":
                offset = f"length({c}) > 10 AND regexp_matches({c}, {_lit(_OFFSET)})"
                items.append(counted(f"aware_{i}", offset))
            elif cand == "int":
                items.append(counted(f"wide_{i}", f"TRY_CAST({c} AS BIGINT) IS NULL"))
        if first and into is not None:
            typed = ", ".join(f"{_cast(q(n), *guessed[n], guess=True)} AS {q(n)}" for n in names)
            flags = ", ".join(f"{expr} AS __xi_{k}" for k, (_, _, expr) in enumerate(items))
            await db.execute(
                f"CREATE TEMP TABLE {q(into)} AS SELECT {typed}, {flags} FROM {source}"  # noqa: S608
            )
            aggregates = ", ".join(
                f"{agg}(__xi_{k}) AS {alias}" for k, (alias, agg, _) in enumerate(items)
            )
            row = await db.fetch_one(f"SELECT {aggregates} FROM {q(into)}")  # noqa: S608
            for k in range(len(items)):
                await db.execute(f"ALTER TABLE {q(into)} DROP COLUMN __xi_{k}")
        elif items:
            aggregates = ", ".join(f"{agg}({expr}) AS {alias}" for alias, agg, expr in items)
            row = await db.fetch_one(f"SELECT {aggregates} FROM {source}")  # noqa: S608
        else:  # only text columns without a format to check are left
            row = {}
        assert row is not None
        row = {k: 0 if v is None else v for k, v in dict(row).items()}  # no rows: no counts
        for i, name in enumerate(names):
            if name not in pending:
                continue
            if first:
                present[name] = int(row[f"p_{i}"])
            cand = pending[name][0]
            if cand == "str":
                formats[name] = [f for f in formats[name] if row[f"{f}_{i}"] == 0]
                chosen[name] = "str"
            elif row[f"fail_{i}"] == 0 and (
                cand != "Decimal" or int(row[f"scale_{i}"] or 0) <= options.decimal_scale_limit
            ):
                chosen[name] = cand
                facts[name] = {
                    k: int(row[f"{k}_{i}"] or 0)
                    for k in ("aware", "wide", "chars")
                    if f"{k}_{i}" in row
                }
                if cand == "Decimal":
                    scale[name] = int(row[f"scale_{i}"] or 0)
            else:
                pending[name].pop(0)
                continue
            del pending[name]
        first = False
    # Rare: integers beyond 64 bits, or decimals that may have more than 38 digits (a cell's
    # characters and the scale bound them): those DuckDB cannot hold are refused.
    wide = {
        n: "HUGEINT" if chosen[n] == "int" else f"DECIMAL(38, {scale[n]})"
        for n in names
        if (chosen[n] == "int" and facts[n].get("wide"))
        or (chosen[n] == "Decimal" and facts[n].get("chars", 0) + scale[n] > 38)
    }
    if wide:
        await _refuse_unheld(db, source, wide, into=into, target=target)
    out: dict[str, _Typed] = {}
    holds = into is not None
    for name in names:
        c = q(name)
        ftype = chosen[name] if present[name] else "None"
        fmt = formats[name][0] if ftype == "str" and formats[name] else None
        constraints: dict[str, Any] = {"decimal_places": scale[name]} if ftype == "Decimal" else {}
        sql_type = {
            "int": "HUGEINT" if facts.get(name, {}).get("wide") else "BIGINT",
            "Decimal": f"DECIMAL(38, {scale.get(name, 0)})",
            "float": "DOUBLE",
            "date": "DATE",
            "datetime": "TIMESTAMPTZ" if facts.get(name, {}).get("aware") else "TIMESTAMP",
            "time": "TIME",
            "UUID": "UUID",
        }.get(ftype, "")
        # Some values with an offset, some without (present counts both kinds).
        mixed = ftype == "datetime" and 0 < facts[name].get("aware", 0) < present[name]
        # A later value contradicted what the first rows suggested (a column mixing naive and
        # aware values is never read from the table: whatever its cast, the table holds).
        if holds and not mixed and guessed[name] != (chosen[name], sql_type) and ftype != "None":
            holds = False
        out[name] = _Typed(
            ftype,
            fmt,
            constraints,
            f"CASE WHEN {kept(c)} THEN {_cast(c, ftype, sql_type)} END AS {c}",
            consistency[name],
            mixed,
        )
    if into is not None and not holds:
        await db.execute(f"DROP TABLE IF EXISTS {q(into)}")
    return out, holds


async def _refuse_unheld(
    db: Any, source: str, types: dict[str, str], *, into: str | None, target: str
) -> None:
    """Raise :class:`XResourceConfigurationError` when a number of a column of ``types`` does
    not fit its DuckDB type (an integer beyond 128 bits, DuckDB's widest; a decimal of more
    than 38 digits): a cast would fail the profile or, where the first rows suggested the
    type, make it NULL. The error makes ``XInspector`` stream the file (``engine=None``) or
    names the column (``engine=True``)."""
    q = db.dialect.quote
    names = list(types)
    counts = ", ".join(
        f"count_if({q(n)} IS NOT NULL AND TRY_CAST({q(n)} AS {types[n]}) IS NULL) AS h_{i}"
        for i, n in enumerate(names)
    )
    row = await db.fetch_one(f"SELECT {counts} FROM {source}")  # noqa: S608
    unheld = [n for i, n in enumerate(names) if row is not None and row[f"h_{i}"]]
    if not unheld:
        return
    if into is not None:
        await db.execute(f"DROP TABLE IF EXISTS {q(into)}")
    what = "beyond 128 bits" if types[unheld[0]] == "HUGEINT" else "of more than 38 digits"
    raise XResourceConfigurationError(
        f"the columnar engine cannot hold the numbers of column {unheld[0]!r} exactly: some "
        f"are {what} (DuckDB's widest); profile the file with engine=False",
        resource=target or None,
        operation="profile_data",
    )


def _cast(c: str, ftype: str, sql_type: str, *, guess: bool = False) -> str:
    """The SQL of text column ``c`` as ``ftype`` (``sql_type`` in DuckDB); a guess casts with
    ``TRY_CAST`` (a later value may contradict it: the verification then says so)."""
    if ftype == "bool":
        return f"lower({c}) IN ({', '.join(map(_lit, _BOOL_TRUE))})"
    if ftype == "UUID":
        # Lowercase text, not DuckDB's UUID (whose cast cost as much as every other column's
        # together): once the pattern holds, one text per UUID, in the UUIDs' order; the
        # values that leave the database become UUIDs again.
        return f"lower({c})"
    return f"{'TRY_CAST' if guess else 'CAST'}({c} AS {sql_type})" if sql_type else c


def _guess(
    cand: str, head: list[dict[str, Any]], name: str, null_tokens: frozenset[str]
) -> tuple[str, str]:
    """The best candidate of a column and its DuckDB type as the first rows suggest them (the
    scale of decimals, integers beyond 64 bits, datetimes with offsets)."""
    values = [v for v in (r[name] for r in head) if v is not None and v not in null_tokens]
    if cand == "int":
        wide = any(not -(2**63) <= int(v) < 2**63 for v in values)
        return cand, "HUGEINT" if wide else "BIGINT"
    if cand == "Decimal":
        return cand, f"DECIMAL(38, {max((len(v.partition('.')[2]) for v in values), default=0)})"
    if cand == "datetime":
        aware = any(len(v) > 10 and re.search(_OFFSET, v) for v in values)
        return cand, "TIMESTAMPTZ" if aware else "TIMESTAMP"
    return cand, {"float": "DOUBLE", "date": "DATE", "time": "TIME", "UUID": "UUID"}.get(cand, "")


async def profile_file_engine(
    resource: Any,
    collection: str | None,
    *,
    options: ProfileOptions,
    exact_rows: int,
    progress: ProgressCallback | None = None,
) -> FileProfile:
    """Schema, statistics and sample records of a CSV, JSON or Parquet file, by the engine."""
    kind = resource.resource_type
    name = collection or resource.stem
    if collection is not None and collection != resource.stem:
        raise XInspectorNotFoundError(
            f"collection {collection!r} not found: the file holds one table, {resource.stem!r}",
            target=resource.display_name,
            operation="discover_schema",
        )
    path = resource.resolve_path("profile")
    size = path.stat().st_size if path.is_file() else 0
    materialize = size <= options.engine_materialize_bytes
    async with resource.engine() as db:
        await db.execute("SET TimeZone = 'UTC'")  # aware values come back in UTC
        view = resource.engine_view
        q = db.dialect.quote
        raw = await discover_duckdb(db, view, target=resource.display_name)
        # The first rows: the sample records, and what the typer of text columns looks at.
        head = [
            dict(r)
            for r in await db.fetch_all(
                f"SELECT * FROM {q(view)} LIMIT {_SAMPLE_ROWS}"  # noqa: S608
            )
        ]
        samples = head[: options.sample_size]
        typed: dict[str, _Typed] = {}
        table = f"__xi_rows_{uuid.uuid4().hex[:12]}"
        written = False  # whether the typing wrote the typed rows into ``table`` already
        if kind == "csv":
            typed, written = await _text_types(
                db,
                view,
                list(raw.fields),
                options,
                head=head,
                null_tokens=options.null_tokens,
                into=table if materialize and raw.fields else None,
                target=resource.display_name,
            )
        elif kind == "json":
            # JSON strings that are all ISO dates, times or UUIDs are those, as when streaming.
            texts = [n for n, f in raw.fields.items() if f.type == "str"]
            found = (
                (
                    await _text_types(
                        db,
                        view,
                        texts,
                        options,
                        head=head,
                        null_tokens=frozenset(),
                        allowed=_REFINED,
                    )
                )[0]
                if texts
                else {}
            )
            typed = {n: t for n, t in found.items() if t.type != "str"}
        # Datetime columns mixing naive and aware values: no SQL type holds them as written.
        mixed = [n for n, t in typed.items() if t.naive_and_aware]
        if typed:
            q_typed = {q(n): t.sql for n, t in typed.items()}
            columns = (
                ", ".join(q_typed.get(q(n), q(n)) for n in raw.fields if n not in mixed)
                or "NULL AS column_1"
            )
            # JSON text is profiled as text (counted, grouped), then reported as json.
            fields_of = {n: f for n, f in raw.fields.items() if n not in mixed}
            for n, t in typed.items():
                if n not in mixed:
                    fields_of[n] = FieldSchema(
                        type={"None": "Any", "json": "str"}.get(t.type, t.type)
                    )
        else:
            columns, fields_of = "*", raw.fields
        # Small files: the (typed) rows once into a temporary table, each cast and each parse
        # done once; large ones: a view, read again by each query in bounded memory.
        what = "TABLE" if materialize else "VIEW"
        if not written:
            await db.execute(
                f"CREATE TEMP {what} {q(table)} AS SELECT {columns} FROM {q(view)}"  # noqa: S608
            )
        try:
            schema = CollectionSchema(
                name=table,
                kind="view",
                source="duckdb",
                fields=fields_of,
                row_estimate=await db.fetch_value(f"SELECT count(*) FROM {q(table)}"),  # noqa: S608
            )
            total, fields, _ = await profile_sql_table(
                db,
                schema,
                options=options,
                exact_rows=exact_rows,
                analyze=False,
                progress=progress,
            )
            # The SQL profile leaves UUIDs without bounds (a database's uuid type may have no
            # min()); the engine's lowercase text has them.
            ids = [n for n, t in typed.items() if t.type == "UUID"]
            await set_uuid_bounds(db, table, ids, fields)
        finally:
            await db.execute(f"DROP {what} IF EXISTS {q(table)}")
        for n, t in typed.items():
            if t.naive_and_aware:
                continue
            fs = fields[n]
            fs.type, fs.format = t.type, t.format
            if kind == "csv":
                fs.quality.consistency = t.consistency
            if t.type == "json":  # as the streaming pass: no text bounds or lengths of JSON
                fs.format = "json"
                fs.min = fs.max = fs.min_length = fs.max_length = fs.avg_length = None
                fs.length_histogram = None
                fs.is_categorical, fs.distinct_values = False, None
                fs.top_values = [
                    ValueCount(value=json.loads(v.value), count=v.count) for v in fs.top_values
                ]
                fs.sample_values = [json.loads(v) for v in fs.sample_values]
            if t.type == "UUID":  # kept as text in the engine (see _cast)
                fs.sample_values = [uuid.UUID(v) for v in fs.sample_values]
            # The file's own kinds of values, as the streaming pass counts them: a CSV's text
            # as its type, a JSON file's strings as strings.
            counted = "str" if kind == "json" else t.type
            fs.type_counts = {counted: fs.non_null_count} if fs.non_null_count else {}
            if t.constraints:
                fs.__pydantic_extra__ = dict(t.constraints)
        for fs in fields.values():
            to_utc(fs)  # DuckDB's ZoneInfo('UTC'), as the streaming pass: datetime.UTC
            if kind == "json" and not fs.non_null_count:
                # DuckDB's type of a key that only ever held null is a guess ('Any'): the
                # statistics say what the values were, none (the schema keeps 'Any').
                fs.type, fs.type_counts = "None", {}
        if mixed:
            for n in mixed:
                fields[n] = await profile_as_streamed(
                    db, view, n, options, total=total, text=kind == "csv"
                )
            fields = {n: fields[n] for n in raw.fields}  # the file's column order
    if kind == "csv":
        schema = schema_from_statistics(name, total, fields, source=kind)
    else:
        schema = raw.model_copy(update={"name": name, "kind": "file", "source": kind})
        schema.row_estimate = total
        for col, fs in fields.items():
            field = schema.fields.get(col)
            if field is not None:
                field.cardinality = fs.cardinality
                if col in typed:
                    field.type = fs.type
    return FileProfile(schema, total, fields, samples)
