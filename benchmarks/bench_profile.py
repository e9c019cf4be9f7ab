"""Profiling: xinspector against the plain alternatives, same data, same run.

1. **CSV, streaming pass** (``engine=False``): a generated file of ``--rows`` rows x 10 columns
   (ids, names, e-mails, categories, prices, quantities, dates, booleans, cities, UUIDs).
   ``XInspector.inspect()`` (type inference, null/unique counts with a HyperLogLog beyond 50,000
   distinct values, min/max/mean/stddev, quantiles and histograms (exact, or a KLL sketch beyond
   50,000 distinct values), lengths and their histogram, top values, categories, patterns,
   quality) against merely parsing the file with ``csv.DictReader``. Target: at most 2.5x the
   parse time, peak memory (resident set of a child process doing only the profile) under 200 MB.
2. **CSV, columnar engine** (the default when ``xresource[duckdb]`` is installed): the same file
   profiled by DuckDB where it lies, against DuckDB's own ``SUMMARIZE`` of the same file (its
   sniffer's types, approximate distinct counts and quantiles). Target: at most 1.25x.
3. **A 2 GB CSV**: the generated file repeated up to ``--big-gb`` GB; peak resident set of a
   child process that profiles it by default (with the engine installed, a text file larger than
   ``engine_materialize_bytes`` is streamed) and by the streaming pass: target under 1 GB; and
   with ``engine=True``, for information.
4. **PostgreSQL**: a table of ``--rows`` rows x 10 columns. ``XInspector.inspect()`` computes its
   statistics in the database (one aggregate scan, planner statistics, ``GROUP BY`` for
   low-cardinality columns, ``percentile_cont``, grouped histogram bins) against pulling every
   row into Python (``resource.stream``) and profiling there with the same streaming profiler.
   Target: pushdown at least 5x faster.

Runs are interleaved (baseline, ours, baseline, ours...) so that load from other processes hits
both sides alike; each figure is a median.

    python benchmarks/bench_profile.py                # print the table
    python benchmarks/bench_profile.py --write-docs   # and update docs/benchmarks.md

The PostgreSQL address comes from ``XTEST_POSTGRES_URL`` (loopback default). ``--only`` picks
one case (``csv``, ``engine``, ``big``, ``postgresql``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xinspector import StreamingProfiler, XInspector
from xresource import ResourceFactory, SQLDatabaseResource

try:
    from _report import child_peak_rss_mb, interleaved_medians, write_docs_block
except ImportError:  # run as `python -m benchmarks.bench_profile`
    from benchmarks._report import child_peak_rss_mb, interleaved_medians, write_docs_block

NAME = "profile"
CSV_TARGET = 2.5
ENGINE_TARGET = 1.25
PG_TARGET = 5.0
MEMORY_TARGET_MB = 200
BIG_MEMORY_TARGET_MB = 1024
COLUMNS = [
    "id",
    "name",
    "email",
    "category",
    "price",
    "quantity",
    "created",
    "active",
    "city",
    "ref",
]


def write_csv(path: Path, rows: int) -> None:
    rnd = random.Random(20240101)
    categories = ["alpha", "beta", "gamma", "delta", "epsilon"]
    cities = [f"city{i}" for i in range(50)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(
                [
                    i,
                    f"name {rnd.randrange(rows // 5 or 1)}",
                    f"user{i}@example.org",
                    rnd.choice(categories),
                    f"{rnd.random() * 100:.2f}",
                    rnd.randrange(1, 20),
                    f"2024-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}",
                    rnd.choice(("true", "false")),
                    "" if i % 97 == 0 else rnd.choice(cities),
                    uuid.UUID(int=rnd.getrandbits(128)),
                ]
            )


def parse_with_dictreader(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


async def profile_csv(path: Path, *, engine: bool = False) -> int:
    resource = ResourceFactory.from_url(str(path))
    result = await XInspector(resource, engine=engine).inspect()
    return result.total_count


def summarize(path: Path) -> int:
    """DuckDB's own profile of the file: ``SUMMARIZE`` over ``read_csv`` (a fresh database)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        rows = con.execute("SUMMARIZE SELECT * FROM read_csv($1)", [str(path)]).fetchall()
    return len(rows)


