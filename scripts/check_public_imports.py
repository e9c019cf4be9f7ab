"""Code outside the packages imports them through their public faces.

The packages' own sources are checked by import-linter (the "public faces" contracts of
``[tool.importlinter]`` in pyproject.toml). This script applies the same forbidden modules to
what import-linter does not see: ``tests-integration/``, ``benchmarks/`` and ``scripts/``, so that
suites and benchmarks use what a user can import. An import that needs an internal module on
purpose (a test patching a private hook) carries the comment ``# private on purpose: <why>`` on
its line.

Usage: ``python scripts/check_public_imports.py [ROOT]``; exits 1 and lists every offending
import, 0 when there is none.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

CHECKED = ("tests-integration", "benchmarks", "scripts")
MARKER = "# private on purpose:"


def forbidden_patterns(root: Path) -> list[re.Pattern[str]]:
    """The forbidden modules of the "public faces" contracts, as regular expressions."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    patterns = []
    for contract in contracts:
        if contract.get("type") != "forbidden" or "public faces" not in contract["name"]:
            continue
        for module in contract["forbidden_modules"]:
            # import-linter's wildcard stands for one whole module name.
            regex = r"\.".join(
                "[^.]+" if part == "*" else re.escape(part) for part in module.split(".")
            )
            patterns.append(re.compile(rf"{regex}(\..+)?"))
    return patterns


def imported_modules(source: str) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every absolute import in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def offences(root: Path) -> list[str]:
    """``path:line: module`` for each import of an internal module outside the packages."""
    patterns = forbidden_patterns(root)
    if not patterns:
        raise SystemExit("no 'public faces' contracts in pyproject.toml: nothing to check against")
    found = []
    for folder in CHECKED:
        for path in sorted((root / folder).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            lines = source.splitlines()
            for lineno, module in imported_modules(source):
                if MARKER in lines[lineno - 1]:
                    continue
                if any(p.fullmatch(module) for p in patterns):
                    found.append(f"{path.relative_to(root)}:{lineno}: {module}")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = offences(root)
    for line in found:
        print(f"{line} is internal: import it from the package's public face")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
