"""FunctionRegistry at scale: register 100,000 functions, then find them by namespace glob.

Registers ``--n`` distinct functions (real function objects, each with its signature read and its
metadata validated) under realistic namespaces, then for each pattern times
``FunctionRegistry.find_by_namespace(pattern)`` (the shared ``NamespaceIndex``) against the
registry document's own lookup: a linear ``fnmatch.fnmatch`` scan over ``namespace_map`` mapped
back to the registered functions. Both must return the same functions.

    python benchmarks/bench_registry.py               # print the table
    python benchmarks/bench_registry.py --write-docs  # and update docs/benchmarks.md

The target of the issue: discovery at least 20x faster than the linear scan (median over the
patterns).
"""

from __future__ import annotations

import argparse
import fnmatch
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from xregistry import FunctionRegistry, RegisteredFunction

try:
    from _namespace_words import AREAS, MODULES, VERBS
    from _report import fmt_time, median_time, publish
except ImportError:  # run as `python -m benchmarks.bench_registry`
    from benchmarks._namespace_words import AREAS, MODULES, VERBS
    from benchmarks._report import fmt_time, median_time, publish

NAME = "registry"
TARGET_SPEEDUP = 20.0

PATTERNS: list[tuple[str, str]] = [
    ("ns.functions.perf.test5.*", "prefix (the document's test)"),
    ("ns.functions.math.*", "prefix, one area"),
    ("ns.functions.finance.basic.*", "prefix, one module"),
    ("*.add_1000", "suffix"),
    ("ns.functions.*.validation.*", "middle"),
    ("ns.functions.text.v?.*", "`?`"),
    ("ns.functions.geo.[a-c]*", "class"),
]


def _make(i: int) -> Callable[..., Any]:
    def func(x: int, y: float = 1.0) -> float:
        """A generated function."""
        return x * y + i

    return func


def specs(n: int) -> list[tuple[str, str]]:
    """``n`` distinct ``(namespace, name)`` pairs; ``perf.test<k>`` mirrors the document's test."""
    out: list[tuple[str, str]] = []
    k = 0
    while len(out) < n:
        for area in AREAS:
            modules = [f"test{i}" for i in range(10)] if area == "perf" else MODULES
            for module in modules:
                verb = VERBS[k % len(VERBS)]
                out.append((f"{area}.{module}", f"{verb}_{k}"))
                k += 1
                if len(out) == n:
                    return out
    return out


def linear_find(registry: FunctionRegistry, pattern: str) -> list[RegisteredFunction]:
    """The registry document's ``find_by_namespace``: fnmatch over every registered path."""
    matching = [p for p in registry.namespace_map if fnmatch.fnmatch(p, pattern)]
    return [registry.functions[registry.namespace_map[p]] for p in matching]


def run(n: int, repeat: int) -> tuple[list[dict[str, Any]], float, float]:
    registry = FunctionRegistry()
    pairs = specs(n)
    funcs = [_make(i) for i in range(n)]
    start = time.perf_counter()
    for (namespace, name), func in zip(pairs, funcs, strict=True):
        registry.register(func, name=name, namespace=namespace)
    register_s = time.perf_counter() - start
    if len(registry.functions) != n:
        raise SystemExit(f"registered {len(registry.functions)} functions, expected {n}")

    rows: list[dict[str, Any]] = []
    for pattern, kind in PATTERNS:
        ours = registry.find_by_namespace(pattern)
        theirs = linear_find(registry, pattern)
        if {id(f) for f in ours} != {id(f) for f in theirs} or len(ours) != len(theirs):
            raise SystemExit(f"MISMATCH for {pattern!r}: {len(ours)} vs {len(theirs)}")
        t_ours = median_time(lambda p=pattern: registry.find_by_namespace(p), repeat * 5)
        t_linear = median_time(lambda p=pattern: linear_find(registry, p), repeat)
        rows.append(
            {
                "pattern": pattern,
                "kind": kind,
                "matches": len(ours),
                "ours_s": t_ours,
                "linear_s": t_linear,
                "speedup": t_linear / t_ours,
            }
        )
    return rows, statistics.median(r["speedup"] for r in rows), register_s


def to_markdown(
    rows: list[dict[str, Any]], median_speedup: float, register_s: float, n: int, repeat: int
) -> str:
    verdict = "meets" if median_speedup >= TARGET_SPEEDUP else "MISSES"
    lines = [
        f"`FunctionRegistry`: {n:,} functions registered in {register_s:,.2f} s "
        f"({register_s / n * 1e6:,.1f} µs each: signature, metadata, index, audit). "
        f"`find_by_namespace` (the shared `NamespaceIndex`) vs. the document's linear "
        f"`fnmatch` scan over `namespace_map`, same registry, same run (median of "
        f"{repeat * 5} / {repeat} runs; Python {platform.python_version()}, "
        f"{platform.machine()}).",
        "",
        "| pattern | kind | matches | find_by_namespace | linear scan | speedup |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| `{r['pattern']}` | {r['kind']} | {r['matches']:,} | {fmt_time(r['ours_s'])} "
            f"| {fmt_time(r['linear_s'])} | {r['speedup']:,.1f}x |"
        )
    lines += [
        "",
        f"Median speedup **{median_speedup:,.1f}x**: {verdict} the {TARGET_SPEEDUP:.0f}x target.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="functions to register")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the linear scan")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    rows, median_speedup, register_s = run(args.n, args.repeat)
    table = to_markdown(rows, median_speedup, register_s, args.n, args.repeat)
    publish(NAME, table, args.write_docs)
    return 0 if median_speedup >= TARGET_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(main())