# Lower bounds of the engine case, for the docs: what DuckDB alone takes, in one statement over
# the file, for the statistics the profile must hold except the histograms (whose bins need the
# minimum and maximum first). On DuckDB's own sniffed types, and on the text with the per-cell
# checks of the streaming typer's rules (the patterns below are its integer, decimal, UUID and
# e-mail patterns), which both paths must share to give the same answers (" 5" is text to
# Python's typer and the integer 5 to DuckDB's sniffer; "2024-1-5" text and a date; "Y", "N" a
# boolean and text; "1.50" a Decimal and a double).
_NUMERIC = ["id", "price", "quantity"]
_TEXT = ["name", "email", "category", "city", "ref"]
_CATEGORICAL = ["category", "active", "city"]
_INT_RX = "[+-]?(?:0|[1-9][0-9]*)"
_FIXED_RX = "[+-]?(?:(?:0|[1-9][0-9]*)(?:\\.[0-9]*)?|\\.[0-9]+)"
_UUID_RX = "[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
_EMAIL_RX = "[A-Za-z0-9._%+''-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}"


def _floor_aggregates() -> str:
    quantiles = "[0.05, 0.25, 0.5, 0.75, 0.95]"
    return ", ".join(
        [
            *(f"count({c}), min({c}), max({c}), approx_count_distinct({c})" for c in COLUMNS),
            *(f"avg({c}), stddev_samp({c})" for c in _NUMERIC),
            *(f"approx_quantile({c}, {quantiles})" for c in [*_NUMERIC, "created"]),
            *(f"histogram(length({c}))" for c in _TEXT),
            *(f"histogram({c})" for c in _CATEGORICAL),
        ]
    )


def duckdb_floor(path: Path, *, checked: bool) -> int:
    """One DuckDB statement over the file with the profile's statistics but the histograms
    (see above): on DuckDB's sniffed types, or (``checked``) on the text, cast per column after
    each cell is checked against the typer's rules."""
    import duckdb

    if checked:
        casts = (
            "id AS id_t, CAST(id AS BIGINT) AS id, name, email, category, price AS price_t, "
            "CAST(price AS DECIMAL(38, 2)) AS price, quantity AS quantity_t, "
            "CAST(quantity AS BIGINT) AS quantity, created AS created_t, "
            "CAST(created AS DATE) AS created, active AS active_t, "
            "lower(active) IN ('true', '1', 'yes') AS active, city, lower(ref) AS ref"
        )
        checks = ", ".join(
            [
                f"count_if(NOT regexp_full_match(id_t, '{_INT_RX}'))",
                f"count_if(NOT regexp_full_match(quantity_t, '{_INT_RX}'))",
                f"count_if(NOT regexp_full_match(price_t, '{_FIXED_RX}'))",
                f"count_if(NOT regexp_full_match(ref, '{_UUID_RX}'))",
                f"count_if(NOT regexp_full_match(email, '{_EMAIL_RX}'))",
                "count_if(CAST(created AS VARCHAR) <> created_t)",
                "count_if(lower(active_t) NOT IN ('true', 'false', '1', '0', 'yes', 'no'))",
            ]
        )
        source = f"(SELECT {casts} FROM read_csv($1, all_varchar = true))"
        sql = f"SELECT {_floor_aggregates()}, {checks} FROM {source}"
    else:
        sql = f"SELECT {_floor_aggregates()} FROM read_csv($1)"
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        return len(con.execute(sql, [str(path)]).fetchall())


def peak_memory_mb(path: Path, *, engine: bool | None) -> tuple[float, float]:
    """(resident set after imports, peak resident set) of a child process that profiles the file
    with ``XInspector(engine=engine)``."""
    return child_peak_rss_mb(
        "import asyncio\nfrom xresource import ResourceFactory\nfrom xinspector import XInspector",
        "asyncio.run(XInspector(ResourceFactory.from_url(sys.argv[1]), "
        f"engine={engine}).inspect())",
        str(path),
    )


