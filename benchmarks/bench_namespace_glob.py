"""NamespaceIndex.glob against a linear ``fnmatch.fnmatchcase`` scan, same entries, same run.

Builds a realistic namespace (functions, models, types, repos, resources, settings; 100,000 paths
by default), then for each pattern times ``NamespaceIndex.glob(pattern)`` and
``[p for p in paths if fnmatch.fnmatchcase(p, pattern)]`` (the registry document's own lookup),
checks that both return the same paths, and reports the median time of each and their ratio.

    python benchmarks/bench_namespace_glob.py               # print the table
    python benchmarks/bench_namespace_glob.py --write-docs  # and update docs/benchmarks.md

The target of the issue: the index is at least 20x faster at the median over the patterns.
"""

from __future__ import annotations

import argparse
import fnmatch
import platform
import random
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from xobj_prototype import NamespaceIndex

# The shared helpers sit beside this file, whether it runs as a script or as a module.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _namespace_words import AREAS, MODULES, VERBS
from _report import fmt_time, median_time, publish

NAME = "namespace_glob"
TARGET_SPEEDUP = 20.0

# (pattern, what kind of glob it is): prefix globs, suffix globs, middle wildcards, `?`, classes.
PATTERNS: list[tuple[str, str]] = [
    ("ns.functions.perf.test5.*", "prefix"),
    ("ns.functions.math.*", "prefix"),
    ("ns.repos.*", "prefix, broad"),
    ("*.add", "suffix"),
    ("*Update", "suffix, no dot"),
    ("ns.functions.*.basic.*", "middle"),
    ("ns.*.users.*", "middle, two wildcards"),
    ("ns.functions.perf.test?.func_1?", "`?`"),
    ("ns.types.geo.[A-C]*", "class"),
    ("ns.functions.text.*.format_?ate", "middle and `?`"),
    ("ns.models.*.orders.Order*", "middle and suffix"),
]

_SOURCES = [f"{kind}{i}" for kind in ("pg", "mysql", "mongo", "csv", "kafka") for i in range(9)]
_SOURCES += ["crm", "erp", "shop", "hr", "ledger"]
_COLLECTIONS = ["users", "orders", "invoices", "products", "events", "accounts", "payments"]
_COLLECTIONS += [f"table_{i:02d}" for i in range(93)]
_TYPE_NAMES = [
    f"{a}{b}"
    for a in (
        "Alpha",
        "Beta",
        "Coord",
        "Date",
        "Email",
        "Money",
        "Name",
        "Phone",
        "Quantity",
        "Zip",
    )
    for b in ("", "Range", "List", "Set", "Map", "Ref", "Id", "Code", "Kind", "Spec")
]


