"""Words the namespace benchmarks build realistic dotted paths from (``ns.functions.<area>.
<module>.<verb>``): ``bench_namespace_glob`` and ``bench_registry`` draw on the same vocabulary, so
their patterns (``ns.functions.math.*``, ``*.add``...) hit comparable shapes of namespace."""

from __future__ import annotations

__all__ = ["AREAS", "MODULES", "VERBS"]

#: Second level under ``ns.functions``: 20 areas (``perf`` holds the registry document's test).
AREAS: list[str] = [
    "math",
    "finance",
    "text",
    "io",
    "net",
    "stats",
    "geo",
    "time",
    "crypto",
    "utils",
    "services",
    "billing",
    "search",
    "images",
    "audio",
    "ml",
    "etl",
    "auth",
    "reports",
    "perf",
]

#: Third level: 30 module names.
MODULES: list[str] = [
    "basic",
    "advanced",
    "core",
    "helpers",
    "legacy",
    "experimental",
    "validation",
    "parsing",
    "formatting",
    "conversion",
    "io",
    "cache",
    "batch",
    "stream",
    "retry",
    "metrics",
    "admin",
    "public",
    "internal",
    "compat",
    "v1",
    "v2",
    "v3",
    "tools",
    "extras",
    "plugins",
    "hooks",
    "tasks",
    "jobs",
    "workers",
]

#: Function names: 20 verbs.
VERBS: list[str] = [
    "add",
    "sub",
    "mul",
    "div",
    "power",
    "format_date",
    "parse_date",
    "validate",
    "normalize",
    "convert",
    "load",
    "save",
    "fetch",
    "render",
    "compute",
    "merge",
    "split",
    "sort",
    "filter",
    "reduce",
]
