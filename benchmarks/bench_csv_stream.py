"""CSVResource.read_stream against a plain ``csv.DictReader`` loop, same file, same run.

Generates a CSV of 1,000,000 rows x 10 columns (about 60 MB: integers, decimals, dates, text with
quoted commas, empty fields, leading-zero codes) in a temporary directory, then, interleaved over
several repetitions:

- ``csv.DictReader``: ``for row in csv.DictReader(f): n += 1``;
- ``CSVResource.read_stream()`` (default chunk size, 10,000 rows), consuming every row inside
  ``asyncio.run``, event loop and worker threads included.

It reports the median wall time of each, the ratio (our rows per second / DictReader's rows per
second: above 1 is faster), the median CPU time of the process (all threads) and its ratio, and the
peak resident memory of each reader, measured in a fresh subprocess (``VmHWM``) so that neither
run's memory hides the other's, with that interpreter's baseline (imports done, nothing read).
The wall-time ratio is the target; the CPU-time ratio shows the work done, which a busy machine
(see the load average in the caption) does not distort as much as the wall clock.

    python benchmarks/bench_csv_stream.py               # print the table
    python benchmarks/bench_csv_stream.py --write-docs  # and update docs/benchmarks.md

The target of the issue: at least 0.9x DictReader's speed with a peak under 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from xresource import CSVResource

try:
    from _report import child_peak_rss_mb, write_docs_block
except ImportError:  # run as `python -m benchmarks.bench_csv_stream`
    from benchmarks._report import child_peak_rss_mb, write_docs_block

NAME = "csv_stream"
TARGET_RATIO = 0.9
TARGET_PEAK_MB = 200.0
COLUMNS = [
    "id",
    "customer",
    "amount",
    "order_date",
    "city",
    "quantity",
    "note",
    "code",
    "title",
    "status",
]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` realistic rows (fixed seed: every run reads the same bytes)."""
    rnd = random.Random(seed)
    cities = ["Berlin", "Paris", "New York, NY", "São Paulo", "Köln", "Osaka", "Lagos"]
    titles = ['Widget "Pro"', "Cable, 2 m", "Lamp", "Desk organiser", "Mug", "Headphones"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(
                [
                    i,
                    f"cust-{rnd.randrange(50_000):05d}",
                    f"{rnd.uniform(1, 999):.2f}",
                    f"{rnd.randrange(1, 13)}/{rnd.randrange(1, 29)}/20{rnd.randrange(18, 25)}",
                    rnd.choice(cities),
                    rnd.randrange(1, 10),
                    "" if i % 7 else "gift wrap",
                    f"{rnd.randrange(10_000):06d}",
                    rnd.choice(titles),
                    rnd.choice(("shipped", "pending", "returned")),
                ]
            )


def run_dictreader(path: Path) -> int:
    """Count the rows with a plain ``csv.DictReader`` loop."""
    n = 0
    with path.open(encoding="utf-8", newline="") as fh:
        for _row in csv.DictReader(fh):
            n += 1
    return n


async def _consume(path: Path) -> int:
    n = 0
    async for chunk in CSVResource(path=str(path)).read_stream():
        n += len(chunk)
    return n


def run_ours(path: Path) -> int:
    """Count the rows through ``CSVResource.read_stream`` (a fresh event loop per run)."""
    return asyncio.run(_consume(path))


_READERS = {"dictreader": run_dictreader, "ours": run_ours}


def peak_rss_mb(which: str, path: Path) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh interpreter that reads the file once with ``which``, and its
    the baseline (MB) of that interpreter with every module imported, before reading."""
    base, peak = child_peak_rss_mb(
        "import bench_csv_stream as b\nfrom pathlib import Path",
        "b._READERS[sys.argv[1]](Path(sys.argv[2]))",
        which,
        str(path),
    )
    return peak, base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--write-docs", action="store_true", help="record the table in docs/benchmarks.md"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_csv_") as tmp:
        path = Path(tmp) / "orders.csv"
        start = time.perf_counter()
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows ({size_mb:.1f} MB) in "
            f"{time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )

        # Warm the page cache and both code paths, and check both see every row.
        counts = {name: fn(path) for name, fn in _READERS.items()}
        if set(counts.values()) != {args.rows}:
            raise SystemExit(f"row counts differ: {counts}")

        load = os.getloadavg()[0]
        times: dict[str, list[float]] = {name: [] for name in _READERS}
        cpu: dict[str, list[float]] = {name: [] for name in _READERS}
        for _ in range(args.repeat):
            # Interleaved, so that a noisy neighbour slows both sides alike.
            for name, fn in _READERS.items():
                c0, t0 = time.process_time(), time.perf_counter()
                fn(path)
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
        medians = {name: statistics.median(v) for name, v in times.items()}
        cpu_medians = {name: statistics.median(v) for name, v in cpu.items()}
        memory = {name: peak_rss_mb(name, path) for name in _READERS}
        peaks = {name: peak for name, (peak, _base) in memory.items()}

    ratio = medians["dictreader"] / medians["ours"]
    cpu_ratio = cpu_medians["dictreader"] / cpu_medians["ours"]
    rows = args.rows
    table = "\n".join(
        [
            f"CSV of {rows:,} rows x {len(COLUMNS)} columns ({size_mb:.0f} MB), median of "
            f"{args.repeat} interleaved runs; Python {platform.python_version()} on "
            f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start. "
            f"Target: wall-time ratio >= {TARGET_RATIO}, peak < {TARGET_PEAK_MB:.0f} MB.",
            "",
            "| reader | median wall (s) | rows/s | speed ratio | median CPU (s) | CPU ratio "
            "| peak RSS (MB) | baseline RSS (MB) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *(
                f"| {label} | {medians[name]:.2f} | {rows / medians[name]:,.0f} | "
                f"{medians['dictreader'] / medians[name]:.2f} | {cpu_medians[name]:.2f} | "
                f"{cpu_medians['dictreader'] / cpu_medians[name]:.2f} | {memory[name][0]:.0f} | "
                f"{memory[name][1]:.0f} |"
                for name, label in (
                    ("dictreader", "`csv.DictReader` loop"),
                    ("ours", "`CSVResource.read_stream()`"),
                )
            ),
        ]
    )
    print(table)
    met = ratio >= TARGET_RATIO and peaks["ours"] < TARGET_PEAK_MB
    print(
        f"\ntarget {'met' if met else 'NOT met'} (wall ratio {ratio:.2f}, CPU ratio "
        f"{cpu_ratio:.2f}, peak {peaks['ours']:.0f} MB)",
        file=sys.stderr,
    )
    if args.write_docs:
        print(f"wrote {write_docs_block(NAME, table)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