def build_paths(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct realistic namespace paths, shuffled (registration order is arbitrary)."""
    rng = random.Random(seed)

    def functions() -> Iterator[str]:  # 20 areas x 30 modules x 100 names = 60,000
        for area in AREAS:
            modules = [f"test{i}" for i in range(30)] if area == "perf" else MODULES
            for module in modules:
                names = (
                    [f"func_{i}" for i in range(99)] + ["add"]
                    if area == "perf"
                    else [f"{v}_{i}" if i else v for v in VERBS for i in range(5)]
                )
                for name in names:
                    yield f"ns.functions.{area}.{module}.{name}"

    def models() -> Iterator[str]:  # 50 sources x 100 collections x 4 = 20,000
        for source in _SOURCES:
            for coll in _COLLECTIONS:
                base = "".join(w.capitalize() for w in coll.rstrip("s").split("_"))
                for suffix in ("", "Create", "Update", "Read"):
                    yield f"ns.models.{source}.{coll}.{base}{suffix}"

    def types() -> Iterator[str]:  # 100 domains x 100 type names = 10,000
        for domain in [*AREAS, *(f"domain{i}" for i in range(80))]:
            for type_name in _TYPE_NAMES:
                yield f"ns.types.{domain}.{type_name}"

    def repos() -> Iterator[str]:  # 50 x 100 = 5,000
        for source in _SOURCES:
            for coll in _COLLECTIONS:
                yield f"ns.repos.{source}.{coll}"

    def resources() -> Iterator[str]:  # 3,000
        for kind in ("postgres", "mysql", "mongodb", "redis", "kafka", "mqtt"):
            for i in range(500):
                yield f"ns.resources.{kind}.{kind}_{i}"

    def settings() -> Iterator[str]:  # fills up to n
        i = 0
        while True:
            yield f"ns.settings.{rng.choice(AREAS)}.section{i // 50}.key_{i}"
            i += 1

    paths: list[str] = []
    seen: set[str] = set()
    for gen in (functions(), models(), types(), repos(), resources(), settings()):
        for path in gen:
            if len(paths) == n:
                break
            if path not in seen:
                seen.add(path)
                paths.append(path)
    rng.shuffle(paths)
    return paths


@dataclass(frozen=True)
class Row:
    """The result of one pattern."""

    pattern: str
    kind: str
    matches: int
    index_s: float
    linear_s: float

    @property
    def speedup(self) -> float:
        return self.linear_s / self.index_s


def run(n: int, repeat: int, seed: int) -> tuple[list[Row], float]:
    """Time every pattern; return one row per pattern and the median speedup."""
    paths = build_paths(n, seed)
    index: NamespaceIndex[int] = NamespaceIndex()
    for i, path in enumerate(paths):
        index.register(path, i)

    rows: list[Row] = []
    for pattern, kind in PATTERNS:

        def indexed(pattern: str = pattern) -> list[str]:
            return index.glob(pattern)

        def linear(pattern: str = pattern) -> list[str]:
            return [p for p in paths if fnmatch.fnmatchcase(p, pattern)]

        expected, got = linear(), indexed()
        if set(got) != set(expected) or got != sorted(got) or len(got) != len(expected):
            raise SystemExit(
                f"MISMATCH for {pattern!r}: index found {len(got)}, linear scan {len(expected)}"
            )
        # The index is timed over more runs: each one is short, so more of them steady the median.
        rows.append(
            Row(
                pattern=pattern,
                kind=kind,
                matches=len(got),
                index_s=median_time(indexed, repeat * 5),
                linear_s=median_time(linear, repeat),
            )
        )
    return rows, statistics.median(r.speedup for r in rows)


def to_markdown(rows: list[Row], median_speedup: float, n: int, repeat: int) -> str:
    """The result table, with the run's parameters and the verdict against the target."""
    lines = [
        f"`NamespaceIndex.glob` vs. a linear `fnmatch.fnmatchcase` scan over the same {n:,} "
        f"paths (median of {repeat * 5} / {repeat} runs; Python {platform.python_version()}, "
        f"{platform.machine()}).",
        "",
        "| pattern | kind | matches | index | linear scan | speedup |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| `{r.pattern}` | {r.kind} | {r.matches:,} | {fmt_time(r.index_s)} | "
        f"{fmt_time(r.linear_s)} | {r.speedup:,.1f}x |"
        for r in rows
    ]
    verdict = "met" if median_speedup >= TARGET_SPEEDUP else "**not met**"
    lines += [
        "",
        f"Median speedup: **{median_speedup:,.1f}x** (target: at least {TARGET_SPEEDUP:.0f}x, "
        f"{verdict}).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=100_000, help="namespace size")
    parser.add_argument("--repeat", type=int, default=21, help="timed runs of the linear scan")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="update this benchmark's block of docs/benchmarks.md",
    )
    parser.add_argument(
        "--fail-under",
        type=float,
        default=None,
        help="exit with status 1 when the median speedup is below this ratio",
    )
    args = parser.parse_args(argv)

    rows, median_speedup = run(args.entries, args.repeat, args.seed)
    markdown = to_markdown(rows, median_speedup, args.entries, args.repeat)
    publish(NAME, markdown, args.write_docs)
    if args.fail_under is not None and median_speedup < args.fail_under:
        print(f"median speedup {median_speedup:.1f}x is below {args.fail_under}x", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
