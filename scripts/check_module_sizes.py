"""Fail when a module of a package is over the size a reader takes in at once (``nox -s lint``).

Modules are named after what they hold and small enough to read in one go (CONVENTIONS.md); a
module that grows past the limit is split along what it holds (docs/architecture.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 600  # lines
ROOT = Path(__file__).resolve().parent.parent


def oversized(root: Path = ROOT, limit: int = LIMIT) -> list[tuple[int, Path]]:
    """``(lines, path)`` of every package module over ``limit`` lines, largest first."""
    found = []
    for path in sorted(root.glob("packages/*/src/**/*.py")):
        with path.open(encoding="utf-8") as f:
            lines = sum(1 for _ in f)
        if lines > limit:
            found.append((lines, path.relative_to(root)))
    return sorted(found, reverse=True)


def main() -> int:
    found = oversized()
    for lines, path in found:
        print(f"{path}: {lines} lines (limit {LIMIT}): split it along what it holds")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