def grow(source: Path, target: Path, gigabytes: float) -> int:
    """``target``: the header and data rows of ``source`` repeated until ``gigabytes`` GB;
    returns the number of data rows."""
    with source.open("rb") as fh:
        header = fh.readline()
        body_start = fh.tell()
    size = source.stat().st_size - body_start
    rows_per_copy = sum(1 for _ in source.open("rb")) - 1
    copies = max(1, round(gigabytes * 1024**3 / size))
    with target.open("wb") as out:
        out.write(header)
        for _ in range(copies):
            with source.open("rb") as fh:
                fh.seek(body_start)
                shutil.copyfileobj(fh, out, 1 << 22)
    return copies * rows_per_copy


async def pg_setup(url: str, table: str, rows: int) -> SQLDatabaseResource:
    db = ResourceFactory.from_url(url)
    assert isinstance(db, SQLDatabaseResource)
    await db.connect()
    name = db.dialect.quote(table)
    await db.execute(
        f"CREATE TABLE {name} (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, "
        "category text NOT NULL, price numeric(10, 2) NOT NULL, quantity integer NOT NULL, "
        "created date NOT NULL, active boolean NOT NULL, city text, ref uuid NOT NULL)"
    )
    # Server-side generation: a million rows in seconds. h(k) is a per-column hash of i.
    h = "abs(hashtext(i::text || '{}'))".format
    await db.execute(
        f"INSERT INTO {name} SELECT i, 'name ' || ({h('a')} % $1), 'user' || i || '@example.org', "
        f"(ARRAY['alpha','beta','gamma','delta','epsilon'])[1 + {h('b')} % 5], "
        f"round(({h('c')} % 10000) / 100.0, 2), 1 + {h('d')} % 19, "
        f"date '2024-01-01' + {h('e')} % 365, {h('f')} % 2 = 0, "
        f"CASE WHEN i % 97 = 0 THEN NULL ELSE 'city' || ({h('g')} % 50) END, "
        "md5(i::text)::uuid FROM generate_series(1, $2) AS i",
        [max(rows // 5, 1), rows],
    )
    return db


async def pull_and_profile(db: SQLDatabaseResource, table: str) -> int:
    profiler = StreamingProfiler()
    async for batch in db.stream(
        f"SELECT * FROM {db.dialect.quote(table)}",
        batch_size=20_000,
    ):
        profiler.add_rows(batch)
    total, _ = profiler.finish()
    return total


async def pushdown(db: SQLDatabaseResource, table: str) -> int:
    return (await XInspector(db).inspect(table)).total_count


def interleaved(
    repeat: int, base: Callable[[], Any], ours: Callable[[], Any]
) -> tuple[float, float]:
    """Median times of ``base`` and ``ours``, interleaved, collected before each run."""
    t_base, t_ours = interleaved_medians([base, ours], repeat, warmup=False, collect=True)
    return t_base, t_ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--only", choices=["csv", "engine", "big", "postgresql"], default=None)
    parser.add_argument("--big-gb", type=float, default=2.0)
    args = parser.parse_args(argv)
    loop = asyncio.new_event_loop()
    lines = [
        f"Profiling {args.rows:,} rows x {len(COLUMNS)} columns, median of {args.repeat} "
        f"interleaved runs (Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs).",
        "",
        "| case | baseline | baseline (s) | xinspector (s) | ratio | target | met |",
        "| --- | --- | ---: | ---: | ---: | --- | :---: |",
    ]
    failed = False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "profile_bench.csv"
            if args.only in (None, "csv", "engine", "big"):
                write_csv(path, args.rows)
            if args.only in (None, "csv"):
                if loop.run_until_complete(profile_csv(path)) != parse_with_dictreader(path):
                    raise SystemExit("csv: profiled and parsed row counts differ")
                base, ours = interleaved(
                    args.repeat,
                    lambda: parse_with_dictreader(path),
                    lambda: loop.run_until_complete(profile_csv(path)),
                )
                ratio = ours / base
                rss_start, rss_peak = peak_memory_mb(path, engine=False)
                ok = ratio <= CSV_TARGET and rss_peak < MEMORY_TARGET_MB
                failed |= not ok
                lines.append(
                    f"| CSV file, streaming pass | `csv.DictReader` parse only | {base:.2f} "
                    f"| {ours:.2f} | {ratio:.2f}x the parse | <= {CSV_TARGET}x, < "
                    f"{MEMORY_TARGET_MB} MB (peak RSS {rss_peak:.0f} MB, {rss_start:.0f} MB "
                    f"after imports) | {'yes' if ok else 'no'} |"
                )
            if args.only in (None, "engine"):
                counted = loop.run_until_complete(profile_csv(path, engine=True))
                if counted != args.rows:
                    raise SystemExit("engine: profiled row count differs")
                summarize(path)  # DuckDB imported and warm on both sides
                base, ours = interleaved(
                    args.repeat,
                    lambda: summarize(path),
                    lambda: loop.run_until_complete(profile_csv(path, engine=True)),
                )
                ratio = ours / base
                ok = ratio <= ENGINE_TARGET
                failed |= not ok
                lines.append(
                    f"| CSV file, columnar engine (DuckDB) | DuckDB `SUMMARIZE` of the file "
                    f"| {base:.2f} | {ours:.2f} | {ratio:.2f}x `SUMMARIZE` | <= {ENGINE_TARGET}x "
                    f"| {'yes' if ok else 'no'} |"
                )
                for checked, what in (
                    (False, "on DuckDB's sniffed types"),
                    (True, "on the text, with the per-cell type checks both paths share"),
                ):
                    base, floor = interleaved(
                        args.repeat,
                        lambda: summarize(path),
                        lambda checked=checked: duckdb_floor(path, checked=checked),
                    )
                    lines.append(
                        f"| lower bound: DuckDB alone, one statement, the profile's statistics "
                        f"but histograms, {what} | DuckDB `SUMMARIZE` of the file | {base:.2f} "
                        f"| {floor:.2f} | {floor / base:.2f}x `SUMMARIZE` | (info) | - |"
                    )
            if args.only in (None, "big"):
                big = Path(tmp) / "profile_big.csv"
                rows = grow(path, big, args.big_gb)
                path.unlink()
                gigabytes = big.stat().st_size / 1024**3
                # The default (engine=None, DuckDB installed) streams a file this large; forcing
                # the engine is shown for information.
                for engine, how in (
                    (None, "default (engine installed: streams it)"),
                    (False, "streaming pass"),
                    (True, "engine=True"),
                ):
                    started = time.perf_counter()
                    rss_start, rss_peak = peak_memory_mb(big, engine=engine)
                    took = time.perf_counter() - started
                    ok = rss_peak < BIG_MEMORY_TARGET_MB
                    target = f"< {BIG_MEMORY_TARGET_MB} MB" if engine is not True else "(info)"
                    if engine is not True:
                        failed |= not ok
                    lines.append(
                        f"| {gigabytes:.2f} GB CSV ({rows:,} rows), {how} | - | - "
                        f"| {took:.1f} | peak RSS {rss_peak:.0f} MB ({rss_start:.0f} MB after "
                        f"imports) | {target} | {'yes' if ok else 'no'} |"
                    )
        if args.only in (None, "postgresql"):
            url = os.environ.get("XTEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
            table = f"bench_profile_{uuid.uuid4().hex[:8]}"
            db = loop.run_until_complete(pg_setup(url, table, args.rows))
            try:
                counted = loop.run_until_complete(pushdown(db, table))  # also ANALYZEs
                if counted != loop.run_until_complete(pull_and_profile(db, table)):
                    raise SystemExit("postgresql: pushdown and pulled row counts differ")
                base, ours = interleaved(
                    args.repeat,
                    lambda: loop.run_until_complete(pull_and_profile(db, table)),
                    lambda: loop.run_until_complete(pushdown(db, table)),
                )
                speed = base / ours
                ok = speed >= PG_TARGET
                failed |= not ok
                lines.append(
                    f"| PostgreSQL table, pushdown | pull rows + profile in Python | {base:.2f} "
                    f"| {ours:.2f} | {speed:.1f}x faster | >= {PG_TARGET}x faster | "
                    f"{'yes' if ok else 'no'} |"
                )
            finally:
                loop.run_until_complete(
                    db.execute(f"DROP TABLE IF EXISTS {db.dialect.quote(table)}")
                )
                loop.run_until_complete(db.disconnect())
    finally:
        loop.close()
    table_md = "\n".join(lines)
    print(table_md)
    if args.write_docs:
        print(f"wrote {write_docs_block(NAME, table_md)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
